"""Consuming the outbox with a durable position per consumer (issue 14, item 2).

On ``memory://``, SQLite and PostgreSQL: a consumer resumes where it
stopped; its position advances only past messages whose handler returned;
one worker at a time holds a consumer's claim, and a lapsed claim is taken
over.  With real processes (SQLite and PostgreSQL): two workers under one
name handle every event exactly once between them, none skipped, and no
handler ever sees the position already past its message.
"""

from __future__ import annotations

import json
import multiprocessing
import time
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import pg_support
import teamcrm
from teamcrm import OutboxMessage, ValidationError

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(params=pg_support.STORE_KINDS)
def crm(
    request: pytest.FixtureRequest, tmp_path: Path, clock: teamcrm.SettableClock
) -> Iterator[teamcrm.CRM]:
    """A CRM on each store (PostgreSQL when a test server is configured)."""
    with pg_support.open_store_kind(request.param, tmp_path, clock) as c:
        yield c


def _team_with_events(crm: teamcrm.CRM, contacts: int) -> tuple[str, list[int]]:
    """A team with *contacts* contacts; its id and every outbox seq."""
    team, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    ana.create_contacts([{"first_name": f"C{i}"} for i in range(contacts)])
    for i in range(contacts):
        ana.create_contact(f"D{i}")
    return team.id, [m.seq for m in ana.events(limit=10_000)]


def test_a_consumer_resumes_where_it_stopped(crm: teamcrm.CRM) -> None:
    team_id, seqs = _team_with_events(crm, 5)
    seen: list[int] = []
    assert crm.consume("audit", lambda m: seen.append(m.seq), team_id=team_id, batch=3,
                       max_batches=1) == 3  # fmt: skip
    assert crm.consumer_position("audit", team_id=team_id) == seqs[2]
    assert (
        crm.consume("audit", lambda m: seen.append(m.seq), team_id=team_id, batch=3)
        == len(seqs) - 3
    )
    assert seen == seqs
    assert crm.consumer_position("audit", team_id=team_id) == seqs[-1]
    # Nothing new: nothing handled.  A second consumer has its own position.
    assert crm.consume("audit", lambda m: seen.append(m.seq), team_id=team_id) == 0
    other: list[OutboxMessage] = []
    assert crm.consume("search-index", other.append, team_id=team_id) == len(seqs)
    # A new change reaches both.
    admin = crm.as_member(other[1].event.subject_id)
    admin.create_contact("Late")
    assert crm.consume("audit", lambda m: seen.append(m.seq), team_id=team_id) == 1
    assert len(seen) == len(seqs) + 1


def test_the_position_advances_only_past_messages_whose_handler_returned(
    crm: teamcrm.CRM,
) -> None:
    team_id, seqs = _team_with_events(crm, 4)
    failing = seqs[3]
    seen: list[int] = []

    def handler(message: OutboxMessage) -> None:
        # While handling, the stored position is still before this message.
        assert crm.consumer_position("mirror", team_id=team_id) < message.seq
        if message.seq == failing:
            raise RuntimeError("webhook down")
        seen.append(message.seq)

    with pytest.raises(RuntimeError, match="webhook down"):
        crm.consume("mirror", handler, team_id=team_id, batch=100)
    assert seen == seqs[:3]
    assert crm.consumer_position("mirror", team_id=team_id) == seqs[2]
    failing = -1
    assert crm.consume("mirror", handler, team_id=team_id) == len(seqs) - 3
    assert seen == seqs


def test_one_worker_holds_a_consumers_claim_and_a_lapsed_claim_is_taken_over(
    crm: teamcrm.CRM, clock: teamcrm.SettableClock
) -> None:
    team_id, seqs = _team_with_events(crm, 2)
    nested: list[int] = []

    def handler(message: OutboxMessage) -> None:
        # Another worker (here: a nested call) finds the claim held.
        nested.append(crm.consume("mirror", lambda m: None, team_id=team_id))

    assert crm.consume("mirror", handler, team_id=team_id) == len(seqs)
    assert set(nested) == {0}
    # A worker that died holding a claim: the claim lapses after the lease.
    with crm.store.unit_of_work() as uow:
        assert uow.consumer_positions.claim(
            "stuck", team_id, token="dead", now=START, until=START + timedelta(minutes=5)
        ) == 0  # fmt: skip
        uow.commit()
    assert crm.consume("stuck", lambda m: None, team_id=team_id) == 0
    clock.advance(timedelta(minutes=5))
    assert crm.consume("stuck", lambda m: None, team_id=team_id) == len(seqs)
    # The dead worker's late advance is refused: its claim is gone.
    with crm.store.unit_of_work() as uow:
        assert not uow.consumer_positions.advance("stuck", team_id, token="dead", seq=1)
        uow.commit()
    assert crm.consumer_position("stuck", team_id=team_id) == seqs[-1]


