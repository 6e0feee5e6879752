"""Contract tests for the entity repositories: teams, members, contacts and companies."""

from __future__ import annotations

import threading
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm.contact import Contact, EmailAddress, PhoneNumber
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.ids import (
    new_company_id,
    new_contact_id,
    new_member_id,
    new_team_id,
)
from teamcrm.ports import Store, UnitOfWork
from teamcrm.team import Member, Role, Team
from teamcrm.testing import strategies as tst
from teamcrm.testing.contract_base import (
    Seed,
    StoreContractBase,
    add_all,
    at,
    bump,
    contract_settings,
    fresh,
    new_contact,
    read,
    seed_team,
    write,
)


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

    def test_contact_update_with_previous_writes_every_change(
        self, store: Store, seed: Seed
    ) -> None:
        """``update(contact, previous=...)``: the keyword is accepted and nothing is lost.

        A store may leave the rows that did not change; what is read back is
        the new version all the same, whichever fields changed, and a
        *previous* that is not the version replaced is ignored.
        """
        v1 = seed.contact
        company = new_company_id()
        steps: list[dict[str, Any]] = [
            {"status": "active"},
            {"first_name": "Anna"},
            {"emails": (EmailAddress(address="anna@example.com"),)},
            {"phones": (PhoneNumber(number="+16175550102"),)},
            {"company_ids": (company,)},
            {"emails": (), "phones": (), "company_ids": (), "last_name": "Lee-Ray"},
        ]
        current = v1
        for changes in steps:
            nxt = bump(current, **changes)

            def change(uow: UnitOfWork, c: Contact = nxt, p: Contact = current) -> None:
                uow.contacts.update(c, previous=p)

            write(store, change)
            assert read(store, lambda uow: uow.contacts.get(seed.team_id, v1.id)) == nxt, changes
            current = nxt
        # A stale *previous* (an older version that holds the new emails) must not hide them.
        again = (EmailAddress(address="again@example.com"),)
        older = attrs.evolve(current, version=current.version - 1, emails=again)
        back = bump(current, emails=again)
        write(store, lambda uow: uow.contacts.update(back, previous=older))
        assert read(store, lambda uow: uow.contacts.get(seed.team_id, v1.id)) == back

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
