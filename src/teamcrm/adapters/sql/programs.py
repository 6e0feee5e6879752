"""Programs and their enrolments (shared by the SQLite and the PostgreSQL store)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import dumps, from_micros, loads, optional_micros, to_micros
from teamcrm.adapters.sql.contacts import SQLITE_LIMIT_VARIABLE_NUMBER
from teamcrm.converter import converter
from teamcrm.errors import NotFound, ValidationError
from teamcrm.ids import CompanyId, ContactId, TeamId
from teamcrm.program import (
    Enrolment,
    EnrolmentId,
    EnrolmentState,
    Program,
    ProgramId,
    StopReason,
    TriggerKind,
)
from teamcrm.validation import trusted

__all__ = [
    "ENROLMENTS_PER_INSERT",
    "ENROLMENT_COLUMNS",
    "SQLiteEnrolments",
    "SQLitePrograms",
    "enrolment_from_row",
]


#: The enrolment columns, in the order :func:`enrolment_from_row` reads them.
ENROLMENT_COLUMNS = (
    "id, team_id, program_id, contact_id, enrolled_at, due_at, state, step_index, attempts,"
    " lease_owner, lease_until, stop_reason, last_error, finished_at, version, company_id"
)


_ENROLMENT_SELECT = f"SELECT {ENROLMENT_COLUMNS} FROM program_enrolments"


_ENROLMENT_WIDTH = len(ENROLMENT_COLUMNS.split(","))


_ENROLMENT_ROW = "(" + ", ".join(["?"] * _ENROLMENT_WIDTH) + ")"


#: Most enrolments one ``INSERT`` statement of :meth:`SQLiteEnrolments.add_many` holds.
ENROLMENTS_PER_INSERT = 500


#: A new run's row: what varies is bound, the rest is what every new run holds.
_FRESH_INSERT = (
    "INSERT INTO program_enrolments (id, team_id, program_id, contact_id, enrolled_at, due_at,"
    " state, step_index, attempts, version, company_id) VALUES "
)


_FRESH_ROW = "(?, ?, ?, ?, ?, ?, 'active', 0, 0, 1, ?)"


_INSERT = f"INSERT INTO program_enrolments ({ENROLMENT_COLUMNS}) VALUES "


def _is_fresh(e: Enrolment) -> bool:
    """Is *e* a new run (active, first step, never tried, no lease): a :data:`_FRESH_ROW`?"""
    return (
        e.state is EnrolmentState.ACTIVE
        and e.step_index == 0
        and e.attempts == 0
        and e.version == 1
        and e.lease_owner is None
        and e.lease_until is None
        and e.last_error is None
    )


_PROGRAM_SELECT = "SELECT data, version FROM programs"


def _program(row: Sequence[Any]) -> Program:
    return _decoded(row[0], row[1])


@functools.lru_cache(maxsize=1024)
def _decoded(data: str, version: int) -> Program:
    """The program stored as *data* at *version* (programs are frozen: one copy serves all).

    The runner reads a program for every step it runs; building it again
    (steps, conditions, templates parsed) costs more than the read itself.
    """
    fields = loads(data)
    fields["version"] = version
    return converter.structure(fields, Program)


def _program_data(program: Program) -> str:
    data = converter.unstructure(program)
    data.pop("version", None)
    return dumps(data)


def enrolment_from_row(row: Sequence[Any]) -> Enrolment:
    """Build an enrolment from a row of :data:`ENROLMENT_COLUMNS` (values as stored)."""
    (eid, team, program, contact, enrolled, due, state, index, attempts) = row[:9]
    (owner, until, reason, error, finished, version, company) = row[9:]
    return trusted(
        Enrolment,
        id=EnrolmentId(eid),
        team_id=TeamId(team),
        program_id=ProgramId(program),
        contact_id=ContactId(contact),
        enrolled_at=from_micros(enrolled),
        due_at=from_micros(due),
        state=EnrolmentState(state),
        step_index=index,
        attempts=attempts,
        lease_owner=owner,
        lease_until=None if until is None else from_micros(until),
        stop_reason=None if reason is None else StopReason(reason),
        last_error=error,
        finished_at=None if finished is None else from_micros(finished),
        version=version,
        company_id=None if company is None else CompanyId(company),
    )


def _enrolment_values(e: Enrolment) -> tuple[Any, ...]:
    return (
        e.id,
        e.team_id,
        e.program_id,
        e.contact_id,
        to_micros(e.enrolled_at),
        to_micros(e.due_at),
        e.state.value,
        e.step_index,
        e.attempts,
        e.lease_owner,
        optional_micros(e.lease_until),
        None if e.stop_reason is None else e.stop_reason.value,
        e.last_error,
        optional_micros(e.finished_at),
        e.version,
        e.company_id,
    )


class SQLitePrograms(SQLRepository):
    """Programs, stored as JSON with their owner and version."""

    kind = "program"
    table = "programs"

    @translated
    def get(self, team_id: TeamId, program_id: ProgramId) -> Program:
        """Return the program or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_PROGRAM_SELECT} WHERE id = ? AND team_id = ?", (program_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, program_id)
        return _program(row)

    @translated
    def add(self, program: Program) -> None:
        """Insert a new program."""
        p = program
        self._insert(
            p.id,
            "INSERT INTO programs (id, team_id, owner_id, data, version) VALUES (?, ?, ?, ?, ?)",
            (p.id, p.team_id, p.owner_id, _program_data(p), p.version),
        )

    @translated
    def update(self, program: Program) -> None:
        """Replace the stored program whose version is ``program.version - 1``."""
        p = program
        self._update_versioned(
            p.id, p.team_id, p.version, {"owner_id": p.owner_id, "data": _program_data(p)}
        )

    @translated
    def delete(self, team_id: TeamId, program_id: ProgramId, version: int) -> None:
        """Delete the program (its enrolments go with it) if its version is *version*."""
        self._delete_versioned(team_id, program_id, version)

    @translated
    def all(self, team_id: TeamId) -> list[Program]:
        """Every program of the team, by id."""
        rows = self._conn.execute(f"{_PROGRAM_SELECT} WHERE team_id = ? ORDER BY id", (team_id,))
        return [_program(r) for r in rows]

    @translated
    def with_trigger(self, kind: TriggerKind) -> list[Program]:
        """Every program of every team whose trigger is *kind*, by team and id.

        The JSON is searched for the kind's quoted name (a superset: a name
        or text holding it too), then the decoded programs are filtered.
        """
        rows = self._conn.execute(
            f"{_PROGRAM_SELECT} WHERE data LIKE ? ORDER BY team_id, id", (f'%"{kind.value}"%',)
        )
        return [p for p in map(_program, rows) if p.trigger.kind is kind]


