"""Private signing keys are kept encrypted (AES-256-GCM) under a key-encryption key
(KEK) that lives outside the store: a stolen database alone cannot sign tokens."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEK_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16


class KeyEncryptionError(Exception):
    pass


def generate_kek() -> str:
    return base64.urlsafe_b64encode(os.urandom(KEK_BYTES)).rstrip(b"=").decode()


def decode_kek(text: str) -> bytes:
    text = text.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise KeyEncryptionError("key-encryption key is not base64url") from None
    if len(raw) != KEK_BYTES:
        raise KeyEncryptionError(f"key-encryption key must be {KEK_BYTES} bytes, base64url-encoded")
    return raw


class KeyEncryption:
    def __init__(self, kek: bytes) -> None:
        self._aead = AESGCM(self._derive(kek, b"tokensmith signing-key wrap v1"))
        self.secret_hash_key = self._derive(kek, b"tokensmith client-secret hash v1")
        # RFC 9449 §8: the same on every node sharing the KEK (domain/dpop_nonces.py).
        self.dpop_nonce_key = self._derive(kek, b"tokensmith dpop nonce v1")

    @staticmethod
    def _derive(kek: bytes, purpose: bytes) -> bytes:
        # One KEK, separate keys per purpose (HKDF, RFC 5869).
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(kek)

    def wrap(self, plaintext: bytes, kid: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, kid.encode())

    def unwrap(self, wrapped: bytes, kid: str) -> bytes:
        refusal = KeyEncryptionError(
            f"cannot decrypt signing key {kid}: the key-encryption key is not the one it was stored with"
            " (or the stored key is damaged)"
        )
        # A row too short to hold a nonce and a tag is damaged; AESGCM would raise a
        # ValueError about the nonce instead.
        if len(wrapped) < _NONCE_BYTES + _TAG_BYTES:
            raise refusal
        try:
            return self._aead.decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], kid.encode())
        except InvalidTag:
            raise refusal from None
