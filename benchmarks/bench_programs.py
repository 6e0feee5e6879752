"""Benchmark: programs' due steps run by one worker, and enrolling in bulk, on SQLite files.

* ``programs_sqlite_steps_per_s``: 100,000 due steps (``--quick``: 4,000) -
  50,000 contacts enrolled in a program of two steps, a task then an email
  to a ``MemorySender`` - run by one worker (``crm.run_programs(limit=1000)``
  until nothing is due); every step is its own unit of work (claims are
  batched).
* ``programs_sqlite_same_statements_floor_per_s``: the floor the issue asks
  for, raw ``sqlite3`` doing the same claims and writes: every statement the
  worker ran (with its parameters) is recorded and replayed in order on a
  copy of the file taken before the run, with the store's connection
  settings; ``programs_sqlite_share_of_floor_pct`` is the library's rate as a
  percentage of it (target: at least 30).
* ``programs_bulk_enrol_10k_x``: adding 10,000 contacts (``--quick``: 2,000)
  to a bucket in one call when a program is attached to it (all of them are
  enrolled in the same unit), as a multiple of the same add without
  programs (target: at most 2).  The setup's WAL is checkpointed before
  each timed add, so neither arm pays for copying the contacts' pages.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_routing import _Recorder
from registry import Result, benchmark

import teamcrm
from teamcrm import MemorySender, Step, Trigger
from teamcrm.adapters.sqlite.connection import register_functions


def _team(path: Path) -> tuple[teamcrm.CRM, teamcrm.MemberSession]:
    crm = teamcrm.open(f"sqlite:///{path}")
    _, admin = crm.create_team("Bench", admin_name="Ana", admin_email="ana@example.com")
    return crm, crm.as_member(admin.id)


def _steps_per_s(path: Path, contacts: int) -> tuple[float, float]:
    """Steps per second of one worker, and of raw ``sqlite3`` replaying its statements."""
    crm, ana = _team(path)
    drip = ana.create_bucket("Drip", personal=True)
    ana.create_program(
        "Task then email",
        Trigger(kind="bucket_entered", bucket_id=drip.id),
        [
            Step(kind="create_task", days=1, text="Call"),
            Step(kind="send_email", subject="Hi {{ contact.first_name }}", body="Hello"),
        ],
    )
    drafts = [{"first_name": f"C{i}", "emails": [f"c{i}@example.com"]} for i in range(contacts)]
    ids = [c.id for c in ana.create_contacts(drafts)]
    ana.add_to_bucket(drip.id, ids)
    crm.close()  # the close checkpoints: the copy holds everything
    copy = path.with_name(path.stem + "-replay.db")
    shutil.copy(path, copy)
    original = sqlite3.connect

    def recording_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return original(*args, **{**kwargs, "factory": _Recorder})

    sqlite3.connect = recording_connect  # type: ignore[assignment]
    try:
        crm = teamcrm.open(f"sqlite:///{path}")
        sender = MemorySender()
        _Recorder.log.clear()
        _Recorder.recording = True
        started = time.perf_counter()
        ran = 0
        while True:
            report = crm.run_programs(limit=1000, sender=sender)
            ran += report.ran
            if report.claimed == 0:
                break
        elapsed = time.perf_counter() - started
        _Recorder.recording = False
        crm.close()
    finally:
        sqlite3.connect = original  # type: ignore[assignment]
    assert ran == 2 * contacts, ran
    assert len(sender.sent) == contacts, len(sender.sent)
    log, _Recorder.log = _Recorder.log, []
    return ran / elapsed, ran / _replay(copy, log)


def _replay(path: Path, log: list[tuple[str, str, Any]]) -> float:
    """Seconds raw ``sqlite3`` takes to run *log* on *path* (the store's settings)."""
    conn = sqlite3.connect(path, isolation_level=None)
    register_functions(conn)  # the triggers' Python functions (name folding)
    for pragma in (
        "PRAGMA journal_mode = WAL",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA foreign_keys = ON",
        "PRAGMA temp_store = MEMORY",
        "PRAGMA cache_size = -16000",
    ):
        conn.execute(pragma)
    started = time.perf_counter()
    for kind, sql, params in log:
        if sql.startswith("PRAGMA query_only"):
            continue  # the store's read-only connection: the replay runs all on one
        if kind == "one":
            conn.execute(sql, params).fetchall()
        else:
            conn.executemany(sql, params)
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def _bulk_add_s(path: Path, contacts: int, *, with_program: bool) -> float:
    crm, ana = _team(path)
    inbox = ana.create_bucket("Inbox")
    shared = ana.create_bucket("Shared")
    if with_program:
        ana.create_program(
            "Share",
            Trigger(kind="bucket_entered", bucket_id=inbox.id),
            [Step(kind="add_to_bucket", bucket_id=shared.id)],
        )
    ids = [c.id for c in ana.create_contacts([{"first_name": f"C{i}"} for i in range(contacts)])]
    # The setup's WAL pages (the contacts) are checkpointed now, in both arms: else
    # the timed commit that crosses the store's autocheckpoint (4,000 pages) pays
    # for copying the setup's pages - the add with programs writes more, so it did.
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    raw.close()
    started = time.perf_counter()
    ana.add_to_bucket(inbox.id, ids)
    elapsed = time.perf_counter() - started
    crm.close()
    return elapsed


def run(quick: bool) -> list[Result]:
    """Measure both figures on fresh SQLite files."""
    with tempfile.TemporaryDirectory(prefix="teamcrm-bench-programs-") as tmp:
        here = Path(tmp)
        steps, floor = _steps_per_s(here / "steps.db", 2_000 if quick else 50_000)
        n = 2_000 if quick else 10_000
        without = min(_bulk_add_s(here / f"plain{i}.db", n, with_program=False) for i in range(3))
        with_ = min(_bulk_add_s(here / f"prog{i}.db", n, with_program=True) for i in range(3))
    return [
        Result("programs_sqlite_steps_per_s", steps, "steps/s"),
        Result("programs_sqlite_same_statements_floor_per_s", floor, "steps/s"),
        Result("programs_sqlite_share_of_floor_pct", 100 * steps / floor, "%"),
        Result("programs_bulk_enrol_10k_x", with_ / without, "x"),
    ]


benchmark("programs", "program steps run by one worker; bulk enrolment cost (SQLite)")(run)
