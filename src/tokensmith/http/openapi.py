"""`GET /openapi.json`: the OpenAPI 3.1 document of tokensmith's HTTP API.

It is built once, when the app is made, from the routes the app really mounts: a
route that has no description here stops the app from starting (and fails
tests/security/test_openapi.py), so the document cannot fall behind app.py.

Nothing in it is typed twice. Error responses come from the catalogue
(domain/errors.py): each operation names the problems it can raise, and statuses,
codes, titles, messages and headers are derived from them, in the format the path
speaks (http/errors.py). Limits (scope lengths, the body size, the error `source`)
come from the settings, so the document describes this deployment.

The document keeps to what OpenAPI 3.0 can also say (no type arrays, no `const`),
so the bundled Swagger UI 4, which renders 3.0 only, can show it (http/explorer.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from tokensmith.admin import openapi as admin_openapi
from tokensmith.config import Settings
from tokensmith.domain.assertions import JWT_BEARER_ASSERTION, JWT_BEARER_GRANT, MAX_ASSERTION_LENGTH
from tokensmith.domain.clients import MAX_CLIENT_ID_LENGTH
from tokensmith.domain.errors import Problem
from tokensmith.domain.scopes import _SCOPE_TOKEN as SCOPE_TOKEN
from tokensmith.domain.secrets import MAX_SECRET_LENGTH
from tokensmith.http import (
    discovery,
    explorer,
    introspection,
    oauth_token,
    revocation,
    seed_token,
)
from tokensmith.http.openapi_errors import (
    COMPONENT_HEADERS,
    JSON,
    NO_STORE,
    Schema,
    enum,
    error_responses,
    header,
    oauth_error_schema,
    ref,
    response_headers,
    seed_errors_schema,
)

PATH = "/openapi.json"
# The OpenAPI Initiative's registered media type (IANA), with the version it holds.
MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.1"
OPENAPI_VERSION = "3.1.0"

# RFC 9110 §9.3.2: HEAD is answered wherever GET is, with GET's headers; OpenAPI
# operations list GET only, as is usual.
IMPLIED_METHODS = frozenset({"HEAD"})

# The server's own patterns (their \xNN escapes read the same in ECMA-262 regular
# expressions). RFC 6749 §3.3: scope-token *( SP scope-token ).
SCOPE_PATTERN = f"^{SCOPE_TOKEN.pattern}( {SCOPE_TOKEN.pattern})*$"
# The longest audience a client can be registered with (domain/registration.py): an
# audience outside this shape is never one of a client's, so it is always refused.
AUDIENCE_MAX_LENGTH = 512
AUDIENCE_PATTERN = r"^\S+$"
JWT_PATTERN = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"
SEED_EXAMPLE_SCOPE = "edit"  # the seed's (seed/get-access-token.md)
EXAMPLE_TOKEN = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImV4YW1wbGUiLCJ0eXAiOiJhdCtqd3QifQ"
    ".eyJzY29wZSI6ImVkaXQiLCJjbGllbnRfaWQiOiJleGFtcGxlIn0.c2lnbmF0dXJl"
)

FORM = "application/x-www-form-urlencoded"
PUBLIC_CACHE = discovery.PUBLIC_CACHE["cache-control"]

# Reading a form body (http/parsing.py): duplicated or non-UTF-8 parameters, size,
# media type, a body that does not arrive in time.
FORM_BODY = (Problem.MALFORMED_REQUEST, Problem.BODY_TOO_LARGE, Problem.UNSUPPORTED_MEDIA_TYPE, Problem.BODY_TIMEOUT)
# Client authentication (http/authentication.py): a malformed Basic header, wrong
# credentials, the brute-force block, a store that does not answer.
CLIENT_AUTHENTICATION = (Problem.MALFORMED_REQUEST, Problem.INVALID_CLIENT, Problem.RATE_LIMITED, Problem.UNAVAILABLE)
# Issuing (http/issuing.py): audience, issuance limit, signing key.
ISSUING = (*CLIENT_AUTHENTICATION, Problem.INVALID_TARGET, Problem.UNSUPPORTED_GRANT_TYPE)
SCOPE_SYNTAX = (Problem.SCOPE_MISSING, Problem.SCOPE_TOO_LONG, Problem.SCOPE_MALFORMED)
# A DPoP proof (exchange/dpop.py, RFC 9449 §5, §8).
DPOP = (Problem.INVALID_DPOP_PROOF, Problem.USE_DPOP_NONCE)
DPOP_PARAMETER: Schema = {
    "name": "DPoP",
    "in": "header",
    "required": False,
    "description": (
        "A DPoP proof (RFC 9449 §4): a JWT of `typ` dpop+jwt signed by the key in its `jwk` header (RS256, PS256, "
        "ES256 or EdDSA), with `htm` POST, `htu` this endpoint's URL, a fresh `iat` and a single-use `jti` (and the "
        "server's `nonce` when nonces are on). The token is then bound to that key (`cnf.jkt`, `token_type` DPoP). "
        "Required for a client registered with `--token-binding dpop`."
    ),
    "schema": {"type": "string", "pattern": JWT_PATTERN},
}
SUCCESS_NONCE: Schema = {
    "DPoP-Nonce": header(
        "With DPoP nonces on, to a request with a DPoP proof: the nonce the next proof must carry (RFC 9449 §8.2).",
        {"type": "string"},
        required=False,
    )
}


# --- Request parts --------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """What the document says about sizes: this deployment's settings."""

    seed_max_scope_length: int
    max_scope_length: int
    max_body_bytes: int
    source: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(settings.seed_max_scope_length, settings.max_scope_length, settings.max_body_bytes, settings.error_source)


