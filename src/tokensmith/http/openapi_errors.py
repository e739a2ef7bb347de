"""The error parts of /openapi.json (http/openapi.py), generated from the catalogue
(domain/errors.py): for each operation, one response per status its problems can
produce, in the error format its path speaks (http/errors.py), with the headers
every error carries (docs/errors.md): Cache-Control and Pragma, X-Request-Id,
WWW-Authenticate on 401, Retry-After on 429 and 503, Allow on 405, Connection on 408."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from tokensmith.domain.errors import Problem
from tokensmith.http.errors import (
    BASIC_CHALLENGE,
    SEED_DETAIL,
    allow_value,
    uses_oauth_format,
)
from tokensmith.http.request_context import _SAFE_REQUEST_ID as SAFE_REQUEST_ID

Schema = dict[str, Any]
JSON = "application/json"
NO_STORE = "no-store"
# The request ids the access log keeps from a caller (http/request_context.py).
REQUEST_ID_PATTERN = f"^{SAFE_REQUEST_ID.pattern}$"
# Problems any request can meet: a method the path does not take (RFC 9110 §15.5.6)
# and a failure no handler expected (http/request_context.py).
EVERYWHERE = (Problem.METHOD_NOT_ALLOWED, Problem.INTERNAL_ERROR)


def ref(kind: str, name: str) -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def enum(*values: object) -> Schema:
    return {"enum": list(values)}


# --- Headers ----------------------------------------------------------------------


def header(description: str, schema: Schema, *, required: bool = True) -> Schema:
    return {"description": description, "required": required, "schema": schema}


def _cache_control(value: str) -> Schema:
    return header("How the response may be cached (RFC 9111 §5.2).", {"type": "string", **enum(value)})


def response_headers(cache_control: str | None, *, pragma: bool = False, extra: Schema | None = None) -> Schema:
    headers: Schema = {"X-Request-Id": ref("headers", "X-Request-Id")}
    if cache_control is not None:
        headers["Cache-Control"] = _cache_control(cache_control)
    if pragma:
        headers["Pragma"] = ref("headers", "Pragma")
    headers.update(extra or {})
    return headers


def _allow(methods: Iterable[str]) -> Schema:
    value = allow_value(", ".join(methods))
    return header("The methods this path accepts (RFC 9110 §10.2.1).", {"type": "string", **enum(value)})


COMPONENT_HEADERS: Schema = {
    "X-Request-Id": header(
        "The id of this request in the access log. A caller's own X-Request-Id of 1 to 64 characters "
        "from `A-Z a-z 0-9 . _ -` is kept; anything else is replaced.",
        {"type": "string", "pattern": REQUEST_ID_PATTERN},
    ),
    "Pragma": header("`no-cache`, for HTTP/1.0 caches (RFC 6749 §5.1).", {"type": "string", **enum("no-cache")}),
    "WWW-Authenticate": header(
        "The Basic challenge (RFC 6749 §5.2, RFC 7617).", {"type": "string", **enum(BASIC_CHALLENGE)}
    ),
    "Retry-After": header(
        "Seconds until the client may try again (RFC 6585 §4, RFC 9110 §10.2.3).",
        {"type": "integer", "minimum": 1},
    ),
}


# --- Error responses, from the catalogue --------------------------------------------


def _seed_problem_schema(problems: Iterable[Problem], source: str, instance: Schema) -> Schema:
    problems = list(problems)
    statuses = sorted({problem.spec.status for problem in problems})
    return {
        "type": "object",
        "required": ["detail", "errorCode", "instance", "invalid-params", "source", "status", "title"],
        "additionalProperties": False,
        "properties": {
            "detail": {"type": "string", **enum(SEED_DETAIL)},
            "errorCode": {"type": "string", **enum(*sorted(problem.spec.code for problem in problems))},
            "instance": instance,
            "invalid-params": {
                "type": "array",
                "minItems": 1,
                "maxItems": 1,
                "items": {"type": "string", "minLength": 1},
                "description": "The row's message, or a more precise one for the same row. Never a secret, a token or a header value.",
            },
            "source": {"type": "string", **enum(source)},
            "status": {"type": "integer", **enum(*statuses)},
            "title": {"type": "string", **enum(*(HTTPStatus(status).phrase for status in statuses))},
        },
    }


def seed_errors_schema(problems: Iterable[Problem], source: str, instance: Schema) -> Schema:
    return {
        "type": "array",
        "minItems": 1,
        "maxItems": 1,
        "items": _seed_problem_schema(problems, source, instance),
    }


def oauth_error_schema(problems: Iterable[Problem]) -> Schema:
    return {
        "type": "object",
        "required": ["error", "error_description"],
        "additionalProperties": False,
        "properties": {
            "error": {"type": "string", **enum(*sorted({problem.spec.oauth_error for problem in problems}))},
            "error_description": {"type": "string", "minLength": 1},
        },
    }


def _seed_example(problem: Problem, path: str, source: str) -> list[dict[str, object]]:
    spec = problem.spec
    return [
        {
            "detail": SEED_DETAIL,
            "errorCode": spec.code,
            "instance": path,
            "invalid-params": [spec.message],
            "source": source,
            "status": spec.status,
            "title": HTTPStatus(spec.status).phrase,
        }
    ]


def _error_headers(status: int, problems: list[Problem], allow: Iterable[str]) -> Schema:
    extra: Schema = {}
    if Problem.INVALID_CLIENT in problems:
        extra["WWW-Authenticate"] = ref("headers", "WWW-Authenticate")
    if status == Problem.RATE_LIMITED.spec.status:
        extra["Retry-After"] = ref("headers", "Retry-After")
    if status == Problem.UNAVAILABLE.spec.status:
        # Sent when the store is not answering; not when the key ring has no active key.
        extra["Retry-After"] = {**COMPONENT_HEADERS["Retry-After"], "required": False}
    if status == Problem.METHOD_NOT_ALLOWED.spec.status:
        extra["Allow"] = _allow(allow)
    if Problem.USE_DPOP_NONCE in problems:
        extra["DPoP-Nonce"] = header(
            "The nonce a new DPoP proof must carry (RFC 9449 §8): always with `use_dpop_nonce`, and with "
            "`invalid_dpop_proof` when nonces are on.",
            {"type": "string"},
            required=False,
        )
    if Problem.BODY_TIMEOUT in problems:
        extra["Connection"] = header(
            "`close`: the rest of a slow body is not waited for (RFC 9110 §15.5.9).", {"type": "string", **enum("close")}
        )
    return response_headers(NO_STORE, pragma=True, extra=extra)


def error_responses(path: str, problems: Iterable[Problem], allow: Iterable[str], source: str, instance: Schema | None = None) -> Schema:
    """One response per status the `problems` can produce, in the path's error format."""
    by_status: dict[int, list[Problem]] = defaultdict(list)
    for problem in dict.fromkeys([*problems, *EVERYWHERE]):
        by_status[problem.spec.status].append(problem)
    instance = instance or {"type": "string", **enum(path)}
    responses: Schema = {}
    for status in sorted(by_status):
        group = by_status[status]
        lines = "; ".join(f"`{problem.spec.code}` {problem.spec.message}" for problem in group)
        if uses_oauth_format(path):
            schema = oauth_error_schema(group)
            example: object = {"error": group[0].spec.oauth_error, "error_description": group[0].spec.message}
            description = f"{HTTPStatus(status).phrase}, RFC 6749 §5.2 format: {lines}."
        else:
            schema = seed_errors_schema(group, source, instance)
            example = _seed_example(group[0], path, source)
            description = f"{HTTPStatus(status).phrase}, seed format: {lines}."
        responses[str(status)] = {
            "description": description,
            "headers": _error_headers(status, group, allow),
            "content": {JSON: {"schema": schema, "example": example}},
        }
    return responses
