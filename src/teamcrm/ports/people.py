"""Ports of teams and their members"""

from __future__ import annotations

from typing import Protocol

from teamcrm.ids import (
    MemberId,
    TeamId,
)
from teamcrm.team import Member, Team


class TeamRepository(Protocol):
    """Teams."""

    def get(self, team_id: TeamId) -> Team:
        """Return the team or raise ``NotFound``."""
        ...

    def add(self, team: Team) -> None:
        """Insert a new team (version 1)."""
        ...

    def update(self, team: Team) -> None:
        """Replace the stored team whose version is ``team.version - 1``."""
        ...

    def lock(self, team_id: TeamId) -> None:
        """Hold the team until the unit ends: writing units that lock one team run in turn.

        For rules that read several rows of the team and must still hold at
        commit ("the last active admin keeps the role").  Stores that run one
        writing unit at a time (memory, SQLite) do nothing; PostgreSQL locks
        the team's row (``SELECT ... FOR UPDATE``).  A missing team is not an
        error here.
        """
        ...


class MemberRepository(Protocol):
    """Members of a team."""

    def get(self, team_id: TeamId, member_id: MemberId) -> Member:
        """Return the member or raise ``NotFound``."""
        ...

    def find(self, member_id: MemberId) -> Member:
        """Return the member with this id in whatever team, or raise ``NotFound``.

        Used only to open a session for a member; every other call is scoped.
        """
        ...

    def add(self, member: Member) -> None:
        """Insert a new member."""
        ...

    def update(self, member: Member) -> None:
        """Replace the stored member whose version is ``member.version - 1``."""
        ...

    def all(self, team_id: TeamId) -> list[Member]:
        """Return every member of the team, oldest first."""
        ...
