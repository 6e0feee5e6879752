"""Campaigns (issue 15): one-off sends to buckets or a saved filter, on all three stores.

* a preview renders the first messages and writes nothing;
* starting fixes the recipients once each (deduplicated, only contacts the
  sender sees); opted-out and recently contacted contacts are skipped with
  the reason, addressless ones when their turn comes;
* the throttle spaces the sends' due times: a worker never sends faster;
* each email is logged as the sender's ``email`` interaction in its unit;
  a failing send is rolled back and retried;
* pause, resume and cancel; the report counts sent, skipped by reason,
  failed; rights (sender, buckets, filters, campaigns) are checked.
"""

from __future__ import annotations

import contextlib
import io
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pg_support
import teamcrm
from teamcrm import CampaignState, MemorySender, SendSkipReason
from teamcrm.backup import export_team, import_team
from teamcrm.campaign import MAX_PER_MINUTE, exclusion, send_times
from teamcrm.errors import NotFound, PermissionDenied, TemplateError, ValidationError


@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(
    request: pytest.FixtureRequest, tmp_path: Path, clock: teamcrm.SettableClock
) -> Iterator[teamcrm.CRM]:
    """A CRM on each store (PostgreSQL when a test server is configured)."""
    with pg_support.open_store_kind(request.param, tmp_path, clock) as c:
        yield c


@attrs.define
class World:
    """Ana (admin), Susan and Bob (members); a team bucket Susan edits."""

    crm: teamcrm.CRM
    clock: teamcrm.SettableClock
    ana: teamcrm.MemberSession
    susan: teamcrm.MemberSession
    bob: teamcrm.MemberSession
    news: teamcrm.Bucket


@pytest.fixture
def w(crm: teamcrm.CRM, clock: teamcrm.SettableClock) -> World:
    _, admin = crm.create_team("Contactually", admin_name="Ana")
    ana = crm.as_member(admin.id)
    susan = crm.as_member(ana.add_member("Susan", email="susan@example.com").id)
    bob = crm.as_member(ana.add_member("Bob", email="bob@example.com").id)
    news = ana.create_bucket("Newsletter")
    ana.grant_access(news.id, susan.member_id, level="editor")
    return World(crm, clock, ana, susan, bob, news)


def _contacts(w: World, n: int) -> list[teamcrm.Contact]:
    drafts = [{"first_name": f"C{i}", "emails": [f"c{i}@example.com"]} for i in range(n)]
    made = w.susan.create_contacts(drafts)
    w.susan.add_to_bucket(w.news.id, [c.id for c in made])
    return made


def _campaign(w: World, **extra: object) -> teamcrm.Campaign:
    fields: dict[str, object] = {
        "subject": "News for {{ contact.first_name }}",
        "body": "Hi {{ contact.first_name | default: 'there' }},\n\n{{ member.name }}",
        "bucket_ids": [w.news.id],
    }
    fields.update(extra)
    return w.susan.create_campaign("December news", **fields)  # type: ignore[arg-type]


def test_a_preview_renders_the_first_messages_and_writes_nothing(w: World) -> None:
    _contacts(w, 3)
    campaign = _campaign(w)
    before = w.ana.events()
    preview = w.susan.preview_campaign(campaign.id, limit=2)
    assert preview.recipients == 3
    assert [(m.to, m.subject) for m in preview.messages] == [
        ("c0@example.com", "News for C0"),
        ("c1@example.com", "News for C1"),
    ]
    assert preview.messages[0].text == "Hi C0,\n\nSusan"
    assert w.ana.events() == before
    report = w.susan.campaign_report(campaign.id)
    assert (report.state, report.recipients, report.sent) == (CampaignState.DRAFT, 0, 0)
    assert w.crm.run_campaigns(sender=MemorySender()).claimed == 0


