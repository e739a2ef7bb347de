"""Client secrets: how they are made, how they are kept, and where one is checked.

A secret tokensmith generates has 256 bits of entropy, so one keyed hash (HMAC-SHA256
under a key derived from the key-encryption key, which is not in the store) is enough
to keep it safe at rest and fast to check. A secret imported from an older system has
unknown entropy and is kept with argon2id instead (DESIGN.md §4).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as random
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SECRET_PREFIX = "tks_"  # lets secret scanners recognise a leaked tokensmith secret
MAX_LIVE_SECRETS = 2  # two overlapping secrets make rotation possible without downtime
MAX_SECRET_LENGTH = 512
MIN_IMPORTED_SECRET_LENGTH = 8


class SecretKind(str, Enum):
    GENERATED = "hmac-sha256"
    IMPORTED = "argon2id"


@dataclass(frozen=True)
class StoredSecret:
    secret_id: str
    kind: SecretKind
    digest: str
    created_at: int
    expires_at: int | None = None

    def is_live(self, now: int) -> bool:
        return self.expires_at is None or now < self.expires_at


def generate_secret() -> str:
    return SECRET_PREFIX + random.token_urlsafe(32)


def generate_secret_id() -> str:
    return "sec_" + random.token_hex(6)


class SecretChecker:
    """Hashes new secrets and checks presented ones in constant time."""

    def __init__(self, hash_key: bytes, argon2: PasswordHasher | None = None) -> None:
        self._key = hash_key
        # The HMAC keyed once: each check copies it instead of keying a new one (the key
        # schedule and OpenSSL's algorithm lookup are most of a short message's cost).
        self._keyed = hmac.new(hash_key, digestmod=hashlib.sha256)
        self._argon2 = argon2 or PasswordHasher()
        # A successful argon2 check is remembered by the presented secret's keyed hash,
        # so an imported secret costs one argon2 run per process, not one per request.
        self._argon2_passed: OrderedDict[tuple[str, str], None] = OrderedDict()
        # A live generated secret no one can present: an unknown client id is checked
        # against it through `matches`, the same steps as a wrong secret of a real client.
        self._dummy = (StoredSecret("sec_dummy", SecretKind.GENERATED, self._keyed_hash("tokensmith-dummy-secret"), 0),)

    def _keyed_hash(self, presented: str) -> str:
        mac = self._keyed.copy()
        mac.update(presented.encode("utf-8", "surrogatepass"))
        return mac.hexdigest()

    def hash_generated(self, secret: str) -> str:
        return self._keyed_hash(secret)

    def hash_imported(self, secret: str) -> str:
        return self._argon2.hash(secret)

    def matches(self, presented: str, stored: tuple[StoredSecret, ...], now: int) -> bool:
        """True when `presented` equals one of the live secrets in `stored`."""
        return self.matching(presented, stored, now) is not None

    def matching(self, presented: str, stored: tuple[StoredSecret, ...], now: int) -> str | None:
        """The id of the live secret in `stored` that `presented` equals, or None.
        Every live secret is compared, whichever matches (no early exit)."""
        digest = self._keyed_hash(presented)
        matched: str | None = None
        for secret in stored:
            if not secret.is_live(now):
                continue
            if secret.kind is SecretKind.GENERATED:
                equal = hmac.compare_digest(digest, secret.digest)
            else:
                equal = self._matches_imported(secret, presented, digest)
            if equal:
                matched = secret.secret_id
        return matched

    def needs_slow_check(self, presented: str, stored: tuple[StoredSecret, ...], now: int) -> bool:
        """Whether `matches` would run argon2: a live imported secret that this
        presented secret has not already passed in this process."""
        digest: str | None = None
        for secret in stored:
            if secret.kind is SecretKind.IMPORTED and secret.is_live(now):
                digest = digest or self._keyed_hash(presented)
                if (secret.secret_id, digest) not in self._argon2_passed:
                    return True
        return False

    def dummy_check(self, presented: str) -> None:
        """Spend the same time as a wrong secret does, for an unknown client id, so that
        response time does not tell which client ids exist."""
        self.matches(presented, self._dummy, 0)

    def _matches_imported(self, secret: StoredSecret, presented: str, digest: str) -> bool:
        memo = (secret.secret_id, digest)
        if memo in self._argon2_passed:
            self._argon2_passed.move_to_end(memo)
            return True
        try:
            self._argon2.verify(secret.digest, presented)
        except (VerificationError, InvalidHashError):
            return False
        self._argon2_passed[memo] = None
        if len(self._argon2_passed) > 10_000:
            self._argon2_passed.popitem(last=False)
        return True
