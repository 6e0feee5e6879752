"""Keyset pages of the lists that grow: leads, bucket contacts, a contact's interactions.

The list-returning calls (:meth:`leads`, :meth:`bucket_contacts`,
:meth:`interactions_for_contact`) read everything at once; a web page or an
export of a large team reads them a page at a time instead:

* ``*_page(..., limit=100, after=None)`` returns a :class:`Page` (a
  :class:`~teamcrm.rows.Rows`, so a ``list`` that shows itself as a table)
  whose ``next_cursor`` is the *after* of the next call (``None`` on the last
  page);
* ``iter_*(...)`` generators follow the cursor, one short read-only unit of
  work per page, so memory stays bounded whatever the list's length.

Pages are **keyset** pages: each one is one index range after the last row
of the previous page, ordered by a stable key — leads by (``created_at``,
id), bucket contacts by (``added_at``, contact id), interactions newest
first by (``occurred_at``, id) — so a page costs the same on the
thousandth page as on the first, and rows added or removed between two
calls never make a page repeat or skip the rows that stayed.  Cursors are
opaque strings (the encoding of :func:`teamcrm.search.encode_cursor`).

Rights are checked at read time, on every page, exactly as the list calls
check them; a page may hold fewer than *limit* rows only when it is the
last.  Paging through every page returns the same rows as the list call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from teamcrm.bucket import Bucket, BucketMembership
from teamcrm.contact import Contact
from teamcrm.ids import PREFIXES, BucketId, ContactId
from teamcrm.interaction import Interaction
from teamcrm.lead import Lead, LeadStatus, LeadStatusName
from teamcrm.pool import PoolId
from teamcrm.ports import UnitOfWork
from teamcrm.rows import Rows
from teamcrm.search import MAX_PAGE, decode_cursor, encode_cursor
from teamcrm.service.base import SessionBase
from teamcrm.service.routing.common import LEAD_COLUMNS, _enum
from teamcrm.team import Member
from teamcrm.validation import check_id, check_int
from teamcrm.views import View

__all__ = ["Page", "PagingUseCases"]

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


def _start(after: str | None, prefix: str) -> Key | None:
    return None if after is None else decode_cursor(after, prefix)


def _cursor(key: Key | None) -> str | None:
    return None if key is None else encode_cursor(key[0], key[1])


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
