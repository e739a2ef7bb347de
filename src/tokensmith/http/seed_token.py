"""`POST /v1/api/oauth/token?scope=…`: the seed's endpoint (DESIGN.md §1), as an
`Endpoint` of the one token exchange (exchange/flow.py).

Its response's `expires_in` is the expiry instant in epoch seconds, equal to the
token's `exp`, as in the seed; the standard endpoint keeps RFC 6749's meaning. The
body should be empty; a standard client's form is tolerated."""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.scopes import parse_scope
from tokensmith.domain.tokens import IssuedToken
from tokensmith.exchange.flow import ExchangeContext
from tokensmith.http.parsing import malformed

PATH = "/v1/api/oauth/token"
TARGET_PARAMETERS = ("resource", "audience")


def one_value(name: str, query: Mapping[str, str], form: dict[str, str]) -> str | None:
    """A parameter that may come in the query or the tolerated form, or in both when
    they agree: a request that says two things is refused rather than half-obeyed."""
    value = query.get(name)
    if value is None:
        return form.get(name)
    if name in form and form[name] != value:
        raise malformed(f"The body's {name} differs from the query's {name}")
    return value


def requested_audience(params: Mapping[str, str]) -> str | None:
    """RFC 8707 `resource`, or the widely used `audience`; one target per token."""
    resource, audience = params.get("resource"), params.get("audience")
    if resource is not None and audience is not None and resource != audience:
        raise malformed("Give resource or audience, not both")
    return resource if resource is not None else audience


class SeedEndpoint:
    path = PATH
    reads_query = True
    form_required = False
    scope_refusal = Problem.INVALID_CLIENT  # DESIGN.md §1: one 401 for every credential or scope failure

    def parameters(self, query: Mapping[str, str], form: dict[str, str], context: ExchangeContext) -> tuple[tuple[str, ...] | None, str | None]:
        grant_type = form.get("grant_type")
        if grant_type is not None and grant_type != "client_credentials":
            raise TokensmithError(Problem.UNSUPPORTED_GRANT_TYPE)
        scope = one_value("scope", query, form)
        if scope is None:
            raise TokensmithError(Problem.SCOPE_MISSING)
        scopes = parse_scope(scope, max_length=context.seed_max_scope_length)
        if "resource" in query or "audience" in query or "resource" in form or "audience" in form:
            targets = {name: value for name in TARGET_PARAMETERS if (value := one_value(name, query, form)) is not None}
            return scopes, requested_audience(targets)
        return scopes, None

    def answer(self, token: IssuedToken, now: int) -> bytes:
        return orjson.dumps({"access_token": token.access_token, "expires_in": token.expires_at, "token_type": token.token_type})


ENDPOINT = SeedEndpoint()
