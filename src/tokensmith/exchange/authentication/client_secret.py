"""client_secret_basic and client_secret_post (RFC 6749 §2.3.1): the client's id and
secret in HTTP Basic, each part form-urlencoded before base64, or as form fields.
Where the secret is checked: domain/secrets.py, through domain/grants.py."""

from __future__ import annotations

import binascii
from collections.abc import Generator, Mapping
from typing import Any
from urllib.parse import unquote_plus

from tokensmith.domain.clients import Client
from tokensmith.domain.errors import Problem, TokensmithError
from tokensmith.domain.grants import ClientCredentials, matched_secret
from tokensmith.exchange.authentication.methods import Checks, presented_credential
from tokensmith.exchange.needs import InThread, Need
from tokensmith.http.parsing import malformed

# The longest credentials a client can have (128-character id, 512-character secret,
# every character percent-encoded to three) are about 2,600 base64 characters; a
# longer header cannot belong to any client, so it is not even decoded.
MAX_AUTHORIZATION_LENGTH = 4096


class SecretCredential:
    __slots__ = ("credentials", "method", "reason", "used")

    def __init__(self, method: str, credentials: ClientCredentials) -> None:
        self.method = method
        self.credentials = credentials
        self.used: str | None = None
        self.reason = "secret"

    def __repr__(self) -> str:  # never show the secret, even in a traceback
        return f"SecretCredential({self.method}, client_id={self.credentials.client_id!r})"

    @property
    def client_id(self) -> str:
        return self.credentials.client_id

    def is_plausible(self) -> bool:
        return self.credentials.is_plausible()

    def waits(self, client: Client | None, checks: Checks, now: int) -> bool:
        # An imported secret not yet checked in this process costs an argon2 run.
        return client is not None and client.has_imported_secret and checks.secrets.needs_slow_check(self.credentials.client_secret, client.secrets, now)

    def verify(self, client: Client | None, checks: Checks, now: int) -> Generator[Need, Any, bool]:
        checker = checks.secrets
        if self.waits(client, checks, now):
            # argon2 takes tens of milliseconds: never on the event loop.
            self.used = yield InThread(lambda: matched_secret(client, self.credentials, checker, now))
        else:
            self.used = matched_secret(client, self.credentials, checker, now)
        if self.used is not None:
            return True
        self.reason = "unknown_client" if client is None else ("disabled" if not client.enabled else "secret")
        return False


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
        # strict_mode: only the alphabet, padding only at the end (as
        # b64decode(validate=True), without its regular expression).
        decoded = binascii.a2b_base64(encoded, strict_mode=True).decode("utf-8")
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


class ClientSecretBasic:
    name = "client_secret_basic"

    def presented(self, authorization: str | None, form: Mapping[str, str]) -> SecretCredential | None:
        token = basic_token(authorization) if authorization is not None else None
        if token is None:
            return None
        credentials = parse_basic_token(token)
        if "client_secret" in form:
            raise malformed("Use one client authentication method, not two")
        if form.get("client_id", credentials.client_id) != credentials.client_id:
            raise malformed("client_id in the body differs from the Basic credentials")
        return SecretCredential(self.name, credentials)


class ClientSecretPost:
    name = "client_secret_post"

    def presented(self, authorization: str | None, form: Mapping[str, str]) -> SecretCredential | None:
        if "client_secret" not in form:
            return None
        if authorization is not None and basic_token(authorization) is None:
            # Another scheme's Authorization beside form credentials: two methods.
            raise malformed("Use one client authentication method, not two")
        return SecretCredential(self.name, ClientCredentials(form.get("client_id", ""), form["client_secret"]))


def client_credentials(authorization: str | None, form: Mapping[str, str]) -> ClientCredentials | None:
    """The id and secret a request presents by either method, or None (for tests and
    tools that read credentials without authenticating)."""
    credential = presented_credential(authorization, form, SECRET_METHODS)
    return credential.credentials if isinstance(credential, SecretCredential) else None


SECRET_METHODS = (ClientSecretBasic(), ClientSecretPost())