def test_a_template_is_checked_when_the_campaign_is_saved(w: World) -> None:
    with pytest.raises(TemplateError):
        _campaign(w, body="Hi {{ contact.nickname }}")
    with pytest.raises(ValidationError):
        _campaign(w, bucket_ids=[])  # neither buckets nor a filter
    with pytest.raises(ValidationError):
        _campaign(w, per_minute=0)
    assert w.susan.campaigns() == []


def test_exclusions_are_skipped_with_their_reason_and_reported(w: World) -> None:
    opted, touched, fresh, *_ = _contacts(w, 4)
    nobody = w.susan.create_contact("Lee")  # no address: skipped when its turn comes
    w.susan.add_to_bucket(w.news.id, nobody.id)
    w.susan.set_email_opt_out(opted.id, True)
    w.susan.log_interaction(
        "call", contact_ids=[touched.id], occurred_at=w.clock.now() - timedelta(days=3)
    )
    old = w.susan.create_contact("Old", emails=["old@example.com"])
    w.susan.add_to_bucket(w.news.id, old.id)
    w.susan.log_interaction(
        "call", contact_ids=[old.id], occurred_at=w.clock.now() - timedelta(days=30)
    )
    campaign = _campaign(w, exclude_days=7, per_minute=10_000)
    preview = w.susan.preview_campaign(campaign.id, limit=10)
    assert dict(preview.skipped) == {
        opted.id: "opted_out",
        touched.id: "recently_contacted",
        nobody.id: "no_email",
    }
    started = w.susan.start_campaign(campaign.id)
    assert (started.recipients, started.pending) == (6, 4)
    assert started.skipped == {"opted_out": 1, "recently_contacted": 1}
    sender = MemorySender()
    w.clock.advance(timedelta(minutes=1))
    run = w.crm.run_campaigns(sender=sender)
    assert (run.claimed, run.sent, run.skipped, run.failures) == (4, 3, 1, ())
    assert sorted(m.to for m in sender.sent) == sorted(
        [f"{fresh.emails[0].address}", "c3@example.com", "old@example.com"]
    )
    report = w.susan.campaign_report(campaign.id)
    assert (report.sent, report.pending, report.failed) == (3, 0, 0)
    assert report.skipped == {"no_email": 1, "opted_out": 1, "recently_contacted": 1}
    assert w.crm.run_campaigns(sender=sender).claimed == 0  # exactly once
    assert len(sender.sent) == 3


def test_each_email_is_logged_as_the_senders_email(w: World) -> None:
    [kim] = _contacts(w, 1)
    campaign = _campaign(w)
    w.susan.start_campaign(campaign.id)
    sender = MemorySender()
    assert w.crm.run_campaigns(sender=sender).sent == 1
    [message] = sender.sent
    assert (message.reply_to, message.from_name) == ("susan@example.com", "Susan")
    [email] = w.susan.interactions_for_contact(kim.id)
    assert (email.kind, email.author_id, email.outcome, email.via) == (
        teamcrm.InteractionKind.EMAIL,
        w.susan.member_id,
        teamcrm.Outcome.SENT,
        "c0@example.com",
    )
    assert email.reference == f"campaign {campaign.id}"


def test_the_throttle_spaces_the_sends(w: World) -> None:
    _contacts(w, 5)
    campaign = _campaign(w, per_minute=2)  # one every 30 seconds
    start = w.clock.now()
    w.susan.start_campaign(campaign.id)
    sender = MemorySender()
    for n in range(5):
        at = start + timedelta(seconds=30 * n)
        w.crm.run_campaigns(at - timedelta(seconds=1), sender=sender)
        assert len(sender.sent) == n  # not yet
        w.crm.run_campaigns(at, sender=sender)
        assert len(sender.sent) == n + 1
    times = [s.created_at for s in sender.sent]
    assert all(b - a == timedelta(seconds=30) for a, b in itertools.pairwise(times))


