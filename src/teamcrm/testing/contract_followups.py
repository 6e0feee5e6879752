"""Contract tests of the follow-up ports: policies, touches, due rows, snoozes, tasks.

Part of the public contract suite (see :mod:`teamcrm.testing.contract`, whose
:class:`~teamcrm.testing.contract.StoreContract` includes these classes):

* :class:`FollowUpPolicyRepositoryContract` - round trips (every cadence unit,
  any IANA zone), duplicates, versions, deletes (with their due rows), order;
* :class:`TouchRepositoryContract` - "newest wins" per contact and per
  (contact, member), team-wide or not, and the pending (future) touches;
* :class:`FollowUpDueRepositoryContract` - rows keyed by (policy, contact),
  deletes, the order of ``for_contacts`` and keyset paging with snoozes;
* :class:`SnoozeRepositoryContract` - set, replace, remove;
* :class:`TaskRepositoryContract` - round trips, versions, order, open tasks due;
* :class:`FollowUpIsolationContract` - another team's follow-up rows are never
  seen or changed, and a rolled-back unit leaves none of its follow-up writes.

This module holds the isolation contract (it spans every follow-up port) and
re-exports the rest from their rooms: :mod:`~teamcrm.testing.contract_followup_base`
(the seed, rows and snapshots), :mod:`~teamcrm.testing.contract_followup_clocks`
(policies, touches, due rows) and :mod:`~teamcrm.testing.contract_followup_tasks`
(snoozes, tasks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
import pytest

from teamcrm.errors import ConcurrencyError, NotFound
from teamcrm.followup import Cadence, Snooze
from teamcrm.ports import Store, UnitOfWork
from teamcrm.task import Task, TaskStatus
from teamcrm.testing.contract_base import at, bump, discard, read, write
from teamcrm.testing.contract_followup_base import FAR as FAR
from teamcrm.testing.contract_followup_base import LAST_DAY as LAST_DAY
from teamcrm.testing.contract_followup_base import (
    FollowUpSeed,
    _due,
    _FollowUpBase,
    _snapshot,
    _touch,
    followup_snapshot,
    new_policy,
    new_task,
    seed_followups,
)
from teamcrm.testing.contract_followup_clocks import (
    FollowUpDueRepositoryContract,
    FollowUpPolicyRepositoryContract,
    TouchRepositoryContract,
)
from teamcrm.testing.contract_followup_tasks import SnoozeRepositoryContract, TaskRepositoryContract

__all__ = [
    "FollowUpDueRepositoryContract",
    "FollowUpIsolationContract",
    "FollowUpPolicyRepositoryContract",
    "FollowUpSeed",
    "SnoozeRepositoryContract",
    "TaskRepositoryContract",
    "TouchRepositoryContract",
    "followup_snapshot",
    "new_policy",
    "new_task",
    "seed_followups",
]


# ================================================================ isolation


def _other_team_calls(a: FollowUpSeed, b: FollowUpSeed) -> Sequence[Any]:
    """Calls scoped to team *a* that name *b*'s rows."""
    t = a.team_id
    m = b.seed.agent.id
    cs = b.contact_ids
    return [
        lambda uow: uow.followup_policies.all(t),
        lambda uow: uow.followup_policies.for_buckets(t, [b.team_bucket.id]),
        lambda uow: uow.followup_policies.for_member(t, m),
        lambda uow: uow.touches.team_latest(t, cs),
        lambda uow: uow.touches.member_latest(t, cs),
        lambda uow: uow.touches.pending(t, FAR),
        lambda uow: uow.followup_dues.for_contacts(t, m, cs),
        lambda uow: uow.followup_dues.page(t, m, LAST_DAY, at(0), None, 1000),
        lambda uow: [uow.snoozes.get(t, m, cid) for cid in cs],
        lambda uow: uow.tasks.for_member(t, m),
        lambda uow: uow.tasks.open_due(t, m, FAR, 1000),
    ]


