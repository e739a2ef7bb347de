"""Where the key-encryption key comes from: the environment, a named file, or (for
the embedded SQLite store only) a 0600 file beside the database, made together with
the database and never later: a fresh key for an existing store would leave every
stored private key and secret hash unreadable."""

from __future__ import annotations

from pathlib import Path

from tokensmith.config import Settings
from tokensmith.domain.key_encryption import KeyEncryptionError, decode_kek, generate_kek
from tokensmith.store.sqlite_files import create_owner_only


def _read_file(path: Path) -> bytes:
    if path.stat().st_mode & 0o077:
        raise KeyEncryptionError(f"{path} must be readable by its owner only (chmod 600)")
    return decode_kek(path.read_text())


def auto_kek_path(settings: Settings) -> Path | None:
    """`<database>.kek`, when the store is SQLite and no key is configured."""
    database = settings.sqlite_path()
    if settings.key_encryption_key or settings.key_encryption_key_file or database is None:
        return None
    return database.with_name(database.name + ".kek")


def load_kek(settings: Settings, *, create: bool = False) -> bytes:
    """The key-encryption key. `create` is for a command that is making a new SQLite
    store (the database file does not exist yet): only then is `<database>.kek` made."""
    if settings.key_encryption_key:
        return decode_kek(settings.key_encryption_key)
    if settings.key_encryption_key_file:
        return _read_file(Path(settings.key_encryption_key_file))
    path = auto_kek_path(settings)
    if path is None:
        raise KeyEncryptionError(
            "set TOKENSMITH_KEY_ENCRYPTION_KEY (or TOKENSMITH_KEY_ENCRYPTION_KEY_FILE): "
            "a shared store needs the same key-encryption key on every node"
        )
    if not path.exists():
        if not create:
            raise KeyEncryptionError(
                f"the store's key-encryption key {path} is missing; restore it from backup "
                "(without it the store's private keys and secret hashes cannot be read)"
            )
        create_owner_only(path, generate_kek() + "\n")  # False: another process made it first
    return _read_file(path)
