"""Contract tests for units of work and the isolation of teams."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest

from teamcrm.bucket import Bucket, BucketMembership
from teamcrm.errors import ConcurrencyError, NotFound, StoreError
from teamcrm.interaction import Interaction
from teamcrm.ports import Store, UnitOfWork
from teamcrm.testing.contract_base import (
    Seed,
    StoreContractBase,
    at,
    bump,
    new_bucket,
    new_contact,
    new_event,
    read,
    seed_team,
    write,
)
from teamcrm.testing.contract_log import _changes, _interaction
from teamcrm.testing.snapshot import store_snapshot


class UnitOfWorkContract(StoreContractBase):
    """Atomicity: nothing of an uncommitted or failed unit survives."""

    def test_leaving_without_commit_changes_nothing(self, store: Store, seed: Seed) -> None:
        before = store_snapshot(store, [seed.team_id])
        with store.unit_of_work() as uow:
            _changes(seed)(uow)
        assert store_snapshot(store, [seed.team_id]) == before

    def test_raising_midway_changes_nothing_and_propagates(self, store: Store, seed: Seed) -> None:
        before = store_snapshot(store, [seed.team_id])

        class Boom(Exception):
            pass

        def raising() -> None:
            with store.unit_of_work() as uow:
                _changes(seed)(uow)
                raise Boom

        with pytest.raises(Boom):
            raising()
        assert store_snapshot(store, [seed.team_id]) == before

    def test_explicit_rollback_changes_nothing(self, store: Store, seed: Seed) -> None:
        before = store_snapshot(store, [seed.team_id])
        with store.unit_of_work() as uow:
            _changes(seed)(uow)
            uow.rollback()
        assert store_snapshot(store, [seed.team_id]) == before

    def test_a_failed_write_inside_a_unit_is_rolled_back_with_it(
        self, store: Store, seed: Seed
    ) -> None:
        before = store_snapshot(store, [seed.team_id])

        def failing() -> None:
            with store.unit_of_work() as uow:
                uow.contacts.add(new_contact(seed, 50))
                uow.collect(new_event(seed, "never"))
                uow.contacts.update(bump(bump(seed.contact)))  # skips a version

        with pytest.raises(ConcurrencyError):
            failing()
        assert store_snapshot(store, [seed.team_id]) == before

    def test_a_unit_reads_its_own_writes_and_commit_keeps_them(
        self, store: Store, seed: Seed
    ) -> None:
        extra = new_contact(seed, 60)
        with store.unit_of_work() as uow:
            uow.contacts.add(extra)
            assert uow.contacts.get(seed.team_id, extra.id) == extra
            uow.collect(new_event(seed, "kept"))
            uow.commit()
        assert read(store, lambda uow: uow.contacts.get(seed.team_id, extra.id)) == extra
        assert [m.event.subject_id for m in read(store, lambda u: u.outbox.read(seed.team_id))] == [
            "kept"
        ]

    def test_all_changes_of_a_committed_unit_are_kept(self, store: Store, seed: Seed) -> None:
        write(store, _changes(seed))
        snap = store_snapshot(store, [seed.team_id])[seed.team_id]
        assert snap["team"].name == "Changed"
        assert len(snap["members"]) == 3
        assert len(snap["contacts"]) == 3
        assert snap["companies"] == []
        assert len(snap["buckets"]) == 1
        assert [m.event.subject_id for m in snap["outbox"]] == ["never"]

    def test_a_finished_unit_cannot_be_used_to_commit_again(self, store: Store, seed: Seed) -> None:
        with store.unit_of_work() as uow:
            uow.commit()
            with pytest.raises(StoreError):
                uow.commit()


class TeamIsolationContract(StoreContractBase):
    """Another team's ids are ``NotFound`` and never listed, by any repository."""

    def _two_teams(self, store: Store) -> tuple[Seed, Seed, Bucket, Interaction]:
        a = seed_team(store, "A")
        b = seed_team(store, "B")
        bucket_b = new_bucket(b)
        ix_b = _interaction(b, 10, company=True)

        def fill(uow: UnitOfWork) -> None:
            uow.buckets.add(bucket_b)
            uow.memberships.add_many(
                [
                    BucketMembership(
                        team_id=b.team_id,
                        bucket_id=bucket_b.id,
                        item_id=i,
                        added_at=at(20),
                    )
                    for i in (b.contact.id, b.company.id)
                ]
            )
            uow.interactions.add(ix_b)
            uow.collect(new_event(b, "b-only"))

        write(store, fill)
        return a, b, bucket_b, ix_b

    def test_another_teams_ids_are_not_found(self, store: Store) -> None:
        a, b, bucket_b, ix_b = self._two_teams(store)
        t = a.team_id
        lookups: list[Callable[[UnitOfWork], Any]] = [
            lambda uow: uow.members.get(t, b.admin.id),
            lambda uow: uow.contacts.get(t, b.contact.id),
            lambda uow: uow.companies.get(t, b.company.id),
            lambda uow: uow.buckets.get(t, bucket_b.id),
            lambda uow: uow.interactions.get(t, ix_b.id),
        ]
        for lookup in lookups:
            with pytest.raises(NotFound):
                read(store, lookup)

    def test_another_teams_rows_are_never_listed(self, store: Store) -> None:
        a, b, bucket_b, _ = self._two_teams(store)
        t = a.team_id
        b_ids = {b.admin.id, b.agent.id, b.contact.id, b.company.id, bucket_b.id}

        def everything(uow: UnitOfWork) -> list[Any]:
            return [
                *uow.members.all(t),
                *uow.contacts.all(t),
                *uow.contacts.get_many(t, [b.contact.id]),
                *uow.contacts.by_company(t, b.company.id),
                *uow.companies.all(t),
                *uow.buckets.all(t),
                *uow.memberships.buckets_of(t, [b.contact.id, b.company.id]),
                *uow.interactions.for_contact(t, b.contact.id),
                *uow.interactions.for_company(t, b.company.id),
                *uow.outbox.read(t),
            ]

        rows = read(store, everything)
        assert all(getattr(r, "team_id", t) == t for r in rows)
        assert not b_ids & {getattr(r, "id", None) for r in rows}
        try:
            items = read(store, lambda uow: uow.memberships.items(t, bucket_b.id))
        except NotFound:
            items = []
        assert items == []

    def test_another_teams_rows_cannot_be_changed(self, store: Store) -> None:
        a, b, bucket_b, _ = self._two_teams(store)
        t = a.team_id
        before = store_snapshot(store, [a.team_id, b.team_id])
        attempts: list[Callable[[UnitOfWork], Any]] = [
            lambda uow: uow.contacts.delete(t, b.contact.id, 1),
            lambda uow: uow.companies.delete(t, b.company.id, 1),
            lambda uow: uow.buckets.delete(t, bucket_b.id, 1),
            lambda uow: uow.contacts.update(bump(attrs.evolve(b.contact, team_id=t))),
            lambda uow: uow.members.update(bump(attrs.evolve(b.agent, team_id=t))),
            lambda uow: uow.buckets.update(bump(attrs.evolve(bucket_b, team_id=t))),
        ]
        for attempt in attempts:
            with pytest.raises((NotFound, ConcurrencyError)):
                write(store, attempt)
        write(store, lambda uow: uow.memberships.remove_many(t, bucket_b.id, [b.contact.id]))
        write(store, lambda uow: uow.memberships.remove_item(t, b.contact.id))
        assert store_snapshot(store, [a.team_id, b.team_id]) == before
