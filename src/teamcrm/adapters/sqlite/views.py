"""SQLite storage for search, saved filters, the agent grid and insights.

Migration ``0200_views`` adds:

* ``contact_names``: a contentless FTS5 index of every contact's
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

Migration ``0210_lead_grid`` adds ``lead_grid``: one row per open lead and
owner with what the agent grid ranks by (static red flags, start, latest
scheduled instant, the owner's acted wait), kept by triggers on the core
tables and backfilled for existing databases; :meth:`SQLiteViews.grid_page`
ranks it with :func:`grid_rank_sql` (see ``docs/views.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from teamcrm.adapters.sqlite.codec import dumps, from_micros, loads, to_micros
from teamcrm.adapters.sqlite.migrations import register_migration
from teamcrm.adapters.sqlite.repositories import (
    CONTACT_COLUMNS,
    SQLiteContext,
    SQLiteMembers,
    SQLiteRepository,
    contact_from_row,
    translated,
)
from teamcrm.adapters.sqlite.store import register_repository
from teamcrm.contact import Contact
from teamcrm.converter import converter
from teamcrm.errors import NotFound
from teamcrm.ids import ContactId, MemberId, TeamId
from teamcrm.pool import PoolId
from teamcrm.search import FOLD_EXTRAS, ContactQuery, SavedFilter, SavedFilterId, SearchScope
from teamcrm.team import Member
from teamcrm.views import GridFacts, day_start

__all__ = [
    "LEAD_GRID_COLUMNS",
    "LEAD_GRID_ROWS_SQL",
    "SQLiteSavedFilters",
    "SQLiteViews",
    "folded_name_sql",
    "grid_rank_sql",
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
    "CREATE INDEX contacts_by_team_created_id ON contacts (team_id, created_at, id)",
    "CREATE INDEX touches_team_by_at ON touches_team (team_id, at)",
    """CREATE TABLE saved_filters (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        name TEXT NOT NULL,
        shared INTEGER NOT NULL,
        query TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX saved_filters_by_owner ON saved_filters (team_id, owner_id)",
    "CREATE INDEX saved_filters_shared ON saved_filters (team_id) WHERE shared = 1",
)


# ------------------------------------------------------------------ agent grid
#: ``latest_at`` of a contact with nothing scheduled (before any instant).
_NO_TIME = -9223372036854775807
#: ``acted_wait`` of a row whose owner has not acted yet (or that has no owner).
_NOT_YET = 9223372036854775807


def _red_phone(contact: str) -> str:
    """1 when the contact has phone numbers and none is validated."""
    return (
        "coalesce((SELECT max(p.validated) FROM contact_phones p"
        f" WHERE p.contact_id = {contact}) = 0, 0)"
    )


def _red_email(contact: str) -> str:
    """1 when the contact has email addresses and none is validated."""
    return (
        "coalesce((SELECT max(e.validated) FROM contact_emails e"
        f" WHERE e.contact_id = {contact}) = 0, 0)"
    )


def _red_note(team: str, contact: str) -> str:
    """1 when no note of the team is filed under the contact."""
    return (
        "NOT EXISTS (SELECT 1 FROM interaction_targets x"
        " JOIN interactions i ON i.id = x.interaction_id"
        f" WHERE x.team_id = {team} AND x.target_id = {contact} AND i.kind = 'note')"
    )


def _latest(team: str, contact: str, *, v1: bool = False) -> str:
    """The latest scheduled instant: an open task's due time or a follow-up date's start.

    The follow-up dates are read by ``followup_dues_by_contact``: without
    statistics the planner prefers the covering index by member, which reads
    every due date of the team (*v1*: the frozen text of ``0210``, without).
    """
    dues = "followup_dues d" if v1 else "followup_dues d INDEXED BY followup_dues_by_contact"
    return (
        "max("
        f"coalesce((SELECT max(t.due_at) FROM tasks t WHERE t.team_id = {team}"
        f" AND t.contact_id = {contact} AND t.status = 'open'), {_NO_TIME}),"
        " coalesce((SELECT CAST(strftime('%s', max(d.due_on)) AS INTEGER) * 1000000"
        f" FROM {dues} WHERE d.team_id = {team} AND d.contact_id = {contact}),"
        f" {_NO_TIME}))"
    )


def _first_action(team: str, contact: str, owner: str, since: str) -> str:
    """The owner's first interaction with the contact at or after *since*."""
    return (
        "(SELECT min(x.occurred_at) FROM interaction_targets x"
        " JOIN interactions i ON i.id = x.interaction_id"
        f" WHERE x.team_id = {team} AND x.target_id = {contact}"
        f" AND x.occurred_at >= {since} AND i.author_id = {owner})"
    )


#: The stored columns of ``lead_grid`` (those the triggers write), in table order.
LEAD_GRID_COLUMNS = (
    "team_id",
    "pool_key",
    "lead_id",
    "owner",
    "contact_id",
    "status",
    "red_phone",
    "red_email",
    "red_note",
    "start_at",
    "owned",
    "latest_at",
    "acted_wait",
)
_INSERT_GRID = f"INSERT OR REPLACE INTO lead_grid ({', '.join(LEAD_GRID_COLUMNS)})"


