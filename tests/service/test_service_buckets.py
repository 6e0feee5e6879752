"""Use cases of buckets: create, share, fill, copy, list."""

from __future__ import annotations

from datetime import timedelta

import pytest

import teamcrm
from service_helpers import Team3, last_seq, names
from teamcrm import (
    AccessLevel,
    BucketKind,
    EventName,
    NotFound,
    PermissionDenied,
    ValidationError,
)


# ------------------------------------------------------- create/rename/delete
def test_team_bucket_lifecycle_with_events(team: Team3) -> None:
    ana = team[0]
    seq = last_seq(ana)
    b = ana.create_bucket(" Past Clients ")
    assert (b.name, b.kind, b.owner_id) == ("Past Clients", BucketKind.TEAM, None)
    grant = b.grant_for(ana.member_id)
    assert grant is not None
    assert grant.level is AccessLevel.EDITOR
    assert grant.can_view_conversations
    renamed = ana.rename_bucket(b.id, "Clients")
    assert (renamed.name, renamed.version) == ("Clients", 2)
    assert ana.bucket(b.id) == renamed
    ana.delete_bucket(b.id)
    with pytest.raises(NotFound):
        ana.bucket(b.id)
    assert names(ana, seq) == [
        EventName.BUCKET_CREATED,
        EventName.BUCKET_RENAMED,
        EventName.BUCKET_DELETED,
    ]


def test_bucket_management_everyone(team: Team3) -> None:
    _, _, bob = team
    b = bob.create_bucket("Bob's Contacts")
    assert bob.rename_bucket(b.id, "Bob's").name == "Bob's"
    bob.delete_bucket(b.id)


def test_bucket_management_managers_only(team: Team3) -> None:
    ana, max_, bob = team
    ana.change_settings(bucket_management="managers")
    seq = last_seq(ana)
    with pytest.raises(PermissionDenied, match="managers"):
        bob.create_bucket("Nope")
    b = max_.create_bucket("Leads")
    ana.grant_access(b.id, bob.member_id, level="editor")
    seq = last_seq(ana)
    with pytest.raises(PermissionDenied):
        bob.rename_bucket(b.id, "Mine")
    with pytest.raises(PermissionDenied):
        bob.delete_bucket(b.id)
    with pytest.raises(PermissionDenied):
        bob.grant_access(b.id, bob.member_id, level="editor")
    assert names(ana, seq) == []
    # personal buckets stay open to everyone
    mine = bob.create_bucket("Mine", personal=True)
    assert bob.rename_bucket(mine.id, "Still mine").name == "Still mine"
    assert max_.rename_bucket(b.id, "Hot leads").name == "Hot leads"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "Bucket.name"),
        ({"name": 5}, "Bucket.name"),
        ({"name": "x" * 201}, "Bucket.name"),
        ({"name": "X", "personal": "yes"}, "personal"),
    ],
)
def test_create_bucket_rejections(team: Team3, kwargs: dict[str, object], field: str) -> None:
    ana = team[0]
    seq = last_seq(ana)
    with pytest.raises(ValidationError) as exc:
        ana.create_bucket(**kwargs)  # type: ignore[arg-type]
    assert exc.value.field == field
    assert ana.buckets() == []
    assert names(ana, seq) == []


# ----------------------------------------------------------- personal buckets
def test_personal_buckets_are_seen_by_their_owner_only(team: Team3) -> None:
    ana, max_, bob = team
    mine = bob.create_bucket("My reminders", personal=True)
    assert (mine.kind, mine.owner_id, mine.grants) == (BucketKind.PERSONAL, bob.member_id, ())
    assert bob.buckets() == [mine]
    for other in (ana, max_):  # not even admins
        assert other.buckets() == []
        for call in (
            lambda s=other: s.bucket(mine.id),
            lambda s=other: s.bucket_items(mine.id),
            lambda s=other: s.rename_bucket(mine.id, "x"),
            lambda s=other: s.delete_bucket(mine.id),
            lambda s=other: s.add_to_bucket(mine.id, []),
        ):
            with pytest.raises(NotFound):
                call()
    with pytest.raises(ValidationError, match="cannot be shared"):
        bob.grant_access(mine.id, ana.member_id)


