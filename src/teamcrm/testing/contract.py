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

import threading
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm.bucket import AccessGrant, AccessLevel, Bucket, BucketMembership
from teamcrm.contact import Contact, EmailAddress, PhoneNumber
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound, StoreError
from teamcrm.ids import (
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
from teamcrm.testing.contract_base import (
    T0,
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
from teamcrm.testing.contract_campaigns import (
    CampaignRepositoryContract,
    CampaignSendRepositoryContract,
)
from teamcrm.testing.contract_followups import (
    FollowUpDueRepositoryContract,
    FollowUpIsolationContract,
    FollowUpPolicyRepositoryContract,
    SnoozeRepositoryContract,
    TaskRepositoryContract,
    TouchRepositoryContract,
)
from teamcrm.testing.contract_notifications import (
    DigestQueueContract,
    NotificationRepositoryContract,
)
from teamcrm.testing.contract_paging import KeysetPageContract
from teamcrm.testing.contract_programs import (
    EnrolmentRepositoryContract,
    ProgramRepositoryContract,
)
from teamcrm.testing.contract_records import RecordRepositoryContract
from teamcrm.testing.contract_retention import OutboxRetentionContract
from teamcrm.testing.contract_routing import (
    AgentGridContract,
    InboundBucketRepositoryContract,
    IntakeRepositoryContract,
    LeadPoolRepositoryContract,
    LeadRepositoryContract,
    OfferRepositoryContract,
    RoutingCursorRepositoryContract,
    RoutingIsolationContract,
)
from teamcrm.testing.contract_views import (
    CompanySearchContract,
    InteractionCountsContract,
    LastContactedContract,
    SavedFilterRepositoryContract,
    SearchContract,
)
from teamcrm.testing.snapshot import store_snapshot

__all__ = [
    "T0",
    "AgentGridContract",
    "BucketRepositoryContract",
    "CampaignRepositoryContract",
    "CampaignSendRepositoryContract",
    "CompanyRepositoryContract",
    "CompanySearchContract",
    "ContactRepositoryContract",
    "DigestQueueContract",
    "EnrolmentRepositoryContract",
    "FollowUpDueRepositoryContract",
    "FollowUpIsolationContract",
    "FollowUpPolicyRepositoryContract",
    "InboundBucketRepositoryContract",
    "IntakeRepositoryContract",
    "InteractionCountsContract",
    "InteractionRepositoryContract",
    "KeysetPageContract",
    "LastContactedContract",
    "LeadPoolRepositoryContract",
    "LeadRepositoryContract",
    "MemberRepositoryContract",
    "MembershipRepositoryContract",
    "NotificationRepositoryContract",
    "OfferRepositoryContract",
    "OutboxContract",
    "OutboxRetentionContract",
    "ProgramRepositoryContract",
    "RecordRepositoryContract",
    "RoutingCursorRepositoryContract",
    "RoutingIsolationContract",
    "SavedFilterRepositoryContract",
    "SearchContract",
    "Seed",
    "SnoozeRepositoryContract",
    "StoreContract",
    "StoreContractBase",
    "TaskRepositoryContract",
    "TeamIsolationContract",
    "TeamRepositoryContract",
    "TouchRepositoryContract",
    "UnitOfWorkContract",
    "add_all",
    "at",
    "bump",
    "contract_settings",
    "fresh",
    "new_bucket",
    "new_contact",
    "new_event",
    "read",
    "seed_team",
    "write",
]

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
        v2 = bump(seed.team, name="Acme 2")
        write(store, lambda uow: uow.teams.update(v2))
        assert read(store, lambda uow: uow.teams.get(seed.team_id)) == v2
        stale = bump(seed.team, name="Stale")  # version 2 again, built from version 1
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.teams.update(stale))
        skipping = attrs.evolve(seed.team, name="Skip", version=4)
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.teams.update(skipping))
        assert read(store, lambda uow: uow.teams.get(seed.team_id)) == v2

    def test_locking_a_team_changes_nothing(self, store: Store, seed: Seed) -> None:
        def lock_and_change(uow: UnitOfWork) -> None:
            uow.teams.lock(seed.team_id)
            uow.teams.lock(new_team_id())  # a missing team is not an error
            uow.teams.update(bump(seed.team, name="Locked"))

        write(store, lock_and_change)
        assert read(store, lambda uow: uow.teams.get(seed.team_id)).name == "Locked"
        read(store, lambda uow: uow.teams.lock(seed.team_id))  # nothing in a read-only unit


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
        v2 = bump(seed.agent, active=False, away_until=at(50))
        write(store, lambda uow: uow.members.update(v2))
        assert read(store, lambda uow: uow.members.get(seed.team_id, seed.agent.id)) == v2
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.members.update(bump(seed.agent, name="Stale")))
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

    def test_locking_contacts_changes_nothing(self, store: Store, seed: Seed) -> None:
        c = seed.contact

        def lock_update_delete(uow: UnitOfWork) -> None:
            uow.contacts.lock(seed.team_id, [c.id, new_contact_id()])
            uow.contacts.lock(seed.team_id, [])
            uow.contacts.update(bump(c, first_name="Held"))
            uow.contacts.lock(seed.team_id, [c.id], exclusive=True)
            uow.contacts.delete(seed.team_id, c.id, c.version + 1)

        write(store, lock_update_delete)
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.contacts.get(seed.team_id, c.id))
        read(store, lambda uow: uow.contacts.lock(seed.team_id, [c.id], exclusive=True))

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

    def test_get_for_update_reads_what_get_reads(self, store: Store, seed: Seed) -> None:
        def change(uow: UnitOfWork) -> Contact:
            seen = uow.contacts.get_for_update(seed.team_id, seed.contact.id)
            assert seen == uow.contacts.get(seed.team_id, seed.contact.id)
            uow.contacts.update(bump(seen, last_name="Locked"))
            return uow.contacts.get_for_update(seed.team_id, seed.contact.id)

        changed = write(store, change)
        assert changed == bump(seed.contact, last_name="Locked")
        got = read(store, lambda uow: uow.contacts.get_for_update(seed.team_id, seed.contact.id))
        assert got == changed
        for missing in (new_contact_id(), seed.contact.id):
            team = seed.team_id if missing != seed.contact.id else new_team_id()
            with pytest.raises(NotFound):
                write(store, lambda uow: uow.contacts.get_for_update(team, missing))  # noqa: B023

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

    def test_existing_keys_names_the_held_emails_and_phones(self, store: Store, seed: Seed) -> None:
        held = new_contact(
            seed,
            20,
            emails=(EmailAddress(address="Ann.Lee@Example.com"),),
            phones=(PhoneNumber(number="+16175550101"),),
        )
        write(store, lambda uow: uow.contacts.add(held))
        emails = ["ann.lee@example.com", "nobody@example.com"] + [f"x{i}@e.com" for i in range(600)]
        got = read(
            store,
            lambda uow: uow.contacts.existing_keys(
                seed.team_id, emails=emails, phones=["+16175550101", "+16175550199"]
            ),
        )
        assert got == {"ann.lee@example.com", "+16175550101"}
        other = read(
            store,
            lambda uow: uow.contacts.existing_keys(
                new_team_id(), emails=["ann.lee@example.com"], phones=["+16175550101"]
            ),
        )
        assert other == set()

    def test_contact_update_needs_the_previous_version(self, store: Store, seed: Seed) -> None:
        v2 = bump(seed.contact, last_name="Jones", custom_fields={"tier": 2})
        write(store, lambda uow: uow.contacts.update(v2))
        assert read(store, lambda uow: uow.contacts.get(seed.team_id, seed.contact.id)) == v2
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.contacts.update(bump(seed.contact, last_name="X")))
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.contacts.update(v2))  # same version twice
        assert read(store, lambda uow: uow.contacts.get(seed.team_id, seed.contact.id)) == v2

    def test_contact_opt_out_is_stored_and_cleared_by_updates(
        self, store: Store, seed: Seed
    ) -> None:
        when = at(100)
        out = bump(seed.contact, email_opt_out=True, opted_out_at=when)
        write(store, lambda uow: uow.contacts.update(out))
        got = read(store, lambda uow: uow.contacts.get(seed.team_id, seed.contact.id))
        assert (got.email_opt_out, got.opted_out_at) == (True, when)
        renamed = bump(out, last_name="Jones")
        write(store, lambda uow: uow.contacts.update(renamed))
        assert read(store, lambda uow: uow.contacts.all(seed.team_id)) == [renamed]
        back = bump(renamed, email_opt_out=False, opted_out_at=None)
        write(store, lambda uow: uow.contacts.update(back))
        got = read(store, lambda uow: uow.contacts.get(seed.team_id, seed.contact.id))
        assert (got.email_opt_out, got.opted_out_at) == (False, None)

    def test_updating_a_missing_contact_fails(self, store: Store, seed: Seed) -> None:
        ghost = bump(new_contact(seed))
        with pytest.raises((NotFound, ConcurrencyError)):
            write(store, lambda uow: uow.contacts.update(ghost))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.contacts.get(seed.team_id, ghost.id))

    def test_two_units_that_read_the_same_version_cannot_both_win(
        self, store: Store, seed: Seed
    ) -> None:
        first = read(store, lambda uow: uow.contacts.get(seed.team_id, seed.contact.id))
        second = read(store, lambda uow: uow.contacts.get(seed.team_id, seed.contact.id))
        write(store, lambda uow: uow.contacts.update(bump(first, last_name="First")))
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.contacts.update(bump(second, last_name="Second")))
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
                write(store, lambda uow: uow.contacts.update(bump(seen, last_name=f"W{n}")))
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

    def test_locking_companies_changes_nothing(self, store: Store, seed: Seed) -> None:
        co = seed.company

        def lock_update_delete(uow: UnitOfWork) -> None:
            uow.companies.lock(seed.team_id, [co.id, new_company_id()])
            uow.companies.lock(seed.team_id, [])
            uow.companies.update(bump(co, name="Held"))
            uow.companies.lock(seed.team_id, [co.id], exclusive=True)
            uow.companies.delete(seed.team_id, co.id, co.version + 1)

        write(store, lock_update_delete)
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.companies.get(seed.team_id, co.id))
        read(store, lambda uow: uow.companies.lock(seed.team_id, [co.id], exclusive=True))

    def test_company_versions_and_delete(self, store: Store, seed: Seed) -> None:
        v2 = bump(seed.company, name="Globex Corp", domain="globex.example")
        write(store, lambda uow: uow.companies.update(v2))
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.companies.update(bump(seed.company, name="Stale")))
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


