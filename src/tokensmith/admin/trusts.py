"""`/admin/v1/trusts`: the external issuers whose tokens federated clients may present
(`tokensmith trust …`), named as `trust show --json` names them
(service/descriptions.py describe_trust)."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from tokensmith.admin.authorisation import TRUSTS_READ, TRUSTS_WRITE, authorise
from tokensmith.admin.bodies import Fields, invalid, json_object, query_flag
from tokensmith.admin.calls import json_response, run
from tokensmith.domain.trusts import DEFAULT_MAX_TOKEN_AGE, ReplayRule
from tokensmith.service import trusts as service
from tokensmith.service.descriptions import describe_trust

COLLECTION = "/admin/v1/trusts"
ITEM = COLLECTION + "/{name}"


async def list_trusts(request: Request) -> Response:
    caller = await authorise(request, TRUSTS_READ)
    everyone = await run(service.list_trusts, caller.changes)
    return json_response({"items": [describe_trust(trust, used) for trust, used in everyone]})


async def add_trust(request: Request) -> Response:
    """`name` and `issuer`; keys by `jwks` (a JWKS document), `jwks_uri` or, with
    neither, the issuer's discovery document; `audience`, `replay`, `max_token_age`."""
    caller = await authorise(request, TRUSTS_WRITE)
    fields = Fields(await json_object(request))
    name, issuer = fields.text("name"), fields.text("issuer")
    if name is None or issuer is None:
        invalid("name and issuer are required")
    max_token_age = fields.integer("max_token_age")
    spec = service.TrustSpec(
        name=name,
        issuer=issuer,
        jwks_uri=fields.text("jwks_uri"),
        jwks=fields.obj("jwks"),
        audience=fields.text("audience"),
        replay=fields.text("replay") or ReplayRule.MAX_AGE.value,
        max_token_age=DEFAULT_MAX_TOKEN_AGE if max_token_age is None else max_token_age,
    )
    fields.done()
    added = await run(service.add_trust, caller.changes, spec, int(time.time()))
    return json_response(describe_trust(added, 0), 201, {"location": f"{COLLECTION}/{added.name}"})


async def get_trust(request: Request) -> Response:
    caller = await authorise(request, TRUSTS_READ)
    trust, used = await run(service.show_trust, caller.changes, request.path_params["name"])
    return json_response(describe_trust(trust, used))


async def update_trust(request: Request) -> Response:
    """PATCH: the fields given replace the trust's; `jwks` or `jwks_uri` replaces the
    other, `"discovery": true` drops both; `"audience": null` is this server's issuer
    identifier again."""
    caller = await authorise(request, TRUSTS_WRITE)
    fields = Fields(await json_object(request))
    audience_given = fields.has("audience")
    audience = fields.text_or_null("audience")
    what = service.TrustChanges(
        issuer=fields.text("issuer"),
        jwks_uri=fields.text("jwks_uri"),
        jwks=fields.obj("jwks"),
        discovery=bool(fields.flag("discovery")),
        audience=audience,
        default_audience=audience_given and audience is None,
        replay=fields.text("replay"),
        max_token_age=fields.integer("max_token_age"),
    )
    fields.done()
    name = request.path_params["name"]
    await run(service.update_trust, caller.changes, name, what, int(time.time()))
    trust, used = await run(service.show_trust, caller.changes, name)
    return json_response(describe_trust(trust, used))


async def remove_trust(request: Request) -> Response:
    """Refused (409) while federated credentials use it, unless `?force=true`: they
    are removed with it, in one transaction. Answers the credentials removed."""
    caller = await authorise(request, TRUSTS_WRITE)
    force = bool(query_flag(request, "force"))
    name = request.path_params["name"]
    removed = await run(lambda: service.remove_trust(caller.changes, name, int(time.time()), force=force))
    taken = [{"client_id": client_id, "federation_id": federation.federation_id} for client_id, federation in removed]
    return json_response({"name": name, "federations_removed": taken})
