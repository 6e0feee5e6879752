"""The stateful comparison's rules for records: teams and members, contacts, buckets, interactions.

Each class is a mixin of :class:`~teamcrm.testing.stateful.CRMComparison`:
its rules run one use case on both sides through the public API.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from teamcrm.bucket import AccessLevel
from teamcrm.interaction import InteractionKind, Outcome
from teamcrm.team import BucketManagement, Role
from teamcrm.testing import strategies as tst
from teamcrm.testing.stateful_machinery import (
    START,
    ComparisonMachinery,
    _create_team,
    _names,
    _roles,
    _zones,
)

__all__ = [
    "BucketRules",
    "ContactRules",
    "InteractionRules",
    "TeamRules",
]


class TeamRules(ComparisonMachinery):
    """The comparison's rules for teams and members: two teams, members, roles, away, settings."""

    # ------------------------------------------------------------------ team
    @initialize(a=_names, b=_names, zone=_zones)
    def create_teams(self, a: str, b: str, zone: str) -> None:
        """Two teams, so that every step also probes team isolation."""
        for name in (a, b):
            result = self._both("create_team", partial(_create_team, name=name, zone=zone))
            team, admin = result
            self.team_ids.append(team.id)
            self._remember("member", admin)

    @rule(data=st.data(), name=_names, role=_roles)
    def add_member(self, data: st.DataObject, name: str, role: Role) -> None:
        actor = self._actor(data)
        member = self._as(actor, "add_member", lambda s: s.add_member(name, role=role))
        if member is not None:
            self._remember("member", member)

    @rule(data=st.data(), active=st.booleans())
    def set_active(self, data: st.DataObject, active: bool) -> None:
        actor = self._actor(data)
        target = self._other_member(data, actor)
        if active:
            self._as(actor, "reactivate_member", lambda s: s.reactivate_member(target))
        else:
            self._as(actor, "deactivate_member", lambda s: s.deactivate_member(target))

    @rule(data=st.data(), role=_roles)
    def change_role(self, data: st.DataObject, role: Role) -> None:
        actor = self._actor(data)
        target = self._other_member(data, actor)
        self._as(actor, "change_role", lambda s: s.change_role(target, role))

    @rule(data=st.data(), myself=st.booleans(), hours=st.integers(-5, 48))
    def set_away(self, data: st.DataObject, myself: bool, hours: int) -> None:
        actor = self._actor(data)
        target = None if myself else self._pick(data, "member", actor)
        until = START + timedelta(hours=hours)
        self._as(actor, "set_away", lambda s: s.set_away(until, target))

    @rule(
        data=st.data(),
        management=st.sampled_from(BucketManagement),
        file_notes=st.booleans(),
    )
    def change_settings(
        self, data: st.DataObject, management: BucketManagement, file_notes: bool
    ) -> None:
        self._as(
            self._actor(data),
            "change_settings",
            lambda s: s.change_settings(
                bucket_management=management, file_notes_under_companies=file_notes
            ),
        )


class ContactRules(ComparisonMachinery):
    """The comparison's rules for contacts and companies: create, update, opt out, link, delete."""

    # -------------------------------------------------------------- contacts
    @rule(
        data=st.data(),
        first=_names,
        emails=st.lists(tst.emails(), max_size=2),
        phones=st.lists(tst.phones(), max_size=2),
        custom=tst.custom_fields(max_size=3),
    )
    def create_contact(
        self,
        data: st.DataObject,
        first: str,
        emails: list[str],
        phones: list[str],
        custom: dict[str, Any],
    ) -> None:
        actor = self._actor(data)
        companies = self._picks(data, "company", actor, 1) if self.company_ids else []
        contact = self._as(
            actor,
            "create_contact",
            lambda s: s.create_contact(
                first, emails=emails, phones=phones, custom_fields=custom, company_ids=companies
            ),
        )
        if contact is not None:
            self._remember("contact", contact)

    @rule(data=st.data(), names=st.lists(_names, min_size=1, max_size=4))
    def create_contacts(self, data: st.DataObject, names: list[str]) -> None:
        actor = self._actor(data)
        bucket = None
        if self.bucket_ids:
            into: bool = data.draw(st.booleans(), label="into a bucket?")
            bucket = self._pick(data, "bucket", actor) if into else None
        drafts = [{"last_name": n} for n in names]
        created = self._as(
            actor, "create_contacts", lambda s: s.create_contacts(drafts, bucket_id=bucket)
        )
        for contact in created or ():
            self._remember("contact", contact)

    @precondition(lambda self: self.contact_ids)
    @rule(
        data=st.data(),
        expected=st.none() | st.integers(1, 4),
        change=st.one_of(
            st.builds(lambda n: {"last_name": n}, _names),
            st.builds(lambda c: {"custom_fields": c}, tst.custom_fields(max_size=3)),
            st.builds(lambda s: {"status": s}, st.sampled_from(["active", "closed", "nope"])),
            st.builds(lambda e: {"emails": e}, st.lists(tst.emails(), max_size=2)),
        ),
    )
    def update_contact(
        self, data: st.DataObject, expected: int | None, change: dict[str, Any]
    ) -> None:
        actor = self._actor(data)
        contact = self._pick(data, "contact", actor)
        self._as(
            actor,
            "update_contact",
            lambda s: s.update_contact(contact, expected_version=expected, **change),
        )

    @precondition(lambda self: self.contact_ids)
    @rule(data=st.data(), opted_out=st.booleans())
    def set_email_opt_out(self, data: st.DataObject, opted_out: bool) -> None:
        actor = self._actor(data)
        contact = self._pick(data, "contact", actor)
        self._as(actor, "set_email_opt_out", lambda s: s.set_email_opt_out(contact, opted_out))

    @precondition(lambda self: self.contact_ids)
    @rule(data=st.data())
    def delete_contact(self, data: st.DataObject) -> None:
        actor = self._actor(data)
        contact = self._pick(data, "contact", actor)
        self._as(actor, "delete_contact", lambda s: s.delete_contact(contact))

    @rule(data=st.data(), name=_names)
    def create_company(self, data: st.DataObject, name: str) -> None:
        company = self._as(self._actor(data), "create_company", lambda s: s.create_company(name))
        if company is not None:
            self._remember("company", company)

    @precondition(lambda self: self.contact_ids and self.company_ids)
    @rule(data=st.data(), link=st.booleans())
    def link_company(self, data: st.DataObject, link: bool) -> None:
        actor = self._actor(data)
        contact = self._pick(data, "contact", actor)
        company = self._pick(data, "company", actor)
        if link:
            self._as(actor, "link_company", lambda s: s.link_company(contact, company))
        else:
            self._as(actor, "unlink_company", lambda s: s.unlink_company(contact, company))

    @precondition(lambda self: self.company_ids)
    @rule(data=st.data())
    def delete_company(self, data: st.DataObject) -> None:
        actor = self._actor(data)
        company = self._pick(data, "company", actor)
        self._as(actor, "delete_company", lambda s: s.delete_company(company))