class StoreContract(
    TeamRepositoryContract,
    MemberRepositoryContract,
    ContactRepositoryContract,
    CompanyRepositoryContract,
    BucketRepositoryContract,
    MembershipRepositoryContract,
    InteractionRepositoryContract,
    OutboxContract,
    OutboxRetentionContract,
    KeysetPageContract,
    UnitOfWorkContract,
    TeamIsolationContract,
    NotificationRepositoryContract,
    DigestQueueContract,
    FollowUpPolicyRepositoryContract,
    TouchRepositoryContract,
    FollowUpDueRepositoryContract,
    SnoozeRepositoryContract,
    TaskRepositoryContract,
    FollowUpIsolationContract,
    LeadPoolRepositoryContract,
    LeadRepositoryContract,
    OfferRepositoryContract,
    RoutingCursorRepositoryContract,
    InboundBucketRepositoryContract,
    RoutingIsolationContract,
    AgentGridContract,
    SearchContract,
    CompanySearchContract,
    LastContactedContract,
    InteractionCountsContract,
    SavedFilterRepositoryContract,
    IntakeRepositoryContract,
    ProgramRepositoryContract,
    EnrolmentRepositoryContract,
    CampaignRepositoryContract,
    CampaignSendRepositoryContract,
    RecordRepositoryContract,
):
    """Every contract at once: subclass this and override ``store``."""
