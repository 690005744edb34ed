"""Alembic environment: migrations run on the connection the store hands over."""

from __future__ import annotations

from alembic import context

from pipewarden.store.models import Base

_connection = context.config.attributes["connection"]
context.configure(connection=_connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
