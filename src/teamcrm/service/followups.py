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

import contextlib
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from teamcrm import permissions as perm
from teamcrm.bucket import Bucket, BucketMembership
from teamcrm.contact import Contact
from teamcrm.errors import AlreadyExists, NotFound, ValidationError
from teamcrm.events import EventName
from teamcrm.followup import (
    Cadence,
    FollowUpDue,
    FollowUpPolicy,
    FollowUpReason,
    FollowUpRow,
    PolicyId,
    RowKind,
    Snooze,
    Touch,
    TouchKind,
    compute_due,
    local_date,
    new_policy_id,
    newest,
    start_of_day,
)
from teamcrm.ids import PREFIXES, BucketId, ContactId, InteractionId, MemberId, TeamId
from teamcrm.interaction import Interaction
from teamcrm.ports import UnitOfWork
from teamcrm.rows import Rows
from teamcrm.service.base import SessionBase, bumped
from teamcrm.service.pool_reminders import pool_reminder_rows
from teamcrm.task import MAX_NOTE, Task, TaskId, TaskStatus, TaskStatusName, new_task_id
from teamcrm.team import Member
from teamcrm.validation import check_enum, check_id, check_int, check_text, check_time
from teamcrm.views import DueRow

if TYPE_CHECKING:
    from teamcrm.service.reactions import Occasion

__all__ = ["MAX_LIST", "FollowUpBook", "FollowUpUseCases"]

#: Most rows one call of :meth:`FollowUpUseCases.follow_ups` returns when given a
#: ``limit`` (``limit=None`` returns every row due, without a cap), and the
#: largest grid page.
MAX_LIST = 10_000
#: The sort key of a follow-up row (:attr:`FollowUpRow.sort_key`): pages start after one.
RowKey = tuple[date, datetime, str, str]
#: Extra due rows read per page (a contact may have rows of several policies).
_SLACK = 8


def _due_order(due: FollowUpDue) -> tuple[date, str]:
    """Earliest due first; ties by policy id."""
    return (due.due_on, due.policy_id)


