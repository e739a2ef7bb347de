"""Private keys at rest: AES-256-GCM under a key-encryption key kept outside the
store, bound to the kid they belong to."""

from __future__ import annotations

import base64

import pytest

from tokensmith.domain.key_encryption import KEK_BYTES, KeyEncryption, KeyEncryptionError, decode_kek, generate_kek

KEK = bytes(range(32))
OTHER_KEK = bytes(range(1, 33))
PLAINTEXT = b"-----private key bytes-----" * 4


def key_material_in(message: str) -> list[str]:
    """Renderings of the KEKs and of the plaintext that must not appear in a message."""
    renderings = []
    for raw in (KEK, OTHER_KEK, PLAINTEXT):
        renderings += [raw.hex(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), repr(raw)]
    return [r for r in renderings if r in message]


def test_wrap_then_unwrap_returns_the_key() -> None:
    encryption = KeyEncryption(KEK)
    wrapped = encryption.wrap(PLAINTEXT, "kid-1")
    assert PLAINTEXT not in wrapped
    assert KeyEncryption(KEK).unwrap(wrapped, "kid-1") == PLAINTEXT


def test_each_wrap_uses_a_fresh_nonce() -> None:
    encryption = KeyEncryption(KEK)
    assert encryption.wrap(PLAINTEXT, "kid-1") != encryption.wrap(PLAINTEXT, "kid-1")


def test_wrong_kek_fails_without_revealing_key_material() -> None:
    wrapped = KeyEncryption(KEK).wrap(PLAINTEXT, "kid-1")
    with pytest.raises(KeyEncryptionError) as caught:
        KeyEncryption(OTHER_KEK).unwrap(wrapped, "kid-1")
    assert key_material_in(str(caught.value)) == []


def test_key_stored_under_another_kid_fails_to_unwrap() -> None:
    # The kid is the AAD: swapping two rows' ciphertexts cannot swap their keys.
    wrapped = KeyEncryption(KEK).wrap(PLAINTEXT, "kid-1")
    with pytest.raises(KeyEncryptionError) as caught:
        KeyEncryption(KEK).unwrap(wrapped, "kid-2")
    assert key_material_in(str(caught.value)) == []


def test_tampered_or_truncated_ciphertext_fails_with_key_encryption_error() -> None:
    wrapped = bytearray(KeyEncryption(KEK).wrap(PLAINTEXT, "kid-1"))
    wrapped[-1] ^= 1
    for damaged in (bytes(wrapped), bytes(wrapped[:20]), bytes(wrapped[:5]), b""):
        with pytest.raises(KeyEncryptionError):
            KeyEncryption(KEK).unwrap(damaged, "kid-1")


def test_secret_hash_key_is_derived_from_the_kek_and_is_not_the_kek() -> None:
    assert KeyEncryption(KEK).secret_hash_key == KeyEncryption(KEK).secret_hash_key
    assert KeyEncryption(KEK).secret_hash_key != KeyEncryption(OTHER_KEK).secret_hash_key
    assert KeyEncryption(KEK).secret_hash_key != KEK


def test_generated_kek_is_base64url_of_32_bytes() -> None:
    text = generate_kek()
    assert len(decode_kek(text)) == KEK_BYTES
    assert generate_kek() != text


def test_kek_text_tolerates_padding_and_surrounding_whitespace() -> None:
    text = base64.urlsafe_b64encode(KEK).decode()
    assert decode_kek(f"  {text}\n") == KEK


@pytest.mark.parametrize("text", ["", "short", base64.urlsafe_b64encode(bytes(16)).decode(), "!!!!" * 11])
def test_malformed_kek_is_refused_without_echoing_it(text: str) -> None:
    with pytest.raises(KeyEncryptionError) as caught:
        decode_kek(text)
    assert not text or text not in str(caught.value)