def _scope(max_length: int) -> Schema:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": max_length,
        "pattern": SCOPE_PATTERN,
        "description": "Scope tokens separated by single spaces (RFC 6749 §3.3); each must be allowed for the client.",
        "example": SEED_EXAMPLE_SCOPE,
    }


def _target(name: str) -> Schema:
    rfc = "RFC 8707 §2" if name == "resource" else "the widely used `audience` parameter"
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": AUDIENCE_MAX_LENGTH,
        "pattern": AUDIENCE_PATTERN,
        "description": (
            f"The audience the token is for ({rfc}); one of the client's registered audiences, else 400 "
            "`invalid_target`. `resource` and `audience` may both be given only with the same value."
        ),
    }


# The operations declare client_secret_basic as their security requirement, and with
# Basic credentials the form may carry no secret (RFC 6749 §2.3: one method per request)
# and no other client id: 400. OpenAPI cannot tie a body field to a header, so the form
# schemas leave `client_id` and `client_secret` out and the prose says when they apply
# (client_secret_post: the same two fields instead of Basic).
CLIENT_SECRET_POST = (
    "Instead of Basic credentials, a client may send `client_id` (at most "
    f"{MAX_CLIENT_ID_LENGTH} characters) and `client_secret` (at most {MAX_SECRET_LENGTH}) as form fields "
    "(`client_secret_post`, RFC 6749 §2.3.1); never both methods (RFC 6749 §2.3: 400 `invalid_request`). "
    "With Basic credentials, a form `client_id` must repeat their client id (else 400). "
    f"Without a secret: `client_assertion_type` = `{JWT_BEARER_ASSERTION}` and `client_assertion` (at most "
    f"{MAX_ASSERTION_LENGTH} characters), a JWT signed by one of the client's registered keys (private_key_jwt, RFC 7523 §2.2: "
    "iss = sub = the client id, aud = the issuer identifier, exp at most TOKENSMITH_ASSERTION_MAX_LIFETIME_SECONDS after iat, "
    "a single-use jti), or a federated client's platform token with `client_id`; again never beside another method. "
    "A refused assertion is the same 401 as a wrong secret."
)
GRANT_TYPE_FIELD: Schema = {"type": "string", **enum("client_credentials"), "description": "RFC 6749 §4.4.2."}
BASIC_SECURITY: list[dict[str, list[str]]] = [{"clientSecretBasic": []}]
SCALAR_TYPES = ("string", "number", "boolean", "null")


def _form_body(description: str, properties: Schema, required: list[str], example: Schema, *, body_required: bool) -> Schema:
    # RFC 6749 §3.2: unknown parameters are ignored, whatever one value they hold: on the
    # wire any scalar is a string (`{"x": true}` arrives as `x=true`), while a list is a
    # repeated name (RFC 6749 §3.1: 400). The list of types is OpenAPI 3.1 only; the
    # explorer drops it for Swagger UI's 3.0 (http/explorer.py).
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": {"type": list(SCALAR_TYPES)}}
    if required:
        schema["required"] = required
    return {
        "required": body_required,
        "description": f"{description} {CLIENT_SECRET_POST}",
        "content": {FORM: {"schema": schema, "example": example}},
    }


