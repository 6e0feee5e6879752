"""The router: applies routing decisions inside one unit of work for one team."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from teamcrm.contact import Contact
from teamcrm.events import EventName
from teamcrm.ids import MemberId
from teamcrm.lead import (
    Lead,
    LeadStatus,
    Offer,
    OfferStatus,
    RoutingCursor,
    new_lead_ids,
    new_offer_id,
)
from teamcrm.multi_assign import may_hold_open_offers
from teamcrm.notification import NotificationKind
from teamcrm.pool import LeadPool
from teamcrm.routing import (
    RoutingDecision,
    RoutingExplanation,
    RoutingOutcome,
    Skipped,
    SkipReason,
)
from teamcrm.service.base import _membership, bumped
from teamcrm.service.routing.capacity import CapacityMixin
from teamcrm.service.routing.common import (
    RoutingResult,
    _keys,
    _lead,
    _name,
)
from teamcrm.service.routing.inbound import InboundMixin
from teamcrm.unit_of_work import read_ahead, reads_ahead, sending_later
from teamcrm.validation import trusted_builder

#: Each outcome's value (an enum's ``.value`` is two calls; a routed add records one per lead).
_VALUES: dict[RoutingOutcome, str] = {o: o.value for o in RoutingOutcome}
#: The cursor moved on (checked ids of the cursor read, a position a checked decision gave).
_cursor = trusted_builder(RoutingCursor)


class Router(CapacityMixin, InboundMixin):
    """Applies routing decisions inside one unit of work for one team.

    Collects notifications, events, memberships and tasks and writes them in
    :meth:`flush` (call it once, before the unit commits).  Capacity and
    inbound buckets are in their own rooms (``capacity.py``, ``inbound.py``).
    """

    # ------------------------------------------------------------- entering
    def enter(self, pool: LeadPool, contacts: Sequence[Contact]) -> int:
        """Make leads of *contacts* entering *pool* and route them (exactly once per entry).

        Returns how many new leads it made (contacts that joined an open lead
        as duplicates, or already had one, make none).
        """
        self.remember(contacts)
        self._pools[pool.id] = pool
        ids = [c.id for c in contacts]
        if ids and reads_ahead(self.uow):
            read_ahead(self.uow, *self.ahead(pool, contacts))
        if ids:
            # The team's members are read before the pool's turn is taken: on
            # PostgreSQL that locks the pool's cursor row until commit (the
            # entry states below are read under it), so what can be read first is.
            _ = self.members
        # One read says which contacts already have an open lead and each one's last entry.
        states = self.uow.leads.entry_states(self.team_id, pool.id, ids)
        taken = {cid for cid, state in states.items() if state.has_open}
        key_owner: dict[str, Lead] = {}
        keys_of: dict[str, tuple[str, ...]] = {}
        if pool.dedupe:  # (a contact with no email nor phone has no keys: no call)
            keys_of = {
                c.id: _keys(c) if c.emails or c.phones else ()
                for c in contacts
                if c.id not in taken
            }
            all_keys = {k for keys in keys_of.values() for k in keys}
            if all_keys:
                for lead in self.uow.leads.open_with_keys(self.team_id, pool.id, all_keys):
                    for key in lead.keys:
                        key_owner[key] = lead
        cursor = self.uow.routing_cursors.get(self.team_id, pool.id)
        position = cursor.position
        made = 0
        # Ids for every lead this call may make, in one go (and, mostly, one
        # notification each): unused ones are dropped.
        lead_ids = new_lead_ids(len(ids) - len(taken))
        self.reserve_notification_ids(len(lead_ids))
        # For most methods a decision is a pure function of the cursor and of
        # who is full (same pool, members and time for the whole call), so one
        # per (position, full) is enough.
        cacheable = self.traits_of(pool.method).cacheable_by_cursor  # the strategy declares it
        # Each decision with the lead fields it sets (see _state).
        decisions: dict[tuple[int, frozenset[str]], tuple[RoutingDecision, dict[str, Any]]] = {}
        team_id, now, pool_id = self.team_id, self.now, pool.id
        for contact in contacts:  # (once per lead: dict and attribute look-ups, few calls)
            cid = contact.id
            if cid in taken:
                continue
            # none when the pool does not dedupe (a look-up, not a ``get`` call)
            keys = keys_of[cid] if cid in keys_of else ()  # noqa: SIM401
            duplicate = None
            for key in keys:
                if key in key_owner:
                    duplicate = key_owner[key]
                    break
            if duplicate is not None:
                self.join(duplicate, contact, pool)
                continue
            taken.add(cid)
            decided = None
            if cacheable:
                state = (position, self.full(pool))
                if state in decisions:
                    decided = decisions[state]
            if decided is None:
                decision = self.strategies.decide(
                    self.context(pool, cursor=position, contact=contact)
                )
                decided = (decision, self._state(None, decision.explanation, pool))
                if cacheable:
                    decisions[state] = decided
            decision, fields = decided
            after = decision.explanation.cursor_after
            if after is not None:
                position = after
            # built from checked entities (contact, pool, decision): no checks again
            lead = _lead(
                id=lead_ids[made],
                team_id=team_id,
                contact_id=cid,
                pool_id=pool_id,
                created_at=now,
                entry=states[cid].last_entry + 1 if cid in states else 1,
                keys=tuple(dict.fromkeys(keys)) if keys else (),
                **fields,
            )
            for key in keys:
                key_owner[key] = lead
            self.apply(lead, decision, pool, new=True)
            made += 1
        if position != cursor.position:
            with sending_later(self.uow):  # nothing reads the result: it may travel later
                self.uow.routing_cursors.put(
                    _cursor(
                        team_id=cursor.team_id,
                        pool_id=cursor.pool_id,
                        position=position,
                        version=cursor.version + 1,
                    )
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
        offers: tuple[Offer, ...] = ()
        before: tuple[MemberId, ...]
        if new:  # (a routed add does this once per lead)
            before, gained, lost = (), list(exp.chosen), []
        else:
            before = lead.assignee_ids
            gained = [m for m in exp.chosen if m not in before]
            lost = [m for m in before if m not in exp.chosen]
        # Only pools with caps or least-loaded routing keep in-memory counts.
        counting = self._counting
        counted = (
            pool
            if lead.role is None
            and pool is not None
            and (counting[pool.id] if pool.id in counting else self._counts(pool))
            else None
        )
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
                outcome=_VALUES[outcome],
                method=exp.method,
                member_ids=list(exp.chosen or exp.offered),
            )
        elif outcome in (RoutingOutcome.WAITING, RoutingOutcome.NO_ELIGIBLE):
            self.event(
                EventName.LEAD_ROUTED, stored.id, outcome=_VALUES[outcome], method=exp.method
            )
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
        if not may_hold_open_offers(lead):  # offered, or all_can_accept (multi_assign)
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

    def flush(self) -> None:
        """Write everything collected (leads, offers, notifications, memberships, events).

        The leads and notifications are written in the unit's ``send_later``
        block (nothing reads their results); the memberships' results decide
        the events, so they are sent at once, with what was queued.
        """
        with sending_later(self.uow):
            self._write_collected()
        # Every event is collected and its reactions run, in order (routing's
        # own placements are not routed again: origin "routing").
        while self.events:
            events, self.events = self.events, []
            self.reactions.emit_all(self.uow, events, contacts=self._contacts, origin="routing")

    def _write_collected(self) -> None:
        if self.new_leads:
            self.uow.leads.add_many(self.new_leads)
            self.new_leads = []
        if self.new_offers:
            self.uow.offers.add_many(self.new_offers)
            self.new_offers = []
        if self.notifications:
            self.uow.notifications.add_many(self.notifications)
            self.notifications = []
        if reads_ahead(self.uow):  # the reactions' reads go with the inserts
            self.events_ahead()  # first: they may lock what the placements' reactions read
            if self._place:
                self.placements_ahead()
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
            if added:  # follow-up clocks start when the event's reactions run (flush)
                ids = [m.item_id for m in added]
                self.event(EventName.BUCKET_ITEMS_ADDED, bucket_id, item_ids=ids)
        self._place = {}

    # ------------------------------------------------------------- offers closing, moving on
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
            and self.traits_of(pool.method).offers_in_turn
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
        """Offer the lead to the next member after the last one offered (``offers_in_turn``).

        Members who declined it or were offered it already are passed over;
        when nobody is left the lead waits unassigned and the fallback (or
        the admins) is told.
        """
        excluded: dict[str, SkipReason] = {o.member_id: SkipReason.ALREADY_OFFERED for o in offers}
        excluded.update(dict.fromkeys(lead.declined_by, SkipReason.DECLINED))
        last = pool.position_of(offers[-1].member_id) if offers else None
        decision = self.strategies.decide(
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
        decision = self.strategies.decide(
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
