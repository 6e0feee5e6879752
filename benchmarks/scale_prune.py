"""File size and peak memory of the scale data set before and after ``prune_events``.

Not a benchmark itself: ``bench_scale.py`` calls :func:`prune_figures` on
its largest team.  The fast builder writes no history, so first one
``contact.created`` event per contact is added to the outbox, as the library
writes it (its JSON, at the contact's creation instant, by Ana).  Then:

* the file size and the outbox's share of it (``dbstat``);
* the peak RSS of a fresh process that opens the store and makes a few
  per-record calls (search by name, a contact record, a follow-ups page), and
  of one that runs ``crm.prune_events(older_than=30 days)`` (every event is
  older), with its time: each a child process, whose own high-water mark
  (``VmHWM``) is read (``ru_maxrss`` keeps the parent's size at ``fork``: a
  run that built the 1,000,000-contact file in-process reported 1,208 MB);
* the file size, the outbox's share and the free pages after pruning (SQLite
  keeps the file and reuses the freed pages for later writes).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from scale_data import World, hex_id

from teamcrm.adapters.sqlite.codec import to_micros
from teamcrm.adapters.sqlite.connection import register_functions

__all__ = ["add_history", "prune_figures"]

_MB = 1024 * 1024

_CHILD = """
import json, sys, time
from datetime import timedelta
import teamcrm
from peak_memory import peak_kib
from scale_data import NOW


def peak_mb():
    return peak_kib() / 1024


path, mode, bob, cid = sys.argv[1:5]
crm = teamcrm.open("sqlite:///" + path, clock=teamcrm.SettableClock(NOW))
out = {"open_rss_mb": peak_mb()}
t0 = time.perf_counter()
if mode == "prune":
    out["pruned"] = crm.prune_events(older_than=timedelta(days=30))
else:
    s = crm.as_member(bob)
    s.search(name="first1 last", limit=50)
    s.contact_record(cid)
    s.follow_ups(bob, at=NOW, limit=50)
out["seconds"] = time.perf_counter() - t0
out["peak_rss_mb"] = peak_mb()
crm.close()
print(json.dumps(out))
"""


def add_history(path: Path, w: World, size: int) -> None:
    """Add one ``contact.created`` event per contact of the bulk, as the library writes it."""
    from scale_data import _contact, _created_at  # the builder's own rows

    def events() -> Iterator[tuple[object, ...]]:
        for i in range(size):
            at = _created_at(i)
            c = _contact(i, size)
            cid = hex_id("ct_", i)
            event = {
                "name": "contact.created",
                "team_id": w.team,
                "subject_id": cid,
                "occurred_at": at.isoformat(),
                "actor_id": w.ana,
                "data": {"source": c["source"], "status": c["status"]},
            }
            yield (
                w.team,
                "contact.created",
                cid,
                to_micros(at),
                json.dumps(event, separators=(",", ":")),
            )

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        register_functions(conn)
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO outbox (team_id, name, subject_id, occurred_at, event)"
            " VALUES (?, ?, ?, ?, ?)",
            events(),
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


def _sizes(path: Path) -> dict[str, float]:
    conn = sqlite3.connect(path)
    try:
        outbox = conn.execute(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'outbox%'"
        ).fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    return {
        "file_mb": path.stat().st_size / _MB,
        "outbox_mb": outbox / _MB,
        "free_mb": free * page / _MB,
    }


def _child(path: Path, mode: str, w: World) -> dict[str, float]:
    here = str(Path(__file__).resolve().parent)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {here!r})\n" + _CHILD,
            str(path),
            mode,
            w.bob,
            hex_id("ct_", 1),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def prune_figures(path: Path, w: World, size: int) -> dict[str, float]:
    """The figures of the module docstring for the store at *path* (left pruned)."""
    add_history(path, w, size)
    out: dict[str, float] = {}
    for key, value in _sizes(path).items():
        out[f"before_{key}"] = value
    calls = _child(path, "calls", w)
    out["calls_peak_rss_mb"] = calls["peak_rss_mb"]
    out["open_rss_mb"] = calls["open_rss_mb"]
    prune = _child(path, "prune", w)
    out["prune_peak_rss_mb"] = prune["peak_rss_mb"]
    out["prune_s"] = prune["seconds"]
    out["pruned"] = prune["pruned"]
    for key, value in _sizes(path).items():
        out[f"after_{key}"] = value
    calls = _child(path, "calls", w)
    out["after_calls_peak_rss_mb"] = calls["peak_rss_mb"]
    return out
