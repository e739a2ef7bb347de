"""Client credentials and their encodings (RFC 6749 §2.3.1)."""

from __future__ import annotations

import base64
from typing import Literal
from urllib.parse import quote_plus

AuthMethod = Literal["client_secret_basic", "client_secret_post"]
AUTH_METHODS: tuple[AuthMethod, ...] = ("client_secret_basic", "client_secret_post")


class Secret:
    """Holds a secret so that repr(), logging and debuggers never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ValueError("client secret must be a non-empty string")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def redact(self, text: str) -> str:
        """Remove the secret (raw or form-encoded) from text about to be shown."""
        for form in {self._value, quote_plus(self._value, safe="")}:
            text = text.replace(form, "***")
        return text

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def basic_authorization(client_id: str, secret: Secret) -> str:
    """``Authorization`` header value for client_secret_basic.

    RFC 6749 §2.3.1: id and secret are each form-urlencoded *before* being
    joined with ":" and base64-encoded, so a ":" or non-ASCII character in
    either survives the round trip.
    """
    pair = f"{quote_plus(client_id, safe='')}:{quote_plus(secret.reveal(), safe='')}"
    return "Basic " + base64.b64encode(pair.encode("ascii")).decode("ascii")


def check_auth_method(auth_method: str) -> AuthMethod:
    if auth_method not in AUTH_METHODS:
        raise ValueError(f"auth_method must be one of {AUTH_METHODS}, got {auth_method!r}")
    return auth_method