def _fill_followups(store: Store, fs: FollowUpSeed) -> Task:
    """Give *fs*'s team a row in every follow-up port; return its task."""
    c = fs.contact_ids
    agent = fs.seed.agent.id
    task = new_task(fs.seed, 100)

    def fill(uow: UnitOfWork) -> None:
        uow.touches.record([_touch(fs, c[0], agent, 50)])
        uow.touches.add_pending([_touch(fs, c[1], agent, 5_000)])
        uow.followup_dues.put_many([_due(fs, fs.policy, cid, 1) for cid in c])
        uow.snoozes.put(Snooze(team_id=fs.team_id, member_id=agent, contact_id=c[2], until=FAR))
        uow.tasks.add(task)

    write(store, fill)
    return task


class FollowUpIsolationContract(_FollowUpBase):
    """Team isolation and rollback across every follow-up port."""

    def test_another_teams_follow_up_rows_are_never_seen_or_changed(self, store: Store) -> None:
        a = seed_followups(store, "A")
        b = seed_followups(store, "B")
        task_b = _fill_followups(store, b)
        before = _snapshot(store, b)
        t = a.team_id
        for lookup in _other_team_calls(a, b):
            found = read(store, lookup)
            rows = found.values() if isinstance(found, dict) else found
            assert all(r is None or r.team_id == t for r in rows), found
        assert read(store, lambda uow: uow.followup_policies.all(t)) == [a.policy]
        for lookup in (
            lambda uow: uow.followup_policies.get(t, b.policy.id),
            lambda uow: uow.tasks.get(t, task_b.id),
        ):
            with pytest.raises(NotFound):
                read(store, lookup)
        attempts = [
            lambda uow: uow.followup_policies.update(bump(attrs.evolve(b.policy, team_id=t))),
            lambda uow: uow.followup_policies.delete(t, b.policy.id, 1),
            lambda uow: uow.tasks.update(bump(attrs.evolve(task_b, team_id=t))),
        ]
        for attempt in attempts:
            with pytest.raises((NotFound, ConcurrencyError)):
                write(store, attempt)
        m, cs = b.seed.agent.id, b.contact_ids

        def harmless(uow: UnitOfWork) -> None:
            uow.touches.drop_pending(t, FAR)
            uow.followup_dues.delete(t, [b.policy.id], cs)
            uow.followup_dues.delete_policy(t, b.policy.id)
            for cid in cs:
                uow.snoozes.remove(t, m, cid)

        write(store, harmless)
        assert _snapshot(store, b) == before

    def test_a_rolled_back_unit_leaves_no_follow_up_change(
        self, store: Store, followup_seed: Callable[[], FollowUpSeed]
    ) -> None:
        fs = followup_seed()
        task = _fill_followups(store, fs)
        before = _snapshot(store, fs)
        c = fs.contact_ids
        agent = fs.seed.agent.id

        def changes(uow: UnitOfWork) -> None:
            second = new_policy(fs.seed, fs.personal_bucket, 30)
            uow.followup_policies.add(second)
            uow.followup_policies.update(bump(fs.policy, cadence=Cadence.weeks(2)))
            uow.touches.record([_touch(fs, c[0], agent, 60), _touch(fs, c[1], agent, 60)])
            uow.touches.add_pending([_touch(fs, c[2], agent, 6_000)])
            uow.touches.drop_pending(fs.team_id, FAR)
            uow.followup_dues.put_many([_due(fs, second, cid, 3) for cid in c])
            uow.followup_dues.delete(fs.team_id, [fs.policy.id], c[:2])
            uow.snoozes.put(Snooze(team_id=fs.team_id, member_id=agent, contact_id=c[0], until=FAR))
            uow.snoozes.remove(fs.team_id, agent, c[2])
            uow.tasks.update(bump(task, status=TaskStatus.DONE, closed_at=at(70)))
            uow.tasks.add(new_task(fs.seed, 200))

        discard(store, changes)

        assert _snapshot(store, fs) == before
        write(store, changes)  # and the same changes commit cleanly afterwards
        assert _snapshot(store, fs) != before
