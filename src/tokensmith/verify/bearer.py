"""RFC 6750 for every framework: reading the bearer token from a request and writing
the refusal (status, ``WWW-Authenticate`` challenge, JSON body). Framework-neutral:
the ASGI middleware and each integration (tokensmith.verify.integrations) adapt their
own request and response types to these functions and add nothing of their own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl

from tokensmith.verify.errors import InsufficientScope, InvalidRequest, MissingToken, TokenError, UseDPoPNonce

#: The algorithms a DPoP proof may use, as the DPoP challenge's `algs` (RFC 9449 §7.1).
DPOP_ALGORITHMS = ("ES256", "EdDSA", "PS256", "RS256")

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# RFC 6750 §3: characters allowed inside the challenge's quoted values.
_UNSAFE_CHALLENGE_CHARS = re.compile(r'[^\x20-\x21\x23-\x5b\x5d-\x7e]')


def token_from_authorization(authorization: list[str], query_string: str = "") -> str:
    """The bearer token, given every Authorization header value of the request.

    Raises :class:`MissingToken` when there is no bearer credential and
    :class:`InvalidRequest` when the request is ambiguous or malformed.
    """
    return _credentials(authorization, query_string, _BEARER_ONLY)[1]


def presented_token(authorization: list[str], query_string: str = "") -> tuple[str, str]:
    """(scheme, token) of a ``Bearer`` or ``DPoP`` (RFC 9449 §7.1) credential, refused
    as :func:`token_from_authorization` refuses."""
    return _credentials(authorization, query_string, _SCHEMES)


_BEARER_ONLY = {"bearer": "Bearer"}
_SCHEMES = {"bearer": "Bearer", "dpop": "DPoP"}  # schemes are case-insensitive (RFC 9110 §11.1)


def _credentials(authorization: list[str], query_string: str, schemes: dict[str, str]) -> tuple[str, str]:
    if any(name == "access_token" for name, _ in parse_qsl(query_string, keep_blank_values=True)):
        # RFC 6750 §2.3 / RFC 9700 §2.4: tokens in URLs leak into logs and history.
        raise InvalidRequest("access tokens in the URL query are not accepted; use the Authorization header")
    if not authorization:
        raise MissingToken("a bearer token is required")
    if len(authorization) > 1:
        raise InvalidRequest("the request carries more than one Authorization header")
    scheme, _, credentials = authorization[0].partition(" ")
    name = schemes.get(scheme.lower())
    if name is None:
        raise MissingToken("a bearer token is required")
    token = credentials.strip(" ")
    if not _B64TOKEN.fullmatch(token):
        raise InvalidRequest(f"the Authorization header is not '{name} <token>' with exactly one token")
    return name, token


def bearer_token(headers: Iterable[tuple[bytes, bytes]], query_string: bytes = b"") -> str:
    """:func:`token_from_authorization` for raw ASGI headers and query string."""
    values = [value.decode("latin-1") for name, value in headers if name.lower() == b"authorization"]
    return token_from_authorization(values, query_string.decode("latin-1"))


def asgi_token(headers: Iterable[tuple[bytes, bytes]], query_string: bytes = b"") -> tuple[str, str]:
    """:func:`presented_token` for raw ASGI headers and query string."""
    values = [value.decode("latin-1") for name, value in headers if name.lower() == b"authorization"]
    return presented_token(values, query_string.decode("latin-1"))


def www_authenticate(
    error: TokenError, realm: str | None = None, *, include_description: bool = True, resource_metadata: str | None = None
) -> str:
    """The ``WWW-Authenticate`` challenge for ``error`` (RFC 6750 §3), with the
    RFC 9728 §5.1 ``resource_metadata`` URL when the resource publishes its metadata."""
    params: list[str] = []
    if realm:
        params.append(f'realm="{_challenge_value(realm)}"')
    # RFC 6750 §3.1: no error code when the request had no credentials at all.
    if error.error:
        params.append(f'error="{error.error}"')
        if include_description:
            params.append(f'error_description="{_challenge_value(error.description)}"')
    if isinstance(error, InsufficientScope):
        params.append(f'scope="{_challenge_value(" ".join(error.required_scopes))}"')
    if resource_metadata:
        params.append(f'resource_metadata="{_challenge_value(resource_metadata)}"')
    if error.challenge == "DPoP":
        params.insert(0, f'algs="{" ".join(DPOP_ALGORITHMS)}"')  # RFC 9449 §7.1
    return error.challenge + (" " + ", ".join(params) if params else "")


def _challenge_value(text: str) -> str:
    return _UNSAFE_CHALLENGE_CHARS.sub("?", text)


class Refusal:
    """How a resource server answers ``error``: the one response every integration sends.

    ``realm``, ``include_description`` and ``resource_metadata`` (the metadata URL) are
    the resource's settings; build one ``Refusal`` per error with :meth:`of`.
    """

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @classmethod
    def of(
        cls,
        error: TokenError,
        realm: str | None = None,
        *,
        include_description: bool = True,
        resource_metadata: str | None = None,
    ) -> Refusal:
        payload: dict[str, str] = {"error": error.error} if error.error else {}
        if include_description:
            payload["error_description"] = error.description
        body = json.dumps(payload).encode()
        headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
        if error.status_code in (400, 401, 403):
            challenge = www_authenticate(
                error, realm, include_description=include_description, resource_metadata=resource_metadata
            )
            headers.append(("WWW-Authenticate", challenge))
        if isinstance(error, UseDPoPNonce):
            headers.append(("DPoP-Nonce", error.nonce))  # RFC 9449 §9
        return cls(error.status_code, headers, body)
