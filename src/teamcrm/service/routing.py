"""Use cases for lead routing: pools, routing, offers, assignment actions, the dashboard.

Routing happens in the unit of work of the change that triggers it: adding
contacts to a source bucket of an active pool creates their leads and routes
them before the unit commits, so a lead exists (and is routed, notified and
counted on the round-robin cursor) exactly when the bucket change is
committed.  The round-robin cursor is read from the store inside that unit
and written back with a version check, so two processes never hand out the
same turn (on SQLite the whole unit also runs under ``BEGIN IMMEDIATE``).

Every call that routes returns :class:`RoutingResult`\\ s whose
``explanation`` says why; :meth:`RoutingUseCases.explain` returns the
explanation stored with a lead.

Capacity and loads are read inside the unit too (the lead repository keeps
per-member receipts and open-lead counts in the same transaction), so a cap
is never exceeded even with several processes routing at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, get_args

import attrs

from teamcrm import permissions as perm
from teamcrm.bucket import Bucket, BucketKind, BucketMembership
from teamcrm.contact import Contact
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound, OfferClosed, ValidationError
from teamcrm.events import DomainEvent, EventName
from teamcrm.followup import Cadence, local_date, start_of_day
from teamcrm.ids import BucketId, ContactId, MemberId, TeamId, new_bucket_id
from teamcrm.lead import (
    MAX_LEAD_NOTE,
    InboundBucket,
    Lead,
    LeadId,
    LeadRow,
    LeadStatus,
    LeadStatusName,
    Offer,
    OfferId,
    OfferStatus,
    RoleSlot,
    check_role,
    new_lead_id,
    new_offer_id,
)
from teamcrm.notification import Notification, NotificationKind, new_notification_id
from teamcrm.pool import (
    DEFAULT_OFFER_WINDOW,
    Capacity,
    DistributionMethod,
    LeadPool,
    MethodName,
    PoolId,
    StrategyName,
    check_window,
    new_pool_id,
)
from teamcrm.ports import UnitOfWork
from teamcrm.rotation import carry_cursor
from teamcrm.routing import (
    MemberLoad,
    RoutingContext,
    RoutingDecision,
    RoutingExplanation,
    RoutingOutcome,
    Skipped,
    SkipReason,
    decide,
    screen,
    strategy_for,
)
from teamcrm.rows import Rows
from teamcrm.service.base import MAX_BULK, SessionBase, _membership, bumped
from teamcrm.task import Task, TaskStatus, new_task_id
from teamcrm.team import Member, Role
from teamcrm.validation import (
    FrozenDict,
    check_id,
    check_int,
    check_text,
    check_time,
    trusted_builder,
)

if TYPE_CHECKING:
    from teamcrm.service.crm import CRM
    from teamcrm.service.reactions import Occasion, Reactions

__all__ = [
    "DASHBOARD_SORTS",
    "INBOUND_BUCKET_NAME",
    "UNASSIGNED",
    "RoutingResult",
    "RoutingUseCases",
    "enforce_response_windows",
    "expire_offers",
]

#: Pass as ``assignee`` to :meth:`RoutingUseCases.routing_dashboard` for leads nobody owns.
UNASSIGNED = "unassigned"
#: Name of the personal bucket created for a member's routed leads.
INBOUND_BUCKET_NAME = "Routed leads"
#: The columns the routing dashboard sorts by, for type checkers.
DashboardSort = Literal[
    "assigned_at",
    "last_contacted_at",
    "created_at",
    "contact_name",
    "pool_name",
    "assignee_name",
    "status",
]
#: The columns the routing dashboard sorts by.
DASHBOARD_SORTS: frozenset[str] = frozenset(get_args(DashboardSort))
POOL_FIELDS = frozenset(
    {
        "name",
        "source_bucket_ids",
        "member_ids",
        "method",
        "offer_window",
        "follow_up",
        "fallback_member_id",
        "weights",
        "capacity",
        "member_capacity",
        "response_window",
        "dedupe",
    }
)
#: Offers settled per unit of work by :func:`expire_offers`.
EXPIRY_BATCH = 500
#: Leads checked per unit of work by :func:`enforce_response_windows`.
RESPONSE_BATCH = 200
#: The rolling window of the 30-day capacity.
ROLLING = timedelta(days=30)
#: Methods whose decision depends only on the cursor and who is full (cached in a bulk call).
_BY_CURSOR = frozenset(
    {
        DistributionMethod.MANUAL,
        DistributionMethod.ROUND_ROBIN,
        DistributionMethod.FIRST_TO_ACCEPT,
        DistributionMethod.EVERYONE,
        DistributionMethod.WEIGHTED,
        DistributionMethod.SEQUENTIAL_OFFER,
    }
)


@attrs.frozen(kw_only=True)
class RoutingResult:
    """What one routing call did to one lead.

    :ivar lead: the lead as stored after the call.
    :ivar decision: the decision that was applied (with its explanation).
    :ivar offers: the offers the call made (for offered leads).
    """

    lead: Lead
    decision: RoutingDecision
    offers: tuple[Offer, ...] = ()

    @property
    def explanation(self) -> RoutingExplanation:
        """Why the lead went where it went."""
        return self.decision.explanation

    @property
    def warnings(self) -> tuple[str, ...]:
        """What deserves a second look (e.g. ``"... is away until ..."``)."""
        return self.decision.explanation.warnings


def _note(value: str | None) -> str | None:
    if value is None:
        return None
    return (
        check_text("note", value, max_len=MAX_LEAD_NOTE, multiline=True, allow_empty=True) or None
    )


# Constructors without checks, for records routing builds from checked values
# (see ``validation.trusted``); one lead makes one of each (and a membership,
# ``service.base._membership``).
_lead = trusted_builder(Lead)
_notification = trusted_builder(Notification)
_domain_event = trusted_builder(DomainEvent)


def _name(contact: Contact | None) -> str:
    if contact is None:
        return "(deleted contact)"
    first, last = contact.first_name, contact.last_name
    return (f"{first} {last}" if first and last else first or last) or contact.id


def _keys(contact: Contact) -> tuple[str, ...]:
    """The contact's dedupe keys: normalised (lower-case) emails and phone numbers."""
    return tuple(
        [f"email:{e.address.strip().lower()}" for e in contact.emails]
        + [f"phone:{p.number}" for p in contact.phones]
    )


#: How the note of a pool's follow-up task starts (it names the pool and the cadence).
POOL_TASK_NOTE = "Follow up your new lead from "


