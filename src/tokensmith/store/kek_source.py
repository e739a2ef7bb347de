"""Where the key-encryption key comes from: the environment, a named file, or (for
the embedded SQLite store only) a 0600 file beside the database, made on first use."""

from __future__ import annotations

import os
from pathlib import Path

from tokensmith.config import Settings
from tokensmith.domain.key_encryption import KeyEncryptionError, decode_kek, generate_kek


def _read_file(path: Path) -> bytes:
    if path.stat().st_mode & 0o077:
        raise KeyEncryptionError(f"{path} must be readable by its owner only (chmod 600)")
    return decode_kek(path.read_text())


def load_kek(settings: Settings) -> bytes:
    if settings.key_encryption_key:
        return decode_kek(settings.key_encryption_key)
    if settings.key_encryption_key_file:
        return _read_file(Path(settings.key_encryption_key_file))
    database = settings.sqlite_path()
    if database is None:
        raise KeyEncryptionError(
            "set TOKENSMITH_KEY_ENCRYPTION_KEY (or TOKENSMITH_KEY_ENCRYPTION_KEY_FILE): "
            "a shared store needs the same key-encryption key on every node"
        )
    path = database.with_name(database.name + ".kek")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return _read_file(path)
        with os.fdopen(fd, "w") as handle:
            handle.write(generate_kek() + "\n")
    return _read_file(path)