def test_consume_checks_its_arguments(crm: teamcrm.CRM) -> None:
    team_id, _ = _team_with_events(crm, 1)
    with pytest.raises(ValidationError) as err:
        crm.consume("", print, team_id=team_id)
    assert err.value.field == "name"
    with pytest.raises(ValidationError) as err:
        crm.consume("x", print, team_id="nope")
    assert err.value.field == "team_id"
    with pytest.raises(ValidationError) as err:
        crm.consume("x", "not callable", team_id=team_id)  # type: ignore[arg-type]
    assert err.value.field == "handler"
    with pytest.raises(ValidationError) as err:
        crm.consume("x", print, team_id=team_id, batch=0)
    assert err.value.field == "batch"


# ------------------------------------------------------------ real processes
def _worker(url: str, team_id: str, last: int, out: str, start: Any, results: Any) -> None:
    try:
        crm = teamcrm.open(url)
        start.wait(30)
        with open(out, "w") as handled:

            def handler(message: OutboxMessage) -> None:
                ahead = crm.consumer_position("mirror", team_id=team_id) >= message.seq
                handled.write(json.dumps([message.seq, ahead]) + "\n")
                handled.flush()
                time.sleep(0.002)  # let the other worker try meanwhile

            deadline = time.monotonic() + 60
            while crm.consumer_position("mirror", team_id=team_id) < last:
                if time.monotonic() > deadline:
                    raise TimeoutError("the position never reached the last message")
                if crm.consume("mirror", handler, team_id=team_id, batch=5, max_batches=1) == 0:
                    time.sleep(0.005)
        crm.close()
        results.put(("ok", None))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def _two_workers(url: str, tmp_path: Path) -> None:
    crm = teamcrm.open(url)
    team_id, seqs = _team_with_events(crm, 30)
    crm.close()
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    outs = [str(tmp_path / f"worker{i}.jsonl") for i in range(2)]
    procs = [
        ctx.Process(target=_worker, args=(url, team_id, seqs[-1], out, start, results))
        for out in outs
    ]
    for p in procs:
        p.start()
    start.set()
    got = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
    assert [g[0] for g in got] == ["ok", "ok"], got
    rows = [json.loads(line) for out in outs for line in Path(out).read_text().splitlines()]
    handled = sorted(seq for seq, _ in rows)
    assert handled == seqs  # every event once: none skipped, none twice (no worker died)
    assert not any(ahead for _, ahead in rows)  # never advanced before the handler returned
    per_worker = [len(Path(out).read_text().splitlines()) for out in outs]
    assert sum(per_worker) == len(seqs)


@pytest.mark.slow
def test_two_worker_processes_share_a_consumer_on_sqlite(tmp_path: Path) -> None:
    _two_workers(f"sqlite:///{tmp_path / 'crm.db'}", tmp_path)


@pytest.mark.slow
def test_two_worker_processes_share_a_consumer_on_postgres(tmp_path: Path) -> None:
    with pg_support.schemas() as made:
        _two_workers(made.new(), tmp_path)


# ------------------------------------------------------------ notification channels
class ChatChannel:
    """A chat service as a notification channel (what an application writes)."""

    def __init__(self, handles: dict[str, str], *, down: bool = False) -> None:
        self.handles = handles
        self.down = down
        self.posts: list[tuple[str, list[str]]] = []

    def reaches(self, member: teamcrm.Member) -> bool:
        return member.active and member.id in self.handles

    def deliver(
        self,
        member: teamcrm.Member,
        notifications: Any,
        *,
        now: datetime,
        team_name: str | None,
    ) -> None:
        if self.down:
            raise ConnectionError("chat service down")
        self.posts.append((self.handles[member.id], [n.message for n in notifications]))


def test_an_application_channel_drains_the_notification_queue(crm: teamcrm.CRM) -> None:
    """A chat channel gets what a digest would carry; a failure leaves it queued."""
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = ana.add_member("Bob")
    web = ana.create_bucket("Web")
    ana.create_pool("Web", source_bucket_ids=[web.id], member_ids=[bob.id], method="round_robin")
    ana.create_contacts([{"first_name": "Kim"}], bucket_id=web.id)
    assert isinstance(ChatChannel({}), teamcrm.NotificationChannel)
    down = ChatChannel({bob.id: "@bob"}, down=True)
    report = crm.deliver_notifications(down)
    assert [f.member_id for f in report.failures] == [bob.id]
    chat = ChatChannel({bob.id: "@bob"})
    report = crm.deliver_notifications(chat)
    assert report.members_emailed == 1
    assert [(who, len(texts)) for who, texts in chat.posts] == [("@bob", 1)]
    assert "Kim" in chat.posts[0][1][0]
    assert crm.deliver_notifications(chat).notifications_sent == 0  # delivered once
    with pytest.raises(ValidationError) as err:
        crm.deliver_notifications(object())  # type: ignore[arg-type]
    assert err.value.field == "channel"
