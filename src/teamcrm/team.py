"""Teams, their members and their settings.

A :class:`Team` is one tenant: nothing in teamcrm ever crosses from one team
to another.  A :class:`Member` belongs to exactly one team and has a
:class:`Role`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Literal

import attrs

from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, MemberId, TeamId
from teamcrm.phones import DEFAULT_REGION, check_region
from teamcrm.validation import MAX_NAME, Checker, check_text

__all__ = [
    "DEFAULT_STATUSES",
    "BucketManagement",
    "Member",
    "Role",
    "RoleName",
    "Team",
    "TeamSettings",
]

#: The contact statuses a new team starts with, in order.
DEFAULT_STATUSES: tuple[str, ...] = ("evaluate", "priority", "active", "nurture", "closed")


class Role(enum.StrEnum):
    """What a member may do.

    ``admin`` manages the team and its settings; ``manager`` manages buckets
    (when the team allows only managers to) and, later, leads; ``agent`` works
    the contacts they can see.
    """

    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"

    @property
    def is_manager(self) -> bool:
        """True for admins and managers."""
        return self is not Role.AGENT


#: The roles as text, for type checkers: ``role="agnet"`` is an error under mypy.
RoleName = Literal["admin", "manager", "agent"]


class BucketManagement(enum.StrEnum):
    """Who may create, rename and delete team buckets."""

    #: every active member
    EVERYONE = "everyone"
    #: managers and admins only
    MANAGERS = "managers"


@attrs.frozen(kw_only=True)
class TeamSettings:
    """A team's settings.

    :ivar bucket_management: who may create, rename and delete team buckets.
    :ivar file_notes_under_companies: when true, an interaction logged against
        a contact is also filed under the contact's companies.
    :ivar statuses: the contact statuses in use, in order.
    :ivar new_contact_status: the status a new contact starts in.
    :ivar new_lead_status: the status a new lead starts in.
    :ivar phone_region: the region (``"US"``, ``"PL"``...) a phone number typed
        without ``+`` is read in; ``None`` accepts only international numbers.
        Changing it does not change stored numbers (they are stored in E.164).
    """

    bucket_management: BucketManagement = BucketManagement.EVERYONE
    file_notes_under_companies: bool = True
    statuses: tuple[str, ...] = DEFAULT_STATUSES
    new_contact_status: str = "evaluate"
    new_lead_status: str = "evaluate"
    phone_region: str | None = DEFAULT_REGION

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        if self.phone_region != DEFAULT_REGION:
            region = check_region("TeamSettings.phone_region", self.phone_region)
            object.__setattr__(self, "phone_region", region)
        c.enum("bucket_management", BucketManagement)
        c.boolean("file_notes_under_companies")
        raw = c.sequence("statuses", self.statuses)
        statuses = tuple(check_text("TeamSettings.statuses", s, max_len=64) for s in raw)
        if not statuses:
            raise ValidationError("TeamSettings.statuses", self.statuses, "must not be empty")
        if len(set(statuses)) != len(statuses):
            raise ValidationError("TeamSettings.statuses", self.statuses, "must be unique")
        object.__setattr__(self, "statuses", statuses)
        for attr in ("new_contact_status", "new_lead_status"):
            c.text(attr, max_len=64)
            if getattr(self, attr) not in statuses:
                raise ValidationError(
                    c.name(attr), getattr(self, attr), f"must be one of {statuses!r}"
                )


@attrs.frozen(kw_only=True)
class Team:
    """One tenant: a team with its settings.

    :ivar version: optimistic version, 1 when created, +1 on every change.
    """

    id: TeamId
    name: str
    created_at: datetime
    settings: TeamSettings = attrs.field(factory=TeamSettings)
    version: int = 1

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["team"])
        c.text("name", max_len=MAX_NAME)
        c.utc("created_at")
        if not isinstance(self.settings, TeamSettings):
            raise ValidationError("Team.settings", self.settings, "must be a TeamSettings")
        c.integer("version", minimum=1)


@attrs.frozen(kw_only=True)
class Member:
    """A person on a team.

    :ivar role: admin, manager or agent.
    :ivar active: a deactivated member keeps their history but gets no new work
        and may not act.
    :ivar away_until: while set and in the future the member is *away*
        (unavailable for new work) but may still act.
    :ivar time_zone: IANA zone name, used for the member's calendar.
    :ivar phone_region: the region (``"PL"``...) a phone number this member
        types without ``+`` is read in; ``None`` (default) uses the team's
        :attr:`TeamSettings.phone_region`.
    """

    id: MemberId
    team_id: TeamId
    name: str
    role: Role
    created_at: datetime
    email: str | None = None
    active: bool = True
    away_until: datetime | None = None
    time_zone: str = "UTC"
    phone_region: str | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        from teamcrm.validation import check_email

        c = Checker(self)
        c.ident("id", PREFIXES["member"])
        c.ident("team_id", PREFIXES["team"])
        c.text("name", max_len=MAX_NAME)
        c.enum("role", Role)
        c.utc("created_at")
        if self.email is not None:
            object.__setattr__(self, "email", check_email("Member.email", self.email))
        c.boolean("active")
        c.optional_utc("away_until")
        c.zone("time_zone")
        if self.phone_region is not None:
            region = check_region("Member.phone_region", self.phone_region)
            object.__setattr__(self, "phone_region", region)
        c.integer("version", minimum=1)

    def is_away(self, at: datetime) -> bool:
        """True if the member is marked away at time *at*."""
        return self.away_until is not None and self.away_until > at

    def is_available(self, at: datetime) -> bool:
        """True if the member is active and not away at time *at*."""
        return self.active and not self.is_away(at)
