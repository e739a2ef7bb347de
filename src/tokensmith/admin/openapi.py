"""The admin API in /openapi.json (http/openapi.py merges these operations, schemas
and the security scheme). Errors are RFC 9457 problem objects (`Problem`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tokensmith.admin import audit, clients, federations, keys, revocations, stats, trusts
from tokensmith.admin.authorisation import (
    ADMIN_SCOPE,
    AUDIT_READ,
    CLIENTS_READ,
    CLIENTS_WRITE,
    KEYS_READ,
    KEYS_WRITE,
    SCOPES,
    STATS_READ,
    TRUSTS_READ,
    TRUSTS_WRITE,
)  # fmt: skip
from tokensmith.admin.bodies import MAX_ADMIN_BODY_BYTES
from tokensmith.admin.problems import AdminProblem
from tokensmith.console import routes as console
from tokensmith.domain.audit import AuditAction
from tokensmith.domain.client_keys import MAX_URI_LENGTH, AuthMethod
from tokensmith.domain.clients import MAX_CLIENT_ID_LENGTH
from tokensmith.domain.registration import MAX_SECRET_EXPIRY_SECONDS
from tokensmith.domain.scopes import _SCOPE_TOKEN as SCOPE_TOKEN
from tokensmith.domain.sender_constraints import TokenBinding
from tokensmith.domain.trusts import _TRUST_NAME as TRUST_NAME
from tokensmith.domain.trusts import MAX_CONDITIONS, MAX_SUBJECT_LENGTH, MAX_TOKEN_AGE, ReplayRule
from tokensmith.http.errors import PROBLEM_JSON, allow_value

Schema = dict[str, Any]
SCHEME = "adminBearer"
TAG = "admin"
CONSOLE_TAG = "console"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


_NULLABLE_INT = {"oneOf": [{"type": "integer"}, {"enum": [None]}]}
# A filter holds no control character (admin/bodies.py query_text).
_FILTER = {"type": "string", "minLength": 1, "pattern": "^[^\\x00-\\x1f\\x7f]+$"}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_SCOPES = {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": f"^{SCOPE_TOKEN.pattern}$"}}
_CLIENT_ID = {"type": "string", "minLength": 1, "maxLength": MAX_CLIENT_ID_LENGTH, "pattern": "^[!-~]+$"}
_NULLABLE_TEXT = {"oneOf": [{"type": "string"}, {"enum": [None]}]}
_NULLABLE_STRINGS = {"oneOf": [_STRINGS, {"enum": [None]}]}
_TRUST_NAME = {"type": "string", "pattern": f"^{TRUST_NAME.pattern}$"}
_URI = {"type": "string", "minLength": 1, "maxLength": MAX_URI_LENGTH}
_JWKS = {"type": "object", "description": "A JWKS document (RFC 7517 §5): public keys only."}
_LIFETIME = {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string"}], "description": "Seconds, or 'HH:MM Area/City'."}


def schemas() -> Schema:
    secret = {
        "type": "object",
        "required": ["secret_id", "kind", "created_at", "expires_at", "live"],
        "properties": {
            "secret_id": {"type": "string"},
            "kind": {"type": "string", "description": "How the secret is kept (hmac-sha256 for generated, argon2id for imported)."},
            "created_at": {"type": "integer"},
            "expires_at": _NULLABLE_INT,
            "live": {"type": "boolean"},
        },
    }
    client = {
        "type": "object",
        "required": ["client_id", "name", "enabled", "scopes", "default_scopes", "audiences", "claims", "lifetime", "secrets"],
        "properties": {
            "client_id": {"type": "string"},
            "name": {"type": "string"},
            "enabled": {"type": "boolean"},
            "scopes": _STRINGS,
            "default_scopes": _STRINGS,
            "audiences": _STRINGS,
            "claims": {"type": "object"},
            "lifetime": {"type": "string"},
            "rate_limit": _NULLABLE_INT,
            "reuse_tokens": {"type": "boolean"},
            "tokens_not_before": _NULLABLE_INT,
            "auth_method": {"type": "string", "enum": [method.value for method in AuthMethod]},
            "jwks_uri": _NULLABLE_TEXT,
            "token_binding": {"type": "string", "enum": [binding.value for binding in TokenBinding], "description": "What its tokens must be bound to."},
            "keys": {"type": "array", "items": _ref("AdminClientKey")},
            "federations": {"type": "array", "items": _ref("AdminFederation")},
            "secrets": {"type": "array", "items": _ref("AdminSecret")},
            "created_at": {"type": "integer"},
            "updated_at": {"type": "integer"},
        },
    }
    client_key = {
        "type": "object",
        "required": ["kid", "algorithms"],
        "properties": {
            "kid": {"type": "string"},
            "algorithms": {**_NULLABLE_STRINGS, "description": "null for a key seen at its jwks_uri."},
            "last_used_at": _NULLABLE_INT,
        },
    }
    federation = {
        "type": "object",
        "required": ["federation_id", "trust", "subject", "conditions", "created_at"],
        "properties": {
            "federation_id": {"type": "string"},
            "trust": {"type": "string"},
            "subject": {"type": "string"},
            "conditions": _STRINGS,
            "created_at": {"type": "integer"},
            "last_used_at": _NULLABLE_INT,
            "client_id": {"type": "string"},
        },
    }
    trust = {
        "type": "object",
        "required": ["name", "issuer", "keys_from", "jwks_uri", "jwks_kids", "audience", "replay", "max_token_age", "federated_credentials"],
        "properties": {
            "name": {"type": "string"},
            "issuer": {"type": "string"},
            "keys_from": {"type": "string", "enum": ["jwks", "jwks_uri", "discovery"]},
            "jwks_uri": _NULLABLE_TEXT,
            "jwks_kids": _NULLABLE_STRINGS,
            "audience": {**_NULLABLE_TEXT, "description": "null: this server's issuer identifier."},
            "replay": {"type": "string", "enum": [rule.value for rule in ReplayRule]},
            "max_token_age": {"type": "integer"},
            "federated_credentials": {"type": "integer", "description": "How many federated credentials use it."},
            "created_at": {"type": "integer"},
            "updated_at": {"type": "integer"},
        },
    }
    trust_fields: Schema = {
        "issuer": {"type": "string", "minLength": 1},
        "jwks_uri": _URI,
        "jwks": _JWKS,
        "audience": {"type": "string", "minLength": 1},
        "replay": {"type": "string", "enum": [rule.value for rule in ReplayRule]},
        "max_token_age": {"type": "integer", "minimum": 1, "maximum": MAX_TOKEN_AGE},
    }
    fields: Schema = {
        "name": {"type": "string", "maxLength": 200},
        "scopes": _SCOPES,
        "default_scopes": _STRINGS,
        "audiences": _STRINGS,
        "claims": {"type": "object", "description": "Custom claims (the whole set; docs/clients.md)."},
        "lifetime": _LIFETIME,
        "rate_limit": {**_NULLABLE_INT, "description": "Tokens per minute; null: no limit."},
        "reuse_tokens": {"type": "boolean"},
        "auth_method": {"type": "string", "enum": [method.value for method in AuthMethod]},
        "jwks": _JWKS,
        "jwks_uri": _URI,
        "token_binding": {"type": "string", "enum": [binding.value for binding in TokenBinding], "description": "dpop: every token bound to a DPoP key (RFC 9449); mtls: to the client certificate (RFC 8705)."},
    }
    return {
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details; `type` is urn:tokensmith:problem:NAME (docs/admin.md).",
            "required": ["type", "title", "status", "detail", "instance"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "code": {"type": "string", "description": "The catalogue's error code (docs/errors.md), where it is one of its rows."},
            },
        },
        "AdminSecret": secret,
        "AdminClient": client,
        "AdminClientCreated": {
            "allOf": [
                _ref("AdminClient"),
                {
                    "type": "object",
                    "description": "A client that authenticates with secrets gets its first one here; a private_key_jwt or federated client none.",
                    "properties": {"client_secret": {"type": "string", "description": "Shown in this answer only."}, "secret_id": {"type": "string"}},
                },
            ]
        },
        "AdminClientPage": {
            "type": "object",
            "required": ["items", "next_cursor"],
            "properties": {"items": {"type": "array", "items": _ref("AdminClient")}, "next_cursor": {"oneOf": [{"type": "string"}, {"enum": [None]}]}},
        },
        "AdminNewClient": {
            "type": "object",
            "required": ["scopes"],
            "additionalProperties": False,
            "properties": {
                "client_id": _CLIENT_ID,
                **fields,
                "secret_expires_in": {"type": "integer", "minimum": 1, "maximum": MAX_SECRET_EXPIRY_SECONDS},
            },
        },
        "AdminClientChanges": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                **fields,
                "enabled": {"type": "boolean"},
                "remove_secrets": {"type": "boolean", "description": "Switching to a method without secrets removes live ones only when true."},
            },
        },
        "AdminClientKey": client_key,
        "AdminFederation": federation,
        "AdminNewFederation": {
            "type": "object",
            "required": ["trust", "subject"],
            "additionalProperties": False,
            "properties": {
                "trust": _TRUST_NAME,
                "subject": {"type": "string", "minLength": 1, "maxLength": MAX_SUBJECT_LENGTH},
                "conditions": {"type": "array", "maxItems": MAX_CONDITIONS, "items": {"type": "string", "pattern": "="}, "description": "CLAIM=PATTERN (glob), each met."},
            },
        },
        "AdminTrust": trust,
        "AdminNewTrust": {
            "type": "object",
            "required": ["name", "issuer"],
            "additionalProperties": False,
            "properties": {"name": _TRUST_NAME, **trust_fields},
        },
        "AdminTrustChanges": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                **trust_fields,
                "audience": {"oneOf": [{"type": "string", "minLength": 1}, {"enum": [None]}], "description": "null: this server's issuer identifier again."},
                "discovery": {"type": "boolean", "description": "true: the keys from the issuer's discovery document (drops jwks and jwks_uri)."},
            },
        },
        "AdminNewSecret": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"expires_in": {"type": "integer", "minimum": 1, "maximum": MAX_SECRET_EXPIRY_SECONDS}},
        },
        "AdminSecretCreated": {
            "allOf": [_ref("AdminSecret"), {"type": "object", "required": ["client_id", "client_secret"], "properties": {"client_id": {"type": "string"}, "client_secret": {"type": "string"}}}]
        },
        "AdminKey": {
            "type": "object",
            "required": ["kid", "algorithm", "state", "created_at"],
            "properties": {
                "kid": {"type": "string"},
                "algorithm": {"type": "string"},
                "state": {"type": "string", "enum": ["next", "active", "retired"]},
                "created_at": {"type": "integer"},
                "activated_at": _NULLABLE_INT,
                "retired_at": _NULLABLE_INT,
            },
        },
        "AdminAuditEvent": {
            "type": "object",
            "required": ["id", "occurred_at", "action", "subject", "actor", "host", "details"],
            "properties": {
                "id": {"type": "integer"},
                "occurred_at": {"type": "integer"},
                "action": {"type": "string"},
                "subject": {"type": "string"},
                "actor": {"type": "string"},
                "host": {"type": "string"},
                "details": {"type": "object"},
            },
        },
    }


def security_scheme() -> Schema:
    return {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "An access token issued by this server whose `aud` holds the issuer, with scope "
            f"{ADMIN_SCOPE} (everything) or one of {', '.join(SCOPES[1:])} (`.write` includes `.read`)."
        ),
    }


def _problem(description: str) -> Schema:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _ref("Problem")}}}


def _json(description: str, schema: Schema) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_AUTH_RESPONSES = {
    "401": _problem("No bearer token or session, or one that is not valid here."),
    "403": _problem("The token lacks the route's scope, or a console write lacks its CSRF token."),
}


def _operation(
    operation_id: str, summary: str, scope: str, ok: dict[str, Schema], *, problems: tuple[AdminProblem, ...] = (), body: Schema | None = None,
    parameters: list[Schema] | None = None, description: str | None = None, body_required: bool = False,
) -> Callable[[Any], Schema]:
    def describe(_limits: Any) -> Schema:
        responses: Schema = {**ok, **_AUTH_RESPONSES}
        extra = (AdminProblem.MALFORMED, AdminProblem.UNSUPPORTED_MEDIA_TYPE) if body is not None else ()
        for problem in (AdminProblem.INVALID, *problems, *extra):
            responses.setdefault(str(problem.status), _problem(problem.value[1]))
        if body is not None:
            responses.setdefault("413", _problem(f"The body is over {MAX_ADMIN_BODY_BYTES} bytes."))
            responses.setdefault("408", _problem("The body did not arrive in time."))
        responses["422"] = _problem(
            "`urn:tokensmith:problem:invalid`: a field of the wrong type, unknown or missing; "
            "`urn:tokensmith:problem:refused`: well-formed values a rule for clients refuses (as the command line does)."
        )
        operation: Schema = {
            "tags": [TAG],
            "operationId": operation_id,
            "summary": summary,
            "description": (description + " " if description else "") + f"Scope: `{scope}` or `{ADMIN_SCOPE}`.",
            "security": [{SCHEME: []}],
            "responses": responses,
        }
        if parameters:
            operation["parameters"] = parameters
        if body is not None:
            operation["requestBody"] = {"required": body_required, "content": {"application/json": {"schema": body}}}
        return operation

    return describe


def _path(name: str, schema: Schema | None = None) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string", "minLength": 1}}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


_CLIENT = _path("client_id", _CLIENT_ID)
_TRUST = _path("name", _TRUST_NAME)
_IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"}, "description": "The ETag the change is made from (412 when the client has changed since)."}
_LIMIT = _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "Page size (default 50).")
_ETAG = {"ETag": {"description": "The client's version, for If-Match.", "schema": {"type": "string"}}}
_NO_BODY = {"204": {"description": "Done."}}
_NOT_FOUND = (AdminProblem.NOT_FOUND,)

OPERATIONS: dict[tuple[str, str], Callable[[Any], Schema]] = {
    (clients.COLLECTION, "GET"): _operation(
        "adminListClients", "List clients", CLIENTS_READ, {"200": _json("A page of clients, by client id.", _ref("AdminClientPage"))},
        parameters=[
            _query("q", {**_FILTER, "maxLength": 255}, "Part of the client id or name (any case)."),
            _query("enabled", {"type": "string", "enum": ["true", "false"]}, "Enabled or disabled clients only."),
            _query("scope", {**_FILTER, "maxLength": 255}, "Clients that may ask for this scope."),
            _query("cursor", {**_FILTER, "maxLength": 128}, "`next_cursor` of the previous page."),
            _LIMIT,
        ],
    ),
    (clients.COLLECTION, "POST"): _operation(
        "adminCreateClient", "Create a client", CLIENTS_WRITE,
        {
            "201": {**_json("The client and its generated secret (shown this once).", _ref("AdminClientCreated")), "headers": _ETAG},
            "200": _json("A repeat of a create with the same Idempotency-Key and body: the client, without its secret.", _ref("AdminClient")),
        },
        problems=(AdminProblem.CONFLICT, AdminProblem.MALFORMED, AdminProblem.UNSUPPORTED_MEDIA_TYPE),
        body=_ref("AdminNewClient"), body_required=True,
        parameters=[{"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "minLength": 1, "maxLength": 255}}],
    ),
    (clients.ITEM, "GET"): _operation(
        "adminGetClient", "Read a client", CLIENTS_READ, {"200": {**_json("The client.", _ref("AdminClient")), "headers": _ETAG}},
        problems=_NOT_FOUND, parameters=[_CLIENT],
    ),
    (clients.ITEM, "PATCH"): _operation(
        "adminUpdateClient", "Change a client", CLIENTS_WRITE, {"200": {**_json("The changed client.", _ref("AdminClient")), "headers": _ETAG}},
        problems=(*_NOT_FOUND, AdminProblem.PRECONDITION_FAILED, AdminProblem.CONFLICT),
        body=_ref("AdminClientChanges"), body_required=True, parameters=[_CLIENT, _IF_MATCH],
    ),
    (clients.ITEM, "DELETE"): _operation(
        "adminDeleteClient", "Delete a client and its secrets", CLIENTS_WRITE, _NO_BODY,
        problems=(*_NOT_FOUND, AdminProblem.PRECONDITION_FAILED, AdminProblem.CONFLICT), parameters=[_CLIENT, _IF_MATCH],
    ),
    (clients.SECRETS, "POST"): _operation(
        "adminAddSecret", "Give a client another secret", CLIENTS_WRITE, {"201": _json("The secret (shown this once).", _ref("AdminSecretCreated"))},
        problems=(*_NOT_FOUND, AdminProblem.MALFORMED, AdminProblem.UNSUPPORTED_MEDIA_TYPE), body=_ref("AdminNewSecret"), parameters=[_CLIENT],
        description="A client has at most two live secrets, for rotation.",
    ),
    (clients.SECRET, "DELETE"): _operation(
        "adminRemoveSecret", "Remove one of a client's secrets", CLIENTS_WRITE, _NO_BODY, problems=_NOT_FOUND,
        parameters=[_CLIENT, _path("secret_id")],
    ),
    (clients.REVOKE_TOKENS, "POST"): _operation(
        "adminRevokeClientTokens", "Revoke every token of a client issued up to now", CLIENTS_WRITE,
        {"200": _json("The client's new tokens_not_before.", {"type": "object", "required": ["client_id", "tokens_not_before"], "properties": {"client_id": {"type": "string"}, "tokens_not_before": {"type": "integer"}}})},
        problems=(*_NOT_FOUND, AdminProblem.CONFLICT), parameters=[_CLIENT],
        description="409 for the caller's own client: an admin client does not lock itself out.",
    ),
    (federations.COLLECTION, "GET"): _operation(
        "adminListFederations", "A client's federated credentials", CLIENTS_READ,
        {"200": _json("Its federated credentials, each with when it last authenticated the client.", {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": _ref("AdminFederation")}}})},
        problems=_NOT_FOUND, parameters=[_CLIENT],
    ),
    (federations.COLLECTION, "POST"): _operation(
        "adminAddFederation", "Give a federated client a federated credential", CLIENTS_WRITE,
        {"201": _json("The federated credential.", _ref("AdminFederation"))},
        problems=_NOT_FOUND, body=_ref("AdminNewFederation"), body_required=True, parameters=[_CLIENT],
        description="The client must authenticate with `federated`; the trust must exist (422 otherwise).",
    ),
    (federations.FEDERATION, "DELETE"): _operation(
        "adminRemoveFederation", "Remove one of a client's federated credentials", CLIENTS_WRITE, _NO_BODY,
        problems=(*_NOT_FOUND, AdminProblem.CONFLICT), parameters=[_CLIENT, _path("federation_id")],
    ),
    (trusts.COLLECTION, "GET"): _operation(
        "adminListTrusts", "The trusted external issuers", TRUSTS_READ,
        {"200": _json("Every trust, by name.", {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": _ref("AdminTrust")}}})},
    ),
    (trusts.COLLECTION, "POST"): _operation(
        "adminAddTrust", "Trust an external issuer", TRUSTS_WRITE, {"201": _json("The trust.", _ref("AdminTrust"))},
        problems=(AdminProblem.CONFLICT,), body=_ref("AdminNewTrust"), body_required=True,
        description="Its keys: `jwks`, `jwks_uri`, or neither (the issuer's OIDC discovery document).",
    ),
    (trusts.ITEM, "GET"): _operation(
        "adminGetTrust", "Read a trust", TRUSTS_READ, {"200": _json("The trust.", _ref("AdminTrust"))}, problems=_NOT_FOUND, parameters=[_TRUST],
    ),
    (trusts.ITEM, "PATCH"): _operation(
        "adminUpdateTrust", "Change a trust", TRUSTS_WRITE, {"200": _json("The changed trust.", _ref("AdminTrust"))},
        problems=_NOT_FOUND, body=_ref("AdminTrustChanges"), body_required=True, parameters=[_TRUST],
    ),
    (trusts.ITEM, "DELETE"): _operation(
        "adminRemoveTrust", "Stop trusting an issuer", TRUSTS_WRITE,
        {"200": _json("The federated credentials removed with it (with force).", {"type": "object", "required": ["name", "federations_removed"], "properties": {"name": {"type": "string"}, "federations_removed": {"type": "array", "items": {"type": "object", "required": ["client_id", "federation_id"]}}}})},
        problems=(*_NOT_FOUND, AdminProblem.CONFLICT),
        parameters=[_TRUST, _query("force", {"type": "string", "enum": ["true", "false"]}, "true: remove the federated credentials that use it too.")],
        description="409 while federated credentials use it, unless `force=true`.",
    ),
    (revocations.COLLECTION, "POST"): _operation(
        "adminRevokeToken", "Revoke one token (a leaked one)", CLIENTS_WRITE,
        {"200": _json("The token's jti and client; `already_revoked` when it was.", {"type": "object", "required": ["jti", "client_id", "expires_at", "already_revoked"]})},
        body={"type": "object", "required": ["token"], "additionalProperties": False, "properties": {"token": {"type": "string", "minLength": 1, "maxLength": 8192}}},
        body_required=True,
        description="422 `refused` for a token this server did not issue or that has expired already.",
    ),
    (keys.COLLECTION, "GET"): _operation(
        "adminListKeys", "The signing key ring", KEYS_READ,
        {"200": _json("Next, active and retired keys; never a private key.", {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": _ref("AdminKey")}}})},
    ),
    (keys.ROTATE, "POST"): _operation(
        "adminRotateKeys", "Rotate the signing keys", KEYS_WRITE,
        {"200": _json("What changed in the ring.", {"type": "object", "required": ["changed", "created", "deleted"]})},
        body={"type": "object", "additionalProperties": False, "properties": {"algorithm": {"type": "string", "enum": ["RS256", "PS256", "ES256", "EdDSA"]}}},
        description="next → active, active → retired, and a new next key.",
    ),
    (audit.COLLECTION, "GET"): _operation(
        "adminAuditLog", "The audit log, newest first", AUDIT_READ,
        {"200": _json("A page of events.", {"type": "object", "required": ["items", "next_cursor"], "properties": {"items": {"type": "array", "items": _ref("AdminAuditEvent")}, "next_cursor": _NULLABLE_INT}})},
        parameters=[
            _query("actor", {**_FILTER, "maxLength": 128}, "Who made the change: `client:ID`, `person:NAME`, or an OS user."),
            _query("client", {**_FILTER, "maxLength": 255}, "The event's subject: a client id, `key-ring`, `trust:NAME`, `console:NAME`."),
            _query("action", {"type": "string", "enum": [action.value for action in AuditAction]}, "One kind of event."),
            _query("since", {"type": "integer", "minimum": 0, "maximum": audit.MAX_INSTANT}, "From this instant (epoch seconds)."),
            _query("until", {"type": "integer", "minimum": 0, "maximum": audit.MAX_INSTANT}, "Up to this instant (epoch seconds)."),
            _query("cursor", {"type": "integer", "minimum": 1, "maximum": audit.MAX_INSTANT}, "`next_cursor` of the previous page."),
            _LIMIT,
        ],
    ),
    (stats.PATH, "GET"): _operation(
        "adminTokenStats", "Tokens issued and authentication failures per client, last hour (this node)", STATS_READ,
        {"200": _json("Per-interval counts by client id.", {"type": "object", "required": ["sample_seconds", "window_seconds", "points"]})},
    ),
}


def _console(operation_id: str, summary: str, responses: Schema, *, body: Schema | None = None, parameters: list[Schema] | None = None) -> Callable[[Any], Schema]:
    def describe(_limits: Any) -> Schema:
        operation: Schema = {"tags": [CONSOLE_TAG], "operationId": operation_id, "summary": summary, "security": [], "responses": responses}
        if body is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        if parameters:
            operation["parameters"] = parameters
        return operation

    return describe


_HTML = {"content": {"text/html": {"schema": {"type": "string"}}}}
OPERATIONS.update(
    {
        (console.PAGE, "GET"): _console(
            "consolePage", "The console (with a session; else a redirect to the login page)",
            {"200": {"description": "The console page.", **_HTML}, "303": {"description": "No session: to /console/login."}},
        ),
        (console.LOGIN, "GET"): _console("consoleLoginPage", "The page a login link opens", {"200": {"description": "The login page.", **_HTML}}),
        (console.LOGIN, "POST"): _console(
            "consoleLogIn", "Redeem a login link's code for a session cookie",
            {"204": {"description": "Logged in: Set-Cookie tokensmith_console (HttpOnly, SameSite=Strict)."},
             "401": _problem("The code is unknown, used or expired."), "422": _problem(AdminProblem.INVALID.value[1]),
             "400": _problem(AdminProblem.MALFORMED.value[1]), "415": _problem(AdminProblem.UNSUPPORTED_MEDIA_TYPE.value[1])},
            body={"type": "object", "required": ["code"], "additionalProperties": False, "properties": {"code": {"type": "string", "minLength": 1, "maxLength": 200}}},
        ),
        (console.SESSION, "GET"): _console(
            "consoleSession", "Who is logged in, and the CSRF token for the console's writes",
            {"200": _json("The session.", {"type": "object", "required": ["person", "csrf_token", "expires_at"]}), "401": _problem("No session.")},
        ),
        (console.LOGOUT, "POST"): _console(
            "consoleLogOut", "End the session (needs X-CSRF-Token)",
            {"204": {"description": "Logged out."}, "401": _problem("No session."), "403": _problem(AdminProblem.CSRF.value[1])},
        ),
        (console.ASSETS, "GET"): _console(
            "consoleAsset", "A file of the console",
            {"200": {"description": "The file.", "content": {media.split(";")[0]: {} for media in sorted(set(console.ASSET_TYPES.values()))}}, "404": _problem("No such file.")},
            parameters=[_path("name", {"type": "string", "enum": sorted(console.ASSET_TYPES)})],
        ),
    }
)


def _allowed(path: str) -> str:
    methods = {method for (each, method) in OPERATIONS if each == path}
    if "GET" in methods:
        methods.add("HEAD")
    return allow_value(", ".join(methods))


def _with_common_responses(path: str, describe: Callable[[Any], Schema]) -> Callable[[Any], Schema]:
    """Every response carries X-Request-Id (http/request_context.py); every path may
    answer 405 (with Allow) and 500, in the problem format."""

    def described(limits: Any) -> Schema:
        operation = describe(limits)
        responses = operation["responses"]
        responses.setdefault("405", _problem("The path does not take this method."))["headers"] = {
            "Allow": {"description": "The methods this path accepts.", "required": True, "schema": {"type": "string", "enum": [_allowed(path)]}}
        }
        responses.setdefault("500", _problem("An internal error; the request id names it in the log."))
        for response in responses.values():
            response["headers"] = {**response.get("headers", {}), "X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}}
        return operation

    return described


OPERATIONS = {key: _with_common_responses(key[0], describe) for key, describe in OPERATIONS.items()}
