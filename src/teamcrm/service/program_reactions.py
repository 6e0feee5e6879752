"""Programs' reactions: enrolling contacts and stopping enrolments, in the trigger's unit.

Declared in :func:`teamcrm.service.reactions.default_reactions`; each runs
inside the unit of work of the change that triggered it, so a change that
rolls back enrols (or stops) nothing.

Enrolling checks, for each running program (personal and active) whose
trigger matches: the owner is active and may see the contact now (a
personal program acts only on what its owner can see), the contact meets
the program's conditions, and the re-enrol policy allows a new run.  The
store's unique constraint keeps one active run per (program, contact) even
when two units enrol the same contact at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import cast

from teamcrm import permissions as perm
from teamcrm.bucket import Bucket, BucketMembership
from teamcrm.contact import Contact
from teamcrm.errors import NotFound
from teamcrm.events import DomainEvent, EventName
from teamcrm.ids import PREFIXES, BucketId, CompanyId, ContactId, TeamId
from teamcrm.interaction import Interaction, InteractionKind
from teamcrm.lead import LeadId
from teamcrm.ports import UnitOfWork
from teamcrm.program import (
    Enrolment,
    Program,
    ProgramId,
    ReEnrol,
    StopReason,
    TriggerKind,
    new_enrolment_ids,
)
from teamcrm.service.reactions import Occasion
from teamcrm.team import Member

__all__ = [
    "ORIGIN",
    "enrol_assigned_leads",
    "enrol_bucket_entries",
    "enrol_company_entries",
    "enrol_created_contacts",
    "enrol_overdue_follow_ups",
    "enrol_status_changes",
    "forget_deleted_contacts",
    "no_lead_assigned_programs",
    "stop_enrolments",
    "stop_on_bucket_exit",
    "stop_on_company_deleted",
    "stop_on_company_exit",
    "stop_on_opt_out",
    "stop_on_pause",
    "stop_on_reply",
]

#: The ``origin`` of events a program step emits (an interaction a program logs is no reply).
ORIGIN = "programs"


#: The attribute of a unit of work that holds its team's programs once read.
_UNIT_CACHE = "_teamcrm_programs"


def _programs(occasion: Occasion) -> list[Program]:
    """Every program of the team, read once per unit of work (see :func:`_read_programs`).

    Found again through the batch's cache: a routed add of many contacts
    asks once per lead.
    """
    key = f"programs:{occasion.event.team_id}"  # (the event's: no property call)
    cache = occasion.cache
    if key in cache:  # (look-ups, not a ``get`` call: asked several times per event)
        programs: list[Program] = cache[key]
        return programs
    programs = cache[key] = _read_programs(occasion)
    return programs


def _read_programs(occasion: Occasion) -> list[Program]:
    """Every program of the team, read once per unit of work.

    Kept on the unit itself, so the reactions of all of a unit's events (a
    routed add emits several) share one read; a unit that cannot hold an
    attribute keeps it for the batch of events instead.  No use case
    changes programs and triggers enrolment in the same unit.
    """
    uow, team_id = occasion.uow, occasion.event.team_id
    ctx = getattr(uow, "context", None)  # an SQL store's (see SQLiteContext)
    if getattr(ctx, "programs_table", True) is False:
        return []  # a store opened with older migrations: no programs table
    facts = getattr(ctx, "facts", None)
    if isinstance(facts, dict) and facts.get(f"programs:{team_id}") is False:
        return []  # the unit read the team, and with it that the team has no programs
    held: dict[str, list[Program]] | None = getattr(uow, _UNIT_CACHE, None)
    if held is None:
        held = occasion.cache.setdefault(_UNIT_CACHE, {})
        with contextlib.suppress(AttributeError):  # an adapter's unit with __slots__
            setattr(uow, _UNIT_CACHE, held)
    programs = held.get(team_id)
    if programs is None:
        programs = held[team_id] = uow.programs.all(team_id)
    return programs


def _running(occasion: Occasion, kind: TriggerKind) -> list[Program]:
    """The team's running programs with a *kind* trigger."""
    programs = _programs(occasion)
    if not programs:  # (most teams: no list to build)
        return []
    return [p for p in programs if p.runs and p.trigger.kind is kind]


