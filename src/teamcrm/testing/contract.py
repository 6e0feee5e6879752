"""The public contract test suite for storage adapters.

Every adapter shipped with teamcrm passes these tests, and so must yours.
Subclass :class:`StoreContract` in a test module and override the one
abstract fixture, ``store``, to build a fresh, empty store::

    import pytest
    from teamcrm.testing.contract import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            s = MyStore(tmp_path / "crm.db")
            yield s
            s.close()

The suite is split into one class per protocol of :mod:`teamcrm.ports`
(:class:`TeamRepositoryContract`, :class:`ContactRepositoryContract`...,
:class:`UnitOfWorkContract`, :class:`OutboxContract`,
:class:`TeamIsolationContract`); subclass only some of them while an adapter
is half-built.  It depends only on pytest, hypothesis and teamcrm.

Hypothesis examples share the store of one test: every example works in a
fresh team with fresh ids, which is also how the suite checks that teams
never see each other's data.  The number of examples follows the active
hypothesis profile.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teamcrm.bucket import AccessGrant, AccessLevel, Bucket, BucketKind, BucketMembership
from teamcrm.contact import Company, Contact
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound, StoreError
from teamcrm.events import DomainEvent, EventName
from teamcrm.ids import (
    TeamId,
    new_bucket_id,
    new_company_id,
    new_contact_id,
    new_interaction_id,
    new_member_id,
    new_team_id,
)
from teamcrm.interaction import Interaction, InteractionKind
from teamcrm.ports import Store, UnitOfWork
from teamcrm.team import Member, Role, Team
from teamcrm.testing import strategies as tst
from teamcrm.testing.snapshot import store_snapshot

__all__ = [
    "BucketRepositoryContract",
    "CompanyRepositoryContract",
    "ContactRepositoryContract",
    "InteractionRepositoryContract",
    "MemberRepositoryContract",
    "MembershipRepositoryContract",
    "OutboxContract",
    "Seed",
    "StoreContract",
    "StoreContractBase",
    "TeamIsolationContract",
    "TeamRepositoryContract",
    "UnitOfWorkContract",
    "add_all",
    "fresh",
    "read",
    "seed_team",
    "write",
]

R = TypeVar("R")
E = TypeVar("E")

#: Base time of the rows the suite builds by hand.
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

#: Settings for the suite's property tests.  The store fixture is shared by
#: the examples of one test on purpose (each example uses a fresh team), and
#: the same test methods run from one subclass per adapter in one session
#: (``differing_executors``): they depend on the ``store`` fixture, never on
#: state kept on ``self``.
contract_settings = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.differing_executors,
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


def at(seconds: float) -> datetime:
    """Return :data:`T0` plus *seconds*."""
    return T0 + timedelta(seconds=seconds)


def write(store: Store, fn: Callable[[UnitOfWork], R]) -> R:
    """Run *fn* in a new unit of work and commit it; return what *fn* returned."""
    with store.unit_of_work() as uow:
        result = fn(uow)
        uow.commit()
    return result


def read(store: Store, fn: Callable[[UnitOfWork], R]) -> R:
    """Run *fn* in a new read-only unit of work (never committed)."""
    with store.unit_of_work(write=False) as uow:
        return fn(uow)


@attrs.frozen
class Seed:
    """A team written to the store with an admin, an agent, a company and a contact."""

    team: Team
    admin: Member
    agent: Member
    company: Company
    contact: Contact

    @property
    def team_id(self) -> TeamId:
        """The team's id."""
        return self.team.id


def seed_team(store: Store, name: str = "Acme") -> Seed:
    """Write a fresh team (with two members, a company and a contact) and return it."""
    team = Team(id=new_team_id(), name=name, created_at=T0)
    admin = Member(
        id=new_member_id(), team_id=team.id, name="Ana", role=Role.ADMIN, created_at=at(1)
    )
    agent = Member(
        id=new_member_id(), team_id=team.id, name="Bob", role=Role.AGENT, created_at=at(2)
    )
    company = Company(
        id=new_company_id(), team_id=team.id, name="Globex", created_at=at(3), created_by=admin.id
    )
    contact = Contact(
        id=new_contact_id(),
        team_id=team.id,
        created_at=at(4),
        status="evaluate",
        first_name="Bea",
        company_ids=(company.id,),
        created_by=admin.id,
    )

    def fill(uow: UnitOfWork) -> None:
        uow.teams.add(team)
        uow.members.add(admin)
        uow.members.add(agent)
        uow.companies.add(company)
        uow.contacts.add(contact)

    write(store, fill)
    return Seed(team=team, admin=admin, agent=agent, company=company, contact=contact)


