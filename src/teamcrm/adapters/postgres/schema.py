"""PostgreSQL versions of the shared migrations that cannot be translated as they are.

``0200_views`` builds an SQLite FTS5 index of contact names (a virtual table
kept by triggers); PostgreSQL runs the rest of that migration (indexes,
saved filters) and answers name searches from the contacts table itself.
"""

from __future__ import annotations

from teamcrm.adapters.postgres.dialect import ddl_to_postgres
from teamcrm.adapters.postgres.migrations import register_postgres_migration
from teamcrm.adapters.sqlite.migrations import registered_migrations

__all__: list[str] = []

#: Migrations whose statements on the SQLite FTS index are left out on PostgreSQL.
_FTS_ONLY = {"0200_views": "contact_names"}

for _migration in registered_migrations():
    _marker = _FTS_ONLY.get(_migration.name)
    if _marker is not None:
        register_postgres_migration(
            _migration.name,
            *(ddl_to_postgres(s) for s in _migration.statements if _marker not in s),
        )
