"""Alembic's entry point. syncwell runs migrations itself (store/engine.py), on a connection it
passes in `config.attributes["connection"]`; there is no alembic.ini to keep in step."""

from __future__ import annotations

from alembic import context

from syncwell.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
