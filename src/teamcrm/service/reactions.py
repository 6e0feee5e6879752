"""Reactions: everything that happens, in the same unit of work, after a change.

A use case changes what it was asked to change, then *emits* the domain
events of that change (:meth:`Occasion.emit` or :meth:`Reactions.emit`).
Emitting collects the event for the outbox and runs, at once and in the
order below, every reaction declared for that event's name; a reaction may
write and emit events of its own (they run their reactions in turn).  All
of it commits or rolls back together with the change.

:func:`default_reactions` is the one place where reactions are declared:
reading it tells everything that happens after any change.  The table (also
in ``docs/architecture.md``, checked against this registry by a test)::

    bucket.items_added   -> follow-ups: start clocks; routing: route entries
    bucket.items_removed -> follow-ups: stop clocks
    bucket.deleted       -> follow-ups: drop policies
    interaction.logged   -> follow-ups: record touches
    contact.updated      -> interactions: file earlier notes under new companies
    team.settings_changed-> interactions: file every earlier note under companies
    contact.deleted      -> routing: close open leads
    lead.routed          -> contacts: apply the team's new_lead_status
    lead.reassigned      -> programs: enrol in the new owners' programs
    contact.created      -> programs: enrol in creation-triggered programs
    contact.opted_out    -> programs: stop the contact's runs
    program.paused       -> programs: stop the program's runs
    program.follow_ups_overdue -> programs: enrol the overdue contacts (the runner's scan)
    (programs also enrol on bucket.items_added - contacts, and the contacts of
    companies - lead.routed, lead.assigned and a status change, and stop runs on
    bucket.items_removed, interaction.logged, contact.deleted and company.deleted)

Each :class:`~teamcrm.service.crm.CRM` holds its own registry
(``crm.reactions``), so an application may add a reaction to one CRM
without touching others::

    crm.reactions.add(EventName.CONTACT_CREATED, "mine", "welcome the contact", handler)

Reactions run inside the unit: they must be quick, must not call out to the
network, and must not open another unit of work (use
:meth:`teamcrm.CRM.consume` for work after the commit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import attrs

from teamcrm.contact import Contact
from teamcrm.events import DomainEvent, EventName
from teamcrm.ids import MemberId, TeamId
from teamcrm.ports import UnitOfWork
from teamcrm.routing import DEFAULT_STRATEGIES, StrategyRegistry
from teamcrm.team import Team
from teamcrm.unit_of_work import read_ahead

__all__ = [
    "IdleCheck",
    "Occasion",
    "Reaction",
    "ReactionHandler",
    "Reactions",
    "default_reactions",
    "unit_cache",
    "unit_team",
]

#: A reaction: called with the occasion (the unit, the event and what the emitter knew).
ReactionHandler = Callable[["Occasion"], None]
#: What a reaction will read for an occasion: repository calls, made as the reaction makes them.
ReadsAhead = Callable[["Occasion"], Iterable[Callable[[], object]]]
#: Whether a reaction would do nothing for any of a run of events of its name
#: (given the occasion of the run's first event; see :meth:`Reactions.emit_all`).
IdleCheck = Callable[["Occasion", Sequence[DomainEvent]], bool]


@attrs.frozen
class Reaction:
    """One declared reaction.

    :ivar event: the event name it reacts to.
    :ivar area: the part of teamcrm that owns it (``"follow-ups"``, ``"routing"``...).
    :ivar does: one line saying what it does (shown in the reactions table).
    :ivar handler: the function that does it.
    :ivar ahead: optionally, the repository calls the handler will make first
        for an occasion (see :meth:`Reactions.read_ahead`).
    :ivar idle: optionally, a cheap check that the handler would do nothing
        for any event of a run of events of its name (see
        :meth:`Reactions.emit_all`); it must not write, and may say ``False``
        whenever unsure.
    """

    event: EventName
    area: str
    does: str
    handler: ReactionHandler = attrs.field(eq=False, repr=False)
    ahead: ReadsAhead | None = attrs.field(default=None, eq=False, repr=False)
    idle: IdleCheck | None = attrs.field(default=None, eq=False, repr=False)


@attrs.define(kw_only=True)
class Occasion:
    """What a reaction receives: the open unit, the event, and what its emitter had at hand.

    :ivar uow: the unit of work the change is being made in (not committed yet).
    :ivar event: the event reacted to (already collected for the outbox).
    :ivar reactions: the registry (for :meth:`emit`).
    :ivar subject: the changed object when the emitter has it (a ``Bucket``
        for bucket events, an ``Interaction`` for ``interaction.logged``...),
        else ``None`` (reactions then read it from the unit).
    :ivar contacts: contacts already read in this unit, by id (``None``: deleted);
        a reaction that writes a contact puts the new version back here.
    :ivar origin: who emitted it when that matters (``"routing"`` for items
        routing itself placed in an inbound bucket: they are not routed again).
    :ivar cache: scratch space shared by the reactions of one batch of events.
    """

    uow: UnitOfWork
    event: DomainEvent
    reactions: Reactions
    subject: object | None = None
    contacts: MutableMapping[str, Contact | None] = attrs.field(factory=dict)
    origin: str = ""
    cache: dict[str, Any] = attrs.field(factory=dict)

    @property
    def team_id(self) -> TeamId:
        """The team of the event."""
        return self.event.team_id

    @property
    def actor_id(self) -> MemberId | None:
        """The member who caused the event (``None``: the system)."""
        return self.event.actor_id

    @property
    def now(self) -> datetime:
        """When the event happened (the unit's time)."""
        return self.event.occurred_at

    def emit(self, event: DomainEvent, *, subject: object | None = None, origin: str = "") -> None:
        """Collect a further event in the same unit and run its reactions."""
        self.reactions.emit(
            self.uow,
            event,
            subject=subject,
            contacts=self.contacts,
            origin=origin,
            cache=self.cache,
        )


class Reactions:
    """The registry: for each event name, its reactions in the order they run."""

    def __init__(self, reactions: Iterable[Reaction] = ()) -> None:
        self._by_event: dict[EventName, list[Reaction]] = {}
        for reaction in reactions:
            self._by_event.setdefault(reaction.event, []).append(reaction)

    def add(
        self,
        event: EventName | str,
        area: str,
        does: str,
        handler: ReactionHandler,
        *,
        ahead: ReadsAhead | None = None,
        idle: IdleCheck | None = None,
    ) -> None:
        """Declare one more reaction to *event*; it runs after those declared before it.

        *ahead* (optional) returns the repository calls *handler* will make
        first for an occasion (see :meth:`read_ahead`); *idle* (optional)
        says when *handler* would do nothing for a run of events (see
        :meth:`emit_all`).
        """
        name = EventName(event)
        self._by_event.setdefault(name, []).append(Reaction(name, area, does, handler, ahead, idle))

    def for_event(self, event: EventName | str) -> tuple[Reaction, ...]:
        """The reactions to *event*, in the order they run."""
        return tuple(self._by_event.get(EventName(event), ()))

    def __iter__(self) -> Iterator[Reaction]:
        """Every reaction, grouped by event in declaration order."""
        return (r for group in self._by_event.values() for r in group)

    def emit(
        self,
        uow: UnitOfWork,
        event: DomainEvent,
        *,
        subject: object | None = None,
        contacts: MutableMapping[str, Contact | None] | Mapping[str, Contact] | None = None,
        origin: str = "",
        cache: dict[str, Any] | None = None,
    ) -> None:
        """Collect *event* in *uow* and run its reactions, in order, in the same unit."""
        uow.collect(event)
        self.react(uow, event, subject=subject, contacts=contacts, origin=origin, cache=cache)

    def emit_all(
        self,
        uow: UnitOfWork,
        events: Sequence[DomainEvent],
        *,
        contacts: MutableMapping[str, Contact | None] | Mapping[str, Contact] | None = None,
        origin: str = "",
        cache: dict[str, Any] | None = None,
    ) -> None:
        """:meth:`emit` each of *events* in turn, with the same *contacts*, *origin* and *cache*.

        The same outcome, cheaper for many events of one name (a routed add
        of 10,000 contacts emits a ``lead.routed`` per lead): a run of
        consecutive events of one name whose reactions all declare an
        ``idle`` check, and all say they would do nothing for any event of
        the run, is collected at once and none of its handlers is called.
        Any other run is emitted event by event, each event's reactions in
        their declared order before the next event's.
        """
        cache = {} if cache is None else cache
        start, count = 0, len(events)
        while start < count:
            name = events[start].name
            end = start + 1
            while end < count and events[end].name == name:
                end += 1
            run = events[start:end]
            if end - start > 1 and self._idle(uow, run, contacts, origin, cache):
                uow.collect(*run)
            else:
                for event in run:
                    self.emit(uow, event, contacts=contacts, origin=origin, cache=cache)
            start = end

    def _idle(
        self,
        uow: UnitOfWork,
        run: Sequence[DomainEvent],
        contacts: MutableMapping[str, Contact | None] | Mapping[str, Contact] | None,
        origin: str,
        cache: dict[str, Any],
    ) -> bool:
        """True when every reaction to the events of *run* (one name) would do nothing."""
        reactions = self._by_event.get(run[0].name)
        if not reactions:
            return True
        if any(r.idle is None for r in reactions):
            return False
        occasion = Occasion(
            uow=uow,
            event=run[0],
            reactions=self,
            contacts=_known(contacts),
            origin=origin,
            cache=cache,
        )
        return all(r.idle is not None and r.idle(occasion, run) for r in reactions)

    def react(
        self,
        uow: UnitOfWork,
        event: DomainEvent,
        *,
        subject: object | None = None,
        contacts: MutableMapping[str, Contact | None] | Mapping[str, Contact] | None = None,
        origin: str = "",
        cache: dict[str, Any] | None = None,
    ) -> None:
        """Run the reactions of *event*, which the unit already collected.

        For a use case that records its events where they happened but lets
        their reactions see the rest of its change first (a new contact's
        ``contact.created`` reactions run after it joined its buckets).
        """
        reactions = self._by_event.get(event.name)
        if not reactions:
            return
        occasion = Occasion(
            uow=uow,
            event=event,
            reactions=self,
            subject=subject,
            contacts=_known(contacts),
            origin=origin,
            cache={} if cache is None else cache,
        )
        for reaction in reactions:
            reaction.handler(occasion)

    def read_ahead(
        self,
        uow: UnitOfWork,
        event: DomainEvent,
        *,
        subject: object | None = None,
        origin: str = "",
        contacts: MutableMapping[str, Contact | None] | None = None,
    ) -> None:
        """Tell *uow* what the reactions of *event* will read first (``read_ahead``).

        Called before the change that emits *event* (as it would be emitted)
        is sent, so that a store talking to a server sends the reactions'
        first reads with it.  Collects nothing and runs no reaction;
        *contacts* are those the reactions will be given (read, not changed).
        """
        reactions = self._by_event.get(event.name)
        if not reactions:
            return
        occasion = Occasion(
            uow=uow,
            event=event,
            reactions=self,
            subject=subject,
            contacts={} if contacts is None else contacts,
            origin=origin,
        )
        reads = [read for r in reactions if r.ahead is not None for read in r.ahead(occasion)]
        if reads:
            read_ahead(uow, *reads)

    def table(self) -> list[tuple[str, str, str]]:
        """``(event, area, does)`` for every reaction, in order (the documented table)."""
        return [(r.event.value, r.area, r.does) for r in self]


def _known(
    contacts: MutableMapping[str, Contact | None] | Mapping[str, Contact] | None,
) -> MutableMapping[str, Contact | None]:
    """The contacts an occasion shares: *contacts* itself when it can be written, else a copy."""
    # ``dict`` first: the ``MutableMapping`` check is an ABC's, and a routed
    # add of single contacts runs this once per unit.
    if isinstance(contacts, dict):
        return contacts
    if isinstance(contacts, MutableMapping):
        return contacts
    return dict(contacts or {})


#: The attribute of a unit of work holding what its reactions read once per unit.
_UNIT_CACHE = "_teamcrm_unit_cache"


def unit_cache(occasion: Occasion) -> dict[str, Any]:
    """Scratch space shared by every reaction of the occasion's unit of work.

    Kept on the unit itself, so the reactions of all of a unit's events (a
    routed add emits several, in separate batches) share it; a unit that
    cannot hold an attribute keeps it for the batch of events instead.  Hold
    only what no use case changes in a unit that also triggers reactions
    (the team's settings, its programs).
    """
    cache = occasion.cache
    if _UNIT_CACHE in cache:  # another reaction of this batch found it already
        found: dict[str, Any] = cache[_UNIT_CACHE]
        return found
    uow = occasion.uow
    held = getattr(uow, _UNIT_CACHE, None)
    if held is None:
        held = {}
        # (not contextlib.suppress: three calls fewer, once per unit)
        try:  # noqa: SIM105
            setattr(uow, _UNIT_CACHE, held)
        except AttributeError:  # an adapter's unit with __slots__
            pass
    cache[_UNIT_CACHE] = held
    return held


def unit_team(occasion: Occasion) -> Team:
    """The occasion's team, read once per unit of work (see :func:`unit_cache`)."""
    held = unit_cache(occasion)
    team_id = occasion.event.team_id  # (the event's: no property call)
    key = f"team:{team_id}"
    if key in held:  # (look-ups, not a ``get`` call)
        team: Team = held[key]
        return team
    team = held[key] = occasion.uow.teams.get(team_id)
    return team


def default_reactions(strategies: StrategyRegistry | None = None) -> Reactions:
    """The reactions of teamcrm, declared in the order they run.

    This is the whole list of what happens, inside the same unit of work,
    after a change.  *strategies* are the routing strategies the routing
    reactions decide with (a CRM passes its own ``crm.strategies``; default:
    the process-wide :data:`~teamcrm.routing.DEFAULT_STRATEGIES`); they are
    bound here, as a composition root binds a handler's dependencies.
    """
    from teamcrm.service import followup_book as followups
    from teamcrm.service import interactions, routing
    from teamcrm.service import program_reactions as programs

    chosen = DEFAULT_STRATEGIES if strategies is None else strategies
    return Reactions(
        [
            Reaction(
                EventName.BUCKET_ITEMS_ADDED,
                "follow-ups",
                "start the follow-up clocks of the bucket's policies for the added contacts",
                followups.start_clocks,
                followups.start_clocks_ahead,
            ),
            Reaction(
                EventName.BUCKET_ITEMS_ADDED,
                "routing",
                "make leads of contacts entering a source bucket of an active pool and route"
                " them (not for a personal bucket, nor for contacts routing itself placed)",
                partial(routing.route_entries, strategies=chosen),
                routing.route_entries_ahead,
            ),
            Reaction(
                EventName.BUCKET_ITEMS_ADDED,
                "programs",
                "enrol the added contacts in the running programs attached to the bucket"
                " (if they meet the conditions and the owner may see them)",
                programs.enrol_bucket_entries,
            ),
            Reaction(
                EventName.BUCKET_ITEMS_ADDED,
                "programs",
                "enrol the contacts linked to each added company in the running"
                " company_bucket_entered programs attached to the bucket (those the owner"
                " may see now and that meet the conditions; the run records the company)",
                programs.enrol_company_entries,
            ),
            Reaction(
                EventName.BUCKET_ITEMS_REMOVED,
                "follow-ups",
                "stop the follow-up clocks of the bucket's policies for the removed contacts",
                followups.stop_clocks,
            ),
            Reaction(
                EventName.BUCKET_ITEMS_REMOVED,
                "programs",
                "stop the removed contacts' runs of programs attached to the bucket (left_bucket)",
                programs.stop_on_bucket_exit,
            ),
            Reaction(
                EventName.BUCKET_ITEMS_REMOVED,
                "programs",
                "stop the runs the removed companies started in company_bucket_entered"
                " programs attached to the bucket (company_left_bucket)",
                programs.stop_on_company_exit,
            ),
            Reaction(
                EventName.BUCKET_DELETED,
                "follow-ups",
                "delete the bucket's follow-up policies and their due rows",
                followups.drop_policies,
            ),
            Reaction(
                EventName.INTERACTION_LOGGED,
                "follow-ups",
                "record the interaction as a touch of each of its contacts",
                followups.record_touches,
            ),
            Reaction(
                EventName.INTERACTION_LOGGED,
                "programs",
                "an interaction other than a note, not logged by a program, stops the"
                " contacts' active runs (replied)",
                programs.stop_on_reply,
            ),
            Reaction(
                EventName.CONTACT_CREATED,
                "programs",
                "enrol the new contact in the running programs triggered by contact creation",
                programs.enrol_created_contacts,
            ),
            Reaction(
                EventName.CONTACT_UPDATED,
                "interactions",
                "when the contact gained companies and the team files notes under companies:"
                " file the contact's earlier interactions under them too",
                interactions.file_earlier_notes_of_contact,
            ),
            Reaction(
                EventName.CONTACT_UPDATED,
                "programs",
                "when the status changed: enrol the contact in the running programs"
                " triggered by that status change",
                programs.enrol_status_changes,
            ),
            Reaction(
                EventName.TEAM_SETTINGS_CHANGED,
                "interactions",
                "when file_notes_under_companies was turned on: file every earlier interaction"
                " of a contact under the contact's companies",
                interactions.file_every_earlier_note,
            ),
            Reaction(
                EventName.CONTACT_DELETED,
                "routing",
                "close the contact's open leads (removed): withdraw their offers, take them"
                " from their owners (freeing capacity), tell the owners",
                partial(routing.close_leads_of_deleted_contact, strategies=chosen),
            ),
            Reaction(
                EventName.CONTACT_DELETED,
                "programs",
                "delete the contact's program runs (a foreign key cascade on SQL stores)",
                programs.forget_deleted_contacts,
            ),
            Reaction(
                EventName.COMPANY_DELETED,
                "programs",
                "stop the runs the company started by entering buckets (company_left_bucket)",
                programs.stop_on_company_deleted,
            ),
            Reaction(
                EventName.LEAD_ROUTED,
                "contacts",
                "a new lead's contact takes the team's new_lead_status",
                routing.apply_new_lead_status,
                routing.apply_new_lead_status_ahead,
                idle=routing.new_lead_status_held,
            ),
            Reaction(
                EventName.LEAD_ROUTED,
                "programs",
                "enrol the lead's contact in the running lead_assigned programs of the"
                " members it was assigned to (any pool or that pool)",
                programs.enrol_assigned_leads,
                idle=programs.no_lead_assigned_programs,
            ),
            Reaction(
                EventName.LEAD_ASSIGNED,
                "programs",
                "enrol the lead's contact in the lead_assigned programs of its new owners",
                programs.enrol_assigned_leads,
                idle=programs.no_lead_assigned_programs,
            ),
            Reaction(
                EventName.LEAD_REASSIGNED,
                "programs",
                "enrol the lead's contact in the lead_assigned programs of its new owners",
                programs.enrol_assigned_leads,
                idle=programs.no_lead_assigned_programs,
            ),
            Reaction(
                EventName.CONTACT_OPTED_OUT,
                "programs",
                "stop the contact's active program runs (opted_out)",
                programs.stop_on_opt_out,
            ),
            Reaction(
                EventName.PROGRAM_PAUSED,
                "programs",
                "stop the program's active runs (program_paused)",
                programs.stop_on_pause,
            ),
            Reaction(
                EventName.PROGRAM_FOLLOW_UPS_OVERDUE,
                "programs",
                "enrol the contacts the runner found overdue in the follow_up_overdue program"
                " (if they meet its conditions and its owner may see them)",
                programs.enrol_overdue_follow_ups,
            ),
        ]
    )
