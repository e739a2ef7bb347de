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

import re

HOST_REFUSED = "Exactly one valid Host header field is required."
CODING_REFUSED = "Transfer codings other than chunked are not implemented."

# RFC 9110 §7.2: Host = uri-host [ ":" port ]; uri-host is an IP-literal in brackets
# or a reg-name / IPv4address (RFC 3986 §3.2.2). Empty is allowed (RFC 9112 §3.2).
_HOST = re.compile(rb"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?")


def head_refusal(http_version: str, hosts: list[bytes], transfer_encodings: list[bytes]) -> tuple[int, str] | None:
    """The plain-text refusal (status, message) a head with these Host and
    Transfer-Encoding field values gets, or None when it may go on."""
    if len(hosts) > 1 or (http_version == "1.1" and not hosts) or (hosts and not _HOST.fullmatch(hosts[0])):
        return 400, HOST_REFUSED
    if transfer_encodings and _codings(transfer_encodings) != [b"chunked"]:
        return 501, CODING_REFUSED
    return None


def _codings(values: list[bytes]) -> list[bytes]:
    # A field may repeat and each is a comma-separated list whose empty elements a
    # recipient ignores (RFC 9110 §5.3, §5.6.1); coding names are case-insensitive.
    return [coding.strip(b" \t").lower() for value in values for coding in value.split(b",") if coding.strip(b" \t")]
