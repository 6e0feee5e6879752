"""The agent grid's table on SQLite: ``lead_grid``, its triggers and its ranking.

Migration ``0210_lead_grid`` adds ``lead_grid``: one row per open lead and
owner (owner ``''`` when nobody owns it) with what the agent grid ranks by:
the contact's static red flags, the start instant, the latest scheduled
instant and the owner's acted wait.  Triggers on the core tables (leads,
contacts, phones, emails, interactions and their targets, tasks, follow-up
due dates) keep it current in the same transaction as any write, and the
migration backfills existing databases.  ``0211_lead_grid_rank`` rebuilds it
with stored ranking columns so :func:`grid_rank_sql` compares integers only.
:data:`LEAD_GRID_ROWS_SQL` computes every row from scratch (what the
backfill writes; the tests check the triggers keep the table equal to it).
:meth:`teamcrm.adapters.sqlite.views.SQLiteViews.grid_page` runs the
ranking; see ``docs/views.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from teamcrm.adapters.sqlite.migrations import register_migration

__all__ = ["LEAD_GRID_COLUMNS", "LEAD_GRID_ROWS_SQL", "grid_rank_sql"]

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
