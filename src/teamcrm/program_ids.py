"""Program and enrolment ids, and how they are made (time-ordered, in bulk for enrolments)."""

from __future__ import annotations

import os
import time
from typing import NewType

from teamcrm import ids as _ids
from teamcrm.ids import PREFIXES

__all__ = [
    "EnrolmentId",
    "ProgramId",
    "new_enrolment_id",
    "new_enrolment_ids",
    "new_program_id",
]

ProgramId = NewType("ProgramId", str)
EnrolmentId = NewType("EnrolmentId", str)


def new_program_id() -> ProgramId:
    """Return a fresh, time-ordered program id (``pg_…``)."""
    return ProgramId(PREFIXES["program"] + _ids.id_suffix())  # looked up: tests may patch it


def new_enrolment_id() -> EnrolmentId:
    """Return a fresh, time-ordered enrolment id (``en_…``)."""
    return EnrolmentId(PREFIXES["enrolment"] + _ids.id_suffix())


#: The library's own suffix maker (tests may replace ``ids.id_suffix`` to make ids deterministic).
_ID_SUFFIX = _ids.id_suffix


def new_enrolment_ids(count: int) -> list[EnrolmentId]:
    """Return *count* fresh enrolment ids, made as :func:`new_enrolment_id` makes one.

    One clock read and one ``os.urandom`` call for all of them (a bulk
    enrolment makes thousands): the same time digits, then 52 random bits
    each.  When ``ids.id_suffix`` was replaced (tests making ids
    deterministic), each id comes from it.
    """
    prefix = PREFIXES["enrolment"]
    suffix = _ids.id_suffix
    if suffix is not _ID_SUFFIX or count < 2:
        return [EnrolmentId(prefix + suffix()) for _ in range(count)]
    head = prefix + (time.time_ns() // 1000).to_bytes(7).hex()[1:]
    tail = os.urandom(7 * count).hex()
    return [EnrolmentId(head + tail[n + 1 : n + 14]) for n in range(0, 14 * count, 14)]
