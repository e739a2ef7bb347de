"""Rules on a request head's framing fields that uvicorn's parser does not enforce,
checked by http/protocol.py before any request reaches the application.

- Host (RFC 9112 §3.2): "A server MUST respond with a 400 (Bad Request) status code
  to any HTTP/1.1 request message that lacks a Host header field and to any request
  message that contains more than one Host header field line or a Host header field
  with an invalid field value." Two Host fields let two readers (a proxy, the app)
  each believe another host.
- Transfer-Encoding (RFC 9112 §6.1): the only coding tokensmith decodes is chunked.
  `gzip, chunked` was framed as chunked and the gzip silently ignored, so the body
  the application read was not the body that was sent; any coding list other than a
  lone `chunked` is 501 Not Implemented, as §6.1 asks of a coding the server does
  not understand.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

HOST_REFUSED = "Exactly one valid Host header field is required."
CODING_REFUSED = "Transfer codings other than chunked are not implemented."

# RFC 9110 §7.2: Host = uri-host [ ":" port ]; uri-host is an IP-literal in brackets
# or a reg-name / IPv4address (RFC 3986 §3.2.2). Empty is allowed (RFC 9112 §3.2).
_HOST = re.compile(rb"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?")


def head_refusal(headers: Iterable[tuple[bytes, bytes]], http_version: Callable[[], str]) -> tuple[int, str] | None:
    """The plain-text refusal (status, message) a head with these header fields (names
    in lower case) gets, or None when it may go on. `http_version` is asked only when
    the head has no Host field."""
    hosts = 0
    host = b""
    codings: list[bytes] = []
    for name, value in headers:  # one pass: this runs for every request
        if name == b"host":
            hosts += 1
            host = value
        elif name == b"transfer-encoding":
            codings.append(value)
    if hosts > 1 or (hosts == 0 and http_version() == "1.1") or (hosts == 1 and not _valid_host(host.strip(b" \t"))):
        return 400, HOST_REFUSED
    if codings and _codings(codings) != [b"chunked"]:
        return 501, CODING_REFUSED
    return None


@functools.lru_cache(maxsize=256)  # a server is called by a handful of host names
def _valid_host(value: bytes) -> bool:
    return _HOST.fullmatch(value) is not None


def _codings(values: list[bytes]) -> list[bytes]:
    # A field may repeat and each is a comma-separated list whose empty elements a
    # recipient ignores (RFC 9110 §5.3, §5.6.1); coding names are case-insensitive.
    return [coding.strip(b" \t").lower() for value in values for coding in value.split(b",") if coding.strip(b" \t")]