def _grid_rows(where: str, *, v1: bool = False) -> str:
    """(Re)write the ``lead_grid`` rows of the open leads matching *where* (on ``l``)."""
    return f"""INSERT OR REPLACE INTO lead_grid (team_id, pool_key, lead_id, owner, contact_id,
        status, red_phone, red_email, red_note, start_at, owned, latest_at, acted_wait)
    {_grid_select(where, v1=v1)}"""


def _grid_select(where: str, *, v1: bool = False) -> str:
    """The ``lead_grid`` rows (stored columns, in order) of the open leads matching *where*."""
    return f"""SELECT l.team_id, l.pool_key, l.id, coalesce(j.value, ''), c.id, c.status,
        {_red_phone("c.id")}, {_red_email("c.id")}, {_red_note("l.team_id", "c.id")},
        CASE WHEN j.value IS NULL OR l.assigned_at IS NULL THEN l.created_at
            ELSE l.assigned_at END,
        j.value IS NOT NULL AND l.assigned_at IS NOT NULL,
        {_latest("l.team_id", "c.id", v1=v1)},
        CASE WHEN j.value IS NULL OR l.assigned_at IS NULL THEN {_NOT_YET} ELSE coalesce(
            {_first_action("l.team_id", "c.id", "j.value", "l.assigned_at")} - l.assigned_at,
            {_NOT_YET}) END
    FROM leads l LEFT JOIN json_each(l.assignee_ids) j
    JOIN contacts c ON c.id = l.contact_id
    WHERE l.is_open = 1 AND {where}"""


def _lead_rows(facts: str) -> str:
    """Write the rows of the lead ``new``, one per owner, from one row of contact *facts*.

    *facts* is a ``FROM`` source (aliased ``f``) giving ``contact_id, status,
    red_phone, red_email, red_note, latest_at`` once for the lead; its
    ``LIMIT 1`` keeps it from being merged into the join, so those are
    computed once per lead, not once per owner.  Only the owner's columns
    (start, owned, acted wait) are computed per owner.
    """
    unowned = "j.value IS NULL OR new.assigned_at IS NULL"
    first = _first_action("new.team_id", "f.contact_id", "j.value", "new.assigned_at")
    return f"""{_INSERT_GRID}
    SELECT new.team_id, new.pool_key, new.id, coalesce(j.value, ''), f.contact_id, f.status,
        f.red_phone, f.red_email, f.red_note,
        CASE WHEN {unowned} THEN new.created_at ELSE new.assigned_at END,
        j.value IS NOT NULL AND new.assigned_at IS NOT NULL,
        f.latest_at,
        CASE WHEN {unowned} THEN {_NOT_YET}
            ELSE coalesce({first} - new.assigned_at, {_NOT_YET}) END
    FROM {facts} LEFT JOIN json_each(new.assignee_ids) j
    WHERE new.is_open = 1"""


#: The contact facts of the lead ``new``, computed from the core tables.
_NEW_LEAD_FACTS = f"""(SELECT c.id AS contact_id, c.status AS status,
        {_red_phone("c.id")} AS red_phone, {_red_email("c.id")} AS red_email,
        {_red_note("new.team_id", "c.id")} AS red_note,
        {_latest("new.team_id", "c.id")} AS latest_at
    FROM contacts c WHERE c.id = new.contact_id LIMIT 1) f"""
#: The contact facts of the lead ``new``, copied from one of its rows.
_KEPT_LEAD_FACTS = """(SELECT contact_id, status, red_phone, red_email, red_note, latest_at
    FROM lead_grid WHERE team_id = new.team_id AND pool_key = new.pool_key
    AND lead_id = new.id LIMIT 1) f"""
#: The rows of the lead ``new`` whose owner it no longer has.
_DROP_FORMER_OWNERS = """DELETE FROM lead_grid WHERE team_id = new.team_id
    AND pool_key = new.pool_key AND lead_id = new.id
    AND owner NOT IN (SELECT coalesce(j.value, '') FROM (SELECT 1) LEFT JOIN
        json_each(new.assignee_ids) j)"""


def _contact_touches(match: str) -> str:
    """Recompute the note flag and first actions of the rows whose ``contact_id`` *match*."""
    g = "lead_grid"
    return f"""UPDATE lead_grid SET
        red_note = {_red_note(f"{g}.team_id", f"{g}.contact_id")},
        acted_wait = CASE WHEN owned THEN coalesce(
            {_first_action(f"{g}.team_id", f"{g}.contact_id", f"{g}.owner", f"{g}.start_at")}
            - start_at, {_NOT_YET}) ELSE {_NOT_YET} END
    WHERE contact_id {match}"""


