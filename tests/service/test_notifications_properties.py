"""Digest invariants under random histories, on every store.

For any members (active or not, with or without an address), any notifications
and any sequence of ``send_digests`` runs at non-decreasing times, some of
which fail for some recipients:

* a notification of an active member with an address is sent exactly once
  (once a final run has had the chance), and never before it was created;
* a notification of any other member is never sent;
* no member gets two digests less than an hour apart.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

import teamcrm
from teamcrm import DeliveryError, NotificationKind, OutgoingEmail, SettableClock
from teamcrm.notification import Notification, new_notification_id

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


class FlakySender:
    """Records (time, message); fails for the recipients in ``failing``."""

    def __init__(self, clock: SettableClock) -> None:
        self.clock = clock
        self.failing: set[str] = set()
        self.sent: list[tuple[datetime, OutgoingEmail]] = []

    def send(self, message: OutgoingEmail) -> None:
        if message.to in self.failing:
            raise DeliveryError(message.to, "rehearsed")
        self.sent.append((self.clock.now(), message))


# (active, has an email): mostly members who do get email
members_st = st.lists(
    st.sampled_from([(True, True), (True, True), (True, False), (False, True)]),
    min_size=1,
    max_size=3,
)
step_st = st.one_of(
    st.tuples(st.just("notify"), st.integers(0, 2), st.integers(1, 3)),
    # minutes, with the edges of the hour rule
    st.tuples(st.just("advance"), st.sampled_from([0, 1, 20, 40, 59, 60, 61, 150]), st.just(0)),
    # a run; the bit mask says whose sends fail (mostly none)
    st.tuples(st.just("run"), st.sampled_from([0, 0, 0, 1, 2, 5]), st.just(0)),
)


@pytest.mark.parametrize("url", ["memory://", "sqlite://"])
@given(members=members_st, steps=st.lists(step_st, min_size=3, max_size=40))
def test_every_notification_is_sent_exactly_once_and_at_most_hourly(
    url: str, members: list[tuple[bool, bool]], steps: list[tuple[str, int, int]]
) -> None:
    clock = SettableClock(START)
    crm = teamcrm.open(url, clock=clock)
    try:
        team, admin = crm.create_team("Acme", admin_name="Admin")
        boss = crm.as_member(admin.id)
        people = []
        for i, (active, has_email) in enumerate(members):
            m = boss.add_member(f"M{i}", email=f"m{i}@example.com" if has_email else None)
            if not active:
                m = boss.deactivate_member(m.id)
            people.append(m)
        eligible = {m.id for m in people if m.active and m.email is not None}
        created: dict[str, tuple[str, datetime]] = {}  # id -> (member id, created_at)
        sender = FlakySender(clock)

        def run(fail_mask: int) -> None:
            sender.failing = {
                m.email for i, m in enumerate(people) if m.email and fail_mask >> i & 1
            }
            report = crm.send_digests(None, sender)
            assert report.members_failed <= len(sender.failing)

        for op, a, b in steps:
            if op == "notify":
                member = people[a % len(people)]
                rows = [
                    Notification(
                        id=new_notification_id(),
                        team_id=team.id,
                        member_id=member.id,
                        kind=NotificationKind.LEAD_ASSIGNED,
                        subject_id="ld_x",
                        message="New lead",
                        created_at=clock.now(),
                    )
                    for _ in range(b)
                ]
                with crm.store.unit_of_work() as uow:
                    uow.notifications.add_many(rows)
                    uow.commit()
                created.update({n.id: (member.id, n.created_at) for n in rows})
            elif op == "advance":
                clock.advance(timedelta(minutes=a))
            else:
                run(a)
        # a final run, an hour after everything, with a sender that works
        clock.advance(HOUR)
        run(0)

        counts = Counter(nid for _, msg in sender.sent for nid in msg.notification_ids)
        expected = {nid for nid, (mid, _) in created.items() if mid in eligible}
        assert set(counts) == expected
        assert all(c == 1 for c in counts.values())
        by_address: dict[str, list[datetime]] = {}
        for at, msg in sender.sent:
            by_address.setdefault(msg.to, []).append(at)
            for nid in msg.notification_ids:
                mid, created_at = created[nid]
                assert created_at <= at
                assert msg.to == next(m.email for m in people if m.id == mid)
        for times in by_address.values():
            assert all(later - earlier >= HOUR for earlier, later in pairwise(times))
    finally:
        crm.close()
