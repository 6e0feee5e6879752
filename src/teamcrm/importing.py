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
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, Any, Literal

import attrs

from teamcrm.contact import Contact, EmailAddress
from teamcrm.errors import TeamCRMError, ValidationError, _short
from teamcrm.intake import field_key
from teamcrm.validation import check_field_name

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

Preset = Literal["generic", "google", "outlook"]
OnDuplicate = Literal["skip", "fill_empty", "overwrite"]
ImportMode = Literal["all_or_nothing", "skip_bad_rows"]

TARGETS = frozenset(
    {
        "first_name",
        "last_name",
        "name",
        "email",
        "phone",
        "company",
        "status",
        "source",
        "bucket",
        "ignore",
    }
)

_GENERIC = {
    "first name": "first_name",
    "firstname": "first_name",
    "given name": "first_name",
    "last name": "last_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family name": "last_name",
    "name": "name",
    "full name": "name",
    "email": "email",
    "emails": "email",
    "e mail": "email",
    "email address": "email",
    "phone": "phone",
    "phones": "phone",
    "phone number": "phone",
    "mobile": "phone",
    "company": "company",
    "companies": "company",
    "organization": "company",
    "status": "status",
    "source": "source",
    "bucket": "bucket",
}
_GOOGLE = {
    "first name": "first_name",
    "given name": "first_name",
    "last name": "last_name",
    "family name": "last_name",
    "name": "name",
    "organization name": "company",
    "organization 1 name": "company",
    **{f"e mail {i} value": "email" for i in range(1, 6)},
    **{f"phone {i} value": "phone" for i in range(1, 6)},
}
_OUTLOOK = {
    "first name": "first_name",
    "last name": "last_name",
    "e mail address": "email",
    "e mail 2 address": "email",
    "e mail 3 address": "email",
    "mobile phone": "phone",
    "business phone": "phone",
    "home phone": "phone",
    "primary phone": "phone",
    "company": "company",
}
#: TYPE values of TEL / EMAIL and the label each becomes (and back on export).
TYPE_LABELS = {
    "cell": "mobile",
    "iphone": "mobile",
    "mobile": "mobile",
    "work": "work",
    "home": "home",
    "main": "main",
    "fax": "fax",
    "pager": "pager",
}
PHONE_LABELS = ("mobile", "work", "home", "main", "fax", "pager")
EMAIL_LABELS = ("work", "home")
LABEL_TYPES = {"mobile": "cell"}

#: The columns of a vCard file as the import sees it (see :mod:`teamcrm.vcard`).
VCARD_HEADER: tuple[str, ...] = (
    "FN",
    "N given",
    "N family",
    "EMAIL",
    *(f"EMAIL {label}" for label in EMAIL_LABELS),
    "TEL",
    *(f"TEL {label}" for label in PHONE_LABELS),
    "ORG",
    "NOTE",
    "CATEGORIES",
)
#: Column name (as :func:`~teamcrm.intake.field_key` reduces it) → target.
VCARD_TARGETS: dict[str, str] = {
    "fn": "name",
    "n given": "first_name",
    "n family": "last_name",
    "email": "email",
    **{f"email {label}": "email" for label in EMAIL_LABELS},
    "tel": "phone",
    **{f"tel {label}": "phone" for label in PHONE_LABELS},
    "org": "company",
    "note": "custom:note",
}
#: Column name → the label its emails or phones get.
VCARD_LABELS: dict[str, str] = {
    **{f"email {label}": label for label in EMAIL_LABELS},
    **{f"tel {label}": label for label in PHONE_LABELS},
}
#: Column names (as :func:`~teamcrm.intake.field_key` reduces them) of each preset
#: (``vcard`` is the fixed columns :mod:`teamcrm.vcard` reads a ``.vcf`` file into).
PRESETS: Mapping[str, Mapping[str, str]] = {
    "generic": _GENERIC,
    "google": _GOOGLE,
    "outlook": _OUTLOOK,
    "vcard": VCARD_TARGETS,
}
#: Column names whose emails or phones get a label.
LABELS: Mapping[str, str] = {
    "mobile": "mobile",
    "mobile phone": "mobile",
    "business phone": "work",
    "home phone": "home",
    **VCARD_LABELS,
}
#: The columns :func:`export_header` writes for each preset.
EXPORT_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "generic": ("first_name", "last_name", "email", "phone", "company", "status", "source"),
    "google": (
        "First Name",
        "Last Name",
        "E-mail 1 - Value",
        "Phone 1 - Value",
        "Organization 1 - Name",
    ),
    "outlook": (
        "First Name",
        "Last Name",
        "E-mail Address",
        "E-mail 2 Address",
        "E-mail 3 Address",
        "Mobile Phone",
        "Business Phone",
        "Home Phone",
        "Company",
    ),
}
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
#: What separates several values in one cell when exporting.
JOINER = " ::: "
_SPLIT = re.compile(r":::|;\s+")
#: Bytes read to decide the encoding and the delimiter.
SAMPLE_BYTES = 65_536


