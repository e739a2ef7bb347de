"""Reading the admin API's requests: a JSON object body, its fields by type, query
parameters, and the ETag / If-Match pair. Only the shape is checked here; what the
values may be is the domain's rule (domain/registration.py), applied by the service."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NoReturn

from starlette.requests import Request

from tokensmith.admin.problems import AdminError, AdminProblem
from tokensmith.domain.clients import Client
from tokensmith.http.parsing import body_head, read_body

MAX_ADMIN_BODY_BYTES = 65536


def invalid(detail: str) -> NoReturn:
    raise AdminError(AdminProblem.INVALID, detail)


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


async def json_object(request: Request, *, empty_ok: bool = False) -> dict[str, Any]:
    """The body as a JSON object. Parsed by the standard library, which keeps every
    integer exact, so the domain's range checks see what was sent."""
    head = body_head(request.scope["headers"])
    body = await read_body(request, MAX_ADMIN_BODY_BYTES, head)
    if not body.strip() and empty_ok:
        return {}
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise AdminError(AdminProblem.UNSUPPORTED_MEDIA_TYPE)
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise AdminError(AdminProblem.MALFORMED, "The request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise AdminError(AdminProblem.MALFORMED)
    return value


def _whole(name: str, value: Any) -> int | None:
    """An integer, also when written 60.0 (JSON, and JSON Schema's `integer`, do not
    tell the two apart)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        invalid(f"{name} must be an integer")
    return value


class Fields:
    """A JSON object's fields, each taken once with its type checked; `done()` refuses
    any field left over, so a misspelt field is an error rather than ignored."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)

    def has(self, name: str) -> bool:
        return name in self._data

    def _take(self, name: str, *, nullable: bool = False) -> Any:
        """The field's value, None when absent; an explicit null only where `nullable`."""
        if name in self._data and self._data[name] is None and not nullable:
            invalid(f"{name} may not be null; leave it out instead")
        return self._data.pop(name, None)

    def text(self, name: str) -> str | None:
        value = self._take(name)
        if value is not None and not isinstance(value, str):
            invalid(f"{name} must be a string")
        return value

    def text_or_null(self, name: str) -> str | None:
        """A string, or an explicit null (which `has` tells from an absent field)."""
        value = self._take(name, nullable=True)
        if value is not None and not isinstance(value, str):
            invalid(f"{name} must be a string or null")
        return value

    def texts(self, name: str) -> tuple[str, ...] | None:
        value = self._take(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            invalid(f"{name} must be a list of strings")
        return tuple(value)

    def flag(self, name: str) -> bool | None:
        value = self._take(name)
        if value is not None and not isinstance(value, bool):
            invalid(f"{name} must be true or false")
        return value

    def integer(self, name: str, *, nullable: bool = False) -> int | None:
        return _whole(name, self._take(name, nullable=nullable))

    def obj(self, name: str) -> dict[str, Any] | None:
        value = self._take(name)
        if value is not None and not isinstance(value, dict):
            invalid(f"{name} must be a JSON object")
        return value

    def lifetime(self, name: str) -> str | None:
        """Seconds (an integer) or "HH:MM Area/City" (domain/lifetimes.py reads it)."""
        value = self._take(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = _whole(name, value)
            if seconds is None or seconds < 1:
                invalid(f"{name} must be at least 1 second")
            return str(seconds)
        invalid(f"{name} must be a number of seconds or 'HH:MM Area/City'")

    def done(self) -> None:
        if self._data:
            invalid(f"unknown field(s): {', '.join(sorted(self._data))}")


def query_integer(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 19 or not low <= int(text) <= high:
        invalid(f"query parameter {name} must be an integer from {low} to {high}")
    return int(text)


def query_flag(request: Request, name: str) -> bool | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    if text not in ("true", "false"):
        invalid(f"query parameter {name} must be true or false")
    return text == "true"


def has_control_characters(text: str) -> bool:
    """C0 controls and DEL (PostgreSQL refuses NUL in text; none belongs in a filter)."""
    return any(ch < " " or ch == "\x7f" for ch in text)


def query_text(request: Request, name: str, max_length: int = 255) -> str | None:
    text = request.query_params.get(name)
    if text is not None and (not text or len(text) > max_length or has_control_characters(text)):
        invalid(f"query parameter {name} must be 1 to {max_length} characters, none of them a control character")
    return text


def etag(client: Client) -> str:
    """The client's version as an entity tag: its creation instant (a new client of a
    deleted one's id starts again at revision 0) and its revision."""
    return f'"{client.created_at}.{client.revision}"'


def expected_revision(request: Request, client: Client) -> int | None:
    """The revision If-Match asks the change to be made from: None without If-Match
    (or with `*`); the client's revision when a tag it lists is the client's current
    one (RFC 9110 §13.1.1, strong comparison: a weak tag never matches); otherwise a
    revision no client has, so that the store refuses the write (412) after the
    change's values have been checked (422 comes first)."""
    value = request.headers.get("if-match")
    if value is None or value.strip() == "*":
        return None
    return client.revision if etag(client) in (tag.strip() for tag in value.split(",")) else NO_REVISION


NO_REVISION = -1