def new_contact(seed: Seed, seconds: float = 10, **changes: Any) -> Contact:
    """Return an unsaved contact of *seed*'s team created at ``at(seconds)``."""
    fields: dict[str, Any] = {
        "id": new_contact_id(),
        "team_id": seed.team_id,
        "created_at": at(seconds),
        "status": "evaluate",
        "first_name": "Cy",
        "created_by": seed.agent.id,
    }
    fields.update(changes)
    return Contact(**fields)


def new_bucket(seed: Seed, seconds: float = 10, *, personal: bool = False) -> Bucket:
    """Return an unsaved bucket of *seed*'s team (team bucket with an agent grant, or personal)."""
    if personal:
        return Bucket(
            id=new_bucket_id(),
            team_id=seed.team_id,
            name="Mine",
            kind=BucketKind.PERSONAL,
            owner_id=seed.agent.id,
            created_at=at(seconds),
            created_by=seed.agent.id,
        )
    return Bucket(
        id=new_bucket_id(),
        team_id=seed.team_id,
        name="Leads",
        kind=BucketKind.TEAM,
        grants=(AccessGrant(member_id=seed.agent.id, level=AccessLevel.EDITOR),),
        created_at=at(seconds),
        created_by=seed.admin.id,
    )


def new_event(seed: Seed, subject_id: str = "x", **data: Any) -> DomainEvent:
    """Return a domain event of *seed*'s team."""
    return DomainEvent(
        name=EventName.CONTACT_UPDATED,
        team_id=seed.team_id,
        subject_id=subject_id,
        occurred_at=T0,
        actor_id=seed.admin.id,
        data=data,
    )


def fresh(entity: E) -> E:
    """Return *entity* with a new random id of the same kind.

    Hypothesis draws the same ids again across examples; the suite keeps one
    store per test, so drawn entities get fresh ids before they are stored.
    """
    prefix = entity.id[:3]  # type: ignore[attr-defined]
    return attrs.evolve(entity, id=prefix + secrets.token_hex(13))  # type: ignore[misc]


def add_all(add: Callable[[Any], None], rows: Iterable[Any]) -> None:
    """Call a repository's ``add`` for each row."""
    for row in rows:
        add(row)


def _bump(entity: Any, **changes: Any) -> Any:
    return attrs.evolve(entity, version=entity.version + 1, **changes)


class StoreContractBase:
    """Holds the one abstract fixture of the suite: ``store``.

    Override it in your subclass to yield a fresh store (and close it after).
    """

    @pytest.fixture
    def store(self) -> Store:
        """A fresh, empty store of the adapter under test (override me).

        Override it as a plain or a yield fixture, with any fixtures you need
        (``tmp_path``...); close the store after the test.
        """
        pytest.fail(f"{type(self).__name__} must override the 'store' fixture")

    @pytest.fixture
    def seed(self, store: Store) -> Seed:
        """A team with members, a company and a contact, already in *store*."""
        return seed_team(store)


# ====================================================================== teams


class TeamRepositoryContract(StoreContractBase):
    """``uow.teams``: round trips, duplicates, versions."""

    @contract_settings
    @given(team=tst.teams())
    def test_team_round_trips(self, store: Store, team: Team) -> None:
        team = fresh(team)
        write(store, lambda uow: uow.teams.add(team))
        got = read(store, lambda uow: uow.teams.get(team.id))
        assert got == team
        assert got.settings.statuses == team.settings.statuses

    def test_adding_a_taken_team_id_raises_already_exists(self, store: Store, seed: Seed) -> None:
        with pytest.raises(AlreadyExists):
            write(store, lambda uow: uow.teams.add(attrs.evolve(seed.team, name="Other")))
        assert read(store, lambda uow: uow.teams.get(seed.team_id)) == seed.team

    def test_missing_team_is_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.teams.get(new_team_id()))

    def test_team_update_needs_the_previous_version(self, store: Store, seed: Seed) -> None:
        v2 = _bump(seed.team, name="Acme 2")
        write(store, lambda uow: uow.teams.update(v2))
        assert read(store, lambda uow: uow.teams.get(seed.team_id)) == v2
        stale = _bump(seed.team, name="Stale")  # version 2 again, built from version 1
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.teams.update(stale))
        skipping = attrs.evolve(seed.team, name="Skip", version=4)
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.teams.update(skipping))
        assert read(store, lambda uow: uow.teams.get(seed.team_id)) == v2


# ==================================================================== members


