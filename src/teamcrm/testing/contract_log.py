"""Contract tests for what a team records: interactions and the outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm.bucket import BucketMembership
from teamcrm.errors import AlreadyExists, NotFound
from teamcrm.ids import (
    ContactId,
    MemberId,
    new_interaction_id,
    new_member_id,
)
from teamcrm.interaction import Interaction, InteractionKind
from teamcrm.ports import Store, UnitOfWork
from teamcrm.team import Member, Role
from teamcrm.testing import strategies as tst
from teamcrm.testing.contract_base import (
    Seed,
    StoreContractBase,
    add_all,
    at,
    bump,
    contract_settings,
    fresh,
    new_bucket,
    new_contact,
    new_event,
    read,
    seed_team,
    write,
)


class InteractionRepositoryContract(StoreContractBase):
    """``uow.interactions``: round trips, duplicates, newest-first listings."""

    @contract_settings
    @given(data=st.data())
    def test_interaction_round_trips(self, store: Store, data: st.DataObject) -> None:
        seed = seed_team(store)
        interaction = data.draw(
            tst.interactions(
                team_id=seed.team_id,
                author_id=st.sampled_from([seed.admin.id, seed.agent.id]),
                contact_ids=st.sampled_from([(), (seed.contact.id,)]),
                company_ids=st.sampled_from([(), (seed.company.id,)]),
            )
        )
        interaction = fresh(interaction)
        write(store, lambda uow: uow.interactions.add(interaction))
        got = read(store, lambda uow: uow.interactions.get(seed.team_id, interaction.id))
        assert got == interaction

        def listings(uow: UnitOfWork) -> list[list[Interaction]]:
            return [
                *(uow.interactions.for_contact(seed.team_id, c) for c in interaction.contact_ids),
                *(uow.interactions.for_company(seed.team_id, c) for c in interaction.company_ids),
            ]

        for found in read(store, listings):
            assert found == [interaction]

    def test_interaction_duplicates_and_missing(self, store: Store, seed: Seed) -> None:
        ix = _interaction(seed, 10)
        write(store, lambda uow: uow.interactions.add(ix))
        with pytest.raises(AlreadyExists):
            write(store, lambda uow: uow.interactions.add(attrs.evolve(ix, body="twin")))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.interactions.get(seed.team_id, new_interaction_id()))
        assert read(store, lambda uow: uow.interactions.get(seed.team_id, ix.id)) == ix

    @contract_settings
    @given(offsets=st.lists(st.integers(0, 4), min_size=1, max_size=8))
    def test_interactions_are_listed_newest_first_ties_by_id_descending(
        self, store: Store, offsets: list[int]
    ) -> None:
        seed = seed_team(store)
        rows = [_interaction(seed, 100 + s, company=True) for s in offsets]
        write(store, lambda uow: add_all(uow.interactions.add, rows))
        expected = sorted(rows, key=lambda i: (i.occurred_at, i.id), reverse=True)
        by_contact = read(
            store, lambda uow: uow.interactions.for_contact(seed.team_id, seed.contact.id)
        )
        by_company = read(
            store, lambda uow: uow.interactions.for_company(seed.team_id, seed.company.id)
        )
        assert by_contact == expected
        assert by_company == expected

    def test_move_contact_files_interactions_under_the_survivor(self, store: Store) -> None:
        seed = seed_team(store)
        keep, gone = seed.contact, new_contact(seed, 36)
        solo = attrs.evolve(_interaction(seed, 200), contact_ids=(gone.id,))
        both = attrs.evolve(_interaction(seed, 201), contact_ids=(gone.id, keep.id))

        def fill(uow: UnitOfWork) -> None:
            uow.contacts.add(gone)
            uow.interactions.add(solo)
            uow.interactions.add(both)

        write(store, fill)
        write(store, lambda uow: uow.interactions.move_contact(seed.team_id, [gone.id], keep.id))
        assert read(store, lambda uow: uow.interactions.for_contact(seed.team_id, gone.id)) == []
        got = read(store, lambda uow: uow.interactions.get(seed.team_id, solo.id))
        assert got.contact_ids == (keep.id,)
        got = read(store, lambda uow: uow.interactions.get(seed.team_id, both.id))
        assert got.contact_ids == (keep.id,)

    @contract_settings
    @given(
        notes=st.lists(
            st.tuples(st.integers(0, 6), st.booleans(), st.sampled_from(["one", "two", "both"])),
            max_size=10,
        ),
        until=st.integers(0, 7),
    )
    def test_last_by_author_is_each_authors_newest_interaction_up_to_a_time(
        self,
        store: Store,
        notes: list[tuple[int, bool, str]],
        until: int,
    ) -> None:
        seed = seed_team(store)
        other = seed_team(store)
        two = new_contact(seed, 37)
        targets = {"one": (seed.contact.id,), "two": (two.id,), "both": (two.id, seed.contact.id)}
        rows = [
            attrs.evolve(
                _interaction(seed, 100 + s),
                author_id=seed.admin.id if by_admin else seed.agent.id,
                contact_ids=targets[to],
            )
            for s, by_admin, to in notes
        ]
        # Not counted: another team's, and one filed under the company only.
        noise = [
            _interaction(other, 100),
            attrs.evolve(_interaction(seed, 100, company=True), contact_ids=()),
        ]

        def fill(uow: UnitOfWork) -> None:
            uow.contacts.add(two)
            add_all(uow.interactions.add, [*rows, *noise])

        write(store, fill)
        wanted = [seed.contact.id, two.id, other.contact.id, seed.contact.id]
        cut = at(100 + until)
        got = read(
            store, lambda uow: uow.interactions.last_by_author(seed.team_id, wanted, until=cut)
        )
        expected: dict[tuple[ContactId, MemberId], datetime] = {}
        for i in rows:
            for c in i.contact_ids if i.occurred_at <= cut else ():
                key = (c, i.author_id)
                expected[key] = max(i.occurred_at, expected.get(key, i.occurred_at))
        assert got == expected
        assert (
            read(
                store, lambda uow: uow.interactions.last_by_author(seed.team_id, [], until=at(200))
            )
            == {}
        )

    def test_all_lists_every_interaction_of_the_team_by_id(self, store: Store) -> None:
        seed = seed_team(store)
        other = seed_team(store)
        rows = [_interaction(seed, 100 + n, company=n % 2 == 0) for n in range(4)]
        write(store, lambda uow: add_all(uow.interactions.add, [*rows, _interaction(other, 5)]))
        got = read(store, lambda uow: uow.interactions.all(seed.team_id))
        assert got == sorted(rows, key=lambda i: i.id)


def _interaction(seed: Seed, seconds: float, *, company: bool = False) -> Interaction:
    return Interaction(
        id=new_interaction_id(),
        team_id=seed.team_id,
        kind=InteractionKind.NOTE,
        author_id=seed.agent.id,
        occurred_at=at(seconds),
        logged_at=at(seconds),
        contact_ids=(seed.contact.id,),
        company_ids=(seed.company.id,) if company else (),
        body=f"note at {seconds}",
    )


class OutboxContract(StoreContractBase):
    """``uow.outbox`` and ``uow.collect``: order, paging, round trips."""

    @contract_settings
    @given(data=st.data())
    def test_events_round_trip_through_the_outbox(self, store: Store, data: st.DataObject) -> None:
        seed = seed_team(store)
        events = data.draw(
            st.lists(
                tst.domain_events(
                    team_id=seed.team_id, actor_id=st.sampled_from([None, seed.admin.id])
                ),
                min_size=1,
                max_size=5,
            )
        )

        def emit(uow: UnitOfWork) -> None:
            uow.collect(*events)

        write(store, emit)
        got = read(store, lambda uow: uow.outbox.read(seed.team_id))
        assert [m.event for m in got] == events

    def test_seq_increases_in_commit_order(self, store: Store, seed: Seed) -> None:
        other = seed_team(store, "Other")
        batches = [
            (seed, [new_event(seed, "a1"), new_event(seed, "a2")]),
            (other, [new_event(other, "b1")]),
            (seed, [new_event(seed, "a3")]),
            (other, [new_event(other, "b2"), new_event(other, "b3")]),
        ]
        for _, events in batches:
            with store.unit_of_work() as uow:
                uow.collect(*events)
                uow.commit()
        mine = read(store, lambda uow: uow.outbox.read(seed.team_id))
        theirs = read(store, lambda uow: uow.outbox.read(other.team_id))
        assert [m.event.subject_id for m in mine] == ["a1", "a2", "a3"]
        assert [m.event.subject_id for m in theirs] == ["b1", "b2", "b3"]
        merged = sorted([*mine, *theirs], key=lambda m: m.seq)
        assert [m.event.subject_id for m in merged] == ["a1", "a2", "b1", "a3", "b2", "b3"]
        assert len({m.seq for m in merged}) == 6

    def test_read_pages_with_after_seq_and_limit(self, store: Store, seed: Seed) -> None:
        events = [new_event(seed, f"e{i}") for i in range(7)]
        write(store, lambda uow: uow.collect(*events))
        everything = read(store, lambda uow: uow.outbox.read(seed.team_id))
        assert [m.event for m in everything] == events
        first = read(store, lambda uow: uow.outbox.read(seed.team_id, 0, 3))
        rest = read(store, lambda uow: uow.outbox.read(seed.team_id, first[-1].seq, 1000))
        assert first + rest == everything
        assert read(store, lambda uow: uow.outbox.read(seed.team_id, everything[-1].seq)) == []

    def test_events_of_rolled_back_units_never_appear(self, store: Store, seed: Seed) -> None:
        write(store, lambda uow: uow.collect(new_event(seed, "kept-1")))
        with store.unit_of_work() as uow:
            uow.collect(new_event(seed, "dropped-no-commit"))

        def raising() -> None:
            with store.unit_of_work() as uow:
                uow.collect(new_event(seed, "dropped-raised"))
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            raising()
        with store.unit_of_work() as uow:
            uow.collect(new_event(seed, "dropped-rollback"))
            uow.rollback()
        write(store, lambda uow: uow.collect(new_event(seed, "kept-2")))
        got = read(store, lambda uow: uow.outbox.read(seed.team_id))
        assert [m.event.subject_id for m in got] == ["kept-1", "kept-2"]
        assert got[0].seq < got[1].seq


def _changes(seed: Seed) -> Callable[[UnitOfWork], None]:
    """A unit's worth of changes touching every repository."""

    def change(uow: UnitOfWork) -> None:
        bucket = new_bucket(seed, 40)
        uow.teams.update(bump(seed.team, name="Changed"))
        uow.members.add(
            Member(
                id=new_member_id(),
                team_id=seed.team_id,
                name="New",
                role=Role.AGENT,
                created_at=at(40),
            )
        )
        uow.members.update(bump(seed.agent, active=False))
        uow.contacts.add_many([new_contact(seed, 41), new_contact(seed, 42)])
        uow.contacts.update(bump(seed.contact, last_name="Changed"))
        uow.companies.delete(seed.team_id, seed.company.id, 1)
        uow.buckets.add(bucket)
        uow.memberships.add_many(
            [
                BucketMembership(
                    team_id=seed.team_id,
                    bucket_id=bucket.id,
                    item_id=seed.contact.id,
                    added_at=at(43),
                )
            ]
        )
        uow.interactions.add(_interaction(seed, 44))
        uow.collect(new_event(seed, "never"))

    return change
