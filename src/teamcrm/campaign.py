"""Campaigns: a one-off email to the contacts of buckets or a saved filter (pure, no I/O).

A :class:`Campaign` names a template (checked when it is saved), the member
it is sent from, its audience (one or more buckets, or a saved filter), a
throttle (messages per minute) and an exclusion window (contacts touched
within that many days are skipped).  Starting it fixes the recipients: one
:class:`CampaignSend` per contact, deduplicated, each due at its own time so
that the throttle holds (:func:`send_times`).  The program runner's workers
claim due sends with a lease and send each one exactly once (see
:mod:`teamcrm.service.campaign_runner`).

A send ends ``sent``, ``skipped`` with a :class:`SendSkipReason`, or ``failed``
after :data:`~teamcrm.program.MAX_ATTEMPTS` tries; :class:`CampaignReport`
counts them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import NewType

import attrs

from teamcrm.contact import Contact
from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, BucketId, ContactId, MemberId, TeamId, id_suffix
from teamcrm.program import MAX_ATTEMPTS, backoff
from teamcrm.templates import Template
from teamcrm.validation import Checker

__all__ = [
    "MAX_PER_MINUTE",
    "Campaign",
    "CampaignId",
    "CampaignReport",
    "CampaignSend",
    "CampaignSendId",
    "CampaignState",
    "SendSkipReason",
    "SendState",
    "exclusion",
    "new_campaign_id",
    "new_campaign_send_id",
    "send_times",
]

CampaignId = NewType("CampaignId", str)
CampaignSendId = NewType("CampaignSendId", str)

#: The fastest throttle (messages per minute).
MAX_PER_MINUTE = 10_000
#: The longest exclusion window (days).
MAX_EXCLUDE_DAYS = 3650
#: Most buckets of one campaign.
MAX_BUCKETS = 50


def new_campaign_id() -> CampaignId:
    """Return a fresh, time-ordered campaign id."""
    return CampaignId(PREFIXES["campaign"] + id_suffix())


def new_campaign_send_id() -> CampaignSendId:
    """Return a fresh, time-ordered campaign send id."""
    return CampaignSendId(PREFIXES["campaign_send"] + id_suffix())


class CampaignState(enum.StrEnum):
    """Where a campaign stands: ``draft`` until started; ``paused`` sends nothing."""

    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class SendState(enum.StrEnum):
    """Where one recipient's send stands."""

    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


class SendSkipReason(enum.StrEnum):
    """Why a recipient got no email."""

    OPTED_OUT = "opted_out"
    NO_EMAIL = "no_email"
    RECENTLY_CONTACTED = "recently_contacted"
    NOT_VISIBLE = "not_visible"
    SENDER_INACTIVE = "sender_inactive"
    CANCELLED = "cancelled"


def _buckets(value: object) -> tuple[BucketId, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValidationError("Campaign.bucket_ids", value, "must be a list of bucket ids")
    return tuple(dict.fromkeys(BucketId(str(v)) for v in value))


@attrs.frozen(kw_only=True)
class Campaign:
    """A one-off send of one template to an audience.

    :ivar sender_id: the member the emails come from (``From`` name, ``Reply-To``),
        and whose sight decides the recipients.
    :ivar created_by: the member who created it.
    :ivar subject: the template's subject (see :mod:`teamcrm.templates`).
    :ivar body: the template's body.
    :ivar bucket_ids: the buckets whose contacts receive it.
    :ivar filter_id: a saved filter whose contacts receive it (with or instead of buckets).
    :ivar per_minute: the throttle: at most this many messages a minute.
    :ivar exclude_days: skip contacts anyone in the team touched within this
        many days before the start (``0``: nobody is skipped for it).
    :ivar started_at: when it was started (its recipients fixed).
    """

    id: CampaignId
    team_id: TeamId
    name: str
    sender_id: MemberId
    created_by: MemberId
    subject: str
    body: str
    bucket_ids: tuple[BucketId, ...] = attrs.field(default=(), converter=_buckets)
    filter_id: str | None = None
    per_minute: int = 60
    exclude_days: int = 0
    state: CampaignState = CampaignState.DRAFT
    created_at: datetime
    started_at: datetime | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["campaign"])
        c.ident("team_id", PREFIXES["team"])
        c.text("name", max_len=200)
        c.ident("sender_id", PREFIXES["member"])
        c.ident("created_by", PREFIXES["member"])
        c.ids("bucket_ids", PREFIXES["bucket"], max_len=MAX_BUCKETS)
        c.optional_ident("filter_id", PREFIXES["saved_filter"])
        if not self.bucket_ids and self.filter_id is None:
            raise ValidationError(c.name("bucket_ids"), (), "name buckets or a saved filter")
        c.integer("per_minute", minimum=1, maximum=MAX_PER_MINUTE)
        c.integer("exclude_days", minimum=0, maximum=MAX_EXCLUDE_DAYS)
        c.enum("state", CampaignState)
        c.utc("created_at")
        c.optional_utc("started_at")
        if (self.state is CampaignState.DRAFT) != (self.started_at is None):
            raise ValidationError(c.name("started_at"), self.started_at, "set once started")
        c.integer("version", minimum=1)
        self.template()  # TemplateError names the bad placeholder

    def template(self) -> Template:
        """The campaign's template, parsed."""
        return Template.parse(self.subject, self.body)