def _contacts(occasion: Occasion, ids: Sequence[ContactId]) -> dict[str, Contact]:
    """The contacts of *ids* that exist, from what the unit already read where possible."""
    known = occasion.contacts
    found: dict[str, Contact] = {i: c for i in ids if (c := known.get(i)) is not None}
    missing = [i for i in ids if i not in known]
    if missing:
        for c in occasion.uow.contacts.get_many(occasion.team_id, missing):
            found[c.id] = c
            known[c.id] = c
    return found


class _ContactsOnDemand(Mapping[str, Contact]):
    """The contacts of *ids*, read (once, all together) only if a check needs one.

    Enrolling contacts that entered a bucket the owner can see, in a program
    without conditions, needs their ids only: a bulk add then reads no contact.
    """

    def __init__(self, occasion: Occasion, ids: Sequence[ContactId]) -> None:
        self._occasion = occasion
        self._ids = list(dict.fromkeys(ids))
        self._read: dict[str, Contact] | None = None

    def _contacts(self) -> dict[str, Contact]:
        if self._read is None:
            self._read = _contacts(self._occasion, self._ids)
        return self._read

    def __getitem__(self, key: str) -> Contact:
        return self._contacts()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


def enrol(
    uow: UnitOfWork,
    team_id: TeamId,
    programs: Iterable[Program],
    contacts: Mapping[str, Contact],
    occasion: Occasion,
    *,
    seen_through: Bucket | None = None,
    companies: Mapping[str, CompanyId] | None = None,
) -> int:
    """Enrol *contacts* in each of *programs* that admits them; return how many runs started.

    *seen_through*: the bucket the contacts just entered (its viewers see them).
    *companies*: by contact id, the company whose entry into a bucket enrols
    it (recorded on the run as ``company_id``).
    """
    programs = list(programs)
    if not programs or not contacts:
        return 0
    ids = cast(list[ContactId], list(contacts))
    held: dict[str, set[str]] = {}
    by_item: dict[str, list[BucketMembership]] = {}

    def memberships() -> None:  # read once, and only when a condition or a check needs them
        if held or not ids:
            return
        held.update((i, set()) for i in ids)
        by_item.update((i, []) for i in ids)
        for m in uow.memberships.buckets_of(team_id, ids):
            held[m.item_id].add(m.bucket_id)
            by_item[m.item_id].append(m)

    earlier: dict[tuple[str, str], list[Enrolment]] = {}
    for e in uow.enrolments.for_contacts(team_id, ids):
        earlier.setdefault((e.program_id, e.contact_id), []).append(e)
    owners: dict[str, Member | None] = {}
    buckets: dict[str, Bucket] | None = None
    now = occasion.now
    chosen: dict[ProgramId, list[ContactId]] = {}  # the contacts to enrol, by program
    for program in programs:
        owner = owners.get(program.owner_id)
        if program.owner_id not in owners:
            try:
                owner = uow.members.get(team_id, program.owner_id)
            except NotFound:
                owner = None
            owners[program.owner_id] = owner
        if owner is None or not owner.active:
            continue
        through = seen_through is not None and perm.can_view_bucket(owner, seen_through)
        if (through or owner.role.is_manager) and not program.conditions and not earlier:
            chosen[program.id] = ids  # the bulk case: every contact
            continue
        free = program.re_enrol is not ReEnrol.NEVER
        mine = chosen[program.id] = []
        for cid in ids:
            runs = earlier.get((program.id, cid))
            if runs and (not free or any(e.active for e in runs)):
                continue
            if program.conditions:
                if any(c.bucket_id is not None for c in program.conditions):
                    memberships()
                if not program.admits(contacts[cid], held.get(cid, ())):
                    continue
            if not through and not owner.role.is_manager:
                creator = contacts[cid].created_by
                if creator != owner.id:
                    memberships()
                    if buckets is None:
                        buckets = {b.id: b for b in uow.buckets.all(team_id)}
                    if not perm.can_see_item(owner, creator, by_item[cid], buckets):
                        continue
            mine.append(cid)
    started = 0
    for program_id, contact_ids in chosen.items():
        if not contact_ids:
            continue
        of = None if companies is None else [companies.get(c) for c in contact_ids]
        fresh = new_enrolment_ids(len(contact_ids))
        enrolled = uow.enrolments.add_new(team_id, program_id, now, fresh, contact_ids, of)
        if not enrolled:
            continue
        started += len(enrolled)
        data: dict[str, list[str]] = {"contact_ids": list(enrolled)}
        if companies:  # each contact's company, in the same order
            data["company_ids"] = [companies[c] for c in enrolled]
        occasion.emit(
            DomainEvent(
                name=EventName.PROGRAM_ENROLLED,
                team_id=team_id,
                subject_id=program_id,
                occurred_at=now,
                actor_id=occasion.actor_id,
                data=data,
            )
        )
    return started