def _contact_latest(contact: str, *, v1: bool = False) -> str:
    """Recompute the latest scheduled instant of the contact's rows."""
    latest = _latest("lead_grid.team_id", "lead_grid.contact_id", v1=v1)
    return f"UPDATE lead_grid SET latest_at = {latest} WHERE contact_id = {contact}"


def _trigger(name: str, event: str, *body: str, when: str = "") -> str:
    condition = f" WHEN {when}" if when else ""
    statements = "".join(f"\n        {b};" for b in body)
    return f"CREATE TRIGGER {name} {event}{condition} BEGIN{statements}\n    END"


def _changed(*columns: str) -> str:
    return " OR ".join(f"old.{c} IS NOT new.{c}" for c in columns)


_LEAD_COLUMNS = (
    "team_id",
    "pool_key",
    "contact_id",
    "is_open",
    "assignee_ids",
    "assigned_at",
    "created_at",
)
#: Lead columns whose change moves the lead's rows (or makes or ends them).
_LEAD_PLACE = ("team_id", "pool_key", "contact_id", "is_open")
#: Lead columns whose change touches only the owners' columns.
_LEAD_OWNERS = ("assignee_ids", "assigned_at", "created_at")
_DELETE_LEAD = (
    "DELETE FROM lead_grid WHERE team_id = old.team_id AND pool_key = old.pool_key"
    " AND lead_id = old.id"
)


def _child_triggers(table: str, flag: str, expr: Callable[[str], str]) -> list[str]:
    """Triggers keeping *flag* of a contact's rows in step with a child table (phones, emails)."""

    def update(row: str) -> str:
        contact = f"{row}.contact_id"
        return f"UPDATE lead_grid SET {flag} = {expr(contact)} WHERE contact_id = {contact}"

    return [
        _trigger(f"lead_grid_{table}_insert", f"AFTER INSERT ON {table}", update("new")),
        _trigger(f"lead_grid_{table}_delete", f"AFTER DELETE ON {table}", update("old")),
        _trigger(
            f"lead_grid_{table}_update",
            f"AFTER UPDATE OF contact_id, validated ON {table}",
            update("old"),
            update("new"),
            when=_changed("contact_id", "validated"),
        ),
    ]


def _latest_triggers(table: str, columns: Sequence[str], *, v1: bool = False) -> list[str]:
    """Triggers keeping ``latest_at`` in step with tasks and follow-up due dates."""
    return [
        _trigger(
            f"lead_grid_{table}_insert",
            f"AFTER INSERT ON {table}",
            _contact_latest("new.contact_id", v1=v1),
        ),
        _trigger(
            f"lead_grid_{table}_delete",
            f"AFTER DELETE ON {table}",
            _contact_latest("old.contact_id", v1=v1),
        ),
        _trigger(
            f"lead_grid_{table}_update",
            f"AFTER UPDATE OF {', '.join(columns)} ON {table}",
            _contact_latest("old.contact_id", v1=v1),
            _contact_latest("new.contact_id", v1=v1),
            when=_changed(*columns),
        ),
    ]


def _targets(row: str) -> str:
    """``IN`` the targets of an interaction (for its own triggers)."""
    return f"IN (SELECT target_id FROM interaction_targets WHERE interaction_id = {row}.id)"


def _lead_triggers(*, v1: bool = False) -> list[str]:
    """The triggers on ``leads`` (*v1*: those of ``0210``, which rebuild every row)."""
    if v1:
        return [
            _trigger(
                "lead_grid_leads_insert",
                "AFTER INSERT ON leads",
                _grid_rows("l.id = new.id", v1=True),
                when="new.is_open = 1",
            ),
            _trigger(
                "lead_grid_leads_update",
                f"AFTER UPDATE OF {', '.join(_LEAD_COLUMNS)} ON leads",
                _DELETE_LEAD,
                _grid_rows("l.id = new.id", v1=True),
                when=_changed(*_LEAD_COLUMNS),
            ),
            _trigger("lead_grid_leads_delete", "AFTER DELETE ON leads", _DELETE_LEAD),
        ]
    return [
        _trigger(
            "lead_grid_leads_insert",
            "AFTER INSERT ON leads",
            _lead_rows(_NEW_LEAD_FACTS),
            when="new.is_open = 1",
        ),
        # moved, opened or closed: the rows go, and come back from the core tables
        _trigger(
            "lead_grid_leads_update",
            f"AFTER UPDATE OF {', '.join(_LEAD_PLACE)} ON leads",
            _DELETE_LEAD,
            _lead_rows(_NEW_LEAD_FACTS),
            when=_changed(*_LEAD_PLACE),
        ),
        # only the owners or their times changed: the contact's facts are copied
        _trigger(
            "lead_grid_leads_owners",
            f"AFTER UPDATE OF {', '.join(_LEAD_OWNERS)} ON leads",
            _lead_rows(_KEPT_LEAD_FACTS),
            _DROP_FORMER_OWNERS,
            when=f"new.is_open = 1 AND ({_changed(*_LEAD_OWNERS)})"
            f" AND NOT ({_changed(*_LEAD_PLACE)})",
        ),
        _trigger("lead_grid_leads_delete", "AFTER DELETE ON leads", _DELETE_LEAD),
    ]


