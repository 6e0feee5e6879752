"""Cases: a customer's question or problem, open until it is closed.

Seed 002: notes can be filed "under an opportunity or a case".  A
:class:`Case` names the contacts and companies it concerns; who may see it
follows them (see :mod:`teamcrm.service.records`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Literal

import attrs

from teamcrm.ids import PREFIXES, CaseId, CompanyId, ContactId, MemberId, TeamId
from teamcrm.opportunity import check_links
from teamcrm.validation import Checker

__all__ = ["Case", "CaseStatus", "CaseStatusName"]


class CaseStatus(enum.StrEnum):
    """Where a case stands."""

    OPEN = "open"
    PENDING = "pending"
    CLOSED = "closed"


#: The statuses as text, for type checkers.
CaseStatusName = Literal["open", "pending", "closed"]


@attrs.frozen(kw_only=True)
class Case:
    """A customer's question or problem.

    :ivar status: :class:`CaseStatus`.
    :ivar created_by: the member who opened it; that member always sees it.
    :ivar contact_ids: the contacts it concerns (links to deleted contacts
        disappear with them).
    :ivar company_ids: the companies it concerns.
    """

    id: CaseId
    team_id: TeamId
    title: str
    status: CaseStatus
    created_by: MemberId
    created_at: datetime
    updated_at: datetime
    contact_ids: tuple[ContactId, ...] = ()
    company_ids: tuple[CompanyId, ...] = ()
    version: int = 1

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["case"])
        c.ident("team_id", PREFIXES["team"])
        c.text("title", max_len=200)
        c.enum("status", CaseStatus)
        c.ident("created_by", PREFIXES["member"])
        c.utc("created_at")
        c.utc("updated_at")
        check_links(c)
        c.integer("version", minimum=1)
