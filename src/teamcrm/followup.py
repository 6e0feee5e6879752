"""Follow-up: cadences, policies, touches and the due computation (pure, no I/O).

A :class:`FollowUpPolicy` says *member M follows up the contacts of bucket B
every cadence C*.  The clock of one contact under one policy starts at the
latest of

* the time the contact entered the bucket (``BucketMembership.added_at``),
* the last **counting touch**: for a policy on a *team* bucket any member's
  interaction with the contact (the team resets it), for a policy on a
  *personal* bucket only the owner's own interactions,
* the last time M marked the contact *done* (counts for M's policies only).

The contact is due on the responsible member's **local calendar date**
``local_date(clock start) + cadence`` (see :class:`Cadence`); it is on M's
list at time *t* when that date is at or before M's local date of *t*.
"""

from __future__ import annotations

import enum
import functools
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NewType
from zoneinfo import ZoneInfo

import attrs
from dateutil.relativedelta import relativedelta

from teamcrm import ids as _ids
from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, BucketId, ContactId, MemberId, TeamId
from teamcrm.validation import Checker, check_int

__all__ = [
    "MAX_CADENCE",
    "Cadence",
    "CadenceUnit",
    "FollowUpDue",
    "FollowUpPolicy",
    "FollowUpReason",
    "FollowUpRow",
    "PolicyId",
    "RowKind",
    "Snooze",
    "Touch",
    "TouchKind",
    "add_business_days",
    "choose_clock_start",
    "compute_due",
    "local_date",
    "new_policy_id",
    "newest",
    "start_of_day",
]

PolicyId = NewType("PolicyId", str)

#: Largest cadence count accepted (in its unit).
MAX_CADENCE = 10_000


def new_policy_id() -> PolicyId:
    """Return a fresh, random follow-up policy id (``fp_…``)."""
    return PolicyId(PREFIXES["policy"] + _ids.id_suffix())


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_date(at: datetime, zone: str) -> date:
    """Return the calendar date that clocks in *zone* show at the instant *at*."""
    return at.astimezone(_zone(zone)).date()


@functools.lru_cache(maxsize=4096)
def start_of_day(day: date, zone: str) -> datetime:
    """Return the first instant (in UTC) of *day* in *zone*.

    When midnight does not exist that day (a daylight-saving jump at 00:00)
    this is the instant of the jump, which is still on *day* locally.
    """
    tz = _zone(zone)
    naive = datetime.combine(day, time(0))
    first = naive.replace(tzinfo=tz).astimezone(UTC)
    if first.astimezone(tz).date() < day:  # midnight fell into a gap
        first = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    return first


def add_business_days(day: date, count: int) -> date:
    """Return the date *count* business days (Monday to Friday) after *day*.

    Counting starts the day after *day*, so a count from a Saturday or Sunday
    lands on a weekday too: one business day after Friday, Saturday or Sunday
    is Monday.  ``count == 0`` returns *day* rolled forward to a weekday.
    """
    if count == 0:
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return day
    weeks, rest = divmod(count - 1, 5)
    day += timedelta(days=7 * weeks)
    remaining = rest + 1
    while remaining:
        day += timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return day


class CadenceUnit(enum.StrEnum):
    """The unit of a cadence."""

    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"
    BUSINESS_DAYS = "business_days"


_PARSE = re.compile(
    r"^\s*(?:every\s+)?(\d+)\s*"
    r"(days?|weeks?|months?|business[ _-]?days?|d|w|m|bd)\s*$",
    re.IGNORECASE,
)
_UNIT_WORDS = {
    "d": CadenceUnit.DAYS,
    "day": CadenceUnit.DAYS,
    "days": CadenceUnit.DAYS,
    "w": CadenceUnit.WEEKS,
    "week": CadenceUnit.WEEKS,
    "weeks": CadenceUnit.WEEKS,
    "m": CadenceUnit.MONTHS,
    "month": CadenceUnit.MONTHS,
    "months": CadenceUnit.MONTHS,
    "bd": CadenceUnit.BUSINESS_DAYS,
}


