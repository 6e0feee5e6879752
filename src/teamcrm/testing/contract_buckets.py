"""Contract tests for buckets and their memberships."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm.bucket import AccessGrant, AccessLevel, Bucket, BucketMembership
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.ids import (
    new_bucket_id,
    new_contact_id,
)
from teamcrm.ports import Store, UnitOfWork
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
    read,
    seed_team,
    write,
)


class BucketRepositoryContract(StoreContractBase):
    """``uow.buckets``: team and personal buckets with grants, versions, deletes."""

    @contract_settings
    @given(data=st.data())
    def test_bucket_round_trips(self, store: Store, data: st.DataObject) -> None:
        seed = seed_team(store)
        people = [seed.admin.id, seed.agent.id]
        bucket = data.draw(
            st.one_of(
                tst.team_buckets(
                    team_id=seed.team_id,
                    grantees=st.lists(st.sampled_from(people), unique=True),
                    created_by=st.sampled_from([None, *people]),
                ),
                tst.personal_buckets(team_id=seed.team_id, owner_id=st.sampled_from(people)),
            )
        )
        bucket = fresh(bucket)
        write(store, lambda uow: uow.buckets.add(bucket))
        got = read(store, lambda uow: uow.buckets.get(seed.team_id, bucket.id))
        assert got == bucket
        assert read(store, lambda uow: uow.buckets.all(seed.team_id)) == [bucket]

    def test_bucket_duplicates_and_missing(self, store: Store, seed: Seed) -> None:
        bucket = new_bucket(seed)
        write(store, lambda uow: uow.buckets.add(bucket))
        with pytest.raises(AlreadyExists):
            write(store, lambda uow: uow.buckets.add(attrs.evolve(bucket, name="Twin")))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.buckets.get(seed.team_id, new_bucket_id()))

    def test_grants_change_with_versions(self, store: Store, seed: Seed) -> None:
        bucket = new_bucket(seed)
        write(store, lambda uow: uow.buckets.add(bucket))
        grants = (
            AccessGrant(
                member_id=seed.admin.id, level=AccessLevel.VIEWER, can_view_conversations=True
            ),
        )
        v2 = bump(bucket, grants=grants, name="Renamed")
        write(store, lambda uow: uow.buckets.update(v2))
        got = read(store, lambda uow: uow.buckets.get(seed.team_id, bucket.id))
        assert got == v2
        assert got.grant_for(seed.agent.id) is None
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.buckets.update(bump(bucket, name="Stale")))

    def test_deleting_a_bucket_needs_its_version_and_drops_its_memberships(
        self, store: Store, seed: Seed
    ) -> None:
        bucket = new_bucket(seed)
        keep = new_bucket(seed, 11, personal=True)
        rows = [
            BucketMembership(
                team_id=seed.team_id, bucket_id=b.id, item_id=seed.contact.id, added_at=at(20)
            )
            for b in (bucket, keep)
        ]

        def fill(uow: UnitOfWork) -> None:
            uow.buckets.add(bucket)
            uow.buckets.add(keep)
            uow.memberships.add_many(rows)

        write(store, fill)
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.buckets.delete(seed.team_id, bucket.id, 2))
        write(store, lambda uow: uow.buckets.delete(seed.team_id, bucket.id, 1))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.buckets.get(seed.team_id, bucket.id))
        left = read(store, lambda uow: uow.memberships.buckets_of(seed.team_id, [seed.contact.id]))
        assert left == [rows[1]]


class MembershipRepositoryContract(StoreContractBase):
    """``uow.memberships``: idempotent adds, ordering, removals."""

    def _buckets(self, store: Store, seed: Seed, n: int = 2) -> list[Bucket]:
        buckets = [new_bucket(seed, 10 + i) for i in range(n)]
        write(store, lambda uow: add_all(uow.buckets.add, buckets))
        return buckets

    def test_add_many_returns_only_new_memberships_and_keeps_added_at(
        self, store: Store, seed: Seed
    ) -> None:
        (bucket,) = self._buckets(store, seed, 1)
        first = BucketMembership(
            team_id=seed.team_id,
            bucket_id=bucket.id,
            item_id=seed.contact.id,
            added_at=at(20),
            added_by=seed.agent.id,
        )
        assert write(store, lambda uow: uow.memberships.add_many([first])) == [first]
        again = attrs.evolve(first, added_at=at(99), added_by=seed.admin.id)
        company = BucketMembership(
            team_id=seed.team_id, bucket_id=bucket.id, item_id=seed.company.id, added_at=at(99)
        )
        assert write(store, lambda uow: uow.memberships.add_many([again, company])) == [company]
        assert read(store, lambda uow: uow.memberships.items(seed.team_id, bucket.id)) == [
            first,
            company,
        ]

    @contract_settings
    @given(offsets=st.lists(st.integers(0, 5), min_size=1, max_size=10))
    def test_items_are_ordered_by_added_at_then_item_id(
        self, store: Store, offsets: list[int]
    ) -> None:
        seed = seed_team(store)
        (bucket,) = self._buckets(store, seed, 1)
        contacts = [new_contact(seed, 10 + i) for i in range(len(offsets))]
        rows = [
            BucketMembership(
                team_id=seed.team_id, bucket_id=bucket.id, item_id=c.id, added_at=at(100 + s)
            )
            for c, s in zip(contacts, offsets, strict=True)
        ]

        def fill(uow: UnitOfWork) -> None:
            uow.contacts.add_many(contacts)
            uow.memberships.add_many(rows)

        write(store, fill)
        got = read(store, lambda uow: uow.memberships.items(seed.team_id, bucket.id))
        assert got == sorted(rows, key=lambda m: (m.added_at, m.item_id))

    @contract_settings
    @given(pairs=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3)), unique=True))
    def test_buckets_of_is_ordered_by_bucket_id_then_item_id(
        self, store: Store, pairs: list[tuple[int, int]]
    ) -> None:
        seed = seed_team(store)
        buckets = self._buckets(store, seed, 3)
        contacts = [new_contact(seed, 10 + i) for i in range(4)]
        rows = [
            BucketMembership(
                team_id=seed.team_id,
                bucket_id=buckets[b].id,
                item_id=contacts[c].id,
                added_at=at(50),
            )
            for b, c in pairs
        ]

        def fill(uow: UnitOfWork) -> None:
            uow.contacts.add_many(contacts)
            uow.memberships.add_many(rows)

        write(store, fill)
        asked = [c.id for c in contacts[:3]]
        got = read(store, lambda uow: uow.memberships.buckets_of(seed.team_id, asked))
        expected = sorted(
            (m for m in rows if m.item_id in asked), key=lambda m: (m.bucket_id, m.item_id)
        )
        assert got == expected

    def test_remove_many_and_remove_item(self, store: Store, seed: Seed) -> None:
        b1, b2 = self._buckets(store, seed, 2)
        other = new_contact(seed, 30)
        rows = [
            BucketMembership(team_id=seed.team_id, bucket_id=b.id, item_id=i, added_at=at(40))
            for b in (b1, b2)
            for i in (seed.contact.id, other.id)
        ]

        def fill(uow: UnitOfWork) -> None:
            uow.contacts.add(other)
            uow.memberships.add_many(rows)

        write(store, fill)
        missing = new_contact_id()
        removed = write(
            store,
            lambda uow: uow.memberships.remove_many(seed.team_id, b1.id, [missing, other.id]),
        )
        assert removed == [other.id]
        assert [
            m.item_id for m in read(store, lambda u: u.memberships.items(seed.team_id, b1.id))
        ] == [seed.contact.id]
        write(store, lambda uow: uow.memberships.remove_item(seed.team_id, seed.contact.id))
        left = read(
            store, lambda uow: uow.memberships.buckets_of(seed.team_id, [seed.contact.id, other.id])
        )
        assert [(m.bucket_id, m.item_id) for m in left] == [(b2.id, other.id)]
