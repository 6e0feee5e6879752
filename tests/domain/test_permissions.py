"""Unit tests of the pure rules in :mod:`teamcrm.permissions`."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm import ids
from teamcrm import permissions as perm
from teamcrm.bucket import AccessGrant, AccessLevel, Bucket, BucketKind, BucketMembership
from teamcrm.errors import PermissionDenied
from teamcrm.interaction import Interaction, InteractionKind
from teamcrm.team import BucketManagement, Member, Role, TeamSettings

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)
TEAM = ids.new_team_id()


def member(role: Role = Role.AGENT, *, active: bool = True) -> Member:
    return Member(
        id=ids.new_member_id(),
        team_id=TEAM,
        name=role.value,
        role=role,
        created_at=NOW,
        active=active,
    )


ADMIN = member(Role.ADMIN)
MANAGER = member(Role.MANAGER)
AGENT = member(Role.AGENT)
OTHER = member(Role.AGENT)
EVERYONE = (ADMIN, MANAGER, AGENT, OTHER)


def team_bucket(*grants: AccessGrant) -> Bucket:
    return Bucket(
        id=ids.new_bucket_id(),
        team_id=TEAM,
        name="Team",
        kind=BucketKind.TEAM,
        created_at=NOW,
        grants=grants,
    )


def personal_bucket(owner: Member) -> Bucket:
    return Bucket(
        id=ids.new_bucket_id(),
        team_id=TEAM,
        name="Mine",
        kind=BucketKind.PERSONAL,
        created_at=NOW,
        owner_id=owner.id,
    )


def holds(bucket: Bucket, item_id: str) -> BucketMembership:
    return BucketMembership(team_id=TEAM, bucket_id=bucket.id, item_id=item_id, added_at=NOW)


def grant(m: Member, level: str = "viewer", conv: bool = False) -> AccessGrant:
    return AccessGrant(member_id=m.id, level=AccessLevel(level), can_view_conversations=conv)


# ---------------------------------------------------------------- require_*
def test_require_raises_permission_denied_naming_actor_and_action() -> None:
    perm.require(True, AGENT, "do it")
    with pytest.raises(PermissionDenied) as exc:
        perm.require(False, AGENT, "delete the team", "admins only")
    assert exc.value.actor == AGENT.id
    assert exc.value.action == "delete the team"
    assert AGENT.id in str(exc.value)
    assert "admins only" in str(exc.value)


def test_require_active() -> None:
    perm.require_active(AGENT)
    with pytest.raises(PermissionDenied, match="deactivated"):
        perm.require_active(member(Role.ADMIN, active=False))


def test_require_admin() -> None:
    perm.require_admin(ADMIN, "x")
    for m in (MANAGER, AGENT):
        with pytest.raises(PermissionDenied, match="admins only"):
            perm.require_admin(m, "change settings")


# ------------------------------------------------------- managing team buckets
def test_bucket_management_setting() -> None:
    everyone = TeamSettings()
    managers = TeamSettings(bucket_management=BucketManagement.MANAGERS)
    assert all(perm.can_manage_team_buckets(m, everyone) for m in EVERYONE)
    assert perm.can_manage_team_buckets(ADMIN, managers)
    assert perm.can_manage_team_buckets(MANAGER, managers)
    assert not perm.can_manage_team_buckets(AGENT, managers)


def test_sharing_needs_editor_or_manager() -> None:
    bucket = team_bucket(grant(AGENT, "viewer"), grant(OTHER, "editor"))
    assert perm.can_share_bucket(ADMIN, bucket)
    assert perm.can_share_bucket(MANAGER, bucket)
    assert perm.can_share_bucket(OTHER, bucket)
    assert not perm.can_share_bucket(AGENT, bucket)  # a viewer cannot promote itself
    assert not perm.can_share_bucket(ADMIN, personal_bucket(ADMIN))


# -------------------------------------------------------------- team buckets
def test_view_and_edit_team_bucket() -> None:
    bucket = team_bucket(grant(AGENT, "viewer"), grant(OTHER, "editor"))
    assert perm.can_view_bucket(ADMIN, bucket)
    assert perm.can_view_bucket(MANAGER, bucket)  # managers see every team bucket
    assert perm.can_view_bucket(AGENT, bucket)
    assert perm.can_view_bucket(OTHER, bucket)
    assert not perm.can_view_bucket(member(), bucket)

    assert perm.can_edit_bucket(ADMIN, bucket)
    assert not perm.can_edit_bucket(MANAGER, bucket)  # seeing is not editing
    assert not perm.can_edit_bucket(AGENT, bucket)
    assert perm.can_edit_bucket(OTHER, bucket)
    assert perm.can_edit_bucket(MANAGER, team_bucket(grant(MANAGER, "editor")))


def test_conversations_need_the_explicit_right() -> None:
    bucket = team_bucket(grant(AGENT, "editor", conv=False), grant(OTHER, "viewer", conv=True))
    assert not perm.can_view_conversations(AGENT, bucket)
    assert perm.can_view_conversations(OTHER, bucket)
    assert not perm.can_view_conversations(ADMIN, bucket)  # not even admins, without a grant
    assert not perm.can_view_conversations(MANAGER, bucket)


# ---------------------------------------------------------- personal buckets
@pytest.mark.parametrize("viewer", EVERYONE, ids=lambda m: m.name)
def test_personal_bucket_is_its_owners_only(viewer: Member) -> None:
    owned = personal_bucket(AGENT)
    mine = viewer.id == AGENT.id
    assert perm.can_view_bucket(viewer, owned) is mine
    assert perm.can_edit_bucket(viewer, owned) is mine
    assert perm.can_view_conversations(viewer, owned) is False


# ----------------------------------------------------------------- items
def test_can_see_item() -> None:
    contact = ids.new_contact_id()
    shared = team_bucket(grant(AGENT))
    hidden = team_bucket()
    private = personal_bucket(OTHER)
    buckets = {b.id: b for b in (shared, hidden, private)}
    assert perm.can_see_item(ADMIN, None, [], buckets)
    assert perm.can_see_item(MANAGER, None, [], buckets)
    assert perm.can_see_item(AGENT, AGENT.id, [], buckets)  # its creator
    assert not perm.can_see_item(AGENT, OTHER.id, [], buckets)
    assert not perm.can_see_item(AGENT, None, [holds(hidden, contact)], buckets)
    assert perm.can_see_item(AGENT, None, [holds(hidden, contact), holds(shared, contact)], buckets)
    assert not perm.can_see_item(AGENT, None, [holds(private, contact)], buckets)
    assert perm.can_see_item(OTHER, None, [holds(private, contact)], buckets)
    # a membership of an unknown (deleted) bucket grants nothing
    gone = team_bucket(grant(AGENT))
    assert not perm.can_see_item(AGENT, None, [holds(gone, contact)], buckets)


# ------------------------------------------------------------- interactions
def _interaction(
    author: Member, contacts: tuple[str, ...], companies: tuple[str, ...] = ()
) -> Interaction:
    return Interaction(
        id=ids.new_interaction_id(),
        team_id=TEAM,
        kind=InteractionKind.NOTE,
        author_id=author.id,
        occurred_at=NOW,
        logged_at=NOW,
        contact_ids=contacts,
        company_ids=companies,
    )


def test_can_read_interaction() -> None:
    c1, c2, co = ids.new_contact_id(), ids.new_contact_id(), ids.new_company_id()
    # OTHER (the author) can see every team bucket here except `agents_only`.
    conv = team_bucket(grant(AGENT, conv=True), grant(OTHER))
    no_conv = team_bucket(grant(AGENT, "editor"), grant(OTHER))
    agents_only = team_bucket(grant(AGENT, conv=True))
    private = personal_bucket(AGENT)
    buckets = {b.id: b for b in (conv, no_conv, agents_only, private)}
    authors = {m.id: m for m in (ADMIN, AGENT, OTHER)}
    ix = _interaction(OTHER, (c1, c2), (co,))

    def reads(actor: Member, *held: BucketMembership, who: dict[str, Member] = authors) -> bool:
        return perm.can_read_interaction(actor, ix, list(held), buckets, who)

    assert reads(OTHER)  # the author
    assert not reads(AGENT)
    assert not reads(AGENT, holds(no_conv, c1))
    assert not reads(AGENT, holds(private, c1))
    assert reads(AGENT, holds(conv, c2))
    assert reads(AGENT, holds(conv, co))  # via company
    # a membership of an unrelated contact does not count
    assert not reads(AGENT, holds(conv, ids.new_contact_id()))
    assert not reads(ADMIN, holds(conv, c1))
    # Seed 003: only through a bucket the author can see too...
    assert not reads(AGENT, holds(agents_only, c1))
    # ...unless the author has left the team (deactivated): the history stays.
    gone = {**authors, OTHER.id: attrs.evolve(OTHER, active=False)}
    assert reads(AGENT, holds(agents_only, c1), who=gone)
    # An author the caller did not pass shares nothing.
    assert not reads(AGENT, holds(conv, c1), who={})


# ---------------------------------------------------------------- property
@given(
    role=st.sampled_from(list(Role)),
    level=st.sampled_from([None, *AccessLevel]),
    conv=st.booleans(),
    personal_owner=st.booleans(),
)
def test_rules_are_monotone(
    role: Role, level: AccessLevel | None, conv: bool, personal_owner: bool
) -> None:
    """Editing implies viewing; reading conversations of a team bucket needs a grant."""
    actor = member(role)
    if personal_owner:
        bucket = personal_bucket(actor)
    else:
        grants = (
            ()
            if level is None
            else (AccessGrant(member_id=actor.id, level=level, can_view_conversations=conv),)
        )
        bucket = team_bucket(*grants)
    if perm.can_edit_bucket(actor, bucket):
        assert perm.can_view_bucket(actor, bucket)
    if perm.can_view_conversations(actor, bucket):
        assert bucket.grant_for(actor.id) is not None
        assert perm.can_view_bucket(actor, bucket)
    if perm.can_share_bucket(actor, bucket):
        assert not bucket.is_personal
        assert perm.can_view_bucket(actor, bucket)