def _grid_triggers(*, v1: bool = False) -> list[str]:
    """Every trigger keeping ``lead_grid`` (*v1*: as ``0210`` made them)."""
    return [
        # leads
        *_lead_triggers(v1=v1),
        # contacts
        _trigger(
            "lead_grid_contacts_insert",
            "AFTER INSERT ON contacts",
            _grid_rows("l.team_id = new.team_id AND l.contact_id = new.id", v1=v1),
            when="EXISTS (SELECT 1 FROM leads WHERE team_id = new.team_id"
            " AND contact_id = new.id AND is_open = 1)",
        ),
        _trigger(
            "lead_grid_contacts_status",
            "AFTER UPDATE OF status ON contacts",
            "UPDATE lead_grid SET status = new.status WHERE contact_id = new.id",
            when="old.status IS NOT new.status",
        ),
        _trigger(
            "lead_grid_contacts_delete",
            "AFTER DELETE ON contacts",
            "DELETE FROM lead_grid WHERE contact_id = old.id",
        ),
        # phones and emails
        *_child_triggers("contact_phones", "red_phone", _red_phone),
        *_child_triggers("contact_emails", "red_email", _red_email),
        # notes and first actions
        _trigger(
            "lead_grid_interaction_targets_insert",
            "AFTER INSERT ON interaction_targets",
            "UPDATE lead_grid SET red_note = 0 WHERE contact_id = new.target_id"
            " AND team_id = new.team_id AND red_note = 1 AND EXISTS (SELECT 1 FROM interactions"
            " WHERE id = new.interaction_id AND kind = 'note')",
            "UPDATE lead_grid SET acted_wait = new.occurred_at - start_at"
            " WHERE contact_id = new.target_id AND team_id = new.team_id AND owned = 1"
            " AND start_at <= new.occurred_at AND acted_wait > new.occurred_at - start_at"
            " AND owner = (SELECT author_id FROM interactions WHERE id = new.interaction_id)",
        ),
        _trigger(
            "lead_grid_interaction_targets_delete",
            "AFTER DELETE ON interaction_targets",
            _contact_touches("= old.target_id"),
        ),
        _trigger(
            "lead_grid_interaction_targets_update",
            "AFTER UPDATE OF interaction_id, target_id, team_id, occurred_at"
            " ON interaction_targets",
            _contact_touches("= old.target_id"),
            _contact_touches("= new.target_id"),
            when=_changed("interaction_id", "target_id", "team_id", "occurred_at"),
        ),
        _trigger(
            "lead_grid_interactions_insert",
            "AFTER INSERT ON interactions",
            _contact_touches(_targets("new")),
        ),
        _trigger(
            "lead_grid_interactions_update",
            "AFTER UPDATE OF team_id, kind, author_id ON interactions",
            _contact_touches(_targets("new")),
            when=_changed("team_id", "kind", "author_id"),
        ),
        _trigger(
            "lead_grid_interactions_delete",
            "AFTER DELETE ON interactions",
            _contact_touches(_targets("old")),
        ),
        # tasks and follow-up due dates
        *_latest_triggers("tasks", ("team_id", "contact_id", "status", "due_at"), v1=v1),
        *_latest_triggers("followup_dues", ("team_id", "contact_id", "due_on"), v1=v1),
    ]


_GRID_TABLE_V1 = """CREATE TABLE lead_grid (
        team_id TEXT NOT NULL,
        pool_key TEXT NOT NULL,
        lead_id TEXT NOT NULL,
        owner TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        status TEXT NOT NULL,
        red_phone INTEGER NOT NULL,
        red_email INTEGER NOT NULL,
        red_note INTEGER NOT NULL,
        start_at INTEGER NOT NULL,
        owned INTEGER NOT NULL,
        latest_at INTEGER NOT NULL,
        acted_wait INTEGER NOT NULL,
        PRIMARY KEY (team_id, pool_key, lead_id, owner)
    ) WITHOUT ROWID"""
#: ``0211``: the same stored columns, and three the ranking reads instead of
#: computing them for every row (``reds``: the static red flags; ``owner_wait``:
#: the acted wait of an owned row, -1 without owner; ``acted_at``: the owner's
#: first action, the sentinel while there is none).
_GRID_TABLE = _GRID_TABLE_V1.replace(
    "        PRIMARY KEY",
    "        reds INTEGER GENERATED ALWAYS AS (red_phone + red_email + red_note) STORED,\n"
    "        owner_wait INTEGER GENERATED ALWAYS AS"
    " (CASE WHEN owner = '' THEN -1 ELSE acted_wait END) STORED,\n"
    "        acted_at INTEGER GENERATED ALWAYS AS (CASE WHEN acted_wait ="
    f" {_NOT_YET} THEN {_NOT_YET} ELSE start_at + acted_wait END) STORED,\n"
    "        PRIMARY KEY",
)
_GRID_INDEX = "CREATE INDEX lead_grid_by_contact ON lead_grid (contact_id)"

