"""What every framework integration holds: the verifier, and how its refusals are
written (realm, whether to describe the error, the RFC 9728 metadata to point to)."""

from __future__ import annotations

from tokensmith.verify.bearer import Refusal
from tokensmith.verify.errors import TokenError
from tokensmith.verify.resource_metadata import ProtectedResourceMetadata
from tokensmith.verify.verifier import TokenVerifier


class Protection:
    """One protected resource: tokens verified by ``verifier``, refused as RFC 6750 says."""

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        realm: str | None = None,
        include_error_description: bool = True,
        resource_metadata: ProtectedResourceMetadata | None = None,
    ) -> None:
        self.verifier = verifier
        self.realm = realm
        self.include_error_description = include_error_description
        self.resource_metadata = resource_metadata

    def refusal(self, error: TokenError) -> Refusal:
        metadata_url = self.resource_metadata.url if self.resource_metadata is not None else None
        return Refusal.of(error, self.realm, include_description=self.include_error_description, resource_metadata=metadata_url)