@attrs.frozen(kw_only=True)
class Cadence:
    """How often to follow up: *count* days, weeks, months or business days.

    Arithmetic is done on the responsible member's **local calendar dates**,
    always from the clock start (never by adding cadences repeatedly):

    * ``days``/``weeks``: *count* (times 7) calendar days later; a daylight-saving
      change never skips or doubles a day.
    * ``months``: the same day *count* calendar months later, clamped to the
      end of a shorter month (Aug 1 + 1 month = Sep 1; Jan 31 + 1 month =
      Feb 28, or 29 in a leap year; Jan 31 + 2 months = Mar 31).
    * ``business_days``: *count* Monday-to-Friday days after the start date;
      a due date never falls on a weekend (from a Friday, one business day is
      the next Monday).

    >>> Cadence.parse("every 3 months")
    Cadence(count=3, unit=<CadenceUnit.MONTHS: 'months'>)
    """

    count: int
    unit: CadenceUnit

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.integer("count", minimum=1, maximum=MAX_CADENCE)
        c.enum("unit", CadenceUnit)

    @classmethod
    def days(cls, count: int) -> Cadence:
        """Every *count* calendar days."""
        return cls(count=count, unit=CadenceUnit.DAYS)

    @classmethod
    def weeks(cls, count: int) -> Cadence:
        """Every *count* weeks."""
        return cls(count=count, unit=CadenceUnit.WEEKS)

    @classmethod
    def months(cls, count: int) -> Cadence:
        """Every *count* calendar months (clamped to month end)."""
        return cls(count=count, unit=CadenceUnit.MONTHS)

    @classmethod
    def business_days(cls, count: int) -> Cadence:
        """Every *count* business days (Monday to Friday)."""
        return cls(count=count, unit=CadenceUnit.BUSINESS_DAYS)

    @classmethod
    def parse(cls, value: Any) -> Cadence:
        """Return *value* if it is a cadence, or parse text like ``"every 30 days"``.

        Accepted units: ``day(s)``, ``week(s)``, ``month(s)``,
        ``business day(s)`` and the short forms ``d``, ``w``, ``m``, ``bd``.
        """
        if isinstance(value, Cadence):
            return value
        if not isinstance(value, str):
            raise ValidationError("cadence", value, "must be a Cadence or text like '30 days'")
        match = _PARSE.match(value)
        if match is None:
            raise ValidationError(
                "cadence",
                value,
                "must look like '30 days', '2 weeks', '3 months' or '5 business days'",
            )
        word = match.group(2).lower()
        unit = CadenceUnit.BUSINESS_DAYS if word.startswith("business") else _UNIT_WORDS[word]
        count = check_int("cadence", int(match.group(1)), minimum=1, maximum=MAX_CADENCE)
        return cls(count=count, unit=unit)

    def after(self, day: date) -> date:
        """Return the due date one cadence after the local date *day*."""
        if self.unit is CadenceUnit.DAYS:
            return day + timedelta(days=self.count)
        if self.unit is CadenceUnit.WEEKS:
            return day + timedelta(weeks=self.count)
        if self.unit is CadenceUnit.MONTHS:
            result: date = day + relativedelta(months=self.count)
            return result
        return add_business_days(day, self.count)

    def __str__(self) -> str:
        word = self.unit.value.replace("_", " ")
        if self.count == 1:
            word = word[:-1]
        return f"every {self.count} {word}"


@attrs.frozen(kw_only=True)
class FollowUpPolicy:
    """Member *member_id* follows up the contacts of bucket *bucket_id* every *cadence*.

    :ivar reset_by_team: true for a team bucket (any member's interaction
        restarts the clock), false for a personal bucket (only the owner's).
    :ivar time_zone: the responsible member's zone that the stored due dates
        were computed in; when the member moves zone the dates are recomputed.
    :ivar version: optimistic version, +1 on every change.
    """

    id: PolicyId
    team_id: TeamId
    bucket_id: BucketId
    member_id: MemberId
    cadence: Cadence
    reset_by_team: bool
    created_at: datetime
    created_by: MemberId
    time_zone: str = "UTC"
    version: int = 1

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["policy"])
        c.ident("team_id", PREFIXES["team"])
        c.ident("bucket_id", PREFIXES["bucket"])
        c.ident("member_id", PREFIXES["member"])
        object.__setattr__(self, "cadence", Cadence.parse(self.cadence))
        c.boolean("reset_by_team")
        c.utc("created_at")
        c.ident("created_by", PREFIXES["member"])
        c.zone("time_zone")
        c.integer("version", minimum=1)


class TouchKind(enum.StrEnum):
    """What restarted a follow-up clock."""

    #: an interaction (call, email, meeting, text, note)
    INTERACTION = "interaction"
    #: the member marked the follow-up done (counts for their policies only)
    DONE = "done"


@attrs.frozen(kw_only=True)
class Touch:
    """A moment a contact was touched by a member.

    :ivar team_wide: true for an interaction (it resets team-bucket policies of
        every member); false for *done*, which resets only the member's own
        policies.
    """

    team_id: TeamId
    contact_id: ContactId
    member_id: MemberId
    at: datetime
    kind: TouchKind = TouchKind.INTERACTION
    team_wide: bool = True

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("team_id", PREFIXES["team"])
        c.ident("contact_id", PREFIXES["contact"])
        c.ident("member_id", PREFIXES["member"])
        c.utc("at")
        c.enum("kind", TouchKind)
        c.boolean("team_wide")


def newest(*touches: Touch | None) -> Touch | None:
    """Return the newest of *touches* (ignoring ``None``); ties keep the first."""
    best: Touch | None = None
    for touch in touches:
        if touch is not None and (best is None or touch.at > best.at):
            best = touch
    return best


