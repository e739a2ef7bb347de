"""Client authentication on the wire (RFC 6749 §2.3.1): client_secret_basic, with
each part form-urlencoded before base64, or client_secret_post. Exactly one."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import unquote_plus

from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.grants import ClientCredentials
from tokensmith.http.parsing import malformed

# The longest credentials a client can have (128-character id, 512-character secret,
# every character percent-encoded to three) are about 2,600 base64 characters; a
# longer header cannot belong to any client, so it is not even decoded.
MAX_AUTHORIZATION_LENGTH = 4096


def basic_token(authorization: str) -> str | None:
    """The token68 of a Basic Authorization header, or None for any other scheme.

    RFC 9110 §11.1: the scheme is case-insensitive and 1*SP separates it from the
    credentials; an empty token68 (`Basic` alone) is still a Basic attempt."""
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    return rest.strip()


def parse_basic(value: str) -> ClientCredentials:
    """The credentials in a `Basic …` header value."""
    return parse_basic_token(basic_token(value) or "")


def parse_basic_token(encoded: str) -> ClientCredentials:
    """The credentials in the token68 of a Basic header."""
    if not encoded:
        raise malformed("The Basic credentials are empty")
    if len(encoded) > MAX_AUTHORIZATION_LENGTH:
        # The same refusal as an unknown client id (RFC 6749 §5.2 invalid_client).
        raise TokensmithError(Problem.INVALID_CLIENT)
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise malformed("The Basic credentials are not base64 of UTF-8 text") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise malformed("The Basic credentials have no colon")
    if "%" not in decoded and "+" not in decoded:
        return ClientCredentials(client_id, secret)  # nothing to decode (a generated tks_ secret)
    try:
        return ClientCredentials(unquote_plus(client_id, errors="strict"), unquote_plus(secret, errors="strict"))
    except UnicodeDecodeError:
        raise malformed("The Basic credentials are not valid form-encoded UTF-8") from None


def client_credentials(authorization: str | None, form: Mapping[str, str]) -> ClientCredentials | None:
    """The credentials the client presented, or None when it presented none (which
    the caller answers with invalid_client)."""
    token = basic_token(authorization) if authorization is not None else None
    if token is not None:
        credentials = parse_basic_token(token)
        if "client_secret" in form:
            raise malformed("Use one client authentication method, not two")
        if form.get("client_id", credentials.client_id) != credentials.client_id:
            raise malformed("client_id in the body differs from the Basic credentials")
        return credentials
    if "client_secret" in form:
        if authorization is not None:
            raise malformed("Use one client authentication method, not two")
        return ClientCredentials(form.get("client_id", ""), form["client_secret"])
    return None