_CHUNK = 500


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class FollowUpUseCases(SessionBase):
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
            with self._unit(write=False) as (uow, actor):
                target = self._target(uow, actor, member_id, "see another member's follow-ups")
                policies = self._live_policies(
                    uow, target, uow.followup_policies.for_member(self.team_id, target.id)
                )
                if attempt or all(p.time_zone == target.time_zone for p in policies):
                    rows = self._list(
                        uow,
                        target,
                        policies,
                        when,
                        wanted,
                        include_personal=target.id == actor.id,
                        start=start,
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
        self, uow: UnitOfWork, member: Member, policies: list[FollowUpPolicy]
    ) -> list[FollowUpPolicy]:
        """The member's policies on buckets the member can see now (rights at read time)."""
        out = []
        for policy in policies:
            try:
                bucket = uow.buckets.get(self.team_id, policy.bucket_id)
            except NotFound:
                continue
            if perm.can_view_bucket(member, bucket):
                out.append(policy)
        return out

    def _seen_contacts(
        self, uow: UnitOfWork, readers: Sequence[Member], contact_ids: Sequence[str]
    ) -> set[str]:
        """Those of *contact_ids* that every one of *readers* may see now.

        A contact deleted since counts as seen: nothing of it is left to show.
        """
        wanted = list(dict.fromkeys(contact_ids))
        if not wanted or all(r.role.is_manager for r in readers):
            return set(wanted)
        found = {
            c.id: c for c in uow.contacts.get_many(self.team_id, [ContactId(c) for c in wanted])
        }
        by_item: dict[str, list[BucketMembership]] = {}
        for m in uow.memberships.buckets_of(self.team_id, list(found)):
            by_item.setdefault(m.item_id, []).append(m)
        buckets = self._bucket_map(uow)
        out = {c for c in wanted if c not in found}
        for cid, contact in found.items():
            held = by_item.get(cid, [])
            if all(perm.can_see_item(r, contact.created_by, held, buckets) for r in readers):
                out.add(cid)
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

    # -- the list ------------------------------------------------------------
    def _list(
        self,
        uow: UnitOfWork,
        member: Member,
        member_policies: list[FollowUpPolicy],
        at: datetime,
        limit: int,
        *,
        include_personal: bool,
        start: RowKey | None = None,
    ) -> list[FollowUpRow]:
        zone = member.time_zone
        today = local_date(at, zone)
        policies: dict[str, FollowUpPolicy] = {p.id: p for p in member_policies}
        allowed: set[str] = {
            pid for pid, p in policies.items() if include_personal or p.reset_by_team
        }
        rows: list[FollowUpRow] = []
        if allowed:
            rows = self._policy_rows(uow, member, policies, allowed, at, today, limit, start)
        tasks = self._tasks_after(uow, member, at, limit, start)
        seen = self._seen_contacts(uow, [member], [t.contact_id for t in tasks])
        for task in tasks:
            if task.contact_id in seen:  # the member can see its contact now
                rows.append(self._task_row(uow, task, today, zone))
        rows.extend(pool_reminder_rows(uow, self.team_id, member, at, self._seen_contacts))
        rows = [r for r in rows if r.contact is not None and (start is None or r.sort_key > start)]
        rows.sort(key=lambda r: r.sort_key)
        return rows[:limit]

    def _overlay(
        self,
        uow: UnitOfWork,
        member: Member,
        policies: dict[str, FollowUpPolicy],
        at: datetime,
    ) -> dict[str, list[FollowUpDue]]:
        """Due rows of contacts whose pending touches (dated at or before *at*) count."""
        pending = [
            t
            for t in uow.touches.pending(self.team_id, at)
            if t.team_wide or t.member_id == member.id
        ]
        if not pending:
            return {}
        contacts = list(dict.fromkeys(t.contact_id for t in pending))
        _, computed = FollowUpBook(uow, self.team_id).compute(
            contacts, list(policies.values()), pending
        )
        out: dict[str, list[FollowUpDue]] = {c: [] for c in contacts}
        for row in computed:
            out[row.contact_id].append(row)
        return out

    def _policy_rows(
        self,
        uow: UnitOfWork,
        member: Member,
        policies: dict[str, FollowUpPolicy],
        allowed: set[str],
        at: datetime,
        today: date,
        limit: int,
        start: RowKey | None = None,
    ) -> list[FollowUpRow]:
        overlay = self._overlay(uow, member, policies, at)
        wanted: list[str] = []  # contacts, earliest due first
        seen: set[str] = set()
        for cid, dues in overlay.items():
            due = [d for d in dues if d.policy_id in allowed and d.due_on <= today]
            if due:
                snooze = uow.snoozes.get(self.team_id, member.id, ContactId(cid))
                if snooze is None or not snooze.hides(at):
                    wanted.append(cid)
                    seen.add(cid)
        found: dict[str, Contact] = {}
        page_rows: dict[str, list[FollowUpDue]] = {}
        after: tuple[date, str, str] | None = None
        if start is not None:  # a page: from the start's date (rows before it are dropped)
            midnight = start[1] == start_of_day(start[0], member.time_zone)
            after = (start[0], start[2] if midnight else "\U0010ffff", "")
        size = min(limit, MAX_LIST) + _SLACK  # read a page at a time, even without a cap
        taken = 0  # contacts taken from the stored rows (not the overlay)
        while taken < limit:
            page = uow.followup_dues.page(self.team_id, member.id, today, at, after, size)
            fresh: list[str] = []
            read = 0  # rows of the page looked at
            for row in page:
                if taken + len(fresh) >= limit:
                    break
                read += 1
                after = (row.due_on, row.contact_id, row.policy_id)
                if row.contact_id in overlay or row.policy_id not in allowed:
                    continue
                page_rows.setdefault(row.contact_id, []).append(row)
                if row.contact_id not in seen:
                    seen.add(row.contact_id)
                    fresh.append(row.contact_id)
            if fresh:  # a contact deleted since is skipped
                got = uow.contacts.get_many(self.team_id, [ContactId(c) for c in fresh])
                found.update((c.id, c) for c in got)
                kept = [c for c in fresh if c in found]
                if start is not None:
                    kept = self._listed_after(uow, member, kept, allowed, start)
                wanted.extend(kept)
                taken += len(kept)
            if len(page) < size and read == len(page):  # none left
                break
        missing = [c for c in wanted if c not in found]
        if missing:
            found.update(
                (c.id, c)
                for c in uow.contacts.get_many(self.team_id, [ContactId(c) for c in missing])
            )
        wanted = [c for c in wanted if c in found]
        if len(allowed) == 1:  # one policy: the page rows are all the rows
            stored = [r for c in wanted if c not in overlay for r in page_rows.get(c, [])]
        else:  # other policies may cover them too, not yet due
            stored = uow.followup_dues.for_contacts(
                self.team_id, member.id, [c for c in wanted if c not in overlay]
            )
        by_contact: dict[str, list[FollowUpDue]] = {}
        for row in stored:
            by_contact.setdefault(row.contact_id, []).append(row)
        for cid, dues in overlay.items():
            by_contact[cid] = dues
        buckets = self._policy_buckets(uow, policies, allowed)
        out = []
        for cid in wanted:
            dues = [d for d in by_contact.get(cid, ()) if d.policy_id in allowed]
            if len(dues) > 1:
                dues.sort(key=_due_order)
            if not dues or dues[0].due_on > today:
                continue
            out.append(self._policy_row(found[cid], dues, policies, buckets, today, member))
        return out

    def _listed_after(
        self,
        uow: UnitOfWork,
        member: Member,
        contacts: list[str],
        allowed: set[str],
        start: RowKey,
    ) -> list[str]:
        """The *contacts* whose row (at their earliest due row) sorts after *start*.

        A contact whose earliest row came before *start* was on an earlier page,
        though a later row of another policy is read again from *start* on.
        """
        first: dict[str, date] = {}
        for row in uow.followup_dues.for_contacts(self.team_id, member.id, contacts):
            if row.policy_id in allowed and (
                row.contact_id not in first or row.due_on < first[row.contact_id]
            ):
                first[row.contact_id] = row.due_on
        zone = member.time_zone
        return [
            c
            for c in contacts
            if c in first and (first[c], start_of_day(first[c], zone), c, "") > start
        ]

    def _tasks_after(
        self, uow: UnitOfWork, member: Member, at: datetime, limit: int, start: RowKey | None
    ) -> list[Task]:
        """Up to *limit* open tasks due by *at* whose rows sort after *start* (if given)."""
        if start is None:
            return uow.tasks.open_due(self.team_id, member.id, at, limit)
        zone, size = member.time_zone, limit
        while True:
            got = uow.tasks.open_due(self.team_id, member.id, at, size, since=start[1])
            kept = [
                t
                for t in got
                if (local_date(t.due_at, zone), t.due_at, str(t.contact_id), str(t.id)) > start
            ]
            if len(kept) >= limit or len(got) < size:
                return kept[:limit]
            size *= 2

    def _policy_buckets(
        self, uow: UnitOfWork, policies: dict[str, FollowUpPolicy], allowed: set[str]
    ) -> dict[str, Bucket]:
        """The buckets of the listed policies (not every bucket of the team)."""
        out: dict[str, Bucket] = {}
        for pid in allowed:
            bucket_id = policies[pid].bucket_id
            if bucket_id not in out:
                # A bucket deleted since: its rows are listed without a name.
                with contextlib.suppress(NotFound):
                    out[bucket_id] = uow.buckets.get(self.team_id, bucket_id)
        return out

    @staticmethod
    def _policy_row(
        contact: Contact,
        dues: list[FollowUpDue],
        policies: dict[str, FollowUpPolicy],
        buckets: dict[str, Bucket],
        today: date,
        member: Member,
    ) -> FollowUpRow:
        first = dues[0]
        if len(dues) == 1:
            last = None if first.touch_at is None else (first.touch_at, first.touch_by)
        else:
            touched = [(d.touch_at, d.touch_by) for d in dues if d.touch_at is not None]
            last = max(touched, key=lambda t: (t[0], t[1] or "")) if touched else None
        reasons = tuple(
            FollowUpReason(
                policy_id=d.policy_id,
                bucket_id=d.bucket_id,
                bucket_name=buckets[d.bucket_id].name if d.bucket_id in buckets else "",
                cadence=policies[d.policy_id].cadence,
                due_on=d.due_on,
                touch_at=d.touch_at,
                touch_by=d.touch_by,
                touch_kind=d.touch_kind,
            )
            for d in dues
        )
        return FollowUpRow(
            kind=RowKind.POLICY,
            contact=contact,
            due_on=first.due_on,
            due_at=start_of_day(first.due_on, member.time_zone),
            days_overdue=(today - first.due_on).days,
            reasons=reasons,
            last_touch_at=None if last is None else last[0],
            last_touch_by=None if last is None else last[1],
        )

    def _task_row(self, uow: UnitOfWork, task: Task, today: date, zone: str) -> FollowUpRow:
        found = uow.contacts.get_many(self.team_id, [task.contact_id])
        due_on = local_date(task.due_at, zone)
        touch = uow.touches.team_latest(self.team_id, [task.contact_id]).get(task.contact_id)
        return FollowUpRow(
            kind=RowKind.TASK,
            contact=found[0] if found else None,
            due_on=due_on,
            due_at=task.due_at,
            days_overdue=(today - due_on).days,
            last_touch_at=None if touch is None else touch.at,
            last_touch_by=None if touch is None else touch.member_id,
            task=task,
        )


