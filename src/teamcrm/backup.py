"""Backing up one whole team as JSON Lines, and restoring it into any store.

:func:`export_team` writes every record of a team — the team, members,
companies, contacts, buckets and memberships, interactions, opportunities,
cases and the notes filed under them, follow-up policies, touches, due rows
and snoozes, tasks, role slots, pools, routing cursors, leads, offers,
inbound buckets, saved filters, programs and their enrolments, campaigns and their sends,
notifications, digest times and the outbox events — to a text stream;
:func:`import_team` reads such a stream into a store that does not hold the
team yet, in one unit of work (all or nothing).  The format is documented in
``docs/backup.md``:

* line 1, the header: ``{"format": "teamcrm-team-backup", "version": 1,
  "team_id": "tm_..."}``;
* then one line per record, ``{"kind": "contact", "data": {...}}``, the kinds
  in the order of :data:`KINDS` (parents before what refers to them), each
  record the entity as :func:`teamcrm.converter.unstructure` makes it;
* events (kind ``event``) in outbox order, without the store's ``seq``;
* the last line, ``{"kind": "end", "records": N}``: a file without it (cut
  short) is refused.

Records of one kind are sorted by their JSON text (events keep their order),
and keys are sorted, so exporting the same team from any store gives the same
bytes.  Every repository of the unit of work is covered by a kind or listed
in :data:`DERIVED` (see ``tests/service/test_backup.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, Any

import attrs

from teamcrm.bucket import Bucket, BucketMembership
from teamcrm.campaign import Campaign, CampaignSend
from teamcrm.case import Case
from teamcrm.contact import Company, Contact
from teamcrm.converter import structure, unstructure
from teamcrm.errors import AlreadyExists, NotFound, ValidationError
from teamcrm.events import DomainEvent
from teamcrm.followup import FollowUpDue, FollowUpPolicy, Snooze, Touch
from teamcrm.ids import PREFIXES, ContactId, MemberId, TeamId
from teamcrm.interaction import Interaction
from teamcrm.lead import InboundBucket, IntakeRecord, Lead, Offer, RoleSlot, RoutingCursor
from teamcrm.notification import Notification
from teamcrm.opportunity import Opportunity, RecordNote
from teamcrm.pool import LeadPool
from teamcrm.ports import Store, UnitOfWork
from teamcrm.program import Enrolment, Program
from teamcrm.search import SavedFilter
from teamcrm.task import Task
from teamcrm.team import Member, Team

__all__ = [
    "DERIVED",
    "FORMAT",
    "KINDS",
    "VERSION",
    "BackupSummary",
    "DigestTime",
    "export_team",
    "import_team",
]

#: The ``format`` of the header line.
FORMAT = "teamcrm-team-backup"
#: The format version this module writes and reads.
VERSION = 1
#: Far enough in the future to list every pending touch.
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)
#: Notifications read per member (all of them).
_ALL = 2**31 - 1
#: Records written to the store per call while importing.
_BATCH = 500


@attrs.frozen(kw_only=True)
class DigestTime:
    """When a member's last email digest went out (kind ``digest``)."""

    team_id: TeamId
    member_id: MemberId
    last_digest_at: datetime


@attrs.frozen(kw_only=True)
class BackupSummary:
    """What :func:`export_team` wrote or :func:`import_team` restored.

    :ivar counts: records per kind (kinds without records are left out).
    """

    team_id: TeamId
    counts: dict[str, int]

    @property
    def records(self) -> int:
        """Records in all (header and end line not counted)."""
        return sum(self.counts.values())


@attrs.define
class _Restore:
    """What the writers of later kinds need from earlier ones while importing."""

    wide_touches: list[Touch] = attrs.field(factory=list)


Writer = Callable[[UnitOfWork, Sequence[Any], _Restore], None]


def _adding(repository: str, method: str = "add") -> Writer:
    """A writer calling ``uow.<repository>.<method>(record)`` for each record."""

    def write(uow: UnitOfWork, rows: Sequence[Any], state: _Restore) -> None:
        add = getattr(getattr(uow, repository), method)
        for row in rows:
            add(row)

    return write


def _bulk(repository: str, method: str) -> Writer:
    """A writer calling ``uow.<repository>.<method>(records)`` once per batch."""

    def write(uow: UnitOfWork, rows: Sequence[Any], state: _Restore) -> None:
        getattr(getattr(uow, repository), method)(list(rows))

    return write


@attrs.frozen
class _Kind:
    """One kind of record: which repositories it covers, how to read and write it."""

    name: str
    cls: type[Any]
    repositories: tuple[str, ...]
    read: Callable[[UnitOfWork, TeamId, _Context], Iterable[Any]]
    write: Writer
    ordered: bool = False  # keep the store's order (events) instead of sorting


