"""Typed identifiers.

Ids are strings with a short prefix naming their kind (``ct_`` for contacts,
``bk_`` for buckets...) followed by 26 hex characters.  The ``NewType``
wrappers let ``mypy`` tell a :data:`ContactId` from a :data:`BucketId`, and the
prefix lets a person (and a log line) tell them apart too.
"""

from __future__ import annotations

import os
from typing import NewType

__all__ = [
    "PREFIXES",
    "BucketId",
    "CompanyId",
    "ContactId",
    "InteractionId",
    "MemberId",
    "TeamId",
    "new_bucket_id",
    "new_company_id",
    "new_contact_id",
    "new_interaction_id",
    "new_member_id",
    "new_team_id",
    "random_suffix",
]

TeamId = NewType("TeamId", str)
MemberId = NewType("MemberId", str)
ContactId = NewType("ContactId", str)
CompanyId = NewType("CompanyId", str)
BucketId = NewType("BucketId", str)
InteractionId = NewType("InteractionId", str)

#: Prefix of each kind of id.
PREFIXES: dict[str, str] = {
    "team": "tm_",
    "member": "mb_",
    "contact": "ct_",
    "company": "co_",
    "bucket": "bk_",
    "interaction": "ix_",
}


def random_suffix() -> str:
    """Return the random part of a new id: 13 bytes from ``os.urandom`` as 26 hex digits.

    What ``secrets.token_hex(13)`` returns, without its layers of calls
    (routing makes two ids per lead).
    """
    return os.urandom(13).hex()


def _new(prefix: str) -> str:
    return prefix + random_suffix()


def new_team_id() -> TeamId:
    """Return a fresh, random team id."""
    return TeamId(_new("tm_"))


def new_member_id() -> MemberId:
    """Return a fresh, random member id."""
    return MemberId(_new("mb_"))


def new_contact_id() -> ContactId:
    """Return a fresh, random contact id."""
    return ContactId(_new("ct_"))


def new_company_id() -> CompanyId:
    """Return a fresh, random company id."""
    return CompanyId(_new("co_"))


def new_bucket_id() -> BucketId:
    """Return a fresh, random bucket id."""
    return BucketId(_new("bk_"))


def new_interaction_id() -> InteractionId:
    """Return a fresh, random interaction id."""
    return InteractionId(_new("ix_"))
