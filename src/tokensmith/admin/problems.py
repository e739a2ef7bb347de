"""The admin API's refusals, answered as RFC 9457 problem details (http/errors.py
problem_details). Each name is documented in docs/admin.md."""

from __future__ import annotations

from enum import Enum


class AdminProblem(Enum):
    # name: (status, what the detail says when the raiser gives none)
    UNAUTHENTICATED = (401, "A bearer token (or a console session) is required")
    INSUFFICIENT_SCOPE = (403, "The token does not have the scope this route needs")
    CSRF = (403, "A console write needs the session's X-CSRF-Token header")
    MALFORMED = (400, "The request body is not a JSON object")
    # The request's shape: a field of the wrong type, unknown, missing (what the
    # OpenAPI document says too).
    INVALID = (422, "The request's fields are not valid")
    # Well-formed values that a rule of the domain refuses (domain/registration.py),
    # in the same words as the command line's refusal.
    REFUSED = (422, "The values given break a rule for clients")
    NOT_FOUND = (404, "No such resource")
    CONFLICT = (409, "The resource already exists")
    IDEMPOTENCY_KEY_REUSED = (422, "The Idempotency-Key was used for a different request")
    PRECONDITION_FAILED = (412, "The resource has changed since the ETag given in If-Match")
    UNSUPPORTED_MEDIA_TYPE = (415, "The request body must be application/json")

    @property
    def status(self) -> int:
        return self.value[0]


class AdminError(Exception):
    """A refusal of the admin API; `detail` never holds a secret or a token."""

    def __init__(self, problem: AdminProblem, detail: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or problem.value[1])
        self.problem = problem
        self.detail = detail or problem.value[1]
        self.headers = headers or {}
