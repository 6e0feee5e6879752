"""The SQLite store: the embedded default (one file, many threads and processes).

>>> import teamcrm
>>> crm = teamcrm.open("sqlite://")        # private in-memory database
>>> team, admin = crm.create_team("Acme", admin_name="Ana")

Extending it (for later features): register tables with
:func:`register_migration` (``build=``: a function of the schema dialect, so
the PostgreSQL store builds the same tables); the migration registry lives
in the SQL layer (:mod:`teamcrm.adapters.sql.migrations`). Migrations both
stores share go in :mod:`teamcrm.adapters.sql.schema`; SQLite's own (FTS5,
triggers) in a module of this package imported below, so every process
knows every migration of the release. A new repository of teamcrm is a spec
in :data:`teamcrm.core_repositories.CORE_REPOSITORIES` (the store builds it
from there); an application's is a :class:`~teamcrm.repositories.RepositorySpec`
given to :func:`teamcrm.register_repository`.
"""

# Modules that register migrations (run in name order).
from teamcrm.adapters.sql import schema as _shared_schema  # noqa: F401 (the shared migrations)
from teamcrm.adapters.sqlite import campaigns as _campaigns  # 0440: after programs
from teamcrm.adapters.sqlite import consumers as _consumers  # outbox consumer positions
from teamcrm.adapters.sqlite import digests as _digests  # after notifications: extends it
from teamcrm.adapters.sqlite import filters as _filters  # 0430: the custom-field index
from teamcrm.adapters.sqlite import followups as _followups
from teamcrm.adapters.sqlite import grid as _grid  # the agent grid table (views ranks it)
from teamcrm.adapters.sqlite import intake as _intake
from teamcrm.adapters.sqlite import integrity as _integrity  # after routing: no dangling rows
from teamcrm.adapters.sqlite import name_words as _name_words  # 0460: the name-word index
from teamcrm.adapters.sqlite import names as _names  # 0230: name search tables
from teamcrm.adapters.sqlite import notifications as _notifications
from teamcrm.adapters.sqlite import phones as _phones
from teamcrm.adapters.sqlite import pool_reminders as _pool_reminders  # 0420: legacy tasks
from teamcrm.adapters.sqlite import programs as _programs
from teamcrm.adapters.sqlite import records as _records  # opportunities and cases
from teamcrm.adapters.sqlite import routing as _routing
from teamcrm.adapters.sqlite import schema as _schema  # registers the core migrations
from teamcrm.adapters.sqlite import views as _views
from teamcrm.adapters.sqlite.migrations import (
    Migration,
    register_migration,
    registered_migrations,
)
from teamcrm.adapters.sqlite.repositories import SQLiteContext, SQLiteRepository
from teamcrm.adapters.sqlite.store import (
    RepositoryFactory,
    SQLiteStore,
    SQLiteUnitOfWork,
    register_repository,
)

del _consumers, _schema, _followups, _grid, _intake, _integrity, _notifications, _digests
del (
    _campaigns,
    _filters,
    _name_words,
    _names,
    _phones,
    _pool_reminders,
    _programs,
    _records,
    _routing,
    _views,
)

__all__ = [
    "Migration",
    "RepositoryFactory",
    "SQLiteContext",
    "SQLiteRepository",
    "SQLiteStore",
    "SQLiteUnitOfWork",
    "register_migration",
    "register_repository",
    "registered_migrations",
]
