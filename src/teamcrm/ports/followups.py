"""Ports of follow-ups - policies, touches, due rows, snoozes and tasks"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Protocol

from teamcrm.followup import FollowUpDue, FollowUpPolicy, PolicyId, Snooze, Touch
from teamcrm.ids import (
    BucketId,
    ContactId,
    MemberId,
    TeamId,
)
from teamcrm.task import Task, TaskId, TaskStatus


class FollowUpPolicyRepository(Protocol):
    """Follow-up policies (member M follows up bucket B every cadence C)."""

    def get(self, team_id: TeamId, policy_id: PolicyId) -> FollowUpPolicy:
        """Return the policy or raise ``NotFound``."""
        ...

    def add(self, policy: FollowUpPolicy) -> None:
        """Insert a new policy."""
        ...

    def update(self, policy: FollowUpPolicy) -> None:
        """Replace the stored policy whose version is ``policy.version - 1``."""
        ...

    def delete(self, team_id: TeamId, policy_id: PolicyId, version: int) -> None:
        """Delete the policy (and its due rows) if its stored version is *version*."""
        ...

    def all(self, team_id: TeamId) -> list[FollowUpPolicy]:
        """Return every policy of the team, ordered by ``created_at`` then id."""
        ...

    def for_buckets(self, team_id: TeamId, bucket_ids: Iterable[BucketId]) -> list[FollowUpPolicy]:
        """Return the policies on any of *bucket_ids*, ordered by ``created_at`` then id."""
        ...

    def for_member(self, team_id: TeamId, member_id: MemberId) -> list[FollowUpPolicy]:
        """Return the policies *member_id* is responsible for, ordered by ``created_at`` then id."""
        ...


class TouchRepository(Protocol):
    """The last touch of each contact, team-wide and per member ("newest wins").

    Touches dated after the moment they are recorded (a scheduled meeting) are
    kept apart as *pending* until the service settles them.
    """

    def record(self, touches: Sequence[Touch]) -> None:
        """Remember *touches*; a stored touch is replaced only by a newer one.

        Each touch updates the (contact, member) entry, and the contact's
        team-wide entry too when ``touch.team_wide``.
        """
        ...

    def team_latest(self, team_id: TeamId, contact_ids: Iterable[ContactId]) -> dict[str, Touch]:
        """Return the newest team-wide touch of each contact that has one, by contact id."""
        ...

    def member_latest(
        self, team_id: TeamId, contact_ids: Iterable[ContactId]
    ) -> dict[tuple[str, str], Touch]:
        """Return the newest touch per (contact id, member id) of the given contacts."""
        ...

    def add_pending(self, touches: Sequence[Touch]) -> None:
        """Keep touches dated in the future until they are settled."""
        ...

    def pending(self, team_id: TeamId, up_to: datetime) -> list[Touch]:
        """Return the pending touches dated at or before *up_to*, oldest first."""
        ...

    def drop_pending(self, team_id: TeamId, up_to: datetime) -> None:
        """Forget the pending touches dated at or before *up_to* (after recording them)."""
        ...

    def forget(self, team_id: TeamId, contact_ids: Sequence[ContactId]) -> None:
        """Forget every touch (team-wide, per member, pending) of *contact_ids* (merged away)."""
        ...


class FollowUpDueRepository(Protocol):
    """The computed due date of each (policy, contact): what the list is read from."""

    def put_many(self, rows: Sequence[FollowUpDue]) -> None:
        """Insert or replace rows, keyed by (policy id, contact id)."""
        ...

    def delete(
        self, team_id: TeamId, policy_ids: Iterable[str], contact_ids: Iterable[str]
    ) -> None:
        """Delete the rows of every given policy for every given contact."""
        ...

    def delete_policy(self, team_id: TeamId, policy_id: PolicyId) -> None:
        """Delete every row of a policy."""
        ...

    def for_contacts(
        self, team_id: TeamId, member_id: MemberId, contact_ids: Iterable[str]
    ) -> list[FollowUpDue]:
        """Return the member's rows for the given contacts, by (due_on, contact, policy)."""
        ...

    def page(
        self,
        team_id: TeamId,
        member_id: MemberId,
        due_by: date,
        at: datetime,
        after: tuple[date, str, str] | None,
        limit: int,
    ) -> list[FollowUpDue]:
        """Return up to *limit* of the member's rows due on or before *due_by*.

        Ordered by (due_on, contact_id, policy_id), starting after the key
        *after*; rows of contacts the member snoozed past *at* are left out.
        """
        ...


class SnoozeRepository(Protocol):
    """Snoozes of contacts on members' follow-up lists."""

    def put(self, snooze: Snooze) -> None:
        """Set (or replace) the member's snooze of the contact."""
        ...

    def get(self, team_id: TeamId, member_id: MemberId, contact_id: ContactId) -> Snooze | None:
        """Return the member's snooze of the contact, or ``None``."""
        ...

    def remove(self, team_id: TeamId, member_id: MemberId, contact_id: ContactId) -> None:
        """Remove the member's snooze of the contact (no-op if none)."""
        ...

    def all(self, team_id: TeamId) -> list[Snooze]:
        """Return every snooze of the team, by (member id, contact id).

        Used by the team backup (:mod:`teamcrm.backup`).
        """
        ...


class TaskRepository(Protocol):
    """Tasks (explicit follow-ups)."""

    def get(self, team_id: TeamId, task_id: TaskId) -> Task:
        """Return the task or raise ``NotFound``."""
        ...

    def add(self, task: Task) -> None:
        """Insert a new task."""
        ...

    def update(self, task: Task) -> None:
        """Replace the stored task whose version is ``task.version - 1``."""
        ...

    def for_member(
        self, team_id: TeamId, member_id: MemberId, status: TaskStatus | None = None
    ) -> list[Task]:
        """Return the member's tasks (of one status if given) by (due_at, id)."""
        ...

    def open_due(
        self,
        team_id: TeamId,
        member_id: MemberId,
        at: datetime,
        limit: int,
        *,
        since: datetime | None = None,
    ) -> list[Task]:
        """Return up to *limit* of the member's open tasks due by *at*, ordered by (due_at, id).

        With *since*: only those due at or after it.
        """
        ...
