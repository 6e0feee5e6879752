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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from teamcrm.adapters.sql.base import SQLContext
from teamcrm.adapters.sql.codec import dumps, from_micros, loads, to_micros
from teamcrm.adapters.sqlite.filters import FIELD_ORDER, field_source
from teamcrm.adapters.sqlite.grid import grid_rank_sql
from teamcrm.adapters.sqlite.migrations import register_migration
from teamcrm.adapters.sqlite.names import NameSearch
from teamcrm.adapters.sqlite.repositories import (
    CONTACT_CREATED_AT,
    CONTACT_WIDTH,
    SQLiteMembers,
    SQLiteRepository,
    contact_columns,
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
    return row[CONTACT_CREATED_AT], row[0]


class SQLiteViews(NameSearch):
    """Search, grid and insight queries in SQL.

    :meth:`search` reads the page's contacts with their newest touch in one
    statement and keeps the touches, so :meth:`last_contacted` of those
    contacts right after (nothing written in between, as ``total_changes``
    shows) needs no statement.
    """

    kind = "contact"

    def __init__(self, ctx: SQLContext) -> None:
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
        d = self._dialect
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
            params.update(self._name_params(prefix))
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
                "c.id IN (SELECT l.contact_id FROM leads l,"
                f" {d.json_rows('l.assignee_ids')} j"
                " WHERE l.team_id = :team AND l.is_open = 1 AND j.value = :assignee)"
            )
        if q.unassigned:
            where.append(
                "c.id NOT IN (SELECT l.contact_id FROM leads l,"
                f" {d.json_rows('l.assignee_ids')} j"
                " WHERE l.team_id = :team AND l.is_open = 1)"
            )
        fields = ""
        if q.custom_field is not None and not (driver or name_driver):
            fields, field_where = self._field_source(q.custom_field, q.custom_value, params)
            where.extend(field_where)
        elif q.custom_field is not None:
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
                # Per contact, by item: never a read of every membership of a bucket.
                "(c.created_by = :me OR EXISTS (SELECT 1 FROM memberships m"
                f"{d.index_hint('memberships_by_item')} WHERE m.team_id = :team"
                f" AND m.item_id = c.id AND {d.ids_in('m.bucket_id', ':visible')}{d.per_row}))"
            )
        at, key = FIELD_ORDER if fields else ("c.created_at", "c.id")
        if after is not None:
            params["after_at"] = to_micros(after[0])
            params["after_id"] = after[1]
            where.append(f"({at} > :after_at OR ({at} = :after_at AND {key} > :after_id))")
        if driver:
            source = f"({driver}) d {d.fixed_join} contacts c ON c.id = d.cid"
        elif name_driver:
            source = name_driver
        elif fields:
            source = fields
        else:  # the status or source index when asked for (one range, in search order)
            by = (
                "status"
                if q.status is not None
                else "source"
                if q.source is not None
                else "created_id"
            )
            source = f"contacts c{d.index_hint(f'contacts_by_team_{by}')}"
        # One statement: the page's keys (index order, LIMIT), then only those
        # contacts are read whole, with their newest touch (kept for last_contacted).
        sql = (
            f"SELECT {contact_columns(d)}, (SELECT t.at FROM touches_team t"
            " WHERE t.team_id = c.team_id AND t.contact_id = c.id)"
            f" FROM (SELECT c.id AS pid FROM {source} WHERE {' AND '.join(where)}"
            f" ORDER BY {at}, {key} LIMIT :limit) p {d.fixed_join} contacts c ON c.id = p.pid"
        )
        conn = self._conn
        rows = conn.execute(sql, params).fetchall()
        rows.sort(key=_search_order)
        self._touched = (
            team_id,
            getattr(conn, "total_changes", None),
            {r[0]: r[CONTACT_WIDTH] for r in rows},
        )
        return [contact_from_row(r) for r in rows]

    def _field_source(
        self, field: str, value: Any, params: dict[str, Any]
    ) -> tuple[str, list[str]]:
        """A custom-field criterion driving the search from ``contact_fields`` (0430)."""
        return field_source(self._dialect, field, value, params)

    def _custom_criterion(self, field: str, value: Any, params: dict[str, Any]) -> list[str]:
        """The filters of a custom-field criterion (adding their values to *params*)."""
        params["path"] = '$."' + field + '"'
        if value is None:
            return ["json_type(c.custom_fields, :path) IS NOT NULL"]
        params["ctypes"] = dumps(list(_json_type(value)))
        where = [self._dialect.ids_in("json_type(c.custom_fields, :path)", ":ctypes")]
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
            f" AND {self._dialect.ids_in('contact_id')}",
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
            f" FROM leads l, {self._dialect.json_rows('l.assignee_ids')} j"
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
            f"l.team_id = :team AND {self._dialect.ids_in('l.id', ':ids')}",
            {"team": team_id, "ids": dumps(sorted({lead for lead, _ in picked}))},
            now,
        )
        by_key = {(f.lead_id, f.assignee_id or ""): f for f in facts}
        return [by_key[key] for key in picked if key in by_key]

    def _facts(self, where: str, params: dict[str, Any], now: datetime) -> list[GridFacts]:
        """The grid facts of the open leads (and owners) matching *where*."""
        params = {**params, "now": to_micros(now), "today": now.date().isoformat()}
        d = self._dialect
        sql = f"""
        SELECT c.id, c.first_name, c.last_name, c.status,
            (SELECT max(p.validated) FROM contact_phones p WHERE p.contact_id = c.id),
            (SELECT max(e.validated) FROM contact_emails e WHERE e.contact_id = c.id),
            EXISTS (SELECT 1 FROM interaction_targets x
                    JOIN interactions i ON i.id = x.interaction_id
                    WHERE x.team_id = :team AND x.target_id = c.id AND i.kind = 'note'),
            (SELECT min(t.due_at) FROM tasks t WHERE t.team_id = :team
                AND t.contact_id = c.id AND t.status = 'open' AND t.due_at > :now),
            (SELECT min(u.due_on) FROM followup_dues u{d.index_hint("followup_dues_by_contact")}
                WHERE u.team_id = :team AND u.contact_id = c.id AND u.due_on > :today),
            l.id, l.pool_key, j.value, l.assigned_at, l.created_at,
            CASE WHEN j.value IS NULL OR l.assigned_at IS NULL THEN NULL ELSE
                (SELECT min(x.occurred_at) FROM interaction_targets x
                 JOIN interactions i ON i.id = x.interaction_id
                 WHERE x.team_id = :team AND x.target_id = c.id
                 AND x.occurred_at >= l.assigned_at AND x.occurred_at <= :now
                 AND i.author_id = j.value) END
        FROM leads l {d.left_json_rows("l.assignee_ids", "j")}
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

    @translated
    def members_with_email(self, email: str) -> list[Member]:
        """Members of any team whose email is *email* (case-insensitive), oldest first."""
        wanted = email.strip().casefold()
        rows = self._conn.execute(
            "SELECT id, email FROM members WHERE email IS NOT NULL ORDER BY created_at, id"
        )
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
        self._update_versioned(
            f.id,
            f.team_id,
            f.version,
            {
                "owner_id": f.owner_id,
                "name": f.name,
                "shared": int(f.shared),
                "query": dumps(converter.unstructure(f.query, ContactQuery)),
                "created_at": to_micros(f.created_at),
            },
        )

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