def _body_limit(limits: Limits) -> str:
    return (
        f"At most {limits.max_body_bytes} bytes (else 413). Each parameter at most once (RFC 6749 §3.1), "
        "UTF-8 only; unknown parameters are ignored (RFC 6749 §3.2). Any other media type: 415."
    )


# --- Operations -----------------------------------------------------------------------


def _json_response(description: str, schema: Schema, headers: Schema, example: object | None = None) -> Schema:
    media: Schema = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"description": description, "headers": headers, "content": {JSON: media}}


def seed_token_operation(limits: Limits) -> Schema:
    path = seed_token.PATH
    problems = (*FORM_BODY, *SCOPE_SYNTAX, *ISSUING, *DPOP)
    return {
        "tags": ["tokens"],
        "operationId": "getAccessToken",
        "summary": "Get an access token (the seed's endpoint)",
        "description": (
            "The client authenticates with HTTP Basic (`client_secret_basic`), with `client_id` and "
            "`client_secret` in a form body (`client_secret_post`), or with a `client_assertion` (private_key_jwt, "
            "or a federated client's platform token), never two of them. The body should be empty "
            "(of any media type); a standard client's form is tolerated. `scope` comes in the query; a form "
            "`scope` is used when the query has none and must equal it when both are given. Unknown client, "
            "wrong secret, disabled client, expired secret and a scope the client may not have all give the "
            "same 401 (`240101`). `expires_in` is the expiry instant in epoch seconds, equal to the token's `exp`."
        ),
        "security": BASIC_SECURITY,
        "parameters": [
            {"name": "scope", "in": "query", "required": True, "schema": _scope(limits.seed_max_scope_length), "example": SEED_EXAMPLE_SCOPE},
            {"name": "audience", "in": "query", "required": False, "schema": _target("audience")},
            {"name": "resource", "in": "query", "required": False, "schema": _target("resource")},
            DPOP_PARAMETER,
        ],
        "requestBody": _form_body(
            "Empty, or a standard client's form. " + _body_limit(limits),
            {
                "grant_type": GRANT_TYPE_FIELD,
                # No example here: the query carries the scope (the seed's contract).
                "scope": {
                    **{key: value for key, value in _scope(limits.seed_max_scope_length).items() if key != "example"},
                    "description": "A standard client's scope: used when the query has none, else must equal it.",
                },
                "audience": {**_target("audience"), "description": "Must equal the query's audience, when both are given."},
                "resource": {**_target("resource"), "description": "Must equal the query's resource, when both are given."},
            },
            [],
            {"grant_type": "client_credentials"},
            body_required=False,
        ),
        "responses": {
            "200": _json_response(
                "A signed JWT access token (RFC 9068).",
                ref("schemas", "SeedToken"),
                response_headers(NO_STORE, pragma=True, extra=SUCCESS_NONCE),
                {"access_token": EXAMPLE_TOKEN, "expires_in": 1750392000, "token_type": "Bearer"},
            ),
            **error_responses(path, problems, ["POST"], limits.source),
        },
    }


def oauth_token_operation(limits: Limits) -> Schema:
    path = oauth_token.PATH
    problems = (*FORM_BODY, *SCOPE_SYNTAX, *ISSUING, Problem.INVALID_SCOPE, *DPOP)
    return {
        "tags": ["standard"],
        "operationId": "oauthToken",
        "summary": "Token endpoint: client_credentials grant (RFC 6749 §4.4)",
        "description": (
            "Client authentication by HTTP Basic, `client_secret_post` or `client_assertion` (private_key_jwt, "
            "RFC 7523 §2.2; a federated client's platform token), never two of them; or the JWT-bearer grant "
            f"(RFC 7523 §2.1: `grant_type` = `{JWT_BEARER_GRANT}`, a federated client's platform token as `assertion`, and its "
            "`client_id`; no other credential). A refused assertion is the "
            "same 401 invalid_client as a wrong secret. Without `scope`, the "
            "client's default scopes are granted. `expires_in` is the lifetime in seconds (RFC 6749 §5.1)."
        ),
        "security": BASIC_SECURITY,
        "parameters": [DPOP_PARAMETER],
        "requestBody": _form_body(
            "The token request (RFC 6749 §4.4.2). " + _body_limit(limits),
            {
                "grant_type": GRANT_TYPE_FIELD,
                "scope": _scope(limits.max_scope_length),
                "resource": _target("resource"),
                "audience": _target("audience"),
            },
            ["grant_type"],
            {"grant_type": "client_credentials", "scope": SEED_EXAMPLE_SCOPE},
            body_required=True,
        ),
        "responses": {
            "200": _json_response(
                "An access token response (RFC 6749 §5.1).",
                ref("schemas", "OAuthToken"),
                response_headers(NO_STORE, pragma=True, extra=SUCCESS_NONCE),
                {"access_token": EXAMPLE_TOKEN, "token_type": "Bearer", "expires_in": 3600, "scope": SEED_EXAMPLE_SCOPE},
            ),
            **error_responses(path, problems, ["POST"], limits.source),
        },
    }