def _item_contacts(event: DomainEvent) -> list[ContactId]:
    return [ContactId(i) for i in _items(event, "contact")]


def _item_companies(event: DomainEvent) -> list[CompanyId]:
    return [CompanyId(i) for i in _items(event, "company")]


def _items(event: DomainEvent, kind: str) -> list[str]:
    """The ids of *kind* (``contact``/``company``) among the event's ``item_ids``."""
    items = event.data.get("item_ids", [])
    prefix = PREFIXES[kind]
    return (
        [i for i in items if isinstance(i, str) and i.startswith(prefix)]
        if isinstance(items, list)
        else []
    )


def enrol_bucket_entries(occasion: Occasion) -> None:
    """``bucket.items_added``: enrol the contacts in the programs attached to the bucket."""
    programs = _attached(occasion, TriggerKind.BUCKET_ENTERED, running=True)
    if not programs:
        return
    ids = _item_contacts(occasion.event)
    bucket = occasion.subject if isinstance(occasion.subject, Bucket) else None
    if bucket is None:
        bucket_id = BucketId(occasion.event.subject_id)
        bucket = occasion.uow.buckets.get(occasion.team_id, bucket_id)
    enrol(
        occasion.uow,
        occasion.team_id,
        programs,
        _ContactsOnDemand(occasion, ids),
        occasion,
        seen_through=bucket,
    )


def _attached(occasion: Occasion, kind: TriggerKind, *, running: bool) -> list[Program]:
    """The programs with a *kind* trigger attached to the event's bucket (only running ones)."""
    bucket_id = occasion.event.subject_id
    found = _running(occasion, kind) if running else _programs(occasion)
    if not found:
        return []
    return [p for p in found if p.trigger.kind is kind and p.trigger.bucket_id == bucket_id]


def enrol_company_entries(occasion: Occasion) -> None:
    """``bucket.items_added``: companies entering enrol their contacts (``company_bucket_entered``).

    The contacts linked to each added company now, that the owner of a
    running program attached to the bucket may see now (the contacts did not
    enter the bucket themselves: their own visibility decides), each as a
    run of its own recording the company.  A contact linked to two added
    companies is enrolled once (for the first).
    """
    programs = _attached(occasion, TriggerKind.COMPANY_BUCKET_ENTERED, running=True)
    if not programs:
        return
    company_of: dict[str, CompanyId] = {}
    known = occasion.contacts
    contacts: dict[str, Contact] = {}
    for company_id in _item_companies(occasion.event):
        for contact in occasion.uow.contacts.by_company(occasion.team_id, company_id):
            if contact.id not in company_of:
                company_of[contact.id] = company_id
                contacts[contact.id] = known[contact.id] = contact
    enrol(occasion.uow, occasion.team_id, programs, contacts, occasion, companies=company_of)


