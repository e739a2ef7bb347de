"""Peer for the benchmark: an Authlib authorization server issuing RFC 9068 JWT access
tokens for the client_credentials grant, set up the way Authlib's documentation shows
for Flask: `AuthorizationServer` + `ClientCredentialsGrant`, clients in a SQL table
through `OAuth2ClientMixin`, and a `JWTBearerTokenGenerator` subclass whose
`get_jwks()` returns a key set loaded once (RS256).

Served by gunicorn (one worker, gthread so that HTTP keep-alive works without a proxy
in front). Configuration through the environment:

    AUTHLIB_BENCH_DB       SQLite file holding the client table
    AUTHLIB_BENCH_KEY      JSON file holding the private JWK set
    AUTHLIB_BENCH_ISSUER   the issuer (iss) of the tokens

`python authlib_server.py init` creates the table, a client with scope `edit` and a
signing key, and prints {"client_id", "client_secret"} as JSON.
"""

from __future__ import annotations

import json
import os
import secrets
import sys

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.sqla_oauth2 import OAuth2ClientMixin
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import Flask, jsonify
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import Column, Integer, create_engine
from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

DB_PATH = os.environ.get("AUTHLIB_BENCH_DB", "authlib-bench.db")
KEY_PATH = os.environ.get("AUTHLIB_BENCH_KEY", "authlib-bench-key.json")
ISSUER = os.environ.get("AUTHLIB_BENCH_ISSUER", "http://127.0.0.1:8000")

Base = declarative_base()
engine = create_engine(f"sqlite:///{DB_PATH}")
Session = scoped_session(sessionmaker(bind=engine))


class Client(Base, OAuth2ClientMixin):
    __tablename__ = "oauth2_client"
    id = Column(Integer, primary_key=True)


def query_client(client_id: str) -> Client | None:
    return Session.query(Client).filter_by(client_id=client_id).first()


def save_token(token: dict, request: object) -> None:
    """A JWT access token is self-contained: nothing is stored per token."""


def token_lifetime(client: Client, grant_type: str) -> int:
    return 3600


class BenchJWTBearerTokenGenerator(JWTBearerTokenGenerator):
    def __init__(self, keys: KeySet, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._keys = keys

    def get_jwks(self) -> KeySet:
        return self._keys


def create_app() -> Flask:
    app = Flask(__name__)
    with open(KEY_PATH) as handle:
        keys = KeySet.import_key_set(json.load(handle))
    public = {"keys": [key.as_dict(private=False) for key in keys.keys]}
    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(grants.ClientCredentialsGrant)
    server.register_token_generator("client_credentials", BenchJWTBearerTokenGenerator(keys, issuer=ISSUER, alg="RS256", expires_generator=token_lifetime))

    @app.post("/oauth/token")
    def issue_token():  # type: ignore[no-untyped-def]
        return server.create_token_response()

    @app.get("/jwks")
    def jwks():  # type: ignore[no-untyped-def]
        return jsonify(public)

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return "ok"

    @app.teardown_appcontext
    def remove_session(exc: BaseException | None) -> None:
        Session.remove()

    return app


def init() -> None:
    Base.metadata.create_all(engine)
    secret = secrets.token_urlsafe(32)
    client = Client(client_id="bench", client_secret=secret, client_id_issued_at=0)
    client.set_client_metadata(
        {"grant_types": ["client_credentials"], "scope": "edit", "token_endpoint_auth_method": "client_secret_basic"}
    )
    session = Session()
    session.add(client)
    session.commit()
    key = RSAKey.generate_key(2048, parameters={"kid": "bench-rs256", "alg": "RS256", "use": "sig"}, private=True)
    with open(KEY_PATH, "w") as handle:
        json.dump({"keys": [key.as_dict(private=True)]}, handle)
    print(json.dumps({"client_id": "bench", "client_secret": secret}))


if __name__ == "__main__" and sys.argv[1:] == ["init"]:
    init()
else:
    app = create_app()