@attrs.frozen(kw_only=True)
class CampaignSend:
    """One recipient of a started campaign.

    :ivar due_at: when it may be sent (spaced by the throttle).
    :ivar reason: why it was skipped (a :class:`SendSkipReason` value), or the
        last error of a failed try.
    :ivar lease_owner: the worker sending it now (``None``: nobody).
    :ivar lease_until: when that worker's claim expires.
    """

    id: CampaignSendId
    team_id: TeamId
    campaign_id: CampaignId
    contact_id: ContactId
    due_at: datetime
    state: SendState = SendState.PENDING
    reason: str | None = None
    attempts: int = 0
    lease_owner: str | None = None
    lease_until: datetime | None = None
    finished_at: datetime | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["campaign_send"])
        c.ident("team_id", PREFIXES["team"])
        c.ident("campaign_id", PREFIXES["campaign"])
        c.ident("contact_id", PREFIXES["contact"])
        c.utc("due_at")
        c.enum("state", SendState)
        c.optional_text("reason", max_len=2000, multiline=True)
        if self.state is SendState.SKIPPED and self.reason is None:
            raise ValidationError(c.name("reason"), None, "a skipped send needs its reason")
        c.integer("attempts", minimum=0, maximum=1000)
        c.optional_text("lease_owner", max_len=200)
        c.optional_utc("lease_until")
        c.optional_utc("finished_at")
        if (self.state is SendState.PENDING) != (self.finished_at is None):
            raise ValidationError(c.name("finished_at"), self.finished_at, "only when finished")
        c.integer("version", minimum=1)

    @property
    def pending(self) -> bool:
        """True until it is sent, skipped or failed."""
        return self.state is SendState.PENDING

    def finished(self, state: SendState, at: datetime, reason: str | None = None) -> CampaignSend:
        """This send ended at *at* (next version, lease released)."""
        return attrs.evolve(
            self,
            state=state,
            reason=reason,
            finished_at=at,
            lease_owner=None,
            lease_until=None,
            version=self.version + 1,
        )

    def retried(
        self, error: str, at: datetime, *, max_attempts: int = MAX_ATTEMPTS
    ) -> CampaignSend:
        """This send after a failed try at *at*: due again after backoff, or ``failed``."""
        attempts = self.attempts + 1
        if attempts >= max_attempts:
            failed = self.finished(SendState.FAILED, at, error[:2000])
            return attrs.evolve(failed, attempts=attempts)
        return attrs.evolve(
            self,
            attempts=attempts,
            reason=error[:2000],
            due_at=at + backoff(attempts),
            lease_owner=None,
            lease_until=None,
            version=self.version + 1,
        )


def send_times(start: datetime, count: int, per_minute: int) -> list[datetime]:
    """The due times of *count* sends from *start* at most *per_minute* a minute.

    Evenly spaced, each rounded *up* to the microsecond: any window of one
    minute holds at most *per_minute* of them.

    >>> from datetime import UTC
    >>> [t.second for t in send_times(datetime(2026, 1, 1, tzinfo=UTC), 3, 20)]
    [0, 3, 6]
    """
    minute = 60_000_000  # microseconds
    return [start + timedelta(microseconds=-(-n * minute // per_minute)) for n in range(count)]


def exclusion(
    contact: Contact,
    *,
    last_contacted: datetime | None,
    exclude_days: int,
    at: datetime,
) -> SendSkipReason | None:
    """Why *contact* is left out of a campaign started at *at* (``None``: it is not).

    Opted out of email first; then touched (any interaction by anyone in
    the team) within *exclude_days* days before *at*.
    """
    if contact.email_opt_out:
        return SendSkipReason.OPTED_OUT
    recent = at - timedelta(days=exclude_days)
    if exclude_days and last_contacted is not None and last_contacted > recent:
        return SendSkipReason.RECENTLY_CONTACTED
    return None


@attrs.frozen(kw_only=True)
class CampaignReport:
    """What a campaign did so far.

    :ivar recipients: sends made when it started.
    :ivar pending: not yet sent.
    :ivar sent: emails sent.
    :ivar skipped: by reason (``opted_out``, ``recently_contacted``...).
    :ivar failed: sends that failed their last try.
    """

    campaign_id: CampaignId
    state: CampaignState
    recipients: int
    pending: int
    sent: int
    skipped: Mapping[str, int]
    failed: int

    @classmethod
    def of(cls, campaign: Campaign, sends: list[CampaignSend]) -> CampaignReport:
        """Count *sends* of *campaign*."""
        skipped: dict[str, int] = {}
        counts = dict.fromkeys(SendState, 0)
        for s in sends:
            counts[s.state] += 1
            if s.state is SendState.SKIPPED:
                key = s.reason or ""
                skipped[key] = skipped.get(key, 0) + 1
        return cls(
            campaign_id=campaign.id,
            state=campaign.state,
            recipients=len(sends),
            pending=counts[SendState.PENDING],
            sent=counts[SendState.SENT],
            skipped=dict(sorted(skipped.items())),
            failed=counts[SendState.FAILED],
        )