def stop_on_company_exit(occasion: Occasion) -> None:
    """``bucket.items_removed``: stop the runs the removed companies started in the bucket."""
    attached = {
        p.id for p in _attached(occasion, TriggerKind.COMPANY_BUCKET_ENTERED, running=False)
    }
    companies = _item_companies(occasion.event)
    if attached and companies:
        runs = occasion.uow.enrolments.for_companies(occasion.team_id, companies)
        stop_enrolments(
            occasion,
            [e for e in runs if e.program_id in attached],
            StopReason.COMPANY_LEFT_BUCKET,
        )


def stop_on_company_deleted(occasion: Occasion) -> None:
    """``company.deleted``: it left every bucket, so the runs it started stop."""
    if any(p.trigger.kind is TriggerKind.COMPANY_BUCKET_ENTERED for p in _programs(occasion)):
        runs = occasion.uow.enrolments.for_companies(
            occasion.team_id, [CompanyId(occasion.event.subject_id)]
        )
        stop_enrolments(occasion, runs, StopReason.COMPANY_LEFT_BUCKET)


def enrol_created_contacts(occasion: Occasion) -> None:
    """``contact.created``: enrol the new contact in the programs triggered by creation."""
    programs = _running(occasion, TriggerKind.CONTACT_CREATED)
    if programs:
        contact_ids = [ContactId(occasion.event.subject_id)]
        enrol(occasion.uow, occasion.team_id, programs, _contacts(occasion, contact_ids), occasion)


def no_lead_assigned_programs(occasion: Occasion, events: Sequence[DomainEvent]) -> bool:
    """True when :func:`enrol_assigned_leads` would do nothing for any of *events*.

    That is when the team runs no ``lead_assigned`` program (read once per
    unit); checked once for a run of lead events (see
    :meth:`~teamcrm.service.reactions.Reactions.emit_all`).
    """
    return not _running(occasion, TriggerKind.LEAD_ASSIGNED)


def enrol_assigned_leads(occasion: Occasion) -> None:
    """``lead.routed``/``lead.assigned``/``lead.reassigned``: enrol the lead's contact.

    In the programs of the members who now own the lead (``lead_assigned``
    triggers, of any pool or of the lead's pool).
    """
    programs = _running(occasion, TriggerKind.LEAD_ASSIGNED)
    if not programs:
        return
    lead = occasion.uow.leads.get(occasion.team_id, LeadId(occasion.event.subject_id))
    named = occasion.event.data.get("member_ids")
    gained = set(lead.assignee_ids)
    if isinstance(named, list):
        gained &= set(named)
    chosen = [
        p for p in programs if p.owner_id in gained and p.trigger.pool_id in (None, lead.pool_id)
    ]
    if chosen:
        contacts = _contacts(occasion, [lead.contact_id])
        enrol(occasion.uow, occasion.team_id, chosen, contacts, occasion)


def enrol_overdue_follow_ups(occasion: Occasion) -> None:
    """``program.follow_ups_overdue``: enrol the contacts the runner's scan found overdue.

    The event names one ``follow_up_overdue`` program (its subject) and the
    contacts whose follow-up for its owner is overdue by the trigger's days
    (see :mod:`teamcrm.service.program_overdue`).
    """
    program_id = occasion.event.subject_id
    programs = [p for p in _running(occasion, TriggerKind.FOLLOW_UP_OVERDUE) if p.id == program_id]
    ids = occasion.event.data.get("contact_ids")
    if programs and isinstance(ids, list):
        contacts = _contacts(occasion, [ContactId(i) for i in ids if isinstance(i, str)])
        enrol(occasion.uow, occasion.team_id, programs, contacts, occasion)


