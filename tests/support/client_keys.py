"""Public key sets (JWKS documents) as a private_key_jwt client or a trusted issuer
registers them: freshly generated keys, the private halves never leaving the test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from tokensmith.jose.jwk import public_jwk


def ec_jwk(kid: str, **members: Any) -> dict[str, Any]:
    return {**public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()), "kid": kid, **members}


def ec_jwks(*kids: str) -> dict[str, Any]:
    return {"keys": [ec_jwk(kid, alg="ES256") for kid in kids]}


def write_jwks(path: Path, document: Any) -> str:
    path.write_text(json.dumps(document, indent=2))
    return str(path)
