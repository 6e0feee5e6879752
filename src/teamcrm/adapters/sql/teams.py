"""Teams and their members (shared by the SQLite and the PostgreSQL store)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import (
    from_micros,
    loads,
    optional_micros,
    to_micros,
)
from teamcrm.adapters.sql.dialect import Dialect
from teamcrm.adapters.sql.row_memo import row_memo
from teamcrm.errors import NotFound
from teamcrm.ids import MemberId, TeamId
from teamcrm.team import BucketManagement, Member, Role, Team, TeamSettings
from teamcrm.validation import trusted

__all__ = ["SQLiteMembers", "SQLiteTeams"]


# --------------------------------------------------------------------- teams
@cache
def _team_select(d: Dialect, programs: bool) -> str:
    """The team's row; with *programs*, also whether the team has programs (a side fact)."""
    has_programs = (
        ",\n       EXISTS (SELECT 1 FROM programs p WHERE p.team_id = t.id)" if programs else ""
    )
    return f"""
SELECT t.id, t.name, t.created_at, t.bucket_management, t.file_notes_under_companies,
       t.new_contact_status, t.new_lead_status, t.version,
       (SELECT {d.json_array_agg("s.status", "s.position")}
          FROM team_statuses s WHERE s.team_id = t.id),
       t.phone_region{has_programs}
FROM teams t WHERE t.id = ?"""


@row_memo
def _team(row: Sequence[Any]) -> Team:
    tid, name, created, management, file_notes, new_contact, new_lead, version, statuses = row[:9]
    return trusted(
        Team,
        id=tid,
        name=name,
        created_at=from_micros(created),
        settings=trusted(
            TeamSettings,
            bucket_management=BucketManagement(management),
            file_notes_under_companies=bool(file_notes),
            statuses=tuple(loads(statuses)),
            new_contact_status=new_contact,
            new_lead_status=new_lead,
            phone_region=row[9],
        ),
        version=version,
    )


class SQLiteTeams(SQLRepository):
    """Teams, with their settings in columns and statuses in ``team_statuses``."""

    kind = "team"
    table = "teams"

    @translated
    def get(self, team_id: TeamId) -> Team:
        """Return the team or raise ``NotFound``."""
        ctx = self._ctx
        select = _team_select(self._dialect, bool(ctx.programs_table))
        row = self._conn.execute(select, (team_id,)).fetchone()
        if row is None:
            raise NotFound(self.kind, team_id)
        if ctx.programs_table:
            ctx.facts[f"programs:{team_id}"] = bool(row[10])
        return _team(row)

    def _statuses(self, team: Team) -> None:
        self._conn.execute("DELETE FROM team_statuses WHERE team_id = ?", (team.id,))
        self._conn.executemany(
            "INSERT INTO team_statuses (team_id, position, status) VALUES (?, ?, ?)",
            [(team.id, i, s) for i, s in enumerate(team.settings.statuses)],
        )

    @translated
    def add(self, team: Team) -> None:
        """Insert a new team (version 1)."""
        s = team.settings
        self._insert(
            team.id,
            "INSERT INTO teams (id, name, created_at, bucket_management,"
            " file_notes_under_companies, new_contact_status, new_lead_status, version,"
            " phone_region) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                team.id,
                team.name,
                to_micros(team.created_at),
                s.bucket_management.value,
                int(s.file_notes_under_companies),
                s.new_contact_status,
                s.new_lead_status,
                team.version,
                s.phone_region,
            ),
        )
        self._statuses(team)

    @translated
    def update(self, team: Team) -> None:
        """Replace the stored team whose version is ``team.version - 1``."""
        s = team.settings
        self._update_versioned(
            team.id,
            None,
            team.version,
            {
                "name": team.name,
                "created_at": to_micros(team.created_at),
                "bucket_management": s.bucket_management.value,
                "file_notes_under_companies": int(s.file_notes_under_companies),
                "new_contact_status": s.new_contact_status,
                "new_lead_status": s.new_lead_status,
                "phone_region": s.phone_region,
            },
        )
        self._statuses(team)

    def lock(self, team_id: TeamId) -> None:
        """Nothing to do: a writing unit holds the database's write lock (``BEGIN IMMEDIATE``)."""


# ------------------------------------------------------------------- members
_MEMBER_SELECT = (
    "SELECT id, team_id, name, role, email, active, away_until, time_zone, created_at, version,"
    " phone_region FROM members"
)


@row_memo
def _member(row: Sequence[Any]) -> Member:
    mid, tid, name, role, email, active, away, zone, created, version, region = row
    return trusted(
        Member,
        id=mid,
        team_id=tid,
        name=name,
        role=Role(role),
        email=email,
        active=bool(active),
        away_until=None if away is None else from_micros(away),
        time_zone=zone,
        phone_region=region,
        created_at=from_micros(created),
        version=version,
    )


class SQLiteMembers(SQLRepository):
    """Members of a team."""

    kind = "member"
    table = "members"

    @translated
    def get(self, team_id: TeamId, member_id: MemberId) -> Member:
        """Return the member or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_MEMBER_SELECT} WHERE id = ? AND team_id = ?", (member_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, member_id)
        return _member(row)

    @translated
    def find(self, member_id: MemberId) -> Member:
        """Return the member with this id in whatever team, or raise ``NotFound``."""
        row = self._conn.execute(f"{_MEMBER_SELECT} WHERE id = ?", (member_id,)).fetchone()
        if row is None:
            raise NotFound(self.kind, member_id)
        return _member(row)

    @staticmethod
    def _values(m: Member) -> dict[str, Any]:
        """The member's columns but id, team and version, in ``add``'s order."""
        return {
            "name": m.name,
            "role": m.role.value,
            "email": m.email,
            "active": int(m.active),
            "away_until": optional_micros(m.away_until),
            "time_zone": m.time_zone,
            "created_at": to_micros(m.created_at),
            "phone_region": m.phone_region,
        }

    @translated
    def add(self, member: Member) -> None:
        """Insert a new member."""
        self._insert(
            member.id,
            "INSERT INTO members (id, team_id, name, role, email, active, away_until,"
            " time_zone, created_at, phone_region, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (member.id, member.team_id, *self._values(member).values(), member.version),
        )

    @translated
    def update(self, member: Member) -> None:
        """Replace the stored member whose version is ``member.version - 1``."""
        self._update_versioned(member.id, member.team_id, member.version, self._values(member))

    @translated
    def all(self, team_id: TeamId) -> list[Member]:
        """Return every member of the team, oldest first."""
        rows = self._conn.execute(
            f"{_MEMBER_SELECT} WHERE team_id = ? ORDER BY created_at, rowid", (team_id,)
        )
        return [_member(r) for r in rows]
