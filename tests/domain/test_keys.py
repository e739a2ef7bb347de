"""The key ring: rotation moves next → active → retired, retired keys stay published
for the retention period, and every kid is the key's RFC 7638 thumbprint."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tokensmith.domain.keys import (
    ALGORITHMS,
    KeyRing,
    KeyState,
    SigningKey,
    generate_private_key,
    load_private_key,
    new_signing_key,
    plan_removal,
    plan_rotation,
    private_key_bytes,
    thumbprint,
)

NOW = 1_750_000_000
DAY = 86400
RETENTION = 2 * DAY


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PublicOnly:
    """Stands in for a private key when only a published public key is known."""

    def __init__(self, public: object) -> None:
        self._public = public

    def public_key(self) -> object:
        return self._public


def key(state: KeyState, *, created_at: int, activated_at: int | None = None, retired_at: int | None = None) -> SigningKey:
    return SigningKey(
        kid=f"{state.value}-{created_at}",
        algorithm="ES256",
        state=state,
        private_key=generate_private_key("ES256"),
        created_at=created_at,
        activated_at=activated_at,
        retired_at=retired_at,
    )


# --- RFC 7638 thumbprints -------------------------------------------------------

def test_rsa_kid_matches_the_rfc_7638_example() -> None:
    # RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    public = rsa.RSAPublicNumbers(e=65537, n=int.from_bytes(b64url_decode(n), "big")).public_key()
    assert thumbprint(PublicOnly(public)) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"  # type: ignore[arg-type]


def test_ed25519_kid_matches_the_rfc_8037_example() -> None:
    # RFC 8037 Appendix A.3: the example Ed25519 key's thumbprint.
    public = ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"))
    assert thumbprint(PublicOnly(public)) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"  # type: ignore[arg-type]


def test_ec_kid_is_the_thumbprint_recomputed_from_its_published_jwk() -> None:
    signing_key = new_signing_key("ES256", KeyState.ACTIVE, NOW)
    jwk = signing_key.public_jwk()
    # RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
    canonical = f'{{"crv":"{jwk["crv"]}","kty":"{jwk["kty"]}","x":"{jwk["x"]}","y":"{jwk["y"]}"}}'
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    assert signing_key.kid == expected
    # RFC 7518 §6.2.1.2: coordinates are the full 32 bytes even with leading zeros.
    assert len(b64url_decode(jwk["x"])) == len(b64url_decode(jwk["y"])) == 32


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_public_jwk_carries_kid_alg_and_use_sig(algorithm: str) -> None:
    signing_key = new_signing_key(algorithm, KeyState.NEXT, NOW)
    jwk = signing_key.public_jwk()
    assert jwk["kid"] == signing_key.kid and jwk["alg"] == algorithm and jwk["use"] == "sig"
    assert "d" not in jwk and "p" not in jwk  # public members only


def test_private_key_survives_serialisation() -> None:
    private = generate_private_key("EdDSA")
    assert thumbprint(load_private_key(private_key_bytes(private))) == thumbprint(private)


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(ValueError):
        generate_private_key("HS256")


# --- rotation ---------------------------------------------------------------------

def test_first_rotation_of_an_empty_ring_makes_an_active_and_a_next_key() -> None:
    rotation = plan_rotation([], "ES256", NOW, RETENTION)
    assert rotation.updated == () and rotation.deleted == ()
    assert sorted(k.state.value for k in rotation.created) == ["active", "next"]
    active = next(k for k in rotation.created if k.state is KeyState.ACTIVE)
    assert active.activated_at == NOW
    assert all(k.algorithm == "ES256" and isinstance(k.private_key, ec.EllipticCurvePrivateKey) for k in rotation.created)


def test_rotation_promotes_next_to_active_retires_active_and_makes_a_new_next() -> None:
    active = key(KeyState.ACTIVE, created_at=NOW - 2 * DAY, activated_at=NOW - 2 * DAY)
    upcoming = key(KeyState.NEXT, created_at=NOW - 2 * DAY)
    rotation = plan_rotation([active, upcoming], "ES256", NOW, RETENTION)
    updated = {k.kid: k for k in rotation.updated}
    assert updated[active.kid].state is KeyState.RETIRED and updated[active.kid].retired_at == NOW
    assert updated[upcoming.kid].state is KeyState.ACTIVE and updated[upcoming.kid].activated_at == NOW
    assert [k.state for k in rotation.created] == [KeyState.NEXT]
    assert rotation.created[0].kid not in (active.kid, upcoming.kid)
    assert rotation.deleted == ()


def test_rotation_deletes_retired_keys_past_retention_only() -> None:
    expired = key(KeyState.RETIRED, created_at=NOW - 10 * DAY, retired_at=NOW - RETENTION)
    recent = key(KeyState.RETIRED, created_at=NOW - 5 * DAY, retired_at=NOW - RETENTION + 1)
    active = key(KeyState.ACTIVE, created_at=NOW - 3 * DAY, activated_at=NOW - DAY)
    upcoming = key(KeyState.NEXT, created_at=NOW - DAY)
    rotation = plan_rotation([expired, recent, active, upcoming], "ES256", NOW, RETENTION)
    assert rotation.deleted == (expired.kid,)
    assert recent.kid not in {k.kid for k in rotation.updated}


def test_rotation_without_a_next_key_activates_a_new_one_at_once() -> None:
    active = key(KeyState.ACTIVE, created_at=NOW - DAY, activated_at=NOW - DAY)
    rotation = plan_rotation([active], "ES256", NOW, RETENTION)
    assert [k.state for k in rotation.updated] == [KeyState.RETIRED]
    assert sorted(k.state.value for k in rotation.created) == ["active", "next"]


def test_rotation_to_a_new_algorithm_uses_it_for_the_new_key() -> None:
    active = key(KeyState.ACTIVE, created_at=NOW - DAY, activated_at=NOW - DAY)
    upcoming = key(KeyState.NEXT, created_at=NOW - DAY)
    rotation = plan_rotation([active, upcoming], "EdDSA", NOW, RETENTION)
    assert rotation.created[0].algorithm == "EdDSA"


# --- the ring ----------------------------------------------------------------------

def test_ring_publishes_next_active_and_retired_within_retention() -> None:
    old = key(KeyState.RETIRED, created_at=NOW - 10 * DAY, retired_at=NOW - RETENTION)
    recent = key(KeyState.RETIRED, created_at=NOW - 5 * DAY, retired_at=NOW - RETENTION + 1)
    active = key(KeyState.ACTIVE, created_at=NOW - 3 * DAY, activated_at=NOW - DAY)
    upcoming = key(KeyState.NEXT, created_at=NOW - DAY)
    ring = KeyRing([old, recent, active, upcoming], NOW, RETENTION)
    assert ring.active is active
    assert {k.kid for k in ring.published} == {recent.kid, active.kid, upcoming.kid}
    assert {jwk["kid"] for jwk in ring.jwks()["keys"]} == {recent.kid, active.kid, upcoming.kid}


def test_ring_signs_with_the_most_recently_activated_key() -> None:
    older = key(KeyState.ACTIVE, created_at=NOW - 3 * DAY, activated_at=NOW - 2 * DAY)
    newer = key(KeyState.ACTIVE, created_at=NOW - 2 * DAY, activated_at=NOW - DAY)
    assert KeyRing([newer, older], NOW, RETENTION).active is newer


def test_ring_without_an_active_key_has_none_to_sign_with() -> None:
    assert KeyRing([key(KeyState.NEXT, created_at=NOW)], NOW, RETENTION).active is None


def test_jwks_is_json_with_public_members_only() -> None:
    ring = KeyRing(plan_rotation([], "RS256", NOW, RETENTION).created, NOW, RETENTION)
    document = json.loads(json.dumps(ring.jwks()))
    for jwk in document["keys"]:
        assert set(jwk) == {"kty", "n", "e", "kid", "alg", "use"}


# --- emergency removal ----------------------------------------------------------


def test_removing_the_active_key_promotes_the_next_and_publishes_a_new_next() -> None:
    active = key(KeyState.ACTIVE, created_at=NOW - DAY, activated_at=NOW - DAY)
    upcoming = key(KeyState.NEXT, created_at=NOW - DAY)
    rotation = plan_removal([active, upcoming], active.kid, "ES256", NOW)
    assert rotation.deleted == (active.kid,)
    assert [(k.kid, k.state) for k in rotation.updated] == [(upcoming.kid, KeyState.ACTIVE)]
    assert [k.state for k in rotation.created] == [KeyState.NEXT]


def test_removing_the_active_key_with_no_next_makes_a_new_active_key() -> None:
    active = key(KeyState.ACTIVE, created_at=NOW - DAY, activated_at=NOW - DAY)
    rotation = plan_removal([active], active.kid, "ES256", NOW)
    assert rotation.deleted == (active.kid,) and not rotation.updated
    assert [k.state for k in rotation.created] == [KeyState.ACTIVE, KeyState.NEXT]


def test_removing_the_next_or_a_retired_key_leaves_the_active_key_signing() -> None:
    active = key(KeyState.ACTIVE, created_at=NOW - DAY, activated_at=NOW - DAY)
    upcoming = key(KeyState.NEXT, created_at=NOW - 10)
    retired = key(KeyState.RETIRED, created_at=NOW - 3 * DAY, activated_at=NOW - 3 * DAY, retired_at=NOW - DAY)
    of_next = plan_removal([active, upcoming, retired], upcoming.kid, "ES256", NOW)
    assert of_next.deleted == (upcoming.kid,) and not of_next.updated
    assert [k.state for k in of_next.created] == [KeyState.NEXT]
    of_retired = plan_removal([active, upcoming, retired], retired.kid, "ES256", NOW)
    assert of_retired == type(of_retired)((), (), (retired.kid,))


def test_removing_an_unknown_key_is_refused() -> None:
    with pytest.raises(ValueError, match="no signing key"):
        plan_removal([key(KeyState.ACTIVE, created_at=NOW, activated_at=NOW)], "nope", "ES256", NOW)
