"""Client authentication on the wire (RFC 6749 §2.3.1): client_secret_basic, with
each part form-urlencoded before base64, or client_secret_post. Exactly one."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import unquote_plus

from tokensmith.domain.grants import ClientCredentials
from tokensmith.http.parsing import malformed

MAX_AUTHORIZATION_LENGTH = 4096


def parse_basic(value: str) -> ClientCredentials:
    encoded = value[6:].strip()
    if len(encoded) > MAX_AUTHORIZATION_LENGTH:
        raise malformed("The Authorization header is too long")
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise malformed("The Basic credentials are not base64 of UTF-8 text") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise malformed("The Basic credentials have no colon")
    try:
        return ClientCredentials(unquote_plus(client_id, errors="strict"), unquote_plus(secret, errors="strict"))
    except UnicodeDecodeError:
        raise malformed("The Basic credentials are not valid form-encoded UTF-8") from None


def client_credentials(authorization: str | None, form: Mapping[str, str]) -> ClientCredentials | None:
    """The credentials the client presented, or None when it presented none (which
    the caller answers with invalid_client)."""
    if authorization is not None and authorization[:6].lower() == "basic ":
        credentials = parse_basic(authorization)
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