@attrs.define
class _Context:
    """What later kinds need from earlier ones while exporting."""

    members: list[Member] = attrs.field(factory=list)
    contact_ids: set[str] = attrs.field(factory=set)
    leads: list[Lead] = attrs.field(factory=list)


def _members(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> list[Member]:
    ctx.members = uow.members.all(team_id)
    return ctx.members


def _contacts(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> list[Contact]:
    rows = uow.contacts.all(team_id)
    ctx.contact_ids.update(c.id for c in rows)
    return rows


def _memberships(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> Iterator[BucketMembership]:
    for bucket in uow.buckets.all(team_id):
        yield from uow.memberships.items(team_id, bucket.id)


def _interactions(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> list[Interaction]:
    rows = uow.interactions.all(team_id)
    for i in rows:
        ctx.contact_ids.update(i.contact_ids)
    return rows


def _touched_contacts(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> list[ContactId]:
    """Contacts that may have touches: those that exist, and those named by other records."""
    ids = set(ctx.contact_ids)
    ids.update(ld.contact_id for ld in uow.leads.all(team_id))
    ids.update(s.contact_id for s in uow.snoozes.all(team_id))
    for m in ctx.members:
        ids.update(t.contact_id for t in uow.tasks.for_member(team_id, m.id))
    return [ContactId(i) for i in sorted(ids)]


def _member_touches(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> list[Touch]:
    ids = _touched_contacts(uow, team_id, ctx)
    ctx.contact_ids.update(ids)
    return list(uow.touches.member_latest(team_id, ids).values())


def _team_touches(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> list[Touch]:
    ids = [ContactId(i) for i in sorted(ctx.contact_ids)]
    return list(uow.touches.team_latest(team_id, ids).values())


# Touches are kept "newest wins" (a tie keeps the first recorded), so they are
# restored in three steps that give back exactly the exported entries: the
# member entries that are not team-wide, then the team-wide entries, then the
# member entries that are team-wide (never newer than their team's entry).
def _restore_member_touches(uow: UnitOfWork, rows: Sequence[Touch], state: _Restore) -> None:
    uow.touches.record([t for t in rows if not t.team_wide])
    state.wide_touches.extend(t for t in rows if t.team_wide)


def _finish_touches(uow: UnitOfWork, state: _Restore) -> None:
    if state.wide_touches:
        uow.touches.record(state.wide_touches)


def _dues(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> Iterator[FollowUpDue]:
    ids = sorted(ctx.contact_ids)
    for m in ctx.members:
        yield from uow.followup_dues.for_contacts(team_id, m.id, ids)


def _tasks(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> Iterator[Task]:
    for m in ctx.members:
        yield from uow.tasks.for_member(team_id, m.id)


def _cursors(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> Iterator[RoutingCursor]:
    for pool in uow.lead_pools.all(team_id):
        cursor = uow.routing_cursors.get(team_id, pool.id)
        if cursor.version > 0:
            # The version only guards concurrent writers; a restored cursor starts at 1.
            yield attrs.evolve(cursor, version=1)


def _restore_cursors(uow: UnitOfWork, rows: Sequence[RoutingCursor], state: _Restore) -> None:
    for cursor in rows:
        uow.routing_cursors.put(attrs.evolve(cursor, version=1))


def _leads(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> list[Lead]:
    ctx.leads = uow.leads.all(team_id)
    return ctx.leads


def _offers(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> Iterator[Offer]:
    for lead in ctx.leads:
        yield from uow.offers.for_lead(team_id, lead.id)


def _inbound(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> Iterator[InboundBucket]:
    for m in ctx.members:
        row = uow.inbound_buckets.get(team_id, m.id)
        if row is not None:
            yield row


def _saved_filters(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> list[SavedFilter]:
    found: dict[str, SavedFilter] = {}
    for m in ctx.members:
        for f in uow.saved_filters.for_member(team_id, m.id):
            found[f.id] = f
    return list(found.values())


def _campaign_sends(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> Iterator[CampaignSend]:
    for campaign in uow.campaigns.all(team_id):
        yield from uow.campaign_sends.for_campaign(team_id, campaign.id)


def _enrolments(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> Iterator[Enrolment]:
    for program in uow.programs.all(team_id):
        yield from uow.enrolments.for_program(team_id, program.id)


def _notifications(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> Iterator[Notification]:
    for m in ctx.members:
        yield from uow.notifications.for_member(team_id, m.id, limit=_ALL)


def _digests(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> Iterator[DigestTime]:
    for m in ctx.members:
        at = uow.notifications.last_digest_at(team_id, m.id)
        if at is not None:
            yield DigestTime(team_id=team_id, member_id=m.id, last_digest_at=at)


def _restore_digests(uow: UnitOfWork, rows: Sequence[DigestTime], state: _Restore) -> None:
    for d in rows:
        uow.notifications.complete_digest(
            d.team_id, d.member_id, token="teamcrm-backup-restore", ids=(), at=d.last_digest_at
        )


def _events(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> Iterator[DomainEvent]:
    after = 0
    while True:
        page = uow.outbox.read(team_id, after, 1000)
        yield from (m.event for m in page)
        if len(page) < 1000:
            return
        after = page[-1].seq


def _all(repository: str) -> Callable[[UnitOfWork, TeamId, _Context], list[Any]]:
    """A reader returning ``uow.<repository>.all(team_id)``."""

    def read(uow: UnitOfWork, team_id: TeamId, ctx: _Context) -> list[Any]:
        rows: list[Any] = getattr(uow, repository).all(team_id)
        return rows

    return read


#: Every kind of record, in file order (parents first).
KINDS: tuple[_Kind, ...] = (
    _Kind("team", Team, ("teams",), lambda u, t, c: [u.teams.get(t)], _adding("teams")),
    _Kind("member", Member, ("members",), _members, _adding("members")),
    _Kind("company", Company, ("companies",), _all("companies"), _adding("companies")),
    _Kind("contact", Contact, ("contacts",), _contacts, _bulk("contacts", "add_many")),
    _Kind("bucket", Bucket, ("buckets",), _all("buckets"), _adding("buckets")),
    _Kind(
        "membership",
        BucketMembership,
        ("memberships",),
        _memberships,
        _bulk("memberships", "add_many"),
    ),
    _Kind("interaction", Interaction, ("interactions",), _interactions, _adding("interactions")),
    _Kind(
        "opportunity",
        Opportunity,
        ("records",),
        lambda u, t, c: u.records.opportunities(t),
        _adding("records", "add_opportunity"),
    ),
    _Kind(
        "case",
        Case,
        ("records",),
        lambda u, t, c: u.records.cases(t),
        _adding("records", "add_case"),
    ),
    _Kind(
        "record_note",
        RecordNote,
        ("records",),
        lambda u, t, c: u.records.all_notes(t),
        _adding("records", "file_note"),
    ),
    _Kind(
        "followup_policy",
        FollowUpPolicy,
        ("followup_policies",),
        _all("followup_policies"),
        _adding("followup_policies"),
    ),
    _Kind("member_touch", Touch, ("touches",), _member_touches, _restore_member_touches),
    _Kind("team_touch", Touch, ("touches",), _team_touches, _bulk("touches", "record")),
    _Kind(
        "pending_touch",
        Touch,
        ("touches",),
        lambda u, t, c: u.touches.pending(t, _END_OF_TIME),
        _bulk("touches", "add_pending"),
    ),
    _Kind(
        "followup_due", FollowUpDue, ("followup_dues",), _dues, _bulk("followup_dues", "put_many")
    ),
    _Kind("snooze", Snooze, ("snoozes",), _all("snoozes"), _adding("snoozes", "put")),
    _Kind("task", Task, ("tasks",), _tasks, _adding("tasks")),
    _Kind(
        "role_slot",
        RoleSlot,
        ("lead_pools",),
        lambda u, t, c: u.lead_pools.role_slots(t),
        _adding("lead_pools", "add_role_slot"),
    ),
    _Kind("lead_pool", LeadPool, ("lead_pools",), _all("lead_pools"), _adding("lead_pools")),
    _Kind("routing_cursor", RoutingCursor, ("routing_cursors",), _cursors, _restore_cursors),
    _Kind("lead", Lead, ("leads",), _leads, _bulk("leads", "add_many")),
    _Kind("offer", Offer, ("offers",), _offers, _bulk("offers", "add_many")),
    _Kind(
        "inbound_bucket",
        InboundBucket,
        ("inbound_buckets",),
        _inbound,
        _adding("inbound_buckets", "put"),
    ),
    _Kind(
        "saved_filter", SavedFilter, ("saved_filters",), _saved_filters, _adding("saved_filters")
    ),
    _Kind("intake_key", IntakeRecord, ("intake",), _all("intake"), _adding("intake")),
    _Kind("program", Program, ("programs",), _all("programs"), _adding("programs")),
    _Kind("enrolment", Enrolment, ("enrolments",), _enrolments, _bulk("enrolments", "add_many")),
    _Kind("campaign", Campaign, ("campaigns",), _all("campaigns"), _adding("campaigns")),
    _Kind(
        "campaign_send",
        CampaignSend,
        ("campaign_sends",),
        _campaign_sends,
        _bulk("campaign_sends", "add_many"),
    ),
    _Kind(
        "notification",
        Notification,
        ("notifications",),
        _notifications,
        _bulk("notifications", "add_many"),
    ),
    _Kind("digest", DigestTime, ("notifications",), _digests, _restore_digests),
    _Kind("event", DomainEvent, ("outbox",), _events, _bulk("outbox", "append"), ordered=True),
)

#: Repositories of the unit of work the backup has no kind for, on purpose:
#: ``views`` holds nothing of its own (read-only queries over the tables
#: above); ``consumer_positions`` are positions in the outbox's ``seq``
#: numbers, which a restore does not keep (restored events get new ones), so
#: the application's consumers start again from the beginning of the restored
#: team's outbox (at-least-once, as always).
DERIVED: frozenset[str] = frozenset({"views", "consumer_positions"})

_BY_NAME = {k.name: (n, k) for n, k in enumerate(KINDS)}


def _line(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def export_team(source: Any, team_id: TeamId | str, out: IO[str]) -> BackupSummary:
    """Write the team *team_id* of *source* (a store or a CRM) to *out* as JSON Lines.

    Reads everything in one read-only unit of work (a consistent picture),
    one kind at a time; raises ``NotFound`` when the store has no such team.
    """
    store: Store = getattr(source, "store", source)
    tid = TeamId(str(team_id))
    counts: dict[str, int] = {}
    with store.unit_of_work(write=False) as uow:
        uow.teams.get(tid)  # NotFound before anything is written
        out.write(_line({"format": FORMAT, "version": VERSION, "team_id": tid}))
        ctx = _Context()
        for kind in KINDS:
            rows = [unstructure(r) for r in kind.read(uow, tid, ctx)]
            texts = [_line({"kind": kind.name, "data": r}) for r in rows]
            if not kind.ordered:
                texts.sort()
            out.writelines(texts)
            if texts:
                counts[kind.name] = len(texts)
        out.write(_line({"kind": "end", "records": sum(counts.values())}))
    return BackupSummary(team_id=tid, counts=counts)


def _records(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise ValidationError(f"line {number}", text[:80], f"is not JSON ({exc})") from None
        if not isinstance(obj, dict):
            raise ValidationError(f"line {number}", text[:80], "must be a JSON object")
        yield number, obj


def _header(records: Iterator[tuple[int, dict[str, Any]]]) -> TeamId:
    first = next(records, None)
    if first is None:
        raise ValidationError("backup", "", "is empty (no header line)")
    _, head = first
    if head.get("format") != FORMAT:
        raise ValidationError("format", head.get("format"), f"must be {FORMAT!r}")
    if head.get("version") != VERSION:
        raise ValidationError(
            "version", head.get("version"), f"is not a version this teamcrm reads ({VERSION})"
        )
    team_id = head.get("team_id")
    if not isinstance(team_id, str) or not team_id.startswith(PREFIXES["team"]):
        raise ValidationError("team_id", team_id, "must be a team id")
    return TeamId(team_id)


def import_team(store: Store, source: Iterable[str]) -> BackupSummary:
    """Restore the team backed up in *source* (lines of JSON) into *store*, all or nothing.

    Refuses (``AlreadyExists``) a store that already holds the team, and
    (``ValidationError``) a file of another format or version, a record of
    another team, kinds out of order, or a file cut short (no ``end`` line, or
    a record count that differs).  Everything is written in one unit of work.
    """
    records = _records(source)
    team_id = _header(records)
    counts: dict[str, int] = {}
    with store.unit_of_work() as uow:
        try:
            uow.teams.get(team_id)
        except NotFound:
            pass
        else:
            raise AlreadyExists("team", team_id)
        state = _Restore()
        position = -1
        batch: list[Any] = []
        current: _Kind | None = None
        ended = False
        for number, obj in records:
            name = obj.get("kind")
            if ended:
                raise ValidationError(f"line {number}", name, "follows the end line")
            if name == "end":
                ended = True
                if obj.get("records") != sum(counts.values()):
                    raise ValidationError(
                        "records", obj.get("records"), f"the file holds {sum(counts.values())}"
                    )
                continue
            found = _BY_NAME.get(name) if isinstance(name, str) else None
            if found is None:
                raise ValidationError(f"line {number}", name, "is not a kind of record")
            index, kind = found
            if index < position:
                raise ValidationError(f"line {number}", name, "comes after a later kind")
            if kind is not current:
                if current is not None and batch:
                    current.write(uow, batch, state)
                batch = []
                current, position = kind, index
            record = structure(obj.get("data"), kind.cls)
            owner = record.id if isinstance(record, Team) else getattr(record, "team_id", None)
            if owner != team_id:
                raise ValidationError(f"line {number}", name, f"is not of team {team_id}")
            batch.append(record)
            counts[kind.name] = counts.get(kind.name, 0) + 1
            if len(batch) >= _BATCH:
                kind.write(uow, batch, state)
                batch = []
        if not ended:
            raise ValidationError("backup", team_id, "is cut short (no end line)")
        if current is not None and batch:
            current.write(uow, batch, state)
        _finish_touches(uow, state)
        uow.commit()
    return BackupSummary(team_id=team_id, counts=counts)
