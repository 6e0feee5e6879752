"""Contract tests of what a member does about a follow-up: snoozes and tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.followup import Snooze
from teamcrm.ports import Store, UnitOfWork
from teamcrm.task import Task, TaskStatus, new_task_id
from teamcrm.testing import strategies as tst
from teamcrm.testing.contract_base import (
    Seed,
    add_all,
    at,
    bump,
    call,
    contract_settings,
    fresh,
    new_contact,
    read,
    round_trip_settings,
    seed_team,
    write,
)
from teamcrm.testing.contract_followup_base import FollowUpSeed, _FollowUpBase, new_task

__all__ = [
    "SnoozeRepositoryContract",
    "TaskRepositoryContract",
]

# =================================================================== snoozes


class SnoozeRepositoryContract(_FollowUpBase):
    """``uow.snoozes``: one per (member, contact); set, replace, remove."""

    @contract_settings
    @given(until=tst.aware_datetimes())
    def test_snoozes_are_set_replaced_and_removed(
        self, store: Store, followup_seed: Callable[[], FollowUpSeed], until: datetime
    ) -> None:
        fs = followup_seed()
        t, agent, admin = fs.team_id, fs.seed.agent.id, fs.seed.admin.id
        contact = new_contact(fs.seed, 30)
        first = Snooze(team_id=t, member_id=agent, contact_id=contact.id, until=at(100))
        other = Snooze(team_id=t, member_id=admin, contact_id=contact.id, until=at(200))

        def fill(uow: UnitOfWork) -> None:
            uow.contacts.add(contact)
            uow.snoozes.put(first)
            uow.snoozes.put(other)

        write(store, fill)
        again = attrs.evolve(first, until=until)
        write(store, lambda uow: uow.snoozes.put(again))
        got = read(store, lambda uow: uow.snoozes.get(t, agent, contact.id))
        assert got == again
        assert got is not None
        assert got.until.utcoffset() == timedelta(0)  # given back in UTC
        assert read(store, lambda uow: uow.snoozes.get(t, admin, contact.id)) == other
        write(store, lambda uow: uow.snoozes.remove(t, agent, contact.id))
        write(store, lambda uow: uow.snoozes.remove(t, agent, contact.id))  # no-op
        assert read(store, lambda uow: uow.snoozes.get(t, agent, contact.id)) is None
        assert read(store, lambda uow: uow.snoozes.get(t, admin, contact.id)) == other

        def listed(uow: UnitOfWork) -> list[Snooze]:
            return [s for s in uow.snoozes.all(t) if s.contact_id == contact.id]

        assert read(store, listed) == [other]
        write(store, lambda uow: uow.snoozes.put(again))
        want = sorted([other, again], key=lambda s: (s.member_id, s.contact_id))
        assert read(store, listed) == want
        everything = read(store, lambda uow: uow.snoozes.all(t))
        assert everything == sorted(everything, key=lambda s: (s.member_id, s.contact_id))


# ===================================================================== tasks


class TaskRepositoryContract(_FollowUpBase):
    """``uow.tasks``: round trips, duplicates, versions, order, open tasks due."""

    @round_trip_settings
    @given(data=st.data())
    def test_task_round_trips(self, store: Store, seed: Seed, data: st.DataObject) -> None:
        people = st.sampled_from([seed.admin.id, seed.agent.id])
        task = fresh(
            data.draw(
                tst.tasks(
                    team_id=seed.team_id,
                    member_id=people,
                    contact_id=seed.contact.id,
                    created_by=people,
                )
            )
        )
        write(store, lambda uow: uow.tasks.add(task))
        got = read(store, lambda uow: uow.tasks.get(seed.team_id, task.id))
        assert got == task
        listed = read(store, lambda uow: uow.tasks.for_member(seed.team_id, task.member_id))
        assert task in listed

    def test_task_duplicates_missing_and_versions(self, store: Store, seed: Seed) -> None:
        task = new_task(seed, 100)
        write(store, lambda uow: uow.tasks.add(task))
        with pytest.raises(AlreadyExists):
            write(store, lambda uow: uow.tasks.add(attrs.evolve(task, note="twin")))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.tasks.get(seed.team_id, new_task_id()))
        done = bump(task, status=TaskStatus.DONE, closed_at=at(150), note="done \u2713")
        write(store, lambda uow: uow.tasks.update(done))
        assert read(store, lambda uow: uow.tasks.get(seed.team_id, task.id)) == done
        stale = bump(task, status=TaskStatus.CANCELLED, closed_at=at(160))
        for bad in (stale, done, attrs.evolve(task, version=5)):
            with pytest.raises(ConcurrencyError):
                write(store, call("tasks", "update", bad))
        ghost = bump(new_task(seed, 100))
        with pytest.raises((NotFound, ConcurrencyError)):
            write(store, lambda uow: uow.tasks.update(ghost))
        assert read(store, lambda uow: uow.tasks.get(seed.team_id, task.id)) == done

    @contract_settings
    @given(
        specs=st.lists(
            st.tuples(st.integers(0, 4), st.sampled_from(TaskStatus), st.booleans()),
            min_size=1,
            max_size=8,
        ),
        due_by=st.integers(0, 5),
        limit=st.integers(1, 9),
    )
    def test_tasks_are_listed_by_due_at_then_id(
        self,
        store: Store,
        specs: list[tuple[int, TaskStatus, bool]],
        due_by: int,
        limit: int,
    ) -> None:
        seed = seed_team(store)
        rows = [
            new_task(
                seed,
                100 + offset,
                member_id=seed.admin.id if admin else seed.agent.id,
                status=status,
                closed_at=None if status is TaskStatus.OPEN else at(50),
            )
            for offset, status, admin in specs
        ]
        write(store, lambda uow: add_all(uow.tasks.add, rows))
        mine = sorted(
            (t for t in rows if t.member_id == seed.agent.id), key=lambda t: (t.due_at, t.id)
        )

        def listings(uow: UnitOfWork) -> tuple[list[Task], ...]:
            repo = uow.tasks
            return (
                repo.for_member(seed.team_id, seed.agent.id),
                *(repo.for_member(seed.team_id, seed.agent.id, s) for s in TaskStatus),
                repo.open_due(seed.team_id, seed.agent.id, at(100 + due_by), limit),
            )

        everything, *by_status, due = read(store, listings)
        assert everything == mine
        for status, listed in zip(TaskStatus, by_status, strict=True):
            assert listed == [t for t in mine if t.status is status]
        open_due = [t for t in mine if t.is_open and t.due_at <= at(100 + due_by)]
        assert due == open_due[:limit]
