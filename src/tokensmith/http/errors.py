"""Rendering catalogue problems (domain/errors.py) in the two error formats:
the seed's JSON list of problem objects, and RFC 6749 §5.2's error object."""

from __future__ import annotations

from http import HTTPStatus

import orjson
from starlette.responses import Response

from tokensmith.domain.errors import Problem, TokensmithError

NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
BASIC_CHALLENGE = 'Basic realm="tokensmith", charset="UTF-8"'
SEED_DETAIL = "Please refer to invalid-params for error details"


# The admin API and the console answer errors as RFC 9457 problem details (docs/admin.md).
PROBLEM_PATHS = ("/admin/", "/console/")
PROBLEM_JSON = "application/problem+json"


def uses_oauth_format(path: str) -> bool:
    """The /oauth2/ endpoints speak RFC 6749; everything else speaks the seed's format."""
    return path.startswith("/oauth2/")


def uses_problem_format(path: str) -> bool:
    return path.startswith(PROBLEM_PATHS) or path == "/console"


def problem_details(
    name: str, status: int, detail: str, path: str, *, code: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    """An RFC 9457 problem object: `type` names the problem (docs/admin.md lists each),
    `code` is the catalogue's error code where the problem is one of its rows."""
    body: dict[str, object] = {
        "type": f"urn:tokensmith:problem:{name}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": path,
    }
    if code is not None:
        body["code"] = code
    return Response(orjson.dumps(body), status, {**NO_STORE, **(headers or {})}, media_type=PROBLEM_JSON)


def _headers(error: TokensmithError, extra: dict[str, str] | None) -> dict[str, str]:
    headers = dict(NO_STORE)
    if error.problem is Problem.INVALID_CLIENT:
        headers["www-authenticate"] = BASIC_CHALLENGE
    if error.retry_after is not None:
        headers["retry-after"] = str(error.retry_after)
    if error.headers:
        headers.update(error.headers)
    if error.problem is Problem.BODY_TIMEOUT:
        # RFC 9110 §15.5.9: the rest of the body may still trickle in; end the connection.
        headers["connection"] = "close"
    if extra:
        headers.update(extra)
    return headers


def seed_error(error: TokensmithError, path: str, source: str, extra_headers: dict[str, str] | None = None) -> Response:
    spec = error.problem.spec
    body = [
        {
            "detail": SEED_DETAIL,
            "errorCode": spec.code,
            "instance": path,
            "invalid-params": [error.message],
            "source": source,
            "status": spec.status,
            "title": HTTPStatus(spec.status).phrase,
        }
    ]
    return Response(orjson.dumps(body), spec.status, _headers(error, extra_headers), media_type="application/json")


def oauth_error(error: TokensmithError, extra_headers: dict[str, str] | None = None) -> Response:
    spec = error.problem.spec
    body = {"error": spec.oauth_error, "error_description": error.message}
    return Response(orjson.dumps(body), spec.status, _headers(error, extra_headers), media_type="application/json")


def render_error(error: TokensmithError, path: str, source: str, extra_headers: dict[str, str] | None = None) -> Response:
    if uses_problem_format(path):
        spec = error.problem.spec
        return problem_details(error.problem.name.lower(), spec.status, error.message, path, code=spec.code, headers=_headers(error, extra_headers))
    if uses_oauth_format(path):
        return oauth_error(error, extra_headers)
    return seed_error(error, path, source, extra_headers)


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allow_value(methods: str) -> str:
    """An `Allow` value (RFC 9110 §10.2.1) in one stable order: Starlette joins a set,
    whose order changes from process to process."""
    present = {method.strip().upper() for method in methods.split(",") if method.strip()}
    ordered = [method for method in _METHOD_ORDER if method in present]
    return ", ".join(ordered + sorted(present - set(_METHOD_ORDER)))
