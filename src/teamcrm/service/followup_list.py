"""How the follow-up list is read: policy rows, tasks and snoozes merged, a page at a time.

The rows come from the stored due rows of each policy (kept current by
:class:`~teamcrm.service.followup_book.FollowUpBook`), overlaid with the
member's snoozes and open tasks, filtered to the contacts the member can see
now, in due order; a page starts after a row's sort key.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from teamcrm import permissions as perm
from teamcrm.bucket import Bucket
from teamcrm.contact import Contact
from teamcrm.errors import NotFound
from teamcrm.followup import (
    FollowUpDue,
    FollowUpPolicy,
    FollowUpReason,
    FollowUpRow,
    RowKind,
    local_date,
    start_of_day,
)
from teamcrm.ids import ContactId, MemberId
from teamcrm.ports import UnitOfWork
from teamcrm.service.base import SessionBase
from teamcrm.service.followup_book import FollowUpBook
from teamcrm.service.pool_reminders import pool_reminder_rows
from teamcrm.task import Task
from teamcrm.team import Member
from teamcrm.unit_of_work import read_ahead, reads_ahead

if TYPE_CHECKING:
    pass


__all__ = ["MAX_LIST", "FollowUpList", "RowKey"]

#: Most rows one call of
#: :meth:`~teamcrm.service.followups.FollowUpUseCases.follow_ups` returns when
#: given a ``limit`` (``limit=None`` returns every row due, without a cap), and the
#: largest grid page.
MAX_LIST = 10_000
#: The sort key of a follow-up row (:attr:`FollowUpRow.sort_key`): pages start after one.
RowKey = tuple[date, datetime, str, str]
#: Extra due rows read per page (a contact may have rows of several policies).
_SLACK = 8


def _due_order(due: FollowUpDue) -> tuple[date, str]:
    """Earliest due first; ties by policy id."""
    return (due.due_on, due.policy_id)


class FollowUpList(SessionBase):
    """The reading half of the follow-up use cases: the list, one page at a time."""

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
        by_item = self._memberships_by_item(uow, list(found))
        buckets = self._bucket_map(uow)
        out = {c for c in wanted if c not in found}
        for cid, contact in found.items():
            held = by_item.get(cid, [])
            if all(perm.can_see_item(r, contact.created_by, held, buckets) for r in readers):
                out.add(cid)
        return out

    # -- reads ahead (a store that sends them with its next round trip) -------
    def _list_first_reads(
        self, member_id: str | None, at: datetime, limit: int, start: RowKey | None
    ) -> Callable[[UnitOfWork], list[Callable[[], object]]]:
        """What the list reads before it knows anything: sent with the actor's read.

        The member named (if another), their policies, the pending touches,
        the team's pools (pool reminders) and, on a first page, their open
        tasks due.
        """
        team_id = self.team_id
        target = MemberId(member_id if member_id is not None else self.member_id)

        def reads(uow: UnitOfWork) -> list[Callable[[], object]]:
            found: list[Callable[[], object]] = []
            if target != self.member_id:
                found.append(lambda: uow.members.get(team_id, target))
            found += [
                lambda: uow.followup_policies.for_member(team_id, target),
                lambda: uow.touches.pending(team_id, at),
            ]
            if start is None:
                found.append(lambda: uow.tasks.open_due(team_id, target, at, limit))
            found.append(lambda: uow.lead_pools.all(team_id))
            return found

        return reads

    def _list_reads_ahead(
        self,
        uow: UnitOfWork,
        member: Member,
        policies: Sequence[FollowUpPolicy],
        at: datetime,
        limit: int,
        start: RowKey | None,
    ) -> None:
        """Read ahead the policies' buckets and, on a first page, the first page of due rows."""
        if not policies or not reads_ahead(uow):
            return
        team_id = self.team_id
        reads: list[Callable[[], object]] = [
            functools.partial(uow.buckets.get, team_id, b)
            for b in dict.fromkeys(p.bucket_id for p in policies)
        ]
        if start is None:
            today = local_date(at, member.time_zone)
            size = min(limit, MAX_LIST) + _SLACK
            reads.append(lambda: uow.followup_dues.page(team_id, member.id, today, at, None, size))
        read_ahead(uow, *reads)

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
        buckets: dict[str, Bucket] | None = None,
    ) -> list[FollowUpRow]:
        """The list's rows after *start*; *buckets*: the policies' buckets already read, by id."""
        zone = member.time_zone
        today = local_date(at, zone)
        policies: dict[str, FollowUpPolicy] = {p.id: p for p in member_policies}
        allowed: set[str] = {
            pid for pid, p in policies.items() if include_personal or p.reset_by_team
        }
        rows: list[FollowUpRow] = []
        if allowed:
            rows = self._policy_rows(
                uow, member, policies, allowed, at, today, limit, start, buckets or {}
            )
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
        known: dict[str, Bucket] | None = None,
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
        buckets = self._policy_buckets(uow, policies, allowed, known or {})
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
        self,
        uow: UnitOfWork,
        policies: dict[str, FollowUpPolicy],
        allowed: set[str],
        known: dict[str, Bucket],
    ) -> dict[str, Bucket]:
        """The buckets of the listed policies (not every bucket of the team; *known*: not again)."""
        out: dict[str, Bucket] = {}
        for pid in allowed:
            bucket_id = policies[pid].bucket_id
            if bucket_id in known:
                out[bucket_id] = known[bucket_id]
            elif bucket_id not in out:
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
