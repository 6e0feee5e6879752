"""Contract tests of ``uow.notifications``: the in-app feed and the email digest queue.

Part of the public contract suite (see :mod:`teamcrm.testing.contract`, whose
:class:`~teamcrm.testing.contract.StoreContract` includes these classes):

* :class:`NotificationRepositoryContract` - round trips, duplicates (all or
  none), the feed's order and limit, marking read, team isolation, rollback;
* :class:`DigestQueueContract` - the claim protocol behind
  :func:`~teamcrm.service.notifications.send_digests`: what a claim returns,
  that a claimed digest cannot be claimed again until its lease expires (the
  boundary exactly as documented), that completing or releasing needs the
  claim's token, skipping, candidates, and one winner among racing threads.

Times are passed in explicitly; the suite never reads a clock.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm.errors import AlreadyExists
from teamcrm.ids import MemberId, TeamId, new_member_id
from teamcrm.notification import Notification, NotificationKind, new_notification_id
from teamcrm.ports import Store, UnitOfWork
from teamcrm.team import Member, Role
from teamcrm.testing import strategies as tst
from teamcrm.testing.contract_base import (
    Seed,
    StoreContractBase,
    at,
    contract_settings,
    discard,
    fresh,
    read,
    round_trip_settings,
    seed_team,
    write,
)

__all__ = ["DigestQueueContract", "NotificationRepositoryContract", "new_notification"]

#: The lease and digest interval the digest tests use.
LEASE = timedelta(minutes=10)
INTERVAL = timedelta(hours=1)
US = timedelta(microseconds=1)


def new_notification(
    team_id: TeamId, member_id: MemberId, seconds: float = 10, **changes: Any
) -> Notification:
    """Return an unsaved notification to *member_id* created at ``at(seconds)``."""
    fields: dict[str, Any] = {
        "id": new_notification_id(),
        "team_id": team_id,
        "member_id": member_id,
        "kind": NotificationKind.LEAD_ASSIGNED,
        "subject_id": "ld_x",
        "message": f"New lead at {seconds}",
        "created_at": at(seconds),
    }
    fields.update(changes)
    return Notification(**fields)


def _feed(store: Store, team_id: TeamId, member_id: MemberId, **kw: Any) -> list[Notification]:
    return read(
        store, lambda uow: uow.notifications.for_member(team_id, member_id, limit=10_000, **kw)
    )


def _claim(
    store: Store,
    team_id: TeamId,
    member_id: MemberId,
    token: str,
    now: datetime,
    *,
    lease_cutoff: datetime | None = None,
    last_digest_by: datetime | None = None,
    limit: int = 100,
) -> list[Notification]:
    """Claim in its own committed unit, with the suite's lease and interval by default."""
    return write(
        store,
        lambda uow: uow.notifications.claim_digest(
            team_id,
            member_id,
            token=token,
            now=now,
            last_digest_by=now - INTERVAL if last_digest_by is None else last_digest_by,
            lease_cutoff=now - LEASE if lease_cutoff is None else lease_cutoff,
            limit=limit,
        ),
    )


def _complete(
    store: Store, team_id: TeamId, member_id: MemberId, token: str, ids: list[str], when: datetime
) -> int:
    return write(
        store,
        lambda uow: uow.notifications.complete_digest(
            team_id, member_id, token=token, ids=ids, at=when
        ),
    )


def _ids(rows: list[Notification]) -> list[str]:
    return [n.id for n in rows]


# ====================================================================== feed


