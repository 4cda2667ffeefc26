"""Alembic environment: run by db.open_database (and by `alembic` for new revisions).

The connection is handed over in config.attributes["connection"]; nothing is read from an ini file.
"""

from __future__ import annotations

from alembic import context

from utanforskap.metodbank.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")

if connection is None:  # pragma: no cover - offline SQL generation
    context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
