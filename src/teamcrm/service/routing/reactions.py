"""Routing's reactions (declared, in order, in ``teamcrm.service.reactions``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from teamcrm.bucket import Bucket
from teamcrm.contact import Contact
from teamcrm.events import DomainEvent, EventName
from teamcrm.ids import PREFIXES, BucketId, ContactId
from teamcrm.routing import (
    DEFAULT_STRATEGIES,
    RoutingDecision,
    RoutingExplanation,
    RoutingOutcome,
    StrategyRegistry,
)
from teamcrm.service.base import bumped
from teamcrm.service.reactions import unit_team
from teamcrm.unit_of_work import read_ahead, reads_ahead, sending_later

if TYPE_CHECKING:
    from teamcrm.service.reactions import Occasion
from teamcrm.service.routing.common import (
    _domain_event,
    _load_contacts,
)
from teamcrm.service.routing.router import Router


# Declared, in order, in teamcrm.service.reactions.default_reactions.
def route_entries(occasion: Occasion, *, strategies: StrategyRegistry = DEFAULT_STRATEGIES) -> None:
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
    prefix = PREFIXES["contact"]
    size = len(prefix)  # (a slice compared: no call per item, as startswith would be)
    contact_ids = [ContactId(i) for i in (items if isinstance(items, list) else [])]
    contact_ids = [c for c in contact_ids if c[:size] == prefix]
    if not contact_ids:
        return
    pools = [p for p in uow.lead_pools.for_buckets(team_id, [bucket.id]) if p.active]
    if not pools:
        return
    have = occasion.contacts
    # (look-ups rather than ``get`` calls: once per contact of a bulk add)
    missing = [c for c in contact_ids if c not in have or have[c] is None]
    loaded: dict[str, Contact] = {}
    if missing:  # not read by the emitter in this unit
        loaded = {c.id: c for c in _load_contacts(uow, team_id, missing)}
    contacts: list[Contact] = []
    for cid in contact_ids:
        found = have[cid] if cid in have else None  # noqa: SIM401
        if found is None:
            found = loaded.get(cid)
        if found is not None:
            contacts.append(found)
    router = Router(uow, team_id, occasion.actor_id, occasion.now, occasion.reactions, strategies)
    if contacts and reads_ahead(uow):  # the team, and what the first pool's entry reads
        read_ahead(uow, lambda: unit_team(occasion), *router.ahead(pools[0], contacts))
    # Read before the pool's turn is taken (on PostgreSQL that locks the pool's
    # cursor until commit): each new lead's contact takes the team's new-lead status.
    unit_team(occasion)
    for pool in pools:
        router.enter(pool, contacts)
    router.flush()


def route_entries_ahead(occasion: Occasion) -> list[Callable[[], object]]:
    """What :func:`route_entries` reads first: the pools of the bucket (when it may route)."""
    bucket = occasion.subject
    if occasion.origin == "routing" or not isinstance(bucket, Bucket) or bucket.is_personal:
        return []
    items = occasion.event.data.get("item_ids")
    if not any(
        i.startswith(PREFIXES["contact"]) for i in (items if isinstance(items, list) else [])
    ):
        return []
    uow, team_id = occasion.uow, occasion.team_id
    return [lambda: uow.lead_pools.for_buckets(team_id, [bucket.id])]


def close_leads_of_deleted_contact(
    occasion: Occasion, *, strategies: StrategyRegistry = DEFAULT_STRATEGIES
) -> None:
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
    router = Router(uow, team_id, occasion.actor_id, occasion.now, occasion.reactions, strategies)
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


def _needs_new_lead_status(occasion: Occasion) -> Contact | None:
    """The contact a new lead's ``lead.routed`` should give the new-lead status, as known.

    ``None`` when the event is not a new lead's, or the contact is not in
    hand (read by the unit) or already has the status.
    """
    contact_id = occasion.event.data.get("contact_id")
    if not isinstance(contact_id, str):
        return None
    contact = occasion.contacts.get(contact_id)
    if contact is None or contact.status == unit_team(occasion).settings.new_lead_status:
        return None
    return contact


def apply_new_lead_status_ahead(occasion: Occasion) -> list[Callable[[], object]]:
    """What :func:`apply_new_lead_status` reads first: the contact, for update.

    Only when the contact in hand lacks the team's new-lead status (the
    reaction then reads it again for update).
    """
    contact = _needs_new_lead_status(occasion)
    if contact is None:
        return []
    uow, team_id, contact_id = occasion.uow, occasion.team_id, contact.id
    return [lambda: uow.contacts.get_for_update(team_id, contact_id)]


def new_lead_status_held(occasion: Occasion, events: Sequence[DomainEvent]) -> bool:
    """True when :func:`apply_new_lead_status` would do nothing for any of *events*.

    That is when each new lead's contact among them, as already read in the
    unit, is deleted or has the team's ``new_lead_status`` (a contact not
    read yet: ``False``).  Checked once for a routed add's run of
    ``lead.routed`` events (see :meth:`~teamcrm.service.reactions.Reactions.emit_all`).
    """
    wanted = unit_team(occasion).settings.new_lead_status
    known = occasion.contacts
    for event in events:
        data = event.data
        if "contact_id" not in data:
            continue  # a lead routed again: not a new lead
        contact_id = data["contact_id"]
        if type(contact_id) is not str:  # no call for the usual case
            if isinstance(contact_id, str):
                return False
            continue
        if contact_id not in known:
            return False
        contact = known[contact_id]
        if contact is not None and contact.status != wanted:
            return False
    return True


def apply_new_lead_status(occasion: Occasion) -> None:
    """``lead.routed`` (a new lead): its contact takes the team's ``new_lead_status``.

    Seed 001: "contacts with new leads will always appear in the Evaluate or
    Priority status".  Nothing is written when the contact already has it.
    """
    contact_id = occasion.event.data.get("contact_id")
    if not isinstance(contact_id, str):
        return  # a lead routed again: not a new lead
    uow, team_id = occasion.uow, occasion.team_id
    wanted = unit_team(occasion).settings.new_lead_status
    if contact_id in occasion.contacts:
        contact = occasion.contacts[contact_id]
    else:
        found = _load_contacts(uow, team_id, [ContactId(contact_id)])
        contact = found[0] if found else None
    if contact is None or contact.status == wanted:
        return
    # Read again for update: the copy in hand may be older than a concurrent change.
    if reads_ahead(uow):  # the lock and the read after it: one round trip
        read_ahead(
            uow,
            lambda: uow.contacts.get_for_update(team_id, contact.id),
            lambda: uow.contacts.get(team_id, contact.id),
        )
    fresh = uow.contacts.get_for_update(team_id, contact.id)
    if fresh.status == wanted:
        occasion.contacts[contact_id] = fresh
        return
    updated = bumped(fresh, status=wanted)
    with sending_later(uow):  # held since its read: the update cannot miss it
        uow.contacts.update(updated, previous=fresh)
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