class NotificationRepositoryContract(StoreContractBase):
    """``uow.notifications`` as the in-app feed."""

    @round_trip_settings
    @given(data=st.data())
    def test_notification_round_trips(self, store: Store, seed: Seed, data: st.DataObject) -> None:
        member = Member(
            id=new_member_id(), team_id=seed.team_id, name="Feed", role=Role.AGENT, created_at=at(5)
        )
        n = fresh(data.draw(tst.notifications(team_id=seed.team_id, member_id=member.id)))

        def fill(uow: UnitOfWork) -> None:
            uow.members.add(member)
            uow.notifications.add_many([n])

        write(store, fill)
        (got,) = _feed(store, seed.team_id, member.id)
        assert got == n
        assert {k: type(v) for k, v in got.data.items()} == {k: type(v) for k, v in n.data.items()}
        unread = _feed(store, seed.team_id, member.id, unread_only=True)
        assert unread == ([] if n.read_at is not None else [n])

    @pytest.mark.parametrize("size", [1, 4])
    def test_add_many_refuses_a_taken_id_and_adds_none(
        self, store: Store, seed: Seed, size: int
    ) -> None:
        first = new_notification(seed.team_id, seed.agent.id, 10)
        write(store, lambda uow: uow.notifications.add_many([first]))
        batch = [new_notification(seed.team_id, seed.agent.id, 11 + i) for i in range(size - 1)]

        def attempt(uow: UnitOfWork) -> None:
            with pytest.raises(AlreadyExists):
                uow.notifications.add_many([*batch, attrs.evolve(first, message="twin")])
            uow.commit()  # even if the caller goes on and commits, nothing was added

        with store.unit_of_work() as uow:
            attempt(uow)
        assert _feed(store, seed.team_id, seed.agent.id) == [first]

    def test_add_many_refuses_an_id_twice_in_one_batch(self, store: Store, seed: Seed) -> None:
        n = new_notification(seed.team_id, seed.agent.id, 10)
        other = new_notification(seed.team_id, seed.agent.id, 11)

        def attempt(uow: UnitOfWork) -> None:
            with pytest.raises(AlreadyExists):
                uow.notifications.add_many([other, n, attrs.evolve(n, message="twin")])
            uow.commit()

        with store.unit_of_work() as uow:
            attempt(uow)
        assert _feed(store, seed.team_id, seed.agent.id) == []

    @contract_settings
    @given(
        offsets=st.lists(st.integers(0, 3), min_size=1, max_size=8),
        read_mask=st.lists(st.booleans(), min_size=8, max_size=8),
        limit=st.integers(1, 9),
    )
    def test_feed_is_newest_first_ties_by_id_descending_and_limited(
        self, store: Store, offsets: list[int], read_mask: list[bool], limit: int
    ) -> None:
        seed = seed_team(store)
        mine = [
            new_notification(
                seed.team_id, seed.agent.id, 100 + s, read_at=at(500) if read_mask[i] else None
            )
            for i, s in enumerate(offsets)
        ]
        theirs = [new_notification(seed.team_id, seed.admin.id, 100 + s) for s in offsets]
        write(store, lambda uow: uow.notifications.add_many([*mine, *theirs]))
        expected = sorted(mine, key=lambda n: (n.created_at, n.id), reverse=True)

        def listings(uow: UnitOfWork) -> tuple[list[Notification], ...]:
            repo = uow.notifications
            return (
                repo.for_member(seed.team_id, seed.agent.id),
                repo.for_member(seed.team_id, seed.agent.id, limit=limit),
                repo.for_member(seed.team_id, seed.agent.id, unread_only=True, limit=limit),
            )

        everything, first, unread = read(store, listings)
        assert everything == expected
        assert first == expected[:limit]
        assert unread == [n for n in expected if n.read_at is None][:limit]

    def test_mark_read_changes_only_the_members_unread_notifications(
        self, store: Store, seed: Seed
    ) -> None:
        other = seed_team(store, "Other")
        unread = [new_notification(seed.team_id, seed.agent.id, 10 + i) for i in range(3)]
        already = new_notification(seed.team_id, seed.agent.id, 20, read_at=at(25))
        admins = new_notification(seed.team_id, seed.admin.id, 21)
        foreign = new_notification(other.team_id, other.agent.id, 22)

        def fill(uow: UnitOfWork) -> None:
            uow.notifications.add_many([*unread, already, admins])
            uow.notifications.add_many([foreign])

        write(store, fill)
        asked = [unread[0].id, already.id, admins.id, foreign.id, new_notification_id()]
        changed = write(
            store,
            lambda uow: uow.notifications.mark_read(seed.team_id, seed.agent.id, asked, at(30)),
        )
        assert changed == 1
        feed = {n.id: n for n in _feed(store, seed.team_id, seed.agent.id)}
        assert feed[unread[0].id].read_at == at(30)
        assert feed[already.id].read_at == at(25)
        assert [feed[n.id].read_at for n in unread[1:]] == [None, None]
        assert _feed(store, seed.team_id, seed.admin.id) == [admins]
        assert _feed(store, other.team_id, other.agent.id) == [foreign]

        every = write(
            store,
            lambda uow: uow.notifications.mark_read(seed.team_id, seed.agent.id, None, at(40)),
        )
        assert every == 2
        feed = {n.id: n for n in _feed(store, seed.team_id, seed.agent.id)}
        assert [feed[n.id].read_at for n in unread] == [at(30), at(40), at(40)]
        assert feed[already.id].read_at == at(25)
        again = write(
            store,
            lambda uow: uow.notifications.mark_read(seed.team_id, seed.agent.id, None, at(50)),
        )
        assert again == 0
        assert _feed(store, seed.team_id, seed.agent.id, unread_only=True) == []

    def test_another_teams_notifications_are_never_seen_or_changed(self, store: Store) -> None:
        a = seed_team(store, "A")
        b = seed_team(store, "B")
        theirs = [new_notification(b.team_id, b.agent.id, 10 + i) for i in range(3)]
        write(store, lambda uow: uow.notifications.add_many(theirs))
        token = "tok-b"
        assert _claim(store, b.team_id, b.agent.id, token, at(100)) == theirs
        _complete(store, b.team_id, b.agent.id, token, _ids(theirs[:1]), at(100))
        before = _feed(store, b.team_id, b.agent.id)
        t, m, ids = a.team_id, b.agent.id, _ids(theirs)

        def from_team_a(uow: UnitOfWork) -> list[Any]:
            repo = uow.notifications
            return [
                repo.for_member(t, m),
                repo.mark_read(t, m, ids, at(200)),
                repo.mark_read(t, m, None, at(200)),
                repo.claim_digest(
                    t,
                    m,
                    token="tok-a",
                    now=at(9_000),
                    last_digest_by=at(9_000),
                    lease_cutoff=at(9_000),
                    limit=100,
                ),
                repo.complete_digest(t, m, token="tok-a", ids=ids, at=at(9_000)),
                repo.skip_email(t, m, now=at(9_000)),
                repo.digest_candidates(
                    now=at(9_000), last_digest_by=at(9_000), lease_cutoff=at(9_000), team_id=t
                ),
            ]

        assert write(store, from_team_a) == [[], 0, 0, [], 0, 0, []]
        last = read(store, lambda uow: uow.notifications.last_digest_at(b.team_id, m))
        assert last == at(100)
        assert _feed(store, b.team_id, b.agent.id) == before
        later = at(100) + INTERVAL
        assert _ids(_claim(store, b.team_id, b.agent.id, "tok-b2", later)) == _ids(theirs[1:])

    def test_a_rolled_back_unit_leaves_no_notification_change(
        self, store: Store, seed: Seed
    ) -> None:
        kept = [new_notification(seed.team_id, seed.agent.id, 10 + i) for i in range(2)]
        write(store, lambda uow: uow.notifications.add_many(kept))
        before = _feed(store, seed.team_id, seed.agent.id)

        def changes(uow: UnitOfWork) -> None:
            repo = uow.notifications
            repo.add_many([new_notification(seed.team_id, seed.agent.id, 30)])
            repo.mark_read(seed.team_id, seed.agent.id, None, at(40))
            batch = repo.claim_digest(
                seed.team_id,
                seed.agent.id,
                token="gone",
                now=at(50),
                last_digest_by=at(0),
                lease_cutoff=at(0),
                limit=1,
            )
            assert _ids(batch) == [kept[0].id]
            repo.complete_digest(
                seed.team_id, seed.agent.id, token="gone", ids=_ids(batch), at=at(50)
            )
            repo.skip_email(seed.team_id, seed.agent.id, now=at(60))

        discard(store, changes)

        assert _feed(store, seed.team_id, seed.agent.id) == before
        last = read(
            store, lambda uow: uow.notifications.last_digest_at(seed.team_id, seed.agent.id)
        )
        assert last is None
        assert _claim(store, seed.team_id, seed.agent.id, "next", at(70)) == kept


