"""The PostgreSQL store: for teams that outgrow one machine (``postgres`` extra).

>>> import teamcrm                                                # doctest: +SKIP
>>> crm = teamcrm.open("postgresql://crm:secret@db.internal/crm")  # doctest: +SKIP

It runs the release's migrations (the shared ones built for PostgreSQL from
:mod:`teamcrm.adapters.sql.schema`, the rest registered here in PostgreSQL's
own form) and the shared repositories of the SQL
layer (statements built with :data:`~teamcrm.adapters.postgres.dialect.POSTGRES`,
see :mod:`teamcrm.adapters.sql`) on psycopg 3 with a connection pool, plus
PostgreSQL versions of the few repositories whose races the database must
decide with row locks (see :mod:`.repositories` and
:mod:`.routing`).  See ``docs/scaling.md``.
"""

# Modules that register PostgreSQL versions of migrations (and define the
# repositories the core specs name for PostgreSQL).
from teamcrm.adapters.postgres import campaigns as _campaigns
from teamcrm.adapters.postgres import company_names as _company_names
from teamcrm.adapters.postgres import filters as _filters
from teamcrm.adapters.postgres import name_words as _name_words
from teamcrm.adapters.postgres import notifications as _notifications
from teamcrm.adapters.postgres import phones as _phones
from teamcrm.adapters.postgres import programs as _programs
from teamcrm.adapters.postgres import records as _records
from teamcrm.adapters.postgres import routing as _routing
from teamcrm.adapters.postgres import schema as _schema
from teamcrm.adapters.postgres import views as _views
from teamcrm.adapters.postgres.migrations import (
    register_postgres_migration,
    registered_postgres_migrations,
)
from teamcrm.adapters.postgres.store import (
    PGContext,
    PostgresStore,
    PostgresUnitOfWork,
    register_postgres_repository,
)

del (
    _campaigns,
    _company_names,
    _filters,
    _name_words,
    _notifications,
    _phones,
    _programs,
    _records,
    _routing,
    _schema,
    _views,
)

__all__ = [
    "PGContext",
    "PostgresStore",
    "PostgresUnitOfWork",
    "register_postgres_migration",
    "register_postgres_repository",
    "registered_postgres_migrations",
]
