"""What every command needs: settings, a node on the prepared store, one-line errors."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click
import pydantic
import sqlalchemy as sa

from tokensmith.config import Settings
from tokensmith.domain.key_encryption import KeyEncryptionError
from tokensmith.node import Node
from tokensmith.store.database import upgrade

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


def prepared_node(settings: Settings | None = None) -> Node:
    """A node whose store has the current schema and a signing key."""
    node = Node.from_settings(settings or load_settings())
    upgrade(node.engine)
    node.ensure_signing_key()
    return node


def user_errors(command: F) -> F:
    """Turns expected failures into one line on stderr and a non-zero exit."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except UserError as exc:
            _exit(str(exc))
        except (ValueError, KeyEncryptionError) as exc:
            _exit(str(exc))
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