class Router:
    """Applies routing decisions inside one unit of work for one team.

    Collects notifications, events, memberships and tasks and writes them in
    :meth:`flush` (call it once, before the unit commits).
    """

    def __init__(
        self,
        uow: UnitOfWork,
        team_id: TeamId,
        actor_id: MemberId | None,
        now: datetime,
        reactions: Reactions,
    ) -> None:
        self.uow = uow
        self.reactions = reactions
        self.team_id = team_id
        self.actor_id = actor_id
        self.now = now
        self._members: dict[str, Member] | None = None
        self._pools: dict[str, LeadPool | None] = {}
        self._contacts: dict[str, Contact | None] = {}
        self._inbound: dict[str, Bucket] = {}
        self._place: dict[str, list[str]] = {}
        self._received: dict[tuple[str, str], list[datetime]] = {}
        self._loads: dict[str, dict[str, MemberLoad]] = {}
        self._counting: dict[str, bool] = {}  # pool id: keeps receipts or loads (see _counts)
        self.new_leads: list[Lead] = []
        self.new_offers: list[Offer] = []
        self.notifications: list[Notification] = []
        self.events: list[DomainEvent] = []
        self.tasks: list[Task] = []

    # ------------------------------------------------------------- lookups
    @property
    def members(self) -> dict[str, Member]:
        """The team's members by id (read once per unit)."""
        if self._members is None:
            self._members = {m.id: m for m in self.uow.members.all(self.team_id)}
        return self._members

    def pool(self, pool_id: PoolId | None) -> LeadPool | None:
        """The pool (``None`` if the lead has none or it was deleted)."""
        if pool_id is None:
            return None
        if pool_id not in self._pools:
            try:
                self._pools[pool_id] = self.uow.lead_pools.get(self.team_id, pool_id)
            except NotFound:
                self._pools[pool_id] = None
        return self._pools[pool_id]

    def contact(self, contact_id: str) -> Contact | None:
        """The contact (``None`` if it was deleted)."""
        if contact_id not in self._contacts:
            found = _load_contacts(self.uow, self.team_id, [ContactId(contact_id)])
            self._contacts[contact_id] = found[0] if found else None
        return self._contacts[contact_id]

    def remember(self, contacts: Iterable[Contact]) -> None:
        """Cache contacts already loaded."""
        for c in contacts:
            self._contacts[c.id] = c

    def supervisors(self, pool: LeadPool | None) -> list[MemberId]:
        """Who hears about leads nobody took: the pool's fallback, else the active admins."""
        if pool is not None and pool.fallback_member_id is not None:
            fallback = self.members.get(pool.fallback_member_id)
            if fallback is not None and fallback.active:
                return [fallback.id]
        return self.admins()

    def admins(self) -> list[MemberId]:
        """The team's active admins."""
        return [m.id for m in self.members.values() if m.active and m.role is Role.ADMIN]

    # ------------------------------------------------------- capacity, loads
    def _day_start(self, member_id: str) -> datetime:
        member = self.members.get(member_id)
        zone = member.time_zone if member is not None else "UTC"
        return start_of_day(local_date(self.now, zone), zone)

    def _receipts(self, pool: LeadPool, member_id: str) -> list[datetime]:
        """When the member received the pool's leads lately (read once, then kept up to date)."""
        key = (pool.id, member_id)
        got = self._received.get(key)
        if got is None:
            since = min(self.now - ROLLING, self._day_start(member_id))
            got = self._received[key] = self.uow.leads.received(
                self.team_id, pool.id, MemberId(member_id), since
            )
        return got

    def is_full(self, pool: LeadPool, member_id: str) -> bool:
        """True when the member may receive no more leads of *pool* now (its cap is reached)."""
        cap = pool.capacity_of(member_id)
        if cap is None:
            return False
        if cap.opted_out:
            return True
        times = self._receipts(pool, member_id)
        if cap.per_30_days is not None:
            since = self.now - ROLLING
            if sum(1 for t in times if t > since) >= cap.per_30_days:
                return True
        if cap.per_day is not None:
            start = self._day_start(member_id)
            if sum(1 for t in times if t >= start) >= cap.per_day:
                return True
        return False

    def full(
        self, pool: LeadPool | None, candidates: Iterable[str] | None = None
    ) -> frozenset[str]:
        """The members (of the pool, or *candidates*) at their cap for *pool*."""
        if pool is None or (pool.capacity is None and not pool.member_capacity):
            return frozenset()
        ids = pool.member_ids if candidates is None else candidates
        return frozenset(m for m in ids if self.is_full(pool, m))

    def loads(self, pool: LeadPool) -> dict[str, MemberLoad]:
        """Open leads and last receipt of the pool's members (read once per unit)."""
        got = self._loads.get(pool.id)
        if got is None:
            got = self._loads[pool.id] = self.uow.leads.loads(
                self.team_id, pool.id, pool.member_ids
            )
        return got

    def _counts(self, pool: LeadPool) -> bool:
        """True when the unit must keep *pool*'s receipts or loads in step (caps, least loaded)."""
        counts = self._counting.get(pool.id)
        if counts is None:
            counts = self._counting[pool.id] = (
                self._uses_loads(pool) or pool.capacity is not None or bool(pool.member_capacity)
            )
        return counts

    def _uses_loads(self, pool: LeadPool) -> bool:
        return not isinstance(pool.method, DistributionMethod) or (
            pool.method is DistributionMethod.LEAST_LOADED
        )

    def _prime(self, pool: LeadPool | None, gained: Iterable[str]) -> None:
        """Read what the in-memory counts start from *before* the unit writes a change."""
        if pool is None:
            return
        if self._uses_loads(pool):
            self.loads(pool)
        for member_id in gained:
            if pool.capacity_of(member_id) is not None:
                self._receipts(pool, member_id)

    def _counted(self, pool: LeadPool | None, gained: Iterable[str], lost: Iterable[str]) -> None:
        """Keep the in-memory receipts and loads in step with a change just written."""
        if pool is None:
            return
        for member_id in gained:
            got = self._received.get((pool.id, member_id))
            if got is not None:
                got.append(self.now)
        loads = self._loads.get(pool.id)
        if loads is None:
            return
        for member_id in gained:
            load = loads.get(member_id, MemberLoad())
            loads[member_id] = MemberLoad(open_leads=load.open_leads + 1, last_assigned_at=self.now)
        for member_id in lost:
            load = loads.get(member_id, MemberLoad())
            loads[member_id] = attrs.evolve(load, open_leads=max(0, load.open_leads - 1))

    def context(
        self,
        pool: LeadPool,
        *,
        cursor: int = 0,
        contact: Contact | None = None,
        excluded: Mapping[str, SkipReason] | None = None,
        note: str | None = None,
    ) -> RoutingContext:
        """The context a strategy decides in: members, cursor, who is full, loads, the contact."""
        return RoutingContext(
            pool=pool,
            members=self.members,
            now=self.now,
            cursor=cursor,
            excluded=excluded or {},
            actor_id=self.actor_id,
            note=note,
            full=self.full(pool),
            loads=self.loads(pool) if self._uses_loads(pool) else {},
            contact=contact,
        )

    # ------------------------------------------------------------- records
    def notify(
        self,
        member_ids: Iterable[str],
        kind: NotificationKind,
        lead: Lead,
        message: str,
        **data: str | int | None,
    ) -> None:
        """Queue one notification per member about *lead*.

        A ``note`` in *data* (the one an admin made about the assignment, seed
        001) is also appended to the message, on one line, so the member reads
        it in the feed and in the email digest.
        """
        # Built from checked values (ids of stored entities, our own wording):
        # no checks again - routing writes one per lead (see ``validation.trusted``).
        details = FrozenDict(lead_id=lead.id, contact_id=lead.contact_id, **data)
        note = data.get("note")
        if isinstance(note, str) and note.strip():
            message = f"{message} - note: {' '.join(note.split())}"
        for member_id in dict.fromkeys(member_ids):
            self.notifications.append(
                _notification(
                    id=new_notification_id(),
                    team_id=self.team_id,
                    member_id=member_id,
                    kind=kind,
                    subject_id=lead.id,
                    message=message,
                    created_at=self.now,
                    data=details,
                )
            )

    def event(self, event_name: EventName, subject_id: str, /, **data: Any) -> None:
        """Queue a domain event (its data: ids, names and lists of ids this module builds)."""
        self.events.append(
            _domain_event(
                name=event_name,
                team_id=self.team_id,
                subject_id=subject_id,
                occurred_at=self.now,
                actor_id=self.actor_id,
                data=data,  # a fresh dict; lists (never tuples) of ids, as the checks make
            )
        )

    def describe(self, lead: Lead) -> str:
        """``"Maria Garcia (Website leads)"``."""
        pool = self.pool(lead.pool_id)
        name = _name(self.contact(lead.contact_id))
        return f"{name} ({pool.name})" if pool is not None else name

    # ------------------------------------------------------------- entering
    def enter(self, pool: LeadPool, contacts: Sequence[Contact]) -> int:
        """Make leads of *contacts* entering *pool* and route them (exactly once per entry).

        Returns how many new leads it made (contacts that joined an open lead
        as duplicates, or already had one, make none).
        """
        self.remember(contacts)
        self._pools[pool.id] = pool
        ids = [c.id for c in contacts]
        taken = {
            lead.contact_id for lead in self.uow.leads.open_for_contacts(self.team_id, pool.id, ids)
        }
        key_owner: dict[str, Lead] = {}
        keys_of: dict[str, tuple[str, ...]] = {}
        if pool.dedupe:
            keys_of = {c.id: _keys(c) for c in contacts if c.id not in taken}
            all_keys = {k for keys in keys_of.values() for k in keys}
            if all_keys:
                for lead in self.uow.leads.open_with_keys(self.team_id, pool.id, all_keys):
                    for key in lead.keys:
                        key_owner[key] = lead
        entries = self.uow.leads.entries(self.team_id, pool.id, ids)
        cursor = self.uow.routing_cursors.get(self.team_id, pool.id)
        position = cursor.position
        made = 0
        # For most methods a decision is a pure function of the cursor and of
        # who is full (same pool, members and time for the whole call), so one
        # per (position, full) is enough.
        cacheable = pool.method in _BY_CURSOR
        decisions: dict[tuple[int, frozenset[str]], RoutingDecision] = {}
        for contact in contacts:
            if contact.id in taken:
                continue
            keys = keys_of.get(contact.id, ())  # none when the pool does not dedupe
            duplicate = next((key_owner[k] for k in keys if k in key_owner), None)
            if duplicate is not None:
                self.join(duplicate, contact, pool)
                continue
            taken.add(contact.id)
            decision = None
            if cacheable:
                state = (position, self.full(pool))
                decision = decisions.get(state)
            if decision is None:
                decision = decide(self.context(pool, cursor=position, contact=contact))
                if cacheable:
                    decisions[state] = decision
            if decision.cursor_after is not None:
                position = decision.cursor_after
            # built from checked entities (contact, pool, decision): no checks again
            lead = _lead(
                id=new_lead_id(),
                team_id=self.team_id,
                contact_id=contact.id,
                pool_id=pool.id,
                created_at=self.now,
                entry=entries.get(contact.id, 0) + 1,
                keys=tuple(dict.fromkeys(keys)),
                **self._state(None, decision.explanation, pool),
            )
            for key in keys:
                key_owner[key] = lead
            self.apply(lead, decision, pool, new=True)
            made += 1
        if position != cursor.position:
            self.uow.routing_cursors.put(
                attrs.evolve(cursor, position=position, version=cursor.version + 1)
            )
        return made

    def join(self, lead: Lead, contact: Contact, pool: LeadPool) -> None:
        """A contact matching an open lead of the pool joins it instead of becoming a lead.

        The lead's owners get the contact in their inbound buckets and a
        ``lead_duplicate`` notification; a ``lead.duplicate_skipped`` event
        records it (no new lead, no routing turn used).
        """
        self.event(
            EventName.LEAD_DUPLICATE_SKIPPED,
            contact.id,
            pool_id=pool.id,
            lead_id=lead.id,
            matched_contact_id=lead.contact_id,
        )
        if lead.status is LeadStatus.ASSIGNED:
            for member_id in lead.assignee_ids:
                bucket = self.inbound_bucket(member_id)
                self._place.setdefault(bucket.id, []).append(contact.id)
            self.notify(
                lead.assignee_ids,
                NotificationKind.LEAD_DUPLICATE,
                lead,
                f"{_name(contact)} matches your lead {self.describe(lead)} and joined it",
                joined_contact_id=contact.id,
            )

    # ------------------------------------------------------------- applying
    def apply(
        self,
        lead: Lead,
        decision: RoutingDecision,
        pool: LeadPool | None,
        *,
        new: bool = False,
        reassign: bool = False,
        offered_by: MemberId | None = None,
        lost_kind: NotificationKind | None = None,
    ) -> RoutingResult:
        """Apply *decision* to *lead*: store it, make offers, notify, place the contact.

        A *new* lead is passed already in its decided state (see :meth:`_state`).
        """
        exp = decision.explanation
        outcome = exp.outcome
        before: tuple[MemberId, ...] = () if new else lead.assignee_ids
        offers: tuple[Offer, ...] = ()
        gained = [m for m in exp.chosen if m not in before]
        lost = [m for m in before if m not in exp.chosen]
        # Only pools with caps or least-loaded routing keep in-memory counts.
        counted = pool if lead.role is None and pool is not None and self._counts(pool) else None
        if counted is not None:
            self._prime(counted, gained)
        if new:
            stored = lead
            self.new_leads.append(stored)
        else:
            changes = self._state(lead, exp, pool)
            self.withdraw_offers(lead)
            stored = bumped(lead, **changes)
            self.uow.leads.update(stored)
        if counted is not None:
            self._counted(counted, gained, lost)
        who = self.describe(stored)
        pool_name = pool.name if pool is not None else None
        if outcome is RoutingOutcome.ASSIGNED:
            if reassign and lost:
                self.notify(
                    gained,
                    NotificationKind.LEAD_REASSIGNED_TO_YOU,
                    stored,
                    f"Lead reassigned to you: {who}",
                    pool=pool_name,
                    note=exp.note,
                )
            else:
                self.notify(
                    gained,
                    NotificationKind.LEAD_ASSIGNED,
                    stored,
                    f"New lead: {who}",
                    pool=pool_name,
                    note=exp.note,
                )
            for member_id in gained:
                self.place(stored, member_id, pool)
            if not new:
                self.event(
                    EventName.LEAD_REASSIGNED if lost else EventName.LEAD_ASSIGNED,
                    stored.id,
                    member_ids=list(exp.chosen),
                    previous=list(before),
                    method=exp.method,
                )
        if lost:
            kind = (
                lost_kind
                if lost_kind is not None
                else NotificationKind.LEAD_REASSIGNED_AWAY
                if outcome is RoutingOutcome.ASSIGNED
                else NotificationKind.LEAD_REMOVED
                if outcome is RoutingOutcome.REMOVED
                else NotificationKind.LEAD_REVOKED
            )
            verb = {
                NotificationKind.LEAD_REASSIGNED_AWAY: "reassigned to someone else",
                NotificationKind.LEAD_REMOVED: "removed",
                NotificationKind.LEAD_REVOKED: "taken back",
                NotificationKind.RESPONSE_WINDOW_MISSED: "passed on (no touch within the window)",
            }[kind]
            self.notify(lost, kind, stored, f"Lead {verb}: {who}", note=exp.note)
            self.take_back(stored, lost)
        if outcome is RoutingOutcome.OFFERED:
            assert exp.offer_expires_at is not None
            offers = tuple(
                Offer(
                    id=new_offer_id(),
                    team_id=self.team_id,
                    lead_id=stored.id,
                    member_id=member_id,
                    created_at=self.now,
                    expires_at=exp.offer_expires_at,
                    offered_by=offered_by,
                    note=exp.note,
                )
                for member_id in exp.offered
            )
            self.new_offers.extend(offers)
            for offer in offers:
                self.notify(
                    [offer.member_id],
                    NotificationKind.LEAD_OFFERED,
                    stored,
                    f"Lead offered to you until {offer.expires_at:%Y-%m-%d %H:%M} UTC: {who}",
                    offer_id=offer.id,
                    expires_at=offer.expires_at.isoformat(),
                    note=exp.note,
                )
            if not new:
                self.event(
                    EventName.LEAD_OFFERED,
                    stored.id,
                    member_ids=list(exp.offered),
                    expires_at=exp.offer_expires_at.isoformat(),
                )
        if outcome is RoutingOutcome.NO_ELIGIBLE:
            self.notify(
                self.supervisors(pool),
                NotificationKind.NO_ELIGIBLE_MEMBER,
                stored,
                f"Nobody could take the lead {who}; it waits unassigned",
                pool=pool_name,
            )
        if new:
            self.event(
                EventName.LEAD_ROUTED,
                stored.id,
                pool_id=stored.pool_id,
                contact_id=stored.contact_id,
                entry=stored.entry,
                outcome=outcome.value,
                method=exp.method,
                member_ids=list(exp.chosen or exp.offered),
            )
        elif outcome in (RoutingOutcome.WAITING, RoutingOutcome.NO_ELIGIBLE):
            self.event(EventName.LEAD_ROUTED, stored.id, outcome=outcome.value, method=exp.method)
        return RoutingResult(lead=stored, decision=decision, offers=offers)

    def _state(
        self, lead: Lead | None, exp: RoutingExplanation, pool: LeadPool | None
    ) -> dict[str, Any]:
        """The lead fields that a decision with explanation *exp* sets.

        A lead assigned to one member of a pool with a response window must
        be touched by ``respond_by``.
        """
        outcome = exp.outcome
        if outcome is RoutingOutcome.ASSIGNED:
            keep_time = (
                lead is not None
                and lead.assigned_at is not None
                and set(exp.chosen) == set(lead.assignee_ids)
            )
            if keep_time and lead is not None:
                assigned_at, respond_by = lead.assigned_at, lead.respond_by
            else:
                assigned_at, respond_by = self.now, None
                window = pool.response_window if pool is not None else None
                if window is not None and len(exp.chosen) == 1:
                    respond_by = self.now + window
            return {
                "status": LeadStatus.ASSIGNED,
                "assignee_ids": exp.chosen,
                "assigned_at": assigned_at,
                "respond_by": respond_by,
                "explanation": exp,
            }
        status = {
            RoutingOutcome.OFFERED: LeadStatus.OFFERED,
            RoutingOutcome.REMOVED: LeadStatus.REMOVED,
        }.get(outcome, LeadStatus.UNASSIGNED)
        return {
            "status": status,
            "assignee_ids": (),
            "assigned_at": None,
            "respond_by": None,
            "explanation": exp,
        }

    def withdraw_offers(self, lead: Lead, *, except_id: str | None = None) -> None:
        """Withdraw the lead's open offers (telling their members)."""
        if lead.status is not LeadStatus.OFFERED:
            return
        for offer in self.uow.offers.for_lead(self.team_id, lead.id):
            if offer.is_open and offer.id != except_id:
                self.uow.offers.update(
                    bumped(offer, status=OfferStatus.WITHDRAWN, settled_at=self.now)
                )
                self.notify(
                    [offer.member_id],
                    NotificationKind.OFFER_WITHDRAWN,
                    lead,
                    f"Offer withdrawn: {self.describe(lead)}",
                    offer_id=offer.id,
                )
                self.event(EventName.OFFER_WITHDRAWN, offer.id, lead_id=lead.id)

    def place(self, lead: Lead, member_id: MemberId, pool: LeadPool | None) -> None:
        """Put the lead's contact in the member's inbound bucket; start the pool's cadence."""
        bucket = self.inbound_bucket(member_id)
        self._place.setdefault(bucket.id, []).append(lead.contact_id)
        if pool is not None and pool.follow_up is not None:
            self.tasks.append(self._follow_up_task(lead, member_id, pool.follow_up, pool))

    def _follow_up_task(
        self, lead: Lead, member_id: MemberId, cadence: Cadence, pool: LeadPool
    ) -> Task:
        zone = self.members[member_id].time_zone
        due = start_of_day(cadence.after(local_date(self.now, zone)), zone)
        return Task(
            id=new_task_id(),
            team_id=self.team_id,
            member_id=member_id,
            contact_id=lead.contact_id,
            due_at=due,
            created_at=self.now,
            created_by=self.actor_id or member_id,
            note=f"{POOL_TASK_NOTE}{pool.name} ({cadence})",
        )

    def inbound_bucket(self, member_id: MemberId) -> Bucket:
        """Return the member's inbound bucket, creating a personal one when needed.

        A mapped bucket the member can no longer add contacts to is replaced
        by a new personal one (the member must see the leads they get).
        """
        if member_id in self._inbound:
            return self._inbound[member_id]
        row = self.uow.inbound_buckets.get(self.team_id, member_id)
        bucket: Bucket | None = None
        if row is not None:
            try:
                bucket = self.uow.buckets.get(self.team_id, row.bucket_id)
            except NotFound:
                bucket = None
        member = self.members.get(member_id)
        if bucket is not None and (member is None or not perm.can_edit_bucket(member, bucket)):
            # Rights are read now: a team bucket the member may no longer add
            # to (grant revoked or lowered, role changed) would hand them
            # leads they cannot see; they get a personal one instead.
            bucket = None
        if bucket is None:
            bucket = self._new_inbound(member_id, replacing=row is not None)
        self._inbound[member_id] = bucket
        return bucket

    def _new_inbound(self, member_id: MemberId, *, replacing: bool) -> Bucket:
        """Make the member a personal "Routed leads" bucket, unless another unit just did.

        The member's row is claimed in the database (``inbound_buckets.claim``):
        of two units routing the member's first leads at once, the second
        waits for the first, takes its bucket and drops its own (never
        committed).  *replacing*: the member's row names a bucket that no
        longer exists (databases of earlier releases); it is overwritten.
        """
        bucket = Bucket(
            id=new_bucket_id(),
            team_id=self.team_id,
            name=INBOUND_BUCKET_NAME,
            kind=BucketKind.PERSONAL,
            owner_id=member_id,
            created_at=self.now,
            created_by=member_id,
        )
        self.uow.buckets.add(bucket)  # first: the row's foreign key names it
        row = InboundBucket(team_id=self.team_id, member_id=member_id, bucket_id=bucket.id)
        if replacing:
            self.uow.inbound_buckets.put(row)
        else:
            stored = self.uow.inbound_buckets.claim(row)
            if stored.bucket_id != bucket.id:  # another unit made one first: use it
                self.uow.buckets.delete(self.team_id, bucket.id, bucket.version)
                return self.uow.buckets.get(self.team_id, BucketId(stored.bucket_id))
        self.event(EventName.BUCKET_CREATED, bucket.id, kind=bucket.kind.value, name=bucket.name)
        self.event(EventName.INBOUND_BUCKET_CHANGED, member_id, bucket_id=bucket.id)
        return bucket

    def take_back(self, lead: Lead, member_ids: Iterable[str]) -> None:
        """Take the lead's contact out of the members' personal inbound buckets."""
        for member_id in member_ids:
            row = self.uow.inbound_buckets.get(self.team_id, MemberId(member_id))
            if row is None:
                continue
            try:
                bucket = self.uow.buckets.get(self.team_id, row.bucket_id)
            except NotFound:
                continue
            if not bucket.is_personal:
                continue
            removed = self.uow.memberships.remove_many(self.team_id, bucket.id, [lead.contact_id])
            if removed:  # its follow-up clocks stop when the event's reactions run (flush)
                self.event(EventName.BUCKET_ITEMS_REMOVED, bucket.id, item_ids=removed)

    def flush(self) -> None:
        """Write everything collected (leads, offers, memberships, tasks, notifications, events)."""
        if self.new_leads:
            self.uow.leads.add_many(self.new_leads)
            self.new_leads = []
        if self.new_offers:
            self.uow.offers.add_many(self.new_offers)
            self.new_offers = []
        for bucket_id, contact_ids in self._place.items():
            rows = [
                _membership(
                    team_id=self.team_id,
                    bucket_id=bucket_id,
                    item_id=cid,
                    added_at=self.now,
                    added_by=self.actor_id,
                )
                for cid in dict.fromkeys(contact_ids)
            ]
            added = self.uow.memberships.add_many(rows)
            if added:  # follow-up clocks start when the event's reactions run (below)
                ids = [m.item_id for m in added]
                self.event(EventName.BUCKET_ITEMS_ADDED, bucket_id, item_ids=ids)
        self._place = {}
        for task in self.tasks:
            self.uow.tasks.add(task)
            self.event(EventName.TASK_CREATED, task.id, member_id=task.member_id)
        self.tasks = []
        if self.notifications:
            self.uow.notifications.add_many(self.notifications)
            self.notifications = []
        # Every event is collected and its reactions run, in order (routing's
        # own placements are not routed again: origin "routing").
        while self.events:
            events, self.events = self.events, []
            cache: dict[str, Any] = {}
            for event in events:
                self.reactions.emit(
                    self.uow, event, contacts=self._contacts, origin="routing", cache=cache
                )

    # ------------------------------------------------------------- offers closing
    def close_offer(self, offer: Offer, status: OfferStatus, lead: Lead) -> tuple[Offer, Lead]:
        """Settle one open offer as declined or expired; return it and the lead as updated.

        When it was the lead's last open offer, the lead goes back to its pool
        unassigned and the pool's fallback (or the admins) is told.
        """
        settled: Offer = bumped(offer, status=status, settled_at=self.now)
        self.uow.offers.update(settled)
        who = self.describe(lead)
        pool = self.pool(lead.pool_id)
        if status is OfferStatus.EXPIRED:
            self.notify(
                [offer.member_id],
                NotificationKind.OFFER_EXPIRED,
                lead,
                f"Offer expired: {who}",
                offer_id=offer.id,
            )
            self.event(EventName.OFFER_EXPIRED, offer.id, lead_id=lead.id)
        else:
            self.notify(
                self.supervisors(pool),
                NotificationKind.OFFER_DECLINED,
                lead,
                f"{self._member_name(offer.member_id)} declined the lead {who}",
                offer_id=offer.id,
                member_id=offer.member_id,
            )
            self.event(EventName.OFFER_DECLINED, offer.id, lead_id=lead.id)
            lead = bumped(lead, declined_by=(*lead.declined_by, offer.member_id))
            self.uow.leads.update(lead)
        if lead.status is not LeadStatus.OFFERED:
            return settled, lead
        offers = self.uow.offers.for_lead(self.team_id, lead.id)
        if any(o.is_open for o in offers):
            return settled, lead
        if (
            pool is not None
            and pool.active
            and pool.method is DistributionMethod.SEQUENTIAL_OFFER
            and lead.role is None
        ):
            return settled, self.offer_next(lead, pool, offers).lead
        explanation = RoutingExplanation(
            method="offers_closed",
            outcome=RoutingOutcome.UNASSIGNED,
            decided_at=self.now,
            pool_id=lead.pool_id,
            actor_id=self.actor_id,
            skipped=tuple(
                Skipped(member_id=m, reason=SkipReason.DECLINED) for m in lead.declined_by
            ),
            note="every offer was declined or expired; back to the pool",
        )
        lead = bumped(lead, status=LeadStatus.UNASSIGNED, explanation=explanation, assignee_ids=())
        self.uow.leads.update(lead)
        self.notify(
            self.supervisors(pool),
            NotificationKind.LEAD_UNASSIGNED,
            lead,
            f"Every offer of {who} was declined or expired; it waits unassigned",
        )
        self.event(EventName.LEAD_RETURNED, lead.id, pool_id=lead.pool_id)
        return settled, lead

    def offer_next(self, lead: Lead, pool: LeadPool, offers: Sequence[Offer]) -> RoutingResult:
        """``sequential_offer``: offer the lead to the next member after the last one offered.

        Members who declined it or were offered it already are passed over;
        when nobody is left the lead waits unassigned and the fallback (or
        the admins) is told.
        """
        excluded: dict[str, SkipReason] = {o.member_id: SkipReason.ALREADY_OFFERED for o in offers}
        excluded.update(dict.fromkeys(lead.declined_by, SkipReason.DECLINED))
        last = pool.position_of(offers[-1].member_id) if offers else None
        decision = decide(
            self.context(
                pool,
                cursor=0 if last is None else last + 1,
                contact=self.contact(lead.contact_id),
                excluded=excluded,
            )
        )
        if decision.outcome is RoutingOutcome.NO_ELIGIBLE:
            decision = RoutingDecision(
                explanation=attrs.evolve(
                    decision.explanation,
                    note="every eligible member was offered the lead in turn; back to the pool",
                )
            )
        return self.apply(lead, decision, pool)

    def touched(self, lead: Lead, member_id: str) -> bool:
        """True if *member_id* logged an interaction with the lead's contact since assignment.

        Viewing a contact is not an interaction, so it does not count.
        """
        since = lead.assigned_at
        if since is None:
            return False
        for interaction in self.uow.interactions.for_contact(self.team_id, lead.contact_id):
            if interaction.author_id == member_id and since <= interaction.occurred_at <= self.now:
                return True
        return False

    def enforce_response(self, lead: Lead) -> RoutingResult | None:
        """Reassign a lead whose owner let the pool's response window pass without a touch.

        Returns the reassignment, or ``None`` when the lead was touched in
        time, has no single owner any more, or nobody else can take it (then
        it stays, and the fallback or the admins are told).
        """
        pool = self.pool(lead.pool_id)
        owner = lead.assignee_id
        if (
            owner is None
            or len(lead.assignee_ids) != 1
            or pool is None
            or not pool.active
            or pool.response_window is None
            or self.touched(lead, owner)
        ):
            self.uow.leads.update(bumped(lead, respond_by=None))
            return None
        excluded: dict[str, SkipReason] = dict.fromkeys(lead.declined_by, SkipReason.DECLINED)
        excluded[owner] = SkipReason.NO_RESPONSE
        cursor = self.uow.routing_cursors.get(self.team_id, pool.id)
        minutes = int(pool.response_window.total_seconds() // 60)
        decision = decide(
            self.context(
                pool,
                cursor=cursor.position,
                contact=self.contact(lead.contact_id),
                excluded=excluded,
                note=f"no interaction by {owner} within {minutes} min of assignment",
            )
        )
        self.event(EventName.LEAD_RESPONSE_MISSED, lead.id, member_id=owner, pool_id=pool.id)
        if decision.outcome not in (RoutingOutcome.ASSIGNED, RoutingOutcome.OFFERED):
            self.uow.leads.update(bumped(lead, respond_by=None))
            self.notify(
                [*self.supervisors(pool), owner],
                NotificationKind.RESPONSE_WINDOW_MISSED,
                lead,
                f"No interaction within {minutes} min on {self.describe(lead)};"
                " nobody else could take it",
                member_id=owner,
            )
            return None
        if decision.cursor_after is not None and decision.cursor_after != cursor.position:
            self.uow.routing_cursors.put(
                attrs.evolve(cursor, position=decision.cursor_after, version=cursor.version + 1)
            )
        return self.apply(
            lead,
            decision,
            pool,
            reassign=True,
            lost_kind=NotificationKind.RESPONSE_WINDOW_MISSED,
        )

    def _member_name(self, member_id: str) -> str:
        member = self.members.get(member_id)
        return member.name if member is not None else member_id


def _load_contacts(uow: UnitOfWork, team_id: TeamId, ids: Sequence[ContactId]) -> list[Contact]:
    """Load contacts: one by one (primary-key lookups) when few, else in one query.

    A few ``get`` calls keep a one-contact routing unit independent of the
    team's size on stores whose ``get_many`` scans the team.
    """
    if len(ids) > 8:
        return uow.contacts.get_many(team_id, ids)
    out = []
    for contact_id in dict.fromkeys(ids):
        try:
            out.append(uow.contacts.get(team_id, contact_id))
        except NotFound:
            continue
    return out


def enforce_response_windows(crm: CRM, now: datetime | None = None) -> int:
    """Reassign every lead whose owner let its pool's response window pass; return how many.

    A lead assigned to one member of a pool with a ``response_window`` must
    get an interaction by that member with the contact (a call, email,
    note... - viewing does not count) within the window.  If not, it is
    reassigned by the pool's method to someone else (the owner is passed
    over as ``no_response``), and both are told; if nobody else can take it
    it stays and the fallback (or the admins) and the owner are told.

    Idempotent and safe to run in several processes at once: each batch is
    read and settled inside one unit of work, and a settled lead's
    ``respond_by`` is cleared or moved past *now*.
    """
    at = crm.now() if now is None else check_time("now", now)
    total = 0
    while True:
        with crm.store.unit_of_work() as uow:
            due = uow.leads.response_due(at, RESPONSE_BATCH)
            if not due:
                return total
            routers: dict[str, Router] = {}
            for lead in due:
                router = routers.get(lead.team_id)
                if router is None:
                    router = routers[lead.team_id] = Router(
                        uow, lead.team_id, None, at, crm.reactions
                    )
                if router.enforce_response(lead) is not None:
                    total += 1
            for router in routers.values():
                router.flush()
            uow.commit()
        if len(due) < RESPONSE_BATCH:
            return total


def expire_offers(crm: CRM, now: datetime | None = None) -> int:
    """Expire every open offer whose window has passed by *now*; return how many.

    Idempotent and safe to run in several processes at once: each batch is
    read and settled inside one unit of work, so an offer settled by another
    process is no longer due when this one looks.
    """
    at = crm.now() if now is None else check_time("now", now)
    total = 0
    while True:
        with crm.store.unit_of_work() as uow:
            due = uow.offers.due(at, EXPIRY_BATCH)
            if not due:
                return total
            routers: dict[str, Router] = {}
            for offer in due:
                router = routers.get(offer.team_id)
                if router is None:
                    router = routers[offer.team_id] = Router(
                        uow, offer.team_id, None, at, crm.reactions
                    )
                lead = uow.leads.get(offer.team_id, offer.lead_id)
                router.close_offer(offer, OfferStatus.EXPIRED, lead)
            for router in routers.values():
                router.flush()
            uow.commit()
            total += len(due)
        if len(due) < EXPIRY_BATCH:
            return total


#: The columns ``leads()`` shows as a table (a lead's explanation is left to ``explain``).
LEAD_COLUMNS = ("id", "contact_id", "pool_id", "status", "assignee_ids", "assigned_at", "entry")


class RoutingUseCases(SessionBase):
    """Lead pools, routing, offers, assignment actions, the routing dashboard."""

    # ================================================================ pools
    def create_pool(
        self,
        name: str,
        *,
        source_bucket_ids: Iterable[BucketId],
        member_ids: Iterable[MemberId] = (),
        method: DistributionMethod | MethodName | StrategyName = DistributionMethod.MANUAL,
        offer_window: timedelta = DEFAULT_OFFER_WINDOW,
        follow_up: Cadence | str | None = None,
        fallback_member_id: MemberId | None = None,
        active: bool = True,
        weights: Mapping[str, int] | None = None,
        capacity: Capacity | Mapping[str, int | None] | None = None,
        member_capacity: Mapping[str, Capacity | Mapping[str, int | None]] | None = None,
        response_window: timedelta | None = None,
        dedupe: bool = True,
    ) -> LeadPool:
        """Create a lead pool (admins).

        Source buckets must be team buckets of this team; members and the
        fallback must be members of the team.  Members are kept in the order
        given (the round-robin order).  *method* is a
        :class:`DistributionMethod` or the name of a registered custom
        strategy.  *weights* (``weighted``: member id to a weight of 1 or
        more, default 1), *capacity* (a :class:`Capacity` for every member),
        *member_capacity* (per member, replacing *capacity*),
        *response_window* and *dedupe* are described in ``docs/routing.md``.
        """
        with self._unit() as (uow, actor):
            perm.require_admin(actor, "create lead pools")
            now = self.crm.now()
            pool = LeadPool(
                id=new_pool_id(),
                team_id=self.team_id,
                name=name,
                created_at=now,
                source_bucket_ids=_id_list(
                    "source_bucket_ids", source_bucket_ids, prefixes=("bk_",)
                ),  # type: ignore[arg-type]
                member_ids=_id_list("member_ids", member_ids, prefixes=("mb_",)),  # type: ignore[arg-type]
                method=method,
                active=active,
                offer_window=offer_window,
                follow_up=follow_up,  # type: ignore[arg-type]
                fallback_member_id=fallback_member_id,
                created_by=actor.id,
                weights=weights or {},
                capacity=capacity,  # type: ignore[arg-type]
                member_capacity=member_capacity or {},  # type: ignore[arg-type]
                response_window=response_window,
                dedupe=dedupe,
            )
            self._check_pool(uow, pool)
            uow.lead_pools.add(pool)
            uow.collect(
                self._event(
                    EventName.POOL_CREATED, pool.id, now, name=pool.name, method=pool.method_name
                )
            )
            uow.commit()
            return pool

    def _check_pool(
        self, uow: UnitOfWork, pool: LeadPool, previous: LeadPool | None = None
    ) -> None:
        """Check what is new in *pool*: sources are team buckets, members are the team's.

        Sources and members the pool already had are not checked again.  A
        unit that gives a pool a new source holds the team (``teams.lock``)
        until it commits, as ``delete_bucket`` does: a bucket is never
        deleted while it becomes a source, so no pool names a deleted one.
        """
        if previous is None or previous.method != pool.method:
            strategy_for(pool.method)
        if previous is None or set(pool.source_bucket_ids) - set(previous.source_bucket_ids):
            uow.teams.lock(self.team_id)
        old_sources = set(previous.source_bucket_ids) if previous is not None else set()
        old_members = set(previous.member_ids) if previous is not None else set()
        for bucket_id in pool.source_bucket_ids:
            if bucket_id in old_sources:
                continue
            bucket = uow.buckets.get(self.team_id, bucket_id)
            if bucket.is_personal:
                raise ValidationError(
                    "source_bucket_ids", bucket_id, "a pool's sources must be team buckets"
                )
        for member_id in pool.member_ids:
            if member_id not in old_members:
                uow.members.get(self.team_id, member_id)
        if pool.fallback_member_id is not None:
            uow.members.get(self.team_id, pool.fallback_member_id)

    def update_pool(
        self, pool_id: PoolId, *, expected_version: int | None = None, **changes: Any
    ) -> LeadPool:
        """Change a pool's name, sources, members, method, window, follow-up, fallback (admins)."""
        unknown = set(changes) - POOL_FIELDS
        if unknown:
            raise ValidationError("pool", sorted(unknown)[0], "unknown pool field")
        for key in ("source_bucket_ids", "member_ids"):
            if key in changes:
                prefix = "bk_" if key == "source_bucket_ids" else "mb_"
                changes[key] = _id_list(key, changes[key], prefixes=(prefix,))
        if expected_version is not None:
            check_int("expected_version", expected_version, minimum=1)
        return self._change_pool(pool_id, "edit lead pools", expected_version, **changes)

    def activate_pool(self, pool_id: PoolId) -> LeadPool:
        """Turn a pool's routing on (admins); contacts already in its buckets are not routed."""
        return self._change_pool(pool_id, "activate lead pools", None, active=True)

    def deactivate_pool(self, pool_id: PoolId) -> LeadPool:
        """Turn a pool's routing off (admins); its leads stay as they are."""
        return self._change_pool(pool_id, "deactivate lead pools", None, active=False)

    def _change_pool(
        self, pool_id: str, action: str, expected_version: int | None, **changes: Any
    ) -> LeadPool:
        with self._unit() as (uow, actor):
            perm.require_admin(actor, action)
            pool = self._pool(uow, pool_id)
            if expected_version is not None and expected_version != pool.version:
                raise ConcurrencyError("lead pool", pool.id, expected_version)
            if all(getattr(pool, k) == v for k, v in changes.items()):
                return pool
            updated: LeadPool = bumped(pool, **changes)
            self._check_pool(uow, updated, pool)
            uow.lead_pools.update(updated)
            if changes.keys() & {"member_ids", "weights", "method"}:
                self._carry_rotation(uow, pool, updated)
            uow.collect(
                self._event(EventName.POOL_CHANGED, pool.id, self.crm.now(), fields=sorted(changes))
            )
            uow.commit()
            return updated

    def _carry_rotation(self, uow: UnitOfWork, before: LeadPool, after: LeadPool) -> None:
        """Keep the rotation going from the member served last (see :mod:`teamcrm.rotation`)."""
        cursor = uow.routing_cursors.get(self.team_id, before.id)
        position = carry_cursor(before, after, cursor.position)
        if position is not None and position != cursor.position:
            uow.routing_cursors.put(
                attrs.evolve(cursor, position=position, version=cursor.version + 1)
            )

    def delete_pool(self, pool_id: PoolId) -> None:
        """Delete an inactive pool (admins); its leads stay, without a pool."""
        with self._unit() as (uow, actor):
            perm.require_admin(actor, "delete lead pools")
            pool = self._pool(uow, pool_id)
            if pool.active:
                raise ValidationError("pool_id", pool.id, "deactivate the pool before deleting it")
            uow.lead_pools.delete(self.team_id, pool.id, pool.version)
            uow.collect(self._event(EventName.POOL_DELETED, pool.id, self.crm.now()))
            uow.commit()

    def pools(self) -> list[LeadPool]:
        """Return the team's pools (any active member may look)."""
        with self._unit(write=False) as (uow, _actor):
            return uow.lead_pools.all(self.team_id)

    def pool(self, pool_id: PoolId) -> LeadPool:
        """Return one pool."""
        with self._unit(write=False) as (uow, _actor):
            return self._pool(uow, pool_id)

    def _pool(self, uow: UnitOfWork, pool_id: str) -> LeadPool:
        check_id("pool_id", pool_id, "lp_")
        return uow.lead_pools.get(self.team_id, PoolId(pool_id))

    # ======================================================= inbound bucket
    def inbound_bucket(self) -> Bucket:
        """Return the bucket one's routed leads land in (created on first need)."""
        with self._unit() as (uow, actor):
            router = Router(uow, self.team_id, actor.id, self.crm.now(), self.crm.reactions)
            bucket = router.inbound_bucket(actor.id)
            router.flush()
            uow.commit()
            return bucket

    def set_inbound_bucket(self, bucket_id: BucketId) -> Bucket:
        """Receive routed leads into *bucket_id* from now on (one's own or an editable bucket)."""
        with self._unit() as (uow, actor):
            bucket = self._bucket(uow, actor, bucket_id)
            perm.require(
                perm.can_edit_bucket(actor, bucket),
                actor,
                "receive leads into this bucket",
                "one must be able to add contacts to it",
            )
            uow.inbound_buckets.put(
                InboundBucket(team_id=self.team_id, member_id=actor.id, bucket_id=bucket.id)
            )
            uow.collect(
                self._event(
                    EventName.INBOUND_BUCKET_CHANGED, actor.id, self.crm.now(), bucket_id=bucket.id
                )
            )
            uow.commit()
            return bucket

    # ============================================================ reading
    def leads(
        self,
        *,
        pool_id: PoolId | None = None,
        status: LeadStatus | LeadStatusName | None = None,
    ) -> Rows[Lead]:
        """Return leads (managers and admins: all; agents: the ones they own).

        An agent sees only leads on contacts they may see now: a lead whose
        contact left the agent's sight (taken out of their inbound bucket, a
        grant revoked) is not listed, since it carries the contact's keys.
        The list is a :class:`~teamcrm.rows.Rows` (a ``list`` that shows
        itself as a table).
        """
        return Rows(
            self._leads(pool_id=pool_id, status=status), title="Leads", columns=LEAD_COLUMNS
        )

    def _leads(self, *, pool_id: PoolId | None, status: LeadStatus | str | None) -> list[Lead]:
        wanted = None if status is None else LeadStatus(_enum("status", LeadStatus, status))
        if pool_id is not None:
            check_id("pool_id", pool_id, "lp_")
        with self._unit(write=False) as (uow, actor):
            rows = uow.leads.all(
                self.team_id, pool_id=PoolId(pool_id) if pool_id else None, status=wanted
            )
            return self._leads_seen(uow, actor, rows)

    def _leads_seen(self, uow: UnitOfWork, actor: Member, rows: list[Lead]) -> list[Lead]:
        """*rows* as :meth:`leads` lists them for *actor* (agents: owned, contact in sight)."""
        if actor.role.is_manager:
            return rows
        mine = [lead for lead in rows if actor.id in lead.assignee_ids]
        if not mine:
            return mine
        ids = list(dict.fromkeys(lead.contact_id for lead in mine))
        contacts = {c.id: c for c in uow.contacts.get_many(self.team_id, ids)}
        by_item: dict[str, list[BucketMembership]] = {}
        for m in uow.memberships.buckets_of(self.team_id, list(contacts)):
            by_item.setdefault(m.item_id, []).append(m)
        buckets = self._bucket_map(uow)
        return [
            lead
            for lead in mine
            if lead.contact_id not in contacts
            or perm.can_see_item(
                actor,
                contacts[lead.contact_id].created_by,
                by_item.get(lead.contact_id, []),
                buckets,
            )
        ]

    def lead(self, lead_id: LeadId) -> Lead:
        """Return one lead (managers and admins, its owners, and members offered it)."""
        with self._unit(write=False) as (uow, actor):
            return self._readable_lead(uow, actor, lead_id)

    def explain(self, lead_id: LeadId) -> RoutingExplanation:
        """Return the explanation stored with the lead's last routing decision."""
        lead = self.lead(lead_id)
        if lead.explanation is None:  # pragma: no cover - every stored lead has one
            raise NotFound("routing explanation", lead_id)
        return lead.explanation

    def offers(
        self, *, member_id: MemberId | None = None, status: OfferStatus | str | None = "open"
    ) -> list[Offer]:
        """Return one's offers (managers: anyone's), open ones by default (``status=None``: all)."""
        wanted = None if status is None else OfferStatus(_enum("status", OfferStatus, status))
        with self._unit(write=False) as (uow, actor):
            target = actor
            if member_id is not None and member_id != actor.id:
                perm.require(actor.role.is_manager, actor, "see another member's offers")
                target = self._member(uow, member_id)
            return uow.offers.for_member(self.team_id, target.id, wanted)

    def lead_offers(self, lead_id: LeadId) -> list[Offer]:
        """Return every offer of a lead (managers and admins)."""
        with self._unit(write=False) as (uow, actor):
            perm.require(actor.role.is_manager, actor, "see a lead's offers")
            lead = self._lead(uow, lead_id)
            return uow.offers.for_lead(self.team_id, lead.id)

    def _lead(self, uow: UnitOfWork, lead_id: str) -> Lead:
        check_id("lead_id", lead_id, "ld_")
        return uow.leads.get(self.team_id, LeadId(lead_id))

    def _readable_lead(self, uow: UnitOfWork, actor: Member, lead_id: str) -> Lead:
        lead = self._lead(uow, lead_id)
        if actor.role.is_manager or actor.id in lead.assignee_ids:
            return lead
        if any(o.member_id == actor.id for o in uow.offers.for_lead(self.team_id, lead.id)):
            return lead
        raise NotFound("lead", lead_id)

    # ============================================================ actions
    def assign(
        self,
        lead_or_contact_id: LeadId | ContactId,
        member_id: MemberId,
        *,
        offer: bool = False,
        window: timedelta | None = None,
        note: str | None = None,
    ) -> RoutingResult:
        """Assign a lead (or a contact) to one member at once, or offer it with a window.

        Admins and managers.  The member must be able to receive leads:
        active, not away, and in the lead's pool if it has one
        (``ValidationError`` naming the reason otherwise).  Assigning a lead
        someone else owns is a reassignment (both are told).  A contact id
        picks the contact's one open lead, or makes a lead without a pool.
        """
        return self.bulk_assign(
            [lead_or_contact_id], [member_id], offer=offer, window=window, note=note
        )[0]

    def multi_assign(
        self,
        lead_or_contact_id: LeadId | ContactId,
        member_ids: Iterable[MemberId],
        *,
        first_to_accept: bool = False,
        window: timedelta | None = None,
        note: str | None = None,
    ) -> RoutingResult:
        """Give a lead to several members: everyone gets it, or the first to accept does.

        Members who cannot receive leads are skipped (the explanation says
        why); if none can, ``ValidationError``.
        """
        return self.bulk_assign(
            [lead_or_contact_id],
            member_ids,
            first_to_accept=first_to_accept,
            multi=True,
            window=window,
            note=note,
        )[0]

    def bulk_assign(
        self,
        leads_or_contacts: Iterable[LeadId | ContactId],
        member_ids: Iterable[MemberId],
        *,
        offer: bool = False,
        first_to_accept: bool = False,
        multi: bool | None = None,
        window: timedelta | None = None,
        note: str | None = None,
    ) -> list[RoutingResult]:
        """Assign many leads (or contacts) at once, all in one transaction.

        The choices of seed 001, made explicit:

        * one member (*multi* not true): each lead is assigned to them, or
          offered to them when *offer*;
        * several members (or ``multi=True``): each lead goes to *everyone*
          at once, or with *first_to_accept* is offered to all of them and
          the first to accept owns it.

        Ambiguous calls are refused with ``ValidationError`` instead of
        guessing: several members with ``multi=False``; *first_to_accept*
        with one member (use *offer*); *offer* with several members but not
        *first_to_accept* (say which of the two you mean).
        """
        targets = _id_list("leads_or_contacts", leads_or_contacts, prefixes=("ld_", "ct_"))
        chosen = _id_list("member_ids", member_ids, prefixes=("mb_",))
        if not chosen:
            raise ValidationError("member_ids", member_ids, "name at least one member")
        for flag, value in (("offer", offer), ("first_to_accept", first_to_accept)):
            if not isinstance(value, bool):
                raise ValidationError(flag, value, "must be True or False")
        if window is not None:
            check_window("window", window)
        text = _note(note)
        if multi is not None and not isinstance(multi, bool):
            raise ValidationError("multi", multi, "must be True, False or None")
        several = len(chosen) > 1 if multi is None else multi
        if not several and len(chosen) > 1:
            raise ValidationError(
                "member_ids",
                chosen,
                "multi=False takes one member; for several pass multi=True"
                " (everyone gets it, or first_to_accept)",
            )
        if first_to_accept and not several:
            raise ValidationError(
                "first_to_accept", True, "needs several members; to offer to one, use offer=True"
            )
        if several and offer and not first_to_accept:
            raise ValidationError(
                "offer",
                True,
                "with several members, choose first_to_accept=True (offered to all, the first"
                " to accept owns it) or offer=False (everyone is assigned)",
            )
        with self._unit(size=len(targets)) as (uow, actor):
            perm.require(actor.role.is_manager, actor, "assign leads", "admins and managers only")
            now = self.crm.now()
            router = Router(uow, self.team_id, actor.id, now, self.crm.reactions)
            results = []
            for target in targets:
                lead, pool = self._open_lead(uow, router, target)
                if several:
                    method = "first_to_accept" if first_to_accept else "everyone"
                    decision = self._pick(
                        router,
                        lead,
                        pool,
                        chosen,
                        method,
                        offer=first_to_accept,
                        window=window,
                        note=text,
                        strict=False,
                    )
                else:
                    decision = self._pick(
                        router,
                        lead,
                        pool,
                        chosen,
                        "offer" if offer else "assign",
                        offer=offer,
                        window=window,
                        note=text,
                        strict=True,
                    )
                reassign = decision.outcome is RoutingOutcome.ASSIGNED and bool(lead.assignee_ids)
                results.append(
                    router.apply(lead, decision, pool, reassign=reassign, offered_by=actor.id)
                )
            router.flush()
            uow.commit()
            return results

    def reassign(
        self, lead_id: LeadId, member_id: MemberId, *, note: str | None = None
    ) -> RoutingResult:
        """Give a lead to another member (admins and managers); both are told."""
        return self.assign(lead_id, member_id, note=note)

    def route_lead(self, lead_id: LeadId) -> RoutingResult:
        """Route an unassigned lead again by its pool's method (admins and managers).

        Members who declined or rejected the lead are passed over.
        """
        with self._unit() as (uow, actor):
            perm.require(actor.role.is_manager, actor, "route leads", "admins and managers only")
            lead = self._lead(uow, lead_id)
            if lead.status is not LeadStatus.UNASSIGNED:
                raise ValidationError("lead_id", lead.id, f"the lead is {lead.status.value}")
            router = Router(uow, self.team_id, actor.id, self.crm.now(), self.crm.reactions)
            pool = router.pool(lead.pool_id)
            if pool is None:
                raise ValidationError("lead_id", lead.id, "the lead has no pool to route it")
            if not pool.active:
                # A deactivated pool routes nothing (docs/routing.md); a person
                # may still assign the lead (assign, bulk_assign).
                raise ValidationError(
                    "lead_id",
                    lead.id,
                    f"its pool {pool.id} is deactivated and routes nothing;"
                    " activate the pool or assign the lead",
                )
            cursor = uow.routing_cursors.get(self.team_id, pool.id)
            decision = decide(
                router.context(
                    pool,
                    cursor=cursor.position,
                    contact=router.contact(lead.contact_id),
                    excluded=dict.fromkeys(lead.declined_by, SkipReason.DECLINED),
                )
            )
            if decision.cursor_after is not None and decision.cursor_after != cursor.position:
                uow.routing_cursors.put(
                    attrs.evolve(cursor, position=decision.cursor_after, version=cursor.version + 1)
                )
            result = router.apply(lead, decision, pool)
            router.flush()
            uow.commit()
            return result

    def revoke(self, lead_id: LeadId, *, note: str | None = None) -> RoutingResult:
        """Take a lead back from its owner(s) or withdraw its offers; it waits unassigned."""
        return self._settle(lead_id, "revoke", RoutingOutcome.UNASSIGNED, note)

    def remove_lead(self, lead_id: LeadId, *, note: str | None = None) -> RoutingResult:
        """Remove a lead from routing (admins and managers); the contact stays."""
        return self._settle(lead_id, "remove", RoutingOutcome.REMOVED, note)

    def _settle(
        self, lead_id: str, method: str, outcome: RoutingOutcome, note: str | None
    ) -> RoutingResult:
        text = _note(note)
        with self._unit() as (uow, actor):
            perm.require(
                actor.role.is_manager, actor, f"{method} leads", "admins and managers only"
            )
            lead = self._lead(uow, lead_id)
            if not lead.is_open:
                raise ValidationError("lead_id", lead.id, "the lead was removed")
            if outcome is RoutingOutcome.UNASSIGNED and lead.status is LeadStatus.UNASSIGNED:
                raise ValidationError("lead_id", lead.id, "the lead is not assigned or offered")
            router = Router(uow, self.team_id, actor.id, self.crm.now(), self.crm.reactions)
            pool = router.pool(lead.pool_id)
            decision = RoutingDecision(
                explanation=RoutingExplanation(
                    method=method,
                    outcome=outcome,
                    decided_at=router.now,
                    pool_id=lead.pool_id if pool is not None else None,
                    actor_id=actor.id,
                    note=text,
                )
            )
            result = router.apply(lead, decision, pool)
            router.event(
                EventName.LEAD_REMOVED
                if outcome is RoutingOutcome.REMOVED
                else EventName.LEAD_REVOKED,
                lead.id,
                previous=list(lead.assignee_ids),
            )
            router.flush()
            uow.commit()
            return result

    def request_update(self, lead_id: LeadId, *, note: str | None = None) -> Lead:
        """Ask the lead's owner(s) for an update (admins and managers)."""
        text = _note(note)
        with self._unit() as (uow, actor):
            perm.require(
                actor.role.is_manager, actor, "request updates", "admins and managers only"
            )
            lead = self._lead(uow, lead_id)
            if lead.status is not LeadStatus.ASSIGNED:
                raise ValidationError("lead_id", lead.id, "the lead has no owner to ask")
            router = Router(uow, self.team_id, actor.id, self.crm.now(), self.crm.reactions)
            router.notify(
                lead.assignee_ids,
                NotificationKind.UPDATE_REQUESTED,
                lead,
                f"{actor.name} asks for an update on {router.describe(lead)}",
                note=text,
            )
            router.event(
                EventName.LEAD_UPDATE_REQUESTED, lead.id, member_ids=list(lead.assignee_ids)
            )
            router.flush()
            uow.commit()
            return lead

    # ============================================================ roles
    def define_role(self, name: str) -> RoleSlot:
        """Add a named role slot to the team (admins), e.g. ``"buyer agent"``."""
        with self._unit() as (uow, actor):
            perm.require_admin(actor, "define roles")
            now = self.crm.now()
            slot = RoleSlot(team_id=self.team_id, name=name, created_at=now, created_by=actor.id)
            uow.lead_pools.add_role_slot(slot)
            uow.collect(self._event(EventName.ROLE_DEFINED, self.team_id, now, name=slot.name))
            uow.commit()
            return slot

    def delete_role(self, name: str) -> None:
        """Delete a role slot (admins); members holding it on contacts keep those leads."""
        role = check_role("name", name)
        with self._unit() as (uow, actor):
            perm.require_admin(actor, "delete roles")
            uow.lead_pools.delete_role_slot(self.team_id, role)
            uow.collect(
                self._event(EventName.ROLE_DELETED, self.team_id, self.crm.now(), name=role)
            )
            uow.commit()

    def roles(self) -> list[RoleSlot]:
        """Return the team's role slots by name (any active member)."""
        with self._unit(write=False) as (uow, _actor):
            return uow.lead_pools.role_slots(self.team_id)

    def assign_role(
        self,
        contact_id: ContactId,
        role: str,
        member_id: MemberId,
        *,
        offer: bool = False,
        window: timedelta | None = None,
        note: str | None = None,
    ) -> RoutingResult:
        """Put a member into a role on a contact, at once or as an offer (admins and managers).

        A role on a contact is a lead without a pool whose ``role`` names the
        slot: it is assigned, offered, accepted, declined, rejected, revoked
        and shown on the routing dashboard like any lead.  Assigning a role
        someone holds is a reassignment (both are told).  The role must be
        defined (:meth:`define_role`).
        """
        check_id("contact_id", contact_id, "ct_")
        name = check_role("role", role)
        check_id("member_id", member_id, "mb_")
        if not isinstance(offer, bool):
            raise ValidationError("offer", offer, "must be True or False")
        if window is not None:
            check_window("window", window)
        text = _note(note)
        with self._unit() as (uow, actor):
            perm.require(actor.role.is_manager, actor, "assign roles", "admins and managers only")
            if name not in {r.name for r in uow.lead_pools.role_slots(self.team_id)}:
                raise NotFound("role slot", name)
            router = Router(uow, self.team_id, actor.id, self.crm.now(), self.crm.reactions)
            lead = self._role_lead(uow, router, ContactId(contact_id), name)
            decision = self._pick(
                router,
                lead,
                None,
                [member_id],
                "offer" if offer else "assign",
                offer=offer,
                window=window,
                note=text,
                strict=True,
            )
            reassign = decision.outcome is RoutingOutcome.ASSIGNED and bool(lead.assignee_ids)
            result = router.apply(lead, decision, None, reassign=reassign, offered_by=actor.id)
            router.flush()
            uow.commit()
            return result

    def role_holders(self, contact_id: ContactId) -> dict[str, tuple[MemberId, ...]]:
        """Return who holds each role on a contact (an empty tuple: offered, not yet taken).

        The contact must be one the member may see (``NotFound`` otherwise).
        """
        with self._unit(write=False) as (uow, actor):
            contact = self._visible_contact(uow, actor, contact_id)
            return {
                lead.role: lead.assignee_ids
                for lead in uow.leads.for_contact(self.team_id, contact.id)
                if lead.role is not None and lead.is_open
            }

    def _role_lead(self, uow: UnitOfWork, router: Router, contact_id: ContactId, role: str) -> Lead:
        """The contact's open lead for *role*, made (waiting) when there is none."""
        uow.contacts.lock(self.team_id, [contact_id])  # not deleted under the new lead
        contact = uow.contacts.get(self.team_id, contact_id)
        router.remember([contact])
        mine = [ld for ld in uow.leads.for_contact(self.team_id, contact.id) if ld.role == role]
        for lead in mine:
            if lead.is_open:
                return lead
        lead = Lead(
            id=new_lead_id(),
            team_id=self.team_id,
            contact_id=contact.id,
            created_at=router.now,
            entry=max((ld.entry for ld in mine), default=0) + 1,
            role=role,
            explanation=RoutingExplanation(
                method="direct",
                outcome=RoutingOutcome.WAITING,
                decided_at=router.now,
                actor_id=router.actor_id,
                role=role,
            ),
        )
        try:
            uow.leads.add_many([lead])
        except AlreadyExists:  # pragma: no cover - one open role lead per contact and role
            raise ConcurrencyError("role lead", contact.id, 0) from None
        router.event(
            EventName.LEAD_CREATED, lead.id, pool_id=None, contact_id=contact.id, role=role
        )
        return lead

    # ============================================================ agents
    def accept_offer(self, offer_id: OfferId) -> RoutingResult:
        """Accept an offer made to oneself: the first to accept owns the lead.

        Raises :class:`~teamcrm.errors.OfferClosed` when someone else took the
        lead first, when the offer expired (even if the expiry job has not run
        yet), or when it was withdrawn or already answered.
        """
        with self._unit() as (uow, actor):
            now = self.crm.now()
            offer, lead = self._own_offer(uow, actor, offer_id, now)
            router = Router(uow, self.team_id, actor.id, now, self.crm.reactions)
            pool = router.pool(lead.pool_id)
            if pool is not None and actor.id not in pool.member_ids:
                perm.require(False, actor, "accept this offer", "the member is not in the pool")
            if pool is not None and router.is_full(pool, actor.id):
                raise OfferClosed(offer.id, "full")
            accepted = bumped(offer, status=OfferStatus.ACCEPTED, settled_at=now)
            uow.offers.update(accepted)
            router.withdraw_offers(lead, except_id=offer.id)
            decision = RoutingDecision(
                explanation=RoutingExplanation(
                    method="accept",
                    outcome=RoutingOutcome.ASSIGNED,
                    decided_at=now,
                    pool_id=pool.id if pool is not None else None,
                    actor_id=actor.id,
                    eligible=(actor.id,),
                    chosen=(actor.id,),
                    offered=lead.explanation.offered if lead.explanation else (),
                    offer_expires_at=offer.expires_at,
                    note=f"first to accept (offer {offer.id})",
                )
            )
            without_offers = attrs.evolve(lead, status=LeadStatus.UNASSIGNED)
            result = router.apply(without_offers, decision, pool)
            router.event(EventName.OFFER_ACCEPTED, offer.id, lead_id=lead.id)
            router.flush()
            uow.commit()
            return attrs.evolve(result, offers=(accepted,))

    def decline_offer(self, offer_id: OfferId, *, reason: str | None = None) -> Offer:
        """Decline an offer made to oneself; the lead is never offered to one again.

        When every offer of the lead is closed, the lead waits unassigned and
        the pool's fallback (or the admins) is told.
        """
        _note(reason)
        with self._unit() as (uow, actor):
            now = self.crm.now()
            offer, lead = self._own_offer(uow, actor, offer_id, now)
            router = Router(uow, self.team_id, actor.id, now, self.crm.reactions)
            settled, _ = router.close_offer(offer, OfferStatus.DECLINED, lead)
            router.flush()
            uow.commit()
            return settled

    def reject_lead(self, lead_id: LeadId, *, reason: str | None = None) -> RoutingResult:
        """Reject a lead one owns: one stops owning it; with no owner left it waits unassigned.

        The admins are told.
        """
        text = _note(reason)
        with self._unit() as (uow, actor):
            lead = self._lead(uow, lead_id)
            if actor.id not in lead.assignee_ids:
                if not actor.role.is_manager:
                    raise NotFound("lead", lead_id)
                raise ValidationError("lead_id", lead.id, "one can reject only a lead one owns")
            router = Router(uow, self.team_id, actor.id, self.crm.now(), self.crm.reactions)
            pool = router.pool(lead.pool_id)
            remaining = tuple(m for m in lead.assignee_ids if m != actor.id)
            decision = RoutingDecision(
                explanation=RoutingExplanation(
                    method="reject",
                    outcome=RoutingOutcome.ASSIGNED if remaining else RoutingOutcome.UNASSIGNED,
                    decided_at=router.now,
                    pool_id=pool.id if pool is not None else None,
                    actor_id=actor.id,
                    chosen=remaining,
                    skipped=(Skipped(member_id=actor.id, reason=SkipReason.DECLINED),),
                    note=text,
                )
            )
            changes: dict[str, Any] = {
                "declined_by": (*lead.declined_by, actor.id),
                "assignee_ids": remaining,
                "explanation": decision.explanation,
            }
            if not remaining:
                changes.update(status=LeadStatus.UNASSIGNED, assigned_at=None, respond_by=None)
            updated: Lead = bumped(lead, **changes)
            router._prime(pool if lead.role is None else None, ())
            uow.leads.update(updated)
            router._counted(pool if lead.role is None else None, (), [actor.id])
            router.take_back(lead, [actor.id])
            router.notify(
                router.admins(),
                NotificationKind.LEAD_REJECTED,
                lead,
                f"{actor.name} rejected the lead {router.describe(lead)}"
                + (f": {text}" if text else ""),
                member_id=actor.id,
                note=text,
            )
            router.event(EventName.LEAD_REJECTED, lead.id, member_id=actor.id)
            router.flush()
            uow.commit()
            return RoutingResult(lead=updated, decision=decision)

    def _own_offer(
        self, uow: UnitOfWork, actor: Member, offer_id: str, now: datetime
    ) -> tuple[Offer, Lead]:
        check_id("offer_id", offer_id, "of_")
        offer = uow.offers.get(self.team_id, OfferId(offer_id))
        if offer.member_id != actor.id:
            perm.require(False, actor, "answer this offer", "it was made to another member")
        lead = uow.leads.get(self.team_id, offer.lead_id)
        if offer.status is OfferStatus.WITHDRAWN and lead.status is LeadStatus.ASSIGNED:
            raise OfferClosed(offer.id, "taken")
        if not offer.is_open:
            raise OfferClosed(offer.id, offer.status.value)
        if offer.expired_at(now):
            raise OfferClosed(offer.id, "expired")
        if lead.status is not LeadStatus.OFFERED:  # pragma: no cover - offers close with the lead
            raise OfferClosed(offer.id, "taken" if lead.assignee_ids else "withdrawn")
        return offer, lead

    # ============================================================ internals
    def _open_lead(
        self, uow: UnitOfWork, router: Router, target: str
    ) -> tuple[Lead, LeadPool | None]:
        """Resolve a lead id, or a contact id to its one open lead (made without a pool if none)."""
        if target.startswith("ld_"):
            lead = uow.leads.get(self.team_id, LeadId(target))
            if not lead.is_open:
                raise ValidationError("lead_id", target, "the lead was removed")
            return lead, router.pool(lead.pool_id)
        uow.contacts.lock(self.team_id, [ContactId(target)])  # not deleted under the new lead
        contact = uow.contacts.get(self.team_id, ContactId(target))
        router.remember([contact])
        open_leads = [
            lead
            for lead in uow.leads.for_contact(self.team_id, contact.id)
            if lead.is_open and lead.role is None
        ]
        if len(open_leads) > 1:
            raise ValidationError(
                "lead_or_contact_id", target, "the contact has several open leads; pass a lead id"
            )
        if open_leads:
            return open_leads[0], router.pool(open_leads[0].pool_id)
        entries = uow.leads.entries(self.team_id, None, [contact.id])
        lead = Lead(
            id=new_lead_id(),
            team_id=self.team_id,
            contact_id=contact.id,
            created_at=router.now,
            entry=entries.get(contact.id, 0) + 1,
            keys=_keys(contact),
            explanation=RoutingExplanation(
                method="direct",
                outcome=RoutingOutcome.WAITING,
                decided_at=router.now,
                actor_id=router.actor_id,
            ),
        )
        uow.leads.add_many([lead])
        router.event(
            EventName.LEAD_CREATED, lead.id, pool_id=None, contact_id=contact.id, entry=lead.entry
        )
        return lead, None

    def _pick(
        self,
        router: Router,
        lead: Lead,
        pool: LeadPool | None,
        chosen: Sequence[str],
        method: str,
        *,
        offer: bool,
        window: timedelta | None,
        note: str | None,
        strict: bool,
    ) -> RoutingDecision:
        """Screen a person's picks and build the decision (``ValidationError`` if nobody fits).

        A person may assign or offer a lead to an *away* member (the decision
        carries a warning saying so); never to an inactive member, one
        outside the lead's pool, or one at its cap for the pool.
        """
        full = router.full(pool, chosen)
        eligible, skipped = screen(
            chosen, router.members, pool, router.now, full=full, allow_away=True
        )
        warnings = tuple(
            f"{m} is away until {router.members[m].away_until:%Y-%m-%d %H:%M} UTC"
            for m in eligible
            if router.members[m].is_away(router.now)
        )
        if strict and skipped:
            first = skipped[0]
            raise ValidationError(
                "member_id", first.member_id, f"cannot receive this lead ({first.reason.value})"
            )
        if not eligible:
            reasons = ", ".join(f"{s.member_id} ({s.reason.value})" for s in skipped)
            raise ValidationError("member_ids", list(chosen), f"nobody can receive it: {reasons}")
        length = window or (pool.offer_window if pool is not None else DEFAULT_OFFER_WINDOW)
        return RoutingDecision(
            explanation=RoutingExplanation(
                method=method,
                outcome=RoutingOutcome.OFFERED if offer else RoutingOutcome.ASSIGNED,
                decided_at=router.now,
                pool_id=pool.id if pool is not None else None,
                actor_id=router.actor_id,
                eligible=eligible,
                skipped=skipped,
                chosen=() if offer else eligible,
                offered=eligible if offer else (),
                offer_expires_at=router.now + length if offer else None,
                note=note,
                warnings=warnings,
                role=lead.role,
            )
        )

    # ============================================================ dashboard
    def routing_dashboard(
        self,
        *,
        pool_id: PoolId | None = None,
        assignee: MemberId | None = None,
        sort_by: DashboardSort = "assigned_at",
        descending: bool = False,
        include_removed: bool = False,
    ) -> Rows[LeadRow]:
        """Return the routing dashboard (admins and managers): one row per lead and owner.

        Filter by pool and by *assignee* (a member id, or :data:`UNASSIGNED`
        for leads nobody owns).  Each row tells when its owner got the lead
        and when that owner last contacted it (their newest interaction up to
        now).  Sorted by *sort_by* (one of :data:`DASHBOARD_SORTS`; empty
        values last), ties by lead id.  The list is a
        :class:`~teamcrm.rows.Rows` (a ``list`` that shows itself as a table).
        """
        return Rows(
            self._dashboard_rows(pool_id, assignee, sort_by, descending, include_removed),
            title="Routing dashboard",
        )

    def _dashboard_rows(
        self,
        pool_id: PoolId | None,
        assignee: MemberId | None,
        sort_by: str,
        descending: bool,
        include_removed: bool,
    ) -> list[LeadRow]:
        if not isinstance(sort_by, str) or sort_by not in DASHBOARD_SORTS:
            raise ValidationError("sort_by", sort_by, f"must be one of {sorted(DASHBOARD_SORTS)}")
        for flag, value in (("descending", descending), ("include_removed", include_removed)):
            if not isinstance(value, bool):
                raise ValidationError(flag, value, "must be True or False")
        if pool_id is not None:
            check_id("pool_id", pool_id, "lp_")
        if assignee is not None and assignee != UNASSIGNED:
            check_id("assignee", assignee, "mb_")
        with self._unit(write=False) as (uow, actor):
            perm.require(
                actor.role.is_manager,
                actor,
                "see the routing dashboard",
                "admins and managers only",
            )
            now = self.crm.now()
            leads = uow.leads.all(self.team_id, pool_id=PoolId(pool_id) if pool_id else None)
            from teamcrm.service.dashboard import dashboard_rows

            rows = dashboard_rows(
                uow,
                self.team_id,
                leads,
                assignee=assignee,
                include_removed=include_removed,
                now=now,
                last_contact=self._last_contact,
            )
        present = [r for r in rows if getattr(r, sort_by) is not None]
        missing = [r for r in rows if getattr(r, sort_by) is None]
        present.sort(key=lambda r: (getattr(r, sort_by), r.lead_id), reverse=descending)
        missing.sort(key=lambda r: r.lead_id)
        return present + missing

    def _last_contact(
        self, uow: UnitOfWork, lead: Lead, owner: MemberId | None, now: datetime
    ) -> datetime | None:
        if owner is None:
            return None
        for interaction in uow.interactions.for_contact(self.team_id, lead.contact_id):
            if interaction.author_id == owner and interaction.occurred_at <= now:
                return interaction.occurred_at
        return None


# ================================================================ reactions
# Declared, in order, in teamcrm.service.reactions.default_reactions.
def route_entries(occasion: Occasion) -> None:
    """``bucket.items_added``: contacts entering a source bucket of an active pool become leads.

    They are routed in this same unit.  Nothing for a personal bucket, nor
    for contacts routing itself placed in an inbound bucket.
    """
    if occasion.origin == "routing":
        return
    uow, team_id = occasion.uow, occasion.team_id
    bucket = occasion.subject
    if not isinstance(bucket, Bucket):
        bucket = uow.buckets.get(team_id, BucketId(occasion.event.subject_id))
    if bucket.is_personal:
        return
    items = occasion.event.data.get("item_ids")
    contact_ids = [ContactId(i) for i in (items if isinstance(items, list) else [])]
    contact_ids = [c for c in contact_ids if c.startswith("ct_")]
    if not contact_ids:
        return
    pools = [p for p in uow.lead_pools.for_buckets(team_id, [bucket.id]) if p.active]
    if not pools:
        return
    have = occasion.contacts
    missing = [c for c in contact_ids if have.get(c) is None]
    loaded: dict[str, Contact] = {}
    if missing:  # not read by the emitter in this unit
        loaded = {c.id: c for c in _load_contacts(uow, team_id, missing)}
    contacts: list[Contact] = []
    for cid in contact_ids:
        found = have.get(cid) or loaded.get(cid)
        if found is not None:
            contacts.append(found)
    router = Router(uow, team_id, occasion.actor_id, occasion.now, occasion.reactions)
    for pool in pools:
        router.enter(pool, contacts)
    router.flush()


def close_leads_of_deleted_contact(occasion: Occasion) -> None:
    """``contact.deleted``: its open leads are removed (offers withdrawn, owners told).

    No open lead or offer is left pointing at a deleted contact.  Each lead
    is read again through ``leads.get`` (locked on PostgreSQL), so a unit
    accepting or reassigning it at the same moment goes first or finds it
    removed.  Idempotent: a lead already closed is left alone.
    """
    uow, team_id = occasion.uow, occasion.team_id
    open_ids = [
        lead.id
        for lead in uow.leads.for_contact(team_id, ContactId(occasion.event.subject_id))
        if lead.is_open
    ]
    if not open_ids:
        return
    router = Router(uow, team_id, occasion.actor_id, occasion.now, occasion.reactions)
    router.remember([c for c in occasion.contacts.values() if c is not None])  # for its name
    for lead_id in open_ids:
        lead = uow.leads.get(team_id, lead_id)
        if not lead.is_open:
            continue
        pool = router.pool(lead.pool_id)
        decision = RoutingDecision(
            explanation=RoutingExplanation(
                method="contact_deleted",
                outcome=RoutingOutcome.REMOVED,
                decided_at=router.now,
                pool_id=lead.pool_id if pool is not None else None,
                actor_id=occasion.actor_id,
                note="the contact was deleted",
            )
        )
        router.apply(lead, decision, pool)
        router.event(EventName.LEAD_REMOVED, lead.id, previous=list(lead.assignee_ids))
    router.flush()


def apply_new_lead_status(occasion: Occasion) -> None:
    """``lead.routed`` (a new lead): its contact takes the team's ``new_lead_status``.

    Seed 001: "contacts with new leads will always appear in the Evaluate or
    Priority status".  Nothing is written when the contact already has it.
    """
    contact_id = occasion.event.data.get("contact_id")
    if not isinstance(contact_id, str):
        return  # a lead routed again: not a new lead
    uow, team_id = occasion.uow, occasion.team_id
    team = occasion.cache.get("team")
    if team is None:
        team = occasion.cache["team"] = uow.teams.get(team_id)
    wanted = team.settings.new_lead_status
    if contact_id in occasion.contacts:
        contact = occasion.contacts[contact_id]
    else:
        found = _load_contacts(uow, team_id, [ContactId(contact_id)])
        contact = found[0] if found else None
    if contact is None or contact.status == wanted:
        return
    # Read again for update: the copy in hand may be older than a concurrent change.
    fresh = uow.contacts.get_for_update(team_id, contact.id)
    if fresh.status == wanted:
        occasion.contacts[contact_id] = fresh
        return
    updated = bumped(fresh, status=wanted)
    uow.contacts.update(updated)
    occasion.contacts[contact_id] = updated
    occasion.emit(
        _domain_event(
            name=EventName.CONTACT_UPDATED,
            team_id=team_id,
            subject_id=contact_id,
            occurred_at=occasion.now,
            actor_id=occasion.actor_id,
            data={"fields": ["status"]},
        )
    )


def move_pool_follow_up_task(occasion: Occasion) -> None:
    """``lead.reassigned``: the previous owners' open follow-up task of the pool is cancelled.

    The new owner got the pool's task when the lead was placed with them;
    the previous owner no longer sees the contact, so the task would sit in
    a due list for a contact they cannot open.
    """
    data = occasion.event.data
    previous, chosen = data.get("previous"), data.get("member_ids")
    if not isinstance(previous, list) or not isinstance(chosen, list):
        return
    lost = [m for m in previous if m not in chosen]
    if not lost:
        return
    uow, team_id = occasion.uow, occasion.team_id
    lead = uow.leads.get(team_id, LeadId(occasion.event.subject_id))
    if lead.pool_id is None:
        return
    for member_id in lost:
        for task in uow.tasks.for_member(team_id, MemberId(member_id), TaskStatus.OPEN):
            if task.contact_id == lead.contact_id and task.note.startswith(POOL_TASK_NOTE):
                uow.tasks.update(bumped(task, status=TaskStatus.CANCELLED, closed_at=occasion.now))
                occasion.emit(
                    _domain_event(
                        name=EventName.TASK_CANCELLED,
                        team_id=team_id,
                        subject_id=task.id,
                        occurred_at=occasion.now,
                        actor_id=occasion.actor_id,
                        data={"member_id": task.member_id, "lead_id": lead.id},
                    )
                )


def _enum(field: str, enum_cls: Any, value: Any) -> Any:
    from teamcrm.validation import check_enum

    return check_enum(field, enum_cls, value)


def _id_list(field: str, value: Any, *, prefixes: tuple[str, ...]) -> tuple[str, ...]:
    """Check a list of ids (one id alone is accepted too); keep order, drop repeats."""
    items: list[Any]
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, bytes | Mapping) or not isinstance(value, Iterable):
        raise ValidationError(field, value, "must be an id or a list of ids")
    else:
        items = list(value)
    if len(items) > MAX_BULK:
        raise ValidationError(field, len(items), f"at most {MAX_BULK} ids per call")
    out: dict[str, None] = {}
    for item in items:
        prefix = next(
            (p for p in prefixes if isinstance(item, str) and item.startswith(p)), prefixes[0]
        )
        out[check_id(field, item, prefix)] = None
    return tuple(out)