def _token_form(limits: Limits, purpose: str) -> Schema:
    return _form_body(
        f"The token to {purpose}. " + _body_limit(limits),
        {
            "token": {"type": "string", "description": "The access token. Anything that is not a live token of this server is answered as such, never refused."},
            "token_type_hint": {"type": "string", "description": "Accepted and not needed: tokensmith issues access tokens only."},
        },
        ["token"],
        {"token": EXAMPLE_TOKEN},
        body_required=True,
    )


def introspection_operation(limits: Limits) -> Schema:
    path = introspection.PATH
    return {
        "tags": ["standard"],
        "operationId": "introspect",
        "summary": "Token introspection (RFC 7662)",
        "description": (
            "Any authenticated client may ask. A token that is expired, revoked, forged, from another issuer or "
            "not a token at all gets `{\"active\": false}` and nothing more (RFC 7662 §2.2)."
        ),
        "security": BASIC_SECURITY,
        "requestBody": _token_form(limits, "introspect"),
        "responses": {
            "200": _json_response(
                "The token's state (RFC 7662 §2.2).",
                ref("schemas", "Introspection"),
                response_headers(NO_STORE, pragma=True),
                {"active": False},
            ),
            **error_responses(path, (*FORM_BODY, *CLIENT_AUTHENTICATION), ["POST"], limits.source),
        },
    }


def revocation_operation(limits: Limits) -> Schema:
    path = revocation.PATH
    return {
        "tags": ["standard"],
        "operationId": "revoke",
        "summary": "Token revocation (RFC 7009)",
        "description": (
            "A client revokes one of its own tokens (another client's: 400 `unauthorized_client`). A token that is "
            "invalid, expired or unknown is answered 200 too (RFC 7009 §2.2)."
        ),
        "security": BASIC_SECURITY,
        "requestBody": _token_form(limits, "revoke"),
        "responses": {
            "200": {"description": "Revoked, or nothing to revoke. No body.", "headers": response_headers(NO_STORE, pragma=True)},
            **error_responses(path, (*FORM_BODY, *CLIENT_AUTHENTICATION, Problem.TOKEN_NOT_OWNED), ["POST"], limits.source),
        },
    }


def _get(
    path: str,
    limits: Limits,
    *,
    tag: str,
    operation_id: str,
    summary: str,
    ok: Schema,
    problems: Iterable[Problem] = (),
    description: str | None = None,
    instance: Schema | None = None,
) -> Schema:
    operation: Schema = {
        "tags": [tag],
        "operationId": operation_id,
        "summary": summary,
        "security": [],
        "responses": {"200": ok, **error_responses(path, problems, ["GET", "HEAD"], limits.source, instance)},
    }
    if description:
        operation["description"] = description
    return operation


def metadata_operation(limits: Limits) -> Schema:
    path = "/.well-known/oauth-authorization-server"
    ok = _json_response("RFC 8414 §3.2.", ref("schemas", "AuthorizationServerMetadata"), response_headers(PUBLIC_CACHE))
    return _get(path, limits, tag="discovery", operation_id="authorizationServerMetadata", summary="Authorization server metadata (RFC 8414)", ok=ok)


