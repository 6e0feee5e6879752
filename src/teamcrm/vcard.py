"""vCard 3.0 and 4.0 files in and out (needs the optional extra ``teamcrm[vcard]``).

:func:`open_vcards` reads a ``.vcf`` file (one or many cards, folded lines,
UTF-8) with ``vobject`` and presents it as a :class:`~teamcrm.importing.Table`
whose fixed columns (:data:`VCARD_HEADER`) the import maps like a CSV
file's: ``FN`` (only when ``N`` is empty) and ``N`` to the names, every
``EMAIL`` and ``TEL`` (their ``TYPE`` becomes the label: ``cell``/``iphone``
→ ``mobile``, ``work``, ``home``, ``main``, ``fax``, ``pager``), the first
part of ``ORG`` to a company, ``NOTE`` to the custom field ``note``, and
``CATEGORIES`` to nothing unless the caller's mapping says
``{"CATEGORIES": "bucket"}``.  A card's "row" number is its position in the
file (the first card is 1).

:func:`write_vcard` writes one contact as a vCard 3.0 card (the version
Apple's and Google's address books both read).  Without ``vobject`` both
raise :class:`~teamcrm.views.MissingDependency` naming the extra.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

from teamcrm.contact import Contact
from teamcrm.errors import ValidationError
from teamcrm.import_columns import (
    EMAIL_LABELS,
    JOINER,
    LABEL_TYPES,
    PHONE_LABELS,
    TYPE_LABELS,
    VCARD_HEADER,
    VCARD_TARGETS,
)
from teamcrm.importing import Table, check_path
from teamcrm.views import MissingDependency

__all__ = [
    "VCARD_HEADER",
    "VCARD_TARGETS",
    "is_vcard_path",
    "open_vcards",
    "require_vobject",
    "write_vcard",
]

_INDEX = {name: i for i, name in enumerate(VCARD_HEADER)}


def require_vobject() -> Any:
    """The ``vobject`` module, or :class:`~teamcrm.views.MissingDependency` naming the extra."""
    try:
        import vobject
    except ImportError as exc:
        raise MissingDependency("vCard files need vobject: pip install 'teamcrm[vcard]'") from exc
    return vobject


def is_vcard_path(path: str | os.PathLike[str]) -> bool:
    """True for a file name ending in ``.vcf`` or ``.vcard`` (any case)."""
    return os.fspath(path).lower().endswith((".vcf", ".vcard"))


@contextmanager
def open_vcards(source: str | os.PathLike[str] | IO[str]) -> Iterator[Table]:
    """Open *source* (a path, read as UTF-8, or a text file object) as a :class:`Table`."""
    vobject = require_vobject()
    if isinstance(source, str | os.PathLike):
        name = check_path("source", source)
        try:
            text = open(name, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise ValidationError("source", name, f"cannot be read: {exc.strerror}") from exc
        with text:
            yield Table(
                header=list(VCARD_HEADER),
                rows=_cards(vobject, text, name),
                encoding="utf-8",
                delimiter="",
            )
        return
    if not hasattr(source, "read"):
        raise ValidationError("source", source, "must be a path or a text file object")
    yield Table(
        header=list(VCARD_HEADER),
        rows=_cards(vobject, source, "source"),
        encoding=str(getattr(source, "encoding", None) or "text"),
        delimiter="",
    )


def _cards(vobject: Any, text: IO[str], name: str) -> Iterator[tuple[int, list[str]]]:
    number = 0
    try:
        for card in vobject.readComponents(text, ignoreUnreadable=True):
            if card.name != "VCARD":
                continue
            number += 1
            yield number, _cells(card)
    except UnicodeDecodeError as exc:
        raise ValidationError("source", name, f"is not UTF-8 text: {exc.reason}") from exc
    except vobject.base.ParseError as exc:
        raise ValidationError(
            "source", name, f"is not a vCard file (after card {number}): {exc}"
        ) from exc


def _types(line: Any) -> list[str]:
    out: list[str] = []
    for value in line.params.get("TYPE", []):
        out += [t.strip().strip('"').lower() for t in str(value).split(",")]
    return out


def _column(kind: str, line: Any, labels: Sequence[str]) -> str:
    for t in _types(line):
        label = TYPE_LABELS.get(t)
        if label in labels:
            return f"{kind} {label}"
    return kind


def _cells(card: Any) -> list[str]:
    values: list[list[str]] = [[] for _ in VCARD_HEADER]
    given = family = ""
    for line in card.getChildren():
        key = line.name.upper()
        value = line.value
        if key == "N":
            given = " ".join(filter(None, _parts(value.given)))
            family = " ".join(filter(None, _parts(value.family)))
        elif key == "FN":
            values[_INDEX["FN"]].append(str(value).strip())
        elif key == "EMAIL":
            values[_INDEX[_column("EMAIL", line, EMAIL_LABELS)]].append(str(value).strip())
        elif key == "TEL":
            number = str(value).strip()
            if number.lower().startswith("tel:"):
                number = number[4:]
            values[_INDEX[_column("TEL", line, PHONE_LABELS)]].append(number)
        elif key == "ORG":
            parts = value if isinstance(value, list) else [value]
            if parts and str(parts[0]).strip():
                values[_INDEX["ORG"]].append(str(parts[0]).strip())
        elif key == "NOTE":
            values[_INDEX["NOTE"]].append(str(value).strip())
        elif key == "CATEGORIES":
            parts = value if isinstance(value, list) else str(value).split(",")
            values[_INDEX["CATEGORIES"]] += [str(p).strip() for p in parts if str(p).strip()]
    if given or family:
        values[_INDEX["FN"]] = []
        values[_INDEX["N given"]] = [given]
        values[_INDEX["N family"]] = [family]
    cells = [JOINER.join(v for v in column if v) for column in values]
    cells[_INDEX["FN"]] = values[_INDEX["FN"]][0] if values[_INDEX["FN"]] else ""
    cells[_INDEX["NOTE"]] = "\n".join(values[_INDEX["NOTE"]])
    return cells


def _parts(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value]
    return [str(value).strip()]


def write_vcard(out: IO[str], contact: Contact, company_names: Sequence[str]) -> None:
    """Write *contact* as one vCard 3.0 card (phones as their E.164 keys)."""
    vobject = require_vobject()
    card = vobject.vCard()
    full = " ".join(filter(None, (contact.first_name, contact.last_name)))
    card.add("fn").value = full or (contact.emails[0].address if contact.emails else "?")
    card.add("n").value = vobject.vcard.Name(family=contact.last_name, given=contact.first_name)
    for email in contact.emails:
        line = card.add("email")
        line.value = email.address
        types = ["INTERNET"]
        if email.label in EMAIL_LABELS:
            types.append(email.label)
        line.type_paramlist = types
    for phone in contact.phones:
        line = card.add("tel")
        line.value = phone.number
        if phone.label in PHONE_LABELS:
            line.type_param = LABEL_TYPES.get(phone.label, phone.label)
    if company_names:
        card.add("org").value = [company_names[0]]
    note = contact.custom_fields.get("note")
    if isinstance(note, str) and note:
        card.add("note").value = note
    buffer = io.StringIO()
    card.serialize(buf=buffer)
    out.write(buffer.getvalue())
