"""Contacts in and out of CSV files: reading, column presets, the import report.

:meth:`MemberSession.import_contacts
<teamcrm.service.importing.ImportUseCases.import_contacts>` reads a CSV file
with :func:`open_table` and maps its columns with :func:`resolve_columns`;
:meth:`~teamcrm.service.exporting.ExportUseCases.export_contacts` writes one
with :func:`export_header` and :func:`export_row`.  See ``docs/importing.md``.

Reading a file
--------------
* **Encoding**: the first 64 KiB decide.  Valid UTF-8 (with or without a
  byte-order mark, which is dropped) is read as ``utf-8-sig``; otherwise
  ``cp1252`` (Excel on Windows) if those bytes decode in it, else
  ``latin-1`` (which decodes anything).  A file that turns out not to be
  UTF-8 after the first 64 KiB is refused with ``ValidationError`` naming the
  row.  A text file object is read as it is (its encoding is the opener's);
  a leading byte-order mark is dropped.
* **Delimiter**: :class:`csv.Sniffer` picks one of ``, ; TAB |`` from the
  first lines (comma when it cannot tell).
* **Header**: the first row names the columns when one of its cells is a
  column name the preset or the mapping knows (:func:`looks_like_header`);
  otherwise it is data, and the mapping must give the columns by position
  (``{0: "name", 1: "email"}``, counted from 0).  Rows are numbered as a
  spreadsheet shows them: a header is row 1 and the first contact row 2
  (a quoted cell spanning lines counts as one row).
* **Streaming**: rows are read one at a time; the file is never held whole.

Columns
-------
A column maps to a *target*: ``first_name``, ``last_name``, ``name`` (split at
the first space), ``email``, ``phone``, ``company``, ``status``, ``source``,
``bucket`` (a bucket's id or name), ``custom:NAME`` (a custom field) or
``ignore``.  Column names are compared ignoring case and punctuation
(``E-mail 1 - Value`` is ``e mail 1 value``, see
:func:`teamcrm.intake.field_key`).  A *preset* (``generic``, ``google``,
``outlook``) gives the usual names; the caller's *mapping* adds to it and
wins.  Cells of ``email``, ``phone`` and ``company`` columns may hold several
values separated by ``:::`` (as Google writes them) or by ``;`` followed by
a space.

This module reads files (:func:`open_table`) and holds the import options;
the columns and presets are in :mod:`teamcrm.import_columns`, the report in
:mod:`teamcrm.import_report` (both re-exported here).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any, Literal

import attrs

from teamcrm.contact import EmailAddress
from teamcrm.errors import ValidationError
from teamcrm.import_columns import EMAIL_LABELS as EMAIL_LABELS
from teamcrm.import_columns import (
    EXPORT_COLUMNS,
    PRESETS,
    Column,
    Preset,
    export_header,
    export_row,
    looks_like_header,
    resolve_columns,
    split_cell,
)
from teamcrm.import_columns import JOINER as JOINER
from teamcrm.import_columns import LABEL_TYPES as LABEL_TYPES
from teamcrm.import_columns import LABELS as LABELS
from teamcrm.import_columns import PHONE_LABELS as PHONE_LABELS
from teamcrm.import_columns import TARGETS as TARGETS
from teamcrm.import_columns import TYPE_LABELS as TYPE_LABELS
from teamcrm.import_columns import VCARD_HEADER as VCARD_HEADER
from teamcrm.import_columns import VCARD_LABELS as VCARD_LABELS
from teamcrm.import_columns import VCARD_TARGETS as VCARD_TARGETS
from teamcrm.import_report import ImportFailed, ImportReport, RowError, SkippedRow

__all__ = [
    "EXPORT_COLUMNS",
    "FREE_MAIL_DOMAINS",
    "PRESETS",
    "Column",
    "ImportFailed",
    "ImportMode",
    "ImportReport",
    "OnDuplicate",
    "Preset",
    "RowError",
    "SkippedRow",
    "Table",
    "business_domain",
    "export_header",
    "export_row",
    "looks_like_header",
    "open_table",
    "resolve_columns",
    "split_cell",
]

OnDuplicate = Literal["skip", "fill_empty", "overwrite"]
ImportMode = Literal["all_or_nothing", "skip_bad_rows"]
#: Free-mail domains: an address there says nothing about the contact's company.
FREE_MAIL_DOMAINS = frozenset(
    {
        "aol.com",
        "gmail.com",
        "googlemail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "hotmail.com",
        "icloud.com",
        "live.com",
        "mac.com",
        "mail.com",
        "me.com",
        "msn.com",
        "outlook.com",
        "proton.me",
        "protonmail.com",
        "web.de",
        "yahoo.com",
        "yandex.ru",
        "zoho.com",
    }
)
#: Bytes read to decide the encoding and the delimiter.
SAMPLE_BYTES = 65_536


@attrs.define
class Table:
    """An open CSV file: its header, its rows (streamed), its encoding and delimiter."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    encoding: str
    delimiter: str


