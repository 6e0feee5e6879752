"""The pure digest: grouping, ordering, counts, subject, text and escaped HTML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from teamcrm import ValidationError
from teamcrm.digest import MAX_DIGEST_ITEMS, Digest, OutgoingEmail, build_digest, kind_label
from teamcrm.ids import MemberId, TeamId, new_member_id, new_team_id
from teamcrm.notification import Notification, NotificationKind, new_notification_id
from teamcrm.team import Member, Role

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TEAM = new_team_id()


def member(**kw: object) -> Member:
    args: dict[str, object] = {
        "id": new_member_id(),
        "team_id": TEAM,
        "name": "Ana",
        "role": Role.AGENT,
        "created_at": T0,
        "email": "ana@example.com",
    }
    args.update(kw)
    return Member(**args)  # type: ignore[arg-type]


def note(
    m: Member,
    kind: NotificationKind = NotificationKind.LEAD_ASSIGNED,
    message: str = "New lead: Maria Garcia",
    minutes: int = 0,
) -> Notification:
    return Notification(
        id=new_notification_id(),
        team_id=m.team_id,
        member_id=m.id,
        kind=kind,
        subject_id="ld_1",
        message=message,
        created_at=T0 + timedelta(minutes=minutes),
    )


def test_kind_label_counts_and_plurals() -> None:
    assert kind_label(NotificationKind.LEAD_ASSIGNED) == "lead assigned"
    assert kind_label(NotificationKind.LEAD_ASSIGNED, 1) == "1 lead assigned"
    assert kind_label(NotificationKind.LEAD_ASSIGNED, 3) == "3 leads assigned"
    assert kind_label(NotificationKind.OFFER_EXPIRED, 2) == "2 offers expired"
    # every kind has a label that is not just its value
    for kind in NotificationKind:
        assert kind_label(kind, 2).startswith("2 ")


def test_build_digest_orders_oldest_first_and_counts_by_kind() -> None:
    ana = member()
    later = note(ana, NotificationKind.OFFER_EXPIRED, "Offer expired: Bo", minutes=30)
    first = note(ana, minutes=0)
    second = note(ana, minutes=10)
    digest = build_digest(ana, [later, first, second], now=T0 + timedelta(hours=1))
    assert digest.notification_ids == (first.id, second.id, later.id)
    assert digest.counts() == {
        NotificationKind.LEAD_ASSIGNED: 2,
        NotificationKind.OFFER_EXPIRED: 1,
    }
    assert digest.to == "ana@example.com"
    assert digest.subject == "3 new notifications: 2 leads assigned, 1 offer expired"


def test_subject_names_team_and_at_most_three_kinds() -> None:
    ana = member()
    kinds = [
        NotificationKind.LEAD_ASSIGNED,
        NotificationKind.LEAD_OFFERED,
        NotificationKind.OFFER_EXPIRED,
        NotificationKind.UPDATE_REQUESTED,
    ]
    notes = [note(ana, k, minutes=i) for i, k in enumerate(kinds)]
    digest = build_digest(ana, notes, now=T0, team_name="Acme Realty")
    assert digest.subject.startswith("[Acme Realty] 4 new notifications: ")
    assert digest.subject.endswith(", ...")
    assert "update requested" not in digest.subject  # the 4th kind (ties: kind order)
    single = build_digest(ana, notes[:1], now=T0)
    assert single.subject == "1 new notification: 1 lead assigned"


def test_text_lists_every_message_in_the_members_zone() -> None:
    ana = member(time_zone="Europe/Warsaw", name="Ana Nowak")
    notes = [note(ana, message="New lead: Maria Garcia"), note(ana, message="Lead: Bo", minutes=5)]
    text = build_digest(ana, notes, now=T0, team_name="Acme").text
    assert text.startswith("Hello Ana Nowak,\n")
    assert "You have 2 new notifications in Acme:" in text
    assert "2 leads assigned" in text
    assert "2026-01-05 10:00 CET  [lead assigned]  New lead: Maria Garcia" in text
    assert "2026-01-05 10:05 CET  [lead assigned]  Lead: Bo" in text


def test_html_escapes_every_piece_of_data() -> None:
    ana = member(name="<b>Ana</b> & co")
    evil = note(ana, message='<script>alert("x")</script> & <img src=x onerror=1>')
    digest = build_digest(ana, [evil], now=T0, team_name="A&B <Realty>")
    body = digest.html
    assert "<script>" not in body
    assert "<img" not in body
    assert "<b>Ana</b>" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x" in body
    assert "Hello &lt;b&gt;Ana&lt;/b&gt; &amp; co," in body
    assert "A&amp;B &lt;Realty&gt;" in body
    # the text part keeps the message as written
    assert '<script>alert("x")</script>' in digest.text


def test_key_is_stable_for_the_same_notifications() -> None:
    ana = member()
    notes = [note(ana), note(ana, minutes=1)]
    a = build_digest(ana, notes, now=T0)
    b = build_digest(ana, list(reversed(notes)), now=T0 + timedelta(hours=2))
    c = build_digest(ana, notes[:1], now=T0)
    assert a.key == b.key
    assert a.key != c.key
    assert a.key.startswith("dg_")


def test_to_email_carries_both_bodies_and_the_ids() -> None:
    ana = member()
    notes = [note(ana), note(ana, minutes=1)]
    email = build_digest(ana, notes, now=T0).to_email()
    assert isinstance(email, OutgoingEmail)
    assert email.to == "ana@example.com"
    assert email.html is not None
    assert email.html.startswith("<!DOCTYPE html>")
    assert email.notification_ids == tuple(n.id for n in notes)
    assert email.created_at == T0


def test_build_digest_refuses_a_member_without_email() -> None:
    ana = member(email=None)
    with pytest.raises(ValidationError) as info:
        build_digest(ana, [note(ana)], now=T0)
    assert info.value.field == "Member.email"


def test_digest_refuses_other_members_duplicates_and_empty() -> None:
    ana, bo = member(), member(name="Bo", email="bo@example.com")
    mine = note(ana)
    with pytest.raises(ValidationError, match="another member"):
        build_digest(ana, [mine, note(bo)], now=T0)
    with pytest.raises(ValidationError, match="appears twice"):
        build_digest(ana, [mine, mine], now=T0)
    with pytest.raises(ValidationError, match="1 to"):
        build_digest(ana, [], now=T0)
    with pytest.raises(ValidationError, match="Notification"):
        build_digest(ana, [mine, "nt_x"], now=T0)  # type: ignore[list-item]
    too_many = [note(ana, minutes=i) for i in range(MAX_DIGEST_ITEMS + 1)]
    with pytest.raises(ValidationError):
        build_digest(ana, too_many, now=T0)


def test_digest_checks_its_fields() -> None:
    ana = member()
    base = {
        "team_id": TeamId(TEAM),
        "member_id": MemberId(ana.id),
        "to": "ana@example.com",
        "member_name": "Ana",
        "time_zone": "UTC",
        "created_at": T0,
        "notifications": (note(ana),),
    }
    Digest(**base)  # type: ignore[arg-type]
    for field, bad in [
        ("to", "not-an-address"),
        ("time_zone", "Mars/Olympus"),
        ("created_at", datetime(2026, 1, 1)),
        ("member_name", ""),
    ]:
        with pytest.raises(ValidationError) as info:
            Digest(**{**base, field: bad})  # type: ignore[arg-type]
        assert info.value.field == f"Digest.{field}"


def test_outgoing_email_validates() -> None:
    ok = OutgoingEmail(to="Bo@Example.COM", subject="Hi", text="Body\nline")
    assert ok.to == "Bo@example.com"
    with pytest.raises(ValidationError) as info:
        OutgoingEmail(to="bo@example.com", subject="a\r\nBcc: x@evil.com", text="b")
    assert info.value.field == "OutgoingEmail.subject"
    with pytest.raises(ValidationError):
        OutgoingEmail(to="nobody", subject="s", text="b")
    with pytest.raises(ValidationError):
        OutgoingEmail(to="bo@example.com", subject="s", text="b", notification_ids=("x",))
