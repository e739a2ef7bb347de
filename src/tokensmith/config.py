"""Settings: `TOKENSMITH_*` environment variables, then a TOML file named by
`TOKENSMITH_CONFIG`, then defaults. The environment wins over the file."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

Algorithm = Literal["RS256", "PS256", "ES256", "EdDSA"]
LONGEST_TOKEN_SECONDS = 25 * 3600


class TomlFileSource(PydanticBaseSettingsSource):
    """Reads the file named by TOKENSMITH_CONFIG; keys are the field names."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        path = os.environ.get("TOKENSMITH_CONFIG")
        self._data: dict[str, Any] = {}
        if path:
            with open(path, "rb") as handle:
                self._data = tomllib.load(handle)
            unknown = set(self._data) - set(settings_cls.model_fields)
            if unknown:
                raise ValueError(f"unknown setting(s) in {path}: {', '.join(sorted(unknown))}")

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOKENSMITH_", extra="ignore")

    database_url: str = "sqlite:///./tokensmith.db"
    issuer: str = "http://127.0.0.1:8080"
    # The `aud` of a token whose client has no audience of its own; the issuer if unset.
    default_audience: str | None = None
    signing_algorithm: Algorithm = "RS256"
    # Base64url of 32 bytes. Unset with SQLite: a 0600 file beside the database is used.
    key_encryption_key: str | None = Field(default=None, repr=False)
    key_encryption_key_file: str | None = None
    redis_url: str | None = None
    error_source: str = "AGT"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    # How long a node trusts its in-process copy of a client or of the key ring.
    client_cache_seconds: float = Field(default=2.0, ge=0, le=300)
    key_cache_seconds: float = Field(default=10.0, ge=0, le=300)
    max_body_bytes: int = Field(default=8192, ge=256, le=1_048_576)
    # How long and how much a client may take to send a request (http/protocol.py for
    # the head, http/parsing.py for the body): past these it gets 431 or 408 and is cut off.
    body_read_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    header_read_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    max_header_bytes: int = Field(default=16384, ge=8192, le=1_048_576)
    max_header_fields: int = Field(default=100, ge=16, le=10_000)
    # Open connections one source address may hold per worker process (http/protocol.py);
    # past it a new one gets 503 and is closed. 0: no cap. Trusted proxies are exempt.
    max_connections_per_address: int = Field(default=256, ge=0, le=1_000_000)
    seed_max_scope_length: int = Field(default=50, ge=1, le=4096)
    max_scope_length: int = Field(default=1024, ge=1, le=65536)
    default_lifetime_seconds: int = Field(default=3600, ge=1, le=86400)
    # Retired keys stay in the JWKS this long, so every token they signed still verifies:
    # never less than the longest a token can live (a daily-boundary token issued just
    # after the boundary on a 25-hour fall-back day).
    retired_key_retention_seconds: int = Field(default=2 * 86400, ge=LONGEST_TOKEN_SECONDS)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = True
    # A client with token reuse on (`clients create|update --reuse-tokens`) gets its last
    # token for the same scopes and audience again while more than this fraction of
    # that token's lifetime is left (docs/configuration.md, "Token reuse").
    token_reuse_threshold: float = Field(default=0.5, gt=0, lt=1)
    # Client assertions (private_key_jwt, RFC 7523; docs/clients.md): the longest an
    # assertion may live (exp after iat), the clock skew tolerated, and whether its aud
    # may be a token endpoint URL besides the issuer identifier (rfc7523bis §4 wants
    # the issuer only; some clients still send the endpoint).
    assertion_max_lifetime_seconds: int = Field(default=300, ge=10, le=3600)
    assertion_leeway_seconds: int = Field(default=30, ge=0, le=300)
    assertion_audience_token_endpoint: bool = False
    # DPoP proofs (RFC 9449; docs/configuration.md "DPoP"): a proof is accepted from
    # its iat (less the leeway, for a client clock ahead) for the window, and its jti
    # is single use for as long (in Redis when configured). With nonces on, every proof
    # must carry a nonce this deployment handed out (DPoP-Nonce), good for one to two
    # periods.
    dpop_iat_window_seconds: int = Field(default=60, ge=5, le=600)
    dpop_leeway_seconds: int = Field(default=5, ge=0, le=300)
    dpop_nonces: bool = False
    dpop_nonce_seconds: int = Field(default=300, ge=10, le=3600)
    # jtis of live assertions one process remembers without Redis (store/replay.py).
    replay_cache_size: int = Field(default=500_000, ge=1000, le=10_000_000)
    # How often a node writes when each credential was last used (store/last_used.py).
    credential_use_write_seconds: float = Field(default=60.0, ge=1, le=3600)

    # --- Several nodes (docs/deployment.md) ---
    # The shared store: connection pool per process, and bounds on every wait.
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    db_pool_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    db_connect_timeout_seconds: int = Field(default=3, ge=2, le=60)  # libpq's minimum is 2
    db_statement_timeout_ms: int = Field(default=2000, ge=0, le=600_000)  # 0: none
    # A store call on the request path is abandoned after this long (503), however
    # the network fails; after a failure, cold paths answer 503 at once for
    # store_retry_seconds instead of each waiting out the timeout again.
    store_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    store_retry_seconds: float = Field(default=1.0, ge=0, le=60)
    # While the store is unreachable, a cached client is used this long past its
    # client_cache_seconds (0: never).
    client_max_stale_seconds: float = Field(default=300.0, ge=0, le=86400)
    # Redis keys start with this, so several deployments (or tests) share one Redis.
    redis_prefix: str = Field(default="tokensmith:", max_length=64)
    redis_timeout_seconds: float = Field(default=0.25, gt=0, le=10)
    # After Redis fails, per-process counters are used this long before Redis is tried again.
    redis_retry_seconds: float = Field(default=5.0, ge=0.1, le=300)
    # An outage is logged when it starts, then at most once per this interval.
    redis_log_interval_seconds: float = Field(default=60.0, ge=1, le=86400)
    # Brute-force protection on every endpoint that authenticates a client.
    bruteforce_enabled: bool = True
    bruteforce_window_seconds: float = Field(default=60.0, gt=0, le=86400)
    bruteforce_address_failures: int = Field(default=20, ge=1, le=1_000_000)
    bruteforce_client_failures: int = Field(default=10, ge=1, le=1_000_000)
    bruteforce_block_seconds: float = Field(default=30.0, gt=0, le=86400)
    bruteforce_backoff_factor: float = Field(default=2.0, ge=1, le=100)
    bruteforce_max_block_seconds: float = Field(default=900.0, gt=0, le=7 * 86400)
    bruteforce_strike_memory_seconds: float = Field(default=3600.0, gt=0, le=30 * 86400)
    # IPv6 sources are counted by prefix: one host usually holds a whole /64.
    bruteforce_ipv6_prefix: int = Field(default=64, ge=32, le=128)
    # Peers whose X-Forwarded-For is believed (CIDRs, comma-separated); empty: none.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    # --- Outbound fetches: jwks_uri, trusted issuers' discovery (tokensmith/outbound/) ---
    # https to globally reachable addresses only, unless allowed here (DESIGN §9).
    outbound_allow_http: bool = False
    # Addresses or CIDR networks that may be fetched although private/loopback (comma-separated).
    outbound_allowed_networks: Annotated[tuple[str, ...], NoDecode] = ()
    outbound_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    outbound_max_bytes: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)
    # A CA bundle trusted besides the public ones (certifi), for private PKI.
    outbound_ca_file: str | None = None
    # Fetched key sets: an unknown kid refreshes at most once per min_refresh; cached for
    # max_age (an answer's Cache-Control max-age within [min_refresh, max_age]); the last
    # good keys serve max_stale longer while the key host is unreachable.
    jwks_min_refresh_seconds: float = Field(default=60.0, ge=1, le=86400)
    jwks_max_age_seconds: float = Field(default=300.0, ge=1, le=86400)
    jwks_max_stale_seconds: float = Field(default=86400.0, ge=0, le=30 * 86400)
    metrics_enabled: bool = True
    # Who the command line records in the audit log; the OS user when unset.
    actor: str | None = Field(default=None, max_length=128)
    # Where the command line writes audit events besides the store: stderr or off.
    audit_log: Literal["stderr", "off"] = "stderr"

    # --- The admin API and console (docs/admin.md) ---
    # A second listener for /admin and /console; when set, the main port does not serve them.
    admin_port: int | None = Field(default=None, ge=1, le=65535)
    admin_host: str | None = None  # default: TOKENSMITH_HOST
    # The console's public URL, for the links `tokensmith console login-link` prints
    # (default: the admin listener's, else the issuer).
    console_url: str | None = None
    console_session_seconds: int = Field(default=8 * 3600, ge=60, le=7 * 86400)
    console_link_seconds: int = Field(default=600, ge=10, le=3600)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"not an address or CIDR network: {entry!r}") from None
        return value

    @field_validator("outbound_allowed_networks", mode="before")
    @classmethod
    def _split_outbound_networks(cls, value: Any) -> Any:
        return cls._split_proxies(value)  # the same comma-separated list of networks

    @field_validator("outbound_allowed_networks")
    @classmethod
    def _outbound_networks_are_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return cls._proxies_are_networks(value)

    @field_validator("issuer")
    @classmethod
    def _issuer_has_no_trailing_slash(cls, value: str) -> str:
        # RFC 8414 §2: the issuer is compared by simple string comparison.
        if not value.startswith(("https://", "http://")):
            raise ValueError("issuer must be an http(s) URL")
        return value.rstrip("/")

    @property
    def audience(self) -> str:
        return self.default_audience or self.issuer

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        tail = self.database_url.split(":///", 1)[-1]
        return None if tail in ("", ":memory:") else Path(tail)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlFileSource(settings_cls))
