"""Helpers for the multi-process race tests: stores, workers, and invariant checks.

Workers are real OS processes (``spawn``) that open their own store on the
same SQLite file or PostgreSQL schema.  :func:`run_workers` starts them,
releases them together through a barrier and collects one result each.

:func:`violations` reads the database directly (the same SQL on SQLite and
PostgreSQL) and returns every broken invariant, as text, so a failing test
shows exactly which rows are wrong.
"""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

import pg_support

STORES = ["sqlite", "postgresql"]

INBOUND = "Routed leads"


@contextmanager
def store_url(kind: str, tmp_path: Path, *, fresh: bool = False) -> Iterator[str]:
    """Yield a URL of an empty store of *kind* (``sqlite`` file or ``postgresql`` schema).

    *fresh*: a PostgreSQL schema without tables (not one emptied for reuse).
    """
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'race.db'}"
        return
    with pg_support.schemas() as made:
        yield made.fresh() if fresh else made.new()


def _entry(target: Callable[..., Any], args: tuple[Any, ...], barrier: Any, results: Any) -> None:
    try:
        results.put(("ok", target(*args, barrier)))
    except BaseException as exc:
        traceback.print_exc()
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def run_workers(
    jobs: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]], *, timeout: float = 180
) -> list[Any]:
    """Run each ``target(*args, barrier)`` of *jobs* in a process of its own; return the results.

    *barrier* is a ``multiprocessing.Barrier`` shared by all of them (call
    ``barrier.wait()`` to start a step together).  Results come back in the
    order of *jobs*; any worker error fails the test with the worker's message.
    """
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(jobs))
    queues = [ctx.Queue() for _ in jobs]
    procs = [
        ctx.Process(target=_entry, args=(target, tuple(args), barrier, q))
        for (target, args), q in zip(jobs, queues, strict=True)
    ]
    for p in procs:
        p.start()
    out = [q.get(timeout=timeout) for q in queues]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    errors = [r for r in out if r[0] != "ok"]
    assert not errors, errors
    return [r[1] for r in out]


class Reader:
    """Runs read-only SQL on a store's database (``?`` placeholders on both stores)."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            self._sqlite: sqlite3.Connection | None = sqlite3.connect(
                url.removeprefix("sqlite:///")
            )
            self._pg: psycopg.Connection[Any] | None = None
        else:
            self._sqlite = None
            self._pg = psycopg.connect(url)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Return every row of *sql*."""
        if self._sqlite is not None:
            return [tuple(r) for r in self._sqlite.execute(sql, params).fetchall()]
        assert self._pg is not None
        out = self._pg.execute(sql.replace("?", "%s"), params).fetchall()
        self._pg.rollback()
        return [tuple(r) for r in out]

    def close(self) -> None:
        """Close the connection."""
        if self._sqlite is not None:
            self._sqlite.close()
        if self._pg is not None:
            self._pg.close()


# Each check: (what it means, SQL returning the offending rows).
CHECKS: dict[str, str] = {
    "a team without an active admin": (
        "SELECT t.id FROM teams t WHERE NOT EXISTS (SELECT 1 FROM members m"
        " WHERE m.team_id = t.id AND m.role = 'admin' AND m.active = 1)"
    ),
    "a member with more than one personal 'Routed leads' bucket": (
        "SELECT owner_id, COUNT(*) FROM buckets WHERE kind = 'personal'"
        f" AND name = '{INBOUND}' GROUP BY owner_id HAVING COUNT(*) > 1"
    ),
    "an inbound bucket row naming a deleted bucket": (
        "SELECT i.member_id, i.bucket_id FROM inbound_buckets i"
        " WHERE NOT EXISTS (SELECT 1 FROM buckets b WHERE b.id = i.bucket_id)"
    ),
    "a membership of a deleted bucket": (
        "SELECT m.bucket_id, m.item_id FROM memberships m"
        " WHERE NOT EXISTS (SELECT 1 FROM buckets b WHERE b.id = m.bucket_id)"
    ),
    "a membership of a deleted contact": (
        "SELECT m.bucket_id, m.item_id FROM memberships m WHERE substr(m.item_id, 1, 3) = 'ct_'"
        " AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = m.item_id)"
    ),
    "a membership of a deleted company": (
        "SELECT m.bucket_id, m.item_id FROM memberships m WHERE substr(m.item_id, 1, 3) = 'co_'"
        " AND NOT EXISTS (SELECT 1 FROM companies c WHERE c.id = m.item_id)"
    ),
    "a contact linked to a deleted company": (
        "SELECT l.contact_id, l.company_id FROM contact_companies l"
        " WHERE NOT EXISTS (SELECT 1 FROM companies c WHERE c.id = l.company_id)"
    ),
    "an open lead of a deleted contact": (
        "SELECT l.id, l.contact_id FROM leads l WHERE l.is_open = 1"
        " AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = l.contact_id)"
    ),
    # (an all_can_accept lead keeps the offers not answered yet while it is co-owned,
    # and after a co-owner's rejection: see teamcrm.multi_assign.may_hold_open_offers)
    "an open offer of a lead that is not offered": (
        "SELECT o.id, o.lead_id, l.status FROM offers o JOIN leads l ON l.id = o.lead_id"
        " WHERE o.status = 'open' AND l.status <> 'offered' AND NOT (l.is_open = 1 AND ("
        """substr(l.explanation, 1, 26) = '{"method":"all_can_accept"'"""
        """ OR substr(l.explanation, 1, 18) = '{"method":"reject"'))"""
    ),
    "an offer of a missing lead": (
        "SELECT o.id FROM offers o WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = o.lead_id)"
    ),
    "two open leads of one contact in one pool": (
        "SELECT team_id, pool_key, contact_id, COUNT(*) FROM leads WHERE is_open = 1"
        " GROUP BY team_id, pool_key, contact_id HAVING COUNT(*) > 1"
    ),
}


def violations(url: str, *, skip: Sequence[str] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Return the broken invariants of the database at *url*: {what: offending rows}."""
    reader = Reader(url)
    try:
        found: dict[str, list[tuple[Any, ...]]] = {}
        for what, sql in CHECKS.items():
            if what in skip:
                continue
            rows = reader.rows(sql)
            if rows:
                found[what] = rows
        return found
    finally:
        reader.close()
