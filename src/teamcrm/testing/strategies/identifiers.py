"""Ids of every kind, and the helper that turns a value into a strategy."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from teamcrm.ids import PREFIXES, BucketId, CompanyId, ContactId, InteractionId, MemberId, TeamId
from teamcrm.testing.strategies.text_and_time import _ID_SUFFIX


def _ids(prefix: str) -> SearchStrategy[str]:
    return _ID_SUFFIX.map(lambda s: prefix + s)


def team_ids() -> SearchStrategy[TeamId]:
    """Well-formed team ids (``tm_`` + 26 hex digits)."""
    return _ids(PREFIXES["team"]).map(TeamId)


def member_ids() -> SearchStrategy[MemberId]:
    """Well-formed member ids."""
    return _ids(PREFIXES["member"]).map(MemberId)


def contact_ids() -> SearchStrategy[ContactId]:
    """Well-formed contact ids."""
    return _ids(PREFIXES["contact"]).map(ContactId)


def company_ids() -> SearchStrategy[CompanyId]:
    """Well-formed company ids."""
    return _ids(PREFIXES["company"]).map(CompanyId)


def bucket_ids() -> SearchStrategy[BucketId]:
    """Well-formed bucket ids."""
    return _ids(PREFIXES["bucket"]).map(BucketId)


def interaction_ids() -> SearchStrategy[InteractionId]:
    """Well-formed interaction ids."""
    return _ids(PREFIXES["interaction"]).map(InteractionId)


# Aliases for use inside strategies whose parameters shadow the names above.
_contact_ids = contact_ids
_company_ids = company_ids
_member_ids = member_ids


def _as_strategy(value: Any, default: SearchStrategy[Any]) -> SearchStrategy[Any]:
    """Turn a parameter into a strategy: ``None`` → *default*, a value → ``just(value)``."""
    if value is None:
        return default
    if isinstance(value, SearchStrategy):
        return value
    return st.just(value)