@attrs.frozen(kw_only=True)
class FollowUpDue:
    """One contact's state under one policy, as stored for fast listing.

    :ivar due_on: the member's local date the contact is due.
    :ivar since: when the clock started (entered the bucket or the touch).
    :ivar touch_at: the counting touch (``None`` when nobody touched it yet).
    """

    team_id: TeamId
    policy_id: PolicyId
    member_id: MemberId
    bucket_id: BucketId
    contact_id: ContactId
    due_on: date
    since: datetime
    touch_at: datetime | None = None
    touch_by: MemberId | None = None
    touch_kind: TouchKind | None = None

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("policy_id", PREFIXES["policy"])
        c.ident("contact_id", PREFIXES["contact"])
        c.utc("since")
        c.optional_utc("touch_at")
        if not isinstance(self.due_on, date) or isinstance(self.due_on, datetime):
            raise ValidationError("FollowUpDue.due_on", self.due_on, "must be a date")


def choose_clock_start(
    policy: FollowUpPolicy,
    added_at: datetime,
    team_touch: Touch | None,
    member_touch: Touch | None,
) -> Touch | None:
    """Return the touch that counts for *policy*, or ``None`` if entering the bucket wins.

    *team_touch* is the contact's newest touch by anyone (ignored for a
    personal bucket); *member_touch* the newest by the policy's member
    (including *done*).  A touch older than *added_at* does not restart the
    clock but is still reported as the last touch by the caller.
    """
    best = newest(member_touch, team_touch if policy.reset_by_team else None)
    return best


def compute_due(
    policy: FollowUpPolicy,
    contact_id: ContactId,
    added_at: datetime,
    team_touch: Touch | None,
    member_touch: Touch | None,
    zone: str,
) -> FollowUpDue:
    """Return the contact's due state under *policy* in the member's *zone*.

    The clock starts at the later of *added_at* and the counting touch; the
    due date is ``cadence.after(local date of the start)``.
    """
    touch = choose_clock_start(policy, added_at, team_touch, member_touch)
    since = added_at if touch is None or touch.at < added_at else touch.at
    return FollowUpDue(
        team_id=policy.team_id,
        policy_id=policy.id,
        member_id=policy.member_id,
        bucket_id=policy.bucket_id,
        contact_id=contact_id,
        due_on=policy.cadence.after(local_date(since, zone)),
        since=since,
        touch_at=None if touch is None else touch.at,
        touch_by=None if touch is None else touch.member_id,
        touch_kind=None if touch is None else touch.kind,
    )


@attrs.frozen(kw_only=True)
class Snooze:
    """Member *member_id* hides *contact_id* from their follow-up list until *until*."""

    team_id: TeamId
    member_id: MemberId
    contact_id: ContactId
    until: datetime

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("team_id", PREFIXES["team"])
        c.ident("member_id", PREFIXES["member"])
        c.ident("contact_id", PREFIXES["contact"])
        c.utc("until")

    def hides(self, at: datetime) -> bool:
        """True while the snooze is in force at *at*."""
        return self.until > at


@attrs.frozen(kw_only=True)
class FollowUpReason:
    """Why a contact is on a member's list: one policy covering it.

    :ivar bucket_name: the bucket's name when it was listed.
    :ivar due_on: when this policy made it due (member's local date).
    :ivar touch_at: the last touch that counted for this policy, or ``None``.
    :ivar touch_by: who made it.
    """

    policy_id: PolicyId
    bucket_id: BucketId
    bucket_name: str
    cadence: Cadence
    due_on: date
    touch_at: datetime | None
    touch_by: MemberId | None
    touch_kind: TouchKind | None


class RowKind(enum.StrEnum):
    """A row of the follow-up list comes from a policy, a task or a pool's reminder."""

    POLICY = "policy"
    TASK = "task"
    #: the follow-up reminder of a lead pool, for the lead's current owner
    POOL = "pool"


@attrs.frozen(kw_only=True)
class FollowUpRow:
    """One row of a member's follow-up list.

    :ivar contact: the contact to follow up.
    :ivar due_on: the member's local date it was due.
    :ivar due_at: the first instant of that date (UTC) for a policy row, the
        task's due time for a task row.
    :ivar days_overdue: whole local days between *due_on* and the day listed
        (0 = due today).
    :ivar reasons: every policy of the member covering the contact, earliest
        due first (empty for a task row).
    :ivar last_touch_at: the newest touch that counts for any of the reasons
        (for a task row: the contact's newest touch by anyone), or ``None``.
    :ivar last_touch_by: who made it.
    :ivar task: the task, for a task row.
    :ivar pool_id: the pool, for a pool-reminder row.
    :ivar lead_id: the lead, for a pool-reminder row.
    :ivar cadence: the pool's reminder cadence, for a pool-reminder row.
    """

    kind: RowKind
    contact: Any
    due_on: date
    due_at: datetime
    days_overdue: int
    reasons: tuple[FollowUpReason, ...] = ()
    last_touch_at: datetime | None = None
    last_touch_by: MemberId | None = None
    task: Any = None
    pool_id: str | None = None
    lead_id: str | None = None
    cadence: Cadence | None = None

    @property
    def sort_key(self) -> tuple[date, datetime, str, str]:
        """Most overdue first; ties by due time, contact id, task or lead id."""
        task_id = str(self.task.id) if self.task is not None else (self.lead_id or "")
        return (self.due_on, self.due_at, str(self.contact.id), task_id)
