"""Use cases of interactions and the shared contact record."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import teamcrm
from service_helpers import Team3, last_seq, names
from teamcrm import (
    EventName,
    InteractionKind,
    NotFound,
    Outcome,
    PermissionDenied,
    ValidationError,
)


# ----------------------------------------------------------------- logging
@pytest.mark.parametrize("kind", list(InteractionKind))
def test_log_every_kind_against_several_targets(
    team: Team3, clock: teamcrm.SettableClock, kind: InteractionKind
) -> None:
    ana = team[0]
    a, b = ana.create_contact("A"), ana.create_contact("B")
    co = ana.create_company("Globex")
    seq = last_seq(ana)
    when = clock.now() - timedelta(hours=2)
    ix = ana.log_interaction(
        kind.value,
        contact_ids=[a.id, b.id, a.id],
        company_ids=[co.id],
        occurred_at=when,
        reference="OPP-1",
        body="Said hello.\nWill call back.",
    )
    assert ix.kind is kind
    assert ix.contact_ids == (a.id, b.id)
    assert ix.company_ids == (co.id,)
    assert (ix.occurred_at, ix.logged_at) == (when, clock.now())
    assert ix.author_id == ana.member_id
    for cid in (a.id, b.id):
        assert ana.interactions_for_contact(cid) == [ix]
    assert ana.company_interactions(co.id) == [ix]
    rows = ana.events(seq)
    assert [r.event.name for r in rows] == [EventName.INTERACTION_LOGGED]
    assert rows[0].event.data == {
        "kind": kind.value,
        "contact_ids": [a.id, b.id],
        "occurred_at": when.isoformat(),
    }


def test_interactions_are_listed_newest_first(team: Team3, clock: teamcrm.SettableClock) -> None:
    ana = team[0]
    c = ana.create_contact("A")
    old = ana.log_interaction("note", contact_ids=[c.id], occurred_at=clock.now() - timedelta(1))
    new = ana.log_interaction("call", contact_ids=[c.id])
    assert ana.interactions_for_contact(c.id) == [new, old]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "fax"}, "Interaction.kind"),
        ({"kind": "call", "outcome": "great"}, "Interaction.outcome"),
        ({"kind": "note", "body": None}, "Interaction.body"),
        ({"kind": "note", "body": "a\x00"}, "Interaction.body"),
        ({"kind": "note", "via": 5}, "Interaction.via"),
        ({"kind": "note", "reference": ["x"]}, "Interaction.reference"),
        ({"kind": "note", "occurred_at": datetime(2026, 1, 1)}, "occurred_at"),
        ({"kind": "note", "occurred_at": "2026-01-01"}, "occurred_at"),
        ({"kind": "note", "contact_ids": 5}, "contact_ids"),
        ({"kind": "note", "contact_ids": ["bk_" + "0" * 26]}, "contact_ids"),
        ({"kind": "note", "company_ids": ["ct_" + "0" * 26]}, "company_ids"),
        ({"kind": "note", "contact_ids": ()}, "Interaction.contact_ids"),
    ],
)
def test_log_rejections_write_nothing(
    crm: teamcrm.CRM, team: Team3, kwargs: dict[str, object], field: str
) -> None:
    ana = team[0]
    c = ana.create_contact("A", phones=["555 010 2030"])
    kwargs = {"contact_ids": [c.id], **kwargs}
    seq = last_seq(ana)
    with pytest.raises(ValidationError) as exc:
        ana.log_interaction(**kwargs)  # type: ignore[arg-type]
    assert exc.value.field == field, exc.value
    assert ana.interactions_for_contact(c.id) == []
    assert names(ana, seq) == []


def test_only_visible_targets(team: Team3) -> None:
    ana, _, bob = team
    hidden = ana.create_contact("Hidden")
    hidden_co = ana.create_company("Hidden Inc")
    own = bob.create_contact("Own")
    with pytest.raises(NotFound):
        bob.log_interaction("note", contact_ids=[own.id, hidden.id])
    with pytest.raises(NotFound):
        bob.log_interaction("note", contact_ids=[own.id], company_ids=[hidden_co.id])
    assert bob.interactions_for_contact(own.id) == []


# ------------------------------------------------------------- validation
def test_connected_call_validates_the_number_used(team: Team3) -> None:
    ana = team[0]
    c = ana.create_contact("A", phones=["555 010 2030", "+1 555 010 9999"])
    seq = last_seq(ana)
    ana.log_interaction("call", contact_ids=[c.id], outcome="connected", via="+1 (555) 010-9999")
    phones = {p.number: p.validated for p in ana.contact(c.id).phones}
    assert phones == {"+15550102030": False, "+15550109999": True}
    rows = ana.events(seq)
    assert [r.event.name for r in rows] == [
        EventName.INTERACTION_LOGGED,
        EventName.CONTACT_CHANNEL_VALIDATED,
    ]
    assert rows[1].event.data["channel"] == "+15550109999"


def test_connected_call_validates_the_only_number(team: Team3) -> None:
    ana = team[0]
    only = ana.create_contact("A", phones=["555 010 2030"])
    two = ana.create_contact("B", phones=["555 010 2030", "555 010 2031"])
    seq = last_seq(ana)
    ana.log_interaction("call", contact_ids=[only.id, two.id], outcome=Outcome.CONNECTED)
    assert ana.contact(only.id).phones[0].validated
    assert not any(p.validated for p in ana.contact(two.id).phones)  # ambiguous: none
    rows = ana.events(seq)
    assert [r.event.data.get("channel") for r in rows[1:]] == ["+15550102030"]


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [("call", "no_answer"), ("call", "voicemail"), ("call", None), ("text", "connected")],
)
def test_other_calls_validate_nothing(team: Team3, kind: str, outcome: str | None) -> None:
    ana = team[0]
    c = ana.create_contact("A", phones=["555 010 2030"])
    ana.log_interaction(kind, contact_ids=[c.id], outcome=outcome)
    assert ana.contact(c.id) == c


def test_delivered_email_validates_the_address(team: Team3) -> None:
    ana = team[0]
    c = ana.create_contact("A", emails=["a@x.io", "a2@x.io"])
    ana.log_interaction("email", contact_ids=[c.id], outcome="bounced", via="a@x.io")
    assert not any(e.validated for e in ana.contact(c.id).emails)
    ana.log_interaction("email", contact_ids=[c.id], outcome="delivered", via="A2@X.IO")
    assert {e.address: e.validated for e in ana.contact(c.id).emails} == {
        "a@x.io": False,
        "a2@x.io": True,
    }
    solo = ana.create_contact("S", emails=["s@x.io"])
    ana.log_interaction("email", contact_ids=[solo.id], outcome="delivered")
    assert ana.contact(solo.id).emails[0].validated


def test_a_sent_email_validates_and_a_later_bounce_clears_it(team: Team3) -> None:
    # Seed 001: validate "email (by sending an email or scheduling drip emails)".
    ana = team[0]
    c = ana.create_contact("A", emails=["a@x.io", "b@x.io"])
    seq = last_seq(ana)
    ana.log_interaction("email", contact_ids=[c.id], outcome="sent", via="a@x.io")
    assert {e.address: e.validated for e in ana.contact(c.id).emails} == {
        "a@x.io": True,
        "b@x.io": False,
    }
    ana.log_interaction("email", contact_ids=[c.id], outcome="bounced", via="A@X.IO")
    assert not any(e.validated for e in ana.contact(c.id).emails)
    ana.log_interaction("email", contact_ids=[c.id], outcome="bounced", via="a@x.io")  # no-op
    ana.log_interaction("email", contact_ids=[c.id], outcome="sent", via="a@x.io")
    assert ana.contact(c.id).emails[0].validated
    changes = [
        (r.event.name, r.event.data["channel"])
        for r in ana.events(seq)
        if r.event.name
        in (EventName.CONTACT_CHANNEL_VALIDATED, EventName.CONTACT_CHANNEL_INVALIDATED)
    ]
    assert changes == [
        (EventName.CONTACT_CHANNEL_VALIDATED, "a@x.io"),
        (EventName.CONTACT_CHANNEL_INVALIDATED, "a@x.io"),
        (EventName.CONTACT_CHANNEL_VALIDATED, "a@x.io"),
    ]
    # A bounce of an address the contact does not have changes nothing.
    before = ana.contact(c.id)
    ana.log_interaction("email", contact_ids=[c.id], outcome="bounced", via="zz@x.io")
    assert ana.contact(c.id) == before


# ---------------------------------------------------- filing under companies
def test_notes_filed_under_the_contacts_companies_when_on(team: Team3) -> None:
    ana = team[0]
    co = ana.create_company("Globex")
    c = ana.create_contact("A", company_ids=[co.id])
    ix = ana.log_interaction("note", contact_ids=[c.id])
    assert ix.company_ids == (co.id,)
    assert ana.company_interactions(co.id) == [ix]


def test_notes_not_filed_under_companies_when_off(team: Team3) -> None:
    ana = team[0]
    ana.change_settings(file_notes_under_companies=False)
    co = ana.create_company("Globex")
    c = ana.create_contact("A", company_ids=[co.id])
    ix = ana.log_interaction("note", contact_ids=[c.id])
    assert ix.company_ids == ()
    assert ana.company_interactions(co.id) == []
    assert ana.interactions_for_contact(c.id) == [ix]


# ----------------------------------------------------------------- reading
def test_who_may_read(team: Team3) -> None:
    ana, max_, bob = team
    shared = ana.create_bucket("Shared")
    c = ana.create_contact("A")
    ana.add_to_bucket(shared.id, c.id)
    ix = ana.log_interaction("note", contact_ids=[c.id], body="private-ish")
    ana.grant_access(shared.id, bob.member_id, level="editor")  # no conversation rights
    assert bob.interactions_for_contact(c.id) == []
    assert max_.interactions_for_contact(c.id) == []  # a manager needs the right too
    ana.grant_access(shared.id, bob.member_id, can_view_conversations=True)
    assert bob.interactions_for_contact(c.id) == [ix]
    mine = bob.log_interaction("call", contact_ids=[c.id])
    ana.revoke_access(shared.id, bob.member_id)
    with pytest.raises(NotFound):
        bob.interactions_for_contact(c.id)  # cannot see the contact any more
    # Seed 003: conversations are shared through a bucket *both* members can see;
    # Bob no longer sees Shared, so his call is not read there any more...
    assert {x.id for x in ana.interactions_for_contact(c.id)} == {ix.id}
    ana.grant_access(shared.id, bob.member_id)  # ...until he does again
    assert {x.id for x in ana.interactions_for_contact(c.id)} == {mine.id, ix.id}


def test_reading_through_a_company_in_a_bucket(team: Team3) -> None:
    ana, _, bob = team
    co = ana.create_company("Globex")
    b = ana.create_bucket("Accounts")
    ana.add_to_bucket(b.id, co.id)
    ana.grant_access(b.id, bob.member_id, can_view_conversations=True)
    ix = ana.log_interaction("meeting", company_ids=[co.id])
    assert bob.company_interactions(co.id) == [ix]


def test_personal_buckets_grant_no_conversations(team: Team3) -> None:
    ana, _, bob = team
    shared = ana.create_bucket("Shared")
    c = ana.create_contact("A")
    ana.add_to_bucket(shared.id, c.id)
    ana.grant_access(shared.id, bob.member_id)
    mine = bob.create_bucket("Mine", personal=True)
    bob.copy_to_personal_bucket(c.id, mine.id)
    ana.log_interaction("note", contact_ids=[c.id])
    assert bob.interactions_for_contact(c.id) == []


def test_lead_changing_hands_seed_003(team: Team3, clock: teamcrm.SettableClock) -> None:
    """Seed 003: "The new owner will be able to see conversations between the lead and
    the previous owner only if the lead is in a shared bucket that both new and
    previous owner have access to."
    """
    ana, max_, bob = team
    cy = ana.add_member("Cy")
    cy_s = max_.crm.as_member(cy.id)
    bobs = ana.create_bucket("Bob's leads")
    cys = ana.create_bucket("Cy's leads")
    lead = ana.create_contact("Lead")
    ana.add_to_bucket(bobs.id, lead.id)
    ana.grant_access(bobs.id, bob.member_id, level="editor", can_view_conversations=True)
    ana.grant_access(cys.id, cy.id, level="editor", can_view_conversations=True)
    old = bob.log_interaction("call", contact_ids=[lead.id], body="Bob's call")
    clock.advance(timedelta(days=1))
    # reassign: the lead moves to Cy's bucket, Bob loses it
    ana.remove_from_bucket(bobs.id, lead.id)
    ana.add_to_bucket(cys.id, lead.id)
    with pytest.raises(NotFound):
        bob.contact(lead.id)
    # No bucket holding the lead is shared by both: Cy does not read Bob's call.
    assert cy_s.interactions_for_contact(lead.id) == []
    # Cy's bucket becomes one both have access to (Bob as a viewer): now Cy does.
    ana.grant_access(cys.id, bob.member_id)
    assert cy_s.interactions_for_contact(lead.id) == [old]
    assert bob.interactions_for_contact(lead.id) == [old]  # Bob is the author
    new = cy_s.log_interaction("call", contact_ids=[lead.id], body="Cy's call")
    assert bob.interactions_for_contact(lead.id) == [old]  # no conversation rights himself
    # Revoking the previous owner changes what the new owner sees.
    ana.revoke_access(cys.id, bob.member_id)
    assert cy_s.interactions_for_contact(lead.id) == [new]
    # A previous owner who left the team (deactivated) leaves his history with it.
    ana.deactivate_member(bob.member_id)
    assert {i.id for i in cy_s.interactions_for_contact(lead.id)} == {old.id, new.id}
    # Without conversation rights Cy reads only his own calls.
    ana.grant_access(cys.id, cy.id, level="editor", can_view_conversations=False)
    assert cy_s.interactions_for_contact(lead.id) == [new]


# ------------------------------------------------------------ contact record
def test_contact_record_shows_only_what_the_viewer_may_see(team: Team3) -> None:
    ana, max_, bob = team
    co = ana.create_company("Globex")
    c = ana.create_contact("A", company_ids=[co.id])
    shared = ana.create_bucket("Shared")
    hidden = ana.create_bucket("Hidden")
    ana.add_to_bucket(shared.id, c.id)
    ana.add_to_bucket(hidden.id, c.id)
    ana.grant_access(shared.id, bob.member_id, can_view_conversations=True)
    ana_private = ana.create_bucket("Ana's", personal=True)
    ana.copy_to_personal_bucket(c.id, ana_private.id)
    bob_private = bob.create_bucket("Bob's", personal=True)
    bob.copy_to_personal_bucket(c.id, bob_private.id)
    ix = ana.log_interaction("note", contact_ids=[c.id])

    rec = bob.contact_record(c.id)
    assert rec.contact == bob.contact(c.id)
    assert [b.id for b in rec.team_buckets] == [shared.id]
    assert [b.id for b in rec.my_buckets] == [bob_private.id]
    # Globex is in no bucket Bob can see: neither it nor the link is shown
    assert rec.companies == ()
    assert rec.contact.company_ids == ()
    assert rec.interactions == (ix,)
    ana.add_to_bucket(shared.id, co.id)
    rec = bob.contact_record(c.id)
    assert rec.companies == (ana.company(co.id),)
    assert rec.contact == ana.contact(c.id)

    rec = ana.contact_record(c.id)
    assert {b.id for b in rec.team_buckets} == {shared.id, hidden.id}
    assert [b.id for b in rec.my_buckets] == [ana_private.id]  # never Bob's

    rec = max_.contact_record(c.id)
    assert {b.id for b in rec.team_buckets} == {shared.id, hidden.id}
    assert rec.my_buckets == ()
    assert all(not b.is_personal for b in rec.team_buckets)
    assert rec.interactions == ()


# ---------------------------------------------------------- history, teams
def test_deactivated_authors_keep_their_history(team: Team3) -> None:
    ana, _, bob = team
    c = bob.create_contact("Own")
    ix = bob.log_interaction("call", contact_ids=[c.id])
    ana.deactivate_member(bob.member_id)
    with pytest.raises(PermissionDenied):
        bob.log_interaction("note", contact_ids=[c.id])
    assert ana.interactions_for_contact(c.id) == []  # an admin needs conversation rights too
    b = ana.create_bucket("Bob's old leads")
    ana.add_to_bucket(b.id, c.id)
    assert ana.interactions_for_contact(c.id) == [ix]  # ana has conversation rights on it


def test_interactions_never_cross_teams(crm: teamcrm.CRM, team: Team3) -> None:
    ana = team[0]
    _, z = crm.create_team("Other", admin_name="Zed")
    zed = crm.as_member(z.id)
    zc = zed.create_contact("Zoe")
    zco = zed.create_company("Z")
    zed.log_interaction("note", contact_ids=[zc.id])
    for call in (
        lambda: ana.log_interaction("note", contact_ids=[zc.id]),
        lambda: ana.log_interaction("note", company_ids=[zco.id]),
        lambda: ana.interactions_for_contact(zc.id),
        lambda: ana.company_interactions(zco.id),
        lambda: ana.contact_record(zc.id),
    ):
        with pytest.raises(NotFound):
            call()
    assert len(zed.interactions_for_contact(zc.id)) == 1