def test_a_failing_send_is_rolled_back_and_retried(w: World) -> None:
    [kim] = _contacts(w, 1)
    campaign = _campaign(w)
    w.susan.start_campaign(campaign.id)
    down = MemorySender(fail_for=["c0@example.com"])
    run = w.crm.run_campaigns(sender=down)
    assert (run.retried, len(run.failures)) == (1, 1)
    assert w.susan.interactions_for_contact(kim.id) == []
    up = MemorySender()
    assert w.crm.run_campaigns(sender=up).claimed == 0  # backoff
    assert w.crm.run_campaigns(w.clock.now() + timedelta(minutes=1), sender=up).sent == 1
    assert len(w.susan.interactions_for_contact(kim.id)) == 1


def test_recipients_are_deduplicated_and_only_those_the_sender_sees(w: World) -> None:
    a, b = _contacts(w, 2)
    other = w.susan.create_bucket("Other", personal=True)
    w.susan.add_to_bucket(other.id, [a.id])
    hidden = w.ana.create_contact("Hidden", emails=["hidden@example.com"])  # Susan cannot see it
    everyone = w.ana.save_filter("Everyone", {}, shared=True)
    campaign = _campaign(w, bucket_ids=[w.news.id, other.id], filter_id=everyone.id)
    report = w.susan.start_campaign(campaign.id)
    assert report.recipients == 2
    sender = MemorySender()
    w.crm.run_campaigns(w.clock.now() + timedelta(minutes=5), sender=sender)
    assert sorted(m.to for m in sender.sent) == ["c0@example.com", "c1@example.com"]
    assert hidden.id not in {m.to for m in sender.sent}
    # an admin sending as herself reaches everyone the filter finds
    mine = w.ana.create_campaign("All", subject="s", body="b", filter_id=everyone.id)
    assert w.ana.start_campaign(mine.id).recipients == 3
    assert b.id  # both reached once


def test_rights_sender_buckets_filters_and_campaigns(w: World) -> None:
    _contacts(w, 1)
    secret = w.ana.create_bucket("Secret", personal=True)
    with pytest.raises(NotFound):
        _campaign(w, bucket_ids=[secret.id])
    private = w.ana.save_filter("Ana's", {})
    with pytest.raises(NotFound):
        _campaign(w, bucket_ids=[], filter_id=private.id)
    with pytest.raises(PermissionDenied):
        _campaign(w, sender_id=w.bob.member_id)
    campaign = _campaign(w)
    with pytest.raises(NotFound):
        w.bob.campaign_report(campaign.id)
    with pytest.raises(NotFound):
        w.bob.start_campaign(campaign.id)
    assert w.bob.campaigns() == []
    assert [c.id for c in w.ana.campaigns()] == [campaign.id]
    # a manager may send as a member; the member then sees it too
    as_susan = w.ana.create_campaign(
        "For Susan", subject="s", body="b", bucket_ids=[w.news.id], sender_id=w.susan.member_id
    )
    assert as_susan.sender_id == w.susan.member_id
    managers = w.ana.create_bucket("Managers only")  # Ana sees it, Susan does not
    w.ana.create_campaign("Fine", subject="s", body="b", bucket_ids=[managers.id])
    with pytest.raises(NotFound):  # the admin may not name a bucket the sender cannot see
        w.ana.create_campaign(
            "X", subject="s", body="b", bucket_ids=[managers.id], sender_id=w.susan.member_id
        )
    assert as_susan.id in {c.id for c in w.susan.campaigns()}


