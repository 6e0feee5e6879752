"""Plumbing shared by every use case: the unit of work, the acting member, events."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import attrs

from teamcrm import permissions as perm
from teamcrm.bucket import Bucket, BucketMembership
from teamcrm.contact import Company, Contact
from teamcrm.errors import NotFound, ValidationError
from teamcrm.events import DomainEvent, EventName
from teamcrm.ids import (
    PREFIXES,
    BucketId,
    CompanyId,
    ContactId,
    MemberId,
    TeamId,
)
from teamcrm.ports import UnitOfWork
from teamcrm.team import Member
from teamcrm.unit_of_work import read_ahead, reads_ahead
from teamcrm.validation import (
    JSONScalar,
    check_id,
    trusted_builder,
)

if TYPE_CHECKING:
    from teamcrm.service.crm import CRM
    from teamcrm.service.routing.router import Router

__all__ = ["BULK_GC_PAUSE", "CONTACT_FIELDS", "MAX_BULK", "SessionBase", "bumped", "paused_gc"]

#: Fields of a contact that :meth:`MemberSession.update_contact` may change.
CONTACT_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "emails",
        "phones",
        "company_ids",
        "status",
        "source",
        "custom_fields",
    }
)
#: Most items one bulk call takes.
MAX_BULK = 1_000_000


class _Versioned(Protocol):
    """An entity with an optimistic ``version``."""

    @property
    def version(self) -> int: ...


_E = TypeVar("_E", bound=_Versioned)


def bumped(entity: _E, **changes: Any) -> _E:
    """Return *entity* (an attrs entity with a ``version``) with *changes* applied, version + 1."""
    return attrs.evolve(entity, version=entity.version + 1, **changes)  # type: ignore[misc]


#: Calls handling at least this many items pause the cyclic garbage collector.
BULK_GC_PAUSE = 1_000

_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


#: The block of a call too small to pause the collector (reusable: it holds nothing).
_NO_PAUSE: AbstractContextManager[None] = nullcontext()


def paused_gc(size: int) -> AbstractContextManager[None]:
    """Pause Python's cyclic garbage collector while a bulk call of *size* items runs.

    A bulk call builds a few small, acyclic objects per item (entities,
    events, notifications); with a large heap, the collector's generation
    scans they trigger cost as much as the work itself (half of the time of
    a 10,000-lead routing call on ``memory://``).  Reference counting still
    frees everything; the collector is switched back on when the last
    overlapping bulk call ends, and left alone if the application had
    disabled it.  Calls under :data:`BULK_GC_PAUSE` items change nothing
    (one shared empty block: a single add makes no generator).
    """
    return _NO_PAUSE if size < BULK_GC_PAUSE else _pausing_gc()


@contextmanager
def _pausing_gc() -> Iterator[None]:
    """The pause of :func:`paused_gc` (a call of at least :data:`BULK_GC_PAUSE` items)."""
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


#: Builds memberships of checked ids without checking them again (see ``validation.trusted``).
_membership = trusted_builder(BucketMembership)
_domain_event = trusted_builder(DomainEvent)


def _item_ids(field: str, value: str | Iterable[str]) -> list[str]:
    """Accept one id or an iterable of ids of contacts/companies; check each."""
    items: list[Any] = [value] if isinstance(value, str) else list(_iterable(field, value))
    if len(items) > MAX_BULK:
        raise ValidationError(field, len(items), f"at most {MAX_BULK} items per call")
    out: dict[str, None] = {}
    for item in items:
        if isinstance(item, str) and item.startswith(PREFIXES["company"]):
            out[check_id(field, item, PREFIXES["company"])] = None
        else:
            out[check_id(field, item, PREFIXES["contact"])] = None
    return list(out)


def _bucket_ids(field: str, value: Any) -> list[BucketId]:
    """A list of bucket ids (each checked, duplicates dropped, order kept)."""
    return [
        BucketId(b)
        for b in dict.fromkeys(
            check_id(field, b, PREFIXES["bucket"]) for b in _iterable(field, value)
        )
    ]


def _iterable(field: str, value: Any) -> Iterable[Any]:
    """Return *value* if it is a collection of items (not text, bytes or a mapping)."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValidationError(field, value, "must be a list or tuple of items")
    return value


class SessionBase:
    """Plumbing shared by the use-case mixins of :class:`MemberSession`.

    :ivar crm: the :class:`CRM` (store and clock).
    :ivar team_id: the team every call is scoped to.
    :ivar member_id: the acting member.
    """

    def __init__(self, crm: CRM, team_id: TeamId, member_id: MemberId) -> None:
        self.crm = crm
        self.team_id = team_id
        self.member_id = member_id
        #: Whether the member was a manager (sees every item) at the session's last
        #: call (``None``: no call yet).  Only a guess for reads ahead: rights are
        #: always checked on the member as read in the unit.
        self._was_manager: bool | None = None

    def __repr__(self) -> str:
        return f"MemberSession(team_id={self.team_id!r}, member_id={self.member_id!r})"

    # ------------------------------------------------------------------ plumbing
    @contextmanager
    def _unit(
        self,
        *,
        write: bool = True,
        size: int = 0,
        ahead: Callable[[UnitOfWork], Iterable[Callable[[], object]]] | None = None,
    ) -> Iterator[tuple[UnitOfWork, Member]]:
        """Open a unit of work as the session's member (active members only).

        *size* is how many items the call handles; a bulk call (see
        :func:`paused_gc`) runs with the cyclic garbage collector paused.
        *ahead* returns the repository calls the use case makes first (see
        :func:`teamcrm.unit_of_work.read_ahead`): a store may send their reads
        with the actor's.
        """
        with paused_gc(size), self.crm.store.unit_of_work(write=write) as uow:
            if ahead is not None and reads_ahead(uow):
                read_ahead(uow, *ahead(uow))
            actor = uow.members.get(self.team_id, self.member_id)
            perm.require_active(actor)
            self._was_manager = actor.role.is_manager
            yield uow, actor

    def _phone_region(self, uow: UnitOfWork, actor: Member | None = None) -> str | None:
        """The region a number the acting member types without ``+`` is read in.

        The member's own ``phone_region`` if set, else the team's setting.
        """
        if actor is None:
            actor = uow.members.get(self.team_id, self.member_id)
        if actor.phone_region is not None:
            return actor.phone_region
        return uow.teams.get(self.team_id).settings.phone_region

    def _event(
        self,
        event: EventName,
        subject_id: str,
        now: datetime,
        /,
        **data: JSONScalar | list[str],
    ) -> DomainEvent:
        return DomainEvent(
            name=event,
            team_id=self.team_id,
            subject_id=subject_id,
            occurred_at=now,
            actor_id=self.member_id,
            data=data,
        )

    def _bucket_map(self, uow: UnitOfWork) -> dict[str, Bucket]:
        return {b.id: b for b in uow.buckets.all(self.team_id)}

    def _may_see(
        self, uow: UnitOfWork, actor: Member, item_id: str, created_by: str | None
    ) -> bool:
        """Apply :func:`permissions.can_see_item`, loading only what the rule needs."""
        if actor.role.is_manager or created_by == actor.id:
            return True  # no bucket needs to be read
        memberships = uow.memberships.buckets_of(self.team_id, [item_id])
        holding: dict[str, Bucket] = {}
        for m in memberships:
            if m.bucket_id not in holding:
                holding[m.bucket_id] = uow.buckets.get(self.team_id, BucketId(m.bucket_id))
        return perm.can_see_item(actor, created_by, memberships, holding)

    def _visible_contact(
        self, uow: UnitOfWork, actor: Member, contact_id: str, *, for_update: bool = False
    ) -> Contact:
        """The contact if *actor* may see it, else ``NotFound`` (as if it did not exist).

        With *for_update*, it is read with ``get_for_update`` (locked until the
        unit ends where the store's writers run side by side): use it when the
        unit writes the contact back.
        """
        check_id("contact_id", contact_id, PREFIXES["contact"])
        if for_update:
            contact = uow.contacts.get_for_update(self.team_id, ContactId(contact_id))
        else:
            contact = uow.contacts.get(self.team_id, ContactId(contact_id))
        if not self._may_see(uow, actor, contact.id, contact.created_by):
            # Indistinguishable from a missing contact: do not leak existence.
            raise NotFound("contact", contact_id)
        return contact

    def _visible_contact_ahead(
        self, contact_id: str, *, for_update: bool = False, team: bool = False
    ) -> Callable[[UnitOfWork], list[Callable[[], object]]]:
        """The reads :meth:`_visible_contact` makes first, for ``_unit(ahead=...)``.

        The contact (locked first with *for_update*: the read after the lock
        sees what it protects) and its bucket memberships (unless the member
        was a manager at the session's last call: a manager's check reads
        none); with *team*, the team too.
        """
        team_id, cid = self.team_id, ContactId(contact_id)

        def reads(uow: UnitOfWork) -> list[Callable[[], object]]:
            found: list[Callable[[], object]] = []
            if for_update:
                found.append(lambda: uow.contacts.get_for_update(team_id, cid))
            found.append(lambda: uow.contacts.get(team_id, cid))
            if self._was_manager is not True:  # a manager's check reads no bucket
                found.append(lambda: uow.memberships.buckets_of(team_id, [cid]))
            if team:
                found.append(lambda: uow.teams.get(team_id))
            return found

        return reads

    def _visible_company(self, uow: UnitOfWork, actor: Member, company_id: str) -> Company:
        """The company, if *actor* may see it (``NotFound`` otherwise).

        In a writing unit it is held against deletion until commit
        (``companies.lock``): the unit may add a row pointing at it.
        """
        check_id("company_id", company_id, PREFIXES["company"])
        uow.companies.lock(self.team_id, [CompanyId(company_id)])
        company = uow.companies.get(self.team_id, CompanyId(company_id))
        if not self._may_see(uow, actor, company.id, company.created_by):
            raise NotFound("company", company_id)
        return company

    def _bucket(self, uow: UnitOfWork, actor: Member, bucket_id: str) -> Bucket:
        check_id("bucket_id", bucket_id, PREFIXES["bucket"])
        bucket = uow.buckets.get(self.team_id, BucketId(bucket_id))
        if not perm.can_view_bucket(actor, bucket):
            raise NotFound("bucket", bucket_id)
        return bucket

    def _member(self, uow: UnitOfWork, member_id: str) -> Member:
        check_id("member_id", member_id, PREFIXES["member"])
        return uow.members.get(self.team_id, MemberId(member_id))

    def _check_companies(self, uow: UnitOfWork, actor: Member, company_ids: Iterable[str]) -> None:
        """Raise ``NotFound`` for the first company that is missing or that *actor* may not see.

        Each id is checked completely (exists, then visible) before the next,
        so the error names the same id whether a company is missing or hidden:
        the call tells nothing about companies the member cannot see.
        """
        ids = list(dict.fromkeys(company_ids))
        # Held until commit: the unit links the contact to them.
        uow.companies.lock(self.team_id, [CompanyId(i) for i in ids])
        by_item: dict[str, list[BucketMembership]] | None = None
        buckets: dict[str, Bucket] = {}
        for company_id in ids:
            company = uow.companies.get(self.team_id, CompanyId(company_id))
            if actor.role.is_manager or company.created_by == actor.id:
                continue
            if by_item is None:
                by_item = self._memberships_by_item(uow, ids)
                buckets = self._bucket_map(uow)
            if not perm.can_see_item(
                actor, company.created_by, by_item.get(company_id, []), buckets
            ):
                raise NotFound("company", company_id)

    def _hidden_companies(
        self, uow: UnitOfWork, actor: Member, company_ids: Iterable[str]
    ) -> set[str]:
        """The ids among *company_ids* of companies *actor* may not see (or that are gone)."""
        if actor.role.is_manager:
            return set()
        ids = list(dict.fromkeys(company_ids))
        if not ids:
            return set()
        hidden: set[str] = set()
        others: dict[str, Company] = {}
        for company_id in ids:
            try:
                company = uow.companies.get(self.team_id, CompanyId(company_id))
            except NotFound:
                hidden.add(company_id)
                continue
            if company.created_by != actor.id:
                others[company_id] = company
        if others:
            by_item: dict[str, list[BucketMembership]] = {}
            for m in uow.memberships.buckets_of(self.team_id, list(others)):
                by_item.setdefault(m.item_id, []).append(m)
            buckets = self._bucket_map(uow)
            hidden.update(
                company_id
                for company_id, company in others.items()
                if not perm.can_see_item(
                    actor, company.created_by, by_item.get(company_id, []), buckets
                )
            )
        return hidden

    def _shown(self, uow: UnitOfWork, actor: Member, contacts: list[Contact]) -> list[Contact]:
        """*contacts* as *actor* reads them: without links to companies it may not see.

        A member never learns which hidden companies a contact it can see is
        linked to (not even their ids); the version is the stored one.
        """
        hidden = self._hidden_companies(uow, actor, (c for ct in contacts for c in ct.company_ids))
        if not hidden:
            return contacts
        return [
            attrs.evolve(c, company_ids=tuple(i for i in c.company_ids if i not in hidden))
            if hidden.intersection(c.company_ids)
            else c
            for c in contacts
        ]

    def _shown_one(self, uow: UnitOfWork, actor: Member, contact: Contact) -> Contact:
        """One contact as *actor* reads it (see :meth:`_shown`)."""
        if not contact.company_ids or actor.role.is_manager:
            return contact
        return self._shown(uow, actor, [contact])[0]

    def _emit(
        self,
        uow: UnitOfWork,
        event: DomainEvent,
        *,
        subject: object | None = None,
        contacts: Mapping[str, Contact] | None = None,
    ) -> None:
        """Collect *event* and run its reactions (see :mod:`teamcrm.service.reactions`)."""
        self.crm.reactions.emit(uow, event, subject=subject, contacts=contacts)

    def _router(self, uow: UnitOfWork, actor_id: MemberId | None, now: datetime) -> Router:
        """A router for this team in *uow*, deciding with this CRM's reactions and strategies."""
        from teamcrm.service.routing.router import Router  # routing builds on this module

        return Router(uow, self.team_id, actor_id, now, self.crm.reactions, self.crm.strategies)

    def _add_items(
        self,
        uow: UnitOfWork,
        bucket: Bucket,
        item_ids: list[str],
        now: datetime,
        *,
        known: Mapping[str, Contact] | None = None,
    ) -> list[BucketMembership]:
        """Add items to a bucket and emit ``bucket.items_added`` (its reactions follow).

        *item_ids* are checked ids (see ``_item_ids``) of items known to
        exist; *known* holds those of their contacts the caller already
        loaded in this unit, so the reactions need not read them again.
        """
        rows = [
            _membership(
                team_id=self.team_id,
                bucket_id=bucket.id,
                item_id=item_id,
                added_at=now,
                added_by=self.member_id,
            )
            for item_id in item_ids
        ]
        if reads_ahead(uow):  # what the reactions will read goes with the insert
            expected = _domain_event(  # the event as emitted if every item is added
                name=EventName.BUCKET_ITEMS_ADDED,
                team_id=self.team_id,
                subject_id=bucket.id,
                occurred_at=now,
                actor_id=self.member_id,
                data={"item_ids": list(item_ids)},
            )
            self.crm.reactions.read_ahead(uow, expected, subject=bucket)
        added = uow.memberships.add_many(rows)
        if added:
            # built from checked values (the bucket, the session, the clock, the rows' ids)
            event = _domain_event(
                name=EventName.BUCKET_ITEMS_ADDED,
                team_id=self.team_id,
                subject_id=bucket.id,
                occurred_at=now,
                actor_id=self.member_id,
                data={"item_ids": [m.item_id for m in added]},
            )
            self._emit(uow, event, subject=bucket, contacts=known)
        return added

    def _join_omni_buckets(self, uow: UnitOfWork, contacts: list[Contact], now: datetime) -> None:
        """Add new *contacts* to every team bucket that ``holds_all`` (seed 000's omni-bucket).

        The team's setting, not the creator's rights, puts them there: a
        member who may only view the omni-bucket still fills it.  Like any
        add, it starts follow-up clocks and routes if a pool takes leads from
        that bucket.
        """
        if not contacts:
            return
        known: dict[str, Contact] = {c.id: c for c in contacts}
        for bucket in uow.buckets.all(self.team_id):
            if bucket.holds_all:
                self._add_items(uow, bucket, list(known), now, known=known)

    def _items_ahead(self, uow: UnitOfWork, ids: list[str]) -> list[Callable[[], object]]:
        """The reads :meth:`_require_visible_items` makes first (for ``read_ahead``).

        The team's buckets and the contacts' memberships too when the member
        was not a manager at the session's last call (a guess: a wrong one
        costs a wasted read or a round trip, never a wrong answer).
        """
        contact_ids = [ContactId(i) for i in ids if i.startswith(PREFIXES["contact"])]
        if not contact_ids:
            return []
        team_id = self.team_id
        reads: list[Callable[[], object]] = [lambda: uow.contacts.lock(team_id, contact_ids)]
        if len(contact_ids) <= CHECK_BATCH:  # else the check reads them in batches
            reads.append(lambda: uow.contacts.get_many(team_id, contact_ids))
            if self._was_manager is False:  # the check reads the buckets and memberships
                reads.append(lambda: uow.buckets.all(team_id))
                reads.append(lambda: uow.memberships.buckets_of(team_id, contact_ids))
        return reads

    def _require_visible_items(
        self, uow: UnitOfWork, actor: Member, ids: list[str]
    ) -> dict[str, Contact]:
        """Raise ``NotFound`` unless every item exists and *actor* may see it.

        Returns the contacts among the items, by id (loaded for the check),
        for the reactions to reuse; a call naming more than
        :data:`KEEP_CHECKED_CONTACTS` contacts returns none (the reactions read
        what they need), so a bulk call does not hold every contact at once.
        Contacts are read :data:`CHECK_BATCH` at a time.
        """
        contact_ids = [ContactId(i) for i in ids if i.startswith(PREFIXES["contact"])]
        company_ids = [i for i in ids if i.startswith(PREFIXES["company"])]
        # Held until commit: no unit deletes them while we add rows pointing at them.
        uow.contacts.lock(self.team_id, contact_ids)
        uow.companies.lock(self.team_id, [CompanyId(i) for i in company_ids])
        keep = len(contact_ids) <= KEEP_CHECKED_CONTACTS
        buckets = None if actor.role.is_manager else self._bucket_map(uow)
        contacts: dict[str, Contact] = {}
        for start in range(0, len(contact_ids), CHECK_BATCH):
            chunk = contact_ids[start : start + CHECK_BATCH]
            found: dict[str, Contact] = {
                c.id: c for c in uow.contacts.get_many(self.team_id, chunk)
            }
            for cid in chunk:
                if cid not in found:
                    raise NotFound("contact", cid)
            if buckets is not None:
                by_item = self._memberships_by_item(uow, chunk)
                for contact_id, contact in found.items():
                    seen_in = by_item.get(contact_id, [])
                    if not perm.can_see_item(actor, contact.created_by, seen_in, buckets):
                        raise NotFound("contact", contact_id)
            if keep:
                contacts.update(found)
        if company_ids:
            by_company = {} if buckets is None else self._memberships_by_item(uow, company_ids)
            for co in company_ids:
                company = uow.companies.get(self.team_id, CompanyId(co))
                if buckets is not None and not perm.can_see_item(
                    actor, company.created_by, by_company.get(co, []), buckets
                ):
                    raise NotFound("company", co)
        return contacts

    def _memberships_by_item(
        self, uow: UnitOfWork, item_ids: Iterable[str]
    ) -> dict[str, list[BucketMembership]]:
        """The bucket memberships of *item_ids* (contacts or companies), by item id."""
        by_item: dict[str, list[BucketMembership]] = {}
        for m in uow.memberships.buckets_of(self.team_id, item_ids):
            by_item.setdefault(m.item_id, []).append(m)
        return by_item


#: Contacts a bulk call reads per statement when it checks that its items exist
#: and are visible.
CHECK_BATCH = 5_000
#: Up to this many contacts, a bulk call keeps those it read for its reactions
#: (saving them a second read); beyond, it keeps none, so its memory stays bounded.
KEEP_CHECKED_CONTACTS = 10_000


def changed_contact_fields(before: Contact, after: Contact) -> list[str]:
    """The names of the fields that differ (``contact.updated``'s ``fields``), sorted."""
    names = ("first_name", "last_name", "emails", "phones", "company_ids", "status", "source")
    changed = [n for n in names if getattr(before, n) != getattr(after, n)]
    if before.custom_fields != after.custom_fields:
        changed.append("custom_fields")
    return sorted(changed)
