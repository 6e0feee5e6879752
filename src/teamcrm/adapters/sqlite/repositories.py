"""The SQLite unit's context, and the core repositories under their old import path.

The core repositories (one class per protocol of :mod:`teamcrm.ports`) are
shared with the PostgreSQL store and live in the SQL layer, one module per
concept: :mod:`teamcrm.adapters.sql.teams` (teams and members),
:mod:`~teamcrm.adapters.sql.contacts`, :mod:`~teamcrm.adapters.sql.companies`,
:mod:`~teamcrm.adapters.sql.buckets` (buckets and memberships),
:mod:`~teamcrm.adapters.sql.interactions` and :mod:`~teamcrm.adapters.sql.outbox`.
They are re-exported here; new code imports them from there.
"""

from __future__ import annotations

from teamcrm.adapters.sql.base import SQLContext, SQLRepository, translated
from teamcrm.adapters.sql.buckets import (
    SQLiteBuckets,
    SQLiteMemberships,
    bucket_columns,
    bucket_select,
)
from teamcrm.adapters.sql.companies import SQLiteCompanies
from teamcrm.adapters.sql.contacts import (
    CONTACT_CREATED_AT,
    CONTACT_WIDTH,
    INSERT_CONTACT,
    SQLiteContacts,
    contact_columns,
    contact_from_row,
)
from teamcrm.adapters.sql.contacts import ContactRows as ContactRows
from teamcrm.adapters.sql.contacts import insert_rows as insert_rows
from teamcrm.adapters.sql.interactions import SQLiteInteractions
from teamcrm.adapters.sql.outbox import SQLiteOutbox
from teamcrm.adapters.sql.outbox import event_json as event_json
from teamcrm.adapters.sql.teams import SQLiteMembers, SQLiteTeams
from teamcrm.adapters.sqlite.dialect import SQLITE

__all__ = [
    "CONTACT_COLUMNS",
    "CONTACT_CREATED_AT",
    "CONTACT_WIDTH",
    "INSERT_CONTACT",
    "SQLiteBuckets",
    "SQLiteCompanies",
    "SQLiteContacts",
    "SQLiteContext",
    "SQLiteInteractions",
    "SQLiteMembers",
    "SQLiteMemberships",
    "SQLiteOutbox",
    "SQLiteRepository",
    "SQLiteTeams",
    "bucket_columns",
    "bucket_select",
    "contact_columns",
    "contact_from_row",
    "translated",
]


class SQLiteContext(SQLContext):
    """The :class:`~teamcrm.adapters.sql.base.SQLContext` of a SQLite unit of work."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(SQLITE)


#: The shared repositories' base class, by its first name.
SQLiteRepository = SQLRepository


#: :func:`contact_columns` in the SQLite dialect.
CONTACT_COLUMNS = contact_columns(SQLITE)
