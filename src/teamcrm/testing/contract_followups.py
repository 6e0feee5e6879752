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
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm.bucket import Bucket, BucketMembership
from teamcrm.contact import Contact
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
from teamcrm.ids import ContactId, MemberId, TeamId
from teamcrm.ports import Store, UnitOfWork
from teamcrm.task import Task, TaskStatus, new_task_id
from teamcrm.testing import strategies as tst
from teamcrm.testing.contract_base import (
    Seed,
    StoreContractBase,
    add_all,
    at,
    bump,
    call,
    contract_settings,
    discard,
    fresh,
    new_bucket,
    new_contact,
    read,
    round_trip_settings,
    seed_team,
    write,
)

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

#: A day far in the future (every row is due by then).
LAST_DAY = date(9999, 12, 31)
FAR = datetime(9999, 1, 1, tzinfo=UTC)


@attrs.frozen
class FollowUpSeed:
    """A seeded team with a team bucket, a personal bucket, a policy and three more contacts.

    ``policy``: the agent follows up the team bucket every 30 days.
    """

    seed: Seed
    team_bucket: Bucket
    personal_bucket: Bucket
    policy: FollowUpPolicy
    contacts: tuple[Contact, ...]

    @property
    def team_id(self) -> TeamId:
        """The team's id."""
        return self.seed.team_id

    @property
    def contact_ids(self) -> list[ContactId]:
        """The seed contact's id and the three others."""
        return [self.seed.contact.id, *(c.id for c in self.contacts)]


def new_policy(
    seed: Seed, bucket: Bucket, seconds: float = 10, *, member_id: MemberId | None = None
) -> FollowUpPolicy:
    """Return an unsaved policy: *member_id* (the agent) follows up *bucket* every 30 days."""
    return FollowUpPolicy(
        id=new_policy_id(),
        team_id=seed.team_id,
        bucket_id=bucket.id,
        member_id=member_id or seed.agent.id,
        cadence=Cadence.days(30),
        reset_by_team=not bucket.is_personal,
        created_at=at(seconds),
        created_by=seed.admin.id,
        time_zone="Europe/Warsaw",
    )


def new_task(
    seed: Seed, due_seconds: float, *, member_id: MemberId | None = None, **changes: Any
) -> Task:
    """Return an unsaved open task of the agent (or *member_id*) due at ``at(due_seconds)``."""
    fields: dict[str, Any] = {
        "id": new_task_id(),
        "team_id": seed.team_id,
        "member_id": member_id or seed.agent.id,
        "contact_id": seed.contact.id,
        "due_at": at(due_seconds),
        "created_at": at(1),
        "created_by": seed.admin.id,
        "note": "call back",
    }
    fields.update(changes)
    return Task(**fields)


def _due(fs: FollowUpSeed, policy: FollowUpPolicy, contact_id: str, day: int) -> FollowUpDue:
    return FollowUpDue(
        team_id=fs.team_id,
        policy_id=policy.id,
        member_id=policy.member_id,
        bucket_id=policy.bucket_id,
        contact_id=ContactId(contact_id),
        due_on=date(2026, 2, 1) + timedelta(days=day),
        since=at(day),
    )


def seed_followups(store: Store, name: str = "Acme") -> FollowUpSeed:
    """Write a team with buckets, a policy and contacts (see :class:`FollowUpSeed`)."""
    seed = seed_team(store, name)
    team_bucket = new_bucket(seed, 5)
    personal = new_bucket(seed, 6, personal=True)
    policy = new_policy(seed, team_bucket, 7)
    contacts = tuple(new_contact(seed, 8 + i, first_name=f"F{i}") for i in range(3))

    def fill(uow: UnitOfWork) -> None:
        uow.buckets.add(team_bucket)
        uow.buckets.add(personal)
        uow.contacts.add_many(contacts)
        uow.memberships.add_many(
            [
                BucketMembership(
                    team_id=seed.team_id, bucket_id=team_bucket.id, item_id=c, added_at=at(9)
                )
                for c in [seed.contact.id, *(c.id for c in contacts)]
            ]
        )
        uow.followup_policies.add(policy)

    write(store, fill)
    return FollowUpSeed(
        seed=seed,
        team_bucket=team_bucket,
        personal_bucket=personal,
        policy=policy,
        contacts=contacts,
    )


def followup_snapshot(uow: UnitOfWork, fs: FollowUpSeed) -> dict[str, Any]:
    """Everything the follow-up ports can list for *fs*'s team, as comparable data."""
    t = fs.team_id
    people = [fs.seed.admin.id, fs.seed.agent.id]
    contacts = fs.contact_ids
    return {
        "policies": uow.followup_policies.all(t),
        "tasks": [uow.tasks.for_member(t, m) for m in people],
        "dues": [uow.followup_dues.for_contacts(t, m, contacts) for m in people],
        "team_touches": uow.touches.team_latest(t, contacts),
        "member_touches": uow.touches.member_latest(t, contacts),
        "pending": uow.touches.pending(t, FAR),
        "snoozes": [uow.snoozes.get(t, m, c) for m in people for c in contacts],
    }


def _snapshot(store: Store, fs: FollowUpSeed) -> dict[str, Any]:
    return read(store, lambda uow: followup_snapshot(uow, fs))


class _FollowUpBase(StoreContractBase):
    @pytest.fixture
    def followup_seed(self, store: Store) -> Callable[[], FollowUpSeed]:
        """Returns a team with buckets, a policy and contacts, written to *store* on first call.

        Seeded lazily, in the test itself, so that an adapter failing to store
        the seed fails the test (which a known-failure mark can cover).
        """
        return functools.cache(lambda: seed_followups(store))


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


# ==================================================================== touches


def _touch(fs: FollowUpSeed, contact: str, member: str, seconds: float, **changes: Any) -> Touch:
    return Touch(
        team_id=fs.team_id,
        contact_id=ContactId(contact),
        member_id=MemberId(member),
        at=at(seconds),
        **changes,
    )


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