register_migration(
    "0210_lead_grid",
    _GRID_TABLE_V1,
    _GRID_INDEX,
    *_grid_triggers(v1=True),
    # the leads that are open already
    _grid_rows("1", v1=True),
)


def _trigger_name(statement: str) -> str:
    return statement.split()[2]


register_migration(
    "0211_lead_grid_rank",
    *(f"DROP TRIGGER IF EXISTS {_trigger_name(t)}" for t in _grid_triggers(v1=True)),
    "DROP TABLE lead_grid",
    _GRID_TABLE,
    _GRID_INDEX,
    *_grid_triggers(),
    _grid_rows("1"),
)

#: Every row ``lead_grid`` must hold (its :data:`LEAD_GRID_COLUMNS`), computed
#: from the core tables (what the backfill writes; the triggers keep the table
#: equal to it, and tests check so).
LEAD_GRID_ROWS_SQL = _grid_select("1")

#: The agent grid's ranking over ``lead_grid``; see :func:`grid_rank_sql`.
_RANK_SQL = """
SELECT lead_id, owner FROM lead_grid WHERE team_id = :team{filters}
ORDER BY reds + (latest_at <= :now) + CASE WHEN start_at < :cut
        THEN (status = :first) + (owner_wait > :window) ELSE 0 END DESC,
    CASE WHEN acted_at < :now THEN acted_wait
        WHEN start_at < :now THEN :now - start_at ELSE 0 END DESC,
    contact_id, lead_id, owner
LIMIT :limit"""


def grid_rank_sql(*, pool: bool, status: bool, owner: bool) -> str:
    """The agent grid's ranking query over ``lead_grid``, with the filters asked for.

    Parameters: ``:team``, ``:pool``, ``:status``, ``:owner`` (the filters
    given), ``:now``, ``:window`` and ``:cut`` (``now - window``) in
    microseconds, ``:first`` (the first status) and ``:limit``.  It returns
    the (lead id, owner) of the worst rows in :func:`teamcrm.views.grid_score`
    order: the red signals are the stored ones (``reds``) plus the three that
    depend on the time (nothing scheduled after now; past the window, still
    in the first status; past the window, an owner who has not acted within
    it), the wait is the acted wait if the owner acted before now, else the
    time since the start (never below zero).  One range of the primary key;
    each row costs a few integer tests, no function call.
    """
    filters = "".join(
        clause
        for wanted, clause in (
            (pool, " AND pool_key = :pool"),
            (status, " AND status = :status"),
            (owner, " AND owner = :owner"),
        )
        if wanted
    )
    return _RANK_SQL.format(filters=filters)


def _json_type(value: Any) -> tuple[str, ...]:
    """The ``json_type`` names a stored custom-field value may have to equal *value*."""
    if value is True:
        return ("true",)
    if value is False:
        return ("false",)
    if isinstance(value, str):
        return ("text",)
    return ("integer", "real")


def _search_order(row: Sequence[Any]) -> tuple[Any, Any]:
    """The search order of a contact row: ``created_at``, then id."""
    return row[8], row[0]