def test_pause_resume_and_cancel(w: World) -> None:
    _contacts(w, 4)
    campaign = _campaign(w, per_minute=60)
    w.susan.start_campaign(campaign.id)
    sender = MemorySender()
    assert w.crm.run_campaigns(sender=sender).sent == 1
    assert w.susan.pause_campaign(campaign.id).state is CampaignState.PAUSED
    later = w.clock.now() + timedelta(minutes=10)
    assert w.crm.run_campaigns(later, sender=sender).claimed == 0
    w.clock.set(later)
    resumed = w.susan.start_campaign(campaign.id)
    assert (resumed.state, resumed.pending) == (CampaignState.RUNNING, 3)
    assert w.crm.run_campaigns(later, sender=sender).sent == 1  # spaced again from now
    report = w.susan.cancel_campaign(campaign.id)
    assert (report.sent, report.pending, report.skipped) == (2, 0, {"cancelled": 2})
    assert w.crm.run_campaigns(later + timedelta(hours=1), sender=sender).claimed == 0
    with pytest.raises(ValidationError):
        w.susan.start_campaign(campaign.id)
    assert len(sender.sent) == 2


def test_without_a_sender_nothing_is_claimed(w: World) -> None:
    _contacts(w, 1)
    campaign = _campaign(w)
    w.susan.start_campaign(campaign.id)
    assert w.crm.run_campaigns().claimed == 0
    assert w.susan.campaign_report(campaign.id).pending == 1


def test_a_campaign_and_its_sends_survive_a_backup_and_restore(w: World, tmp_path: Path) -> None:
    _contacts(w, 3)
    campaign = _campaign(w, per_minute=1)
    w.susan.start_campaign(campaign.id)
    w.crm.run_campaigns(sender=MemorySender())  # one sent, two pending
    text = io.StringIO()
    summary = export_team(w.crm.store, w.ana.team_id, text)
    assert (summary.counts["campaign"], summary.counts["campaign_send"]) == (1, 3)
    with teamcrm.open(f"sqlite:///{tmp_path / 'restored.db'}") as restored:
        import_team(restored.store, io.StringIO(text.getvalue()))
        susan = restored.as_member(w.susan.member_id)
        assert susan.campaign(campaign.id) == w.susan.campaign(campaign.id)
        assert susan.campaign_report(campaign.id) == w.susan.campaign_report(campaign.id)
        sender = MemorySender()
        later = w.clock.now() + timedelta(minutes=5)
        assert restored.run_campaigns(later, sender=sender).sent == 2
        assert sorted(m.to for m in sender.sent) == ["c1@example.com", "c2@example.com"]


@settings(max_examples=200)
@given(
    count=st.integers(0, 300),
    per_minute=st.integers(1, MAX_PER_MINUTE),
    offset=st.integers(0, 10**6),
)
def test_send_times_never_put_more_than_the_throttle_in_one_minute(
    count: int, per_minute: int, offset: int
) -> None:
    start = datetime(2026, 3, 29, 0, 59, tzinfo=UTC) + timedelta(microseconds=offset)
    times = send_times(start, count, per_minute)
    assert times == sorted(times)
    assert len(times) == count
    if count:
        assert times[0] == start
    for n, t in enumerate(times):  # the window [t, t + 1 minute) holds at most per_minute
        window = [u for u in times[n : n + per_minute + 1] if u < t + timedelta(minutes=1)]
        assert len(window) <= per_minute


@given(
    opted=st.booleans(),
    days=st.integers(0, 60),
    ago=st.one_of(st.none(), st.integers(0, 90 * 24 * 60)),
)
def test_exclusion_names_the_first_reason_that_applies(
    opted: bool, days: int, ago: int | None
) -> None:
    now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    contact = teamcrm.Contact(
        id=teamcrm.ContactId("ct_" + "0" * 26),
        team_id=teamcrm.TeamId("tm_" + "0" * 26),
        status="new",
        first_name="Kim",
        email_opt_out=opted,
        opted_out_at=now if opted else None,
        created_at=now,
    )
    last = None if ago is None else now - timedelta(minutes=ago)
    reason = exclusion(contact, last_contacted=last, exclude_days=days, at=now)
    if opted:
        assert reason is SendSkipReason.OPTED_OUT
    elif last is not None and days and now - last < timedelta(days=days):
        assert reason is SendSkipReason.RECENTLY_CONTACTED
    else:
        assert reason is None


