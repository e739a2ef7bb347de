"""Exceptions raised by the client SDK. None of them ever contains the client secret,
a client assertion, or the contents of a platform token file."""

from __future__ import annotations


class TokenClientError(Exception):
    """Base class: no access token could be obtained."""


class TokenRequestError(TokenClientError):
    """The token endpoint refused the request (RFC 6749 §5.2 error response)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error: str | None = None,
        error_description: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error = error
        self.error_description = error_description


class TokenResponseError(TokenClientError):
    """The token endpoint answered 2xx but the body is not a usable token response."""


class TokenTransportError(TokenClientError):
    """The token endpoint could not be reached (connection error, timeout)."""


class ClientAssertionError(TokenClientError):
    """No client assertion could be made: the platform token file is missing,
    unreadable, empty or not a JWT. The message names the file, never its contents."""
