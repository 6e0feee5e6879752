"""Typed identifiers.

Ids are strings with a short prefix naming their kind (``ct_`` for contacts,
``bk_`` for buckets...) followed by 26 hex characters.  The ``NewType``
wrappers let ``mypy`` tell a :data:`ContactId` from a :data:`BucketId`, and the
prefix lets a person (and a log line) tell them apart too.

The 26 hex characters are time-ordered (:func:`id_suffix`): 13 digits of the
creation time in microseconds, then 13 random ones.  Ids made later sort
later, so a database appends new rows at the right-hand edge of its indexes
instead of splitting pages all over them (docs/benchmarks.md has the
measurement).  An id therefore tells its reader when it
was made; nothing in the library reads that time back.
"""

from __future__ import annotations

import os
import time
from typing import NewType

__all__ = [
    "PREFIXES",
    "BucketId",
    "CaseId",
    "CompanyId",
    "ContactId",
    "InteractionId",
    "MemberId",
    "OpportunityId",
    "TeamId",
    "id_suffix",
    "id_suffixes",
    "new_bucket_id",
    "new_case_id",
    "new_company_id",
    "new_contact_id",
    "new_interaction_id",
    "new_member_id",
    "new_opportunity_id",
    "new_team_id",
    "random_suffix",
]

TeamId = NewType("TeamId", str)
MemberId = NewType("MemberId", str)
ContactId = NewType("ContactId", str)
CompanyId = NewType("CompanyId", str)
BucketId = NewType("BucketId", str)
InteractionId = NewType("InteractionId", str)
OpportunityId = NewType("OpportunityId", str)
CaseId = NewType("CaseId", str)

#: Prefix of each kind of id: the one place they are named (the rest of teamcrm reads them here).
PREFIXES: dict[str, str] = {
    "team": "tm_",
    "member": "mb_",
    "contact": "ct_",
    "company": "co_",
    "bucket": "bk_",
    "interaction": "ix_",
    "opportunity": "op_",
    "case": "ca_",
    "pool": "lp_",
    "lead": "ld_",
    "offer": "of_",
    "task": "tk_",
    "policy": "fp_",
    "saved_filter": "sf_",
    "notification": "nt_",
    "digest": "dg_",
    "consumer": "cs_",
    "delivery_claim": "dc_",
    "program": "pg_",
    "enrolment": "en_",
    "campaign": "cm_",
    "campaign_send": "cn_",
}


def random_suffix() -> str:
    """Return 26 random hex digits (13 bytes from ``os.urandom``), with no time in them.

    What ``secrets.token_hex(13)`` returns, without its layers of calls.  The
    library's own ids use :func:`id_suffix`; this is for an application that
    wants ids which do not tell when they were made.
    """
    return os.urandom(13).hex()


def id_suffix() -> str:
    """Return the part of a new id after its prefix: 26 hex digits, time-ordered.

    The first 13 digits are the current time in microseconds since the Unix
    epoch (52 bits: they last until the year 2112), the last 13 are 52 random
    bits from ``os.urandom``.  Suffixes made later compare greater (to the
    clock's resolution), and two made in the same microsecond still differ
    with overwhelming probability.

    >>> a, b = id_suffix(), id_suffix()
    >>> len(a), a <= b
    (26, True)
    """
    # 7 bytes are 14 hex digits; the first of each is dropped (a zero for
    # the time until 2112, four random bits for the rest).
    return (time.time_ns() // 1000).to_bytes(7).hex()[1:] + os.urandom(7).hex()[1:]


#: The library's own suffix maker (tests may replace ``id_suffix`` to make ids deterministic).
_ID_SUFFIX = id_suffix


def id_suffixes(count: int) -> list[str]:
    """Return *count* suffixes made as :func:`id_suffix` makes one, in increasing order.

    One clock read and one ``os.urandom`` call for all of them (a routed add
    of 10,000 contacts makes a lead and a notification each): the same time
    digits, then 52 random bits each, sorted, so that ids taken from the list
    in order still compare greater the later they are taken.  When
    ``id_suffix`` was replaced (tests making ids deterministic), each comes
    from it.

    >>> a, b = id_suffixes(2)
    >>> len(a), a < b, a[:13] == b[:13]
    (26, True, True)
    """
    if id_suffix is not _ID_SUFFIX or count < 2:
        return [id_suffix() for _ in range(count)]
    head = (time.time_ns() // 1000).to_bytes(7).hex()[1:]
    tail = os.urandom(7 * count).hex()
    return sorted([head + tail[n + 1 : n + 14] for n in range(0, 14 * count, 14)])


def _new(prefix: str) -> str:
    return prefix + id_suffix()


def new_team_id() -> TeamId:
    """Return a fresh, time-ordered team id."""
    return TeamId(_new("tm_"))


def new_member_id() -> MemberId:
    """Return a fresh, time-ordered member id."""
    return MemberId(_new("mb_"))


def new_contact_id() -> ContactId:
    """Return a fresh, time-ordered contact id."""
    return ContactId(_new("ct_"))


def new_company_id() -> CompanyId:
    """Return a fresh, time-ordered company id."""
    return CompanyId(_new("co_"))


def new_bucket_id() -> BucketId:
    """Return a fresh, time-ordered bucket id."""
    return BucketId(_new("bk_"))


def new_interaction_id() -> InteractionId:
    """Return a fresh, time-ordered interaction id."""
    return InteractionId(_new("ix_"))


def new_opportunity_id() -> OpportunityId:
    """Return a fresh, time-ordered opportunity id."""
    return OpportunityId(_new("op_"))


def new_case_id() -> CaseId:
    """Return a fresh, time-ordered case id."""
    return CaseId(_new("ca_"))
