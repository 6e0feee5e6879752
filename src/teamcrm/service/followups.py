"""Use cases for follow-up policies, the follow-up list, snoozes and tasks.

The list is read from stored *due rows* (one per policy and contact) that are
kept up to date in the same unit of work as every change that moves them: an
interaction (a touch), a contact entering or leaving a bucket, a policy being
created, changed or removed, a *done*.  Interactions dated in the future are
kept as *pending* touches; a list asked for at time *t* counts the pending
touches dated at or before *t*, and the next write settles those whose time
has passed.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

from teamcrm import permissions as perm
from teamcrm.bucket import Bucket
from teamcrm.contact import Contact
from teamcrm.errors import AlreadyExists, NotFound, ValidationError
from teamcrm.events import EventName
from teamcrm.followup import (
    Cadence,
    FollowUpPolicy,
    FollowUpRow,
    PolicyId,
    Snooze,
    Touch,
    TouchKind,
    new_policy_id,
)
from teamcrm.ids import PREFIXES, ContactId, MemberId
from teamcrm.ports import UnitOfWork
from teamcrm.rows import Rows
from teamcrm.service.base import bumped
from teamcrm.service.followup_book import FollowUpBook
from teamcrm.service.followup_list import MAX_LIST, FollowUpList, RowKey
from teamcrm.task import MAX_NOTE, Task, TaskId, TaskStatus, TaskStatusName, new_task_id
from teamcrm.team import Member
from teamcrm.validation import check_enum, check_id, check_int, check_text, check_time
from teamcrm.views import DueRow

if TYPE_CHECKING:
    pass

__all__ = ["MAX_LIST", "FollowUpBook", "FollowUpUseCases"]


class FollowUpUseCases(FollowUpList):
    """Follow-up policies, the follow-up list, snoozes, *done* and tasks."""

    # ================================================================ policies
    def create_follow_up_policy(
        self,
        bucket_id: str,
        cadence: Cadence | str,
        *,
        member_id: MemberId | None = None,
    ) -> FollowUpPolicy:
        """Make *member_id* (default: oneself) follow up *bucket_id* every *cadence*.

        On a team bucket this needs the right to manage team buckets (the
        team's setting: everyone, or managers and admins), and the responsible
        member must be active and able to see the bucket.  On a personal
        bucket only its owner, for themselves.  One policy per bucket and
        member (``AlreadyExists`` otherwise).

        >>> session.create_follow_up_policy(past_clients.id, "30 days")  # doctest: +SKIP
        """
        cad = Cadence.parse(cadence)
        with self._unit() as (uow, actor):
            now = self.crm.now()
            bucket = self._bucket(uow, actor, bucket_id)
            responsible = actor if member_id is None else self._member(uow, member_id)
            self._require_policy_rights(
                uow, actor, bucket, responsible, "create follow-up policies"
            )
            for existing in uow.followup_policies.for_buckets(self.team_id, [bucket.id]):
                if existing.member_id == responsible.id:
                    raise AlreadyExists("follow-up policy", f"{bucket.id}/{responsible.id}")
            policy = FollowUpPolicy(
                id=new_policy_id(),
                team_id=self.team_id,
                bucket_id=bucket.id,
                member_id=responsible.id,
                cadence=cad,
                reset_by_team=not bucket.is_personal,
                created_at=now,
                created_by=actor.id,
                time_zone=responsible.time_zone,
            )
            uow.followup_policies.add(policy)
            FollowUpBook(uow, self.team_id).settle(now)
            FollowUpBook(uow, self.team_id).rebuild_policy(policy)
            uow.collect(
                self._event(
                    EventName.FOLLOW_UP_POLICY_CREATED,
                    policy.id,
                    now,
                    bucket_id=bucket.id,
                    member_id=responsible.id,
                    cadence=str(cad),
                )
            )
            uow.commit()
            return policy

    def follow_up_policies(
        self,
        *,
        member_id: MemberId | None = None,
        bucket_id: str | None = None,
    ) -> list[FollowUpPolicy]:
        """Return the follow-up policies the member may see, oldest first.

        With *member_id*, only that member's (another member's need a manager
        or admin); with *bucket_id*, only that bucket's.  Without either, the
        caller's own policies.  Policies on someone else's personal bucket are
        never shown.
        """
        with self._unit(write=False) as (uow, actor):
            if bucket_id is not None:
                bucket = self._bucket(uow, actor, bucket_id)
                rows = uow.followup_policies.for_buckets(self.team_id, [bucket.id])
                if member_id is not None:
                    target = self._target(uow, actor, member_id, "see others' follow-ups")
                    rows = [p for p in rows if p.member_id == target.id]
            else:
                target = self._target(uow, actor, member_id, "see others' follow-ups")
                rows = uow.followup_policies.for_member(self.team_id, target.id)
            buckets = self._bucket_map(uow)
            return [
                p
                for p in rows
                if p.bucket_id in buckets and perm.can_view_bucket(actor, buckets[p.bucket_id])
            ]

    def change_follow_up_cadence(
        self, policy_id: PolicyId, cadence: Cadence | str
    ) -> FollowUpPolicy:
        """Change a policy's cadence; every due date of the policy is recomputed."""
        cad = Cadence.parse(cadence)
        with self._unit() as (uow, actor):
            now = self.crm.now()
            policy, _ = self._managed_policy(uow, actor, policy_id, "change follow-up policies")
            responsible = uow.members.get(self.team_id, policy.member_id)
            updated: FollowUpPolicy = bumped(policy, cadence=cad, time_zone=responsible.time_zone)
            uow.followup_policies.update(updated)
            FollowUpBook(uow, self.team_id).settle(now)
            FollowUpBook(uow, self.team_id).rebuild_policy(updated)
            uow.collect(
                self._event(EventName.FOLLOW_UP_POLICY_CHANGED, policy.id, now, cadence=str(cad))
            )
            uow.commit()
            return updated

    def remove_follow_up_policy(self, policy_id: PolicyId) -> None:
        """Remove a policy; its contacts leave the member's list (unless another covers them)."""
        with self._unit() as (uow, actor):
            now = self.crm.now()
            policy, _ = self._managed_policy(uow, actor, policy_id, "remove follow-up policies")
            uow.followup_policies.delete(self.team_id, policy.id, policy.version)
            uow.followup_dues.delete_policy(self.team_id, policy.id)
            uow.collect(
                self._event(
                    EventName.FOLLOW_UP_POLICY_REMOVED,
                    policy.id,
                    now,
                    bucket_id=policy.bucket_id,
                    member_id=policy.member_id,
                )
            )
            uow.commit()

    # ============================================================ the list
    def follow_ups(
        self,
        member_id: MemberId | None = None,
        *,
        at: datetime | None = None,
        limit: int | None = 100,
    ) -> Rows[FollowUpRow]:
        """Return a member's follow-up list at *at* (default now), most overdue first.

        A contact is listed when one of the member's policies makes it due on
        or before the member's local date of *at* and the member has not
        snoozed it past *at*; it appears once, with every policy covering it as
        a reason.  Open tasks whose due time is at or before *at* are listed
        too, and the follow-up reminders of the pools whose leads the member
        owns now (``kind == "pool"``, see :mod:`teamcrm.pool_reminder`).
        Members see their own list; managers and admins anyone's (then the
        member's personal buckets are left out).

        The list is a :class:`~teamcrm.rows.Rows`: a plain ``list`` that also
        shows itself as a table in a notebook or terminal.  *limit* is 1 to
        :data:`MAX_LIST`, or ``None`` for every row due (no cap: the due rows
        are still read from the store a page at a time).

        Rights are read at call time: a policy counts only while its member
        can see its bucket (a revoked grant silences it, a new grant wakes it
        up), and a task is listed only while its member can see its contact.
        """
        wanted = (
            sys.maxsize if limit is None else check_int("limit", limit, minimum=1, maximum=MAX_LIST)
        )
        return self._follow_up_list(member_id, at, wanted, None)

    def _follow_up_list(
        self,
        member_id: MemberId | None,
        at: datetime | None,
        wanted: int,
        start: RowKey | None,
    ) -> Rows[FollowUpRow]:
        """The first *wanted* rows of the list whose sort key is after *start* (if given)."""
        when = self.crm.now() if at is None else check_time("at", at)
        for attempt in range(2):
            ahead = self._list_first_reads(member_id, when, wanted, start)
            with self._unit(write=False, ahead=ahead) as (uow, actor):
                target = self._target(uow, actor, member_id, "see another member's follow-ups")
                stored = uow.followup_policies.for_member(self.team_id, target.id)
                self._list_reads_ahead(uow, target, stored, when, wanted, start)
                buckets: dict[str, Bucket] = {}
                policies = self._live_policies(uow, target, stored, buckets)
                if attempt or all(p.time_zone == target.time_zone for p in policies):
                    rows = self._list(
                        uow,
                        target,
                        policies,
                        when,
                        wanted,
                        include_personal=target.id == actor.id,
                        start=start,
                        buckets=buckets,
                    )
                    return Rows(
                        rows,
                        title=f"Follow-ups of {target.name} at {when:%Y-%m-%d %H:%M} UTC",
                        display=DueRow.from_follow_up,
                    )
            self._refresh_zone(target.id)  # the member moved zone: recompute, then read
        raise AssertionError("unreachable")  # pragma: no cover

    def snooze_follow_up(
        self,
        contact_id: ContactId,
        until: datetime,
        *,
        member_id: MemberId | None = None,
    ) -> Snooze:
        """Hide a contact from a member's list (default: one's own) until *until*."""
        when = check_time("until", until)
        with self._unit() as (uow, actor):
            target = self._target(uow, actor, member_id, "snooze another member's follow-ups")
            contact = self._visible_contact(uow, actor, contact_id)
            self._require_target_sees(uow, actor, target, contact)
            snooze = Snooze(
                team_id=self.team_id, member_id=target.id, contact_id=contact.id, until=when
            )
            uow.snoozes.put(snooze)
            uow.collect(
                self._event(
                    EventName.FOLLOW_UP_SNOOZED,
                    contact.id,
                    self.crm.now(),
                    member_id=target.id,
                    until=when.isoformat(),
                )
            )
            uow.commit()
            return snooze

    def mark_follow_up_done(
        self, contact_id: ContactId, *, member_id: MemberId | None = None
    ) -> None:
        """Record that a member (default: oneself) followed the contact up now.

        It counts as a touch for that member's policies on that contact only
        (not for the team's), and ends any snooze of it.
        """
        with self._unit() as (uow, actor):
            now = self.crm.now()
            target = self._target(uow, actor, member_id, "act on another member's follow-ups")
            contact = self._visible_contact(uow, actor, contact_id)
            self._require_target_sees(uow, actor, target, contact)
            FollowUpBook(uow, self.team_id).settle(now)
            uow.touches.record(
                [
                    Touch(
                        team_id=self.team_id,
                        contact_id=contact.id,
                        member_id=target.id,
                        at=now,
                        kind=TouchKind.DONE,
                        team_wide=False,
                    )
                ]
            )
            uow.snoozes.remove(self.team_id, target.id, contact.id)
            FollowUpBook(uow, self.team_id).recompute([contact.id])
            uow.collect(self._event(EventName.FOLLOW_UP_DONE, contact.id, now, member_id=target.id))
            uow.commit()

    # ================================================================= tasks
    def create_task(
        self,
        contact_id: ContactId,
        due_at: datetime,
        note: str = "",
        *,
        member_id: MemberId | None = None,
    ) -> Task:
        """Create an open task for a member (default: oneself; others need a manager).

        The member must be able to see the contact (``ValidationError`` naming
        ``member_id`` otherwise), not only the caller.
        """
        due = check_time("due_at", due_at)
        text = check_text("note", note, max_len=MAX_NOTE, allow_empty=True, multiline=True)
        with self._unit() as (uow, actor):
            now = self.crm.now()
            target = self._target(uow, actor, member_id, "create tasks for another member")
            perm.require(target.active, actor, "give a task", "the member is deactivated")
            contact = self._visible_contact(uow, actor, contact_id)
            self._require_target_sees(uow, actor, target, contact)
            task = Task(
                id=new_task_id(),
                team_id=self.team_id,
                member_id=target.id,
                contact_id=contact.id,
                due_at=due,
                note=text,
                created_at=now,
                created_by=actor.id,
            )
            uow.tasks.add(task)
            uow.collect(
                self._event(
                    EventName.TASK_CREATED,
                    task.id,
                    now,
                    member_id=target.id,
                    contact_id=contact.id,
                    due_at=due.isoformat(),
                )
            )
            uow.commit()
            return task

    def complete_task(self, task_id: TaskId) -> Task:
        """Mark an open task done."""
        return self._close_task(task_id, TaskStatus.DONE, EventName.TASK_COMPLETED)

    def cancel_task(self, task_id: TaskId) -> Task:
        """Cancel an open task."""
        return self._close_task(task_id, TaskStatus.CANCELLED, EventName.TASK_CANCELLED)

    def reschedule_task(self, task_id: TaskId, due_at: datetime) -> Task:
        """Move an open task's due time."""
        due = check_time("due_at", due_at)
        with self._unit() as (uow, actor):
            task = self._open_task(uow, actor, task_id, "reschedule this task")
            updated: Task = bumped(task, due_at=due)
            uow.tasks.update(updated)
            uow.collect(
                self._event(
                    EventName.TASK_RESCHEDULED, task.id, self.crm.now(), due_at=due.isoformat()
                )
            )
            uow.commit()
            return updated

    def task(self, task_id: TaskId) -> Task:
        """Return one task (its member's, its creator's, or any for managers).

        ``NotFound`` unless the caller can see the task's contact now.
        """
        with self._unit(write=False) as (uow, actor):
            return self._task(uow, actor, task_id)

    def tasks(
        self,
        member_id: MemberId | None = None,
        *,
        status: TaskStatus | TaskStatusName | None = None,
    ) -> list[Task]:
        """Return a member's tasks (default: one's own), by due time; optionally one status.

        Only tasks on contacts the member can see now (and the caller too).
        """
        wanted = None if status is None else check_enum("status", TaskStatus, status)
        with self._unit(write=False) as (uow, actor):
            target = self._target(uow, actor, member_id, "see another member's tasks")
            rows = uow.tasks.for_member(self.team_id, target.id, wanted)
            readers = [target] if target.id == actor.id else [target, actor]
            seen = self._seen_contacts(uow, readers, [t.contact_id for t in rows])
            return [t for t in rows if t.contact_id in seen]

    # ============================================================ internals
    def _live_policies(
        self,
        uow: UnitOfWork,
        member: Member,
        policies: list[FollowUpPolicy],
        buckets: dict[str, Bucket] | None = None,
    ) -> list[FollowUpPolicy]:
        """The member's policies on buckets the member can see now (rights at read time).

        The buckets read are put in *buckets* (by id), for the list to name them.
        """
        out = []
        for policy in policies:
            bucket = None if buckets is None else buckets.get(policy.bucket_id)
            if bucket is None:
                try:
                    bucket = uow.buckets.get(self.team_id, policy.bucket_id)
                except NotFound:
                    continue
                if buckets is not None:
                    buckets[bucket.id] = bucket
            if perm.can_view_bucket(member, bucket):
                out.append(policy)
        return out

    def _require_target_sees(
        self, uow: UnitOfWork, actor: Member, target: Member, contact: Contact
    ) -> None:
        """A command naming another member needs that member's rights too."""
        if target.id != actor.id and not self._may_see(uow, target, contact.id, contact.created_by):
            raise ValidationError(
                "member_id", target.id, f"the member cannot see the contact {contact.id}"
            )

    def _target(self, uow: UnitOfWork, actor: Member, member_id: str | None, action: str) -> Member:
        if member_id is None or member_id == actor.id:
            return actor
        target = self._member(uow, member_id)
        perm.require(actor.role.is_manager, actor, action, "managers and admins only")
        return target

    def _require_policy_rights(
        self, uow: UnitOfWork, actor: Member, bucket: Bucket, responsible: Member, action: str
    ) -> None:
        if bucket.is_personal:
            perm.require(
                responsible.id == actor.id == bucket.owner_id,
                actor,
                action,
                "a personal bucket's policy is its owner's, for themselves",
            )
            return
        team = uow.teams.get(self.team_id)
        perm.require(
            perm.can_manage_team_buckets(actor, team.settings),
            actor,
            action,
            "the team lets only managers and admins manage buckets",
        )
        if not responsible.active:
            raise ValidationError("member_id", responsible.id, "the member is deactivated")
        if not perm.can_view_bucket(responsible, bucket):
            raise ValidationError("member_id", responsible.id, "the member cannot see the bucket")

    def _managed_policy(
        self, uow: UnitOfWork, actor: Member, policy_id: str, action: str
    ) -> tuple[FollowUpPolicy, Bucket]:
        check_id("policy_id", policy_id, PREFIXES["policy"])
        policy = uow.followup_policies.get(self.team_id, PolicyId(policy_id))
        bucket = uow.buckets.get(self.team_id, policy.bucket_id)
        if not perm.can_view_bucket(actor, bucket):
            raise NotFound("follow-up policy", policy_id)
        if bucket.is_personal:
            perm.require(bucket.owner_id == actor.id, actor, action, "owner only")
        else:
            team = uow.teams.get(self.team_id)
            perm.require(
                perm.can_manage_team_buckets(actor, team.settings),
                actor,
                action,
                "the team lets only managers and admins manage buckets",
            )
        return policy, bucket

    def _task(self, uow: UnitOfWork, actor: Member, task_id: str) -> Task:
        check_id("task_id", task_id, PREFIXES["task"])
        task = uow.tasks.get(self.team_id, TaskId(task_id))
        if not (actor.role.is_manager or task.member_id == actor.id or task.created_by == actor.id):
            raise NotFound("task", task_id)
        if not self._seen_contacts(uow, [actor], [task.contact_id]):
            raise NotFound("task", task_id)  # its contact is out of the caller's sight now
        return task

    def _open_task(self, uow: UnitOfWork, actor: Member, task_id: str, action: str) -> Task:
        task = self._task(uow, actor, task_id)
        if not task.is_open:
            raise ValidationError("task_id", task_id, f"the task is already {task.status.value}")
        return task

    def _close_task(self, task_id: str, status: TaskStatus, event: EventName) -> Task:
        with self._unit() as (uow, actor):
            now = self.crm.now()
            task = self._open_task(uow, actor, task_id, f"mark this task {status.value}")
            updated: Task = bumped(task, status=status, closed_at=now)
            uow.tasks.update(updated)
            uow.collect(self._event(event, task.id, now))
            uow.commit()
            return updated

    def _refresh_zone(self, member_id: MemberId) -> None:
        """Recompute a member's due dates after they moved to another time zone."""
        with self._unit() as (uow, _actor):
            target = uow.members.get(self.team_id, member_id)
            for policy in uow.followup_policies.for_member(self.team_id, target.id):
                if policy.time_zone != target.time_zone:
                    updated: FollowUpPolicy = bumped(policy, time_zone=target.time_zone)
                    uow.followup_policies.update(updated)
                    FollowUpBook(uow, self.team_id).rebuild_policy(updated)
            uow.commit()