class MemberRepositoryContract(StoreContractBase):
    """``uow.members``: round trips, ``find`` across teams, ordering, versions."""

    @contract_settings
    @given(data=st.data())
    def test_member_round_trips(self, store: Store, data: st.DataObject) -> None:
        seed = seed_team(store)
        member = fresh(data.draw(tst.members(team_id=seed.team_id)))
        write(store, lambda uow: uow.members.add(member))
        assert read(store, lambda uow: uow.members.get(seed.team_id, member.id)) == member
        assert read(store, lambda uow: uow.members.find(member.id)) == member
        assert member in read(store, lambda uow: uow.members.all(seed.team_id))

    def test_adding_a_taken_member_id_raises_already_exists(self, store: Store, seed: Seed) -> None:
        with pytest.raises(AlreadyExists):
            write(store, lambda uow: uow.members.add(attrs.evolve(seed.agent, name="Twin")))

    def test_missing_member_is_not_found(self, store: Store, seed: Seed) -> None:
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.members.get(seed.team_id, new_member_id()))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.members.find(new_member_id()))

    @contract_settings
    @given(offsets=st.lists(st.integers(0, 10**6), min_size=1, max_size=6, unique=True))
    def test_members_are_listed_oldest_first(self, store: Store, offsets: list[int]) -> None:
        seed = seed_team(store)
        extra = [
            Member(
                id=new_member_id(),
                team_id=seed.team_id,
                name=f"M{i}",
                role=Role.AGENT,
                created_at=at(100 + s),
            )
            for i, s in enumerate(offsets)
        ]
        write(store, lambda uow: add_all(uow.members.add, extra))
        listed = read(store, lambda uow: uow.members.all(seed.team_id))
        assert listed == sorted([seed.admin, seed.agent, *extra], key=lambda m: m.created_at)

    def test_member_update_needs_the_previous_version(self, store: Store, seed: Seed) -> None:
        v2 = _bump(seed.agent, active=False, away_until=at(50))
        write(store, lambda uow: uow.members.update(v2))
        assert read(store, lambda uow: uow.members.get(seed.team_id, seed.agent.id)) == v2
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.members.update(_bump(seed.agent, name="Stale")))
        assert read(store, lambda uow: uow.members.find(seed.agent.id)) == v2


# =================================================================== contacts


