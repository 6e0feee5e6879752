"""Email digests on a SQLite file: upgrade in place, and several processes at once."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

import teamcrm
from teamcrm import MemorySender, NotificationKind, OutgoingEmail, SettableClock
from teamcrm.adapters.sqlite import SQLiteStore, registered_migrations
from teamcrm.ids import TeamId
from teamcrm.notification import Notification, new_notification_id
from teamcrm.team import Member

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
WORKERS = 3


def notify(crm: teamcrm.CRM, team_id: TeamId, members: list[Member], per_member: int) -> set[str]:
    rows = [
        Notification(
            id=new_notification_id(),
            team_id=team_id,
            member_id=m.id,
            kind=NotificationKind.LEAD_ASSIGNED,
            subject_id="ld_x",
            message=f"New lead for {m.name}",
            created_at=crm.now(),
        )
        for m in members
        for _ in range(per_member)
    ]
    with crm.store.unit_of_work() as uow:
        uow.notifications.add_many(rows)
        uow.commit()
    return {n.id for n in rows}


class FileSender:
    """Appends one JSON line per message to a shared file (one ``write`` with O_APPEND)."""

    def __init__(self, path: str, at: datetime) -> None:
        self.path = path
        self.at = at

    def send(self, message: OutgoingEmail) -> None:
        time.sleep(0.002)  # widen the window between claim and mark
        line = json.dumps(
            {
                "pid": os.getpid(),
                "to": message.to,
                "at": self.at.isoformat(),
                "ids": list(message.notification_ids),
            }
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


def worker(url: str, out: str, rounds: list[str], barrier: Any, results: Any) -> None:
    """Run send_digests at each round's time, in step with the other processes."""
    crm = teamcrm.open(url, clock=SettableClock(T0))
    try:
        for at_text in rounds:
            at = datetime.fromisoformat(at_text)
            barrier.wait(timeout=60)  # the parent has written this round's notifications
            emailed = sent = 0
            for _ in range(3):
                report = crm.send_digests(at, FileSender(out, at))
                assert report.failures == (), report.failures
                emailed += report.members_emailed
                sent += report.notifications_sent
            results.put((os.getpid(), at_text, emailed, sent))
            barrier.wait(timeout=60)  # round done
    finally:
        crm.close()


@pytest.mark.slow
def test_processes_running_send_digests_at_once_send_each_notification_once(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    out = str(tmp_path / "sent.jsonl")
    clock = SettableClock(T0)
    crm = teamcrm.open(url, clock=clock)
    team, admin = crm.create_team("Acme", admin_name="Ana", admin_email="ana@example.com")
    boss = crm.as_member(admin.id)
    people = [boss.add_member(f"Agent {i}", email=f"agent{i}@example.com") for i in range(6)]
    no_email = boss.add_member("Quiet")
    recipients = [admin, *people]

    rounds = [T0, T0 + timedelta(minutes=30), T0 + HOUR, T0 + 2 * HOUR]
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS + 1)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=worker, args=(url, out, [r.isoformat() for r in rounds], barrier, results)
        )
        for _ in range(WORKERS)
    ]
    for p in procs:
        p.start()
    expected: list[set[str]] = []
    try:
        for i, at in enumerate(rounds):
            clock.advance(at - clock.now())
            if i < 3:  # rounds 0-2 bring new notifications; round 3 brings none
                expected.append(notify(crm, team.id, recipients, per_member=4))
                notify(crm, team.id, [no_email], per_member=2)
            else:
                expected.append(set())
            barrier.wait(timeout=60)
            barrier.wait(timeout=60)
    finally:
        for p in procs:
            p.join(timeout=60)
    assert all(p.exitcode == 0 for p in procs)
    per_round: Counter[str] = Counter()
    while not results.empty():
        _, at_text, _, sent = results.get()
        per_round[at_text] += sent

    lines = [json.loads(line) for line in Path(out).read_text().splitlines()]
    counts = Counter(nid for line in lines for nid in line["ids"])
    everything = set().union(*expected)
    # every notification of a member with an address went out exactly once overall
    assert set(counts) == everything
    assert max(counts.values()) == 1
    assert "quiet" not in {line["to"].split("@")[0] for line in lines}
    # round by round: T0 sends round 0; +30 min sends nothing (the hour rule);
    # +1 h sends what came at +30 min and +1 h; +2 h has nothing left
    sent_at = {nid: line["at"] for line in lines for nid in line["ids"]}
    assert {sent_at[n] for n in expected[0]} == {rounds[0].isoformat()}
    assert {sent_at[n] for n in expected[1] | expected[2]} == {rounds[2].isoformat()}
    assert per_round[rounds[1].isoformat()] == 0
    assert per_round[rounds[3].isoformat()] == 0
    # one digest per member per round that sent, never two within the hour
    by_member: dict[str, list[datetime]] = {}
    for line in lines:
        by_member.setdefault(line["to"], []).append(datetime.fromisoformat(line["at"]))
    for times in by_member.values():
        times.sort()
        assert all(b - a >= HOUR for a, b in pairwise(times))
    assert len(lines) == 2 * len(recipients)
    # the store agrees
    with crm.store.unit_of_work(write=False) as uow:
        for m in recipients:
            assert uow.notifications.last_digest_at(team.id, m.id) == rounds[2]
    crm.close()


def test_digest_tables_upgrade_a_database_made_before_them(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    older = [m for m in registered_migrations() if m.name < "0090_notification_digests"]
    store = SQLiteStore(url, migrations=older)
    crm = teamcrm.CRM(store, clock=SettableClock(T0))
    team, admin = crm.create_team("Acme", admin_name="Ana", admin_email="ana@example.com")
    old_ids = notify(crm, team.id, [admin], per_member=2)
    crm.close()
    # reopened by this release: migrated in place, old notifications are pending
    crm = teamcrm.open(url, clock=SettableClock(T0))
    assert "0090_notification_digests" in crm.store.applied  # type: ignore[attr-defined]
    sender = MemorySender()
    report = crm.send_digests(None, sender)
    assert report.notifications_sent == 2
    assert set(sender.sent[0].notification_ids) == old_ids
    crm.close()
    with sqlite3.connect(path) as conn:
        cols = {r[1] for r in conn.execute("PRAGMA table_info(notifications)")}
        assert "email_skipped_at" in cols
        (n,) = conn.execute("SELECT count(*) FROM notification_digests").fetchone()
        assert n == 1


def test_skipped_notifications_survive_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    crm = teamcrm.open(url, clock=SettableClock(T0))
    team, admin = crm.create_team("Acme", admin_name="Ana")  # no email
    notify(crm, team.id, [admin], per_member=3)
    assert crm.send_digests(None, MemorySender()).notifications_skipped == 3
    crm.close()
    crm = teamcrm.open(url, clock=SettableClock(T0 + HOUR))
    assert crm.send_digests(None, MemorySender()).notifications_skipped == 0
    # still in the feed, unread
    assert len(crm.as_member(admin.id).notifications(unread_only=True)) == 3
    crm.close()