class FollowUpBook:
    """Keeps the touches and due rows of one team up to date inside a unit of work.

    The hooks (:meth:`items_removed`, :meth:`bucket_deleted`,
    :meth:`interaction_logged`) are called by the other use cases in the same
    unit of work as their change, so the follow-up list is never stale.
    """

    def __init__(self, uow: UnitOfWork, team_id: TeamId) -> None:
        self.uow = uow
        self.team_id = team_id

    def compute(
        self,
        contact_ids: Sequence[str],
        policies: Sequence[FollowUpPolicy] | None,
        extra: Sequence[Touch] = (),
    ) -> tuple[list[FollowUpPolicy], list[FollowUpDue]]:
        """Compute the due rows of *contact_ids* under *policies* (default: all covering them)."""
        added: dict[str, dict[str, datetime]] = {}
        for m in self.uow.memberships.buckets_of(self.team_id, contact_ids):
            if m.is_contact:
                added.setdefault(m.bucket_id, {})[m.item_id] = m.added_at
        if policies is None:
            policies = self.uow.followup_policies.for_buckets(
                self.team_id, [BucketId(b) for b in added]
            )
        if not policies:
            return [], []
        cids = [ContactId(c) for c in contact_ids]
        team_t = self.uow.touches.team_latest(self.team_id, cids)
        member_t = self.uow.touches.member_latest(self.team_id, cids)
        for t in extra:
            key = (t.contact_id, t.member_id)
            member_t[key] = newest(member_t.get(key), t) or t
            if t.team_wide:
                team_t[t.contact_id] = newest(team_t.get(t.contact_id), t) or t
        rows = [
            compute_due(
                policy,
                ContactId(cid),
                when,
                team_t.get(cid),
                member_t.get((cid, policy.member_id)),
                policy.time_zone,
            )
            for policy in policies
            for cid, when in added.get(policy.bucket_id, {}).items()
        ]
        return list(policies), rows

    def recompute(
        self,
        contact_ids: Sequence[str],
        policies: Sequence[FollowUpPolicy] | None = None,
    ) -> None:
        """Recompute and store the due rows of *contact_ids*."""
        for chunk in _chunks(list(dict.fromkeys(contact_ids))):
            used, rows = self.compute(chunk, policies)
            if used:
                self.uow.followup_dues.delete(self.team_id, [p.id for p in used], chunk)
                self.uow.followup_dues.put_many(rows)

    def rebuild_policy(self, policy: FollowUpPolicy) -> None:
        """Recompute every due row of one policy (after it was created or changed)."""
        self.uow.followup_dues.delete_policy(self.team_id, policy.id)
        members = [
            m.item_id
            for m in self.uow.memberships.items(self.team_id, policy.bucket_id)
            if m.is_contact
        ]
        for chunk in _chunks(members):
            _, rows = self.compute(chunk, [policy])
            self.uow.followup_dues.put_many(rows)

    def settle(self, now: datetime) -> None:
        """Turn pending touches whose time has passed into ordinary touches."""
        pending = self.uow.touches.pending(self.team_id, now)
        if not pending:
            return
        self.uow.touches.record(pending)
        self.uow.touches.drop_pending(self.team_id, now)
        self.recompute([t.contact_id for t in pending])

    def items_removed(self, bucket_id: str, item_ids: Sequence[str]) -> None:
        """Drop the due rows of contacts that left a bucket."""
        contacts = [i for i in item_ids if i.startswith(PREFIXES["contact"])]
        if not contacts:
            return
        policies = self.uow.followup_policies.for_buckets(self.team_id, [BucketId(bucket_id)])
        if policies:
            for chunk in _chunks(contacts):
                self.uow.followup_dues.delete(self.team_id, [p.id for p in policies], chunk)

    def bucket_deleted(self, bucket_id: str) -> None:
        """Remove the policies (and due rows) of a deleted bucket."""
        for policy in self.uow.followup_policies.for_buckets(self.team_id, [BucketId(bucket_id)]):
            self.uow.followup_policies.delete(self.team_id, policy.id, policy.version)
            self.uow.followup_dues.delete_policy(self.team_id, policy.id)

    def interaction_logged(self, interaction: Interaction, now: datetime) -> None:
        """Record the interaction as a touch of each of its contacts (same unit).

        A touch dated after *now* is kept pending until its time has passed.
        """
        self.settle(now)
        if not interaction.contact_ids:
            return
        touches = [
            Touch(
                team_id=self.team_id,
                contact_id=cid,
                member_id=interaction.author_id,
                at=interaction.occurred_at,
            )
            for cid in interaction.contact_ids
        ]
        if interaction.occurred_at > now:
            self.uow.touches.add_pending(touches)
            return
        self.uow.touches.record(touches)
        self.recompute(list(interaction.contact_ids))