def jwks_operation(limits: Limits) -> Schema:
    path = "/.well-known/jwks.json"
    ok = {
        "description": "The next, active and retired public keys (RFC 7517 §5).",
        "headers": response_headers(PUBLIC_CACHE),
        "content": {"application/jwk-set+json": {"schema": ref("schemas", "JWKSet")}},
    }
    return _get(
        path, limits, tag="discovery", operation_id="jwks", summary="The keys tokens are signed with", ok=ok,
        problems=(Problem.UNAVAILABLE,),
    )


def healthz_operation(limits: Limits) -> Schema:
    ok = _json_response(
        "The process answers.",
        {"type": "object", "required": ["status"], "additionalProperties": False, "properties": {"status": {"type": "string", **enum("ok")}}},
        response_headers(NO_STORE),
    )
    return _get("/healthz", limits, tag="operations", operation_id="healthz", summary="Liveness", ok=ok)


def readyz_operation(limits: Limits) -> Schema:
    path = "/readyz"
    operation = _get(
        path, limits, tag="operations", operation_id="readyz", summary="Readiness",
        ok=_json_response("The store answers and a signing key is active.", ref("schemas", "Readiness"), response_headers(NO_STORE)),
        description="Redis and the fan-out subscription are reported but not required: without Redis a node still issues tokens.",
    )
    # Not ready is a readiness report, not a catalogue error.
    operation["responses"]["503"] = _json_response(
        "Not ready: the store does not answer, or no signing key is active.", ref("schemas", "Readiness"), response_headers(NO_STORE)
    )
    return operation


