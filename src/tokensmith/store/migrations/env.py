"""Alembic environment: tokensmith passes the connection in (store/database.py)."""

from alembic import context

from tokensmith.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
