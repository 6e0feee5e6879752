"""Seed 000/004: buckets shared with the whole team, and the omni-bucket, on every store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

import pg_support
import teamcrm
from teamcrm import AccessLevel, EventName, NotFound, PermissionDenied, ValidationError
from teamcrm.bucket import TeamAccess


@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[teamcrm.CRM]:
    with pg_support.open_store_kind(request.param, tmp_path) as c:
        yield c


@attrs.define
class Team:
    crm: teamcrm.CRM
    ana: teamcrm.MemberSession  # admin
    max: teamcrm.MemberSession  # manager
    bob: teamcrm.MemberSession  # agent

    def join(self, name: str) -> teamcrm.MemberSession:
        return self.crm.as_member(self.ana.add_member(name, role="agent").id)


@pytest.fixture
def team(crm: teamcrm.CRM) -> Team:
    _, admin = crm.create_team("Contactually", admin_name="Ana")
    ana = crm.as_member(admin.id)
    mx = crm.as_member(ana.add_member("Max", role="manager").id)
    bob = crm.as_member(ana.add_member("Bob", role="agent").id)
    return Team(crm, ana, mx, bob)


def _ids(session: teamcrm.MemberSession) -> set[str]:
    return {r.contact.id for r in session.search(limit=500).rows}


# --------------------------------------------------------------- team-wide access
def test_a_bucket_shared_with_the_team_reaches_members_who_join_later(team: Team) -> None:
    shared = team.ana.create_bucket("All Shared Contacts")
    maria = team.ana.create_contact("Maria")
    team.ana.add_to_bucket(shared.id, maria.id)
    team.ana.log_interaction("note", contact_ids=[maria.id], body="Likes gardens")
    assert maria.id not in _ids(team.bob)
    updated = team.ana.share_with_team(shared.id, level="viewer")
    assert updated.team_access == TeamAccess(level=AccessLevel.VIEWER)
    assert maria.id in _ids(team.bob)
    cat = team.join("Cat")  # added after the bucket was shared
    assert shared.id in {b.id for b in cat.buckets()}
    assert cat.contact(maria.id).id == maria.id
    # Viewers do not add, and read no conversations without the flag.
    with pytest.raises(PermissionDenied):
        cat.add_to_bucket(shared.id, cat.create_contact("Omar").id)
    assert cat.contact_record(maria.id).interactions == ()
    team.ana.share_with_team(shared.id, level="editor", can_view_conversations=True)
    cat.add_to_bucket(shared.id, cat.create_contact("Omar").id)
    assert [i.body for i in cat.contact_record(maria.id).interactions] == ["Likes gardens"]
    # Unsharing takes it away from everyone without a grant of their own.
    team.ana.grant_access(shared.id, team.bob.member_id, level="viewer")
    team.ana.unshare_with_team(shared.id)
    with pytest.raises(NotFound):
        cat.contact(maria.id)
    assert team.bob.contact(maria.id).id == maria.id


def test_own_grant_and_team_access_combine_field_by_field(team: Team) -> None:
    b = team.ana.create_bucket("Past Clients")
    team.ana.grant_access(b.id, team.bob.member_id, level="editor")
    team.ana.share_with_team(b.id, level="viewer", can_view_conversations=True)
    grant = team.bob.bucket(b.id).grant_for(team.bob.member_id)
    assert grant is not None
    assert (grant.level, grant.can_view_conversations) == (AccessLevel.EDITOR, True)
    # Revoking Bob's own grant leaves him the team's access; revoking again is a no-op.
    after = team.ana.revoke_access(b.id, team.bob.member_id)
    assert team.ana.revoke_access(b.id, team.bob.member_id).version == after.version
    grant = team.bob.bucket(b.id).grant_for(team.bob.member_id)
    assert grant is not None
    assert grant.level is AccessLevel.VIEWER


def test_who_may_share_with_the_team(team: Team) -> None:
    b = team.ana.create_bucket("Leads")
    mine = team.bob.create_bucket("Mine", personal=True)
    with pytest.raises(NotFound):
        team.bob.share_with_team(b.id)  # he cannot see it
    team.ana.grant_access(b.id, team.bob.member_id, level="viewer")
    with pytest.raises(PermissionDenied):
        team.bob.share_with_team(b.id)  # a viewer does not share
    with pytest.raises(ValidationError, match="personal"):
        team.bob.share_with_team(mine.id)
    with pytest.raises(ValidationError):
        team.ana.share_with_team(b.id, level="owner")
    assert team.ana.bucket(b.id).team_access is None
    seq = team.ana.events()[-1].seq
    team.max.share_with_team(b.id, level="editor")
    team.max.share_with_team(b.id, level="editor")  # unchanged: no new version, no event
    team.max.unshare_with_team(b.id)
    assert [m.event.name for m in team.ana.events(seq)] == [
        EventName.BUCKET_SHARED_WITH_TEAM,
        EventName.BUCKET_UNSHARED_WITH_TEAM,
    ]


# --------------------------------------------------------------- the omni-bucket
def test_every_new_contact_joins_the_omni_bucket(team: Team) -> None:
    # Seed 000: 'Create a bucket called "All Shared Contacts". This will be the
    # omni-bucket that will hold *all* the contacts in the system.'
    before = team.ana.create_contact("Before")
    omni = team.ana.create_bucket("All Shared Contacts")
    team.ana.share_with_team(omni.id, level="editor")
    team.max.set_holds_all(omni.id)
    new = team.bob.create_contact("Bea")  # an agent's contact...
    many = team.ana.create_contacts([{"first_name": f"P{i}"} for i in range(3)])
    held = {c.id for c in team.ana.bucket_contacts(omni.id)}
    assert held == {new.id, *(c.id for c in many)}
    assert before.id not in held
    cat = team.join("Cat")
    assert new.id in _ids(cat)  # ...seen by everyone through the shared omni-bucket
    team.ana.set_holds_all(omni.id, include_existing=True)
    assert before.id in {c.id for c in team.ana.bucket_contacts(omni.id)}
    team.ana.set_holds_all(omni.id, False)
    later = team.ana.create_contact("Later")
    assert later.id not in {c.id for c in team.ana.bucket_contacts(omni.id)}


def test_the_omni_bucket_setting_is_for_managers_and_team_buckets(team: Team) -> None:
    omni = team.ana.create_bucket("All")
    team.ana.grant_access(omni.id, team.bob.member_id, level="editor")
    with pytest.raises(PermissionDenied):
        team.bob.set_holds_all(omni.id)
    mine = team.ana.create_bucket("Mine", personal=True)
    with pytest.raises(ValidationError, match="team bucket"):
        team.ana.set_holds_all(mine.id)
    with pytest.raises(ValidationError):
        team.ana.set_holds_all(omni.id, "yes")  # type: ignore[arg-type]
    assert not team.ana.bucket(omni.id).holds_all


def test_an_omni_bucket_that_feeds_a_pool_routes_every_new_contact(team: Team) -> None:
    omni = team.ana.create_bucket("Everyone")
    team.ana.set_holds_all(omni.id)
    team.ana.create_pool(
        "All", source_bucket_ids=[omni.id], member_ids=[team.bob.member_id], method="round_robin"
    )
    c = team.max.create_contact("Routed")
    (lead,) = team.ana.leads()
    assert (lead.contact_id, lead.assignee_ids) == (c.id, (team.bob.member_id,))
