"""Follow-up policies, touches, due rows, snoozes and tasks in memory"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from teamcrm.adapters.memory.tables import MemoryTables, _Table, _Versioned
from teamcrm.followup import FollowUpDue, FollowUpPolicy, PolicyId, Snooze, Touch
from teamcrm.ids import BucketId, ContactId, MemberId, TeamId
from teamcrm.task import Task, TaskId, TaskStatus


class _FollowUpPolicies(_Versioned[FollowUpPolicy]):
    kind = "follow-up policy"

    def __init__(self, table: _Table[str, FollowUpPolicy], dues: _FollowUpDues) -> None:
        super().__init__(table)
        self._dues = dues

    def get(self, team_id: TeamId, policy_id: PolicyId) -> FollowUpPolicy:
        return self._get(team_id, policy_id)

    def add(self, policy: FollowUpPolicy) -> None:
        self._add(policy)

    def update(self, policy: FollowUpPolicy) -> None:
        self._update(policy)

    def delete(self, team_id: TeamId, policy_id: PolicyId, version: int) -> None:
        self._delete(team_id, policy_id, version)
        self._dues.delete_policy(team_id, policy_id)

    def all(self, team_id: TeamId) -> list[FollowUpPolicy]:
        return sorted(self._all(team_id), key=lambda p: (p.created_at, p.id))

    def for_buckets(self, team_id: TeamId, bucket_ids: Iterable[BucketId]) -> list[FollowUpPolicy]:
        wanted = set(bucket_ids)
        return [p for p in self.all(team_id) if p.bucket_id in wanted]

    def for_member(self, team_id: TeamId, member_id: MemberId) -> list[FollowUpPolicy]:
        return [p for p in self.all(team_id) if p.member_id == member_id]


class _Touches:
    def __init__(
        self,
        team: _Table[tuple[str, str], Touch],
        member: _Table[tuple[str, str, str], Touch],
        pending: _Table[tuple[str, str, str, datetime, bool], Touch],
    ) -> None:
        self._team = team
        self._member = member
        self._pending = pending

    def record(self, touches: Sequence[Touch]) -> None:
        for t in touches:
            key = (t.team_id, t.contact_id, t.member_id)
            old = self._member.get(key)
            if old is None or t.at > old.at:
                self._member.put(key, t)
            if t.team_wide:
                old = self._team.get((t.team_id, t.contact_id))
                if old is None or t.at > old.at:
                    self._team.put((t.team_id, t.contact_id), t)

    def team_latest(self, team_id: TeamId, contact_ids: Iterable[ContactId]) -> dict[str, Touch]:
        out: dict[str, Touch] = {}
        for cid in contact_ids:
            row = self._team.get((team_id, cid))
            if row is not None:
                out[cid] = row
        return out

    def member_latest(
        self, team_id: TeamId, contact_ids: Iterable[ContactId]
    ) -> dict[tuple[str, str], Touch]:
        wanted = set(contact_ids)
        return {
            (t.contact_id, t.member_id): t
            for t in self._member.values()
            if t.team_id == team_id and t.contact_id in wanted
        }

    def add_pending(self, touches: Sequence[Touch]) -> None:
        for t in touches:
            self._pending.put((t.team_id, t.contact_id, t.member_id, t.at, t.team_wide), t)

    def pending(self, team_id: TeamId, up_to: datetime) -> list[Touch]:
        rows = [t for t in self._pending.values() if t.team_id == team_id and t.at <= up_to]
        return sorted(rows, key=lambda t: (t.at, t.contact_id, t.member_id))

    def drop_pending(self, team_id: TeamId, up_to: datetime) -> None:
        for t in self.pending(team_id, up_to):
            self._pending.pop((t.team_id, t.contact_id, t.member_id, t.at, t.team_wide))

    def forget(self, team_id: TeamId, contact_ids: Sequence[ContactId]) -> None:
        gone = set(contact_ids)
        for t in [t for t in self._team.values() if t.team_id == team_id and t.contact_id in gone]:
            self._team.pop((t.team_id, t.contact_id))
        for t in [
            t for t in self._member.values() if t.team_id == team_id and t.contact_id in gone
        ]:
            self._member.pop((t.team_id, t.contact_id, t.member_id))
        for t in [
            t for t in self._pending.values() if t.team_id == team_id and t.contact_id in gone
        ]:
            self._pending.pop((t.team_id, t.contact_id, t.member_id, t.at, t.team_wide))


class _FollowUpDues:
    def __init__(
        self,
        table: _Table[tuple[str, str], FollowUpDue],
        snoozes: _Table[tuple[str, str, str], Snooze],
    ) -> None:
        self._t = table
        self._snoozes = snoozes

    def put_many(self, rows: Sequence[FollowUpDue]) -> None:
        for row in rows:
            self._t.put((row.policy_id, row.contact_id), row)

    def delete(
        self, team_id: TeamId, policy_ids: Iterable[str], contact_ids: Iterable[str]
    ) -> None:
        contacts = list(contact_ids)
        for pid in policy_ids:
            for cid in contacts:
                row = self._t.get((pid, cid))
                if row is not None and row.team_id == team_id:
                    self._t.pop((pid, cid))

    def delete_policy(self, team_id: TeamId, policy_id: PolicyId) -> None:
        for row in self._t.values():
            if row.policy_id == policy_id and row.team_id == team_id:
                self._t.pop((row.policy_id, row.contact_id))

    def for_contacts(
        self, team_id: TeamId, member_id: MemberId, contact_ids: Iterable[str]
    ) -> list[FollowUpDue]:
        wanted = set(contact_ids)
        rows = [
            r
            for r in self._t.values()
            if r.team_id == team_id and r.member_id == member_id and r.contact_id in wanted
        ]
        return sorted(rows, key=lambda r: (r.due_on, r.contact_id, r.policy_id))

    def page(
        self,
        team_id: TeamId,
        member_id: MemberId,
        due_by: date,
        at: datetime,
        after: tuple[date, str, str] | None,
        limit: int,
    ) -> list[FollowUpDue]:
        rows = []
        for r in self._t.values():
            if r.team_id != team_id or r.member_id != member_id or r.due_on > due_by:
                continue
            if after is not None and (r.due_on, r.contact_id, r.policy_id) <= after:
                continue
            snooze = self._snoozes.get((team_id, member_id, r.contact_id))
            if snooze is not None and snooze.until > at:
                continue
            rows.append(r)
        rows.sort(key=lambda r: (r.due_on, r.contact_id, r.policy_id))
        return rows[:limit]


class _Snoozes:
    def __init__(self, table: _Table[tuple[str, str, str], Snooze]) -> None:
        self._t = table

    def put(self, snooze: Snooze) -> None:
        self._t.put((snooze.team_id, snooze.member_id, snooze.contact_id), snooze)

    def get(self, team_id: TeamId, member_id: MemberId, contact_id: ContactId) -> Snooze | None:
        return self._t.get((team_id, member_id, contact_id))

    def remove(self, team_id: TeamId, member_id: MemberId, contact_id: ContactId) -> None:
        self._t.pop((team_id, member_id, contact_id))

    def all(self, team_id: TeamId) -> list[Snooze]:
        rows = [s for s in self._t.values() if s.team_id == team_id]
        return sorted(rows, key=lambda s: (s.member_id, s.contact_id))


class _Tasks(_Versioned[Task]):
    kind = "task"

    def get(self, team_id: TeamId, task_id: TaskId) -> Task:
        return self._get(team_id, task_id)

    def add(self, task: Task) -> None:
        self._add(task)

    def update(self, task: Task) -> None:
        self._update(task)

    def for_member(
        self, team_id: TeamId, member_id: MemberId, status: TaskStatus | None = None
    ) -> list[Task]:
        rows = [
            t
            for t in self._all(team_id)
            if t.member_id == member_id and (status is None or t.status is status)
        ]
        return sorted(rows, key=lambda t: (t.due_at, t.id))

    def open_due(
        self,
        team_id: TeamId,
        member_id: MemberId,
        at: datetime,
        limit: int,
        *,
        since: datetime | None = None,
    ) -> list[Task]:
        rows = [
            t
            for t in self.for_member(team_id, member_id, TaskStatus.OPEN)
            if t.due_at <= at and (since is None or t.due_at >= since)
        ]
        return rows[:limit]


def memory_followup_policies(t: MemoryTables) -> _FollowUpPolicies:
    """``uow.followup_policies`` of a memory unit."""
    return _FollowUpPolicies(t.table("followup_policies"), memory_followup_dues(t))


def memory_touches(t: MemoryTables) -> _Touches:
    """``uow.touches`` of a memory unit."""
    return _Touches(t.table("touches_team"), t.table("touches_member"), t.table("touches_pending"))


def memory_followup_dues(t: MemoryTables) -> _FollowUpDues:
    """``uow.followup_dues`` of a memory unit."""
    return _FollowUpDues(t.table("followup_dues"), t.table("snoozes"))


def memory_snoozes(t: MemoryTables) -> _Snoozes:
    """``uow.snoozes`` of a memory unit."""
    return _Snoozes(t.table("snoozes"))


def memory_tasks(t: MemoryTables) -> _Tasks:
    """``uow.tasks`` of a memory unit."""
    return _Tasks(t.table("tasks"))
