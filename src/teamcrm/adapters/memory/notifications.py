"""Notifications and digest state in memory"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import attrs

from teamcrm.adapters.memory.tables import MemoryTables, _Table
from teamcrm.errors import AlreadyExists
from teamcrm.ids import MemberId, TeamId
from teamcrm.notification import Notification


@attrs.frozen(kw_only=True)
class _DigestState:
    """A member's email digest state: the last digest and the live claim, if any."""

    last_digest_at: datetime | None = None
    token: str | None = None
    claimed_at: datetime | None = None
    claimed_ids: tuple[str, ...] = ()


class _Notifications:
    kind = "notification"

    def __init__(
        self,
        table: _Table[str, Notification],
        digests: _Table[tuple[str, str], _DigestState],
        skipped: _Table[str, datetime],
    ) -> None:
        self._t = table
        self._digests = digests
        self._skipped = skipped

    def add_many(self, notifications: Sequence[Notification]) -> None:
        new: dict[str, Notification] = {n.id: n for n in notifications}
        if len(new) != len(notifications) or not self._t.rows.keys().isdisjoint(new):
            seen: set[str] = set()
            for n in notifications:
                if n.id in self._t or n.id in seen:
                    raise AlreadyExists(self.kind, n.id)
                seen.add(n.id)
        self._t.insert_new(new)

    def for_member(
        self,
        team_id: TeamId,
        member_id: MemberId,
        *,
        unread_only: bool = False,
        limit: int = 100,
        before: tuple[datetime, str] | None = None,
    ) -> list[Notification]:
        rows = [
            n
            for n in self._t.values()
            if n.team_id == team_id
            and n.member_id == member_id
            and not (unread_only and n.read_at is not None)
            and (before is None or (n.created_at, n.id) < before)
        ]
        rows.sort(key=lambda n: (n.created_at, n.id), reverse=True)
        return rows[:limit]

    def mark_read(
        self, team_id: TeamId, member_id: MemberId, ids: Iterable[str] | None, at: datetime
    ) -> int:
        wanted = None if ids is None else set(ids)
        changed = 0
        for n in self._t.values():
            if (
                n.team_id == team_id
                and n.member_id == member_id
                and n.read_at is None
                and (wanted is None or n.id in wanted)
            ):
                self._t.put(n.id, attrs.evolve(n, read_at=at))
                changed += 1
        return changed

    # -- email digest queue ------------------------------------------------
    def _pending(self, team_id: str, member_id: str, now: datetime) -> list[Notification]:
        rows = [
            n
            for n in self._t.values()
            if n.team_id == team_id
            and n.member_id == member_id
            and n.emailed_at is None
            and n.created_at <= now
            and n.id not in self._skipped
        ]
        return sorted(rows, key=lambda n: (n.created_at, n.id))

    @staticmethod
    def _may_claim(
        state: _DigestState | None, last_digest_by: datetime, lease_cutoff: datetime
    ) -> bool:
        if state is None:
            return True
        if state.last_digest_at is not None and state.last_digest_at > last_digest_by:
            return False
        return not (
            state.token is not None
            and state.claimed_at is not None
            and state.claimed_at >= lease_cutoff
        )

    def digest_candidates(
        self,
        *,
        now: datetime,
        last_digest_by: datetime,
        lease_cutoff: datetime,
        team_id: TeamId | None = None,
        limit: int = 10_000,
    ) -> list[tuple[TeamId, MemberId]]:
        members = {
            (n.team_id, n.member_id)
            for n in self._t.values()
            if n.emailed_at is None
            and n.created_at <= now
            and (team_id is None or n.team_id == team_id)
            and n.id not in self._skipped
        }
        due = [
            key
            for key in sorted(members)
            if self._may_claim(self._digests.get(key), last_digest_by, lease_cutoff)
        ]
        return due[:limit]

    def claim_digest(
        self,
        team_id: TeamId,
        member_id: MemberId,
        *,
        token: str,
        now: datetime,
        last_digest_by: datetime,
        lease_cutoff: datetime,
        limit: int,
    ) -> list[Notification]:
        key = (team_id, member_id)
        state = self._digests.get(key)
        if not self._may_claim(state, last_digest_by, lease_cutoff):
            return []
        batch = self._pending(team_id, member_id, now)[:limit]
        if not batch:
            return []
        self._digests.put(
            key,
            attrs.evolve(
                state or _DigestState(),
                token=token,
                claimed_at=now,
                claimed_ids=tuple(n.id for n in batch),
            ),
        )
        return batch

    def complete_digest(
        self,
        team_id: TeamId,
        member_id: MemberId,
        *,
        token: str,
        ids: Iterable[str],
        at: datetime,
    ) -> int:
        marked = 0
        for nid in dict.fromkeys(ids):
            n = self._t.get(nid)
            if (
                n is not None
                and n.team_id == team_id
                and n.member_id == member_id
                and n.emailed_at is None
            ):
                self._t.put(nid, attrs.evolve(n, emailed_at=at))
                marked += 1
        key = (team_id, member_id)
        state = self._digests.get(key) or _DigestState()
        last = state.last_digest_at
        state = attrs.evolve(state, last_digest_at=at if last is None or at > last else last)
        if state.token == token:
            state = attrs.evolve(state, token=None, claimed_at=None, claimed_ids=())
        self._digests.put(key, state)
        return marked

    def release_digest(self, team_id: TeamId, member_id: MemberId, *, token: str) -> None:
        key = (team_id, member_id)
        state = self._digests.get(key)
        if state is not None and state.token == token:
            self._digests.put(key, attrs.evolve(state, token=None, claimed_at=None, claimed_ids=()))

    def skip_email(self, team_id: TeamId, member_id: MemberId, *, now: datetime) -> int:
        pending = self._pending(team_id, member_id, now)
        for n in pending:
            self._skipped.put(n.id, now)
        return len(pending)

    def last_digest_at(self, team_id: TeamId, member_id: MemberId) -> datetime | None:
        state = self._digests.get((team_id, member_id))
        return None if state is None else state.last_digest_at


def memory_notifications(t: MemoryTables) -> _Notifications:
    """``uow.notifications`` of a memory unit."""
    return _Notifications(
        t.table("notifications"), t.table("notification_digests"), t.table("notifications_skipped")
    )
