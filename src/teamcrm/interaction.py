"""Interactions: calls, emails, meetings, text messages and notes."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Literal

import attrs

from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, CompanyId, ContactId, InteractionId, MemberId, TeamId
from teamcrm.validation import MAX_BODY, Checker

__all__ = [
    "Interaction",
    "InteractionKind",
    "InteractionKindName",
    "Outcome",
    "OutcomeName",
]

MAX_TARGETS = 500


class InteractionKind(enum.StrEnum):
    """What kind of conversation it was."""

    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    TEXT = "text"
    NOTE = "note"


#: The kinds as text, for type checkers.
InteractionKindName = Literal["call", "email", "meeting", "text", "note"]


class Outcome(enum.StrEnum):
    """How it went.  ``connected`` validates a call's number; ``delivered`` an email."""

    CONNECTED = "connected"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    SENT = "sent"
    HELD = "held"
    CANCELLED = "cancelled"


#: The outcomes as text, for type checkers.
OutcomeName = Literal[
    "connected", "no_answer", "voicemail", "delivered", "bounced", "sent", "held", "cancelled"
]


@attrs.frozen(kw_only=True)
class Interaction:
    """A conversation with one or more contacts and/or companies.

    :ivar occurred_at: when it happened (may be in the future for a planned
        meeting).
    :ivar contact_ids: contacts it is filed under.
    :ivar company_ids: companies it is filed under (including, when the team
        setting is on, the companies of its contacts).
    :ivar reference: optional opportunity or case reference, free text.
    :ivar via: the phone number or email address used, if any.
    :ivar logged_at: when it was recorded.
    """

    id: InteractionId
    team_id: TeamId
    kind: InteractionKind
    author_id: MemberId
    occurred_at: datetime
    logged_at: datetime
    contact_ids: tuple[ContactId, ...] = ()
    company_ids: tuple[CompanyId, ...] = ()
    outcome: Outcome | None = None
    via: str | None = None
    reference: str | None = None
    body: str = ""

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["interaction"])
        c.ident("team_id", PREFIXES["team"])
        c.enum("kind", InteractionKind)
        c.ident("author_id", PREFIXES["member"])
        c.utc("occurred_at")
        c.utc("logged_at")
        c.ids("contact_ids", PREFIXES["contact"], max_len=MAX_TARGETS)
        c.ids("company_ids", PREFIXES["company"], max_len=MAX_TARGETS)
        if not self.contact_ids and not self.company_ids:
            raise ValidationError(
                "Interaction.contact_ids", self.contact_ids, "needs at least one contact or company"
            )
        if self.outcome is not None:
            c.enum("outcome", Outcome)
        c.optional_text("via", max_len=320)
        c.optional_text("reference", max_len=200)
        c.text("body", max_len=MAX_BODY, allow_empty=True, multiline=True)