class ContactRepositoryContract(StoreContractBase):
    """``uow.contacts``: round trips, bulk insert, versions, deletes, ordering."""

    @contract_settings
    @given(data=st.data())
    def test_contact_round_trips(self, store: Store, data: st.DataObject) -> None:
        seed = seed_team(store)
        contact = data.draw(
            tst.contacts(
                team_id=seed.team_id,
                created_by=st.sampled_from([None, seed.admin.id, seed.agent.id]),
                company_ids=st.sampled_from([(), (seed.company.id,)]),
            )
        )
        contact = fresh(contact)
        write(store, lambda uow: uow.contacts.add(contact))
        got = read(store, lambda uow: uow.contacts.get(seed.team_id, contact.id))
        assert got == contact
        assert {k: type(v) for k, v in got.custom_fields.items()} == {
            k: type(v) for k, v in contact.custom_fields.items()
        }
        assert read(store, lambda uow: uow.contacts.get_many(seed.team_id, [contact.id])) == [
            contact
        ]

    def test_adding_a_taken_contact_id_raises_already_exists(
        self, store: Store, seed: Seed
    ) -> None:
        twin = attrs.evolve(seed.contact, first_name="Twin")
        with pytest.raises(AlreadyExists):
            write(store, lambda uow: uow.contacts.add(twin))
        assert read(store, lambda uow: uow.contacts.get(seed.team_id, seed.contact.id)) == (
            seed.contact
        )

    def test_missing_contact_is_not_found(self, store: Store, seed: Seed) -> None:
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.contacts.get(seed.team_id, new_contact_id()))

    def test_get_many_keeps_the_order_asked_and_skips_missing(
        self, store: Store, seed: Seed
    ) -> None:
        more = [new_contact(seed, 10 + i, first_name=f"C{i}") for i in range(4)]
        write(store, lambda uow: uow.contacts.add_many(more))
        asked = [more[2].id, new_contact_id(), more[0].id, seed.contact.id, more[3].id]
        got = read(store, lambda uow: uow.contacts.get_many(seed.team_id, asked))
        assert [c.id for c in got] == [more[2].id, more[0].id, seed.contact.id, more[3].id]

    @contract_settings
    @given(size=st.integers(1, 30), clash=st.sampled_from(["stored", "in-batch"]))
    def test_add_many_is_all_or_nothing(self, store: Store, size: int, clash: str) -> None:
        seed = seed_team(store)
        batch = [new_contact(seed, 10 + i) for i in range(size)]
        dup = seed.contact if clash == "stored" else batch[0]
        bad = [*batch, attrs.evolve(dup, first_name="Dup")]

        def attempt(uow: UnitOfWork) -> None:
            with pytest.raises(AlreadyExists):
                uow.contacts.add_many(bad)
            uow.commit()  # even if the caller goes on and commits, nothing was added

        with store.unit_of_work() as uow:
            attempt(uow)
        ids = [c.id for c in batch]
        assert read(store, lambda uow: uow.contacts.get_many(seed.team_id, ids)) == []
        write(store, lambda uow: uow.contacts.add_many(batch))
        assert read(store, lambda uow: uow.contacts.get_many(seed.team_id, ids)) == batch

    @contract_settings
    @given(offsets=st.lists(st.integers(0, 10**6), min_size=1, max_size=8, unique=True))
    def test_contacts_are_listed_oldest_first(self, store: Store, offsets: list[int]) -> None:
        seed = seed_team(store)
        rows = [new_contact(seed, 100 + s) for s in offsets]
        write(store, lambda uow: uow.contacts.add_many(rows))
        listed = read(store, lambda uow: uow.contacts.all(seed.team_id))
        assert listed == sorted([seed.contact, *rows], key=lambda c: c.created_at)

    def test_by_company_lists_linked_contacts_oldest_first(self, store: Store, seed: Seed) -> None:
        linked = new_contact(seed, 20, company_ids=(seed.company.id,))
        earlier = new_contact(seed, 2, company_ids=(seed.company.id,))
        other = new_contact(seed, 30)
        write(store, lambda uow: uow.contacts.add_many([linked, other, earlier]))
        got = read(store, lambda uow: uow.contacts.by_company(seed.team_id, seed.company.id))
        assert got == [earlier, seed.contact, linked]

    def test_contact_update_needs_the_previous_version(self, store: Store, seed: Seed) -> None:
        v2 = _bump(seed.contact, last_name="Jones", custom_fields={"tier": 2})
        write(store, lambda uow: uow.contacts.update(v2))
        assert read(store, lambda uow: uow.contacts.get(seed.team_id, seed.contact.id)) == v2
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.contacts.update(_bump(seed.contact, last_name="X")))
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.contacts.update(v2))  # same version twice
        assert read(store, lambda uow: uow.contacts.get(seed.team_id, seed.contact.id)) == v2

    def test_updating_a_missing_contact_fails(self, store: Store, seed: Seed) -> None:
        ghost = _bump(new_contact(seed))
        with pytest.raises((NotFound, ConcurrencyError)):
            write(store, lambda uow: uow.contacts.update(ghost))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.contacts.get(seed.team_id, ghost.id))

    def test_two_units_that_read_the_same_version_cannot_both_win(
        self, store: Store, seed: Seed
    ) -> None:
        first = read(store, lambda uow: uow.contacts.get(seed.team_id, seed.contact.id))
        second = read(store, lambda uow: uow.contacts.get(seed.team_id, seed.contact.id))
        write(store, lambda uow: uow.contacts.update(_bump(first, last_name="First")))
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.contacts.update(_bump(second, last_name="Second")))
        got = read(store, lambda uow: uow.contacts.get(seed.team_id, seed.contact.id))
        assert (got.last_name, got.version) == ("First", 2)

    def test_concurrent_updates_from_threads_have_one_winner(
        self, store: Store, seed: Seed
    ) -> None:
        workers = 6
        barrier = threading.Barrier(workers)
        outcomes: list[str] = []
        lock = threading.Lock()

        def work(n: int) -> None:
            try:
                seen = read(store, lambda uow: uow.contacts.get(seed.team_id, seed.contact.id))
                barrier.wait(timeout=10)
                write(store, lambda uow: uow.contacts.update(_bump(seen, last_name=f"W{n}")))
                result = "won"
            except ConcurrencyError:
                result = "lost"
            except Exception as exc:  # reported below, not swallowed
                result = f"error: {exc!r}"
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(outcomes) == ["lost"] * (workers - 1) + ["won"], outcomes
        got = read(store, lambda uow: uow.contacts.get(seed.team_id, seed.contact.id))
        assert got.version == 2

    def test_delete_needs_the_stored_version(self, store: Store, seed: Seed) -> None:
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.contacts.delete(seed.team_id, seed.contact.id, 2))
        assert read(store, lambda uow: uow.contacts.get(seed.team_id, seed.contact.id))
        write(store, lambda uow: uow.contacts.delete(seed.team_id, seed.contact.id, 1))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.contacts.get(seed.team_id, seed.contact.id))
        with pytest.raises(NotFound):
            write(store, lambda uow: uow.contacts.delete(seed.team_id, seed.contact.id, 1))
        assert seed.contact not in read(store, lambda uow: uow.contacts.all(seed.team_id))


