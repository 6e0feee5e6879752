"""Use cases for opportunities and cases (seed 002: notes filed "under an opportunity or a case").

Who sees a record (checked at every read, at read time):

* managers and admins see every record;
* the owner of an opportunity, and the member who opened a case, always see it;
* anyone else sees a record if they can see at least one of its contacts or
  companies (the contact and company visibility rules of
  :mod:`teamcrm.permissions`).

A record out of a member's sight is ``NotFound``, exactly as a missing one.
A record whose contacts and companies were all deleted (or unlinked) is
kept: its owner (or creator) and managers still see it.  A record is shown
with only the links the member may see (like a contact's companies).

Deleting a contact or company removes its links from every record, in the
same transaction (a foreign key ``ON DELETE CASCADE`` on the SQL stores),
without changing the records' versions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TypeVar

import attrs

from teamcrm import permissions as perm
from teamcrm.bucket import BucketMembership
from teamcrm.case import Case, CaseStatus, CaseStatusName
from teamcrm.errors import ConcurrencyError, NotFound, ValidationError
from teamcrm.events import EventName
from teamcrm.ids import (
    PREFIXES,
    CaseId,
    CompanyId,
    ContactId,
    MemberId,
    OpportunityId,
    new_case_id,
    new_opportunity_id,
)
from teamcrm.opportunity import Opportunity, Stage, StageName
from teamcrm.ports import UnitOfWork
from teamcrm.service.base import SessionBase, _item_ids, bumped
from teamcrm.team import Member
from teamcrm.validation import check_enum, check_id

__all__ = ["Record", "RecordUseCases", "move_record_links", "visible_record"]

#: An opportunity or a case.
Record = Opportunity | Case
_R = TypeVar("_R", bound=Opportunity | Case)


# ================================================================ helpers
def seen_targets(
    session: SessionBase, uow: UnitOfWork, actor: Member, ids: Iterable[str]
) -> set[str]:
    """The contacts and companies among *ids* that *actor* may see (missing ones left out)."""
    wanted = set(ids)
    if not wanted:
        return set()
    team = session.team_id
    creators: dict[str, str | None] = {
        c.id: c.created_by
        for c in uow.contacts.get_many(
            team, [ContactId(i) for i in wanted if i.startswith(PREFIXES["contact"])]
        )
    }
    for co in sorted(i for i in wanted if i.startswith(PREFIXES["company"])):
        try:
            creators[co] = uow.companies.get(team, CompanyId(co)).created_by
        except NotFound:
            continue
    if actor.role.is_manager:
        return set(creators)
    held: dict[str, list[BucketMembership]] = {}
    for m in uow.memberships.buckets_of(team, list(creators)):
        held.setdefault(m.item_id, []).append(m)
    buckets = session._bucket_map(uow) if held else {}
    return {
        i for i, by in creators.items() if perm.can_see_item(actor, by, held.get(i, []), buckets)
    }


def _keeper(record: Record) -> str:
    """The member who always sees *record*: an opportunity's owner, a case's creator."""
    return record.owner_id if isinstance(record, Opportunity) else record.created_by


def _may_see(record: Record, actor: Member, seen: set[str]) -> bool:
    if actor.role.is_manager or _keeper(record) == actor.id:
        return True
    return any(t in seen for t in (*record.contact_ids, *record.company_ids))


def _shown(record: _R, actor: Member, seen: set[str]) -> _R:
    """*record* with only the links *actor* may see."""
    if actor.role.is_manager:
        return record
    contacts = tuple(c for c in record.contact_ids if c in seen)
    companies = tuple(c for c in record.company_ids if c in seen)
    if contacts == record.contact_ids and companies == record.company_ids:
        return record
    return attrs.evolve(record, contact_ids=contacts, company_ids=companies)


def _targets(record: Record) -> list[str]:
    return [*record.contact_ids, *record.company_ids]


def visible_record(
    session: SessionBase,
    uow: UnitOfWork,
    actor: Member,
    record_id: str,
    *,
    for_update: bool = False,
) -> tuple[Record, set[str]]:
    """The opportunity or case *record_id* and the links *actor* sees, or ``NotFound``.

    With *for_update* the record is locked first (``records.lock``): use it
    when the unit writes the record back.
    """
    if for_update and isinstance(record_id, str):
        uow.records.lock(session.team_id, record_id)
    if isinstance(record_id, str) and record_id.startswith(PREFIXES["case"]):
        check_id("case_id", record_id, PREFIXES["case"])
        record: Record = uow.records.get_case(session.team_id, CaseId(record_id))
        kind = "case"
    else:
        check_id("opportunity_id", record_id, PREFIXES["opportunity"])
        record = uow.records.get_opportunity(session.team_id, OpportunityId(record_id))
        kind = "opportunity"
    seen = seen_targets(session, uow, actor, _targets(record))
    if not _may_see(record, actor, seen):
        raise NotFound(kind, record_id)  # indistinguishable from a missing one
    return record, seen


def _check_targets(
    session: SessionBase,
    uow: UnitOfWork,
    actor: Member,
    contact_ids: Iterable[str],
    company_ids: Iterable[str],
) -> tuple[list[ContactId], list[CompanyId]]:
    """Checked, visible contact and company ids, held against deletion until commit.

    Each id is locked (``FOR KEY SHARE`` on PostgreSQL: a concurrent delete
    waits for this unit) and then checked to exist and be visible
    (``NotFound`` otherwise, the same for both).
    """
    contacts = [ContactId(c) for c in _ids("contact_ids", contact_ids, PREFIXES["contact"])]
    companies = [CompanyId(c) for c in _ids("company_ids", company_ids, PREFIXES["company"])]
    uow.contacts.lock(session.team_id, contacts)
    for cid in contacts:
        session._visible_contact(uow, actor, cid)
    for co in companies:
        session._visible_company(uow, actor, co)  # locks it too
    return contacts, companies


def _ids(field: str, value: Iterable[str], prefix: str) -> list[str]:
    items = _item_ids(field, value) if value else []
    for item in items:
        check_id(field, item, prefix)
    return items


def move_record_links(
    session: SessionBase, uow: UnitOfWork, gone: Sequence[ContactId], survivor: ContactId
) -> None:
    """Merging contacts: every record linked to one of *gone* links *survivor* instead."""
    now = session.crm.now()
    for found in uow.records.linking(session.team_id, gone):
        uow.records.lock(session.team_id, found.id)  # then read again: nothing is lost
        record: Record = (
            uow.records.get_opportunity(session.team_id, OpportunityId(found.id))
            if isinstance(found, Opportunity)
            else uow.records.get_case(session.team_id, CaseId(found.id))
        )
        ids = tuple(dict.fromkeys(survivor if c in gone else c for c in record.contact_ids))
        _save(session, uow, bumped(record, contact_ids=ids, updated_at=now), ["contact_ids"])


def _save(session: SessionBase, uow: UnitOfWork, record: Record, fields: list[str]) -> None:
    """Write a changed record and emit its ``*.updated`` event."""
    if isinstance(record, Opportunity):
        uow.records.update_opportunity(record)
        name = EventName.OPPORTUNITY_UPDATED
    else:
        uow.records.update_case(record)
        name = EventName.CASE_UPDATED
    session._emit(uow, session._event(name, record.id, record.updated_at, fields=fields))


def _expect(record: Record, expected_version: int | None) -> None:
    if expected_version is not None and record.version != expected_version:
        raise ConcurrencyError(
            "opportunity" if isinstance(record, Opportunity) else "case",
            record.id,
            expected_version,
        )


# ================================================================ use cases
class RecordUseCases(SessionBase):
    """Opportunities and cases: create, change, link, list (see the module doc)."""

    # ---------------------------------------------------------- opportunities
    def create_opportunity(
        self,
        title: str,
        *,
        value: Decimal | int | str = 0,
        currency: str = "EUR",
        stage: Stage | StageName = Stage.LEAD,
        owner_id: MemberId | None = None,
        contact_ids: Iterable[ContactId] = (),
        company_ids: Iterable[CompanyId] = (),
    ) -> Opportunity:
        """Create an opportunity (anyone); *owner_id* defaults to the member.

        The contacts and companies must be visible to the member (``NotFound``
        otherwise); only managers may make another member the owner, who must
        be an active member of the team.
        """
        with self._unit() as (uow, actor):
            owner = self._owner(uow, actor, owner_id)
            contacts, companies = _check_targets(self, uow, actor, contact_ids, company_ids)
            now = self.crm.now()
            opportunity = Opportunity(
                id=new_opportunity_id(),
                team_id=self.team_id,
                title=title,
                value=value,  # type: ignore[arg-type]  # checked by Opportunity
                currency=currency,
                stage=stage,  # type: ignore[arg-type]
                owner_id=owner,
                created_by=actor.id,
                created_at=now,
                updated_at=now,
                contact_ids=tuple(contacts),
                company_ids=tuple(companies),
            )
            uow.records.add_opportunity(opportunity)
            self._emit(
                uow,
                self._event(
                    EventName.OPPORTUNITY_CREATED,
                    opportunity.id,
                    now,
                    stage=opportunity.stage.value,
                    owner_id=owner,
                ),
                subject=opportunity,
            )
            uow.commit()
            return opportunity

    def _owner(self, uow: UnitOfWork, actor: Member, owner_id: str | None) -> MemberId:
        if owner_id is None or owner_id == actor.id:
            return actor.id
        owner = self._member(uow, owner_id)
        perm.require(
            actor.role.is_manager, actor, "make another member the owner", "managers, admins only"
        )
        if not owner.active:
            raise ValidationError("owner_id", owner_id, "is a deactivated member")
        return owner.id

    def opportunity(self, opportunity_id: OpportunityId) -> Opportunity:
        """Return the opportunity as the member sees it (``NotFound`` if hidden or missing)."""
        check_id("opportunity_id", opportunity_id, PREFIXES["opportunity"])
        with self._unit(write=False) as (uow, actor):
            record, seen = visible_record(self, uow, actor, opportunity_id)
            assert isinstance(record, Opportunity)
            return _shown(record, actor, seen)

    def opportunities(
        self, *, stage: Stage | StageName | None = None, owner_id: MemberId | None = None
    ) -> list[Opportunity]:
        """The opportunities the member may see (of one *stage* / *owner_id*), oldest first."""
        wanted = None if stage is None else check_enum("stage", Stage, stage)
        if owner_id is not None:
            check_id("owner_id", owner_id, PREFIXES["member"])
        with self._unit(write=False) as (uow, actor):
            rows = uow.records.opportunities(self.team_id, stage=wanted, owner_id=owner_id)
            return self._visible_rows(uow, actor, rows)

    def _visible_rows(self, uow: UnitOfWork, actor: Member, rows: list[_R]) -> list[_R]:
        seen = seen_targets(self, uow, actor, {t for r in rows for t in _targets(r)})
        return [_shown(r, actor, seen) for r in rows if _may_see(r, actor, seen)]

    def update_opportunity(
        self,
        opportunity_id: OpportunityId,
        *,
        expected_version: int | None = None,
        title: str | None = None,
        value: Decimal | int | str | None = None,
        currency: str | None = None,
        stage: Stage | StageName | None = None,
        owner_id: MemberId | None = None,
    ) -> Opportunity:
        """Change an opportunity's fields (anyone who sees it; the owner: its owner or managers).

        Fields left ``None`` keep their value.  The record is locked from its
        read to the commit, so a concurrent change is neither lost nor a
        failure; with *expected_version* the change is refused with
        ``ConcurrencyError`` unless the stored version is that one.  Links the
        member cannot see are kept.
        """
        check_id("opportunity_id", opportunity_id, PREFIXES["opportunity"])
        changes: dict[str, object] = {
            k: v
            for k, v in {
                "title": title,
                "value": value,
                "currency": currency,
                "stage": stage,
            }.items()
            if v is not None
        }
        with self._unit() as (uow, actor):
            record, seen = visible_record(self, uow, actor, opportunity_id, for_update=True)
            assert isinstance(record, Opportunity)
            _expect(record, expected_version)
            if owner_id is not None and owner_id != record.owner_id:
                perm.require(
                    actor.role.is_manager or record.owner_id == actor.id,
                    actor,
                    "hand over this opportunity",
                    "its owner, managers or admins only",
                )
                new_owner = self._member(uow, owner_id)
                if not new_owner.active:
                    raise ValidationError("owner_id", owner_id, "is a deactivated member")
                changes["owner_id"] = new_owner.id
            return self._commit_change(uow, actor, record, seen, changes)

    def delete_opportunity(
        self, opportunity_id: OpportunityId, *, expected_version: int | None = None
    ) -> None:
        """Delete an opportunity (its owner, its creator, managers or admins); notes are kept."""
        check_id("opportunity_id", opportunity_id, PREFIXES["opportunity"])
        with self._unit() as (uow, actor):
            record, _ = visible_record(self, uow, actor, opportunity_id, for_update=True)
            assert isinstance(record, Opportunity)
            _expect(record, expected_version)
            perm.require(
                actor.role.is_manager or actor.id in (record.owner_id, record.created_by),
                actor,
                "delete this opportunity",
                "its owner or creator, managers or admins only",
            )
            uow.records.delete_opportunity(self.team_id, record.id, record.version)
            self._emit(uow, self._event(EventName.OPPORTUNITY_DELETED, record.id, self.crm.now()))
            uow.commit()

    # ------------------------------------------------------------------ cases
    def create_case(
        self,
        title: str,
        *,
        status: CaseStatus | CaseStatusName = CaseStatus.OPEN,
        contact_ids: Iterable[ContactId] = (),
        company_ids: Iterable[CompanyId] = (),
    ) -> Case:
        """Open a case (anyone) about contacts and/or companies the member may see."""
        with self._unit() as (uow, actor):
            contacts, companies = _check_targets(self, uow, actor, contact_ids, company_ids)
            now = self.crm.now()
            case = Case(
                id=new_case_id(),
                team_id=self.team_id,
                title=title,
                status=status,  # type: ignore[arg-type]  # checked by Case
                created_by=actor.id,
                created_at=now,
                updated_at=now,
                contact_ids=tuple(contacts),
                company_ids=tuple(companies),
            )
            uow.records.add_case(case)
            self._emit(
                uow,
                self._event(EventName.CASE_CREATED, case.id, now, status=case.status.value),
                subject=case,
            )
            uow.commit()
            return case

    def case(self, case_id: CaseId) -> Case:
        """Return the case as the member sees it (``NotFound`` if hidden or missing)."""
        check_id("case_id", case_id, PREFIXES["case"])
        with self._unit(write=False) as (uow, actor):
            record, seen = visible_record(self, uow, actor, case_id)
            assert isinstance(record, Case)
            return _shown(record, actor, seen)

    def cases(self, *, status: CaseStatus | CaseStatusName | None = None) -> list[Case]:
        """The cases the member may see (of one *status*), oldest first."""
        wanted = None if status is None else check_enum("status", CaseStatus, status)
        with self._unit(write=False) as (uow, actor):
            return self._visible_rows(uow, actor, uow.records.cases(self.team_id, status=wanted))

    def update_case(
        self,
        case_id: CaseId,
        *,
        expected_version: int | None = None,
        title: str | None = None,
        status: CaseStatus | CaseStatusName | None = None,
    ) -> Case:
        """Change a case's title or status (anyone who sees it); ``None`` keeps a field."""
        check_id("case_id", case_id, PREFIXES["case"])
        changes = {k: v for k, v in {"title": title, "status": status}.items() if v is not None}
        with self._unit() as (uow, actor):
            record, seen = visible_record(self, uow, actor, case_id, for_update=True)
            assert isinstance(record, Case)
            _expect(record, expected_version)
            return self._commit_change(uow, actor, record, seen, changes)

    def delete_case(self, case_id: CaseId, *, expected_version: int | None = None) -> None:
        """Delete a case (its creator, managers or admins); the notes filed under it are kept."""
        check_id("case_id", case_id, PREFIXES["case"])
        with self._unit() as (uow, actor):
            record, _ = visible_record(self, uow, actor, case_id, for_update=True)
            assert isinstance(record, Case)
            _expect(record, expected_version)
            perm.require(
                actor.role.is_manager or actor.id == record.created_by,
                actor,
                "delete this case",
                "its creator, managers or admins only",
            )
            uow.records.delete_case(self.team_id, record.id, record.version)
            self._emit(uow, self._event(EventName.CASE_DELETED, record.id, self.crm.now()))
            uow.commit()

    # ------------------------------------------------------------------ links
    def link_record(
        self,
        record_id: OpportunityId | CaseId,
        *,
        contact_ids: Iterable[ContactId] = (),
        company_ids: Iterable[CompanyId] = (),
    ) -> Record:
        """Link contacts and/or companies (visible to the member) to an opportunity or case.

        Already linked ones are left alone.  A contact or company deleted
        meanwhile is ``NotFound`` (or, on PostgreSQL when the delete commits
        during the call, ``ConcurrencyError``): no link ever names it.
        """
        with self._unit() as (uow, actor):
            contacts, companies = _check_targets(self, uow, actor, contact_ids, company_ids)
            record, seen = visible_record(self, uow, actor, record_id, for_update=True)
            new_contacts = tuple(dict.fromkeys([*record.contact_ids, *contacts]))
            new_companies = tuple(dict.fromkeys([*record.company_ids, *companies]))
            seen |= {*contacts, *companies}
            links: dict[str, object] = {"contact_ids": new_contacts, "company_ids": new_companies}
            return self._commit_change(uow, actor, record, seen, links)

    def unlink_record(
        self,
        record_id: OpportunityId | CaseId,
        *,
        contact_ids: Iterable[ContactId] = (),
        company_ids: Iterable[CompanyId] = (),
    ) -> Record:
        """Remove links (to contacts or companies the member may see) from a record.

        Ids not linked are ignored; a hidden or missing contact or company is
        ``NotFound``.  A record left without links is kept (see the module doc).
        """
        with self._unit() as (uow, actor):
            record, seen = visible_record(self, uow, actor, record_id, for_update=True)
            gone = set(_ids("contact_ids", contact_ids, PREFIXES["contact"]))
            gone |= set(_ids("company_ids", company_ids, PREFIXES["company"]))
            for target in sorted(gone):
                if target not in seen_targets(self, uow, actor, [target]):
                    raise NotFound(
                        "contact" if target.startswith(PREFIXES["contact"]) else "company", target
                    )
            new_contacts = tuple(c for c in record.contact_ids if c not in gone)
            new_companies = tuple(c for c in record.company_ids if c not in gone)
            links: dict[str, object] = {"contact_ids": new_contacts, "company_ids": new_companies}
            return self._commit_change(uow, actor, record, seen, links)

    def _commit_change(
        self,
        uow: UnitOfWork,
        actor: Member,
        record: _R,
        seen: set[str],
        changes: Mapping[str, object],
    ) -> _R:
        """Apply *changes* (checked by the record), save, emit ``*.updated``, commit.

        Nothing is written when no field actually changes.  Returns the record
        as *actor* sees it.
        """
        updated = bumped(record, updated_at=self.crm.now(), **changes)
        fields = sorted(k for k in changes if getattr(updated, k) != getattr(record, k))
        if not fields:
            return _shown(record, actor, seen)
        _save(self, uow, updated, fields)
        uow.commit()
        return _shown(updated, actor, seen)
