"""The FastAPI dependency in FastAPI's own OpenAPI document, and the core package's
independence from every framework it integrates with."""

from __future__ import annotations

import subprocess
import sys

from tests.verify.integrations.apps import SCOPES, fastapi_app

ENV = {
    "APP_ISSUER": "https://auth.example.test",
    "APP_AUDIENCE": "https://orders.example.test",
    "APP_INTROSPECTION_ID": "orders-api",
    "APP_INTROSPECTION_SECRET": "not-used-here",
}


def test_the_scheme_is_oauth2_client_credentials_against_the_issuers_token_endpoint():
    document = fastapi_app(ENV).openapi()

    scheme = document["components"]["securitySchemes"]["tokensmith"]
    assert scheme == {
        "type": "oauth2",
        "flows": {"clientCredentials": {"tokenUrl": "https://auth.example.test/oauth2/token", "scopes": SCOPES}},
    }


def test_each_operation_lists_the_scopes_its_route_declares():
    paths = fastapi_app(ENV).openapi()["paths"]

    assert paths["/orders"]["get"]["security"] == [{"tokensmith": ["orders:read"]}]
    assert paths["/admin"]["get"]["security"] == [{"tokensmith": ["admin"]}]
    assert paths["/checked/orders"]["get"]["security"] == [{"tokensmith-checked": ["orders:read"]}]
    assert "security" not in paths["/healthz"]["get"]
    assert "/.well-known/oauth-protected-resource" not in paths


def test_the_core_package_imports_no_framework():
    code = (
        "import sys, tokensmith.verify, tokensmith.verify.integrations, tokensmith.cli.main; "
        "print(sorted(m for m in ('fastapi', 'flask', 'django') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()

    assert loaded == "[]"
