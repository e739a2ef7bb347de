"""The JWT-bearer authorization grant (RFC 7523 §2.1): a platform token as the grant
itself instead of as the client's credential. tokensmith decides it with the same
trusts and federated credentials as a federated ``client_assertion``; it exists for
clients and gateways that speak this grant rather than client credentials."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tokensmith.client._credentials import Secret
from tokensmith.client.assertions import PlatformToken
from tokensmith.client.auth import ClientCredentialsAuth

JWT_BEARER_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class JWTBearerGrantAuth(ClientCredentialsAuth):
    """Like :class:`ClientCredentialsAuth` with ``assertion=PlatformToken(...)``, but
    each token request is ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``
    with the platform token as ``assertion`` and the federated client's
    ``client_id``. The token file is re-read at every renewal. Standard endpoint
    only: the seed endpoint has no grant types."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        assertion: PlatformToken,
        scope: str | Iterable[str] | None = None,
        **options: Any,
    ) -> None:
        if not isinstance(assertion, PlatformToken):
            raise ValueError("the JWT-bearer grant takes a PlatformToken (a platform-issued JWT)")
        super().__init__(token_url, client_id, scope=scope, assertion=assertion, **options)
        if self.seed_endpoint:
            raise ValueError("the seed endpoint has no grant types: use ClientCredentialsAuth(assertion=PlatformToken(...)) there")

    def _token_request(self, credential: Secret) -> dict[str, Any]:
        # The base request keeps its headers (Accept, a DPoP proof); only the form
        # differs. RFC 7523 §2.1; client_id names the federated client (tokensmith
        # requires it, as a platform token's sub is the workload, not the client).
        request = super()._token_request(credential)
        form = {"grant_type": JWT_BEARER_GRANT_TYPE, "assertion": credential.reveal(), "client_id": self.client_id}
        if self.scope:
            form["scope"] = self.scope
        request.pop("content", None)
        request["data"] = form
        return request
