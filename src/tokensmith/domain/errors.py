"""The error catalogue: every refusal tokensmith can give, as data.

Two renderers (http/errors.py) turn a Problem into the seed's list format or into an
RFC 6749 §5.2 object; handlers never build error bodies themselves. docs/errors.md
documents each row.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class ProblemSpec:
    code: str  # the seed format's errorCode
    status: int
    message: str  # the seed format's invalid-params entry
    oauth_error: str  # RFC 6749 §5.2 / RFC 6750 / RFC 8707 error code


class Problem(Enum):
    # One body for every credential or scope failure, so none of them tells an
    # attacker which part was wrong (RFC 6749 §10.10, credentials-guessing attacks).
    INVALID_CLIENT = ProblemSpec("240101", 401, "Invalid client credentials or scope", "invalid_client")
    SCOPE_MISSING = ProblemSpec("240102", 400, "Query parameter scope is required", "invalid_request")
    SCOPE_TOO_LONG = ProblemSpec("240103", 400, "Scope is longer than allowed", "invalid_scope")
    SCOPE_MALFORMED = ProblemSpec("240104", 400, "Scope must be space-separated scope tokens", "invalid_scope")
    MALFORMED_REQUEST = ProblemSpec("240105", 400, "The request is malformed", "invalid_request")
    UNSUPPORTED_MEDIA_TYPE = ProblemSpec("240106", 415, "Unsupported media type", "invalid_request")
    BODY_TOO_LARGE = ProblemSpec("240107", 413, "Request body is too large", "invalid_request")
    METHOD_NOT_ALLOWED = ProblemSpec("240108", 405, "Method not allowed", "invalid_request")
    NOT_FOUND = ProblemSpec("240109", 404, "No such resource", "invalid_request")
    INVALID_TARGET = ProblemSpec("240110", 400, "Requested audience is not allowed for this client", "invalid_target")
    UNSUPPORTED_GRANT_TYPE = ProblemSpec("240111", 400, "Only grant_type=client_credentials is supported", "unsupported_grant_type")
    RATE_LIMITED = ProblemSpec("240112", 429, "Too many requests", "slow_down")
    INTERNAL_ERROR = ProblemSpec("240113", 500, "Internal error", "server_error")
    UNAVAILABLE = ProblemSpec("240114", 503, "Service temporarily unavailable", "temporarily_unavailable")
    # Standard endpoint only: RFC 6749 §5.2 separates these from invalid_client.
    INVALID_SCOPE = ProblemSpec("240115", 400, "Requested scope is not allowed for this client", "invalid_scope")
    # RFC 7009 §2.1: a client may revoke only the tokens issued to it.
    TOKEN_NOT_OWNED = ProblemSpec("240116", 400, "The token was not issued to this client", "unauthorized_client")
    # RFC 9110 §15.5.9: the body did not arrive within TOKENSMITH_BODY_READ_TIMEOUT_SECONDS.
    BODY_TIMEOUT = ProblemSpec("240117", 408, "Request body not received in time", "invalid_request")
    # RFC 9449 §5, §4.3: a DPoP proof that fails a check, or none from a client whose
    # tokens must be DPoP-bound (§5.2 leaves that error open: a missing proof is an
    # invalid one, and DPoP clients already handle this code).
    INVALID_DPOP_PROOF = ProblemSpec("240118", 400, "The DPoP proof is missing or invalid", "invalid_dpop_proof")
    # RFC 9449 §8: the proof must carry the nonce this server sent (DPoP-Nonce header).
    USE_DPOP_NONCE = ProblemSpec("240119", 400, "The DPoP proof must carry the server's nonce", "use_dpop_nonce")

    @property
    def spec(self) -> ProblemSpec:
        return self.value


class TokensmithError(Exception):
    """A refusal from the catalogue. `detail` refines the message; it never holds a
    secret or a token."""

    def __init__(
        self, problem: Problem, detail: str | None = None, *, retry_after: int | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail or problem.spec.message)
        self.problem = problem
        self.detail = detail
        self.retry_after = retry_after
        self.headers = headers  # sent with the refusal (RFC 9449 §8: DPoP-Nonce)

    @property
    def message(self) -> str:
        return self.detail or self.problem.spec.message