def test_resuming_keeps_the_throttle_after_the_last_email(w: World) -> None:
    _contacts(w, 2)
    campaign = _campaign(w, per_minute=1)
    start = w.clock.now()
    w.susan.start_campaign(campaign.id)
    sender = MemorySender()
    assert w.crm.run_campaigns(sender=sender).sent == 1
    w.susan.pause_campaign(campaign.id)
    w.clock.set(start + timedelta(seconds=10))
    w.susan.start_campaign(campaign.id)
    assert w.crm.run_campaigns(start + timedelta(seconds=59), sender=sender).claimed == 0
    assert w.crm.run_campaigns(start + timedelta(seconds=60), sender=sender).sent == 1


def test_campaigns_record_their_events_in_the_outbox(w: World) -> None:
    a, b = _contacts(w, 2)
    w.susan.set_email_opt_out(b.id, True)
    before = w.ana.events()[-1].seq
    campaign = _campaign(w)
    w.susan.start_campaign(campaign.id)
    w.crm.run_campaigns(sender=MemorySender())
    w.susan.set_email_opt_out(b.id, False)  # too late: the recipients were fixed at start
    w.susan.cancel_campaign(campaign.id)
    events = [m.event for m in w.ana.events() if m.seq > before]
    names = [e.name.value for e in events if e.name.value.startswith("campaign.")]
    assert names == ["campaign.created", "campaign.started", "campaign.sent", "campaign.cancelled"]
    started = next(e for e in events if e.name.value == "campaign.started")
    assert (started.data["recipients"], started.data["pending"]) == (2, 1)
    sent = next(e for e in events if e.name.value == "campaign.sent")
    assert (sent.data["contact_id"], sent.actor_id) == (a.id, w.susan.member_id)


def test_an_expired_lease_is_taken_over_and_the_late_worker_sends_nothing(w: World) -> None:
    from teamcrm.service.campaign_runner import _Lost, _send

    [kim] = _contacts(w, 1)
    campaign = _campaign(w)
    w.susan.start_campaign(campaign.id)
    now = w.clock.now()
    with w.crm.store.unit_of_work() as uow:
        [late] = uow.campaign_sends.claim_due(
            now, 5, owner="late", until=now + timedelta(minutes=5)
        )
        uow.commit()
    sender = MemorySender()
    assert w.crm.run_campaigns(now + timedelta(minutes=1), sender=sender).claimed == 0  # held
    taken = w.crm.run_campaigns(now + timedelta(minutes=5), sender=sender, worker="b")
    assert (taken.claimed, taken.sent) == (1, 1)
    slow = MemorySender()
    with pytest.raises(_Lost):  # its version moved: rolled back before sending
        _send(w.crm, late, now, slow)
    assert slow.sent == []
    assert len(sender.sent) == 1
    assert len(w.susan.interactions_for_contact(kim.id)) == 1


def test_contacts_out_of_sight_and_an_inactive_sender_are_skipped_when_due(w: World) -> None:
    theirs = w.ana.create_contacts(
        [{"first_name": f"A{i}", "emails": [f"a{i}@example.com"]} for i in range(2)]
    )
    w.ana.add_to_bucket(w.news.id, [c.id for c in theirs])
    campaign = _campaign(w, per_minute=10_000)
    assert w.susan.start_campaign(campaign.id).pending == 2
    w.ana.revoke_access(w.news.id, w.susan.member_id)  # Susan no longer sees them
    sender = MemorySender()
    run = w.crm.run_campaigns(w.clock.now() + timedelta(minutes=1), sender=sender)
    assert (run.skipped, run.sent, sender.sent) == (2, 0, [])
    assert w.ana.campaign_report(campaign.id).skipped == {"not_visible": 2}
    w.ana.grant_access(w.news.id, w.susan.member_id, level="editor")
    [kim] = _contacts(w, 1)
    second = _campaign(w)
    w.susan.start_campaign(second.id)
    w.ana.deactivate_member(w.susan.member_id)
    run = w.crm.run_campaigns(w.clock.now() + timedelta(minutes=1), sender=sender)
    assert (run.skipped, sender.sent) == (3, [])  # every send of a deactivated sender
    assert w.ana.campaign_report(second.id).skipped == {"sender_inactive": 3}
    assert w.ana.interactions_for_contact(kim.id) == []