def demo_section(demo: Any) -> str:
    """The demo's lead-routing section (``teamcrm demo``): pools, routing, an offer race.

    *demo* is a :class:`teamcrm.demo.DemoTeam` (typed loosely to keep the
    service layer free of the demo).
    """
    from teamcrm.render import text_table

    alice = demo.session("Alice")
    names = {v: k for k, v in demo.members.items()}
    web = alice.create_bucket("Website leads")
    agents = [demo.members[n] for n in ("Bradley", "Susan", "Tom")]
    rr = alice.create_pool(
        "Website (round robin)",
        source_bucket_ids=[web.id],
        member_ids=agents,
        method=DistributionMethod.ROUND_ROBIN,
        follow_up="2 days",
    )
    people = [("Ava", "Lopez"), ("Ben", "Okafor"), ("Cleo", "Nguyen"), ("Dev", "Patel")]
    alice.create_contacts(
        [{"first_name": f, "last_name": last, "source": "website"} for f, last in people],
        bucket_id=web.id,
    )
    house = alice.create_bucket("Open house sign-ins")
    alice.create_pool(
        "Open house (first to accept)",
        source_bucket_ids=[house.id],
        member_ids=[demo.members["Bradley"], demo.members["Susan"]],
        method=DistributionMethod.FIRST_TO_ACCEPT,
    )
    alice.create_contacts([{"first_name": "Erin", "last_name": "Walsh"}], bucket_id=house.id)
    susan, bradley = demo.session("Susan"), demo.session("Bradley")
    won = susan.accept_offer(susan.offers()[0].id)
    try:
        bradley.accept_offer(bradley.offers(status=None)[0].id)
        late = "accepted (unexpected)"
    except OfferClosed as exc:
        late = f"refused: {exc}"
    rows = [
        (
            r.contact_name,
            r.pool_name,
            names.get(r.assignee_id, "-") if r.assignee_id else "(unassigned)",
            r.assigned_at.strftime("%Y-%m-%d %H:%M") if r.assigned_at else "",
            r.status.value,
        )
        for r in alice.routing_dashboard(sort_by="contact_name")
    ]
    first_rr = next(ld for ld in alice.leads(pool_id=rr.id))
    explanation = alice.explain(first_rr.id).describe()
    for member_id, name in names.items():
        explanation = explanation.replace(member_id, name)
    return "\n".join(
        [
            text_table(
                ["lead", "pool", "assignee", "assigned", "status"],
                rows,
                title="Routing dashboard (Alice)",
            ),
            "",
            f"Erin Walsh was offered to Bradley and Susan; Susan accepted first "
            f"({won.lead.status.value}); Bradley's later accept was {late}.",
            "",
            f"Why {_name(alice.contact(first_rr.contact_id))} went where it went:",
            explanation,
        ]
    )
