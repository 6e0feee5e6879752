"""Opportunities and cases (shared by the SQLite and the PostgreSQL store)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import cache
from typing import Any

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import dumps, from_micros, loads, to_micros
from teamcrm.adapters.sql.dialect import Dialect, insert_ignoring
from teamcrm.case import Case, CaseStatus
from teamcrm.errors import ConcurrencyError, NotFound
from teamcrm.ids import PREFIXES, CaseId, InteractionId, MemberId, OpportunityId, TeamId
from teamcrm.opportunity import Opportunity, RecordNote, Stage

__all__ = ["SQLiteRecords"]


_KIND = {"opportunities": "opportunity", "cases": "case"}


@cache
def _links(d: Dialect) -> str:
    contacts = d.json_array_agg("l.contact_id", "l.position")
    companies = d.json_array_agg("l.company_id", "l.position")
    return f""",
       (SELECT {contacts} FROM record_contacts l WHERE l.record_id = r.id),
       (SELECT {companies} FROM record_companies l WHERE l.record_id = r.id)"""


@cache
def _opportunity_select(d: Dialect) -> str:
    return (
        "SELECT r.id, r.team_id, r.title, r.value, r.currency, r.stage, r.owner_id, r.created_by,"
        f" r.created_at, r.updated_at, r.version{_links(d)} FROM opportunities r"
    )


@cache
def _case_select(d: Dialect) -> str:
    return (
        "SELECT r.id, r.team_id, r.title, r.status, r.created_by, r.created_at, r.updated_at,"
        f" r.version{_links(d)} FROM cases r"
    )


def _opportunity(row: Sequence[Any]) -> Opportunity:
    rid, tid, title, value, currency, stage, owner, by, created, updated, version, ct, co = row
    return Opportunity(
        id=rid,
        team_id=tid,
        title=title,
        value=Decimal(value),
        currency=currency,
        stage=Stage(stage),
        owner_id=owner,
        created_by=by,
        created_at=from_micros(created),
        updated_at=from_micros(updated),
        contact_ids=tuple(loads(ct)),
        company_ids=tuple(loads(co)),
        version=version,
    )


def _case(row: Sequence[Any]) -> Case:
    rid, tid, title, status, by, created, updated, version, ct, co = row
    return Case(
        id=rid,
        team_id=tid,
        title=title,
        status=CaseStatus(status),
        created_by=by,
        created_at=from_micros(created),
        updated_at=from_micros(updated),
        contact_ids=tuple(loads(ct)),
        company_ids=tuple(loads(co)),
        version=version,
    )


class SQLiteRecords(SQLRepository):
    """Opportunities and cases with their links and filed notes (one repository, two tables)."""

    kind = "opportunity"
    table = "opportunities"

    # ---------------------------------------------------------------- shared
    def _write_links(self, record: Opportunity | Case, *, replace: bool) -> None:
        """Store the record's links (after removing the old ones when *replace*).

        A link naming a missing contact or company fails the foreign key:
        ``NotFound`` on SQLite (the caller checked them in this same
        write-locked unit, so only a bug gets here), ``ConcurrencyError`` on
        PostgreSQL (deleted by a unit that committed meanwhile).
        """
        conn = self._conn
        if replace:
            conn.execute("DELETE FROM record_contacts WHERE record_id = ?", (record.id,))
            conn.execute("DELETE FROM record_companies WHERE record_id = ?", (record.id,))
        try:
            conn.executemany(
                "INSERT INTO record_contacts (record_id, position, team_id, contact_id)"
                " VALUES (?, ?, ?, ?)",
                [(record.id, i, record.team_id, c) for i, c in enumerate(record.contact_ids)],
            )
            conn.executemany(
                "INSERT INTO record_companies (record_id, position, team_id, company_id)"
                " VALUES (?, ?, ?, ?)",
                [(record.id, i, record.team_id, c) for i, c in enumerate(record.company_ids)],
            )
        except self._dialect.errors as exc:
            if "FOREIGN KEY" in str(exc):
                raise NotFound("contact or company", record.id) from exc
            raise

    def _delete_record(self, table: str, team_id: TeamId, key: str, version: int) -> None:
        cur = self._conn.execute(
            f"DELETE FROM {table} WHERE id = ? AND team_id = ? AND version = ?",
            (key, team_id, version),
        )
        if cur.rowcount != 1:
            self._failed(table, key, team_id, version)
        for child in ("record_contacts", "record_companies", "record_notes"):
            self._conn.execute(f"DELETE FROM {child} WHERE record_id = ?", (key,))

    def _failed(self, table: str, key: str, team_id: str, expected: int) -> None:
        """A versioned write touched no row: ``NotFound`` or ``ConcurrencyError``."""
        kind = _KIND[table]
        row = self._conn.execute(
            f"SELECT 1 FROM {table} WHERE id = ? AND team_id = ?", (key, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(kind, key)
        raise ConcurrencyError(kind, key, expected)

    def _insert_row(self, table: str, key: str, sql: str, params: Sequence[Any]) -> None:
        try:
            self._conn.execute(sql, params)
        except self._dialect.errors as exc:
            raise self._dialect.translate(exc, kind=_KIND[table], key=key) from exc

    def _update_row(self, table: str, record: Opportunity | Case, values: dict[str, Any]) -> None:
        columns = ", ".join(f"{name} = ?" for name in values)
        cur = self._conn.execute(
            f"UPDATE {table} SET {columns}, version = ? WHERE id = ? AND team_id = ?"
            " AND version = ?",
            (*values.values(), record.version, record.id, record.team_id, record.version - 1),
        )
        if cur.rowcount != 1:
            self._failed(table, record.id, record.team_id, record.version - 1)
        self._write_links(record, replace=True)

    def lock(self, team_id: TeamId, record_id: str) -> None:
        """Nothing to do: a writing unit holds the database's write lock (``BEGIN IMMEDIATE``)."""

    # ---------------------------------------------------------- opportunities
    @translated
    def get_opportunity(self, team_id: TeamId, opportunity_id: OpportunityId) -> Opportunity:
        """Return the opportunity or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_opportunity_select(self._dialect)} WHERE r.id = ? AND r.team_id = ?",
            (opportunity_id, team_id),
        ).fetchone()
        if row is None:
            raise NotFound("opportunity", opportunity_id)
        return _opportunity(row)

    @translated
    def add_opportunity(self, opportunity: Opportunity) -> None:
        """Insert a new opportunity with its links."""
        o = opportunity
        self._insert_row(
            "opportunities",
            o.id,
            "INSERT INTO opportunities (id, team_id, title, value, currency, stage, owner_id,"
            " created_by, created_at, updated_at, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                o.id,
                o.team_id,
                o.title,
                str(o.value),
                o.currency,
                o.stage.value,
                o.owner_id,
                o.created_by,
                to_micros(o.created_at),
                to_micros(o.updated_at),
                o.version,
            ),
        )
        self._write_links(o, replace=False)

    @translated
    def update_opportunity(self, opportunity: Opportunity) -> None:
        """Replace the opportunity (and its links) stored at ``version - 1``."""
        o = opportunity
        self._update_row(
            "opportunities",
            o,
            {
                "title": o.title,
                "value": str(o.value),
                "currency": o.currency,
                "stage": o.stage.value,
                "owner_id": o.owner_id,
                "updated_at": to_micros(o.updated_at),
            },
        )

    @translated
    def delete_opportunity(
        self, team_id: TeamId, opportunity_id: OpportunityId, version: int
    ) -> None:
        """Delete the opportunity, its links and its filed notes, if its version is *version*."""
        self._delete_record("opportunities", team_id, opportunity_id, version)

    @translated
    def opportunities(
        self,
        team_id: TeamId,
        *,
        stage: Stage | None = None,
        owner_id: MemberId | None = None,
    ) -> list[Opportunity]:
        """The team's opportunities (optionally of one stage / owner), oldest first."""
        wanted = None if stage is None else Stage(stage).value
        d = self._dialect
        rows = self._conn.execute(
            f"{_opportunity_select(d)} WHERE r.team_id = ?"
            f" AND ({d.null_param()} IS NULL OR r.stage = ?)"
            f" AND ({d.null_param()} IS NULL OR r.owner_id = ?) ORDER BY r.created_at, r.id",
            (team_id, wanted, wanted, owner_id, owner_id),
        )
        return [_opportunity(r) for r in rows]

    # ------------------------------------------------------------------ cases
    @translated
    def get_case(self, team_id: TeamId, case_id: CaseId) -> Case:
        """Return the case or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_case_select(self._dialect)} WHERE r.id = ? AND r.team_id = ?", (case_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound("case", case_id)
        return _case(row)

    @translated
    def add_case(self, case: Case) -> None:
        """Insert a new case with its links."""
        self._insert_row(
            "cases",
            case.id,
            "INSERT INTO cases (id, team_id, title, status, created_by, created_at, updated_at,"
            " version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case.id,
                case.team_id,
                case.title,
                case.status.value,
                case.created_by,
                to_micros(case.created_at),
                to_micros(case.updated_at),
                case.version,
            ),
        )
        self._write_links(case, replace=False)

    @translated
    def update_case(self, case: Case) -> None:
        """Replace the case (and its links) stored at ``version - 1``."""
        self._update_row(
            "cases",
            case,
            {
                "title": case.title,
                "status": case.status.value,
                "updated_at": to_micros(case.updated_at),
            },
        )

    @translated
    def delete_case(self, team_id: TeamId, case_id: CaseId, version: int) -> None:
        """Delete the case, its links and its filed notes, if its version is *version*."""
        self._delete_record("cases", team_id, case_id, version)

    @translated
    def cases(self, team_id: TeamId, *, status: CaseStatus | None = None) -> list[Case]:
        """The team's cases (optionally of one status), oldest first."""
        wanted = None if status is None else CaseStatus(status).value
        d = self._dialect
        rows = self._conn.execute(
            f"{_case_select(d)} WHERE r.team_id = ? AND ({d.null_param()} IS NULL OR r.status = ?)"
            " ORDER BY r.created_at, r.id",
            (team_id, wanted, wanted),
        )
        return [_case(r) for r in rows]

    # ------------------------------------------------------------ links, notes
    @translated
    def linking(self, team_id: TeamId, target_ids: Iterable[str]) -> list[Opportunity | Case]:
        """The records linked to any of *target_ids* (contacts or companies), by id."""
        wanted = dumps(sorted(set(target_ids)))
        d = self._dialect
        rows = self._conn.execute(
            "SELECT record_id FROM record_contacts WHERE team_id = ?"
            f" AND {d.ids_in('contact_id')}"
            " UNION SELECT record_id FROM record_companies WHERE team_id = ?"
            f" AND {d.ids_in('company_id')}",
            (team_id, wanted, team_id, wanted),
        )
        out: list[Opportunity | Case] = []
        for (rid,) in sorted(rows.fetchall()):
            if rid.startswith(PREFIXES["opportunity"]):
                out.append(self.get_opportunity(team_id, OpportunityId(rid)))
            else:
                out.append(self.get_case(team_id, CaseId(rid)))
        return out

    @translated
    def file_note(self, note: RecordNote) -> None:
        """File an interaction under a record (no-op if it is filed there already)."""
        self._conn.execute(
            insert_ignoring(self._dialect, "record_notes", "record_id, interaction_id, team_id"),
            (note.record_id, note.interaction_id, note.team_id),
        )

    @translated
    def note_ids(self, team_id: TeamId, record_id: str) -> list[InteractionId]:
        """The ids of the interactions filed under a record, by id (time-ordered)."""
        rows = self._conn.execute(
            "SELECT interaction_id FROM record_notes WHERE team_id = ? AND record_id = ?"
            " ORDER BY interaction_id",
            (team_id, record_id),
        )
        return [InteractionId(r[0]) for r in rows]

    @translated
    def all_notes(self, team_id: TeamId) -> list[RecordNote]:
        """Every filed note of the team, by record then interaction."""
        rows = self._conn.execute(
            "SELECT record_id, interaction_id FROM record_notes WHERE team_id = ?"
            " ORDER BY record_id, interaction_id",
            (team_id,),
        )
        return [RecordNote(team_id=team_id, record_id=r, interaction_id=i) for r, i in rows]
