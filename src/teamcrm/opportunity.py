"""Opportunities: a possible sale, worth an amount, moving through fixed stages.

Seed 002: Clevertim "also allows you to attach notes under an opportunity or a
case".  An :class:`Opportunity` names the contacts and companies it concerns;
who may see it follows them (see :mod:`teamcrm.service.records`).  The
helpers here (:func:`check_amount`, :func:`check_currency`, :class:`RecordNote`)
are shared with :mod:`teamcrm.case`.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import attrs

from teamcrm.errors import ValidationError
from teamcrm.ids import (
    PREFIXES,
    CompanyId,
    ContactId,
    InteractionId,
    MemberId,
    OpportunityId,
    TeamId,
)
from teamcrm.validation import Checker

__all__ = [
    "MAX_AMOUNT_DIGITS",
    "MAX_LINKS",
    "Opportunity",
    "RecordNote",
    "Stage",
    "StageName",
    "check_amount",
    "check_currency",
    "check_links",
]

#: Most contacts (and, separately, companies) one opportunity or case names.
MAX_LINKS = 200
#: Most digits before the decimal point of a value (up to 999 trillion).
MAX_AMOUNT_DIGITS = 15
#: Most digits after the decimal point of a value.
MAX_AMOUNT_PLACES = 4
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class Stage(enum.StrEnum):
    """Where an opportunity stands; ``won`` and ``lost`` close it."""

    LEAD = "lead"
    QUALIFIED = "qualified"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    WON = "won"
    LOST = "lost"

    @property
    def is_closed(self) -> bool:
        """True for ``won`` and ``lost``."""
        return self in (Stage.WON, Stage.LOST)


#: The stages as text, for type checkers.
StageName = Literal["lead", "qualified", "proposal", "negotiation", "won", "lost"]


def check_amount(field: str, value: Any) -> Decimal:
    """Return *value* as an exact, non-negative :class:`~decimal.Decimal`.

    Accepts a ``Decimal``, an ``int`` or decimal text (``"1250.50"``); a
    ``float`` is refused (``0.1`` is not exact).  At most
    :data:`MAX_AMOUNT_DIGITS` digits before the point and four after it.

    >>> check_amount("value", "1250.50")
    Decimal('1250.50')
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise ValidationError(field, value, "must be a Decimal, an int or decimal text")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValidationError(field, value, "is not a decimal number") from None
    if not amount.is_finite():
        raise ValidationError(field, value, "must be a finite number")
    if amount < 0:
        raise ValidationError(field, value, "must not be negative")
    exponent = amount.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    if places > MAX_AMOUNT_PLACES:
        raise ValidationError(field, value, f"at most {MAX_AMOUNT_PLACES} decimal places")
    if amount.adjusted() >= MAX_AMOUNT_DIGITS:
        raise ValidationError(field, value, f"at most {MAX_AMOUNT_DIGITS} digits before the point")
    return amount + Decimal(0)  # -0 becomes 0


def check_currency(field: str, value: Any) -> str:
    """Return an ISO 4217 currency code (three letters, upper-cased): ``"eur"`` -> ``"EUR"``."""
    if not isinstance(value, str) or not _CURRENCY.match(value.strip().upper()):
        raise ValidationError(field, value, "must be a three-letter currency code such as EUR")
    return value.strip().upper()


def check_links(c: Checker) -> None:
    """Check an opportunity's or case's ``contact_ids`` and ``company_ids``."""
    c.ids("contact_ids", PREFIXES["contact"], max_len=MAX_LINKS)
    c.ids("company_ids", PREFIXES["company"], max_len=MAX_LINKS)


@attrs.frozen(kw_only=True)
class Opportunity:
    """A possible sale.

    :ivar value: what it is worth, exactly (a ``Decimal``), in *currency*.
    :ivar stage: where it stands (:class:`Stage`).
    :ivar owner_id: the member responsible for it; the owner always sees it.
    :ivar contact_ids: the contacts it concerns (links to deleted contacts
        disappear with them).
    :ivar company_ids: the companies it concerns.
    :ivar updated_at: when it last changed (``created_at`` at first).
    """

    id: OpportunityId
    team_id: TeamId
    title: str
    value: Decimal
    currency: str
    stage: Stage
    owner_id: MemberId
    created_by: MemberId
    created_at: datetime
    updated_at: datetime
    contact_ids: tuple[ContactId, ...] = ()
    company_ids: tuple[CompanyId, ...] = ()
    version: int = 1

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["opportunity"])
        c.ident("team_id", PREFIXES["team"])
        c.text("title", max_len=200)
        object.__setattr__(self, "value", check_amount(c.name("value"), self.value))
        object.__setattr__(self, "currency", check_currency(c.name("currency"), self.currency))
        c.enum("stage", Stage)
        c.ident("owner_id", PREFIXES["member"])
        c.ident("created_by", PREFIXES["member"])
        c.utc("created_at")
        c.utc("updated_at")
        check_links(c)
        c.integer("version", minimum=1)


@attrs.frozen(kw_only=True)
class RecordNote:
    """An interaction filed under an opportunity (``op_…``) or a case (``ca_…``)."""

    team_id: TeamId
    record_id: str
    interaction_id: InteractionId

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("team_id", PREFIXES["team"])
        if not isinstance(self.record_id, str) or not self.record_id.startswith(
            (PREFIXES["opportunity"], PREFIXES["case"])
        ):
            raise ValidationError(
                c.name("record_id"), self.record_id, "must be an opportunity or case id"
            )
        c.ident("record_id", self.record_id[:3])
        c.ident("interaction_id", PREFIXES["interaction"])
