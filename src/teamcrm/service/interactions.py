"""Use cases for interactions and the shared contact record."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from teamcrm import permissions as perm
from teamcrm.bucket import Bucket
from teamcrm.channels import changed_channel, channel_effect
from teamcrm.contact import Company, Contact
from teamcrm.errors import NotFound, ValidationError
from teamcrm.events import EventName
from teamcrm.ids import (
    PREFIXES,
    CaseId,
    CompanyId,
    ContactId,
    OpportunityId,
    TeamId,
    new_interaction_id,
)
from teamcrm.interaction import (
    Interaction,
    InteractionKind,
    InteractionKindName,
    Outcome,
    OutcomeName,
)
from teamcrm.opportunity import RecordNote
from teamcrm.ports import UnitOfWork
from teamcrm.service.base import SessionBase, _item_ids
from teamcrm.service.records import visible_record
from teamcrm.team import Member
from teamcrm.unit_of_work import sending_later
from teamcrm.validation import (
    check_id,
    check_time,
)

if TYPE_CHECKING:
    from teamcrm.service.reactions import Occasion

__all__ = ["ContactRecord", "InteractionUseCases"]

#: At most this many contacts' reads are sent ahead by ``log_interaction`` (see ``_log_ahead``).
_CONTACTS_AHEAD = 20


@attrs.frozen(kw_only=True)
class ContactRecord:
    """A contact's record as one member sees it.

    :ivar companies: the contact's companies that the viewer may see (a
        company linked to the contact but out of the viewer's sight is left
        out, name and all).

    :ivar team_buckets: the team buckets holding the contact that the viewer
        can see.
    :ivar my_buckets: the viewer's own personal buckets holding it (never
        anyone else's).
    :ivar interactions: the interactions the viewer may read, newest first.
    """

    contact: Contact
    companies: tuple[Company, ...]
    team_buckets: tuple[Bucket, ...]
    my_buckets: tuple[Bucket, ...]
    interactions: tuple[Interaction, ...]


class InteractionUseCases(SessionBase):
    """Logging and reading interactions; a contact's shared record."""

    # ------------------------------------------------------------- interactions
    def log_interaction(
        self,
        kind: InteractionKind | InteractionKindName,
        *,
        contact_ids: Iterable[ContactId] = (),
        company_ids: Iterable[CompanyId] = (),
        occurred_at: datetime | None = None,
        outcome: Outcome | OutcomeName | None = None,
        via: str | None = None,
        reference: str | None = None,
        body: str = "",
        opportunity_id: OpportunityId | None = None,
        case_id: CaseId | None = None,
    ) -> Interaction:
        """Log a call, email, meeting, text or note about contacts and/or companies.

        With *opportunity_id* and/or *case_id* it is also filed under that
        opportunity or case (seed 002), which the member must see
        (``NotFound`` otherwise, as for a missing one); without contacts and
        companies it is then about the record's contacts and companies that
        the member may see (``ValidationError`` if there are none).

        A ``call`` with outcome ``connected`` validates the phone number used
        (*via*, or the contact's only number); an ``email`` with outcome
        ``sent`` or ``delivered`` validates the address used likewise, and
        one with outcome ``bounced`` clears it (see :mod:`teamcrm.channels`).  With the team
        setting on, the interaction is also filed under the contacts'
        companies.
        """
        contact_list = _item_ids("contact_ids", contact_ids) if contact_ids else []
        company_list = _item_ids("company_ids", company_ids) if company_ids else []
        if any(not i.startswith(PREFIXES["contact"]) for i in contact_list):
            raise ValidationError("contact_ids", contact_ids, "must hold contact ids")
        if any(not i.startswith(PREFIXES["company"]) for i in company_list):
            raise ValidationError("company_ids", company_ids, "must hold company ids")
        if opportunity_id is not None:
            check_id("opportunity_id", opportunity_id, PREFIXES["opportunity"])
        if case_id is not None:
            check_id("case_id", case_id, PREFIXES["case"])
        records_asked = opportunity_id is not None or case_id is not None
        with self._unit(ahead=self._log_ahead(contact_list, records=bool(records_asked))) as (
            uow,
            actor,
        ):
            now = self.crm.now()
            when = now if occurred_at is None else check_time("occurred_at", occurred_at)
            # Locked until commit: a record deleted meanwhile gets no note filed.
            records = [
                visible_record(self, uow, actor, rid, for_update=True)
                for rid in (opportunity_id, case_id)
                if rid is not None
            ]
            if not contact_list and not company_list and records:
                for record, seen in records:
                    contact_list += [c for c in record.contact_ids if c in seen]
                    company_list += [c for c in record.company_ids if c in seen]
                contact_list = list(dict.fromkeys(contact_list))
                company_list = list(dict.fromkeys(company_list))
                if not contact_list and not company_list:
                    raise ValidationError(
                        "contact_ids", (), "name a contact or company (the record has none you see)"
                    )
            contacts = [self._visible_contact(uow, actor, cid) for cid in contact_list]
            for co in company_list:
                self._visible_company(uow, actor, co)
            interaction = self._record_interaction(
                uow,
                actor,
                kind,
                contacts,
                company_list,
                when=when,
                now=now,
                outcome=outcome,
                via=via,
                reference=reference,
                body=body,
                record_ids=[record.id for record, _ in records],
            )
            uow.commit()
            return interaction

    def _log_ahead(
        self, contact_ids: list[str], *, records: bool
    ) -> Callable[[UnitOfWork], list[Callable[[], object]]] | None:
        """What :meth:`log_interaction` reads first: each contact (and its buckets), the team.

        Nothing when the interaction is filed under records (they are read
        and locked first) or is about many contacts.
        """
        if records or len(contact_ids) > _CONTACTS_AHEAD:
            return None
        per_contact = [self._visible_contact_ahead(cid) for cid in contact_ids]
        team_id = self.team_id

        def reads(uow: UnitOfWork) -> list[Callable[[], object]]:
            found = [read for ahead in per_contact for read in ahead(uow)]
            return [*found, lambda: uow.teams.get(team_id)]

        return reads

    def _record_interaction(
        self,
        uow: UnitOfWork,
        actor: Member,
        kind: InteractionKind | InteractionKindName,
        contacts: list[Contact],
        company_list: list[str],
        *,
        when: datetime,
        now: datetime,
        outcome: Outcome | OutcomeName | None = None,
        via: str | None = None,
        reference: str | None = None,
        body: str = "",
        record_ids: Sequence[Any] = (),
        origin: str = "",
    ) -> Interaction:
        """Log an interaction by *actor* about *contacts* (already checked) in the open unit.

        Files it (under the contacts' companies when the team says so, and
        under the records *record_ids*), emits ``interaction.logged`` (with
        *origin*: ``"programs"`` for an email a program sent) and applies its
        effect on the contacts' channels.  The caller commits.
        """
        team = uow.teams.get(self.team_id)
        filed = dict.fromkeys(company_list)
        if team.settings.file_notes_under_companies:
            for contact in contacts:
                filed.update(dict.fromkeys(contact.company_ids))
        interaction = Interaction(
            id=new_interaction_id(),
            team_id=self.team_id,
            kind=kind,  # type: ignore[arg-type]  # checked by Interaction
            author_id=actor.id,
            occurred_at=when,
            logged_at=now,
            contact_ids=tuple(c.id for c in contacts),
            company_ids=tuple(CompanyId(c) for c in filed),
            outcome=outcome,  # type: ignore[arg-type]  # checked by Interaction
            via=via,
            reference=reference,
            body=body,
        )
        with sending_later(uow):  # nothing reads it back in this unit
            uow.interactions.add(interaction)
        for record_id in record_ids:
            uow.records.file_note(
                RecordNote(team_id=self.team_id, record_id=record_id, interaction_id=interaction.id)
            )
        self.crm.reactions.emit(
            uow,
            self._event(
                EventName.INTERACTION_LOGGED,
                interaction.id,
                now,
                kind=interaction.kind.value,
                contact_ids=list(interaction.contact_ids),
                occurred_at=when.isoformat(),
            ),
            subject=interaction,
            origin=origin,
        )
        # Contacts whose channel this changes are read again for update
        # (locked on PostgreSQL, in id order: two such units never wait
        # for each other in a cycle), so the change never fails on, or
        # undoes, a change made since they were read above.
        # As _phone_region, with the team read above (not a second read).
        region = (
            actor.phone_region if actor.phone_region is not None else team.settings.phone_region
        )
        stale = [c.id for c in contacts if channel_effect(c, interaction, region) not in (None, c)]
        fresh = {i: uow.contacts.get_for_update(self.team_id, i) for i in sorted(stale)}
        for contact_id in stale:
            contact = fresh[contact_id]
            updated = channel_effect(contact, interaction, region)
            changed = None if updated is None else changed_channel(contact, updated)
            if updated is not None and changed is not None:
                uow.contacts.update(updated, previous=contact)
                channel, works = changed
                uow.collect(
                    self._event(
                        EventName.CONTACT_CHANNEL_VALIDATED
                        if works
                        else EventName.CONTACT_CHANNEL_INVALIDATED,
                        contact.id,
                        now,
                        channel=channel,
                        interaction_id=interaction.id,
                    )
                )
        return interaction

    def _readable(
        self,
        uow: UnitOfWork,
        actor: Member,
        rows: list[Interaction],
        buckets: dict[str, Bucket] | None = None,
    ) -> list[Interaction]:
        targets = {t for i in rows for t in (*i.contact_ids, *i.company_ids)}
        memberships = uow.memberships.buckets_of(self.team_id, targets)
        if buckets is None:
            buckets = self._bucket_map(uow)
        authors: dict[str, Member] = (
            {m.id: m for m in uow.members.all(self.team_id)} if rows else {}
        )
        return [
            i for i in rows if perm.can_read_interaction(actor, i, memberships, buckets, authors)
        ]

    def interactions_for_contact(self, contact_id: ContactId) -> list[Interaction]:
        """Return the contact's interactions the member may read, newest first."""
        with self._unit(write=False) as (uow, actor):
            contact = self._visible_contact(uow, actor, contact_id)
            return self._readable(
                uow, actor, uow.interactions.for_contact(self.team_id, contact.id)
            )

    def company_interactions(self, company_id: CompanyId) -> list[Interaction]:
        """Return the interactions filed under a company that the member may read."""
        with self._unit(write=False) as (uow, actor):
            company = self._visible_company(uow, actor, company_id)
            return self._readable(
                uow, actor, uow.interactions.for_company(self.team_id, company.id)
            )

    def opportunity_notes(self, opportunity_id: OpportunityId) -> list[Interaction]:
        """The interactions filed under an opportunity that the member may read, newest first."""
        check_id("opportunity_id", opportunity_id, PREFIXES["opportunity"])
        return self._record_notes(opportunity_id)

    def case_notes(self, case_id: CaseId) -> list[Interaction]:
        """The interactions filed under a case that the member may read, newest first."""
        check_id("case_id", case_id, PREFIXES["case"])
        return self._record_notes(case_id)

    def _record_notes(self, record_id: str) -> list[Interaction]:
        with self._unit(write=False) as (uow, actor):
            record, _ = visible_record(self, uow, actor, record_id)
            rows = [
                uow.interactions.get(self.team_id, i)
                for i in uow.records.note_ids(self.team_id, record.id)
            ]
            rows.sort(key=lambda i: (i.occurred_at, i.id), reverse=True)
            return self._readable(uow, actor, rows)

    def contact_record(self, contact_id: ContactId) -> ContactRecord:
        """Return the contact's shared record as this member sees it.

        Its companies (and the contact's ``company_ids``) are only those the
        member may see.
        """
        with self._unit(write=False) as (uow, actor):
            contact = self._shown_one(uow, actor, self._visible_contact(uow, actor, contact_id))
            buckets = self._bucket_map(uow)
            held = [
                buckets[m.bucket_id]
                for m in uow.memberships.buckets_of(self.team_id, [contact.id])
                if m.bucket_id in buckets
            ]
            team_buckets = tuple(
                b for b in held if not b.is_personal and perm.can_view_bucket(actor, b)
            )
            mine = tuple(b for b in held if b.is_personal and b.owner_id == actor.id)
            companies = tuple(
                c
                for c in (self._maybe_company(uow, cid) for cid in contact.company_ids)
                if c is not None and self._may_see(uow, actor, c.id, c.created_by)
            )
            interactions = self._readable(
                uow, actor, uow.interactions.for_contact(self.team_id, contact.id), buckets
            )
            return ContactRecord(
                contact=contact,
                companies=companies,
                team_buckets=team_buckets,
                my_buckets=mine,
                interactions=tuple(interactions),
            )

    def _maybe_company(self, uow: UnitOfWork, company_id: CompanyId) -> Company | None:
        try:
            return uow.companies.get(self.team_id, company_id)
        except NotFound:
            return None


