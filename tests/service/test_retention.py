"""Outbox retention (issue 17): ``CRM.prune_events`` and ``teamcrm prune-events``.

On ``memory://``, SQLite and PostgreSQL: events older than the retention
period that every registered consumer of their team has handled are
deleted; an event a consumer has not handled is kept however old; a team
without consumers is pruned by age alone.  On SQLite the file stops growing
when a steady stream of events is consumed and pruned.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import pg_support
import teamcrm
from teamcrm import ValidationError
from teamcrm.cli import main
from teamcrm.events import DomainEvent, EventName
from teamcrm.ids import TeamId

DAY = timedelta(days=1)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def crm(
    request: pytest.FixtureRequest, tmp_path: Path, clock: teamcrm.SettableClock
) -> Iterator[teamcrm.CRM]:
    """A CRM on each store (PostgreSQL when a test server is configured)."""
    if request.param == "postgres":
        with pg_support.crm(clock) as c:
            yield c
        return
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'crm.db'}"
    c = teamcrm.open(url, clock=clock)
    yield c
    c.close()


def _emit(crm: teamcrm.CRM, team_id: TeamId, count: int, *, size: int = 10) -> None:
    """Append *count* events of the team, occurred now, straight through a unit of work."""
    now = crm.now()
    events = [
        DomainEvent(
            name=EventName.CONTACT_UPDATED,
            team_id=team_id,
            subject_id=f"ct_{i}",
            occurred_at=now,
            data={"note": "x" * size},
        )
        for i in range(count)
    ]
    with crm.store.unit_of_work() as uow:
        uow.collect(*events)
        uow.commit()


def _seqs(crm: teamcrm.CRM, team_id: TeamId) -> list[int]:
    with crm.store.unit_of_work(write=False) as uow:
        return [m.seq for m in uow.outbox.read(team_id, 0, 1_000_000)]


def _fail(message: object) -> None:
    raise RuntimeError("not yet")


def test_old_events_every_consumer_handled_are_pruned(
    crm: teamcrm.CRM, clock: teamcrm.SettableClock
) -> None:
    team, _ = crm.create_team("Acme", admin_name="Ana")
    _emit(crm, team.id, 6)
    old = _seqs(crm, team.id)
    clock.advance(40 * DAY)
    _emit(crm, team.id, 3)
    young = _seqs(crm, team.id)[len(old) :]
    # "audit" handled 5 of the old events, "index" every event.
    assert crm.consume("audit", lambda m: None, team_id=team.id, batch=5, max_batches=1) == 5
    assert crm.consume("index", lambda m: None, team_id=team.id) == len(old) + 3
    assert crm.prune_events(older_than=30 * DAY) == 5
    assert _seqs(crm, team.id) == old[5:] + young
    crm.consume("audit", lambda m: None, team_id=team.id)
    assert crm.prune_events(older_than=30 * DAY, team_id=team.id) == len(old) - 5
    assert _seqs(crm, team.id) == young  # younger than 30 days: kept though handled
    # Consumers resume where they stopped.
    _emit(crm, team.id, 2)
    assert crm.consume("audit", lambda m: None, team_id=team.id) == 2


def test_events_a_consumer_has_not_consumed_are_kept(
    crm: teamcrm.CRM, clock: teamcrm.SettableClock
) -> None:
    team, _ = crm.create_team("Acme", admin_name="Ana")
    _emit(crm, team.id, 4)
    before = _seqs(crm, team.id)
    with pytest.raises(RuntimeError):
        crm.consume("slow", _fail, team_id=team.id)  # registered, still at 0
    clock.advance(400 * DAY)
    assert crm.prune_events(older_than=DAY) == 0
    assert _seqs(crm, team.id) == before
    seen: list[int] = []
    assert crm.consume("slow", lambda m: seen.append(m.seq), team_id=team.id) == len(before)
    assert seen == before


def test_a_team_without_consumers_is_pruned_by_age_alone(
    crm: teamcrm.CRM, clock: teamcrm.SettableClock
) -> None:
    a, _ = crm.create_team("A", admin_name="Ana")
    b, _ = crm.create_team("B", admin_name="Bo")
    _emit(crm, a.id, 3)
    _emit(crm, b.id, 3)
    with pytest.raises(RuntimeError):
        crm.consume("slow", _fail, team_id=b.id)
    clock.advance(10 * DAY)
    _emit(crm, a.id, 1)
    a_events = _seqs(crm, a.id)
    b_events = _seqs(crm, b.id)
    # team A: no consumer, every event older than 5 days goes (its creation events too)
    assert crm.prune_events(older_than=5 * DAY) == len(a_events) - 1
    assert _seqs(crm, a.id) == a_events[-1:]
    assert _seqs(crm, b.id) == b_events


def test_prune_events_checks_its_arguments(crm: teamcrm.CRM) -> None:
    with pytest.raises(ValidationError, match="older_than"):
        crm.prune_events(older_than=-DAY)
    with pytest.raises(ValidationError, match="older_than"):
        crm.prune_events(older_than=30)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="team_id"):
        crm.prune_events(older_than=DAY, team_id=TeamId("nope"))
    with pytest.raises(ValidationError, match="now"):
        crm.prune_events(older_than=DAY, now="today")  # type: ignore[arg-type]


def test_prune_events_logs_the_count(
    crm: teamcrm.CRM, clock: teamcrm.SettableClock, caplog: pytest.LogCaptureFixture
) -> None:
    team, _ = crm.create_team("Acme", admin_name="Ana")
    _emit(crm, team.id, 3)
    total = len(_seqs(crm, team.id))
    with caplog.at_level(logging.INFO, logger="teamcrm.store"):
        assert crm.prune_events(older_than=DAY, now=crm.now() + 2 * DAY) == total
    assert any(
        r.name == "teamcrm.store" and r.levelno == logging.INFO and f"pruned: {total} " in r.message
        for r in caplog.records
    )


def test_prune_runs_in_batches(
    crm: teamcrm.CRM, clock: teamcrm.SettableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from teamcrm.service import retention

    monkeypatch.setattr(retention, "PRUNE_BATCH", 4)
    team, _ = crm.create_team("Acme", admin_name="Ana")
    _emit(crm, team.id, 10)
    total = len(_seqs(crm, team.id))
    clock.advance(2 * DAY)
    assert crm.prune_events(older_than=DAY) == total
    assert _seqs(crm, team.id) == []


def _pages(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    finally:
        conn.close()
    return int(pages), int(pages - free)


def _grow(tmp_path: Path, clock: teamcrm.SettableClock, *, prune: bool) -> list[tuple[int, int]]:
    """Write 12 days of events (consumed each day); return (pages, live pages) per day."""
    path = tmp_path / ("pruned.db" if prune else "kept.db")
    sizes = []
    with teamcrm.open(f"sqlite:///{path}", clock=clock) as crm:
        team, _ = crm.create_team("Acme", admin_name="Ana")
        for _day in range(12):
            for _ in range(4):
                _emit(crm, team.id, 250, size=200)
            crm.consume("audit", lambda m: None, team_id=team.id, batch=1000)
            if prune:
                crm.prune_events(older_than=2 * DAY)
            clock.advance(DAY)
            sizes.append(_pages(path))
    return sizes


def test_the_sqlite_file_stops_growing_with_history(
    tmp_path: Path, clock: teamcrm.SettableClock
) -> None:
    pruned = _grow(tmp_path, clock, prune=True)
    # Three days of events are kept at most: live pages stay bounded, and the
    # pages freed by pruning are reused, so the file stops growing.
    live = [live for _pages_, live in pruned]
    assert max(live[4:]) <= 1.2 * live[3]
    pages = [p for p, _live in pruned]
    assert pages[-1] <= 1.2 * pages[4]
    kept = _grow(tmp_path, clock, prune=False)
    assert kept[-1][1] > 2.5 * pruned[-1][1]  # without pruning it grows with history


def test_cli_prune_events(
    tmp_path: Path, clock: teamcrm.SettableClock, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "crm.db"
    with teamcrm.open(f"sqlite:///{path}", clock=clock) as crm:
        team, _ = crm.create_team("Acme", admin_name="Ana")
        _emit(crm, team.id, 5)
        total = len(_seqs(crm, team.id))
    # the events occurred at the fixed clock's time, long before today
    assert main(["prune-events", "--db", str(path), "--older-than", "30"]) == 0
    assert f"pruned {total} outbox events older than 30 days" in capsys.readouterr().out
    with teamcrm.open(f"sqlite:///{path}", clock=clock) as crm:
        assert _seqs(crm, team.id) == []
    assert main(["prune-events", "--db", str(path), "--older-than", "1", "--team", "x"]) == 1
    assert "team_id" in capsys.readouterr().err
    assert main(["prune-events", "--db", str(tmp_path / "none.db"), "--older-than", "1"]) == 1
    assert not (tmp_path / "none.db").exists()
    with pytest.raises(SystemExit) as exc:
        main(["prune-events", "--db", str(path), "--older-than", "-1"])
    assert exc.value.code == 2
