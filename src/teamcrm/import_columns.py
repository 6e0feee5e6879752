"""Columns and presets: what a file's columns mean on import, and what an export writes.

A column maps to a *target* (:data:`TARGETS`, or ``custom:NAME``); a preset
(``generic``, ``google``, ``outlook``, and ``vcard`` for a ``.vcf`` file) gives
the usual column names (:data:`PRESETS`) and the labels their emails and
phones get; :func:`resolve_columns` applies a preset and the caller's mapping
to a header (:func:`looks_like_header` tells whether the first row is one).
On export, :func:`export_header` and :func:`export_row` write a preset's
columns (:data:`EXPORT_COLUMNS`); several values share a cell, joined by
:data:`JOINER` and read back by :func:`split_cell`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

import attrs

from teamcrm.contact import Contact
from teamcrm.errors import ValidationError, _short
from teamcrm.intake import field_key
from teamcrm.validation import check_field_name

__all__ = [
    "EMAIL_LABELS",
    "EXPORT_COLUMNS",
    "JOINER",
    "LABELS",
    "LABEL_TYPES",
    "PHONE_LABELS",
    "PRESETS",
    "TARGETS",
    "TYPE_LABELS",
    "VCARD_HEADER",
    "VCARD_LABELS",
    "VCARD_TARGETS",
    "Column",
    "Preset",
    "export_header",
    "export_row",
    "looks_like_header",
    "resolve_columns",
    "split_cell",
]

Preset = Literal["generic", "google", "outlook"]

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
#: What separates several values in one cell when exporting.
JOINER = " ::: "
_SPLIT = re.compile(r":::|;\s+")


@attrs.frozen
class Column:
    """One column of the file: its position, its header name, its target and label.

    *label* is given to the column's emails or phones (``mobile``, ``work``...).
    """

    index: int
    name: str
    target: str
    label: str | None = None


def split_cell(text: str) -> list[str]:
    """The values of one cell (``a ::: b`` or ``a; b``), stripped, empties dropped."""
    return [v.strip() for v in _SPLIT.split(text) if v.strip()]


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