# -------------------------------------------------------------------- grants
def test_grant_and_revoke_access(team: Team3) -> None:
    ana, _, bob = team
    b = ana.create_bucket("Leads")
    c = ana.create_contact("Bea")
    ana.add_to_bucket(b.id, c.id)
    assert bob.buckets() == []
    with pytest.raises(NotFound):
        bob.contact(c.id)
    seq = last_seq(ana)
    g = ana.grant_access(b.id, bob.member_id)
    assert g.grant_for(bob.member_id) == teamcrm.AccessGrant(member_id=bob.member_id)
    assert [x.id for x in bob.buckets()] == [b.id]
    assert bob.contact(c.id) == ana.contact(c.id)
    with pytest.raises(PermissionDenied, match="editors"):
        bob.add_to_bucket(b.id, bob.create_contact("Own").id)
    upgraded = ana.grant_access(b.id, bob.member_id, level="editor", can_view_conversations=True)
    assert len(upgraded.grants) == 2  # replaced, not duplicated
    grant = upgraded.grant_for(bob.member_id)
    assert grant is not None
    assert grant.level is AccessLevel.EDITOR
    assert grant.can_view_conversations
    rows = ana.events(seq)
    assert rows[-1].event.data == {
        "member_id": bob.member_id,
        "level": "editor",
        "can_view_conversations": True,
    }
    ana.revoke_access(b.id, bob.member_id)
    assert ana.revoke_access(b.id, bob.member_id).version == 4  # no-op the second time
    assert bob.buckets() == []
    with pytest.raises(NotFound):
        bob.contact(c.id)
    assert [n for n in names(ana, seq) if n.startswith("bucket.")] == [
        EventName.BUCKET_ACCESS_GRANTED,
        EventName.BUCKET_ACCESS_GRANTED,
        EventName.BUCKET_ACCESS_REVOKED,
    ]


def test_a_viewer_cannot_promote_itself(team: Team3) -> None:
    ana, _, bob = team
    b = ana.create_bucket("Leads")
    ana.grant_access(b.id, bob.member_id)  # viewer
    with pytest.raises(PermissionDenied):
        bob.grant_access(b.id, bob.member_id, level="editor")
    with pytest.raises(PermissionDenied):
        bob.revoke_access(b.id, ana.member_id)
    grant = ana.bucket(b.id).grant_for(bob.member_id)
    assert grant is not None
    assert grant.level is AccessLevel.VIEWER


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"level": "owner"}, "AccessGrant.level"),
        ({"can_view_conversations": "yes"}, "AccessGrant.can_view_conversations"),
    ],
)
def test_grant_rejections(team: Team3, kwargs: dict[str, object], field: str) -> None:
    ana, _, bob = team
    b = ana.create_bucket("Leads")
    with pytest.raises(ValidationError) as exc:
        ana.grant_access(b.id, bob.member_id, **kwargs)  # type: ignore[arg-type]
    assert exc.value.field == field
    assert ana.bucket(b.id) == b


# ------------------------------------------------------------ adding/removing
def test_add_one_or_many_and_remove(team: Team3, clock: teamcrm.SettableClock) -> None:
    ana = team[0]
    b = ana.create_bucket("Leads")
    c1, c2, c3 = (ana.create_contact(n) for n in ("A", "B", "C"))
    co = ana.create_company("Globex")
    seq = last_seq(ana)
    first = ana.add_to_bucket(b.id, c1.id)
    assert [m.item_id for m in first] == [c1.id]
    assert first[0].added_at == clock.now()
    assert first[0].added_by == ana.member_id
    clock.advance(timedelta(days=3))
    added = ana.add_to_bucket(b.id, [c1.id, c2.id, c3.id, co.id, c2.id])
    assert {m.item_id for m in added} == {c2.id, c3.id, co.id}  # c1 was already there
    items = {m.item_id: m for m in ana.bucket_items(b.id)}
    assert items[c1.id].added_at == first[0].added_at  # re-adding keeps added_at
    assert items[c2.id].added_at == clock.now()
    assert [c.id for c in ana.bucket_contacts(b.id)] == [c1.id, *sorted([c2.id, c3.id])]
    assert ana.add_to_bucket(b.id, [c1.id]) == []  # nothing new: no event
    removed = ana.remove_from_bucket(b.id, [c1.id, co.id, c1.id])
    assert sorted(removed) == sorted([c1.id, co.id])
    assert ana.remove_from_bucket(b.id, c1.id) == []
    rows = ana.events(seq)
    assert [r.event.name for r in rows] == [
        EventName.BUCKET_ITEMS_ADDED,
        EventName.BUCKET_ITEMS_ADDED,
        EventName.BUCKET_ITEMS_REMOVED,
    ]
    assert sorted(rows[1].event.data["item_ids"]) == sorted([c2.id, c3.id, co.id])


@pytest.mark.parametrize("bad", ["ct_" + "0" * 26, "mb_" + "0" * 26, 5, "x"])
def test_one_invalid_id_adds_nothing(team: Team3, bad: object) -> None:
    ana = team[0]
    b = ana.create_bucket("Leads")
    c1, c2 = ana.create_contact("A"), ana.create_contact("B")
    seq = last_seq(ana)
    with pytest.raises((NotFound, ValidationError)):
        ana.add_to_bucket(b.id, [c1.id, bad, c2.id])  # type: ignore[list-item]
    assert ana.bucket_items(b.id) == []
    assert names(ana, seq) == []


