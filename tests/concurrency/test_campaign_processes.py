"""Campaign sends across real OS processes, on one SQLite file and on PostgreSQL.

* 4 worker processes send the same campaign at once: every recipient gets
  exactly one email (one message handed to a sender, one logged ``email``
  interaction) and the report counts each send once.
* A worker killed while handing a message to its sender (after its claim,
  before its commit) leaves nothing committed; once its lease expires
  another worker sends that email, once.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import teamcrm
from race_support import STORES, run_workers, store_url
from teamcrm import MemorySender
from teamcrm.digest import OutgoingEmail

WORKERS = 4
CONTACTS = 120


def _setup(url: str) -> tuple[str, str, str, list[str]]:
    """Susan's campaign to a bucket of CONTACTS contacts, started (all due at once)."""
    crm = teamcrm.open(url)
    _, admin = crm.create_team("Race", admin_name="Ana")
    ana = crm.as_member(admin.id)
    susan = crm.as_member(ana.add_member("Susan", email="susan@example.com").id)
    news = ana.create_bucket("Newsletter")
    ana.grant_access(news.id, susan.member_id, level="editor")
    drafts = [{"first_name": f"C{i}", "emails": [f"c{i}@example.com"]} for i in range(CONTACTS)]
    contacts = [c.id for c in susan.create_contacts(drafts)]
    susan.add_to_bucket(news.id, contacts)
    campaign = susan.create_campaign(
        "News",
        subject="News for {{ contact.first_name }}",
        body="Hello",
        bucket_ids=[news.id],
        per_minute=10_000,
    )
    assert susan.start_campaign(campaign.id).pending == CONTACTS
    crm.close()
    return str(admin.id), str(susan.member_id), str(campaign.id), list(contacts)


def _worker(url: str, susan_id: str, campaign_id: str, barrier: Any) -> dict[str, Any]:
    crm = teamcrm.open(url)
    susan = crm.as_member(susan_id)
    barrier.wait(60)
    totals: Counter[str] = Counter()
    sender = MemorySender()
    deadline = time.monotonic() + 120
    later = datetime.now(UTC) + timedelta(minutes=1)  # every send due
    while time.monotonic() < deadline:
        report = crm.run_campaigns(later, limit=5, lease=timedelta(seconds=60), sender=sender)
        totals.update(sent=report.sent, claimed=report.claimed, lost=report.lost)
        assert report.failures == (), report.failures
        if report.claimed == 0 and susan.campaign_report(campaign_id).pending == 0:  # type: ignore[arg-type]
            break
    crm.close()
    return {**totals, "to": [m.to for m in sender.sent]}


@pytest.mark.parametrize("kind", STORES)
def test_four_workers_send_each_recipient_exactly_one_email(kind: str, tmp_path: Path) -> None:
    with store_url(kind, tmp_path) as url:
        admin_id, susan_id, campaign_id, contacts = _setup(url)
        results = run_workers([(_worker, (url, susan_id, campaign_id))] * WORKERS)
        sent = [to for r in results for to in r["to"]]
        assert sorted(sent) == sorted(f"c{i}@example.com" for i in range(CONTACTS))
        assert sum(r["sent"] for r in results) == CONTACTS
        crm = teamcrm.open(url)
        ana = crm.as_member(admin_id)
        report = ana.campaign_report(teamcrm.CampaignId(campaign_id))
        assert (report.sent, report.pending, report.failed, report.skipped) == (CONTACTS, 0, 0, {})
        for contact_id in contacts:
            [email] = ana.interactions_for_contact(contact_id)  # type: ignore[arg-type]
            assert email.reference == f"campaign {campaign_id}"
        crm.close()


class _HangingSender:
    """A sender that hangs inside :meth:`send` (until the process is killed)."""

    def __init__(self, started: Any) -> None:
        self.started = started

    def send(self, message: OutgoingEmail) -> None:
        self.started.set()
        time.sleep(600)


def _hanging_worker(url: str, started: Any, results: Any) -> None:
    try:
        crm = teamcrm.open(url)
        crm.run_campaigns(limit=1, lease=timedelta(seconds=2), sender=_HangingSender(started))
        results.put("finished")  # pragma: no cover - it is killed first
    except BaseException:  # pragma: no cover - shown in the test's output
        traceback.print_exc()
        results.put("error")


@pytest.mark.parametrize("kind", STORES)
def test_a_killed_workers_send_is_finished_once_by_another_worker(
    kind: str, tmp_path: Path
) -> None:
    with store_url(kind, tmp_path) as url:
        crm = teamcrm.open(url)
        _, admin = crm.create_team("Race", admin_name="Ana")
        ana = crm.as_member(admin.id)
        news = ana.create_bucket("News")
        kim = ana.create_contact("Kim", emails=["kim@example.com"])
        ana.add_to_bucket(news.id, kim.id)
        campaign = ana.create_campaign("News", subject="s", body="b", bucket_ids=[news.id])
        ana.start_campaign(campaign.id)
        ctx = mp.get_context("spawn")
        started, results = ctx.Event(), ctx.Queue()
        proc = ctx.Process(target=_hanging_worker, args=(url, started, results))
        proc.start()
        try:
            assert started.wait(120), "the worker never reached the send"
        finally:
            os.kill(proc.pid, signal.SIGKILL)  # type: ignore[arg-type]
            proc.join(60)
        assert proc.exitcode == -signal.SIGKILL
        assert results.empty()
        assert ana.interactions_for_contact(kim.id) == []  # nothing committed
        assert ana.campaign_report(campaign.id).pending == 1
        sender = MemorySender()
        later = datetime.now(UTC) + timedelta(seconds=5)
        report = crm.run_campaigns(later, worker="survivor", sender=sender)
        assert (report.claimed, report.sent) == (1, 1)
        assert [m.to for m in sender.sent] == ["kim@example.com"]
        assert len(ana.interactions_for_contact(kim.id)) == 1
        assert ana.campaign_report(campaign.id).sent == 1
        crm.close()