class SQLiteViews(SQLiteRepository):
    """Search, grid and insight queries in SQL.

    :meth:`search` reads the page's contacts with their newest touch in one
    statement and keeps the touches, so :meth:`last_contacted` of those
    contacts right after (nothing written in between, as ``total_changes``
    shows) needs no statement.
    """

    kind = "contact"

    def __init__(self, ctx: SQLiteContext) -> None:
        super().__init__(ctx)
        #: (team, the connection's total_changes, touch micros by contact) of the last search.
        self._touched: tuple[str, int | None, dict[str, int | None]] | None = None

    @translated
    def search(
        self,
        team_id: TeamId,
        query: ContactQuery,
        *,
        scope: SearchScope | None,
        after: tuple[datetime, ContactId] | None,
        limit: int,
    ) -> list[Contact]:
        """Return up to *limit* matching contacts by (``created_at``, id); see the port."""
        q = query
        where = ["c.team_id = :team"]
        params: dict[str, Any] = {"team": team_id, "limit": limit}
        # The most selective criterion drives the query (CROSS JOIN keeps that order).
        driver = ""
        if q.phone is not None:
            driver = (
                "SELECT contact_id AS cid FROM contact_phones"
                " WHERE team_id = :team AND number = :phone"
            )
        elif q.email is not None:
            driver = (
                "SELECT contact_id AS cid FROM contact_emails"
                " WHERE team_id = :team AND address_key = :email"
            )
        if q.phone is not None:
            params["phone"] = q.phone
            if driver.find(":phone") < 0:
                where.append(
                    "c.id IN (SELECT contact_id FROM contact_phones"
                    " WHERE team_id = :team AND number = :phone)"
                )
        if q.email is not None:
            params["email"] = q.email_key
            if driver.find(":email") < 0:
                where.append(
                    "c.id IN (SELECT contact_id FROM contact_emails"
                    " WHERE team_id = :team AND address_key = :email)"
                )
        prefix = q.name_prefix
        name_driver = ""
        if prefix is not None:
            name_filter, name_source, params["fts"] = self._name_criterion(prefix)
            if driver:
                where.append(name_filter)
            else:
                name_driver = name_source
        if q.company_id is not None:
            params["company"] = q.company_id
            where.append(
                "c.id IN (SELECT contact_id FROM contact_companies"
                " WHERE team_id = :team AND company_id = :company)"
            )
        if q.status is not None:
            params["status"] = q.status
            where.append("c.status = :status")
        if q.source is not None:
            params["source"] = q.source
            where.append("c.source = :source")
        if q.bucket_id is not None:
            params["bucket"] = q.bucket_id
            where.append(
                "c.id IN (SELECT item_id FROM memberships"
                " WHERE team_id = :team AND bucket_id = :bucket)"
            )
        if q.assignee_id is not None:
            params["assignee"] = q.assignee_id
            where.append(
                "c.id IN (SELECT l.contact_id FROM leads l, json_each(l.assignee_ids) j"
                " WHERE l.team_id = :team AND l.is_open = 1 AND j.value = :assignee)"
            )
        if q.custom_field is not None:
            where.extend(self._custom_criterion(q.custom_field, q.custom_value, params))
        if q.last_contacted is not None:
            touch = ["t.team_id = :team"]
            if q.last_contacted.start is not None:
                params["lc_start"] = to_micros(q.last_contacted.start)
                touch.append("t.at >= :lc_start")
            if q.last_contacted.end is not None:
                params["lc_end"] = to_micros(q.last_contacted.end)
                touch.append("t.at < :lc_end")
            where.append(
                f"c.id IN (SELECT t.contact_id FROM touches_team t WHERE {' AND '.join(touch)})"
            )
        if q.created is not None:
            if q.created.start is not None:
                params["cr_start"] = to_micros(q.created.start)
                where.append("c.created_at >= :cr_start")
            if q.created.end is not None:
                params["cr_end"] = to_micros(q.created.end)
                where.append("c.created_at < :cr_end")
        if scope is not None:
            params["me"] = scope.member_id
            params["visible"] = dumps(sorted(scope.bucket_ids))
            where.append(
                "(c.created_by = :me OR c.id IN (SELECT m.item_id FROM memberships m"
                " WHERE m.team_id = :team"
                " AND m.bucket_id IN (SELECT value FROM json_each(:visible))))"
            )
        if after is not None:
            params["after_at"] = to_micros(after[0])
            params["after_id"] = after[1]
            where.append(
                "(c.created_at > :after_at OR (c.created_at = :after_at AND c.id > :after_id))"
            )
        if driver:
            source = f"({driver}) d CROSS JOIN contacts c ON c.id = d.cid"
        elif name_driver:
            source = name_driver
        else:
            source = "contacts c INDEXED BY contacts_by_team_created_id"
        # One statement: the page's keys (index order, LIMIT), then only those
        # contacts are read whole, with their newest touch (kept for last_contacted).
        sql = (
            f"SELECT {CONTACT_COLUMNS}, (SELECT t.at FROM touches_team t"
            " WHERE t.team_id = c.team_id AND t.contact_id = c.id)"
            f" FROM (SELECT c.id AS pid FROM {source} WHERE {' AND '.join(where)}"
            " ORDER BY c.created_at, c.id LIMIT :limit) p CROSS JOIN contacts c ON c.id = p.pid"
        )
        conn = self._conn
        rows = conn.execute(sql, params).fetchall()
        rows.sort(key=_search_order)
        self._touched = (team_id, getattr(conn, "total_changes", None), {r[0]: r[13] for r in rows})
        return [contact_from_row(r) for r in rows]

    def _name_criterion(self, prefix: Sequence[str]) -> tuple[str, str, str]:
        """A name-prefix criterion: (filter on ``c``, driving source, the ``:fts`` value).

        The driving source yields the matching contacts joined as ``c``.
        """
        return (
            "c.rowid IN (SELECT rowid FROM contact_names WHERE contact_names MATCH :fts)",
            "(SELECT rowid AS rid FROM contact_names WHERE contact_names MATCH :fts) d"
            " CROSS JOIN contacts c ON c.rowid = d.rid",
            '"' + " ".join(prefix) + '" *',
        )

    def _custom_criterion(self, field: str, value: Any, params: dict[str, Any]) -> list[str]:
        """The filters of a custom-field criterion (adding their values to *params*)."""
        params["path"] = '$."' + field + '"'
        if value is None:
            return ["json_type(c.custom_fields, :path) IS NOT NULL"]
        params["ctypes"] = dumps(list(_json_type(value)))
        where = ["json_type(c.custom_fields, :path) IN (SELECT value FROM json_each(:ctypes))"]
        if not isinstance(value, bool):
            params["cvalue"] = value
            where.append("json_extract(c.custom_fields, :path) = :cvalue")
        return where

    @translated
    def last_contacted(
        self, team_id: TeamId, contact_ids: Iterable[ContactId]
    ) -> dict[str, datetime]:
        """Return each contact's newest team-wide touch, for those that have one."""
        ids = list(dict.fromkeys(contact_ids))
        if not ids:
            return {}
        known = self._touched
        if (
            known is not None
            and known[0] == team_id
            and known[1] is not None
            and known[1] == getattr(self._conn, "total_changes", None)
            and all(i in known[2] for i in ids)
        ):  # read by the search just before, with nothing written since
            return {i: from_micros(at) for i in ids if (at := known[2][i]) is not None}
        rows = self._conn.execute(
            "SELECT contact_id, at FROM touches_team WHERE team_id = ?"
            " AND contact_id IN (SELECT value FROM json_each(?))",
            (team_id, dumps(ids)),
        )
        return {cid: from_micros(at) for cid, at in rows}

    @translated
    def interaction_counts(
        self, team_id: TeamId, member_id: MemberId, start: datetime, end: datetime
    ) -> dict[str, int]:
        """Count the member's interactions in ``[start, end)`` by kind."""
        rows = self._conn.execute(
            "SELECT kind, count(*) FROM interactions WHERE team_id = ? AND author_id = ?"
            " AND occurred_at >= ? AND occurred_at < ? GROUP BY kind",
            (team_id, member_id, to_micros(start), to_micros(end)),
        )
        return {str(kind): int(n) for kind, n in rows}

    @translated
    def lead_touches(
        self, team_id: TeamId, member_id: MemberId, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime | None]]:
        """(assigned_at, first touch) of the member's leads assigned in ``[start, end)``."""
        rows = self._conn.execute(
            "SELECT l.assigned_at,"
            " (SELECT min(x.occurred_at) FROM interaction_targets x"
            "  JOIN interactions i ON i.id = x.interaction_id"
            "  WHERE x.team_id = l.team_id AND x.target_id = l.contact_id"
            "  AND x.occurred_at >= l.assigned_at AND i.author_id = :member)"
            " FROM leads l, json_each(l.assignee_ids) j"
            " WHERE l.team_id = :team AND j.value = :member"
            " AND l.assigned_at >= :start AND l.assigned_at < :end"
            " ORDER BY l.assigned_at, l.id",
            {
                "team": team_id,
                "member": member_id,
                "start": to_micros(start),
                "end": to_micros(end),
            },
        )
        return [(from_micros(a), None if f is None else from_micros(f)) for a, f in rows]

    @translated
    def grid_facts(
        self,
        team_id: TeamId,
        *,
        status: str | None,
        assignee_id: MemberId | None,
        pool_id: PoolId | None,
        now: datetime,
    ) -> list[GridFacts]:
        """The grid facts of the open leads that match, one per lead and owner."""
        params: dict[str, Any] = {"team": team_id}
        where = ["l.team_id = :team"]
        if pool_id is not None:
            params["pool"] = pool_id
            where.append("l.pool_key = :pool")
        if status is not None:
            params["status"] = status
            where.append("c.status = :status")
        if assignee_id is not None:
            params["assignee"] = assignee_id
            where.append("j.value = :assignee")
        return self._facts(" AND ".join(where), params, now)

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
            "l.team_id = :team AND l.id IN (SELECT value FROM json_each(:ids))",
            {"team": team_id, "ids": dumps(sorted({lead for lead, _ in picked}))},
            now,
        )
        by_key = {(f.lead_id, f.assignee_id or ""): f for f in facts}
        return [by_key[key] for key in picked if key in by_key]

    def _facts(self, where: str, params: dict[str, Any], now: datetime) -> list[GridFacts]:
        """The grid facts of the open leads (and owners) matching *where*."""
        params = {**params, "now": to_micros(now), "today": now.date().isoformat()}
        sql = f"""
        SELECT c.id, c.first_name, c.last_name, c.status,
            (SELECT max(p.validated) FROM contact_phones p WHERE p.contact_id = c.id),
            (SELECT max(e.validated) FROM contact_emails e WHERE e.contact_id = c.id),
            EXISTS (SELECT 1 FROM interaction_targets x
                    JOIN interactions i ON i.id = x.interaction_id
                    WHERE x.team_id = :team AND x.target_id = c.id AND i.kind = 'note'),
            (SELECT min(t.due_at) FROM tasks t WHERE t.team_id = :team
                AND t.contact_id = c.id AND t.status = 'open' AND t.due_at > :now),
            (SELECT min(d.due_on) FROM followup_dues d INDEXED BY followup_dues_by_contact
                WHERE d.team_id = :team AND d.contact_id = c.id AND d.due_on > :today),
            l.id, l.pool_key, j.value, l.assigned_at, l.created_at,
            CASE WHEN j.value IS NULL OR l.assigned_at IS NULL THEN NULL ELSE
                (SELECT min(x.occurred_at) FROM interaction_targets x
                 JOIN interactions i ON i.id = x.interaction_id
                 WHERE x.team_id = :team AND x.target_id = c.id
                 AND x.occurred_at >= l.assigned_at AND x.occurred_at <= :now
                 AND i.author_id = j.value) END
        FROM leads l LEFT JOIN json_each(l.assignee_ids) j
        JOIN contacts c ON c.id = l.contact_id
        WHERE l.is_open = 1 AND {where}"""
        out: list[GridFacts] = []
        for row in self._conn.execute(sql, params):
            cid, first, last, st, phones, emails, note, task_due, due_on = row[:9]
            lead_id, pool_key, owner, assigned, created, first_action = row[9:]
            nexts = []
            if task_due is not None:
                nexts.append(from_micros(task_due))
            if due_on is not None:
                nexts.append(day_start(date.fromisoformat(due_on)))
            out.append(
                GridFacts(
                    contact_id=cid,
                    first_name=first,
                    last_name=last,
                    status=st,
                    phones_validated=None if phones is None else bool(phones),
                    emails_validated=None if emails is None else bool(emails),
                    has_note=bool(note),
                    next_follow_up_at=min(nexts) if nexts else None,
                    lead_id=lead_id,
                    pool_id=pool_key or None,
                    assignee_id=owner,
                    assigned_at=None
                    if owner is None or assigned is None
                    else from_micros(assigned),
                    lead_created_at=from_micros(created),
                    first_action_at=None if first_action is None else from_micros(first_action),
                )
            )
        return out

    @translated
    def members_named(self, name: str) -> list[Member]:
        """Members of any team named *name* (case-insensitive), oldest first."""
        wanted = name.casefold()
        rows = self._conn.execute("SELECT id, name FROM members ORDER BY created_at, id")
        ids = [mid for mid, stored in rows if stored.casefold() == wanted]
        members = SQLiteMembers(self._ctx)
        return [members.find(MemberId(mid)) for mid in ids]


