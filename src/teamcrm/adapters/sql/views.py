"""Search, grid and insight queries (shared by the SQLite and the PostgreSQL store)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from teamcrm.adapters.sql.base import SQLContext, SQLRepository, translated
from teamcrm.adapters.sql.codec import dumps, from_micros, to_micros
from teamcrm.adapters.sql.contacts import (
    CONTACT_CREATED_AT,
    CONTACT_WIDTH,
    contact_columns,
    contact_from_row,
)
from teamcrm.adapters.sql.filters import FIELD_ORDER, field_source
from teamcrm.adapters.sql.teams import SQLiteMembers
from teamcrm.contact import Contact
from teamcrm.ids import ContactId, MemberId, TeamId
from teamcrm.pool import PoolId
from teamcrm.search import ContactQuery, SearchScope
from teamcrm.team import Member
from teamcrm.views import GridFacts, day_start

__all__ = ["SQLViews"]


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


class SQLViews(SQLRepository):
    """Search, grid and insight queries in SQL, less what each store indexes its own way.

    A store's views add the name criterion (:meth:`_name_criterion`,
    :meth:`_name_params`), company search and the agent grid's ranking
    (``grid_page``): :class:`teamcrm.adapters.sqlite.views.SQLiteViews` with
    SQLite's name-word index and ``lead_grid`` table, and
    :class:`teamcrm.adapters.postgres.views.PGViews` with its own.

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

    def _name_criterion(self, prefix: Sequence[str]) -> tuple[str, str, str]:
        """A name-prefix criterion: (filter on ``c``, driving source, the ``:fts`` value)."""
        raise NotImplementedError

    def _name_params(self, prefix: Sequence[str]) -> dict[str, str]:
        """Extra parameters of the name criterion's driving source."""
        raise NotImplementedError

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