def business_domain(emails: Sequence[EmailAddress]) -> str | None:
    """The lower-case domain of the first address not at a free-mail domain, if any."""
    for email in emails:
        domain = email.address.rpartition("@")[2].lower()
        if domain and domain not in FREE_MAIL_DOMAINS:
            return domain
    return None


def _encoding_of(sample: bytes) -> str:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _dialect(sample: str) -> str:
    head = sample[:8192]
    if "\n" in head:
        head = head[: head.rindex("\n")]
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def check_path(field: str, value: str | os.PathLike[str]) -> str:
    """Return *value* as a file path, or raise ``ValidationError`` naming *field*.

    Empty paths and paths with NUL characters are refused before the
    operating system sees them (it would raise ``ValueError``).
    """
    try:
        name = os.fspath(value)
    except TypeError:
        raise ValidationError(field, value, "must be a path") from None
    if not isinstance(name, str) or not name.strip() or "\x00" in name:
        raise ValidationError(field, value, "must be a non-empty path without NUL characters")
    return name


@contextmanager
def open_table(source: str | os.PathLike[str] | IO[str]) -> Iterator[Table]:
    """Open *source* (a path or a text file object) as a :class:`Table` (see the module doc).

    A path is closed when the block ends; a file object is left open.
    Raises ``ValidationError`` for a missing file or one with no header row.
    """
    if isinstance(source, str | os.PathLike):
        name = check_path("source", source)
        try:
            raw = open(name, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise ValidationError("source", name, f"cannot be read: {exc.strerror}") from exc
        with raw:
            encoding = _encoding_of(raw.read(SAMPLE_BYTES))
            raw.seek(0)
            text = io.TextIOWrapper(raw, encoding=encoding, newline="")
            yield _table(text, encoding, name)
        return
    if not hasattr(source, "read"):
        raise ValidationError("source", source, "must be a path or a text file object")
    yield _table(source, str(getattr(source, "encoding", None) or "text"), "source")


def _table(text: IO[str], encoding: str, name: str) -> Table:
    try:
        sample = text.read(SAMPLE_BYTES)
        if sample and not sample.endswith("\n"):
            sample += text.readline()
    except UnicodeDecodeError as exc:
        raise ValidationError("source", name, f"is not {encoding} text: {exc.reason}") from exc
    if not isinstance(sample, str):
        raise ValidationError("source", name, "must be opened in text mode")
    sample = sample.removeprefix("\ufeff")
    delimiter = _dialect(sample)
    lines = _lines(io.StringIO(sample, newline=""), text, encoding, name)
    reader = csv.reader(lines, delimiter=delimiter)
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise ValidationError("source", name, "has no header row")
    return Table(
        header=[h.strip() for h in header],
        rows=_rows(reader),
        encoding=encoding,
        delimiter=delimiter,
    )


def _lines(first: IO[str], rest: IO[str], encoding: str, name: str) -> Iterator[str]:
    yield from first
    try:
        yield from rest
    except UnicodeDecodeError as exc:
        raise ValidationError(
            "source", name, f"is not {encoding} text after the first 64 KiB: {exc.reason}"
        ) from exc


def _rows(reader: Any) -> Iterator[tuple[int, list[str]]]:
    number = 1
    for cells in reader:
        number += 1
        yield number, cells
