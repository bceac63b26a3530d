"""Alembic environment: runs on the connection that storage.catalog hands over."""

from alembic import context

from storage.models import Base

# Tables in the catalog database that are not ours to migrate: APScheduler's job store.
_FOREIGN = {"apscheduler_jobs"}


def include_object(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and name in _FOREIGN)


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
