"""OAuth 2.0 Protected Resource Metadata (RFC 9728).

A resource server describes itself at ``/.well-known/oauth-protected-resource``
(§3.1: the well-known segment goes between the host and the resource identifier's
path) and points to that document from its ``WWW-Authenticate`` challenges (§5.1), so
that a client refused with 401 can find which authorization server to ask and for
which scopes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

WELL_KNOWN_PREFIX = "/.well-known/oauth-protected-resource"


@dataclass(frozen=True, init=False)
class ProtectedResourceMetadata:
    """The metadata document of one protected resource.

    ``resource`` is the resource identifier (§2): an https (or, for local testing,
    http) URL without a fragment, normally the audience the resource's tokens carry.
    """

    resource: str
    authorization_servers: tuple[str, ...] = ()
    scopes_supported: tuple[str, ...] = ()
    #: RFC 6750 §2.1 only: the header is the one method every integration accepts
    #: (form bodies are not read, the query is refused, RFC 9700 §2.4.2).
    bearer_methods_supported: tuple[str, ...] = ("header",)
    resource_name: str | None = None
    resource_documentation: str | None = None
    #: §2: published only when set; DPoP-bound tokens arrive with issue 12.
    dpop_bound_access_tokens_required: bool | None = None

    def __init__(
        self,
        resource: str,
        *,
        authorization_servers: Iterable[str] = (),
        scopes_supported: Iterable[str] = (),
        bearer_methods_supported: Iterable[str] = ("header",),
        resource_name: str | None = None,
        resource_documentation: str | None = None,
        dpop_bound_access_tokens_required: bool | None = None,
    ) -> None:
        parts = urlsplit(resource)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
            raise ValueError("resource must be an http(s) URL without a fragment (RFC 9728 §1.2)")
        for name, value in (
            ("resource", resource),
            ("authorization_servers", tuple(authorization_servers)),
            ("scopes_supported", tuple(scopes_supported)),
            ("bearer_methods_supported", tuple(bearer_methods_supported)),
            ("resource_name", resource_name),
            ("resource_documentation", resource_documentation),
            ("dpop_bound_access_tokens_required", dpop_bound_access_tokens_required),
        ):
            object.__setattr__(self, name, value)

    @property
    def path(self) -> str:
        """The path this document is served at on the resource's host (§3.1)."""
        return WELL_KNOWN_PREFIX + urlsplit(self.resource).path.rstrip("/")

    @property
    def url(self) -> str:
        """The document's URL, for the ``resource_metadata`` challenge parameter (§5.1)."""
        parts = urlsplit(self.resource)
        return urlunsplit((parts.scheme, parts.netloc, self.path, "", ""))

    def document(self) -> dict[str, Any]:
        """The JSON members (§2); empty lists and unset members are left out."""
        document: dict[str, Any] = {"resource": self.resource}
        for name in ("authorization_servers", "scopes_supported", "bearer_methods_supported"):
            values = getattr(self, name)
            if values:
                document[name] = list(values)
        for name in ("resource_name", "resource_documentation", "dpop_bound_access_tokens_required"):
            value = getattr(self, name)
            if value is not None:
                document[name] = value
        return document

    def body(self) -> bytes:
        return json.dumps(self.document()).encode()



#: §3.2: a JSON object with status 200; cacheable, it changes only with the deployment.
METADATA_HEADERS = (("Content-Type", "application/json"), ("Cache-Control", "max-age=300"))
