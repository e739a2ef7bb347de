"""Settings: `TOKENSMITH_*` environment variables, then a TOML file named by
`TOKENSMITH_CONFIG`, then defaults. The environment wins over the file."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

Algorithm = Literal["RS256", "PS256", "ES256", "EdDSA"]


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
    seed_max_scope_length: int = Field(default=50, ge=1, le=4096)
    max_scope_length: int = Field(default=1024, ge=1, le=65536)
    default_lifetime_seconds: int = Field(default=3600, ge=1, le=86400)
    # Retired keys stay in the JWKS this long, so every token they signed still verifies.
    retired_key_retention_seconds: int = Field(default=2 * 86400, ge=3600)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    access_log: bool = True

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