# ================================================================ reactions
# Declared, in order, in teamcrm.service.reactions.default_reactions.
def file_earlier_notes_of_contact(occasion: Occasion) -> None:
    """``contact.updated`` (its companies changed): file its earlier interactions under them.

    Only while the team's ``file_notes_under_companies`` is on (seed 002:
    "all the notes filed under contacts visible" under their companies).
    Idempotent: an interaction already filed under a company is left alone.
    """
    fields = occasion.event.data.get("fields")
    if not isinstance(fields, list) or "company_ids" not in fields:
        return
    uow, team_id = occasion.uow, occasion.team_id
    if not uow.teams.get(team_id).settings.file_notes_under_companies:
        return
    found = uow.contacts.get_many(team_id, [ContactId(occasion.event.subject_id)])
    if found:
        _file_under_companies(uow, team_id, found[0])


def file_every_earlier_note(occasion: Occasion) -> None:
    """``team.settings_changed`` (filing on): file every contact's notes under its companies."""
    fields = occasion.event.data.get("fields")
    if not isinstance(fields, list) or "file_notes_under_companies" not in fields:
        return
    uow, team_id = occasion.uow, occasion.team_id
    if not uow.teams.get(team_id).settings.file_notes_under_companies:
        return
    for contact in uow.contacts.all(team_id):
        if contact.company_ids:
            _file_under_companies(uow, team_id, contact)


def _file_under_companies(uow: UnitOfWork, team_id: TeamId, contact: Contact) -> None:
    """File each interaction about *contact* under every company of the contact."""
    if not contact.company_ids:
        return
    for interaction in uow.interactions.for_contact(team_id, contact.id):
        missing = [c for c in contact.company_ids if c not in interaction.company_ids]
        if missing:
            uow.interactions.file_under(team_id, interaction.id, missing)