def enrol_status_changes(occasion: Occasion) -> None:
    """``contact.updated`` (its status among the fields): enrol in status-change programs."""
    fields = occasion.event.data.get("fields")
    if not isinstance(fields, list) or "status" not in fields:
        return
    programs = _running(occasion, TriggerKind.STATUS_CHANGED)
    if not programs:
        return
    contacts = _contacts(occasion, [ContactId(occasion.event.subject_id)])
    contact = contacts.get(occasion.event.subject_id)
    if contact is None:
        return
    chosen = [p for p in programs if p.trigger.status in (None, contact.status)]
    enrol(occasion.uow, occasion.team_id, chosen, contacts, occasion)


def stop_enrolments(
    occasion: Occasion, enrolments: Iterable[Enrolment], reason: StopReason
) -> list[Enrolment]:
    """Stop the active ones of *enrolments* with *reason*; emit one event each; return them.

    The store stops those still active whatever their version, so a worker
    that claimed one meanwhile never makes the change that stops it fail
    (its step then finds the run moved and rolls back).
    """
    ids = [e.id for e in enrolments if e.active]
    if not ids:
        return []
    stopped = occasion.uow.enrolments.stop_active(occasion.team_id, ids, reason, occasion.now)
    for e in stopped:
        occasion.emit(
            DomainEvent(
                name=EventName.PROGRAM_ENROLMENT_STOPPED,
                team_id=e.team_id,
                subject_id=e.id,
                occurred_at=occasion.now,
                actor_id=occasion.actor_id,
                data={
                    "program_id": e.program_id,
                    "contact_id": e.contact_id,
                    "reason": reason.value,
                    **({} if e.company_id is None else {"company_id": e.company_id}),
                },
            )
        )
    return stopped


def stop_on_bucket_exit(occasion: Occasion) -> None:
    """``bucket.items_removed``: stop the runs of programs attached to the bucket."""
    attached = {p.id for p in _attached(occasion, TriggerKind.BUCKET_ENTERED, running=False)}
    if not attached:
        return
    ids = _item_contacts(occasion.event)
    runs = occasion.uow.enrolments.for_contacts(occasion.team_id, ids)
    stop_enrolments(occasion, [e for e in runs if e.program_id in attached], StopReason.LEFT_BUCKET)


def stop_on_reply(occasion: Occasion) -> None:
    """``interaction.logged``: any interaction but a note, not logged by a program, is a reply."""
    if occasion.origin == ORIGIN:
        return
    interaction = occasion.subject
    if not isinstance(interaction, Interaction) or interaction.kind is InteractionKind.NOTE:
        return
    if not interaction.contact_ids:
        return
    runs = occasion.uow.enrolments.for_contacts(occasion.team_id, interaction.contact_ids)
    stop_enrolments(occasion, runs, StopReason.REPLIED)


def stop_on_opt_out(occasion: Occasion) -> None:
    """``contact.opted_out``: stop the contact's active runs (reason ``opted_out``)."""
    runs = occasion.uow.enrolments.for_contacts(
        occasion.team_id, [ContactId(occasion.event.subject_id)]
    )
    stop_enrolments(occasion, runs, StopReason.OPTED_OUT)


def stop_on_pause(occasion: Occasion) -> None:
    """``program.paused``: stop every active run of the program (reason ``program_paused``)."""
    runs = occasion.uow.enrolments.for_program(
        occasion.team_id,
        occasion.event.subject_id,  # type: ignore[arg-type]
    )
    stop_enrolments(occasion, runs, StopReason.PROGRAM_PAUSED)


def forget_deleted_contacts(occasion: Occasion) -> None:
    """``contact.deleted``: its enrolments go with it (a cascade on SQL stores)."""
    occasion.uow.enrolments.forget_contacts(
        occasion.team_id, [ContactId(occasion.event.subject_id)]
    )