def metrics_operation(limits: Limits) -> Schema:
    ok = {
        "description": "Prometheus text exposition format.",
        "headers": response_headers(NO_STORE),
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
    return _get("/metrics", limits, tag="operations", operation_id="metrics", summary="Prometheus metrics", ok=ok)


def openapi_operation(limits: Limits) -> Schema:
    ok = {
        "description": "This document.",
        "headers": response_headers(NO_STORE),
        "content": {MEDIA_TYPE.split(";")[0]: {"schema": {"type": "object", "required": ["openapi", "info", "paths"]}}},
    }
    return _get(PATH, limits, tag="documentation", operation_id="openapi", summary="This OpenAPI document", ok=ok)


def explorer_page_operation(limits: Limits) -> Schema:
    headers = response_headers(
        explorer.PAGE_CACHE,
        extra={
            "Content-Security-Policy": header("Nothing is loaded from another origin.", {"type": "string"}),
            "X-Content-Type-Options": header("`nosniff`.", {"type": "string", **enum("nosniff")}),
        },
    )
    ok = {"description": "The API explorer (Swagger UI), served entirely by this server.", "headers": headers, "content": {"text/html": {"schema": {"type": "string"}}}}
    return _get(explorer.PATH, limits, tag="documentation", operation_id="explorer", summary="API explorer", ok=ok)


def explorer_asset_operation(limits: Limits) -> Schema:
    path = explorer.ASSETS_PATH
    media_types = sorted({asset_type.split(";")[0] for asset_type in explorer.BUNDLED_FILES.values()} | {"text/javascript"})
    headers = response_headers(explorer.ASSET_CACHE, extra={"X-Content-Type-Options": header("`nosniff`.", {"type": "string", **enum("nosniff")})})
    ok = {"description": "A file of the explorer page.", "headers": headers, "content": {media: {} for media in media_types}}
    operation = _get(
        path, limits, tag="documentation", operation_id="explorerAsset", summary="A file the explorer page loads", ok=ok,
        problems=(Problem.NOT_FOUND,),
        # `instance` is the path as requested, with the name in it.
        instance={"type": "string", "pattern": "^/docs/assets/[^/]+$"},
    )
    operation["parameters"] = [
        {"name": "name", "in": "path", "required": True, "schema": {"type": "string", **enum(*explorer.ASSET_NAMES)}}
    ]
    return operation


# --- The document -----------------------------------------------------------------------

Describe = Callable[[Limits], Schema]
OPERATIONS: dict[tuple[str, str], Describe] = {
    (seed_token.PATH, "POST"): seed_token_operation,
    (oauth_token.PATH, "POST"): oauth_token_operation,
    (introspection.PATH, "POST"): introspection_operation,
    (revocation.PATH, "POST"): revocation_operation,
    ("/.well-known/oauth-authorization-server", "GET"): metadata_operation,
    ("/.well-known/jwks.json", "GET"): jwks_operation,
    ("/healthz", "GET"): healthz_operation,
    ("/readyz", "GET"): readyz_operation,
    ("/metrics", "GET"): metrics_operation,
    (PATH, "GET"): openapi_operation,
    (explorer.PATH, "GET"): explorer_page_operation,
    (explorer.ASSETS_PATH, "GET"): explorer_asset_operation,
    **admin_openapi.OPERATIONS,
}


class UndescribedRoute(LookupError):
    pass


def build_document(settings: Settings, routes: Iterable[tuple[str, Iterable[str]]]) -> dict[str, Any]:
    """The document for the `(path, methods)` the app mounts; UndescribedRoute for
    a route this module has no description of."""
    limits = Limits.from_settings(settings)
    paths: dict[str, Schema] = {}
    for path, methods in routes:
        for method in sorted(set(methods) - IMPLIED_METHODS):
            describe = OPERATIONS.get((path, method))
            if describe is None:
                raise UndescribedRoute(f"{method} {path} has no OpenAPI description (http/openapi.py)")
            paths.setdefault(path, {})[method.lower()] = describe(limits)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "tokensmith",
            "version": _version(),
            "description": (
                "OAuth 2.0 client-credentials token service. Errors on `/oauth2/` paths use the RFC 6749 §5.2 "
                "object; every other path (including unknown paths, which get 404 `240109`) uses the seed's list "
                "of problem objects. docs/errors.md lists every error code. A request the HTTP server refuses "
                "before tokensmith sees it is answered in plain text, without X-Request-Id: 400 for a request "
                "that is not valid HTTP/1.1, 431 for a request head over its limits, 408 for a head that does "
                "not arrive in time."
            ),
        },
        "tags": [
            {"name": "tokens", "description": "The seed's token endpoint."},
            {"name": "standard", "description": "The standard OAuth 2.0 endpoints."},
            {"name": "discovery", "description": "What verifiers and clients read."},
            {"name": "operations", "description": "Health and metrics."},
            {"name": "documentation", "description": "This document and its explorer."},
            {"name": admin_openapi.CONSOLE_TAG, "description": "The web console's pages and session (docs/admin.md)."},
            {"name": admin_openapi.TAG, "description": "The operators' admin API (docs/admin.md); errors are RFC 9457 problem details."},
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                admin_openapi.SCHEME: admin_openapi.security_scheme(),
                "clientSecretBasic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": (
                        "client_secret_basic (RFC 6749 §2.3.1): `client_id:client_secret`, each part "
                        "form-urlencoded, then base64. `client_secret_post` (`client_id` and `client_secret` "
                        "form fields instead of this header) is the alternative; never both (400)."
                    ),
                },
                # The two token endpoints, as the client_credentials flow's token URL: a
                # request well formed by this document may still be refused there for what
                # the store holds (RFC 6749 §5.2 invalid_scope, RFC 8707 invalid_target: 400).
                **{
                    name: {
                        "type": "oauth2",
                        "description": description,
                        "flows": {"clientCredentials": {"tokenUrl": path, "scopes": {}}},
                    }
                    for name, path, description in (
                        ("clientCredentials", oauth_token.PATH, "The client_credentials grant (RFC 6749 §4.4) at the standard token endpoint."),
                        ("seedClientCredentials", seed_token.PATH, "The client_credentials grant at the seed's token endpoint (scope in the query)."),
                    )
                },
            },
            "headers": COMPONENT_HEADERS,
            "schemas": {**_component_schemas(limits), **admin_openapi.schemas()},
        },
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tokensmith")
    except PackageNotFoundError:
        return "0"


