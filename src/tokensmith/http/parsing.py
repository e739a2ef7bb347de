"""Reading a token request off the wire, strictly: bounded bodies, form and query
parameters that may each appear once (RFC 6749 §3.1), UTF-8 only."""

from __future__ import annotations

import re
from contextlib import nullcontext
from urllib.parse import parse_qsl

import anyio
from starlette.requests import ClientDisconnect, Request

from tokensmith.domain.errors import Problem, TokensmithError

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_PARAMETERS = 32
SINGLETON_FIELDS = ("Authorization", "Content-Type")
# RFC 9110 §8.6: Content-Length = 1*DIGIT, ASCII digits only (str.isdigit() would
# also pass "²", which int() then refuses).
_CONTENT_LENGTH = re.compile(r"[0-9]+")
# Used when the request carries no node (the settings' default).
DEFAULT_BODY_READ_TIMEOUT_SECONDS = 10.0


def malformed(detail: str) -> TokensmithError:
    return TokensmithError(Problem.MALFORMED_REQUEST, detail)


def parse_parameters(text: str, where: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_PARAMETERS)
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


def query_parameters(request: Request) -> dict[str, str]:
    raw: bytes = request.scope.get("query_string", b"")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise malformed("The query string is not valid") from None
    return parse_parameters(text, "query string")


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not _CONTENT_LENGTH.fullmatch(declared):
            raise malformed("Content-Length is not a number")
        # Compare lengths first: int() refuses strings of more than 4,300 digits.
        digits = declared.lstrip("0") or "0"
        if len(digits) > len(str(limit)) or int(digits) > limit:
            raise TokensmithError(Problem.BODY_TOO_LARGE, f"Request body is larger than {limit} bytes")
        empty = digits == "0"
    else:
        empty = "transfer-encoding" not in request.headers  # RFC 9112 §6.3: no body
    # A client that announces a body and then sends it slowly, or not at all, would
    # hold this request and its connection for ever: the whole body must arrive within
    # the read timeout, else 408 (RFC 9110 §15.5.9) and the connection is closed.
    timeout = _body_read_timeout(request)
    chunks: list[bytes] = []
    size = 0
    try:
        with nullcontext() if empty else anyio.fail_after(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise TokensmithError(Problem.BODY_TOO_LARGE, f"Request body is larger than {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise TokensmithError(Problem.BODY_TIMEOUT, f"The request body did not arrive within {timeout:g} s") from None
    except ClientDisconnect:
        # The client went away before sending the body it announced (RFC 9112 §8: an
        # incomplete message). Its fault, not ours: a 400 nobody reads, not a 500 and a
        # traceback in the error log.
        raise malformed("The request body ended before it was complete") from None
    return b"".join(chunks)


def _body_read_timeout(request: Request) -> float:
    app = request.scope.get("app")
    node = getattr(getattr(app, "state", None), "node", None)
    return node.settings.body_read_timeout_seconds if node is not None else DEFAULT_BODY_READ_TIMEOUT_SECONDS


def is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
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
    # RFC 9110 §5.3: these are singleton fields. Two of them are read differently by
    # different parsers (the first here, the last in some proxies): refuse, never pick.
    for name in SINGLETON_FIELDS:
        if len(request.headers.getlist(name)) > 1:
            raise malformed(f"The {name} header is given more than once")
    body = await read_body(request, limit)
    if not body and not required:
        return {}
    if not is_form(request):
        raise TokensmithError(Problem.UNSUPPORTED_MEDIA_TYPE, f"The body must be {FORM_MEDIA_TYPE}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("The body is not valid UTF-8") from None
    return parse_parameters(text, "body")
