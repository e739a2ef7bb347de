"""`POST /oauth2/token`: the client_credentials grant as RFC 6749 §4.4 defines it, for
every standard OAuth client, as an `Endpoint` of the one token exchange
(exchange/flow.py)."""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from tokensmith.domain.assertions import JWT_BEARER_GRANT
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.scopes import parse_scope
from tokensmith.domain.tokens import IssuedToken
from tokensmith.exchange.flow import ExchangeContext
from tokensmith.http.parsing import malformed
from tokensmith.http.seed_token import requested_audience

PATH = "/oauth2/token"
# The JWT-bearer grant (RFC 7523 §2.1) is decided by its assertion, which the
# authentication methods read (exchange/authentication/client_assertion.py).
GRANT_TYPES = frozenset({"client_credentials", JWT_BEARER_GRANT})


class StandardEndpoint:
    path = PATH
    reads_query = False  # RFC 6749 §3.2: parameters in the body
    form_required = True
    scope_refusal = Problem.INVALID_SCOPE  # RFC 6749 §5.2 separates it from invalid_client

    def parameters(self, query: Mapping[str, str], form: dict[str, str], context: ExchangeContext) -> tuple[tuple[str, ...] | None, str | None]:
        grant_type = form.get("grant_type")
        if grant_type is None:
            raise malformed("grant_type is required")
        if grant_type not in GRANT_TYPES:
            raise TokensmithError(Problem.UNSUPPORTED_GRANT_TYPE)
        scope = form.get("scope")
        scopes = parse_scope(scope, max_length=context.max_scope_length) if scope is not None else None
        return scopes, requested_audience(form)

    def answer(self, token: IssuedToken, now: int) -> bytes:
        # A reused token (store/reuse.py) has fewer seconds left than a new one.
        body = {"access_token": token.access_token, "token_type": token.token_type, "expires_in": token.seconds_left(now), "scope": token.scope}
        return orjson.dumps(body)


ENDPOINT = StandardEndpoint()
