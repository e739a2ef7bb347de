"""The embedded store's files on disk: made only on purpose, and owner-only.

A SQLite store holds secret hashes and wrapped private keys, so its files (the
database, its `-wal` and `-shm` companions) are 0600 whatever the umask. SQLite gives
the companions the database file's own mode, so making the database 0600 is enough
for new files; older stores are tightened when a command opens them."""

from __future__ import annotations

import os
from pathlib import Path

OWNER_ONLY = 0o600
COMPANIONS = ("-wal", "-shm")


class StoreMissing(Exception):
    """The configured SQLite store does not exist (or is not a file)."""


def store_files(database: Path) -> list[Path]:
    """The database and whichever of its companion files exist."""
    companions = [database.with_name(database.name + suffix) for suffix in COMPANIONS]
    return [path for path in (database, *companions) if path.exists()]


def create_owner_only(path: Path, content: str = "") -> bool:
    """Makes `path` with mode 0600 (not left to the umask); False when it already
    exists (another process made it first). The directory must exist: a mistyped
    directory is not made silently."""
    if not path.parent.is_dir():
        raise StoreMissing(f"cannot create {path}: the directory {path.parent} does not exist")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), OWNER_ONLY)  # the umask may have removed owner bits
        handle.write(content)
    return True


def require_store(database: Path) -> None:
    """Refuses a missing store: opening it would make a new, empty one."""
    if not database.exists():
        raise StoreMissing(f"no store at {database}; create it with `tokensmith db upgrade`")
    if not database.is_file():
        raise StoreMissing(f"{database} is not a SQLite store file")


def restrict_modes(database: Path) -> None:
    """Makes the store's files owner-only, for stores made before they were made so."""
    for path in store_files(database):
        status = path.stat()
        # Only the owner may change a mode; someone else's file is theirs to fix.
        if status.st_mode & 0o077 and status.st_uid == os.getuid():
            path.chmod(status.st_mode & 0o700)
