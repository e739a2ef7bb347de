"""What every command needs: settings, a node on the prepared store, one-line errors."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import pydantic
import sqlalchemy as sa

from tokensmith.config import Settings
from tokensmith.domain.key_encryption import KeyEncryptionError
from tokensmith.node import Node
from tokensmith.service.changes import Changes
from tokensmith.service.clients import ClientNotFound
from tokensmith.service.keys import ensure_signing_key
from tokensmith.service.trusts import TrustNotFound
from tokensmith.store.database import upgrade
from tokensmith.store.kek_source import auto_kek_path, load_kek
from tokensmith.store.sqlite_files import StoreMissing, create_owner_only, require_store, restrict_modes

F = TypeVar("F", bound=Callable[..., Any])


class UserError(Exception):
    """A mistake in the command's input or the setup: one line, exit status 1."""


def fail(message: str) -> NoReturn:
    raise UserError(message)


def load_settings() -> Settings:
    try:
        return Settings()
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        fail(f"invalid setting TOKENSMITH_{where.upper()}: {first['msg']}")
    except (OSError, ValueError) as exc:
        fail(f"cannot read configuration: {exc}")


def open_node(settings: Settings | None = None, *, create: bool = False) -> Node:
    """A node on the configured store. A missing SQLite store is refused unless
    `create` (the commands that make a store on purpose): a mistyped path must not
    become a new, empty store with a new key-encryption key."""
    settings = settings or load_settings()
    # A malformed configured key-encryption key is the operator's first problem to
    # fix; report it before the store's database driver is even loaded.
    if auto_kek_path(settings) is None:
        load_kek(settings)
    database = settings.sqlite_path()
    if database is not None:
        _open_sqlite_files(settings, database, create)
    load_kek(settings)
    return Node.from_settings(settings)


def _open_sqlite_files(settings: Settings, database: Path, create: bool) -> None:
    try:
        if create and not database.exists():
            if not database.parent.is_dir():
                fail(f"cannot create the store at {database}: the directory {database.parent} does not exist")
            # The key first: an interrupted creation then leaves a key without a
            # store (harmless, used by the next try), never a store without its key.
            load_kek(settings, create=True)
            create_owner_only(database)
        require_store(database)
    except StoreMissing as exc:
        fail(str(exc))
    restrict_modes(database)


def prepared_node(settings: Settings | None = None, *, create: bool = False) -> Node:
    """A node whose store has the current schema and a signing key."""
    node = open_node(settings, create=create)
    upgrade(node.engine)
    ensure_signing_key(Changes.of_process(node))
    return node


def changes_on(node: Node) -> Changes:
    """Changes made by this command, for the OS user or TOKENSMITH_ACTOR."""
    return Changes.of_process(node)


def user_errors(command: F) -> F:
    """Turns expected failures into one line on stderr and a non-zero exit."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (UserError, ClientNotFound, TrustNotFound) as exc:
            _exit(str(exc))
        except (ValueError, KeyEncryptionError) as exc:
            _exit(str(exc))
        except ImportError as exc:
            # e.g. a postgresql+psycopg URL without the psycopg package installed
            _exit(f"the store's database driver is not installed: {exc.name or _first_line(exc)}")
        except sa.exc.OperationalError as exc:
            _exit(f"the store is not reachable: {_first_line(exc.orig)}")
        except sa.exc.SQLAlchemyError as exc:
            _exit(f"store error: {_first_line(exc)}")
        except OSError as exc:
            _exit(str(exc))

    return wrapper  # type: ignore[return-value]


def _first_line(exc: object) -> str:
    return re.sub(r"\s+", " ", str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)


def _exit(message: str) -> NoReturn:
    click.echo(f"tokensmith: {message}", err=True)
    sys.exit(1)


def local_base_url(host: str, port: int) -> str:
    """Where a client on this machine reaches `tokensmith serve`: a wildcard listen
    address is not one to connect to, and an IPv6 literal needs brackets (RFC 3986 §3.2.2)."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"