# ------------------------------------------------------------ saved filters
_FILTER_SELECT = (
    "SELECT id, team_id, owner_id, name, shared, query, created_at, version FROM saved_filters"
)


def _saved(row: Sequence[Any]) -> SavedFilter:
    fid, tid, owner, name, shared, query, created, version = row
    return SavedFilter(
        id=fid,
        team_id=tid,
        owner_id=owner,
        name=name,
        shared=bool(shared),
        query=converter.structure(loads(query), ContactQuery),
        created_at=from_micros(created),
        version=version,
    )


class SQLiteSavedFilters(SQLiteRepository):
    """Saved filters; the query is stored as JSON made by ``teamcrm.converter``."""

    kind = "saved filter"
    table = "saved_filters"

    @translated
    def get(self, team_id: TeamId, filter_id: SavedFilterId) -> SavedFilter:
        """Return the saved filter or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_FILTER_SELECT} WHERE id = ? AND team_id = ?", (filter_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, filter_id)
        return _saved(row)

    @translated
    def add(self, saved: SavedFilter) -> None:
        """Insert a new saved filter."""
        f = saved
        self._insert(
            f.id,
            "INSERT INTO saved_filters (id, team_id, owner_id, name, shared, query, created_at,"
            " version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                f.id,
                f.team_id,
                f.owner_id,
                f.name,
                int(f.shared),
                dumps(converter.unstructure(f.query, ContactQuery)),
                to_micros(f.created_at),
                f.version,
            ),
        )

    @translated
    def update(self, saved: SavedFilter) -> None:
        """Replace the stored filter whose version is ``saved.version - 1``."""
        f = saved
        cur = self._conn.execute(
            "UPDATE saved_filters SET owner_id = ?, name = ?, shared = ?, query = ?,"
            " created_at = ?, version = ? WHERE id = ? AND team_id = ? AND version = ?",
            (
                f.owner_id,
                f.name,
                int(f.shared),
                dumps(converter.unstructure(f.query, ContactQuery)),
                to_micros(f.created_at),
                f.version,
                f.id,
                f.team_id,
                f.version - 1,
            ),
        )
        if cur.rowcount != 1:
            self._version_failed(f.id, f.team_id, f.version - 1)

    @translated
    def delete(self, team_id: TeamId, filter_id: SavedFilterId, version: int) -> None:
        """Delete the filter if its stored version is *version*."""
        self._delete_versioned(team_id, filter_id, version)

    @translated
    def for_member(self, team_id: TeamId, member_id: MemberId) -> list[SavedFilter]:
        """The member's own filters and the team's shared ones, by name then id."""
        rows = self._conn.execute(
            f"{_FILTER_SELECT} WHERE team_id = ? AND (owner_id = ? OR shared = 1)",
            (team_id, member_id),
        )
        saved = [_saved(r) for r in rows]
        return sorted(saved, key=lambda f: (f.name.casefold(), f.id))


register_repository("views", SQLiteViews)
register_repository("saved_filters", SQLiteSavedFilters)
