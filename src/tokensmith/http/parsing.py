"""Reading a token request off the wire, strictly: bounded bodies, form and query
parameters that may each appear once (RFC 6749 §3.1), UTF-8 only."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request

from tokensmith.domain.errors import Problem, TokensmithError

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_PARAMETERS = 32
# Used when the request carries no node (the settings' default).
DEFAULT_BODY_READ_TIMEOUT_SECONDS = 10.0


def malformed(detail: str) -> TokensmithError:
    return TokensmithError(Problem.MALFORMED_REQUEST, detail)


def split_parameters(text: str) -> list[tuple[str, str]]:
    """`parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=32)`.

    Text with nothing to decode (no `%`, no `+`: a typical `scope=read` or client
    credentials form) is split directly, as parse_qsl would split it, without its
    per-pair unquoting; anything else goes to parse_qsl itself."""
    if "%" in text or "+" in text:
        return parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_PARAMETERS)
    if text.count("&") >= MAX_PARAMETERS:
        raise ValueError("Max number of fields exceeded")  # as parse_qsl words it
    pairs = []
    for field in text.split("&"):
        if field:  # parse_qsl skips empty fields (`a=1&&b=2`)
            name, _, value = field.partition("=")
            pairs.append((name, value))
    return pairs


def parse_parameters(text: str, where: str) -> dict[str, str]:
    try:
        pairs = split_parameters(text)
    except UnicodeDecodeError:
        raise malformed(f"The {where} is not valid UTF-8") from None
    except ValueError:
        raise malformed(f"The {where} has too many parameters") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise malformed(f"Parameter {name[:40]} is given more than once")
        params[name] = value
    return params


def query_parameters(request: Request) -> Mapping[str, str]:
    return query_string_parameters(request.scope.get("query_string", b""))


def query_string_parameters(raw: bytes) -> Mapping[str, str]:
    """The parameters of a query string (read-only: a short one is parsed once and
    its answer shared, as clients send the same few queries again and again)."""
    if len(raw) <= 256:
        return _short_query_parameters(raw)
    return _query_string_parameters(raw)


@functools.lru_cache(maxsize=512)
def _short_query_parameters(raw: bytes) -> Mapping[str, str]:
    return MappingProxyType(_query_string_parameters(raw))


def _query_string_parameters(raw: bytes) -> dict[str, str]:
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise malformed("The query string is not valid") from None
    return parse_parameters(text, "query string")


@dataclass(slots=True)  # built per request: not frozen, which costs twice as much
class BodyHead:
    """What a request's header fields say about its body and its credentials, read in
    one pass (the token path reads nothing else from them)."""

    content_length: bytes | None  # the first Content-Length, as sent
    chunked: bool  # a Transfer-Encoding was sent
    content_type: str  # the first Content-Type, or ""
    repeated: str | None  # the first singleton field sent more than once
    authorization: bytes | None = None  # the first Authorization (two are `repeated`)
    request_id: bytes | None = None  # the first X-Request-Id, as sent
    dpop: bytes | None = None  # the DPoP proof (RFC 9449 §4.1; two are `repeated`)


def body_head(headers: Iterable[tuple[bytes, bytes]]) -> BodyHead:
    """From an ASGI scope's `headers` (names in lower case)."""
    content_length: bytes | None = None
    content_type: bytes | None = None
    authorization: bytes | None = None
    request_id: bytes | None = None
    dpop: bytes | None = None
    chunked = False
    authorizations = content_types = dpops = 0
    for name, value in headers:
        if name == b"authorization":
            authorizations += 1
            if authorization is None:
                authorization = value
        elif name == b"content-type":
            content_types += 1
            if content_type is None:
                content_type = value
        elif name == b"content-length":
            if content_length is None:
                content_length = value
        elif name == b"transfer-encoding":
            chunked = True
        elif name == b"x-request-id" and request_id is None:
            request_id = value
        elif name == b"dpop":
            dpops += 1
            if dpop is None:
                dpop = value
    # RFC 9110 §5.3: these are singleton fields. Two of them are read differently by
    # different parsers (the first here, the last in some proxies): refuse, never pick.
    repeated = "Authorization" if authorizations > 1 else "Content-Type" if content_types > 1 else "DPoP" if dpops > 1 else None
    return BodyHead(content_length, chunked, content_type.decode("latin-1") if content_type else "", repeated, authorization, request_id, dpop)