def _component_schemas(limits: Limits) -> Schema:
    every = list(Problem)
    any_path = {"type": "string", "description": "The request's path, without the query string."}
    return {
        # The two error formats, with every row of the catalogue.
        "SeedErrors": {
            **seed_errors_schema(every, limits.source, any_path),
            "description": "The seed's error format: a list holding one problem object.",
        },
        "OAuthError": {**oauth_error_schema(every), "description": "RFC 6749 §5.2 error response."},
        "SeedToken": {
            "type": "object",
            "required": ["access_token", "expires_in", "token_type"],
            "additionalProperties": False,
            "properties": {
                "access_token": {"type": "string", "pattern": JWT_PATTERN},
                "expires_in": {"type": "integer", "minimum": 1, "description": "The expiry instant, epoch seconds (the token's `exp`)."},
                "token_type": {"type": "string", **enum("Bearer", "DPoP")},
            },
        },
        "OAuthToken": {
            "type": "object",
            "required": ["access_token", "token_type", "expires_in", "scope"],
            "additionalProperties": False,
            "properties": {
                "access_token": {"type": "string", "pattern": JWT_PATTERN},
                "token_type": {"type": "string", **enum("Bearer", "DPoP")},
                "expires_in": {"type": "integer", "minimum": 1, "description": "Seconds until the token expires."},
                "scope": {"type": "string", "pattern": SCOPE_PATTERN},
            },
        },
        "Introspection": {
            "oneOf": [
                {
                    "type": "object",
                    "required": ["active"],
                    "additionalProperties": False,
                    "properties": {"active": {"type": "boolean", **enum(False)}},
                },
                {
                    "type": "object",
                    "required": ["active", "client_id", "sub", "aud", "iss", "exp", "iat", "jti", "token_type"],
                    "additionalProperties": False,
                    "properties": {
                        "active": {"type": "boolean", **enum(True)},
                        "scope": {"type": "string"},
                        "client_id": {"type": "string"},
                        "sub": {"type": "string"},
                        "aud": {"type": "string"},
                        "iss": {"type": "string"},
                        "exp": {"type": "integer"},
                        "iat": {"type": "integer"},
                        "jti": {"type": "string"},
                        "cnf": {"type": "object", "description": "A bound token's confirmation: `jkt` (DPoP) or `x5t#S256` (mTLS)."},
                        "token_type": {"type": "string", **enum("Bearer", "DPoP")},
                    },
                },
            ]
        },
        "AuthorizationServerMetadata": {
            "type": "object",
            "required": ["issuer", "token_endpoint", "jwks_uri", "grant_types_supported", "response_types_supported"],
            "properties": {
                name: {"type": "string"} for name in ("issuer", "token_endpoint", "jwks_uri", "introspection_endpoint", "revocation_endpoint")
            }
            | {
                name: {"type": "array", "items": {"type": "string"}}
                for name in (
                    "grant_types_supported",
                    "response_types_supported",
                    "scopes_supported",
                    "token_endpoint_auth_methods_supported",
                    "introspection_endpoint_auth_methods_supported",
                    "revocation_endpoint_auth_methods_supported",
                    "dpop_signing_alg_values_supported",
                )
            },
        },
        "JWKSet": {
            "type": "object",
            "required": ["keys"],
            "properties": {"keys": {"type": "array", "items": ref("schemas", "JWK")}},
        },
        "JWK": {
            "type": "object",
            "required": ["kty", "kid", "alg", "use"],
            "properties": {
                "kty": {"type": "string", **enum("RSA", "EC", "OKP")},
                "kid": {"type": "string"},
                "alg": {"type": "string", **enum("RS256", "PS256", "ES256", "EdDSA")},
                "use": {"type": "string", **enum("sig")},
                "n": {"type": "string"},
                "e": {"type": "string"},
                "crv": {"type": "string"},
                "x": {"type": "string"},
                "y": {"type": "string"},
            },
        },
        "Readiness": {
            "type": "object",
            "required": ["status", "store", "signing_key", "redis", "fanout"],
            "properties": {
                "status": {"type": "string", **enum("ready", "unavailable")},
                "store": {"type": "string", **enum("ok", "unreachable")},
                "signing_key": {"type": "string", **enum("ok", "missing")},
                "redis": {"type": "string", **enum("disabled", "ok", "unreachable")},
                "fanout": {"type": "string", **enum("disabled", "subscribed", "disconnected")},
            },
        },
    }


def document_response(body: bytes) -> Response:
    return Response(body, 200, {"cache-control": NO_STORE}, media_type=MEDIA_TYPE)


async def openapi_document(request: Request) -> Response:
    body: bytes = request.app.state.openapi
    return document_response(body)


def render(settings: Settings, routes: Iterable[tuple[str, Iterable[str]]]) -> bytes:
    return orjson.dumps(build_document(settings, routes))


def mounted(routes: Iterable[Any]) -> list[tuple[str, set[str]]]:
    """`(path, methods)` of the app's Starlette routes."""
    return [(route.path, set(route.methods or ())) for route in routes]
