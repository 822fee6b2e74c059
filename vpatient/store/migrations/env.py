"""Alembic environment: run with the connection handed over by vpatient.store (never a config file)."""

from alembic import context

from vpatient.store.tables import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