# ================================================================ reactions
# Declared, in order, in teamcrm.service.reactions.default_reactions.
def start_clocks(occasion: Occasion) -> None:
    """``bucket.items_added``: start the clocks of the bucket's follow-up policies."""
    data = occasion.event.data
    contacts = [i for i in _ids(data.get("item_ids")) if i.startswith(PREFIXES["contact"])]
    if not contacts:
        return
    uow, team_id = occasion.uow, occasion.team_id
    policies = uow.followup_policies.for_buckets(team_id, [BucketId(occasion.event.subject_id)])
    if policies:
        FollowUpBook(uow, team_id).recompute(contacts, policies)


def stop_clocks(occasion: Occasion) -> None:
    """``bucket.items_removed``: drop the due rows of contacts that left the bucket."""
    FollowUpBook(occasion.uow, occasion.team_id).items_removed(
        occasion.event.subject_id, _ids(occasion.event.data.get("item_ids"))
    )


def drop_policies(occasion: Occasion) -> None:
    """``bucket.deleted``: remove the bucket's follow-up policies (and due rows)."""
    FollowUpBook(occasion.uow, occasion.team_id).bucket_deleted(occasion.event.subject_id)


def record_touches(occasion: Occasion) -> None:
    """``interaction.logged``: the interaction touches each of its contacts."""
    interaction = occasion.subject
    if not isinstance(interaction, Interaction):
        interaction = occasion.uow.interactions.get(
            occasion.team_id, InteractionId(occasion.event.subject_id)
        )
    FollowUpBook(occasion.uow, occasion.team_id).interaction_logged(interaction, occasion.now)


def _ids(value: object) -> list[str]:
    """A list of ids from event data (``[]`` when absent)."""
    return [str(v) for v in value] if isinstance(value, list) else []