class BucketRules(ComparisonMachinery):
    """The comparison's rules for buckets: create, rename or delete, share, fill, copy."""

    # --------------------------------------------------------------- buckets
    @rule(data=st.data(), name=_names, personal=st.booleans())
    def create_bucket(self, data: st.DataObject, name: str, personal: bool) -> None:
        bucket = self._as(
            self._actor(data), "create_bucket", lambda s: s.create_bucket(name, personal=personal)
        )
        if bucket is not None:
            self._remember("bucket", bucket)

    @precondition(lambda self: self.bucket_ids)
    @rule(data=st.data(), name=_names, delete=st.booleans())
    def rename_or_delete_bucket(self, data: st.DataObject, name: str, delete: bool) -> None:
        actor = self._actor(data)
        bucket = self._pick(data, "bucket", actor)
        if delete:
            self._as(actor, "delete_bucket", lambda s: s.delete_bucket(bucket))
        else:
            self._as(actor, "rename_bucket", lambda s: s.rename_bucket(bucket, name))

    @precondition(lambda self: self.bucket_ids)
    @rule(
        data=st.data(),
        level=st.sampled_from(AccessLevel),
        conversations=st.booleans(),
        revoke=st.booleans(),
    )
    def share_bucket(
        self, data: st.DataObject, level: AccessLevel, conversations: bool, revoke: bool
    ) -> None:
        actor = self._actor(data)
        bucket = self._pick(data, "bucket", actor)
        member = self._other_member(data, actor)
        if revoke:
            self._as(actor, "revoke_access", lambda s: s.revoke_access(bucket, member))
            return
        self._as(
            actor,
            "grant_access",
            lambda s: s.grant_access(
                bucket, member, level=level, can_view_conversations=conversations
            ),
        )

    @precondition(lambda self: self.bucket_ids and (self.contact_ids or self.company_ids))
    @rule(data=st.data(), remove=st.booleans())
    def fill_bucket(self, data: st.DataObject, remove: bool) -> None:
        actor = self._actor(data)
        bucket = self._pick(data, "bucket", actor)
        items = self._picks(data, "contact", actor, 3) if self.contact_ids else []
        if self.company_ids:
            items += self._picks(data, "company", actor, 1)
        if remove:
            self._as(actor, "remove_from_bucket", lambda s: s.remove_from_bucket(bucket, items))
        else:
            self._as(actor, "add_to_bucket", lambda s: s.add_to_bucket(bucket, items))

    @precondition(lambda self: self.bucket_ids and self.contact_ids)
    @rule(data=st.data())
    def copy_to_personal_bucket(self, data: st.DataObject) -> None:
        actor = self._actor(data)
        contact = self._pick(data, "contact", actor)
        bucket = self._pick(data, "bucket", actor)
        self._as(
            actor, "copy_to_personal_bucket", lambda s: s.copy_to_personal_bucket(contact, bucket)
        )


class InteractionRules(ComparisonMachinery):
    """The comparison's rule for interactions: log one about contacts and companies."""

    # ---------------------------------------------------------- interactions
    @precondition(lambda self: self.contact_ids or self.company_ids)
    @rule(
        data=st.data(),
        kind=st.sampled_from(InteractionKind),
        outcome=st.none() | st.sampled_from(Outcome),
        hours=st.none() | st.integers(-3, 1),
        zone=_zones,
        body=st.sampled_from(["", "Called back.\nLeft a message."]),
    )
    def log_interaction(
        self,
        data: st.DataObject,
        kind: InteractionKind,
        outcome: Outcome | None,
        hours: int | None,
        zone: str,
        body: str,
    ) -> None:
        actor = self._actor(data)
        about = self._picks(data, "contact", actor, 2) if self.contact_ids else []
        companies = self._picks(data, "company", actor, 1) if self.company_ids else []
        when = None
        if hours is not None:
            when = (START + timedelta(hours=hours)).astimezone(ZoneInfo(zone))
        self._as(
            actor,
            "log_interaction",
            lambda s: s.log_interaction(
                kind,
                contact_ids=about,
                company_ids=companies,
                occurred_at=when,
                outcome=outcome,
                body=body,
            ),
        )
