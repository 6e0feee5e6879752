"""Indexed search filters: status, source and custom fields (issue 17).

Migration ``0430_filter_indexes`` adds

* ``contacts_by_team_status (team_id, status, created_at, id)`` and
  ``contacts_by_team_source (team_id, source, created_at, id)``: a search
  whose most selective criterion is the status (or the source) reads one
  range of the index in the search order (``created_at``, id) and stops
  after the page, however rare the status is in the team;
* ``contact_fields (contact_id, team_id, field, kind, value, created_at)``:
  one row per custom field of every contact, written by triggers on
  ``contacts`` (insert, update of ``custom_fields``, delete), so every path
  that writes a contact (the repositories, a merge, an import, a raw
  insert) keeps it.  ``kind`` is the JSON type (``string``, ``number``,
  ``boolean``, ``null``: the names of PostgreSQL's ``jsonb_typeof``) and
  ``value`` the value as ``json_each`` gives it (booleans as 1/0), so
  ``kind = ? AND value = ?`` is exactly :func:`teamcrm.search.matches`'
  comparison (``1`` equals ``1.0``, ``true`` never equals ``1``).  Two
  indexes give the search order directly: ``contact_fields_by_value (team_id,
  field, kind, value, created_at, contact_id)`` for ``field = value`` and
  ``contact_fields_by_field (team_id, field, created_at, contact_id)`` for
  "the field is set".

A side table rather than expression indexes: an expression index needs the
field's name in its definition (``json_extract(custom_fields, '$.plan')``),
and custom fields are named by each team at run time.

The search's criterion is shared with the PostgreSQL store and lives in
:mod:`teamcrm.adapters.sql.filters`; this module keeps the SQLite migrations
and re-exports it under its old import path.
"""

from __future__ import annotations

from teamcrm.adapters.sql.filters import FIELD_ORDER, field_kind, field_source
from teamcrm.adapters.sqlite.migrations import register_migration

__all__ = ["FIELD_ORDER", "field_kind", "field_source"]

_KIND = (
    "CASE j.type WHEN 'text' THEN 'string' WHEN 'integer' THEN 'number'"
    " WHEN 'real' THEN 'number' WHEN 'true' THEN 'boolean' WHEN 'false' THEN 'boolean'"
    " ELSE j.type END"
)


def _fill(row: str) -> str:
    return (
        "INSERT INTO contact_fields (contact_id, team_id, field, kind, value, created_at)"
        f" SELECT {row}.id, {row}.team_id, j.key, {_KIND}, j.value, {row}.created_at"
        f" FROM json_each({row}.custom_fields) j"
    )


register_migration(
    "0430_filter_indexes",
    "CREATE INDEX contacts_by_team_status ON contacts (team_id, status, created_at, id)",
    "CREATE INDEX contacts_by_team_source ON contacts (team_id, source, created_at, id)",
    """CREATE TABLE contact_fields (
        contact_id TEXT NOT NULL,
        team_id TEXT NOT NULL,
        field TEXT NOT NULL,
        kind TEXT NOT NULL,
        value,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (contact_id, field)
    )""",
    "CREATE INDEX contact_fields_by_value"
    " ON contact_fields (team_id, field, kind, value, created_at, contact_id)",
    "CREATE INDEX contact_fields_by_field"
    " ON contact_fields (team_id, field, created_at, contact_id)",
    f"""CREATE TRIGGER contact_fields_insert AFTER INSERT ON contacts
        WHEN new.custom_fields <> '{{}}' BEGIN
        {_fill("new")};
    END""",
    f"""CREATE TRIGGER contact_fields_update AFTER UPDATE OF custom_fields, created_at, team_id
        ON contacts WHEN old.custom_fields IS NOT new.custom_fields
        OR old.created_at IS NOT new.created_at OR old.team_id IS NOT new.team_id BEGIN
        DELETE FROM contact_fields WHERE contact_id = old.id;
        {_fill("new")};
    END""",
    """CREATE TRIGGER contact_fields_delete AFTER DELETE ON contacts BEGIN
        DELETE FROM contact_fields WHERE contact_id = old.id;
    END""",
    _fill("c").replace("FROM json_each", "FROM contacts c, json_each"),
)

#: SQLite's name index is FTS5 ``trigram`` already (``0230_name_words``); PostgreSQL's
#: ``0431`` adds a pg_trgm index (:mod:`teamcrm.adapters.postgres.filters`).  Here the
#: migration gathers the statistics of ``contact_fields``.
register_migration("0431_name_trigrams", "ANALYZE contact_fields")
