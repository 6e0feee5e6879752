"""Importing contacts from CSV and exporting them (see ``docs/importing.md``).

:meth:`ImportUseCases.import_contacts` streams a CSV file
(:func:`teamcrm.importing.open_table`) row by row:

1. each row is checked (emails, phones in the team's region, status, custom
   fields, bucket); a bad row is listed with its row number, column and reason;
2. it is matched by normalised email address (lower case) or phone number
   (E.164 key) first against the rows imported before it, then against the
   contacts the member can see; a match is skipped, filled (``fill_empty``:
   empty names and source, missing custom fields, a company when it has none)
   or overwritten (``overwrite``: the row's non-empty names, status, source
   and custom fields replace the stored ones, company links are added).  Both
   policies add the row's missing emails and phones; nothing is ever cleared
   by an empty cell;
3. companies are matched among the companies the member can see: the row's
   first by its domain (the domain of the row's first email that is not a
   free-mail address), then by name (ignoring case), else created;
4. contacts go into the *bucket_id* bucket (or the row's ``bucket`` column):
   entering a pool's source bucket routes them exactly like any other add,
   and new contacts join the team's ``holds_all`` buckets.

``mode="all_or_nothing"`` does everything in one unit of work: after reading
the whole file, any bad row rolls it back and raises
:class:`~teamcrm.importing.ImportFailed` carrying the report.
``mode="skip_bad_rows"`` commits every *batch* rows in their own unit (so
routing happens per batch) and lists the bad rows.  ``dry_run=True`` does the
same work in one unit that is never committed, and returns the report.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import IO, Any, Literal

import attrs

from teamcrm import permissions as perm
from teamcrm.bucket import Bucket, BucketMembership
from teamcrm.contact import Company, Contact
from teamcrm.errors import ValidationError, _short
from teamcrm.events import EventName
from teamcrm.ids import BucketId, CompanyId, ContactId, new_company_id
from teamcrm.importing import (
    Column,
    ImportFailed,
    ImportMode,
    ImportReport,
    OnDuplicate,
    Preset,
    RowError,
    SkippedRow,
    business_domain,
    looks_like_header,
    open_table,
    resolve_columns,
)
from teamcrm.ports import UnitOfWork
from teamcrm.search import ContactQuery, SearchScope
from teamcrm.service.base import SessionBase, bumped, changed_contact_fields
from teamcrm.service.import_rows import Row, RowChecker
from teamcrm.team import Member, Team
from teamcrm.validation import check_int
from teamcrm.vcard import is_vcard_path, open_vcards

__all__ = ["ImportUseCases"]

_POLICIES = ("skip", "fill_empty", "overwrite")
_FORMATS = ("csv", "vcard")
#: The forms :meth:`ImportUseCases.import_contacts` reads.
ImportFormat = Literal["csv", "vcard"]
_MODES = ("all_or_nothing", "skip_bad_rows")
#: Most rows per batch.
MAX_BATCH = 10_000


class _Run:
    """The state of one import: the keys seen, the companies and buckets known."""

    def __init__(
        self, report: ImportReport, on_duplicate: str, fixed_bucket: str | None, dry: bool
    ) -> None:
        self.report = report
        self.on_duplicate = on_duplicate
        self.fixed_bucket = fixed_bucket
        self.dry = dry
        self.index: dict[str, ContactId] = {}  # this batch's email / phone keys -> contact id
        self.companies: dict[str, CompanyId] | None = None  # casefolded name -> id
        self.domains: dict[str, CompanyId] = {}  # lower-case domain -> id


class _Batch:
    """The contacts one unit of work creates and changes (written by ``flush``)."""

    def __init__(self) -> None:
        self.new: dict[ContactId, Contact] = {}
        self.changed: dict[ContactId, Contact] = {}
        self.stored: dict[ContactId, Contact] = {}
        self.to_bucket: dict[BucketId, tuple[Bucket, dict[ContactId, None]]] = {}


class ImportUseCases(SessionBase):
    """CSV import and export (mixed into :class:`~teamcrm.service.MemberSession`)."""

    def import_contacts(
        self,
        source: str | os.PathLike[str] | IO[str],
        *,
        mapping: Mapping[str | int, str | None] | None = None,
        preset: Preset = "generic",
        format: ImportFormat | None = None,
        header: bool | None = None,
        bucket_id: BucketId | None = None,
        on_duplicate: OnDuplicate = "skip",
        mode: ImportMode = "all_or_nothing",
        dry_run: bool = False,
        batch: int = 1000,
        progress: Callable[[int], None] | None = None,
    ) -> ImportReport:
        """Import the contacts of a CSV or vCard file (a path or a text file object).

        See the module doc.  *format* is ``"csv"`` or ``"vcard"`` (by default
        a path ending in ``.vcf`` / ``.vcard`` is vCard, anything else CSV;
        vCard needs ``teamcrm[vcard]`` and ignores *preset*).  *header*:
        ``True`` / ``False`` says whether a CSV file's first row names the
        columns; ``None`` (default) decides by
        :func:`~teamcrm.importing.looks_like_header`.  A file without a header
        needs a positional *mapping* (``{0: "name", 1: "email"}``).
        *progress*, if given, is called with the number of rows read after
        each batch.  Raises :class:`~teamcrm.importing.ImportFailed` (with the
        report) when an all-or-nothing import meets a bad row;
        ``ValidationError`` for bad arguments, an unreadable file or a header
        that maps no name, email or phone column; ``NotFound`` /
        ``PermissionDenied`` for a bucket the member cannot add to.
        """
        if on_duplicate not in _POLICIES:
            raise ValidationError("on_duplicate", on_duplicate, f"must be one of {_POLICIES}")
        if mode not in _MODES:
            raise ValidationError("mode", mode, f"must be one of {_MODES}")
        if progress is not None and not callable(progress):
            raise ValidationError("progress", progress, "must be a function of the rows read")
        if not isinstance(dry_run, bool):
            raise ValidationError("dry_run", dry_run, "must be a bool")
        check_int("batch", batch, minimum=1, maximum=MAX_BATCH)
        if header is not None and not isinstance(header, bool):
            raise ValidationError("header", header, "must be True, False or None")
        if format is None:
            vcard = isinstance(source, str | os.PathLike) and is_vcard_path(source)
            format = "vcard" if vcard else "csv"
        if format not in _FORMATS:
            raise ValidationError("format", format, f"must be one of {_FORMATS}")
        opened = open_vcards(source) if format == "vcard" else open_table(source)
        with opened as table:
            if format == "vcard":
                preset, has_header = "vcard", True  # type: ignore[assignment]
            else:
                has_header = _has_header(table.header, preset, mapping, header)
            columns, ignored = resolve_columns(table.header, preset, mapping, has_header=has_header)
            if not has_header:
                table.rows = itertools.chain([(1, table.header)], table.rows)  # rows 2...
            report = ImportReport(
                dry_run=dry_run,
                mode=mode,
                encoding=table.encoding,
                delimiter=table.delimiter,
                ignored_columns=ignored,
                header=has_header,
                format=format,
            )
            run = _Run(report, on_duplicate, bucket_id, dry_run)
            if dry_run or mode == "all_or_nothing":
                with self._unit(size=batch) as (uow, actor):
                    state = self._prepare(uow, actor, run)
                    for chunk in _chunks(table.rows, batch):
                        self._import_chunk(uow, state, run, columns, chunk)
                        if progress is not None:
                            progress(report.rows)
                    if not dry_run and not report.errors:
                        uow.commit()
                        report.committed = True
                if not dry_run and report.errors:
                    raise ImportFailed(report)
                return report
            for chunk in _chunks(table.rows, batch):
                with self._unit(size=batch) as (uow, actor):
                    state = self._prepare(uow, actor, run)
                    self._import_chunk(uow, state, run, columns, chunk)
                    uow.commit()
                    report.committed = True
                if progress is not None:
                    progress(report.rows)
            return report

    # ----------------------------------------------------------------- import
    def _prepare(self, uow: UnitOfWork, actor: Member, run: _Run) -> _Unit:
        team = uow.teams.get(self.team_id)
        buckets = list(uow.buckets.all(self.team_id))
        fixed: Bucket | None = None
        if run.fixed_bucket is not None:
            fixed = self._bucket(uow, actor, run.fixed_bucket)
            perm.require(perm.can_edit_bucket(actor, fixed), actor, "add to this bucket")
        if run.companies is None:
            run.companies = {}
            for company in self._visible_companies(uow, actor):
                run.companies.setdefault(company.name.casefold(), company.id)
                if company.domain:
                    run.domains.setdefault(company.domain.lower().removeprefix("www."), company.id)
        scope: SearchScope | None = None
        if not actor.role.is_manager:
            visible = frozenset(b.id for b in buckets if perm.can_view_bucket(actor, b))
            scope = SearchScope(member_id=actor.id, bucket_ids=visible)
        now = self.crm.now()
        checker = RowChecker(
            team=team,
            buckets=buckets,
            actor=actor,
            region=self._phone_region(uow, actor),
            now=now,
            member_id=self.member_id,
        )
        return _Unit(team=team, buckets=buckets, fixed=fixed, scope=scope, now=now, checker=checker)

    def _visible_companies(self, uow: UnitOfWork, actor: Member) -> list[Company]:
        rows = uow.companies.all(self.team_id)
        if actor.role.is_manager:
            return list(rows)
        buckets = self._bucket_map(uow)
        by_item: dict[str, list[BucketMembership]] = {}
        for m in uow.memberships.buckets_of(self.team_id, [c.id for c in rows]):
            by_item.setdefault(m.item_id, []).append(m)
        return [
            c
            for c in rows
            if perm.can_see_item(actor, c.created_by, by_item.get(c.id, []), buckets)
        ]

    def _import_chunk(
        self,
        uow: UnitOfWork,
        unit: _Unit,
        run: _Run,
        columns: list[Column],
        chunk: list[tuple[int, list[str]]],
    ) -> None:
        report = run.report
        batch = _Batch()
        rows: list[Row] = []
        check = unit.checker.check
        for number, cells in chunk:
            if not "".join(cells).strip():
                continue  # a blank line: not a row
            report.rows += 1
            checked = check(number, cells, columns, report)
            if checked is not None:
                rows.append(checked)
        # One lookup for the whole batch: which keys does the store hold at all?
        # Only those are searched for (with the member's scope) in _match.
        stored = uow.contacts.existing_keys(
            self.team_id,
            emails=[e.address.lower() for r in rows for e in r.emails],
            phones=[p.number for r in rows for p in r.phones],
        )
        for row in rows:
            number = row.number
            match = self._match(uow, unit, run, stored, row)
            if match is None:
                company_ids = self._company_ids(uow, unit, run, row)
                if company_ids is None:
                    continue
                contact = row.draft
                if contact is None or company_ids:
                    contact = unit.checker.contact(row, company_ids)
                batch.new[contact.id] = contact
                for key in row.match_keys():
                    run.index.setdefault(key, contact.id)
                report.created += 1
                self._into_bucket(batch, unit, row, contact.id)
                continue
            contact_id, key = match
            if run.on_duplicate == "skip":
                report.skipped.append(
                    SkippedRow(row=number, reason=f"duplicate ({key})", contact_id=contact_id)
                )
                continue
            current = self._current(uow, batch, contact_id)
            company_ids = self._company_ids(uow, unit, run, row)
            if company_ids is None:
                continue
            merged = _merged(current, row, company_ids, run.on_duplicate)
            if contact_id in batch.new:
                batch.new[contact_id] = merged
            elif merged != current:
                batch.changed[contact_id] = merged
            for k in row.match_keys():
                run.index.setdefault(k, contact_id)
            report.updated += 1
            self._into_bucket(batch, unit, row, contact_id)
        self._flush(uow, unit, batch)
        # The batch is in the store now (committed, or written in this unit):
        # later rows find its keys there, so memory stays bounded by a batch.
        run.index.clear()

    def _match(
        self, uow: UnitOfWork, unit: _Unit, run: _Run, stored: set[str], row: Row
    ) -> tuple[ContactId, str] | None:
        """The contact an earlier row or the store has under one of the row's keys.

        *stored* holds the batch's keys some contact of the store has; only
        those are searched for, within what the member can see.
        """
        for key in row.match_keys():
            if key in run.index:
                return run.index[key], key
        queries = [
            (e.address.lower(), ContactQuery(email=e.address))
            for e in row.emails
            if e.address.lower() in stored
        ]
        queries += [
            (p.number, ContactQuery(phone=p.number)) for p in row.phones if p.number in stored
        ]
        for key, query in queries:
            found = uow.views.search(self.team_id, query, scope=unit.scope, after=None, limit=1)
            if found:
                run.index[key] = found[0].id
                return found[0].id, key
        return None

    def _current(self, uow: UnitOfWork, batch: _Batch, contact_id: ContactId) -> Contact:
        for pending in (batch.new, batch.changed, batch.stored):
            if contact_id in pending:
                return pending[contact_id]
        contact = uow.contacts.get_for_update(self.team_id, contact_id)
        batch.stored[contact_id] = contact
        return contact

    def _company_ids(
        self, uow: UnitOfWork, unit: _Unit, run: _Run, row: Row
    ) -> list[CompanyId] | None:
        """The ids of the row's companies (matched by domain, then name, else made).

        The row's first company is the visible company whose domain is the
        domain of the row's first email that is not a free-mail address
        (:data:`~teamcrm.importing.FREE_MAIL_DOMAINS`), if one is; otherwise a
        company is the visible one with its name (ignoring case), else a new
        one (given that email domain).
        """
        assert run.companies is not None
        domain = business_domain(row.emails)
        ids: list[CompanyId] = []
        for position, (column, name) in enumerate(row.companies):
            known = run.domains.get(domain) if domain and position == 0 else None
            if known is None:
                known = run.companies.get(name.casefold())
            if known is None:
                new_domain = domain if domain and domain not in run.domains else None
                try:
                    company = Company(
                        id=new_company_id(),
                        team_id=self.team_id,
                        name=name,
                        created_at=unit.now,
                        domain=new_domain,
                        created_by=self.member_id,
                    )
                except ValidationError as exc:
                    run.report.errors.append(
                        RowError(row=row.number, column=column, value=name, reason=exc.reason)
                    )
                    return None
                uow.companies.add(company)
                uow.collect(
                    self._event(EventName.COMPANY_CREATED, company.id, unit.now, name=company.name)
                )
                run.companies[name.casefold()] = known = company.id
                if new_domain:
                    run.domains[new_domain] = company.id
                run.report.companies_created += 1
            if known not in ids:
                ids.append(known)
        return ids

    @staticmethod
    def _into_bucket(batch: _Batch, unit: _Unit, row: Row, contact_id: ContactId) -> None:
        for bucket in row.buckets or ([unit.fixed] if unit.fixed is not None else []):
            entry = batch.to_bucket.setdefault(bucket.id, (bucket, {}))
            entry[1][contact_id] = None

    def _flush(self, uow: UnitOfWork, unit: _Unit, batch: _Batch) -> None:
        """Write the batch, then run its events' reactions as the other use cases do.

        As in ``create_contacts``: the contacts are written and their events
        recorded first, they join their buckets (routing, follow-ups and
        bucket programs react to that), and only then do the
        ``contact.created`` and ``contact.updated`` reactions run (programs
        triggered by creation or a status change), so those see the
        contacts in their buckets.
        """
        now = unit.now
        new = list(batch.new.values())
        created = [unit.checker.created_event(c) for c in new]
        if new:
            uow.contacts.add_many(new)
            uow.collect(*created)
        updated = []
        for contact in batch.changed.values():
            uow.contacts.update(bumped(contact), previous=batch.stored.get(contact.id))
            fields = _changed_fields(batch.stored.get(contact.id), contact)
            updated.append(self._event(EventName.CONTACT_UPDATED, contact.id, now, fields=fields))
        uow.collect(*updated)
        known: dict[str, Contact] = {c.id: c for c in (*new, *batch.changed.values())}
        for bucket, ids in batch.to_bucket.values():
            self._add_items(uow, bucket, list(ids), now, known=known)
        self._join_omni_buckets(uow, new, now)
        contacts: dict[str, Contact | None] = dict(known)
        cache: dict[str, Any] = {}
        for event in (*created, *updated):
            self.crm.reactions.react(uow, event, contacts=contacts, cache=cache)


@attrs.frozen(kw_only=True)
class _Unit:
    """What one unit of work of an import reads once."""

    team: Team
    buckets: list[Bucket]
    fixed: Bucket | None
    scope: SearchScope | None
    now: datetime
    checker: RowChecker  # checks the rows (in the acting member's phone region, else the team's)


def _merged(contact: Contact, row: Row, company_ids: list[CompanyId], policy: str) -> Contact:
    """*contact* with what *row* adds under *policy* (see the module doc); not bumped."""
    have_e = {e.address.lower() for e in contact.emails}
    have_p = {p.number for p in contact.phones}
    changes: dict[str, Any] = {
        "emails": (*contact.emails, *(e for e in row.emails if e.address.lower() not in have_e)),
        "phones": (*contact.phones, *(p for p in row.phones if p.number not in have_p)),
    }
    if policy == "overwrite":
        if row.first_name or row.last_name:
            changes["first_name"] = row.first_name
            changes["last_name"] = row.last_name
        if row.status is not None:
            changes["status"] = row.status
        if row.source is not None:
            changes["source"] = row.source
        changes["custom_fields"] = {**contact.custom_fields, **row.custom}
        changes["company_ids"] = (
            *contact.company_ids,
            *(c for c in company_ids if c not in contact.company_ids),
        )
    else:  # fill_empty
        if not contact.first_name and row.first_name:
            changes["first_name"] = row.first_name
        if not contact.last_name and row.last_name:
            changes["last_name"] = row.last_name
        if contact.source is None and row.source is not None:
            changes["source"] = row.source
        changes["custom_fields"] = {**row.custom, **contact.custom_fields}
        if not contact.company_ids and company_ids:
            changes["company_ids"] = tuple(company_ids)
    merged: Contact = attrs.evolve(contact, **changes)
    return merged


def _changed_fields(before: Contact | None, after: Contact) -> list[str]:
    """The names of the fields a merge changed (``contact.updated``'s ``fields``)."""
    return ["import"] if before is None else changed_contact_fields(before, after)


def _has_header(
    first_row: list[str],
    preset: str,
    mapping: Mapping[str | int, str | None] | None,
    header: bool | None,
) -> bool:
    """Whether the first row of a CSV file is its header (see :meth:`import_contacts`)."""
    if header is not None:
        return header
    if looks_like_header(first_row, preset, mapping):
        return True
    if isinstance(mapping, Mapping) and any(type(k) is int for k in mapping):
        return False
    raise ValidationError(
        "header",
        _short(first_row),
        "the first row names no column the preset or the mapping knows, so it looks like"
        " data: give the columns by position (mapping={0: 'name', 1: 'email'}) or"
        " header=True",
    )


def _chunks(
    rows: Iterable[tuple[int, list[str]]], size: int
) -> Iterable[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
