"""One tokensmith process: its settings, store, caches and secret checker, wired once
and shared by the HTTP layer and the command line. Wiring only: changes are made by
the application layer (service/)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlalchemy as sa

from tokensmith.config import Settings
from tokensmith.domain.dpop_nonces import DpopNonces
from tokensmith.domain.key_encryption import KeyEncryption
from tokensmith.domain.secrets import SecretChecker
from tokensmith.domain.throttling import BruteForcePolicy, ThrottleKey
from tokensmith.outbound.key_sets import KeySets
from tokensmith.store.audit import AuditRepository
from tokensmith.store.availability import StoreGate, StoreUnavailable
from tokensmith.store.cache import ClientCache, KeyRingCache, RevokedTokens, TrustCache
from tokensmith.store.clients import ClientRepository
from tokensmith.store.database import create_engine
from tokensmith.store.fanout import Event, EventKind, FanoutListener, announce
from tokensmith.store.kek_source import load_kek
from tokensmith.store.keys import KeyRepository
from tokensmith.store.last_used import LastUsed
from tokensmith.store.redis_link import RedisLink, redis_errors
from tokensmith.store.replay import ReplayCache
from tokensmith.store.reuse import TokenReuse
from tokensmith.store.revocations import RevocationRepository
from tokensmith.store.throttle import BruteForceGuard, IssuanceLimiter
from tokensmith.store.trusts import TrustRepository
from tokensmith.store.usage import CredentialUses


@dataclass
class Node:
    settings: Settings
    engine: sa.Engine
    clients: ClientRepository
    keys: KeyRepository
    revocations: RevocationRepository
    client_cache: ClientCache
    key_cache: KeyRingCache
    checker: SecretChecker
    # Clients without shared secrets (DESIGN.md §9): trusted issuers, cached like
    # clients (same TTL and staleness bound), and when each credential was last used.
    trusts: TrustRepository
    trust_cache: TrustCache
    credential_uses: CredentialUses
    # Several nodes (docs/deployment.md): bounded store calls, Redis, throttles, audit.
    gate: StoreGate = field(default_factory=lambda: StoreGate(timeout=30.0, retry_seconds=0.0))
    redis: RedisLink | None = None
    bruteforce: BruteForceGuard = field(default_factory=lambda: BruteForceGuard(BruteForcePolicy(), enabled=False))
    issuance: IssuanceLimiter = field(default_factory=IssuanceLimiter)
    revoked: RevokedTokens = field(default_factory=RevokedTokens)
    audit: AuditRepository | None = None
    reuse: TokenReuse | None = None  # made in __post_init__ unless given
    replay: ReplayCache = field(default_factory=lambda: ReplayCache(None))  # assertions' jtis
    last_used: LastUsed = field(default_factory=LastUsed)  # credentials' last use, written in batches
    # Public keys fetched from clients' jwks_uri and trusted issuers (outbound/: the SSRF guard).
    key_sets: KeySets | None = None
    # RFC 9449 §8 server nonces, when TOKENSMITH_DPOP_NONCES is on (keyed from the KEK).
    dpop_nonces: DpopNonces | None = None

    def __post_init__(self) -> None:
        if self.reuse is None:
            self.reuse = TokenReuse(
                self.settings.token_reuse_threshold,
                is_revoked=self.revocations.is_revoked,
                revoked=self.revoked,
                gate=self.gate,
                recheck_seconds=self.settings.client_cache_seconds,
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> Node:
        engine = create_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            connect_timeout=settings.db_connect_timeout_seconds,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        encryption = KeyEncryption(load_kek(settings))
        clients = ClientRepository(engine)
        keys = KeyRepository(engine, encryption)
        trusts = TrustRepository(engine)
        gate = StoreGate(settings.store_timeout_seconds, settings.store_retry_seconds)
        redis = None
        if settings.redis_url:
            redis = RedisLink(
                settings.redis_url,
                settings.redis_prefix,
                timeout=settings.redis_timeout_seconds,
                retry_seconds=settings.redis_retry_seconds,
                log_interval=settings.redis_log_interval_seconds,
            )
        policy = BruteForcePolicy(
            window_seconds=settings.bruteforce_window_seconds,
            address_failures=settings.bruteforce_address_failures,
            client_failures=settings.bruteforce_client_failures,
            block_seconds=settings.bruteforce_block_seconds,
            backoff_factor=settings.bruteforce_backoff_factor,
            max_block_seconds=settings.bruteforce_max_block_seconds,
            strike_memory_seconds=settings.bruteforce_strike_memory_seconds,
            ipv6_prefix=settings.bruteforce_ipv6_prefix,
        )
        return cls(
            settings=settings,
            engine=engine,
            clients=clients,
            keys=keys,
            revocations=RevocationRepository(engine),
            client_cache=ClientCache(
                clients, settings.client_cache_seconds, gate=gate, max_stale=settings.client_max_stale_seconds
            ),
            key_cache=KeyRingCache(keys, settings.key_cache_seconds, settings.retired_key_retention_seconds, gate=gate),
            checker=SecretChecker(encryption.secret_hash_key),
            trusts=trusts,
            trust_cache=TrustCache(trusts, settings.client_cache_seconds, gate=gate, max_stale=settings.client_max_stale_seconds),
            credential_uses=CredentialUses(engine),
            gate=gate,
            redis=redis,
            bruteforce=BruteForceGuard(policy, redis, enabled=settings.bruteforce_enabled),
            issuance=IssuanceLimiter(redis),
            audit=AuditRepository(engine),
            replay=ReplayCache(redis, capacity=settings.replay_cache_size),
            key_sets=KeySets.from_settings(settings),
            dpop_nonces=DpopNonces(encryption.dpop_nonce_key, settings.dpop_nonce_seconds) if settings.dpop_nonces else None,
        )

    def fanout_listener(self) -> FanoutListener | None:
        """The subscription that applies other nodes' news to this node's caches."""
        if self.redis is None:
            return None
        link = self.redis

        async def announce_block(key: ThrottleKey, seconds: float) -> None:
            await announce(link, Event(EventKind.BLOCK, key.text(), seconds=seconds))

        self.bruteforce.announce = announce_block
        return FanoutListener(link, self.apply_event, self.rejoin_fanout)

    async def apply_event(self, event: Event) -> None:
        if event.kind is EventKind.CLIENT:
            self.client_cache.forget(event.subject)
        elif event.kind is EventKind.TRUST:
            self.trust_cache.forget(event.subject)
        elif event.kind is EventKind.KEYS:
            self.key_cache.invalidate()
            try:  # re-read now, so that no request waits for it
                await self.key_cache.refresh_if_stale()
            except StoreUnavailable:
                pass  # the next request tries again
        elif event.kind is EventKind.REVOKED:
            self.revoked.add(event.subject, event.expires_at)
        elif event.kind is EventKind.BLOCK:
            key = ThrottleKey.from_text(event.subject)
            if key is not None:
                self.bruteforce.apply_block(key, event.seconds)

    async def rejoin_fanout(self) -> None:
        """After (re)subscribing: announcements may have been missed meanwhile."""
        self.client_cache.clear()
        self.trust_cache.clear()
        self.key_cache.invalidate()
        try:
            await self.bruteforce.load_active_blocks()
        except redis_errors() as exc:
            logging.getLogger("tokensmith.fanout").warning("could not load active blocks", extra={"error": str(exc)[:200]})

    def store_answers(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
            return True
        except sa.exc.SQLAlchemyError:
            return False
