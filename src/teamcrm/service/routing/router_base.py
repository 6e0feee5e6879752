"""The router's state for one unit of work: lookups and what it records."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from teamcrm.bucket import Bucket
from teamcrm.contact import Contact
from teamcrm.errors import NotFound
from teamcrm.events import DomainEvent, EventName
from teamcrm.ids import ContactId, MemberId, TeamId
from teamcrm.lead import (
    Lead,
    Offer,
)
from teamcrm.notification import (
    Notification,
    NotificationId,
    NotificationKind,
    new_notification_id,
    new_notification_ids,
)
from teamcrm.pool import (
    LeadPool,
    PoolId,
)
from teamcrm.ports import UnitOfWork
from teamcrm.routing import DEFAULT_STRATEGIES, MemberLoad, StrategyRegistry, StrategyTraits
from teamcrm.team import Member, Role
from teamcrm.validation import FrozenDict

if TYPE_CHECKING:
    from teamcrm.service.reactions import Reactions
from teamcrm.service.routing.common import (
    _domain_event,
    _keys,
    _load_contacts,
    _name,
    _notification,
)

#: Most members of a pool whose inbound buckets a routed add reads ahead (one
#: small read each, in the same round trip): the pool's turn picks one of them.
INBOUND_AHEAD = 16


class RouterBase:
    """What every part of the router shares: the unit, caches, lookups and records.

    The parts (:class:`~teamcrm.service.routing.capacity.CapacityMixin`,
    :class:`~teamcrm.service.routing.inbound.InboundMixin` and
    :class:`~teamcrm.service.routing.router.Router` itself) each add their own
    methods and override none, so the order of ``Router``'s bases does not matter.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        team_id: TeamId,
        actor_id: MemberId | None,
        now: datetime,
        reactions: Reactions,
        strategies: StrategyRegistry = DEFAULT_STRATEGIES,
    ) -> None:
        self.uow = uow
        self.reactions = reactions
        #: The routing strategies this router decides with (the CRM's own registry).
        self.strategies = strategies
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
        #: Each method's strategy traits, asked of the registry once per unit.
        self._traits: dict[str, StrategyTraits] = {}
        self.new_leads: list[Lead] = []
        self.new_offers: list[Offer] = []
        self.notifications: list[Notification] = []
        self.events: list[DomainEvent] = []
        # Notification ids made ahead for a batch (see reserve_notification_ids).
        self._notification_ids: list[NotificationId] = []
        self._notification_at = self._notification_count = 0

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

    # ------------------------------------------------------------- records
    def reserve_notification_ids(self, count: int) -> None:
        """Make the ids of the next *count* notifications at once (a batch of leads is coming).

        Made in one go (see :func:`~teamcrm.ids.id_suffixes`), in increasing
        order; notifications beyond them get ids made one by one, later.
        """
        self._notification_ids = new_notification_ids(count)
        self._notification_at, self._notification_count = 0, count

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
        note = data["note"] if "note" in data else None  # noqa: SIM401 (a look-up, no call)
        if note is not None and isinstance(note, str) and note.strip():
            message = f"{message} - note: {' '.join(note.split())}"
        reserved, at, count = (
            self._notification_ids,
            self._notification_at,
            self._notification_count,
        )
        for member_id in dict.fromkeys(member_ids):
            self.notifications.append(
                _notification(
                    id=reserved[at] if at < count else new_notification_id(),
                    team_id=self.team_id,
                    member_id=member_id,
                    kind=kind,
                    subject_id=lead.id,
                    message=message,
                    created_at=self.now,
                    data=details,
                )
            )
            at += 1
        self._notification_at = at

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
        pools, contacts = self._pools, self._contacts  # (look-ups first: once per routed lead)
        pool_id, contact_id = lead.pool_id, lead.contact_id
        pool = pools[pool_id] if pool_id in pools else self.pool(pool_id)
        contact = contacts[contact_id] if contact_id in contacts else self.contact(contact_id)
        name = _name(contact)
        return f"{name} ({pool.name})" if pool is not None else name

    def _member_name(self, member_id: str) -> str:
        member = self.members.get(member_id)
        return member.name if member is not None else member_id

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

    # ------------------------------------------------------------- reads ahead
    def ahead(self, pool: LeadPool, contacts: Sequence[Contact]) -> list[Callable[[], object]]:
        """The repository calls :meth:`enter` makes first for *contacts* entering *pool*.

        For :func:`~teamcrm.unit_of_work.read_ahead`, in this order: the
        team's members, the pool's cursor (on PostgreSQL the read that locks
        it: after the reads that do not need it), the contacts' entries, the
        open leads holding their keys (a deduplicating pool) and the inbound
        buckets of the pool's members (of its first
        :data:`INBOUND_AHEAD`; read under the lock, as :meth:`enter` does).
        """
        uow, team_id = self.uow, self.team_id
        ids = [c.id for c in contacts]
        reads: list[Callable[[], object]] = []
        if self._members is None:
            reads.append(lambda: uow.members.all(team_id))
        reads.append(lambda: uow.routing_cursors.get(team_id, pool.id))
        reads.append(lambda: uow.leads.entry_states(team_id, pool.id, ids))
        if pool.dedupe:  # the open leads holding their keys, asked as enter() asks
            keys_of = {c.id: _keys(c) for c in contacts}
            all_keys = {k for keys in keys_of.values() for k in keys}
            if all_keys:
                reads.append(lambda: uow.leads.open_with_keys(team_id, pool.id, all_keys))
        for member_id in pool.member_ids[:INBOUND_AHEAD]:
            if member_id not in self._inbound:
                reads.append(partial(uow.inbound_buckets.get_with_bucket, team_id, member_id))
        return reads

    def events_ahead(self) -> None:
        """Tell the unit what the reactions to the events collected so far will read first."""
        for event in self.events:
            self.reactions.read_ahead(self.uow, event, origin="routing", contacts=self._contacts)

    def placements_ahead(self) -> None:
        """Tell the unit what the reactions to the placements being written will read."""
        for bucket_id, contact_ids in self._place.items():
            self.reactions.read_ahead(
                self.uow,
                _domain_event(
                    name=EventName.BUCKET_ITEMS_ADDED,
                    team_id=self.team_id,
                    subject_id=bucket_id,
                    occurred_at=self.now,
                    actor_id=self.actor_id,
                    data={"item_ids": list(dict.fromkeys(contact_ids))},
                ),
                origin="routing",
            )
