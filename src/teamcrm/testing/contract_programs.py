"""Contract tests of programs and their enrolments (part of :class:`StoreContract`).

* :class:`ProgramRepositoryContract` — programs round-trip whole (trigger,
  conditions, steps), are versioned, scoped to their team, listed by id;
  ``with_trigger`` lists one trigger kind's programs across teams.
* :class:`EnrolmentRepositoryContract` — at most one *active* enrolment per
  (program, contact), whatever the sequence of inserts and finishes (a
  hypothesis test against a model); claims lease due rows to one worker at a
  time and skip leases still held; deleting a program or a contact deletes
  its enrolments; versions are checked; a run keeps the company that
  started it (``company_id``) and ``for_companies`` finds it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.ids import BucketId, ContactId, new_company_id
from teamcrm.ports import Store, UnitOfWork
from teamcrm.program import (
    Condition,
    Enrolment,
    EnrolmentState,
    Program,
    ProgramState,
    Step,
    StopReason,
    Trigger,
    TriggerKind,
    new_enrolment_id,
    new_enrolment_ids,
    new_program_id,
)
from teamcrm.testing.contract_base import (
    Seed,
    StoreContractBase,
    at,
    contract_settings,
    new_bucket,
    new_contact,
    read,
    seed_team,
    write,
)

__all__ = ["EnrolmentRepositoryContract", "ProgramRepositoryContract"]


def _program(seed: Seed, bucket_id: BucketId, name: str = "Share") -> Program:
    return Program(
        id=new_program_id(),
        team_id=seed.team_id,
        owner_id=seed.agent.id,
        name=name,
        trigger=Trigger(kind="bucket_entered", bucket_id=bucket_id),
        conditions=(
            Condition(kind="field_equals", field="tier", value=2),
            Condition(kind="has_email"),
        ),
        steps=(
            Step(kind="add_to_bucket", bucket_id=bucket_id),
            Step(kind="create_task", days=3, text="Call"),
            Step(kind="send_email", subject="Hi {{ contact.first_name }}", body="Hello"),
            Step(kind="wait", wait={"weekday": "friday", "hour": 16, "minute": 30}),
            Step(kind="stop_if", conditions=(Condition(kind="status_is", value="closed"),)),
        ),
        created_at=at(20),
    )


def _enrolment(seed: Seed, program: Program, contact_id: ContactId, seconds: float) -> Enrolment:
    return Enrolment(
        id=new_enrolment_id(),
        team_id=seed.team_id,
        program_id=program.id,
        contact_id=contact_id,
        enrolled_at=at(seconds),
        due_at=at(seconds),
    )


class ProgramRepositoryContract(StoreContractBase):
    """``uow.programs``."""

    def test_programs_round_trip_are_versioned_and_scoped_to_their_team(self, store: Store) -> None:
        seed, other = seed_team(store), seed_team(store, "Other")
        bucket = new_bucket(seed)
        write(store, lambda uow: uow.buckets.add(bucket))
        program = _program(seed, bucket.id)
        write(store, lambda uow: uow.programs.add(program))
        t = seed.team_id
        assert read(store, lambda uow: uow.programs.get(t, program.id)) == program
        with pytest.raises(AlreadyExists):
            write(store, lambda uow: uow.programs.add(program))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.programs.get(other.team_id, program.id))
        assert read(store, lambda uow: uow.programs.all(other.team_id)) == []
        paused = attrs.evolve(program, state=ProgramState.PAUSED, version=2)
        write(store, lambda uow: uow.programs.update(paused))
        assert read(store, lambda uow: uow.programs.all(t)) == [paused]
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.programs.update(attrs.evolve(program, version=2)))
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.programs.delete(t, program.id, 1))
        write(store, lambda uow: uow.programs.delete(t, program.id, 2))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.programs.get(t, program.id))

    def test_with_trigger_lists_that_kind_in_every_team(self, store: Store) -> None:
        seeds = [seed_team(store), seed_team(store, "Other")]
        overdue = TriggerKind.FOLLOW_UP_OVERDUE
        want = []
        for n, seed in enumerate(seeds):
            bucket = new_bucket(seed)
            write(store, lambda uow, b=bucket: uow.buckets.add(b))  # type: ignore[misc]
            plain = _program(seed, bucket.id, name=overdue.value)  # the kind's name, as a name
            late = attrs.evolve(
                _program(seed, bucket.id, name=f"Late {n}"),
                id=new_program_id(),
                trigger=Trigger(kind=overdue, days=n + 1),
                state=ProgramState.PAUSED if n else ProgramState.ACTIVE,
            )
            write(store, lambda uow, p=plain, q=late: (uow.programs.add(p), uow.programs.add(q)))  # type: ignore[misc]
            want.append(late)
        found = read(store, lambda uow: uow.programs.with_trigger(overdue))
        mine = [p for p in found if p.team_id in {s.team_id for s in seeds}]
        assert mine == sorted(want, key=lambda p: (p.team_id, p.id))
        assert all(p.trigger.kind is overdue for p in found)


class EnrolmentRepositoryContract(StoreContractBase):
    """``uow.enrolments``."""

    def _world(self, store: Store, contacts: int = 3) -> tuple[Seed, Program, list[ContactId]]:
        seed = seed_team(store)
        bucket = new_bucket(seed)
        program = _program(seed, bucket.id)
        people = [new_contact(seed, 30 + n) for n in range(contacts)]

        def fill(uow: UnitOfWork) -> None:
            uow.buckets.add(bucket)
            uow.programs.add(program)
            uow.contacts.add_many(people)

        write(store, fill)
        return seed, program, [c.id for c in people]

    @contract_settings
    @given(ops=st.lists(st.tuples(st.integers(0, 2), st.booleans()), max_size=12))
    def test_at_most_one_active_enrolment_per_program_and_contact(
        self, store: Store, ops: list[tuple[int, bool]]
    ) -> None:
        """Enrol (or finish the active run of) random contacts; compare with a model."""
        seed, program, contacts = self._world(store)
        t = seed.team_id
        active: dict[ContactId, Enrolment] = {}
        total = 0
        for n, (which, finish) in enumerate(ops):
            cid = contacts[which]
            if finish and cid in active:
                done = active.pop(cid).stopped(StopReason.LEFT_BUCKET, at(100 + n))
                write(store, lambda uow, d=done: uow.enrolments.update(d))  # type: ignore[misc]
                continue
            new = _enrolment(seed, program, cid, 100 + n)
            added = write(store, lambda uow, e=new: uow.enrolments.add_many([e, e]))  # type: ignore[misc]
            if cid in active:
                assert added == []
            else:
                assert added == [new]
                active[cid] = new
                total += 1
        stored = read(store, lambda uow: uow.enrolments.for_program(t, program.id))
        assert len(stored) == total
        assert sorted(e.contact_id for e in stored if e.active) == sorted(active)
        assert [e.id for e in stored] == sorted(e.id for e in stored)

    def test_claims_lease_due_rows_once_and_skip_held_leases(self, store: Store) -> None:
        seed, program, contacts = self._world(store)
        t = seed.team_id
        runs = [_enrolment(seed, program, c, 40 + n) for n, c in enumerate(contacts)]
        later = attrs.evolve(runs[2], due_at=at(500))
        write(store, lambda uow: uow.enrolments.add_many([runs[0], runs[1], later]))
        lease = timedelta(minutes=5)
        now = at(100)

        def claim(worker: str, when: datetime = now, limit: int = 10) -> list[Enrolment]:
            until = when + lease
            return write(
                store,
                lambda uow: uow.enrolments.claim_due(when, limit, owner=worker, until=until),
            )

        first = claim("a", limit=1)
        assert [e.id for e in first] == [runs[0].id]
        assert (first[0].lease_owner, first[0].lease_until, first[0].version) == (
            "a",
            now + lease,
            2,
        )
        assert [e.id for e in claim("b")] == [runs[1].id]  # runs[0] is held, runs[2] not due
        assert claim("c") == []
        expired = claim("d", now + lease)
        assert [e.id for e in expired] == [runs[0].id, runs[1].id]
        assert read(store, lambda uow: uow.enrolments.get(t, runs[0].id)).lease_owner == "d"
        with pytest.raises(ConcurrencyError):  # "a" lost its claim: its version is stale
            write(store, lambda uow: uow.enrolments.update(first[0].advanced(3, now)))
        done = expired[0].advanced(1, now)
        write(store, lambda uow: uow.enrolments.update(done))
        assert read(store, lambda uow: uow.enrolments.get(t, done.id)).state is (
            EnrolmentState.COMPLETED
        )

    def test_deleting_a_program_or_a_contact_deletes_their_enrolments(self, store: Store) -> None:
        seed, program, contacts = self._world(store)
        t = seed.team_id
        runs = [_enrolment(seed, program, c, 40 + n) for n, c in enumerate(contacts)]
        write(store, lambda uow: uow.enrolments.add_many(runs))
        gone = read(store, lambda uow: uow.contacts.get(t, contacts[0]))

        def delete_contact(uow: UnitOfWork) -> None:
            uow.memberships.remove_item(t, gone.id)
            uow.contacts.delete(t, gone.id, gone.version)
            uow.enrolments.forget_contacts(t, [gone.id])

        write(store, delete_contact)
        left = read(store, lambda uow: uow.enrolments.for_contacts(t, contacts))
        assert [e.contact_id for e in left] == contacts[1:]
        other = seed_team(store, "Other").team_id
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.enrolments.get(other, runs[1].id))
        write(store, lambda uow: uow.programs.delete(t, program.id, program.version))
        assert read(store, lambda uow: uow.enrolments.for_contacts(t, contacts)) == []

    def test_stopping_takes_the_active_ones_whatever_their_version(self, store: Store) -> None:
        seed, program, contacts = self._world(store)
        t = seed.team_id
        runs = [_enrolment(seed, program, c, 40 + n) for n, c in enumerate(contacts)]
        write(store, lambda uow: uow.enrolments.add_many(runs))
        now = at(100)
        [claimed] = write(
            store,
            lambda uow: uow.enrolments.claim_due(now, 1, owner="w", until=now + timedelta(1)),
        )
        done = runs[2].advanced(1, now)
        write(store, lambda uow: uow.enrolments.update(done))
        ids = [r.id for r in runs]
        stopped = write(
            store, lambda uow: uow.enrolments.stop_active(t, ids, StopReason.REPLIED, now)
        )
        assert [e.id for e in stopped] == sorted([runs[0].id, runs[1].id])
        first = read(store, lambda uow: uow.enrolments.get(t, claimed.id))
        assert (first.state, first.stop_reason, first.lease_owner) == (
            EnrolmentState.STOPPED,
            StopReason.REPLIED,
            None,
        )
        assert first.version == claimed.version + 1
        with pytest.raises(ConcurrencyError):  # the worker's claim is stale now
            write(store, lambda uow: uow.enrolments.update(claimed.advanced(3, now)))
        assert read(store, lambda uow: uow.enrolments.get(t, done.id)) == done
        assert (
            write(store, lambda uow: uow.enrolments.stop_active(t, ids, StopReason.REPLIED, now))
            == []
        )

    def test_runs_keep_the_company_that_started_them(self, store: Store) -> None:
        """``company_id`` round-trips; ``for_companies`` lists those runs, in the team only."""
        seed, program, contacts = self._world(store)
        t = seed.team_id
        acme, globex = new_company_id(), new_company_id()
        runs = [
            attrs.evolve(_enrolment(seed, program, contacts[0], 40), company_id=acme),
            attrs.evolve(_enrolment(seed, program, contacts[1], 41), company_id=globex),
            _enrolment(seed, program, contacts[2], 42),
        ]
        write(store, lambda uow: uow.enrolments.add_many(runs))
        assert read(store, lambda uow: uow.enrolments.get(t, runs[0].id)) == runs[0]
        assert read(store, lambda uow: uow.enrolments.for_contacts(t, contacts)) == runs
        assert read(store, lambda uow: uow.enrolments.for_companies(t, [acme])) == [runs[0]]
        both = read(store, lambda uow: uow.enrolments.for_companies(t, [globex, acme, acme]))
        assert both == runs[:2]
        other = seed_team(store, "Other").team_id
        assert read(store, lambda uow: uow.enrolments.for_companies(other, [acme])) == []
        now = at(100)
        claimed = write(
            store,
            lambda uow: uow.enrolments.claim_due(now, 10, owner="w", until=now + timedelta(1)),
        )
        assert {e.id: e.company_id for e in claimed if e.team_id == t} == {
            r.id: r.company_id for r in runs
        }
        [stopped] = write(
            store,
            lambda uow: uow.enrolments.stop_active(
                t, [runs[1].id], StopReason.COMPANY_LEFT_BUCKET, now
            ),
        )
        assert (stopped.company_id, stopped.stop_reason) == (
            globex,
            StopReason.COMPANY_LEFT_BUCKET,
        )
        [first] = [e for e in claimed if e.id == runs[0].id]
        write(store, lambda uow: uow.enrolments.update(first.advanced(1, now)))
        assert read(store, lambda uow: uow.enrolments.get(t, first.id)) == first.advanced(1, now)

    def test_add_many_mixes_new_and_finished_runs_and_skips_what_is_refused(
        self, store: Store
    ) -> None:
        """New runs and finished ones (a restored backup) in one call; refused rows skipped."""
        seed, program, contacts = self._world(store)
        t = seed.team_id
        first = _enrolment(seed, program, contacts[0], 40)
        finished = first.stopped(StopReason.LEFT_BUCKET, at(50))
        failed = attrs.evolve(
            _enrolment(seed, program, contacts[1], 41), attempts=2, last_error="SMTP down"
        ).retried("SMTP down", at(60), max_attempts=3)
        again = _enrolment(seed, program, contacts[0], 70)  # after the finished one: allowed
        twice = _enrolment(seed, program, contacts[0], 71)  # a second active one: refused
        later = attrs.evolve(_enrolment(seed, program, contacts[2], 72), due_at=at(900))
        batch = [finished, failed, again, twice, later, again]
        added = write(store, lambda uow: uow.enrolments.add_many(batch))
        assert added == [finished, failed, again, later]
        stored = read(store, lambda uow: uow.enrolments.for_program(t, program.id))
        assert stored == sorted(added, key=lambda e: e.id)
        assert write(store, lambda uow: uow.enrolments.add_many(batch)) == []  # all taken now

    def test_add_new_starts_the_runs_add_many_would_and_skips_the_same(self, store: Store) -> None:
        """``add_new``: runs at their first step; a contact's second active run is refused."""
        seed, program, contacts = self._world(store, contacts=4)
        t = seed.team_id
        running = _enrolment(seed, program, contacts[1], 40)
        write(store, lambda uow: uow.enrolments.add_many([running]))
        ids = new_enrolment_ids(4)
        acme = new_company_id()
        companies = [acme, acme, None, acme]
        started = write(
            store,
            lambda uow: uow.enrolments.add_new(t, program.id, at(50), ids, contacts, companies),
        )
        assert started == [contacts[0], contacts[2], contacts[3]]  # contacts[1] runs already
        want = [
            attrs.evolve(_enrolment(seed, program, c, 50), id=i, company_id=company)
            for i, c, company in zip(ids, contacts, companies, strict=True)
            if c != contacts[1]
        ]
        stored = read(store, lambda uow: uow.enrolments.for_program(t, program.id))
        assert stored == sorted([running, *want], key=lambda e: e.id)
        more = new_enrolment_ids(2)
        again = write(  # without companies; one taken (program, contact), one free
            store,
            lambda uow: uow.enrolments.add_new(
                t, program.id, at(60), more, [contacts[0], contacts[1]]
            ),
        )
        assert again == []
        assert write(store, lambda uow: uow.enrolments.add_new(t, program.id, at(60), [], [])) == []