@attrs.frozen(kw_only=True)
class RowError:
    """A row that cannot be imported: its number, the column at fault (if one) and why."""

    row: int
    column: str | None
    value: str
    reason: str


@attrs.frozen(kw_only=True)
class SkippedRow:
    """A row left out on purpose (a duplicate under ``on_duplicate="skip"``, a blank row)."""

    row: int
    reason: str
    contact_id: str | None = None


@attrs.define(kw_only=True)
class ImportReport:
    """What an import did (or, for a dry run or an aborted import, would have done).

    :ivar rows: contact rows read (the header and blank rows not counted).
    :ivar created: rows that made a new contact.
    :ivar updated: rows merged into an existing contact (``fill_empty`` /
        ``overwrite``), one found in the store or made by an earlier row.
    :ivar skipped: rows left out on purpose, with the reason.
    :ivar errors: bad rows: row number, column and reason.
    :ivar companies_created: companies made because no visible one had the name.
    :ivar committed: whether anything was written (``False`` for a dry run
        and an aborted all-or-nothing import).
    :ivar ignored_columns: header names that map to nothing.
    :ivar header: whether the first row was a header (``False``: it was data,
        read with a positional mapping).
    :ivar format: ``"csv"`` or ``"vcard"``.
    """

    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: list[SkippedRow] = attrs.field(factory=list)
    errors: list[RowError] = attrs.field(factory=list)
    companies_created: int = 0
    committed: bool = False
    dry_run: bool = False
    mode: str = "all_or_nothing"
    encoding: str = ""
    delimiter: str = ","
    ignored_columns: list[str] = attrs.field(factory=list)
    header: bool = True
    format: str = "csv"

    def summary(self) -> str:
        """One line: what was (or would be) created, updated, skipped and refused."""
        verb = "would import" if self.dry_run else ("imported" if self.committed else "aborted")
        return (
            f"{verb} {self.rows} rows: {self.created} created, {self.updated} updated,"
            f" {len(self.skipped)} skipped, {len(self.errors)} bad"
            f" ({self.companies_created} companies created)"
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (for JSON)."""
        out: dict[str, Any] = attrs.asdict(self)
        return out


class ImportFailed(TeamCRMError):
    """An all-or-nothing import found bad rows: nothing was written.

    :ivar report: the full report (every bad row, and what the others would do).
    """

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        first = report.errors[0] if report.errors else None
        where = (
            f" (first: row {first.row}, column {first.column!r}: {first.reason})" if first else ""
        )
        super().__init__(
            f"import aborted: {len(report.errors)} bad row(s){where}; nothing was written"
        )


@attrs.frozen
class Column:
    """One column of the file: its position, its header name, its target and label.

    *label* is given to the column's emails or phones (``mobile``, ``work``...).
    """

    index: int
    name: str
    target: str
    label: str | None = None


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


def split_cell(text: str) -> list[str]:
    """The values of one cell (``a ::: b`` or ``a; b``), stripped, empties dropped."""
    return [v.strip() for v in _SPLIT.split(text) if v.strip()]


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


def _check_mapping(mapping: Mapping[str | int, str | None] | None) -> dict[str | int, str]:
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise ValidationError("mapping", mapping, "must map column names to targets")
    out: dict[str | int, str] = {}
    for column, target in mapping.items():
        if type(column) is int:
            if column < 0:
                raise ValidationError("mapping", column, "column positions count from 0")
        elif not isinstance(column, str):
            raise ValidationError("mapping", column, "keys must be column names or positions")
        target = "ignore" if target is None else target
        if not isinstance(target, str) or not (target in TARGETS or target.startswith("custom:")):
            raise ValidationError(
                f"mapping[{column!r}]",
                target,
                f"must be one of {sorted(TARGETS)} or 'custom:NAME'",
            )
        if target.startswith("custom:"):
            check_field_name(f"mapping[{column!r}]", target.removeprefix("custom:"))
        out[column] = target
    return out


def _check_preset(preset: object) -> None:
    if not isinstance(preset, str) or preset not in PRESETS:
        raise ValidationError("preset", preset, f"must be one of {sorted(PRESETS)}")


def looks_like_header(
    first_row: Sequence[str], preset: str, mapping: Mapping[str | int, str | None] | None
) -> bool:
    """True if a cell of *first_row* is a column name *preset* or *mapping* knows.

    A first row none of whose cells names a known column is data (a file
    without a header); the import then needs a positional mapping.
    """
    _check_preset(preset)
    known = set(PRESETS[preset])
    # checked first: a mapping that is not one is a ValidationError, never a TypeError
    known |= {field_key(k) for k in _check_mapping(mapping) if isinstance(k, str)}
    return any(field_key(cell) in known for cell in first_row if cell.strip())


def resolve_columns(
    header: Sequence[str],
    preset: str,
    mapping: Mapping[str | int, str | None] | None,
    *,
    has_header: bool = True,
) -> tuple[list[Column], list[str]]:
    """The columns that map to a target, and the header names that map to nothing.

    Integer keys of *mapping* are column positions (from 0) and win over
    names; without a header (*has_header* false, *header* is then the first
    data row) only positions map, and columns are named ``column 1``...
    Raises ``ValidationError`` for an unknown preset, a bad mapping, a
    position past the first row, or no column for a name, an email or a phone.
    """
    _check_preset(preset)
    checked = _check_mapping(mapping)
    targets = dict(PRESETS[preset])
    positions: dict[int, str] = {}
    for column, mapped in checked.items():
        if isinstance(column, int):
            if column >= len(header):
                raise ValidationError(
                    "mapping", column, f"the first row has only {len(header)} columns"
                )
            positions[column] = mapped
        else:
            targets[field_key(column)] = mapped
    columns: list[Column] = []
    ignored: list[str] = []
    for index, cell in enumerate(header):
        name = cell if has_header else f"column {index + 1}"
        if index in positions:
            target: str | None = positions[index]
        else:
            target = targets.get(field_key(name)) if has_header else None
        if target is None or target == "ignore":
            ignored.append(name)
        else:
            label = LABELS.get(field_key(name)) if target in ("email", "phone") else None
            columns.append(Column(index, name, target, label))
    wanted = {"first_name", "last_name", "name", "email", "phone"}
    if not any(c.target in wanted for c in columns):
        raise ValidationError(
            "header" if has_header else "mapping",
            _short(list(header)) if has_header else mapping,
            f"no column maps to a name, an email or a phone (preset {preset!r})",
        )
    return columns, ignored


def export_header(preset: str) -> tuple[str, ...]:
    """The header row :meth:`export_contacts` writes for *preset*."""
    if not isinstance(preset, str) or preset not in EXPORT_COLUMNS:
        raise ValidationError("preset", preset, f"must be one of {sorted(EXPORT_COLUMNS)}")
    return EXPORT_COLUMNS[preset]


def _spread(values: Sequence[str], slots: int) -> list[str]:
    """*values* over *slots* cells, the last cell holding the rest (joined)."""
    cells = list(values[: slots - 1])
    cells.append(JOINER.join(values[slots - 1 :]))
    return cells + [""] * (slots - len(cells))


def export_row(contact: Contact, company_names: Sequence[str], preset: str) -> list[str]:
    """The cells of *contact* under :func:`export_header` (phones as their E.164 keys)."""
    emails = [e.address for e in contact.emails]
    phones = [p.number for p in contact.phones]
    if preset == "outlook":
        return [
            contact.first_name,
            contact.last_name,
            *_spread(emails, 3),
            *_spread(phones, 3),
            JOINER.join(company_names),
        ]
    cells = [
        contact.first_name,
        contact.last_name,
        JOINER.join(emails),
        JOINER.join(phones),
        JOINER.join(company_names),
    ]
    if preset == "generic":
        cells += [contact.status, contact.source or ""]
    return cells