class SQLiteEnrolments(SQLRepository):
    """Enrolments; one active per (program, contact) by a partial unique index."""

    kind = "enrolment"
    table = "program_enrolments"

    @translated
    def get(self, team_id: TeamId, enrolment_id: EnrolmentId) -> Enrolment:
        """Return the enrolment or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_ENROLMENT_SELECT} WHERE id = ? AND team_id = ?", (enrolment_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, enrolment_id)
        return enrolment_from_row(row)

    @translated
    def add_many(self, enrolments: Sequence[Enrolment]) -> list[Enrolment]:
        """Insert enrolments, skipping those a unique index refuses; return the inserted.

        Up to :data:`ENROLMENTS_PER_INSERT` rows per ``INSERT ... ON CONFLICT
        DO NOTHING RETURNING id``: a bulk enrolment is a few statements, and
        the ids returned are exactly the rows inserted (a taken id or a second
        active run of a (program, contact) is skipped).  New runs (active, at
        their first step, never tried nor leased: what enrolling makes) bind
        only the columns that vary, the rest are constants of the statement.
        """
        first: dict[str, Enrolment] = {}
        for e in enrolments:  # a repeated id: the first one, in its place
            first.setdefault(e.id, e)
        unique = list(first.values())
        if not unique:
            return []
        micros: dict[datetime, int] = {}
        segments: list[tuple[bool, list[tuple[Any, ...]]]] = []  # in order: a conflict's winner
        for e in unique:
            fresh = _is_fresh(e)
            if not segments or segments[-1][0] is not fresh:
                segments.append((fresh, []))
            if fresh:
                enrolled, due = e.enrolled_at, e.due_at
                if (at := micros.get(enrolled)) is None:
                    at = micros[enrolled] = to_micros(enrolled)
                due_at = at if due == enrolled else to_micros(due)
                segments[-1][1].append(
                    (e.id, e.team_id, e.program_id, e.contact_id, at, due_at, e.company_id)
                )
            else:
                segments[-1][1].append(_enrolment_values(e))
        added: set[str] = set()
        for fresh, rows in segments:
            insert, row = (_FRESH_INSERT, _FRESH_ROW) if fresh else (_INSERT, _ENROLMENT_ROW)
            size = self._rows_per_insert(row.count("?"))
            for start in range(0, len(rows), size):
                part = rows[start : start + size]
                returned = self._conn.execute(
                    insert + ", ".join([row] * len(part)) + " ON CONFLICT DO NOTHING RETURNING id",
                    [value for values in part for value in values],
                ).fetchall()
                added.update(r[0] for r in returned)
        return [e for e in unique if e.id in added]

    @translated
    def add_new(
        self,
        team_id: TeamId,
        program_id: ProgramId,
        at: datetime,
        ids: Sequence[EnrolmentId],
        contact_ids: Sequence[ContactId],
        company_ids: Sequence[CompanyId | None] | None = None,
    ) -> list[ContactId]:
        """Start runs of one program, :data:`ENROLMENTS_PER_INSERT` per statement.

        The statements' parameters are laid out column by column (slice
        assignments), so no Python object is made per run.
        """
        count = len(ids)
        if len(contact_ids) != count or (company_ids is not None and len(company_ids) != count):
            raise ValidationError("contact_ids", len(contact_ids), "must be as many as the ids")
        micros = to_micros(at)
        width = _FRESH_ROW.count("?")
        params: list[Any] = [None] * (width * count)
        params[0::width] = ids
        params[1::width] = [team_id] * count
        params[2::width] = [program_id] * count
        params[3::width] = contact_ids
        params[4::width] = params[5::width] = [micros] * count
        if company_ids is not None:
            params[6::width] = company_ids
        started: set[str] = set()
        size = self._rows_per_insert(width)
        for start in range(0, count, size):
            rows = min(size, count - start)
            returned = self._conn.execute(
                _FRESH_INSERT
                + ", ".join([_FRESH_ROW] * rows)
                + " ON CONFLICT DO NOTHING RETURNING id",
                params[start * width : (start + rows) * width],
            ).fetchall()
            started.update(r[0] for r in returned)
        return [c for e, c in zip(ids, contact_ids, strict=True) if e in started]

    def _rows_per_insert(self, width: int) -> int:
        """Rows of *width* parameters one statement holds (SQLite's limit; PostgreSQL 65,535)."""
        limit = getattr(self._conn, "getlimit", None)
        most = 65_535 if limit is None else limit(SQLITE_LIMIT_VARIABLE_NUMBER)
        return max(1, min(ENROLMENTS_PER_INSERT, most // width))

    @translated
    def update(self, enrolment: Enrolment) -> None:
        """Replace the stored enrolment whose version is ``enrolment.version - 1``."""
        values = _enrolment_values(enrolment)
        self._update_versioned(
            enrolment.id,
            enrolment.team_id,
            enrolment.version,
            {
                "due_at": values[5],
                "state": values[6],
                "step_index": values[7],
                "attempts": values[8],
                "lease_owner": values[9],
                "lease_until": values[10],
                "stop_reason": values[11],
                "last_error": values[12],
                "finished_at": values[13],
            },
        )

    @translated
    def for_contacts(self, team_id: TeamId, contact_ids: Iterable[ContactId]) -> list[Enrolment]:
        """Every enrolment of those contacts, by id."""
        rows = self._conn.execute(
            f"{_ENROLMENT_SELECT} WHERE team_id = ? AND {self._dialect.ids_in('contact_id')}"
            " ORDER BY id",
            (team_id, dumps(list(dict.fromkeys(contact_ids)))),
        )
        return [enrolment_from_row(r) for r in rows]

    @translated
    def for_companies(self, team_id: TeamId, company_ids: Iterable[CompanyId]) -> list[Enrolment]:
        """Every enrolment one of *company_ids* started (``company_bucket_entered``), by id."""
        rows = self._conn.execute(
            f"{_ENROLMENT_SELECT} WHERE team_id = ? AND {self._dialect.ids_in('company_id')}"
            " ORDER BY id",
            (team_id, dumps(list(dict.fromkeys(company_ids)))),
        )
        return [enrolment_from_row(r) for r in rows]

    @translated
    def for_program(self, team_id: TeamId, program_id: ProgramId) -> list[Enrolment]:
        """Every enrolment of the program, by id."""
        rows = self._conn.execute(
            f"{_ENROLMENT_SELECT} WHERE team_id = ? AND program_id = ? ORDER BY id",
            (team_id, program_id),
        )
        return [enrolment_from_row(r) for r in rows]

    #: The claim; the PostgreSQL store adds ``FOR UPDATE SKIP LOCKED`` to the inner SELECT.
    claim_sql = (
        "UPDATE program_enrolments SET lease_owner = ?, lease_until = ?, version = version + 1"
        " WHERE id IN (SELECT id FROM program_enrolments WHERE state = 'active' AND due_at <= ?"
        " AND (lease_until IS NULL OR lease_until <= ?) ORDER BY due_at, id LIMIT ?{lock})"
        f" RETURNING {ENROLMENT_COLUMNS}"
    )
    claim_lock = ""

    @translated
    def claim_due(
        self, now: datetime, limit: int, *, owner: str, until: datetime
    ) -> list[Enrolment]:
        """Lease up to *limit* due active enrolments to *owner* (oldest due first)."""
        at = to_micros(now)
        rows = self._conn.execute(
            self.claim_sql.format(lock=self.claim_lock),
            (owner, to_micros(until), at, at, limit),
        ).fetchall()
        claimed = [enrolment_from_row(r) for r in rows]
        return sorted(claimed, key=lambda e: (e.due_at, e.id))

    @translated
    def stop_active(
        self,
        team_id: TeamId,
        enrolment_ids: Sequence[EnrolmentId],
        reason: StopReason,
        at: datetime,
    ) -> list[Enrolment]:
        """Stop the still-active ones of *enrolment_ids* (any version); return them, by id."""
        if not enrolment_ids:
            return []
        rows = self._conn.execute(
            "UPDATE program_enrolments SET state = 'stopped', stop_reason = ?, finished_at = ?,"
            " lease_owner = NULL, lease_until = NULL, version = version + 1"
            f" WHERE team_id = ? AND state = 'active' AND {self._dialect.ids_in('id')}"
            f" RETURNING {ENROLMENT_COLUMNS}",
            (reason.value, to_micros(at), team_id, dumps(list(enrolment_ids))),
        ).fetchall()
        return sorted((enrolment_from_row(r) for r in rows), key=lambda e: e.id)

    @translated
    def forget_contacts(self, team_id: TeamId, contact_ids: Sequence[ContactId]) -> None:
        """Delete the enrolments of those contacts (the foreign key already did, on delete)."""
        self._conn.execute(
            "DELETE FROM program_enrolments WHERE team_id = ?"
            f" AND {self._dialect.ids_in('contact_id')}",
            (team_id, dumps(list(contact_ids))),
        )
