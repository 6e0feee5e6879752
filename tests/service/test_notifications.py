"""In-app feed and email digests on the in-memory store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest

import teamcrm
from teamcrm import (
    CRM,
    DeliveryError,
    DigestReport,
    MemorySender,
    NotificationKind,
    OutgoingEmail,
    PermissionDenied,
    SettableClock,
    ValidationError,
)
from teamcrm.ids import MemberId, TeamId
from teamcrm.notification import Notification, new_notification_id
from teamcrm.team import Member

HOUR = timedelta(hours=1)


@attrs.define
class World:
    crm: CRM
    clock: SettableClock
    team_id: TeamId
    ana: Member  # admin, has an email
    bo: Member  # agent, has an email
    cy: Member  # agent without email

    def notify(
        self,
        member: Member,
        count: int = 1,
        kind: NotificationKind = NotificationKind.LEAD_ASSIGNED,
        message: str = "New lead: Maria Garcia (Website leads)",
    ) -> list[Notification]:
        """Write notifications the way routing does: in one unit of work."""
        now = self.crm.now()
        rows = [
            Notification(
                id=new_notification_id(),
                team_id=member.team_id,
                member_id=member.id,
                kind=kind,
                subject_id="ld_1",
                message=message,
                created_at=now,
            )
            for _ in range(count)
        ]
        with self.crm.store.unit_of_work() as uow:
            uow.notifications.add_many(rows)
            uow.commit()
        return rows

    def unsent(self, member: Member) -> set[str]:
        with self.crm.store.unit_of_work(write=False) as uow:
            rows = uow.notifications.for_member(self.team_id, member.id, limit=10_000)
        return {n.id for n in rows if n.emailed_at is None}


def make_world(crm: CRM, clock: SettableClock) -> World:
    team, ana = crm.create_team("Acme Realty", admin_name="Ana", admin_email="ana@example.com")
    admin = crm.as_member(ana.id)
    bo = admin.add_member("Bo", email="bo@example.com")
    cy = admin.add_member("Cy")
    return World(crm=crm, clock=clock, team_id=team.id, ana=ana, bo=bo, cy=cy)


@pytest.fixture(params=["memory://", "sqlite://"])
def world(request: pytest.FixtureRequest, clock: SettableClock) -> Iterator[World]:
    """A team on each store: the rules hold the same on every adapter."""
    crm = teamcrm.open(request.param, clock=clock)
    yield make_world(crm, clock)
    crm.close()


# ---------------------------------------------------------------- in-app feed
def test_notifications_are_in_the_feed_at_once_newest_first(world: World) -> None:
    first = world.notify(world.bo, message="first")
    world.clock.advance(timedelta(minutes=1))
    second = world.notify(world.bo, message="second")
    feed = world.crm.as_member(world.bo.id).notifications()
    assert [n.id for n in feed] == [second[0].id, first[0].id]
    assert all(n.read_at is None for n in feed)


def test_a_member_sees_only_their_own(world: World) -> None:
    world.notify(world.bo, 2)
    mine = world.notify(world.ana)
    assert {n.id for n in world.crm.as_member(world.ana.id).notifications()} == {mine[0].id}
    assert world.crm.as_member(world.cy.id).notifications() == []


def test_feed_limit_and_unread_only(world: World) -> None:
    rows = world.notify(world.bo, 5)
    bo = world.crm.as_member(world.bo.id)
    assert len(bo.notifications(limit=2)) == 2
    assert bo.mark_read(rows[0].id) == 1
    unread = bo.notifications(unread_only=True)
    assert {n.id for n in unread} == {r.id for r in rows[1:]}
    for bad in (0, -1, 10_001, "3", True):
        with pytest.raises(ValidationError) as info:
            bo.notifications(limit=bad)  # type: ignore[arg-type]
        assert info.value.field == "limit"
    with pytest.raises(ValidationError):
        bo.notifications(unread_only="yes")  # type: ignore[arg-type]


def test_mark_read_is_idempotent_and_keeps_the_first_time(world: World) -> None:
    rows = world.notify(world.bo, 3)
    bo = world.crm.as_member(world.bo.id)
    first_time = world.crm.now()
    assert bo.mark_read([rows[0].id, rows[1].id]) == 2
    world.clock.advance(HOUR)
    assert bo.mark_read([rows[0].id, rows[1].id]) == 0
    read = {n.id: n.read_at for n in bo.notifications()}
    assert read[rows[0].id] == first_time
    assert read[rows[2].id] is None
    assert bo.mark_read() == 1  # all the rest
    assert bo.mark_read() == 0
    assert bo.notifications(unread_only=True) == []


def test_mark_read_ignores_other_members_ids(world: World) -> None:
    theirs = world.notify(world.ana)
    bo = world.crm.as_member(world.bo.id)
    assert bo.mark_read(theirs[0].id) == 0
    assert world.crm.as_member(world.ana.id).notifications(unread_only=True)[0].id == theirs[0].id


def test_mark_read_checks_ids(world: World) -> None:
    bo = world.crm.as_member(world.bo.id)
    for bad in ("ct_" + "0" * 26, ["nt_x"], 42, b"nt_"):
        with pytest.raises(ValidationError) as info:
            bo.mark_read(bad)  # type: ignore[arg-type]
        assert info.value.field == "ids"
    assert bo.mark_read([]) == 0


def test_an_inactive_member_cannot_read_the_feed(world: World) -> None:
    world.notify(world.bo)
    world.crm.as_member(world.ana.id).deactivate_member(world.bo.id)
    with pytest.raises(PermissionDenied):
        world.crm.as_member(world.bo.id).notifications()


# ---------------------------------------------------------------- digests
def test_one_digest_per_member_with_every_unsent_notification(world: World) -> None:
    ana_rows = world.notify(world.ana, 2)
    bo_rows = world.notify(world.bo, 3, kind=NotificationKind.LEAD_OFFERED)
    sender = MemorySender()
    report = world.crm.send_digests(None, sender)
    assert isinstance(report, DigestReport)
    assert report.members_emailed == 2
    assert report.notifications_sent == 5
    assert report.failures == ()
    by_to = {m.to: m for m in sender.sent}
    assert set(by_to) == {"ana@example.com", "bo@example.com"}
    assert set(by_to["ana@example.com"].notification_ids) == {n.id for n in ana_rows}
    assert set(by_to["bo@example.com"].notification_ids) == {n.id for n in bo_rows}
    assert by_to["bo@example.com"].subject == "[Acme Realty] 3 new notifications: 3 leads offered"
    assert world.unsent(world.ana) == set()
    assert world.unsent(world.bo) == set()
    emailed = {n.emailed_at for n in world.crm.as_member(world.bo.id).notifications()}
    assert emailed == {world.crm.now()}
    # nothing left: a second run sends nothing
    again = world.crm.send_digests(None, sender)
    assert again.members_emailed == 0
    assert len(sender.sent) == 2


def test_at_most_one_digest_per_member_per_hour(world: World) -> None:
    sender = MemorySender()
    world.notify(world.bo)
    world.crm.send_digests(None, sender)
    world.clock.advance(timedelta(minutes=20))
    late = world.notify(world.bo, 2)
    report = world.crm.send_digests(None, sender)
    assert report.members_emailed == 0
    assert report.members_claimed_elsewhere == 0  # not due: not a race
    assert len(sender.sent) == 1
    world.clock.advance(timedelta(minutes=39, seconds=59))
    assert world.crm.send_digests(None, sender).members_emailed == 0
    world.clock.advance(timedelta(seconds=1))  # exactly one hour after the first
    report = world.crm.send_digests(None, sender)
    assert report.members_emailed == 1
    assert set(sender.sent[-1].notification_ids) == {n.id for n in late}
    with world.crm.store.unit_of_work(write=False) as uow:
        assert uow.notifications.last_digest_at(world.team_id, world.bo.id) == world.crm.now()


def test_a_run_at_an_earlier_time_does_not_send_newer_notifications(world: World) -> None:
    world.notify(world.bo)
    sender = MemorySender()
    report = world.crm.send_digests(world.crm.now() - timedelta(seconds=1), sender)
    assert report.members_emailed == 0
    assert sender.sent == []


def test_a_failed_send_marks_nothing_and_the_next_run_retries(world: World) -> None:
    rows = world.notify(world.bo, 2)
    world.notify(world.ana)
    failing = MemorySender(fail_for=["bo@example.com"])
    report = world.crm.send_digests(None, failing)
    assert report.members_emailed == 1  # Ana's still went out
    assert len(report.failures) == 1
    failure = report.failures[0]
    assert failure.member_id == world.bo.id
    assert failure.notifications == 2
    assert "DeliveryError" in failure.reason
    assert not failure.sent
    assert world.unsent(world.bo) == {n.id for n in rows}
    # the next run (even a minute later: no digest went out) retries
    world.clock.advance(timedelta(minutes=1))
    ok = MemorySender()
    report = world.crm.send_digests(None, ok)
    assert report.members_emailed == 1
    assert set(ok.sent[0].notification_ids) == {n.id for n in rows}
    assert world.unsent(world.bo) == set()


def test_any_exception_from_a_custom_sender_is_a_failure(world: World) -> None:
    world.notify(world.bo)

    class Broken:
        def send(self, message: OutgoingEmail) -> None:
            raise RuntimeError("API down")

    report = world.crm.send_digests(None, Broken())
    assert report.failures[0].reason == "RuntimeError: API down"
    assert world.unsent(world.bo)


def test_an_interrupt_during_send_releases_the_claim(world: World) -> None:
    world.notify(world.bo)

    class Interrupted:
        def send(self, message: OutgoingEmail) -> None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        world.crm.send_digests(None, Interrupted())
    sender = MemorySender()
    assert world.crm.send_digests(None, sender).members_emailed == 1


def test_members_without_email_or_inactive_get_no_email_and_are_skipped(world: World) -> None:
    cy_rows = world.notify(world.cy, 2)
    bo_rows = world.notify(world.bo)
    world.crm.as_member(world.ana.id).deactivate_member(world.bo.id)
    sender = MemorySender()
    report = world.crm.send_digests(None, sender)
    assert sender.sent == []
    assert report.members_skipped == 2
    assert report.notifications_skipped == 3
    # still in the app, never emailed
    assert world.unsent(world.cy) == {n.id for n in cy_rows}
    assert world.unsent(world.bo) == {n.id for n in bo_rows}
    # skipped for good: Bo reactivated later is not sent the old backlog, only new ones
    world.crm.as_member(world.ana.id).reactivate_member(world.bo.id)
    world.clock.advance(HOUR)
    assert world.crm.send_digests(None, sender).members_emailed == 0
    new = world.notify(world.bo)
    report = world.crm.send_digests(None, sender)
    assert report.members_emailed == 1
    assert report.members_skipped == 0
    assert sender.sent[0].notification_ids == (new[0].id,)


def test_a_member_who_gets_an_address_receives_only_later_notifications(world: World) -> None:
    world.notify(world.cy)
    sender = MemorySender()
    world.crm.send_digests(None, sender)
    with world.crm.store.unit_of_work() as uow:
        cy = uow.members.get(world.team_id, world.cy.id)
        uow.members.update(attrs.evolve(cy, email="cy@example.com", version=cy.version + 1))
        uow.commit()
    world.clock.advance(timedelta(minutes=5))
    new = world.notify(world.cy)
    world.crm.send_digests(None, sender)
    assert [m.notification_ids for m in sender.sent] == [(new[0].id,)]


def test_team_filter_and_other_teams(world: World) -> None:
    _, zed = world.crm.create_team("Other", admin_name="Zed", admin_email="zed@example.com")
    world.notify(zed)
    world.notify(world.bo)
    sender = MemorySender()
    report = world.crm.send_digests(None, sender, team_id=world.team_id)
    assert [m.to for m in sender.sent] == ["bo@example.com"]
    assert report.members_emailed == 1
    world.crm.send_digests(None, sender)
    assert [m.to for m in sender.sent] == ["bo@example.com", "zed@example.com"]
    assert sender.sent[1].subject.startswith("[Other] ")


def test_a_live_claim_holds_off_other_workers_until_the_lease_ends(world: World) -> None:
    rows = world.notify(world.bo)
    now = world.crm.now()
    with world.crm.store.unit_of_work() as uow:
        claimed = uow.notifications.claim_digest(
            world.team_id,
            MemberId(world.bo.id),
            token="dc_crashed",
            now=now,
            last_digest_by=now - HOUR,
            lease_cutoff=now - timedelta(minutes=15),
            limit=10,
        )
        uow.commit()
    assert [n.id for n in claimed] == [rows[0].id]
    # that worker "crashed": another run waits while the lease holds ...
    sender = MemorySender()
    world.clock.advance(timedelta(minutes=14))
    report = world.crm.send_digests(None, sender)
    assert report.members_emailed == 0
    assert sender.sent == []
    world.clock.advance(timedelta(minutes=1))  # a lease of exactly 15 minutes still holds
    assert world.crm.send_digests(None, sender).members_emailed == 0
    # ... and sends once it has expired (at least once)
    world.clock.advance(timedelta(microseconds=1))
    assert world.crm.send_digests(None, sender).members_emailed == 1
    # the crashed worker completing late marks nothing twice
    with world.crm.store.unit_of_work() as uow:
        marked = uow.notifications.complete_digest(
            world.team_id, MemberId(world.bo.id), token="dc_crashed", ids=[rows[0].id], at=now
        )
        uow.commit()
        assert marked == 0
    with world.crm.store.unit_of_work(write=False) as uow:
        # and does not move the last digest time back
        assert uow.notifications.last_digest_at(world.team_id, world.bo.id) == world.crm.now()


def test_send_digests_checks_its_arguments(world: World) -> None:
    sender = MemorySender()
    from datetime import datetime

    cases: list[tuple[str, dict[str, object]]] = [
        ("now", {"now": datetime(2026, 1, 1)}),
        ("sender", {"sender": object()}),
        ("team_id", {"team_id": "nope"}),
        ("interval", {"interval": timedelta(0)}),
        ("lease", {"lease": 5}),
    ]
    for field, change in cases:
        args: dict[str, object] = {"now": None, "sender": sender, **change}
        with pytest.raises(ValidationError) as info:
            world.crm.send_digests(**args)  # type: ignore[arg-type]
        assert info.value.field == field


def test_concurrent_threads_never_send_a_notification_twice(world: World) -> None:
    rows = world.notify(world.bo, 3) + world.notify(world.ana, 2)
    sender = MemorySender()
    barrier = threading.Barrier(4)
    reports: list[DigestReport] = []

    def run() -> None:
        barrier.wait()
        reports.append(world.crm.send_digests(None, sender))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent = [nid for m in sender.sent for nid in m.notification_ids]
    assert sorted(sent) == sorted(n.id for n in rows)
    assert len(sender.sent) == 2
    assert sum(r.members_emailed for r in reports) == 2
    assert sum(r.notifications_sent for r in reports) == 5


def test_digest_email_is_the_rendered_digest(world: World) -> None:
    world.notify(world.bo, message="New lead: <Maria> & Co")
    sender = MemorySender()
    world.crm.send_digests(None, sender)
    email = sender.sent[0]
    assert "New lead: <Maria> & Co" in email.text
    assert email.html is not None
    assert "New lead: &lt;Maria&gt; &amp; Co" in email.html


def test_memory_sender_rehearses_failures() -> None:
    sender = MemorySender(fail_for=["x@example.com"])
    msg = OutgoingEmail(to="x@example.com", subject="s", text="t")
    with pytest.raises(DeliveryError) as info:
        sender.send(msg)
    assert info.value.recipient == "x@example.com"
    assert not info.value.permanent
    ok = OutgoingEmail(to="y@example.com", subject="s", text="t")
    sender.send(ok)
    assert sender.to("y@example.com") == [ok]
    with pytest.raises(ValidationError):
        sender.send("not a message")  # type: ignore[arg-type]
    sender.clear()
    assert sender.sent == []


def test_exports() -> None:
    for name in ("Sender", "SMTPSender", "MemorySender", "DigestReport", "OutgoingEmail"):
        assert hasattr(teamcrm, name)
    assert isinstance(MemorySender(), teamcrm.Sender)


def test_routing_notifications_reach_the_feed_and_one_digest(world: World) -> None:
    """Seed 003: assigning and reassigning a lead tells the members in the app and by email."""
    admin = world.crm.as_member(world.ana.id)
    cy = admin.add_member("Dee", email="dee@example.com")
    leads = admin.create_bucket("Website leads")
    admin.create_pool(
        "Web", source_bucket_ids=[leads.id], member_ids=[world.bo.id, cy.id], method="round_robin"
    )
    maria = admin.create_contact("Maria", "Garcia", emails=["maria@example.com"])
    admin.add_to_bucket(leads.id, maria.id)
    bo_feed = world.crm.as_member(world.bo.id).notifications()
    assert [n.kind for n in bo_feed] == [NotificationKind.LEAD_ASSIGNED]
    lead_id = bo_feed[0].subject_id
    admin.reassign(lead_id, cy.id)
    kinds = {n.kind for n in world.crm.as_member(world.bo.id).notifications()}
    assert NotificationKind.LEAD_REASSIGNED_AWAY in kinds
    sender = MemorySender()
    report = world.crm.send_digests(None, sender)
    assert report.failures == ()
    by_to = {m.to: m for m in sender.sent}
    assert "bo@example.com" in by_to
    assert "dee@example.com" in by_to
    assert len(by_to["bo@example.com"].notification_ids) == 2
    assert "Maria" in by_to["dee@example.com"].text