def test_only_editors_and_admins_add_and_remove(team: Team3) -> None:
    ana, max_, bob = team
    b = ana.create_bucket("Leads")
    c = ana.create_contact("A")
    ana.grant_access(b.id, bob.member_id)  # viewer
    with pytest.raises(PermissionDenied):
        max_.add_to_bucket(b.id, c.id)  # a manager sees it but is no editor
    with pytest.raises(PermissionDenied):
        bob.add_to_bucket(b.id, c.id)
    ana.add_to_bucket(b.id, c.id)
    with pytest.raises(PermissionDenied):
        bob.remove_from_bucket(b.id, c.id)
    ana.grant_access(b.id, max_.member_id, level="editor")
    assert max_.remove_from_bucket(b.id, c.id) == [c.id]


def test_a_member_adds_only_contacts_they_can_see(team: Team3) -> None:
    ana, _, bob = team
    b = ana.create_bucket("Leads")
    ana.grant_access(b.id, bob.member_id, level="editor")
    hidden = ana.create_contact("Hidden")
    hidden_co = ana.create_company("Hidden Inc")
    own = bob.create_contact("Own")
    with pytest.raises(NotFound):
        bob.add_to_bucket(b.id, [own.id, hidden.id])
    with pytest.raises(NotFound):
        bob.add_to_bucket(b.id, [hidden_co.id])
    assert ana.bucket_items(b.id) == []
    assert [m.item_id for m in bob.add_to_bucket(b.id, own.id)] == [own.id]


# ------------------------------------------------------------------- copying
def test_copy_a_visible_contact_into_a_personal_bucket(team: Team3) -> None:
    ana, _, bob = team
    shared = ana.create_bucket("Shared")
    c = ana.create_contact("Bea")
    hidden = ana.create_contact("Hidden")
    ana.add_to_bucket(shared.id, c.id)
    ana.grant_access(shared.id, bob.member_id)
    mine = bob.create_bucket("Reminders", personal=True)
    seq = last_seq(ana)
    m = bob.copy_to_personal_bucket(c.id, mine.id)
    assert m is not None
    assert (m.bucket_id, m.item_id, m.added_by) == (mine.id, c.id, bob.member_id)
    assert bob.copy_to_personal_bucket(c.id, mine.id) is None
    assert names(ana, seq) == [EventName.BUCKET_ITEMS_ADDED]
    with pytest.raises(NotFound):
        bob.copy_to_personal_bucket(hidden.id, mine.id)
    with pytest.raises(ValidationError, match="not a personal bucket"):
        bob.copy_to_personal_bucket(c.id, shared.id)
    with pytest.raises(NotFound):
        ana.copy_to_personal_bucket(c.id, mine.id)  # someone else's personal bucket
    # the copy is not shown on the shared record to anyone else
    assert ana.contact_record(c.id).my_buckets == ()
    assert [x.id for x in bob.contact_record(c.id).my_buckets] == [mine.id]


def test_deleting_a_bucket_keeps_its_contacts(team: Team3) -> None:
    ana = team[0]
    b = ana.create_bucket("Leads")
    c = ana.create_contact("A")
    ana.add_to_bucket(b.id, c.id)
    ana.delete_bucket(b.id)
    assert ana.contact(c.id) == c
    assert ana.contact_record(c.id).team_buckets == ()


# ---------------------------------------------------------------- cross team
def test_buckets_never_cross_teams(crm: teamcrm.CRM, team: Team3) -> None:
    ana = team[0]
    _, z = crm.create_team("Other", admin_name="Zed")
    zed = crm.as_member(z.id)
    theirs = zed.create_bucket("Theirs")
    their_contact = zed.create_contact("Zoe")
    their_member = zed.add_member("Zoe")
    ours = ana.create_bucket("Ours")
    for call in (
        lambda: ana.bucket(theirs.id),
        lambda: ana.rename_bucket(theirs.id, "Mine"),
        lambda: ana.delete_bucket(theirs.id),
        lambda: ana.grant_access(theirs.id, ana.member_id),
        lambda: ana.add_to_bucket(theirs.id, []),
        lambda: ana.add_to_bucket(ours.id, their_contact.id),
        lambda: ana.grant_access(ours.id, their_member.id),
        lambda: ana.bucket_contacts(theirs.id),
    ):
        with pytest.raises(NotFound):
            call()
    assert ana.bucket_items(ours.id) == []
    assert [b.id for b in ana.buckets()] == [ours.id]
    assert zed.bucket(theirs.id) == theirs


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s: s.bucket("ct_" + "0" * 26), "bucket_id"),
        (lambda s: s.add_to_bucket("bk_" + "0" * 26, 5), "item_ids"),
        (lambda s: s.add_to_bucket("bk_" + "0" * 26, ["mb_" + "0" * 26]), "item_ids"),
        (lambda s: s.grant_access("bk_" + "0" * 26, 5), "member_id"),
        (lambda s: s.revoke_access("bk_" + "0" * 26, None), "member_id"),
        (lambda s: s.rename_bucket(None, "x"), "bucket_id"),
    ],
)
def test_bad_arguments_name_the_field(team: Team3, call: object, field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        call(team[0])  # type: ignore[operator]
    assert exc.value.field == field