# ===================================================================== digests


class DigestQueueContract(StoreContractBase):
    """The email digest queue of ``uow.notifications``: claims, leases, completion."""

    @contract_settings
    @given(
        offsets=st.lists(st.integers(0, 4), min_size=1, max_size=8),
        limit=st.integers(1, 9),
    )
    def test_a_claim_returns_pending_notifications_oldest_first_up_to_limit(
        self, store: Store, offsets: list[int], limit: int
    ) -> None:
        seed = seed_team(store)
        now = at(1_000)
        pending = [new_notification(seed.team_id, seed.agent.id, 100 + s) for s in offsets]
        emailed = new_notification(seed.team_id, seed.agent.id, 100, emailed_at=at(101))
        future = new_notification(seed.team_id, seed.agent.id, 0, created_at=now + US)
        on_time = new_notification(seed.team_id, seed.agent.id, 0, created_at=now)
        read_one = new_notification(seed.team_id, seed.agent.id, 102, read_at=at(103))
        admins = new_notification(seed.team_id, seed.admin.id, 100)
        write(
            store,
            lambda uow: uow.notifications.add_many(
                [*pending, emailed, future, on_time, read_one, admins]
            ),
        )
        expected = sorted([*pending, on_time, read_one], key=lambda n: (n.created_at, n.id))
        got = _claim(store, seed.team_id, seed.agent.id, "t1", now, limit=limit)
        assert got == expected[:limit]

    def test_a_claimed_digest_is_not_claimable_until_its_lease_expires(
        self, store: Store, seed: Seed
    ) -> None:
        rows = [new_notification(seed.team_id, seed.agent.id, 10 + i) for i in range(3)]
        write(store, lambda uow: uow.notifications.add_many(rows))
        claimed_at = at(100)
        assert _claim(store, seed.team_id, seed.agent.id, "first", claimed_at) == rows
        # A claim taken at or after the cutoff holds: nothing for anybody else.
        for cutoff in (claimed_at - LEASE, claimed_at):
            got = _claim(store, seed.team_id, seed.agent.id, "second", at(101), lease_cutoff=cutoff)
            assert got == []
        candidates = read(
            store,
            lambda uow: uow.notifications.digest_candidates(
                now=at(101),
                last_digest_by=at(101),
                lease_cutoff=claimed_at,
                team_id=seed.team_id,
            ),
        )
        assert candidates == []
        # Once the claim is older than the cutoff, the same batch is claimable again.
        late = _claim(
            store, seed.team_id, seed.agent.id, "second", at(700), lease_cutoff=claimed_at + US
        )
        assert late == rows
        assert _claim(store, seed.team_id, seed.agent.id, "third", at(701)) == []

    def test_a_claim_with_nothing_pending_changes_nothing(self, store: Store, seed: Seed) -> None:
        assert _claim(store, seed.team_id, seed.agent.id, "empty", at(100)) == []
        n = new_notification(seed.team_id, seed.agent.id, 50)
        write(store, lambda uow: uow.notifications.add_many([n]))
        assert _claim(store, seed.team_id, seed.agent.id, "real", at(100)) == [n]

    def test_completing_marks_emailed_records_the_digest_and_releases_the_claim(
        self, store: Store, seed: Seed
    ) -> None:
        rows = [new_notification(seed.team_id, seed.agent.id, 10 + i) for i in range(3)]
        admins = new_notification(seed.team_id, seed.admin.id, 10)
        write(store, lambda uow: uow.notifications.add_many([*rows, admins]))
        batch = _claim(store, seed.team_id, seed.agent.id, "tok", at(100), limit=2)
        sent_at = at(110)
        asked = [*_ids(batch), batch[0].id, admins.id, new_notification_id()]
        assert _complete(store, seed.team_id, seed.agent.id, "tok", asked, sent_at) == 2
        feed = {n.id: n for n in _feed(store, seed.team_id, seed.agent.id)}
        assert [feed[n.id].emailed_at for n in rows] == [sent_at, sent_at, None]
        assert _feed(store, seed.team_id, seed.admin.id) == [admins]
        last = read(
            store, lambda uow: uow.notifications.last_digest_at(seed.team_id, seed.agent.id)
        )
        assert last == sent_at
        # The claim is released, but the interval since the last digest still holds...
        assert _claim(store, seed.team_id, seed.agent.id, "t2", sent_at + INTERVAL - US) == []
        # ...until it has passed: then only what was not emailed comes back.
        assert _claim(store, seed.team_id, seed.agent.id, "t2", sent_at + INTERVAL) == [rows[2]]
        # Completing again: nothing marked twice, and the last digest never moves back.
        assert _complete(store, seed.team_id, seed.agent.id, "t2", asked, at(105)) == 0
        last = read(
            store, lambda uow: uow.notifications.last_digest_at(seed.team_id, seed.agent.id)
        )
        assert last == sent_at

    def test_releasing_needs_the_claims_token(self, store: Store, seed: Seed) -> None:
        rows = [new_notification(seed.team_id, seed.agent.id, 10 + i) for i in range(2)]
        write(store, lambda uow: uow.notifications.add_many(rows))
        assert _claim(store, seed.team_id, seed.agent.id, "mine", at(100)) == rows

        def release(token: str) -> None:
            write(
                store,
                lambda uow: uow.notifications.release_digest(
                    seed.team_id, seed.agent.id, token=token
                ),
            )

        release("not-mine")
        assert _claim(store, seed.team_id, seed.agent.id, "other", at(101)) == []
        release("mine")
        assert _claim(store, seed.team_id, seed.agent.id, "other", at(102)) == rows
        feed = _feed(store, seed.team_id, seed.agent.id)
        assert [n.emailed_at for n in feed] == [None, None]
        last = read(
            store, lambda uow: uow.notifications.last_digest_at(seed.team_id, seed.agent.id)
        )
        assert last is None

    def test_a_late_completion_keeps_the_newer_claim(self, store: Store, seed: Seed) -> None:
        rows = [new_notification(seed.team_id, seed.agent.id, 10 + i) for i in range(2)]
        write(store, lambda uow: uow.notifications.add_many(rows))
        assert _claim(store, seed.team_id, seed.agent.id, "slow", at(100)) == rows
        retaken = at(100) + LEASE + US
        assert _claim(store, seed.team_id, seed.agent.id, "fresh", retaken) == rows
        # The first worker finishes after all (at least once): its ids are marked...
        marked = _complete(store, seed.team_id, seed.agent.id, "slow", _ids(rows[:1]), retaken)
        assert marked == 1
        # ...but the claim of "fresh" still holds for the whole lease.
        n = new_notification(seed.team_id, seed.agent.id, 0, created_at=retaken)
        write(store, lambda uow: uow.notifications.add_many([n]))
        later = retaken + INTERVAL
        assert _claim(store, seed.team_id, seed.agent.id, "x", later, lease_cutoff=retaken) == []
        assert _complete(store, seed.team_id, seed.agent.id, "fresh", _ids(rows), later) == 1
        after = later + INTERVAL
        assert _claim(store, seed.team_id, seed.agent.id, "y", after, lease_cutoff=after) == [n]

    def test_skipping_takes_pending_notifications_off_the_queue_only(
        self, store: Store, seed: Seed
    ) -> None:
        old = [new_notification(seed.team_id, seed.agent.id, 10 + i) for i in range(3)]
        done = new_notification(seed.team_id, seed.agent.id, 5, emailed_at=at(6))
        newer = new_notification(seed.team_id, seed.agent.id, 200)
        admins = new_notification(seed.team_id, seed.admin.id, 10)
        write(store, lambda uow: uow.notifications.add_many([*old, done, newer, admins]))
        before = _feed(store, seed.team_id, seed.agent.id)
        skipped = write(
            store,
            lambda uow: uow.notifications.skip_email(seed.team_id, seed.agent.id, now=at(100)),
        )
        assert skipped == 3
        assert _feed(store, seed.team_id, seed.agent.id) == before  # still in the feed
        again = write(
            store,
            lambda uow: uow.notifications.skip_email(seed.team_id, seed.agent.id, now=at(100)),
        )
        assert again == 0
        assert _claim(store, seed.team_id, seed.agent.id, "t", at(300)) == [newer]
        assert _claim(store, seed.team_id, seed.admin.id, "t", at(300)) == [admins]

    def test_digest_candidates_are_the_claimable_members_in_order(self, store: Store) -> None:
        now = at(10_000)
        teams = sorted([seed_team(store, "A"), seed_team(store, "B")], key=lambda s: s.team_id)
        first, second = teams
        extra = [
            Member(
                id=new_member_id(),
                team_id=first.team_id,
                name=f"M{i}",
                role=Role.AGENT,
                created_at=at(6 + i),
            )
            for i in range(4)
        ]
        recent, claimed, future_only, done_only = extra

        def fill(uow: UnitOfWork) -> None:
            for m in extra:
                uow.members.add(m)
            uow.notifications.add_many(
                [
                    new_notification(first.team_id, first.agent.id, 10),
                    new_notification(first.team_id, first.admin.id, 10),
                    new_notification(first.team_id, recent.id, 10),
                    new_notification(first.team_id, claimed.id, 10),
                    new_notification(first.team_id, future_only.id, 0, created_at=now + US),
                    new_notification(first.team_id, done_only.id, 10, emailed_at=at(11)),
                    new_notification(second.team_id, second.agent.id, 10),
                ]
            )

        write(store, fill)
        rows = _claim(store, first.team_id, recent.id, "r", at(100))
        _complete(store, first.team_id, recent.id, "r", _ids(rows), now - INTERVAL + US)
        write(
            store,
            lambda uow: uow.notifications.add_many([new_notification(first.team_id, recent.id)]),
        )
        assert _claim(store, first.team_id, claimed.id, "c", now - LEASE)

        def candidates(
            team_id: TeamId | None, limit: int = 10_000
        ) -> list[tuple[TeamId, MemberId]]:
            return read(
                store,
                lambda uow: uow.notifications.digest_candidates(
                    now=now,
                    last_digest_by=now - INTERVAL,
                    lease_cutoff=now - LEASE,
                    team_id=team_id,
                    limit=limit,
                ),
            )

        mine = sorted([(first.team_id, first.agent.id), (first.team_id, first.admin.id)])
        everyone = [*mine, (second.team_id, second.agent.id)]
        assert candidates(first.team_id) == mine
        assert candidates(second.team_id) == everyone[2:]
        assert candidates(None) == everyone
        assert candidates(None, limit=2) == everyone[:2]

    def test_last_digest_at_is_none_until_a_digest_is_sent(self, store: Store, seed: Seed) -> None:
        last = read(
            store, lambda uow: uow.notifications.last_digest_at(seed.team_id, seed.agent.id)
        )
        assert last is None

    def test_racing_claims_have_one_winner(self, store: Store, seed: Seed) -> None:
        rows = [new_notification(seed.team_id, seed.agent.id, 10 + i) for i in range(3)]
        write(store, lambda uow: uow.notifications.add_many(rows))
        workers = 6
        barrier = threading.Barrier(workers)
        outcomes: list[Any] = []
        lock = threading.Lock()

        def work(n: int) -> None:
            try:
                barrier.wait(timeout=10)
                got: Any = _ids(_claim(store, seed.team_id, seed.agent.id, f"w{n}", at(100)))
            except Exception as exc:  # reported below, not swallowed
                got = f"error: {exc!r}"
            with lock:
                outcomes.append(got)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(outcomes, key=len) == [[]] * (workers - 1) + [_ids(rows)], outcomes
