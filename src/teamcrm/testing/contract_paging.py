"""Contract tests of keyset pages (``leads.page``, ``memberships.items_page``...).

The page methods: ``leads.page``, ``memberships.items_page``,
``interactions.for_contact_page``, ``notifications.for_member(before=)``
and ``tasks.open_due(since=)``.

Part of the public contract suite (:class:`teamcrm.testing.contract.StoreContract`
includes :class:`KeysetPageContract`): following each page's last key
through every page, at several page sizes, returns exactly the rows of the
matching list method (``leads.all``, ``memberships.items``,
``interactions.for_contact``, ``notifications.for_member``) in its order,
ties on the time broken by id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import pytest

from teamcrm.bucket import BucketMembership
from teamcrm.ids import MemberId, TeamId, new_interaction_id
from teamcrm.interaction import Interaction, InteractionKind
from teamcrm.lead import LeadStatus
from teamcrm.ports import Store, UnitOfWork
from teamcrm.testing.contract_base import at, new_contact, read, write
from teamcrm.testing.contract_followup_base import new_task
from teamcrm.testing.contract_notifications import new_notification
from teamcrm.testing.contract_routing_base import RoutingSeed, _RoutingBase, new_lead

__all__ = ["KeysetPageContract"]

T = TypeVar("T")
Key = tuple[datetime, str]


def _walk(
    fetch: Callable[[Key | None, int], list[T]], key: Callable[[T], Key], limit: int
) -> list[T]:
    rows: list[T] = []
    after: Key | None = None
    for _ in range(1000):
        page = fetch(after, limit)
        assert len(page) <= limit
        rows += page
        if len(page) < limit:
            return rows
        after = key(page[-1])
    raise AssertionError("pages never ended")


def _fill_leads(store: Store, rs: RoutingSeed) -> None:
    contacts = [new_contact(rs.seed, 50 + i // 3, first_name=f"K{i}") for i in range(10)]
    leads = [
        new_lead(
            rs,
            c.id,
            60 + i // 4,  # four leads share each created_at
            pooled=i % 3 != 0,
            status=LeadStatus.REMOVED if i % 2 else LeadStatus.UNASSIGNED,
        )
        for i, c in enumerate(contacts)
    ]

    def fill(uow: UnitOfWork) -> None:
        uow.contacts.add_many(contacts)
        uow.leads.add_many(leads)

    write(store, fill)


class KeysetPageContract(_RoutingBase):
    """Keyset page methods agree with the list methods they page."""

    @pytest.mark.parametrize("limit", [1, 3, 100])
    def test_lead_pages_follow_all(
        self, store: Store, routing_seed: Callable[[], RoutingSeed], limit: int
    ) -> None:
        rs = routing_seed()
        _fill_leads(store, rs)
        t = rs.team_id
        filters: list[dict[str, Any]] = [
            {},
            {"pool_id": rs.pool.id},
            {"status": LeadStatus.REMOVED},
            {"pool_id": rs.pool.id, "status": LeadStatus.UNASSIGNED},
        ]
        for f in filters:
            want = read(store, lambda uow: uow.leads.all(t, **f))  # noqa: B023
            assert want or f
            got = read(
                store,
                lambda uow: _walk(
                    lambda k, n: uow.leads.page(t, after=k, limit=n, **f),  # noqa: B023
                    lambda ld: (ld.created_at, ld.id),
                    limit,
                ),
            )
            assert got == want
        assert len(read(store, lambda uow: uow.leads.all(t))) == 10

    @pytest.mark.parametrize("limit", [1, 4, 100])
    def test_membership_pages_follow_items(
        self, store: Store, routing_seed: Callable[[], RoutingSeed], limit: int
    ) -> None:
        rs = routing_seed()
        t, bucket = rs.team_id, rs.buckets[1]
        contacts = [new_contact(rs.seed, 70, first_name=f"M{i}") for i in range(9)]
        rows = [
            BucketMembership(team_id=t, bucket_id=bucket.id, item_id=c.id, added_at=at(80 + i // 3))
            for i, c in enumerate(contacts)
        ]

        def fill(uow: UnitOfWork) -> None:
            uow.contacts.add_many(contacts)
            uow.memberships.add_many(rows)

        write(store, fill)
        want = read(store, lambda uow: uow.memberships.items(t, bucket.id))
        assert len(want) == 9
        got = read(
            store,
            lambda uow: _walk(
                lambda k, n: uow.memberships.items_page(t, bucket.id, after=k, limit=n),
                lambda m: (m.added_at, m.item_id),
                limit,
            ),
        )
        assert got == want

    @pytest.mark.parametrize("limit", [1, 4, 100])
    def test_interaction_pages_follow_for_contact(
        self, store: Store, routing_seed: Callable[[], RoutingSeed], limit: int
    ) -> None:
        rs = routing_seed()
        seed, t = rs.seed, rs.team_id
        rows = [
            Interaction(
                id=new_interaction_id(),
                team_id=t,
                kind=InteractionKind.NOTE,
                author_id=seed.agent.id,
                occurred_at=at(90 - i // 3),  # three share each time
                logged_at=at(100),
                contact_ids=(seed.contact.id,),
                body=f"n{i}",
            )
            for i in range(8)
        ]

        def fill(uow: UnitOfWork) -> None:
            for i in rows:
                uow.interactions.add(i)

        write(store, fill)
        want = read(store, lambda uow: uow.interactions.for_contact(t, seed.contact.id))
        assert len(want) == 8
        got = read(
            store,
            lambda uow: _walk(
                lambda k, n: uow.interactions.for_contact_page(
                    t, seed.contact.id, before=k, limit=n
                ),
                lambda i: (i.occurred_at, i.id),
                limit,
            ),
        )
        assert got == want

    @pytest.mark.parametrize("limit", [1, 4, 100])
    def test_notification_pages_follow_for_member(
        self, store: Store, routing_seed: Callable[[], RoutingSeed], limit: int
    ) -> None:
        rs = routing_seed()
        seed, t = rs.seed, rs.team_id
        me, other = seed.agent.id, seed.admin.id
        rows = [
            new_notification(
                t, me if i % 4 else other, 90 - i // 3, read_at=at(95) if i % 3 else None
            )
            for i in range(14)  # three share each time; some read, some another member's
        ]
        write(store, lambda uow: uow.notifications.add_many(rows))
        for unread_only in (False, True):
            self._check_notification_pages(store, t, me, unread_only, limit)

    @staticmethod
    def _check_notification_pages(
        store: Store, t: TeamId, me: MemberId, unread_only: bool, limit: int
    ) -> None:
        want = read(
            store,
            lambda uow: uow.notifications.for_member(t, me, unread_only=unread_only, limit=1000),
        )
        assert want
        assert all(n.member_id == me for n in want)
        got = read(
            store,
            lambda uow: _walk(
                lambda k, n: uow.notifications.for_member(
                    t, me, unread_only=unread_only, limit=n, before=k
                ),
                lambda n: (n.created_at, n.id),
                limit,
            ),
        )
        assert got == want

    def test_open_tasks_due_since_a_time_are_a_range_of_open_due(
        self, store: Store, routing_seed: Callable[[], RoutingSeed]
    ) -> None:
        rs = routing_seed()
        seed, t = rs.seed, rs.team_id
        tasks = [new_task(seed, 100 + 10 * (i // 2)) for i in range(8)]  # two share each time

        def fill(uow: UnitOfWork) -> None:
            for task in tasks:
                uow.tasks.add(task)

        write(store, fill)
        me = seed.agent.id
        every = read(store, lambda uow: uow.tasks.open_due(t, me, at(1000), 100))
        assert len(every) == 8
        for since in (at(0), at(110), at(115), at(130), at(200)):
            got = read(store, lambda uow: uow.tasks.open_due(t, me, at(1000), 100, since=since))  # noqa: B023
            assert got == [x for x in every if x.due_at >= since]
        two = read(store, lambda uow: uow.tasks.open_due(t, me, at(125), 2, since=at(110)))
        assert two == [x for x in every if at(110) <= x.due_at <= at(125)][:2]
