"""Use cases for the team, its members and its settings."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from teamcrm import permissions as perm
from teamcrm.errors import ValidationError
from teamcrm.events import EventName, OutboxMessage
from teamcrm.ids import (
    MemberId,
    new_member_id,
)
from teamcrm.service.base import SessionBase, bumped
from teamcrm.team import Member, Role, RoleName, Team, TeamSettings
from teamcrm.validation import (
    check_int,
    check_time,
)

__all__ = ["TeamUseCases"]


class TeamUseCases(SessionBase):
    """Team, member and settings use cases."""

    # ------------------------------------------------------------ team & members
    def team(self) -> Team:
        """Return the team."""
        with self._unit(write=False) as (uow, _):
            return uow.teams.get(self.team_id)

    def me(self) -> Member:
        """Return the acting member as stored now."""
        with self._unit(write=False) as (_, actor):
            return actor

    def members(self) -> list[Member]:
        """Return every member of the team (active or not), oldest first."""
        with self._unit(write=False) as (uow, _):
            return uow.members.all(self.team_id)

    def member(self, member_id: MemberId) -> Member:
        """Return one member of the team."""
        with self._unit(write=False) as (uow, _):
            return self._member(uow, member_id)

    def add_member(
        self,
        name: str,
        *,
        role: Role | RoleName = Role.AGENT,
        email: str | None = None,
        time_zone: str = "UTC",
        phone_region: str | None = None,
    ) -> Member:
        """Add a member to the team (admins only).

        *phone_region* (``"PL"``...) is the region numbers this member types
        without ``+`` are read in; ``None`` uses the team's setting.
        """
        with self._unit() as (uow, actor):
            perm.require_admin(actor, "add members")
            now = self.crm.now()
            member = Member(
                id=new_member_id(),
                team_id=self.team_id,
                name=name,
                role=role,  # type: ignore[arg-type]
                email=email,
                time_zone=time_zone,
                phone_region=phone_region,
                created_at=now,
            )
            uow.members.add(member)
            uow.collect(self._event(EventName.MEMBER_ADDED, member.id, now, role=member.role.value))
            uow.commit()
            return member

    def _change_member(
        self, member_id: str, event: EventName, action: str, **changes: Any
    ) -> Member:
        with self._unit() as (uow, actor):
            perm.require_admin(actor, action)
            # "The last active admin keeps the role" reads every member: hold the
            # team so two admins removing each other decide one after the other.
            uow.teams.lock(self.team_id)
            member = self._member(uow, member_id)
            if all(getattr(member, k) == v for k, v in changes.items()):
                return member  # nothing changes: no new version, no event
            updated = bumped(member, **changes)
            if (member.role is Role.ADMIN and member.active) and not (
                updated.role is Role.ADMIN and updated.active
            ):
                admins = [
                    m for m in uow.members.all(self.team_id) if m.role is Role.ADMIN and m.active
                ]
                perm.require(len(admins) > 1, actor, action, "a team needs an active admin")
            uow.members.update(updated)
            now = self.crm.now()
            uow.collect(
                self._event(
                    event,
                    member.id,
                    now,
                    **{k: v.value if isinstance(v, enum.Enum) else v for k, v in changes.items()},
                )
            )
            uow.commit()
            return updated

    def deactivate_member(self, member_id: MemberId) -> Member:
        """Deactivate a member: they keep their history but get no new work (admins)."""
        return self._change_member(
            member_id, EventName.MEMBER_DEACTIVATED, "deactivate members", active=False
        )

    def reactivate_member(self, member_id: MemberId) -> Member:
        """Reactivate a deactivated member (admins)."""
        return self._change_member(
            member_id, EventName.MEMBER_REACTIVATED, "reactivate members", active=True
        )

    def change_role(self, member_id: MemberId, role: Role | RoleName) -> Member:
        """Give a member another role (admins).  The last active admin keeps the role."""
        from teamcrm.validation import check_enum

        new_role = check_enum("role", Role, role)
        return self._change_member(
            member_id, EventName.MEMBER_ROLE_CHANGED, "change roles", role=new_role
        )

    def set_away(self, until: datetime, member_id: MemberId | None = None) -> Member:
        """Mark a member (default: oneself) away until *until*.

        Members set their own availability; admins and managers anyone's.
        """
        until = check_time("until", until)
        return self._set_availability(member_id, until)

    def set_available(self, member_id: MemberId | None = None) -> Member:
        """Mark a member (default: oneself) available again."""
        return self._set_availability(member_id, None)

    def _set_availability(self, member_id: str | None, until: datetime | None) -> Member:
        with self._unit() as (uow, actor):
            target = actor if member_id is None else self._member(uow, member_id)
            perm.require(
                target.id == actor.id or actor.role.is_manager,
                actor,
                "change another member's availability",
                "managers and admins only",
            )
            updated: Member = bumped(target, away_until=until)
            uow.members.update(updated)
            now = self.crm.now()
            uow.collect(
                self._event(
                    EventName.MEMBER_AVAILABILITY_CHANGED,
                    target.id,
                    now,
                    away_until=until.isoformat() if until else None,
                )
            )
            uow.commit()
            return updated

    def update_member(
        self,
        member_id: MemberId | None = None,
        *,
        name: str | None = None,
        email: str | None = None,
        time_zone: str | None = None,
        phone_region: str | None = None,
    ) -> Member:
        """Change a member's name, email, time zone or phone region (oneself, or anyone for admins).

        *phone_region* ``""`` clears the member's region (the team's applies again).
        """
        with self._unit() as (uow, actor):
            target = actor if member_id is None else self._member(uow, member_id)
            perm.require(
                target.id == actor.id or actor.role is Role.ADMIN,
                actor,
                "edit another member",
                "admins only",
            )
            changes: dict[str, Any] = {}
            if name is not None:
                changes["name"] = name
            if email is not None:
                changes["email"] = email
            if time_zone is not None:
                changes["time_zone"] = time_zone
            if phone_region is not None:
                changes["phone_region"] = phone_region or None
            updated: Member = bumped(target, **changes)
            uow.members.update(updated)
            now = self.crm.now()
            uow.collect(
                self._event(EventName.MEMBER_UPDATED, target.id, now, fields=sorted(changes))
            )
            uow.commit()
            return updated

    def change_settings(self, **changes: Any) -> Team:
        """Change team settings (admins), e.g. ``change_settings(bucket_management="managers")``.

        Accepts the fields of :class:`~teamcrm.team.TeamSettings`.
        """
        allowed = {f.name for f in attrs.fields(TeamSettings)}
        for key in changes:
            if key not in allowed:
                raise ValidationError(
                    "settings", key, f"unknown setting; use one of {sorted(allowed)}"
                )
        with self._unit() as (uow, actor):
            perm.require_admin(actor, "change team settings")
            team = uow.teams.get(self.team_id)
            settings = attrs.evolve(team.settings, **changes)
            updated: Team = bumped(team, settings=settings)
            uow.teams.update(updated)
            now = self.crm.now()
            self._emit(
                uow,
                self._event(EventName.TEAM_SETTINGS_CHANGED, team.id, now, fields=sorted(changes)),
            )
            uow.commit()
            return updated

    def events(self, after_seq: int = 0, limit: int = 1000) -> list[OutboxMessage]:
        """Return the team's outbox messages with ``seq > after_seq``, oldest first (admins only).

        Pass the last ``seq`` you processed as *after_seq* to read on from there.
        """
        check_int("after_seq", after_seq, minimum=0)
        check_int("limit", limit, minimum=0, maximum=1_000_000)
        with self._unit(write=False) as (uow, actor):
            perm.require_admin(actor, "read the team's event log")
            return uow.outbox.read(self.team_id, after_seq, limit)