# ================================================================== companies


class CompanyRepositoryContract(StoreContractBase):
    """``uow.companies``: round trips, versions, deletes."""

    @contract_settings
    @given(data=st.data())
    def test_company_round_trips(self, store: Store, data: st.DataObject) -> None:
        seed = seed_team(store)
        company = data.draw(
            tst.companies(team_id=seed.team_id, created_by=st.sampled_from([None, seed.agent.id]))
        )
        company = fresh(company)
        write(store, lambda uow: uow.companies.add(company))
        assert read(store, lambda uow: uow.companies.get(seed.team_id, company.id)) == company
        listed = read(store, lambda uow: uow.companies.all(seed.team_id))
        assert [c.id for c in listed] == [
            c.id for c in sorted([seed.company, company], key=lambda c: c.created_at)
        ]

    def test_company_duplicates_and_missing(self, store: Store, seed: Seed) -> None:
        with pytest.raises(AlreadyExists):
            write(store, lambda uow: uow.companies.add(attrs.evolve(seed.company, name="Twin")))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.companies.get(seed.team_id, new_company_id()))

    def test_company_versions_and_delete(self, store: Store, seed: Seed) -> None:
        v2 = _bump(seed.company, name="Globex Corp", domain="globex.example")
        write(store, lambda uow: uow.companies.update(v2))
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.companies.update(_bump(seed.company, name="Stale")))
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.companies.delete(seed.team_id, seed.company.id, 1))
        assert read(store, lambda uow: uow.companies.get(seed.team_id, seed.company.id)) == v2
        write(store, lambda uow: uow.companies.delete(seed.team_id, seed.company.id, 2))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.companies.get(seed.team_id, seed.company.id))


# ==================================================================== buckets


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
        v2 = _bump(bucket, grants=grants, name="Renamed")
        write(store, lambda uow: uow.buckets.update(v2))
        got = read(store, lambda uow: uow.buckets.get(seed.team_id, bucket.id))
        assert got == v2
        assert got.grant_for(seed.agent.id) is None
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.buckets.update(_bump(bucket, name="Stale")))

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


# ================================================================ memberships


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


# =============================================================== interactions


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


# ===================================================================== outbox


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


# ============================================================= unit of work


def _changes(seed: Seed) -> Callable[[UnitOfWork], None]:
    """A unit's worth of changes touching every repository."""

    def change(uow: UnitOfWork) -> None:
        bucket = new_bucket(seed, 40)
        uow.teams.update(_bump(seed.team, name="Changed"))
        uow.members.add(
            Member(
                id=new_member_id(),
                team_id=seed.team_id,
                name="New",
                role=Role.AGENT,
                created_at=at(40),
            )
        )
        uow.members.update(_bump(seed.agent, active=False))
        uow.contacts.add_many([new_contact(seed, 41), new_contact(seed, 42)])
        uow.contacts.update(_bump(seed.contact, last_name="Changed"))
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
                uow.contacts.update(_bump(_bump(seed.contact)))  # skips a version

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


# ============================================================ team isolation


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
            lambda uow: uow.contacts.update(_bump(attrs.evolve(b.contact, team_id=t))),
            lambda uow: uow.members.update(_bump(attrs.evolve(b.agent, team_id=t))),
            lambda uow: uow.buckets.update(_bump(attrs.evolve(bucket_b, team_id=t))),
        ]
        for attempt in attempts:
            with pytest.raises((NotFound, ConcurrencyError)):
                write(store, attempt)
        write(store, lambda uow: uow.memberships.remove_many(t, bucket_b.id, [b.contact.id]))
        write(store, lambda uow: uow.memberships.remove_item(t, b.contact.id))
        assert store_snapshot(store, [a.team_id, b.team_id]) == before


class StoreContract(
    TeamRepositoryContract,
    MemberRepositoryContract,
    ContactRepositoryContract,
    CompanyRepositoryContract,
    BucketRepositoryContract,
    MembershipRepositoryContract,
    InteractionRepositoryContract,
    OutboxContract,
    UnitOfWorkContract,
    TeamIsolationContract,
):
    """Every contract at once: subclass this and override ``store``."""
