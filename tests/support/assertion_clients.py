"""What the SDK's and other clients' assertion tests share: whether the server under
test supports private_key_jwt and federation yet, clients registered with a public
key, a stand-in platform issuer (a Kubernetes cluster's service-account tokens, its
keys given to the server as a file), and node openid-client run as a real program.

Until the server supports a method its tests are skipped with the reason; under CI=true
that skip is a failure instead, as for a missing service (tests/support/services.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.server import Tokensmith
from tests.support.services import skip_unless_ci
from tokensmith.jose import base64url
from tokensmith.jose.jwk import public_jwk
from tokensmith.jose.jws import Signer

OPENID_CLIENT_DIR = Path(__file__).resolve().parent / "openid_client"


def require_support(feature: str, problem: str | None) -> None:
    """Skips (or, under CI=true, fails) the test when the server lacks `feature`."""
    if problem is not None:
        skip_unless_ci(f"the server does not support {feature} yet ({problem})", "")


def require_private_key_jwt(tokensmith: Tokensmith) -> None:
    metadata = httpx.get(f"{tokensmith.url}/.well-known/oauth-authorization-server", timeout=10).json()
    methods = metadata.get("token_endpoint_auth_methods_supported", [])
    problem = None if "private_key_jwt" in methods else f"token_endpoint_auth_methods_supported is {methods}"
    require_support("private_key_jwt", problem)


def require_federation(tokensmith: Tokensmith) -> None:
    require_private_key_jwt(tokensmith)
    result = tokensmith.cli("trust", "--help", check=False)
    require_support("workload identity federation", None if result.returncode == 0 else "`tokensmith trust` is not a command")


def write_jwks(path: Path, *jwks: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"keys": list(jwks)}))
    return path


def create_key_client(tokensmith: Tokensmith, client_id: str, *jwks: dict[str, Any], scopes: Sequence[str] = ("edit",)) -> dict[str, Any]:
    """A private_key_jwt client whose public keys are `jwks`, registered inline."""
    jwks_file = write_jwks(tokensmith.workdir / f"{client_id}.jwks.json", *jwks)
    return tokensmith.create_client(client_id, "--auth-method", "private_key_jwt", "--jwks-file", str(jwks_file), scopes=scopes)


class PlatformIssuer:
    """A stand-in Kubernetes cluster: it signs service-account tokens (RS256, a kid, no
    typ, `aud` an array, the `kubernetes.io` claim) the way the API server does; its
    JWKS is what `kubectl get --raw /openid/v1/jwks` would print."""

    def __init__(self, issuer: str = "https://kubernetes.default.svc.cluster.local") -> None:
        self.issuer = issuer
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "cluster-key-1"
        self._signer = Signer(self._key, {"alg": "RS256", "kid": self.kid})
        self._jti = 0

    def jwk(self) -> dict[str, Any]:
        return {**public_jwk(self._key.public_key()), "kid": self.kid, "alg": "RS256", "use": "sig"}

    def service_account_token(
        self, audience: str, namespace: str = "orders", name: str = "orders-svc", lifetime: int = 3600, **extra: Any
    ) -> str:
        now = int(time.time())
        self._jti += 1
        claims = {
            "aud": [audience],
            "exp": now + lifetime,
            "iat": now,
            "nbf": now,
            "iss": self.issuer,
            "jti": base64url.encode_text(f"{self._jti}-{now}".encode()),
            "sub": f"system:serviceaccount:{namespace}:{name}",
            "kubernetes.io": {
                "namespace": namespace,
                "serviceaccount": {"name": name, "uid": "5d1f6c1e-0c1a-4a5e-9d87-1c3f2f0a9b11"},
                "pod": {"name": f"{name}-7d9c5b8f6-x2x4q", "uid": "0f6b1a7e-2a4e-4c7b-8a3e-6d1e2c9f4b22"},
            },
            **extra,
        }
        return self._signer.sign_claims(claims)


def openid_client_problem() -> str | None:
    """Installs openid-client from tests/support/openid_client (npm ci, once);
    what is missing, or None."""
    if not (shutil.which("node") and shutil.which("npm")):
        return "node and npm are not installed"
    if (OPENID_CLIENT_DIR / "node_modules" / "openid-client" / "package.json").exists():
        return None
    try:
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=OPENID_CLIENT_DIR, check=True, capture_output=True, text=True, timeout=300,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        return f"npm ci failed: {(getattr(exc, 'stderr', None) or str(exc)).strip()[:300]}"
    return None


def require_openid_client() -> None:
    problem = openid_client_problem()
    if problem is not None:
        skip_unless_ci(f"node openid-client is not available ({problem})", "")


def openid_client_tokens(issuer: str, client_id: str, private_jwk: dict[str, Any], alg: str, *, scope: str | None = None, requests: int = 1) -> list[dict[str, Any]]:
    """Runs openid-client's client_credentials grant with PrivateKeyJwt `requests`
    times; one {"token": …} or {"error": …} per request."""
    request = {"issuer": issuer, "client_id": client_id, "jwk": private_jwk, "alg": alg, "scope": scope, "requests": requests}
    result = subprocess.run(
        ["node", "private_key_jwt.mjs"], cwd=OPENID_CLIENT_DIR, input=json.dumps(request), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def openid_client_dpop(issuer: str, client_id: str, client_secret: str, *, alg: str = "ES256", requests: int = 1, resource: str | None = None) -> list[dict[str, Any]]:
    """Runs openid-client's client_credentials grant with a DPoP handle of its own key
    `requests` times (and a GET of `resource` with each token); one {"token": …,
    "jwk": …, "resource"?: …} or {"error": …} per request (dpop.mjs)."""
    request = {"issuer": issuer, "client_id": client_id, "client_secret": client_secret, "alg": alg, "requests": requests, "resource": resource}
    result = subprocess.run(["node", "dpop.mjs"], cwd=OPENID_CLIENT_DIR, input=json.dumps(request), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
