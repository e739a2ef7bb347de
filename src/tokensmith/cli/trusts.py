"""`tokensmith trust …`: the external issuers (a Kubernetes cluster, a SPIFFE trust
domain, a CI system) whose tokens federated clients may present."""

from __future__ import annotations

import time

import click

from tokensmith.cli.clients import emit, read_jwks_file
from tokensmith.cli.context import changes_on, fail, prepared_node, user_errors
from tokensmith.domain.trusts import DEFAULT_MAX_TOKEN_AGE, ReplayRule
from tokensmith.service import trusts as service
from tokensmith.service.descriptions import describe_trust, key_source

REPLAY_RULES = click.Choice([rule.value for rule in ReplayRule])


def _exclusive_keys(jwks_uri: str | None, jwks_file: str | None, discovery: bool = False) -> None:
    if sum((jwks_uri is not None, jwks_file is not None, discovery)) > 1:
        fail("give one of --jwks-uri, --jwks-file" + (" or --discovery" if discovery else ""))


@click.group()
def trust() -> None:
    """Trust external issuers for workload identity federation."""


@trust.command("add")
@click.argument("name")
@click.option("--issuer", required=True, help="The issuer identifier, exactly as tokens carry it in `iss`.")
@click.option("--jwks-uri", default=None, help="Where the issuer's keys are (default: its OIDC discovery document).")
@click.option("--jwks-file", default=None, help="The issuer's keys as a JWKS file (e.g. a SPIFFE JWT bundle).")
@click.option("--audience", default=None, help="What the token's aud must contain (default: this server's issuer identifier).")
@click.option(
    "--replay", type=REPLAY_RULES, default=ReplayRule.MAX_AGE.value, show_default=True,
    help="max-age: a token may be presented again while it is at most --max-token-age old; single-use: each jti once.",
)  # fmt: skip
@click.option("--max-token-age", type=int, default=DEFAULT_MAX_TOKEN_AGE, show_default=True, help="Seconds since the token's iat.")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def add(
    name: str,
    issuer: str,
    jwks_uri: str | None,
    jwks_file: str | None,
    audience: str | None,
    replay: str,
    max_token_age: int,
    as_json: bool,
) -> None:
    """Trust an external issuer."""
    _exclusive_keys(jwks_uri, jwks_file)
    spec = service.TrustSpec(
        name=name,
        issuer=issuer,
        jwks_uri=jwks_uri,
        jwks=read_jwks_file(jwks_file),
        audience=audience,
        replay=replay,
        max_token_age=max_token_age,
    )
    node = prepared_node()
    try:
        added = service.add_trust(changes_on(node), spec, int(time.time()))
    except service.TrustAlreadyExists:
        fail(f"a trust {name!r} already exists")
    emit(describe_trust(added, 0), as_json)


@trust.command("list")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def list_trusts(as_json: bool) -> None:
    """List the trusted issuers."""
    everyone = service.list_trusts(changes_on(prepared_node()))
    if as_json:
        emit([describe_trust(each, used) for each, used in everyone], True)
        return
    for each, used in everyone:
        click.echo(f"{each.name}\t{each.issuer}\t{key_source(each)}\t{each.replay.value}\t{used} federated")


@trust.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@user_errors
def show(name: str, as_json: bool) -> None:
    """Show one trusted issuer."""
    try:
        found, used = service.show_trust(changes_on(prepared_node()), name)
    except service.TrustNotFound:
        fail(f"no trust {name!r}")
    emit(describe_trust(found, used), as_json)


@trust.command("update")
@click.argument("name")
@click.option("--issuer", default=None)
@click.option("--jwks-uri", default=None, help="Take the issuer's keys from this URI.")
@click.option("--jwks-file", default=None, help="Replace the issuer's keys with this JWKS file.")
@click.option("--discovery", is_flag=True, help="Take the issuer's keys from its OIDC discovery document.")
@click.option("--audience", default=None)
@click.option("--default-audience", is_flag=True, help="Expect this server's issuer identifier as the audience again.")
@click.option("--replay", type=REPLAY_RULES, default=None)
@click.option("--max-token-age", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
@user_errors
def update(
    name: str,
    issuer: str | None,
    jwks_uri: str | None,
    jwks_file: str | None,
    discovery: bool,
    audience: str | None,
    default_audience: bool,
    replay: str | None,
    max_token_age: int | None,
    as_json: bool,
) -> None:
    """Change a trusted issuer."""
    _exclusive_keys(jwks_uri, jwks_file, discovery)
    what = service.TrustChanges(
        issuer=issuer,
        jwks_uri=jwks_uri,
        jwks=read_jwks_file(jwks_file),
        discovery=discovery,
        audience=audience,
        default_audience=default_audience,
        replay=replay,
        max_token_age=max_token_age,
    )
    node = prepared_node()
    changed = service.update_trust(changes_on(node), name, what, int(time.time()))
    emit(describe_trust(changed, node.trusts.usage().get(name, 0)), as_json)


@trust.command("remove")
@click.argument("name")
@click.option("--force", is_flag=True, help="Remove the federated credentials that use it too.")
@user_errors
def remove(name: str, force: bool) -> None:
    """Stop trusting an issuer (refused while federated credentials use it)."""
    node = prepared_node()
    try:
        removed = service.remove_trust(changes_on(node), name, int(time.time()), force=force)
    except service.TrustInUse as exc:
        fail(f"{exc}: remove them first (clients unfederate), or give --force to remove them with it")
    taken = f" and {len(removed)} federated credential{'s' if len(removed) != 1 else ''}" if removed else ""
    click.echo(f"trust {name} removed{taken}")
