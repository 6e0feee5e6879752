"""Contract tests of what runs a follow-up clock: policies, touches and the stored due rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.followup import (
    Cadence,
    FollowUpDue,
    FollowUpPolicy,
    Snooze,
    Touch,
    TouchKind,
    new_policy_id,
)
from teamcrm.ids import MemberId
from teamcrm.ports import Store, UnitOfWork
from teamcrm.testing import strategies as tst
from teamcrm.testing.contract_base import (
    add_all,
    at,
    bump,
    call,
    contract_settings,
    fresh,
    new_contact,
    read,
    round_trip_settings,
    write,
)
from teamcrm.testing.contract_followup_base import (
    FAR,
    FollowUpSeed,
    _due,
    _FollowUpBase,
    _touch,
    new_policy,
    seed_followups,
)

__all__ = [
    "FollowUpDueRepositoryContract",
    "FollowUpPolicyRepositoryContract",
    "TouchRepositoryContract",
]

# =================================================================== policies


class FollowUpPolicyRepositoryContract(_FollowUpBase):
    """``uow.followup_policies``: round trips, duplicates, versions, deletes, order."""

    @round_trip_settings
    @given(data=st.data())
    def test_policy_round_trips(
        self, store: Store, followup_seed: Callable[[], FollowUpSeed], data: st.DataObject
    ) -> None:
        fs = followup_seed()
        people = st.sampled_from([fs.seed.admin.id, fs.seed.agent.id])
        policy = data.draw(
            tst.follow_up_policies(
                team_id=fs.team_id,
                bucket_id=st.sampled_from([fs.team_bucket.id, fs.personal_bucket.id]),
                member_id=people,
                created_by=people,
            )
        )
        policy = fresh(policy)
        write(store, lambda uow: uow.followup_policies.add(policy))

        def lookups(uow: UnitOfWork) -> tuple[Any, ...]:
            repo = uow.followup_policies
            return (
                repo.get(fs.team_id, policy.id),
                repo.all(fs.team_id),
                repo.for_buckets(fs.team_id, [policy.bucket_id]),
                repo.for_member(fs.team_id, policy.member_id),
            )

        got, everything, by_bucket, by_member = read(store, lookups)
        assert got == policy
        assert (got.cadence, got.time_zone) == (policy.cadence, policy.time_zone)
        for listing in (everything, by_bucket, by_member):
            assert policy in listing

    def test_policy_duplicates_and_missing(
        self, store: Store, followup_seed: Callable[[], FollowUpSeed]
    ) -> None:
        fs = followup_seed()
        twin = attrs.evolve(fs.policy, cadence=Cadence.weeks(1))
        with pytest.raises(AlreadyExists):
            write(store, lambda uow: uow.followup_policies.add(twin))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.followup_policies.get(fs.team_id, new_policy_id()))
        assert read(store, lambda uow: uow.followup_policies.get(fs.team_id, fs.policy.id)) == (
            fs.policy
        )

    def test_policy_update_needs_the_previous_version(
        self, store: Store, followup_seed: Callable[[], FollowUpSeed]
    ) -> None:
        fs = followup_seed()
        v2 = bump(fs.policy, cadence=Cadence.business_days(5), time_zone="Asia/Kathmandu")
        write(store, lambda uow: uow.followup_policies.update(v2))
        assert read(store, lambda uow: uow.followup_policies.get(fs.team_id, fs.policy.id)) == v2
        stale = bump(fs.policy, cadence=Cadence.months(3))
        skipping = attrs.evolve(fs.policy, version=4)
        for bad in (stale, skipping, v2):
            with pytest.raises(ConcurrencyError):
                write(store, call("followup_policies", "update", bad))
        ghost = bump(new_policy(fs.seed, fs.team_bucket))
        with pytest.raises((NotFound, ConcurrencyError)):
            write(store, lambda uow: uow.followup_policies.update(ghost))
        assert read(store, lambda uow: uow.followup_policies.get(fs.team_id, fs.policy.id)) == v2

    def test_deleting_a_policy_needs_its_version_and_drops_only_its_due_rows(
        self, store: Store, followup_seed: Callable[[], FollowUpSeed]
    ) -> None:
        fs = followup_seed()
        other = new_policy(fs.seed, fs.team_bucket, 20, member_id=fs.seed.admin.id)
        doomed = [_due(fs, fs.policy, c, i) for i, c in enumerate(fs.contact_ids)]
        kept = [_due(fs, other, c, i) for i, c in enumerate(fs.contact_ids)]

        def fill(uow: UnitOfWork) -> None:
            uow.followup_policies.add(other)
            uow.followup_dues.put_many([*doomed, *kept])

        write(store, fill)
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.followup_policies.delete(fs.team_id, fs.policy.id, 2))
        write(store, lambda uow: uow.followup_policies.delete(fs.team_id, fs.policy.id, 1))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.followup_policies.get(fs.team_id, fs.policy.id))
        with pytest.raises(NotFound):
            write(store, lambda uow: uow.followup_policies.delete(fs.team_id, fs.policy.id, 1))

        def rows(member: MemberId) -> list[FollowUpDue]:
            return read(
                store,
                lambda uow: uow.followup_dues.for_contacts(fs.team_id, member, fs.contact_ids),
            )

        assert rows(fs.seed.agent.id) == []
        assert rows(fs.seed.admin.id) == kept
        assert read(store, lambda uow: uow.followup_policies.all(fs.team_id)) == [other]

    @contract_settings
    @given(
        specs=st.lists(
            st.tuples(st.integers(0, 3), st.booleans(), st.booleans()), min_size=1, max_size=8
        )
    )
    def test_policies_are_listed_by_created_at_then_id(
        self, store: Store, specs: list[tuple[int, bool, bool]]
    ) -> None:
        fs = seed_followups(store)
        s = fs.seed
        rows = [
            new_policy(
                s,
                fs.personal_bucket if personal else fs.team_bucket,
                100 + offset,
                member_id=s.admin.id if admin else s.agent.id,
            )
            for offset, personal, admin in specs
        ]
        write(store, lambda uow: add_all(uow.followup_policies.add, rows))
        ordered = sorted([fs.policy, *rows], key=lambda p: (p.created_at, p.id))

        def listings(uow: UnitOfWork) -> tuple[list[FollowUpPolicy], ...]:
            repo = uow.followup_policies
            return (
                repo.all(fs.team_id),
                repo.for_buckets(fs.team_id, [fs.personal_bucket.id]),
                repo.for_buckets(
                    fs.team_id, [fs.team_bucket.id, fs.personal_bucket.id, fs.team_bucket.id]
                ),
                repo.for_buckets(fs.team_id, []),
                repo.for_member(fs.team_id, s.admin.id),
            )

        everything, personal, both, none, admins = read(store, listings)
        assert everything == ordered
        assert personal == [p for p in ordered if p.bucket_id == fs.personal_bucket.id]
        assert both == ordered
        assert none == []
        assert admins == [p for p in ordered if p.member_id == s.admin.id]


class TouchRepositoryContract(_FollowUpBase):
    """``uow.touches``: newest wins, team-wide and per member; pending touches."""

    def test_forget_drops_every_touch_of_the_contacts(
        self, store: Store, followup_seed: Callable[[], FollowUpSeed]
    ) -> None:
        fs = followup_seed()
        t, agent = fs.team_id, fs.seed.agent.id
        gone, kept = new_contact(fs.seed, 34), new_contact(fs.seed, 35)
        touches = [
            Touch(team_id=t, contact_id=c.id, member_id=agent, at=at(50)) for c in (gone, kept)
        ]
        future = [attrs.evolve(x, at=at(10_000)) for x in touches]

        def fill(uow: UnitOfWork) -> None:
            uow.contacts.add(gone)
            uow.contacts.add(kept)
            uow.touches.record(touches)
            uow.touches.add_pending(future)

        write(store, fill)
        write(store, lambda uow: uow.touches.forget(t, [gone.id]))

        def lookups(uow: UnitOfWork) -> tuple[Any, ...]:
            ids = [gone.id, kept.id]
            pending = [p for p in uow.touches.pending(t, at(20_000)) if p.contact_id in ids]
            return (
                uow.touches.team_latest(t, ids),
                uow.touches.member_latest(t, ids),
                pending,
            )

        team, member, pending = read(store, lookups)
        assert team == {kept.id: touches[1]}
        assert member == {(kept.id, agent): touches[1]}
        assert pending == [future[1]]

    @round_trip_settings
    @given(data=st.data())
    def test_touch_round_trips(
        self, store: Store, followup_seed: Callable[[], FollowUpSeed], data: st.DataObject
    ) -> None:
        fs = followup_seed()
        contact = new_contact(fs.seed, 30)
        touch = data.draw(
            tst.touches(
                team_id=fs.team_id,
                contact_id=contact.id,
                member_id=st.sampled_from([fs.seed.admin.id, fs.seed.agent.id]),
            )
        )

        def fill(uow: UnitOfWork) -> None:
            uow.contacts.add(contact)
            uow.touches.record([touch])

        write(store, fill)

        def lookups(uow: UnitOfWork) -> tuple[Any, ...]:
            return (
                uow.touches.team_latest(fs.team_id, [contact.id]),
                uow.touches.member_latest(fs.team_id, [contact.id]),
            )

        team, member = read(store, lookups)
        assert team == ({contact.id: touch} if touch.team_wide else {})
        assert member == {(contact.id, touch.member_id): touch}

    @contract_settings
    @given(
        batches=st.lists(
            st.lists(
                st.tuples(
                    st.integers(0, 2),  # contact
                    st.booleans(),  # admin or agent
                    st.integers(0, 4),  # seconds (ties are likely)
                    st.booleans(),  # team-wide
                    st.sampled_from(TouchKind),
                ),
                min_size=1,
                max_size=5,
            ),
            min_size=1,
            max_size=4,
        )
    )
    def test_a_stored_touch_is_replaced_only_by_a_newer_one(
        self, store: Store, batches: list[list[tuple[int, bool, int, bool, TouchKind]]]
    ) -> None:
        fs = seed_followups(store)
        contacts = [c.id for c in fs.contacts]
        people = [fs.seed.agent.id, fs.seed.admin.id]
        team_model: dict[str, Touch] = {}
        member_model: dict[tuple[str, str], Touch] = {}
        for batch in batches:
            touches = [
                _touch(fs, contacts[c], people[p], 100 + s, team_wide=wide, kind=kind)
                for c, p, s, wide, kind in batch
            ]
            write(store, call("touches", "record", touches))
            for t in touches:  # the model: in the order given, strictly newer wins
                old = member_model.get((t.contact_id, t.member_id))
                if old is None or t.at > old.at:
                    member_model[(t.contact_id, t.member_id)] = t
                old = team_model.get(t.contact_id)
                if t.team_wide and (old is None or t.at > old.at):
                    team_model[t.contact_id] = t

        def lookups(uow: UnitOfWork) -> tuple[Any, ...]:
            return (
                uow.touches.team_latest(fs.team_id, [*contacts, fs.seed.contact.id]),
                uow.touches.member_latest(fs.team_id, contacts),
                uow.touches.member_latest(fs.team_id, contacts[:1]),
            )

        team, member, first_only = read(store, lookups)
        assert team == team_model
        assert member == member_model
        assert first_only == {k: v for k, v in member_model.items() if k[0] == contacts[0]}

    def test_pending_touches_are_kept_until_dropped(
        self, store: Store, followup_seed: Callable[[], FollowUpSeed]
    ) -> None:
        fs = followup_seed()
        c = fs.contact_ids
        agent, admin = fs.seed.agent.id, fs.seed.admin.id
        rows = [
            _touch(fs, c[0], agent, 300),
            _touch(fs, c[1], admin, 100),
            _touch(fs, c[2], agent, 200, kind=TouchKind.DONE, team_wide=False),
            _touch(fs, c[0], admin, 200),
            _touch(fs, c[3], agent, 400),
        ]
        write(store, lambda uow: uow.touches.add_pending(rows))
        got = read(store, lambda uow: uow.touches.pending(fs.team_id, at(300)))
        assert [t.at for t in got] == [at(100), at(200), at(200), at(300)]
        assert sorted(got, key=repr) == sorted(rows[:4], key=repr)
        assert read(store, lambda uow: uow.touches.pending(fs.team_id, at(99))) == []
        assert read(store, lambda uow: uow.touches.team_latest(fs.team_id, c)) == {}
        write(store, lambda uow: uow.touches.drop_pending(fs.team_id, at(200)))
        left = read(store, lambda uow: uow.touches.pending(fs.team_id, FAR))
        assert left == [rows[0], rows[4]]


# =================================================================== due rows


class FollowUpDueRepositoryContract(_FollowUpBase):
    """``uow.followup_dues``: keyed rows, deletes, order and paging with snoozes."""

    @round_trip_settings
    @given(data=st.data())
    def test_due_row_round_trips(
        self, store: Store, followup_seed: Callable[[], FollowUpSeed], data: st.DataObject
    ) -> None:
        fs = followup_seed()
        contact = new_contact(fs.seed, 30)
        row = data.draw(
            tst.follow_up_dues(
                team_id=fs.team_id,
                policy_id=fs.policy.id,
                member_id=fs.policy.member_id,
                bucket_id=fs.policy.bucket_id,
                contact_id=contact.id,
            )
        )

        def fill(uow: UnitOfWork) -> None:
            uow.contacts.add(contact)
            uow.followup_dues.put_many([row])

        write(store, fill)

        def lookups(uow: UnitOfWork) -> tuple[Any, ...]:
            repo = uow.followup_dues
            return (
                repo.for_contacts(fs.team_id, fs.policy.member_id, [contact.id]),
                repo.page(fs.team_id, fs.policy.member_id, row.due_on, FAR, None, 10_000),
            )

        by_contact, page = read(store, lookups)
        assert by_contact == [row]
        assert row in page

    def test_put_many_replaces_by_policy_and_contact_and_delete_is_a_cross_product(
        self, store: Store, followup_seed: Callable[[], FollowUpSeed]
    ) -> None:
        fs = followup_seed()
        agent = fs.seed.agent.id
        second = new_policy(fs.seed, fs.personal_bucket, 20)
        write(store, lambda uow: uow.followup_policies.add(second))
        c = fs.contact_ids
        first_rows = [_due(fs, p, cid, 5) for p in (fs.policy, second) for cid in c]
        write(store, lambda uow: uow.followup_dues.put_many(first_rows))
        moved = attrs.evolve(
            first_rows[0],
            due_on=date(2030, 1, 1),
            since=at(50),
            touch_at=at(49),
            touch_by=fs.seed.admin.id,
            touch_kind=TouchKind.INTERACTION,
        )
        write(store, lambda uow: uow.followup_dues.put_many([moved]))

        def rows() -> list[FollowUpDue]:
            return read(store, lambda uow: uow.followup_dues.for_contacts(fs.team_id, agent, c))

        current = rows()
        assert len(current) == len(first_rows)
        assert moved in current
        assert first_rows[0] not in current
        write(
            store,
            lambda uow: uow.followup_dues.delete(fs.team_id, [fs.policy.id], [c[0], c[1], "ct_x"]),
        )
        gone = {(fs.policy.id, c[0]), (fs.policy.id, c[1])}
        assert {(r.policy_id, r.contact_id) for r in rows()} == {
            (r.policy_id, r.contact_id) for r in first_rows
        } - gone
        write(store, lambda uow: uow.followup_dues.delete_policy(fs.team_id, second.id))
        assert [(r.policy_id, r.contact_id) for r in rows()] == sorted(
            [(fs.policy.id, c[2]), (fs.policy.id, c[3])], key=lambda k: k[1]
        )

    @contract_settings
    @given(
        cells=st.lists(
            st.tuples(st.integers(0, 3), st.booleans(), st.integers(0, 3)),
            min_size=1,
            max_size=8,
            unique_by=lambda cell: (cell[0], cell[1]),
        ),
        snoozed=st.lists(st.tuples(st.integers(0, 3), st.integers(-1, 1)), max_size=3),
        due_by=st.integers(0, 3),
        limit=st.integers(1, 4),
    )
    def test_rows_are_ordered_and_paged_by_due_on_contact_policy(
        self,
        store: Store,
        cells: list[tuple[int, bool, int]],
        snoozed: list[tuple[int, int]],
        due_by: int,
        limit: int,
    ) -> None:
        fs = seed_followups(store)
        agent, admin = fs.seed.agent.id, fs.seed.admin.id
        second = new_policy(fs.seed, fs.personal_bucket, 20)
        admins = new_policy(fs.seed, fs.team_bucket, 21, member_id=admin)
        c = fs.contact_ids
        rows = [_due(fs, second if p else fs.policy, c[ci], day) for ci, p, day in cells]
        noise = [_due(fs, admins, cid, 0) for cid in c]  # another member's rows
        now = at(1_000)
        snoozes = [
            Snooze(
                team_id=fs.team_id,
                member_id=agent,
                contact_id=c[ci],
                until=now + timedelta(seconds=delta),
            )
            for ci, delta in snoozed
        ]
        admin_snooze = Snooze(team_id=fs.team_id, member_id=admin, contact_id=c[0], until=FAR)

        def fill(uow: UnitOfWork) -> None:
            uow.followup_policies.add(second)
            uow.followup_policies.add(admins)
            uow.followup_dues.put_many([*rows, *noise])
            for s in [*snoozes, admin_snooze]:
                uow.snoozes.put(s)

        write(store, fill)

        def key(r: FollowUpDue) -> tuple[date, str, str]:
            return (r.due_on, r.contact_id, r.policy_id)

        ordered = sorted(rows, key=key)
        by_contact = read(store, lambda uow: uow.followup_dues.for_contacts(fs.team_id, agent, c))
        assert by_contact == ordered
        some = [c[1], c[3], "ct_missing"]
        assert read(store, lambda uow: uow.followup_dues.for_contacts(fs.team_id, agent, some)) == [
            r for r in ordered if r.contact_id in some
        ]

        hidden = {}
        for s in snoozes:  # the last snooze of a contact is the one that counts
            hidden[s.contact_id] = s.until > now
        day = date(2026, 2, 1) + timedelta(days=due_by)
        expected = [r for r in ordered if r.due_on <= day and not hidden.get(r.contact_id)]
        pages: list[FollowUpDue] = []
        after: tuple[date, str, str] | None = None
        while True:
            page = read(
                store,
                call("followup_dues", "page", fs.team_id, agent, day, now, after, limit),
            )
            assert len(page) <= limit
            pages.extend(page)
            if len(page) < limit:
                break
            after = key(page[-1])
        assert pages == expected
