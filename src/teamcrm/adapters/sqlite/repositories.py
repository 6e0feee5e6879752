"""The core repositories shared by the SQLite and the PostgreSQL store.

One class per protocol of :mod:`teamcrm.ports`, on the base of
:mod:`teamcrm.adapters.sql.base` (rules kept there: team scoping, versioned
writes, translated driver errors, id lists as one JSON array).  Statements
that differ between the databases are built from the unit's
:class:`~teamcrm.adapters.sql.dialect.Dialect`, once per dialect (cached
builders); the SQLite store's context is :class:`SQLiteContext`.
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
