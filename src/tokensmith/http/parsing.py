"""Reading a token request off the wire, strictly: bounded bodies, form and query
parameters that may each appear once (RFC 6749 §3.1), UTF-8 only."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from tokensmith.domain.errors import Problem, TokensmithError

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
MAX_PARAMETERS = 32


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
        if not declared.isdigit():
            raise malformed("Content-Length is not a number")
        if int(declared) > limit:
            raise TokensmithError(Problem.BODY_TOO_LARGE, f"Request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TokensmithError(Problem.BODY_TOO_LARGE, f"Request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


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
