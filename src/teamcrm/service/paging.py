"""Keyset pages of the lists that grow: leads, contacts, interactions, notifications, follow-ups.

The list-returning calls (:meth:`leads`, :meth:`bucket_contacts`,
:meth:`interactions_for_contact`, :meth:`notifications`, whose *limit* stops
at 1,000, and :meth:`follow_ups`) read everything at once; a web page or an
export of a large team reads them a page at a time instead:

* ``*_page(..., limit=100, after=None)`` returns a :class:`Page` (a
  :class:`~teamcrm.rows.Rows`, so a ``list`` that shows itself as a table)
  whose ``next_cursor`` is the *after* of the next call (``None`` on the last
  page);
* ``iter_*(...)`` generators follow the cursor, one short read-only unit of
  work per page, so memory stays bounded whatever the list's length.

Pages are **keyset** pages: each one is one index range after the last row
of the previous page, ordered by a stable key — leads by (``created_at``,
id), bucket contacts by (``added_at``, contact id), interactions and
notifications newest first by (``occurred_at`` or ``created_at``, id) — so
a page costs the same on the
thousandth page as on the first, and rows added or removed between two
calls never make a page repeat or skip the rows that stayed.  Cursors are
opaque strings (the encoding of :func:`teamcrm.search.encode_cursor`).

Rights are checked at read time, on every page, exactly as the list calls
check them; a page may hold fewer than *limit* rows only when it is the
last.  Paging through every page returns the same rows as the list call.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from teamcrm.bucket import Bucket, BucketMembership
from teamcrm.contact import Contact
from teamcrm.errors import ValidationError
from teamcrm.followup import FollowUpRow
from teamcrm.ids import PREFIXES, BucketId, ContactId, MemberId
from teamcrm.interaction import Interaction
from teamcrm.lead import Lead, LeadStatus, LeadStatusName
from teamcrm.notification import Notification
from teamcrm.pool import PoolId
from teamcrm.ports import UnitOfWork
from teamcrm.rows import Rows
from teamcrm.search import MAX_PAGE, decode_cursor, encode_cursor
from teamcrm.service.base import SessionBase
from teamcrm.service.routing.common import LEAD_COLUMNS, _enum
from teamcrm.team import Member
from teamcrm.validation import check_id, check_int, check_time, utc_datetime
from teamcrm.views import View

__all__ = [
    "Page",
    "PagingUseCases",
    "follow_up_cursor",
    "follow_up_key",
    "member_cursor",
    "member_key",
]

R = TypeVar("R")
T = TypeVar("T")
Key = tuple[datetime, str]


class Page(Rows[R]):
    """One page of a list: a :class:`~teamcrm.rows.Rows` with the cursor of the next page.

    :ivar next_cursor: pass it as ``after`` to read the next page; ``None``
        on the last page.
    """

    def __init__(
        self,
        rows: Iterable[R] = (),
        *,
        next_cursor: str | None = None,
        title: str = "",
        columns: Sequence[str] = (),
    ) -> None:
        super().__init__(rows, title=title, columns=columns)
        self.next_cursor = next_cursor

    def view(self) -> View[Any]:
        """The page as a :class:`~teamcrm.views.View`, with its ``next_cursor``."""
        return attrs.evolve(super().view(), next_cursor=self.next_cursor)


def _fill(
    fetch: Callable[[Key | None, int], list[T]],
    keep: Callable[[list[T]], list[tuple[T, R]]],
    key: Callable[[T], Key],
    start: Key | None,
    limit: int,
) -> tuple[list[R], Key | None]:
    """Read candidates after *start* until *limit* + 1 are kept (or none are left).

    Returns the page (at most *limit* rows) and the key of its last row when
    another kept row follows it (else ``None``).
    """
    kept: list[tuple[T, R]] = []
    after = start
    while len(kept) <= limit:
        batch = fetch(after, limit + 1)
        if not batch:
            break
        kept += keep(batch)
        after = key(batch[-1])
        if len(batch) < limit + 1:
            break
    if len(kept) <= limit:
        return [r for _, r in kept], None
    page = kept[:limit]
    return [r for _, r in page], key(page[-1][0])


def _same(rows: list[T]) -> list[tuple[T, T]]:
    """Keep every candidate as it is (lists whose rows are all the member's own)."""
    return [(r, r) for r in rows]


def _start(after: str | None, prefix: str) -> Key | None:
    return None if after is None else decode_cursor(after, prefix)


def _cursor(key: Key | None) -> str | None:
    return None if key is None else encode_cursor(key[0], key[1])


def member_cursor(name: str, member_id: str) -> str:
    """The cursor of a list of members ordered by (name case-folded, id): after this one."""
    raw = json.dumps([name.casefold(), member_id]).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def member_key(cursor: str) -> tuple[str, str]:
    """The (case-folded name, id) a :func:`member_cursor` points after (or ``ValidationError``)."""
    try:
        if not isinstance(cursor, str) or not 0 < len(cursor) <= 400:
            raise ValueError(cursor)
        name, member_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        check_id("after", member_id, PREFIXES["member"])
        if not isinstance(name, str):
            raise ValueError(name)
    except (ValueError, TypeError, binascii.Error, ValidationError) as exc:
        raise ValidationError("after", cursor, "is not a member cursor") from exc
    return name, member_id


def follow_up_cursor(key: tuple[date, datetime, str, str]) -> str:
    """The cursor of a follow-up page that ends at the row whose sort key is *key*."""
    due_on, due_at, contact_id, task_id = key
    raw = json.dumps([due_on.isoformat(), due_at.isoformat(), contact_id, task_id]).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def follow_up_key(cursor: str) -> tuple[date, datetime, str, str]:
    """The sort key a :func:`follow_up_cursor` points after (or ``ValidationError``)."""
    try:
        if not isinstance(cursor, str) or not 0 < len(cursor) <= 400:
            raise ValueError(cursor)
        due_on, due_at, contact_id, task_id = json.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
        check_id("after", contact_id, PREFIXES["contact"])
        if task_id:
            check_id("after", task_id, PREFIXES["task"])
        key = (
            date.fromisoformat(due_on),
            utc_datetime("after", datetime.fromisoformat(due_at)),
            str(contact_id),
            str(task_id),
        )
    except (ValueError, TypeError, binascii.Error, ValidationError) as exc:
        raise ValidationError("after", cursor, "is not a follow-up cursor") from exc
    return key


def _follow(page: Callable[[str | None], Page[R]]) -> Iterator[R]:
    after: str | None = None
    while True:
        rows = page(after)
        yield from rows
        if rows.next_cursor is None:
            return
        after = rows.next_cursor


class PagingUseCases(SessionBase):
    """Keyset pages and iterators of the growing lists (mixed into ``MemberSession``).

    Uses the read rules of :class:`~teamcrm.service.routing.RoutingUseCases`
    (``_leads_seen``) and :class:`~teamcrm.service.interactions.InteractionUseCases`
    (``_readable``), which ``MemberSession`` also mixes in.
    """

    if TYPE_CHECKING:

        def _follow_up_list(
            self,
            member_id: MemberId | None,
            at: datetime | None,
            wanted: int,
            start: tuple[date, datetime, str, str] | None,
        ) -> Rows[FollowUpRow]: ...

        def _leads_seen(self, uow: UnitOfWork, actor: Member, rows: list[Lead]) -> list[Lead]: ...

        def _readable(
            self,
            uow: UnitOfWork,
            actor: Member,
            rows: list[Interaction],
            buckets: dict[str, Bucket] | None = None,
        ) -> list[Interaction]: ...

    def leads_page(
        self,
        *,
        pool_id: PoolId | None = None,
        status: LeadStatus | LeadStatusName | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[Lead]:
        """One page of :meth:`leads` (same rows, same rights), by (``created_at``, id).

        >>> page = session.leads_page(limit=50)  # doctest: +SKIP
        >>> more = session.leads_page(limit=50, after=page.next_cursor)  # doctest: +SKIP
        """
        wanted = None if status is None else LeadStatus(_enum("status", LeadStatus, status))
        pool = None if pool_id is None else PoolId(check_id("pool_id", pool_id, PREFIXES["pool"]))
        check_int("limit", limit, minimum=1, maximum=MAX_PAGE)
        start = _start(after, PREFIXES["lead"])
        with self._unit(write=False) as (uow, actor):

            def fetch(at: Key | None, n: int) -> list[Lead]:
                return uow.leads.page(self.team_id, pool_id=pool, status=wanted, after=at, limit=n)

            def keep(rows: list[Lead]) -> list[tuple[Lead, Lead]]:
                return [(lead, lead) for lead in self._leads_seen(uow, actor, rows)]

            rows, last = _fill(fetch, keep, lambda r: (r.created_at, r.id), start, limit)
        return Page(rows, next_cursor=_cursor(last), title="Leads", columns=LEAD_COLUMNS)

    def iter_leads(
        self,
        *,
        pool_id: PoolId | None = None,
        status: LeadStatus | LeadStatusName | None = None,
        page_size: int = 500,
    ) -> Iterator[Lead]:
        """Every lead :meth:`leads` lists, read page by page (one short read per page)."""
        return _follow(
            lambda after: self.leads_page(
                pool_id=pool_id, status=status, limit=page_size, after=after
            )
        )

    def bucket_contacts_page(
        self, bucket_id: BucketId, *, limit: int = 100, after: str | None = None
    ) -> Page[Contact]:
        """One page of :meth:`bucket_contacts`, in the order they were added."""
        check_int("limit", limit, minimum=1, maximum=MAX_PAGE)
        start = _start(after, PREFIXES["contact"])
        with self._unit(write=False) as (uow, actor):
            bucket = self._bucket(uow, actor, bucket_id)

            def fetch(at: Key | None, n: int) -> list[BucketMembership]:
                return uow.memberships.items_page(self.team_id, bucket.id, after=at, limit=n)

            def keep(rows: list[BucketMembership]) -> list[tuple[BucketMembership, Contact]]:
                wanted = [m for m in rows if m.is_contact]
                found = uow.contacts.get_many(self.team_id, [ContactId(m.item_id) for m in wanted])
                shown = {c.id: c for c in self._shown(uow, actor, found)}
                return [(m, shown[ContactId(m.item_id)]) for m in wanted if m.item_id in shown]

            rows, last = _fill(fetch, keep, lambda m: (m.added_at, m.item_id), start, limit)
        return Page(rows, next_cursor=_cursor(last), title=f"Bucket {bucket.name}")

    def iter_bucket_contacts(
        self, bucket_id: BucketId, *, page_size: int = 500
    ) -> Iterator[Contact]:
        """Every contact :meth:`bucket_contacts` lists, read page by page."""
        return _follow(
            lambda after: self.bucket_contacts_page(bucket_id, limit=page_size, after=after)
        )

    def interactions_page(
        self, contact_id: ContactId, *, limit: int = 100, after: str | None = None
    ) -> Page[Interaction]:
        """One page of :meth:`interactions_for_contact`: newest first, those the member may read."""
        check_int("limit", limit, minimum=1, maximum=MAX_PAGE)
        start = _start(after, PREFIXES["interaction"])
        with self._unit(write=False) as (uow, actor):
            contact = self._visible_contact(uow, actor, contact_id)

            def fetch(at: Key | None, n: int) -> list[Interaction]:
                return uow.interactions.for_contact_page(
                    self.team_id, contact.id, before=at, limit=n
                )

            def keep(rows: list[Interaction]) -> list[tuple[Interaction, Interaction]]:
                return [(i, i) for i in self._readable(uow, actor, rows)]

            rows, last = _fill(fetch, keep, lambda i: (i.occurred_at, i.id), start, limit)
        return Page(rows, next_cursor=_cursor(last), title="Interactions")

    def iter_interactions(
        self, contact_id: ContactId, *, page_size: int = 500
    ) -> Iterator[Interaction]:
        """Every interaction :meth:`interactions_for_contact` lists, read page by page."""
        return _follow(
            lambda after: self.interactions_page(contact_id, limit=page_size, after=after)
        )

    def notifications_page(
        self, *, unread_only: bool = False, limit: int = 100, after: str | None = None
    ) -> Page[Notification]:
        """One page of the member's own :meth:`notifications`, newest first, without a cap."""
        if not isinstance(unread_only, bool):
            raise ValidationError("unread_only", unread_only, "must be True or False")
        check_int("limit", limit, minimum=1, maximum=MAX_PAGE)
        start = _start(after, PREFIXES["notification"])
        with self._unit(write=False) as (uow, _actor):

            def fetch(at: Key | None, n: int) -> list[Notification]:
                return uow.notifications.for_member(
                    self.team_id, self.member_id, unread_only=unread_only, limit=n, before=at
                )

            rows, last = _fill(fetch, _same, lambda n: (n.created_at, n.id), start, limit)
        return Page(rows, next_cursor=_cursor(last), title="Notifications")

    def iter_notifications(
        self, *, unread_only: bool = False, page_size: int = 500
    ) -> Iterator[Notification]:
        """Every notification of the member, newest first, read page by page."""
        return _follow(
            lambda after: self.notifications_page(
                unread_only=unread_only, limit=page_size, after=after
            )
        )

    def follow_ups_page(
        self,
        member_id: MemberId | None = None,
        *,
        at: datetime | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> Page[FollowUpRow]:
        """One page of :meth:`follow_ups`, most overdue first, without a cap on the list.

        The cursor is the sort key of the page's last row; the next page
        starts after it, reading the due rows from that row's date on (the
        rows of that date before it are read and dropped).  Pass the same
        *at* to every page (``None`` reads the clock on each call).
        """
        check_int("limit", limit, minimum=1, maximum=MAX_PAGE)
        start = None if after is None else follow_up_key(after)
        when = None if at is None else check_time("at", at)
        rows = self._follow_up_list(member_id, when, limit + 1, start)
        page = list(rows)[:limit]
        cursor = follow_up_cursor(page[-1].sort_key) if len(rows) > limit else None
        return Page(page, next_cursor=cursor, title=rows.title)

    def iter_follow_ups(
        self, member_id: MemberId | None = None, *, at: datetime | None = None, page_size: int = 500
    ) -> Iterator[FollowUpRow]:
        """Every row of :meth:`follow_ups` at *at* (default: the time of the first page)."""
        when = self.crm.now() if at is None else check_time("at", at)
        return _follow(
            lambda after: self.follow_ups_page(member_id, at=when, limit=page_size, after=after)
        )