def body_too_large(limit: int) -> TokensmithError:
    return TokensmithError(Problem.BODY_TOO_LARGE, f"Request body is larger than {limit} bytes")


def announces_body(head: BodyHead, limit: int) -> bool:
    """Whether the request says a body follows; refuses a declared length over `limit`."""
    if head.content_length is None:
        return head.chunked  # RFC 9112 §6.3: neither field, no body
    if head.content_length == b"0":
        return False  # what a client sends for an empty body, most of the time
    declared = head.content_length
    # bytes.isdigit() is ASCII digits only (str.isdigit() would pass "²"): 1*DIGIT.
    if not declared.isdigit():
        raise malformed("Content-Length is not a number")
    # Compare lengths first: int() refuses strings of more than 4,300 digits.
    digits = declared.lstrip(b"0") or b"0"
    if len(digits) > len(str(limit)) or int(digits) > limit:
        raise body_too_large(limit)
    return digits != b"0"


async def read_body(request: Request, limit: int, head: BodyHead) -> bytes:
    if not announces_body(head, limit):
        return b""  # nothing to wait for
    # A client that announces a body and then sends it slowly, or not at all, would
    # hold this request and its connection for ever: the whole body must arrive within
    # the read timeout, else 408 (RFC 9110 §15.5.9) and the connection is closed.
    timeout = _body_read_timeout(request)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise body_too_large(limit)
                chunks.append(chunk)
    except TimeoutError:
        raise TokensmithError(Problem.BODY_TIMEOUT, f"The request body did not arrive within {timeout:g} s") from None
    except ClientDisconnect:
        # The client went away before sending the body it announced (RFC 9112 §8: an
        # incomplete message). Its fault, not ours: a 400 nobody reads, not a 500 and a
        # traceback in the error log.
        raise malformed("The request body ended before it was complete") from None
    return b"".join(chunks)


def received_body(head: BodyHead, body: bytes, limit: int) -> bytes:
    """read_body for a body that has already been received whole (the server read
    it in the same read as the request head: http/protocol.py)."""
    if not announces_body(head, limit):
        return b""
    if len(body) > limit:
        raise body_too_large(limit)
    return body


def _body_read_timeout(request: Request) -> float:
    app = request.scope.get("app")
    node = getattr(getattr(app, "state", None), "node", None)
    return node.settings.body_read_timeout_seconds if node is not None else DEFAULT_BODY_READ_TIMEOUT_SECONDS


@functools.lru_cache(maxsize=64)  # clients send one or two spellings of it, again and again
def is_form_media_type(content_type: str) -> bool:
    media_type, _, params = content_type.partition(";")
    if media_type.strip().lower() != FORM_MEDIA_TYPE:
        return False
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset" and value.strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


async def form_body(request: Request, limit: int, *, required: bool) -> dict[str, str]:
    """The form parameters of the body. An empty body is no parameters unless one is
    required; any other media type is refused."""
    head = checked_head(request.scope["headers"])
    return form_parameters(head, await read_body(request, limit, head), required=required)


def checked_head(headers: Iterable[tuple[bytes, bytes]]) -> BodyHead:
    return check_head(body_head(headers))


def check_head(head: BodyHead) -> BodyHead:
    if head.repeated is not None:
        raise malformed(f"The {head.repeated} header is given more than once")
    return head


def form_parameters(head: BodyHead, body: bytes, *, required: bool) -> dict[str, str]:
    if not body and not required:
        return {}
    if not is_form_media_type(head.content_type):
        raise TokensmithError(Problem.UNSUPPORTED_MEDIA_TYPE, f"The body must be {FORM_MEDIA_TYPE}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("The body is not valid UTF-8") from None
    return parse_parameters(text, "body")
