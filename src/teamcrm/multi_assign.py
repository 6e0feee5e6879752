"""Assigning a lead to several members: the pure rules (seed 001).

Seed 001: "You can also multi-assign by selecting multiple agents. The same
options apply, with the additional question of if you want everyone to get it
or only one (first to accept gets it)." and "assign to one, assigned to many;
all can accept / only some can accept".  The three choices, made explicit:

* :attr:`MultiAssignMode.EVERYONE` - every named member becomes a co-owner at
  once ("everyone to get it");
* :attr:`MultiAssignMode.ALL_CAN_ACCEPT` - it is offered to each; every member
  who accepts within the window becomes a co-owner, the others' offers stay
  open until answered or expired ("all can accept");
* :attr:`MultiAssignMode.FIRST_TO_ACCEPT` - it is offered to all; the first
  acceptance wins and withdraws the other offers ("only one (first to accept
  gets it)").
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from teamcrm.errors import ValidationError
from teamcrm.ids import MemberId
from teamcrm.lead import Lead, LeadStatus

__all__ = [
    "MultiAssignMode",
    "accepts_co_owners",
    "check_several",
    "co_owners_after_accept",
    "may_hold_open_offers",
    "parse_mode",
]


class MultiAssignMode(enum.StrEnum):
    """How a lead named for several members is given to them."""

    EVERYONE = "everyone"
    ALL_CAN_ACCEPT = "all_can_accept"
    FIRST_TO_ACCEPT = "first_to_accept"

    @property
    def offers(self) -> bool:
        """True when the members are offered the lead (they accept or decline)."""
        return self is not MultiAssignMode.EVERYONE


def parse_mode(value: object) -> MultiAssignMode:
    """Return the mode named by *value* (``ValidationError`` naming ``mode`` otherwise)."""
    if isinstance(value, MultiAssignMode):
        return value
    if isinstance(value, str):
        try:
            return MultiAssignMode(value)
        except ValueError:
            pass
    names = ", ".join(repr(m.value) for m in MultiAssignMode)
    raise ValidationError("mode", value, f"must be one of {names}")


def check_several(member_ids: Sequence[str]) -> None:
    """Several members are needed; one is an ordinary ``assign`` (no guessing)."""
    if len(member_ids) < 2:
        raise ValidationError(
            "member_ids",
            list(member_ids),
            "name at least two members (for one, use assign(..., offer=True/False))",
        )


#: The explanation methods after which an open lead may still hold open
#: ``all_can_accept`` offers: the mode itself (offered, or co-owned after
#: acceptances) and a co-owner's rejection (which leaves the others' offers open).
_OPEN_OFFER_METHODS = frozenset({MultiAssignMode.ALL_CAN_ACCEPT.value, "reject"})


def may_hold_open_offers(lead: Lead) -> bool:
    """True when the lead may have open offers (so a change must withdraw them).

    An offered lead has them; so may an assigned (or, after rejections,
    unassigned) lead of ``all_can_accept`` whose other offers are still
    waiting for an answer.  Every other lead has none: offers close when a
    lead is assigned any other way.
    """
    if lead.status is LeadStatus.OFFERED:
        return True
    return (
        lead.is_open
        and lead.explanation is not None
        and lead.explanation.method in _OPEN_OFFER_METHODS
    )


def accepts_co_owners(lead: Lead) -> bool:
    """True when accepting an open offer of *lead* adds a co-owner instead of taking it alone.

    That is an ``all_can_accept`` lead: still offered under that mode, or
    already (co-)owned or rejected while the others' offers wait - an open
    offer on a lead that is not offered exists only in that mode.
    """
    if lead.status is not LeadStatus.OFFERED:
        return True
    return (
        lead.explanation is not None and lead.explanation.method == MultiAssignMode.ALL_CAN_ACCEPT
    )


def co_owners_after_accept(lead: Lead, member_id: MemberId) -> tuple[MemberId, ...]:
    """The lead's owners once *member_id* accepted (earlier co-owners first)."""
    owners = lead.assignee_ids if lead.status is LeadStatus.ASSIGNED else ()
    return owners if member_id in owners else (*owners, member_id)