def test_run_campaigns_checks_its_arguments(w: World) -> None:
    sender = MemorySender()
    with pytest.raises(ValidationError, match="limit"):
        w.crm.run_campaigns(limit=0, sender=sender)
    with pytest.raises(ValidationError, match="lease"):
        w.crm.run_campaigns(lease=timedelta(0), sender=sender)
    with pytest.raises(ValidationError, match="now"):
        w.crm.run_campaigns(datetime(2026, 1, 1), sender=sender)  # naive: refused


# ------------------------------------------------------------------ exactly once, by property
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    ops=st.lists(
        st.tuples(st.sampled_from(["claim", "send", "tick", "pause", "resume"]), st.integers(0, 2)),
        max_size=30,
    )
)
def test_interleaved_workers_pauses_and_expiring_leases_send_each_email_once(
    ops: list[tuple[str, int]],
) -> None:
    """Three workers claim, send late, see leases expire, the campaign pauses and resumes.

    Whatever the order, no contact gets two emails, and in the end all get one.
    """
    from teamcrm.service.campaign_runner import _Lost, _send

    clock = teamcrm.SettableClock(datetime(2026, 1, 5, 9, tzinfo=UTC))
    with teamcrm.open("memory://", clock=clock) as crm:
        _, admin = crm.create_team("T", admin_name="Ana")
        ana = crm.as_member(admin.id)
        news = ana.create_bucket("News")
        people = ana.create_contacts(
            [{"first_name": f"C{i}", "emails": [f"c{i}@example.com"]} for i in range(3)]
        )
        ana.add_to_bucket(news.id, [c.id for c in people])
        campaign = ana.create_campaign(
            "N", subject="s", body="b", bucket_ids=[news.id], per_minute=2
        )
        ana.start_campaign(campaign.id)
        sender = MemorySender()
        lease = timedelta(minutes=5)
        held: dict[int, list[teamcrm.CampaignSend]] = {0: [], 1: [], 2: []}
        for op, worker in ops:
            now = clock.now()
            state = ana.campaign(campaign.id).state
            if op == "tick":
                clock.set(now + timedelta(minutes=3))
            elif op == "pause" and state is CampaignState.RUNNING:
                ana.pause_campaign(campaign.id)
            elif op == "resume" and state is CampaignState.PAUSED:
                ana.start_campaign(campaign.id)
            elif op == "claim":
                with crm.store.unit_of_work() as uow:
                    held[worker] += uow.campaign_sends.claim_due(
                        now, 1, owner=f"w{worker}", until=now + lease
                    )
                    uow.commit()
            elif op == "send" and held[worker]:
                claimed = held[worker].pop(0)
                with contextlib.suppress(_Lost, teamcrm.ConcurrencyError):
                    _send(crm, claimed, now, sender)
            sent = [m.to for m in sender.sent]
            assert len(sent) == len(set(sent))
        if ana.campaign(campaign.id).state is CampaignState.PAUSED:
            ana.start_campaign(campaign.id)
        later = clock.now() + lease
        for _ in range(4):
            crm.run_campaigns(later + timedelta(minutes=5), sender=sender)
        assert sorted(m.to for m in sender.sent) == [f"c{i}@example.com" for i in range(3)]
        report = ana.campaign_report(campaign.id)
        assert (report.sent, report.pending) == (3, 0)
        for person in people:
            assert len(ana.interactions_for_contact(person.id)) == 1
