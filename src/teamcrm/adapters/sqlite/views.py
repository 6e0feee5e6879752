"""SQLite storage for search, saved filters, the agent grid and insights.

Migration ``0200_views`` adds:

* ``contact_names`` (replaced by ``contact_words`` in migration
  ``0230_name_words``, :mod:`teamcrm.adapters.sqlite.names`, because
  ``unicode61`` folds Greek and Cyrillic differently from
  :func:`teamcrm.search.fold`): a contentless FTS5 index of every contact's
  "first last" name (``unicode61``, diacritics removed, prefix indexes of 2
  and 3 characters), keyed by the contact's rowid and kept in step with
  ``contacts`` by triggers.  The triggers first fold the letters Unicode
  does not decompose (``Ł`` → ``l``, ``ß`` → ``ss``...,
  :data:`teamcrm.search.FOLD_EXTRAS`), so the index folds names the way
  :func:`teamcrm.search.fold` does.  A name search is an FTS phrase-prefix
  query (``"zoe kow"*``): no contact is read that does not match.
* ``contacts_by_team_created_id (team_id, created_at, id)``: the search
  order, so a page is an index range scan, never a sort of the team.
* ``touches_team_by_at (team_id, at)``: the last-contacted range.
* ``saved_filters``: the saved queries as JSON made by ``teamcrm.converter``.

Every other criterion uses the indexes of the core tables (emails by
address key, phones by normalised number, company links, memberships).

The agent grid's own table, ``lead_grid`` (migrations ``0210`` and ``0211``),
its triggers and its ranking SQL live in :mod:`teamcrm.adapters.sqlite.grid`;
:meth:`SQLiteViews.grid_page` runs that ranking (see ``docs/views.md``).

The repositories' code is shared with the PostgreSQL store and lives in
:mod:`teamcrm.adapters.sql.views` (``SQLViews``) and
:mod:`teamcrm.adapters.sql.saved_filters`; this module keeps the SQLite
migrations and re-exports the repositories under their old import path
(the store builds them from :data:`teamcrm.core_repositories.CORE_REPOSITORIES`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from teamcrm.adapters.sql.base import translated
from teamcrm.adapters.sql.codec import dumps, to_micros
from teamcrm.adapters.sql.migrations import register_migration
from teamcrm.adapters.sql.saved_filters import SQLiteSavedFilters
from teamcrm.adapters.sql.schema.views import views_tables
from teamcrm.adapters.sql.views import SQLViews
from teamcrm.adapters.sqlite.grid import grid_rank_sql
from teamcrm.adapters.sqlite.names import NameSearch
from teamcrm.ids import MemberId, TeamId
from teamcrm.pool import PoolId
from teamcrm.search import FOLD_EXTRAS
from teamcrm.views import GridFacts

__all__ = [
    "SQLiteSavedFilters",
    "SQLiteViews",
    "folded_name_sql",
]

_US = timedelta(microseconds=1)


def folded_name_sql(row: str) -> str:
    """The SQL expression of the text indexed for a contact row alias (``new``/``old``)."""
    expr = f"({row}.first_name || ' ' || {row}.last_name)"
    for char, repl in FOLD_EXTRAS.items():
        expr = f"replace({expr}, '{char}', '{repl}')"
    return expr


_NEW = folded_name_sql("new")
_OLD = folded_name_sql("old")

register_migration(
    "0200_views",
    """CREATE VIRTUAL TABLE contact_names USING fts5(
        name, content='', tokenize='unicode61 remove_diacritics 2', prefix='2 3'
    )""",
    f"""CREATE TRIGGER contact_names_insert AFTER INSERT ON contacts BEGIN
        INSERT INTO contact_names (rowid, name) VALUES (new.rowid, {_NEW});
    END""",
    f"""CREATE TRIGGER contact_names_update AFTER UPDATE OF first_name, last_name ON contacts
    BEGIN
        INSERT INTO contact_names (contact_names, rowid, name) VALUES ('delete', old.rowid, {_OLD});
        INSERT INTO contact_names (rowid, name) VALUES (new.rowid, {_NEW});
    END""",
    f"""CREATE TRIGGER contact_names_delete AFTER DELETE ON contacts BEGIN
        INSERT INTO contact_names (contact_names, rowid, name) VALUES ('delete', old.rowid, {_OLD});
    END""",
    f"INSERT INTO contact_names (rowid, name) SELECT rowid, {folded_name_sql('c')} FROM contacts c",
    build=views_tables,
)


class SQLiteViews(NameSearch, SQLViews):
    """Search, grid and insight queries on SQLite (the shared :class:`SQLViews`).

    Names are searched through SQLite's name-word index (:class:`NameSearch`)
    and the agent grid is ranked over the ``lead_grid`` table its triggers keep.
    """

    @translated
    def grid_page(
        self,
        team_id: TeamId,
        *,
        status: str | None,
        assignee_id: MemberId | None,
        pool_id: PoolId | None,
        now: datetime,
        window: timedelta,
        first_status: str,
        limit: int,
    ) -> list[GridFacts]:
        """The *limit* worst facts that match, worst first; see the port.

        Ranked by :func:`grid_rank_sql` over ``lead_grid`` (one range of its
        primary key), then the picked leads' facts are read exactly as
        :meth:`grid_facts` reads them.
        """
        at = to_micros(now)
        span = window // _US
        params: dict[str, Any] = {
            "team": team_id,
            "pool": pool_id,
            "status": status,
            "owner": assignee_id,
            "now": at,
            "window": span,
            "cut": at - span,
            "first": first_status,
            "limit": limit,
        }
        sql = grid_rank_sql(
            pool=pool_id is not None, status=status is not None, owner=assignee_id is not None
        )
        picked = [(lead, owner) for lead, owner in self._conn.execute(sql, params)]
        if not picked:
            return []
        facts = self._facts(
            f"l.team_id = :team AND {self._dialect.ids_in('l.id', ':ids')}",
            {"team": team_id, "ids": dumps(sorted({lead for lead, _ in picked}))},
            now,
        )
        by_key = {(f.lead_id, f.assignee_id or ""): f for f in facts}
        return [by_key[key] for key in picked if key in by_key]
