"""Exporting the contacts a member can see as CSV or vCard (see ``docs/importing.md``)."""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Literal

import attrs

from teamcrm.contact import Contact
from teamcrm.errors import ValidationError
from teamcrm.ids import BucketId
from teamcrm.importing import Preset, check_path, export_header, export_row
from teamcrm.search import ContactQuery, SavedFilterId
from teamcrm.service.base import SessionBase

__all__ = ["ExportFormat", "ExportUseCases"]

#: The forms :meth:`ExportUseCases.export_contacts` writes.
ExportFormat = Literal["csv", "vcard"]
_FORMATS = ("csv", "vcard")


class ExportUseCases(SessionBase):
    """CSV and vCard export (mixed into :class:`~teamcrm.service.MemberSession`)."""

    def export_contacts(
        self,
        file: str | os.PathLike[str] | IO[str],
        *,
        bucket_id: BucketId | None = None,
        query: ContactQuery | Mapping[str, Any] | None = None,
        filter_id: SavedFilterId | None = None,
        preset: Preset = "generic",
        format: ExportFormat | None = None,
    ) -> int:
        """Write the contacts the member can see; return how many were written.

        *bucket_id* and *query* (a :class:`~teamcrm.search.ContactQuery` or
        its fields) or *filter_id* (a saved filter the member may run: its
        query) narrow the contacts, as :meth:`search` does; a contact's
        companies are the ones the member can see.  *format* is ``"csv"``
        (columns: :data:`teamcrm.importing.EXPORT_COLUMNS` of *preset*) or
        ``"vcard"`` (:func:`teamcrm.vcard.write_vcard`); by default a path
        ending in ``.vcf`` / ``.vcard`` is vCard, anything else CSV.  A path
        is written whole or not at all (``FILE.partial`` renamed at the end).
        """
        if format is None:
            from teamcrm.vcard import is_vcard_path

            vcard = isinstance(file, str | os.PathLike) and is_vcard_path(file)
            format = "vcard" if vcard else "csv"
        if format not in _FORMATS:
            raise ValidationError("format", format, f"must be one of {_FORMATS}")
        header = export_header(preset)
        if format == "vcard":
            from teamcrm.vcard import require_vobject

            require_vobject()
        if filter_id is not None:
            if query is not None:
                raise ValidationError("filter_id", filter_id, "give a query or a filter, not both")
            with self._unit(write=False) as (uow, actor):
                query = self._saved(uow, actor, filter_id).query  # type: ignore[attr-defined]
        criteria = _criteria(query)
        if bucket_id is not None:
            criteria["bucket_id"] = bucket_id
        if isinstance(file, str | os.PathLike):
            target = Path(check_path("file", file))
            if not target.name:
                raise ValidationError("file", file, "must name a file")
            partial = target.with_name(target.name + ".partial")
            try:
                with partial.open("w", encoding="utf-8", newline="") as out:
                    count = self._write(out, header, criteria, preset, format)
                partial.replace(target)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    partial.unlink(missing_ok=True)
                raise ValidationError("file", file, f"cannot be written: {exc.strerror}") from exc
            except BaseException:
                with contextlib.suppress(OSError):
                    partial.unlink(missing_ok=True)
                raise
            return count
        if not hasattr(file, "write"):
            raise ValidationError("file", file, "must be a path or a text file object")
        return self._write(file, header, criteria, preset, format)

    def _exported(self, criteria: dict[str, Any]) -> Iterator[tuple[Contact, list[str]]]:
        """Each contact the member can see under *criteria*, with its visible companies."""
        names = {c.id: c.name for c in self.companies()}  # type: ignore[attr-defined]
        after: str | None = None
        while True:
            page = self.search(limit=500, after=after, **criteria)  # type: ignore[attr-defined]
            for row in page.rows:
                contact: Contact = row.contact
                yield contact, [names[c] for c in contact.company_ids if c in names]
            after = page.next_cursor
            if after is None:
                return

    def _write(
        self,
        out: IO[str],
        header: tuple[str, ...],
        criteria: dict[str, Any],
        preset: str,
        format: str,
    ) -> int:
        count = 0
        if format == "vcard":
            from teamcrm.vcard import write_vcard

            for contact, companies in self._exported(criteria):
                write_vcard(out, contact, companies)
                count += 1
            return count
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        for contact, companies in self._exported(criteria):
            writer.writerow(export_row(contact, companies, preset))
            count += 1
        return count


def _criteria(query: ContactQuery | Mapping[str, Any] | None) -> dict[str, Any]:
    if isinstance(query, ContactQuery):
        return {
            k: v for k, v in attrs.asdict(query, recurse=False).items() if v not in (None, False)
        }
    if isinstance(query, Mapping):
        criteria = dict(query)
        if any(not isinstance(k, str) for k in criteria):
            raise ValidationError("query", query, "keys must be criterion names (text)")
        return criteria
    if query is not None:
        raise ValidationError("query", query, "must be a ContactQuery or a mapping")
    return {}
