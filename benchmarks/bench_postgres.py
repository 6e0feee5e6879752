"""Benchmark: routing leads through one round-robin pool on PostgreSQL, from 1, 2 and 4 processes.

Reports ``route_postgres_leads_per_s_p1``, ``_p2`` and ``_p4``: 10,000
contacts (``--quick``: 400) of one team are added to the source bucket of
one round-robin pool of 5 members, one ``add_to_bucket`` call (one unit of
work: membership, routing turn, lead, notification, inbound bucket, outbox)
per contact, split evenly across 1, 2 and 4 processes; the time runs from
the moment every process is connected until the last one is done.  Also
``route_postgres_p4_over_p1`` (the ratio) and, for contrast,
``route_postgres_leads_per_s_p4_pools``: the same leads from 4 processes,
each routing into a round-robin pool of its own (same team, same members).

Every unit of one pool takes the pool's cursor row ``FOR UPDATE``, so the
routing turns themselves are serial; see ``docs/benchmarks.md``.

Needs ``TEAMCRM_BENCH_POSTGRES_URL`` (or ``TEAMCRM_TEST_POSTGRES_URL``): a
database where it may create (and then drops) a schema.  Without one it
prints a line and reports nothing.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import secrets
import sys
import time
from typing import Any

import psycopg
from registry import Result, benchmark

import teamcrm

MEMBERS = 5
ENVS = ("TEAMCRM_BENCH_POSTGRES_URL", "TEAMCRM_TEST_POSTGRES_URL")


def _server() -> str | None:
    for name in ENVS:
        url = os.environ.get(name, "").strip()
        if url:
            return url
    return None


def _worker(url: str, admin_id: str, bucket_id: str, ids: list[str], go: Any, done: Any) -> None:
    crm = teamcrm.open(url)
    session = crm.as_member(admin_id)
    session.contact(ids[0])  # connected and warm before the clock starts
    done.put("ready")
    go.wait(120)
    for cid in ids:
        session.add_to_bucket(bucket_id, cid)
    crm.close()
    done.put("done")


def _rate(server: str, n: int, processes: int, pools: int = 1) -> float:
    schema = f"teamcrm_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema}"
    try:
        crm = teamcrm.open(url)
        _, admin = crm.create_team("Bench", admin_name="Ana")
        ana = crm.as_member(admin.id)
        members = [ana.add_member(f"M{i}", role="agent").id for i in range(MEMBERS)]
        buckets = [ana.create_bucket(f"Web leads {i}").id for i in range(pools)]
        for i, bucket_id in enumerate(buckets):
            ana.create_pool(
                f"Web {i}", source_bucket_ids=[bucket_id], member_ids=members, method="round_robin"
            )
        ids = [c.id for c in ana.create_contacts([{"first_name": f"C{i}"} for i in range(n)])]
        ctx = mp.get_context("spawn")
        go, done = ctx.Event(), ctx.Queue()
        procs = [
            ctx.Process(
                target=_worker,
                args=(url, admin.id, buckets[i % pools], ids[i::processes], go, done),
            )
            for i in range(processes)
        ]
        for p in procs:
            p.start()
        for _ in procs:
            assert done.get(timeout=120) == "ready"
        started = time.perf_counter()
        go.set()
        for _ in procs:
            assert done.get(timeout=600) == "done"
        elapsed = time.perf_counter() - started
        for p in procs:
            p.join(60)
        assert len(ana.leads(pool_id=None)) >= n
        crm.close()
        return n / elapsed
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@benchmark(
    "route_postgres",
    "one round-robin pool on PostgreSQL: leads/s routed from 1, 2 and 4 processes",
)
def route_postgres(quick: bool) -> list[Result]:
    """Leads routed per second from 1, 2 and 4 processes into one pool."""
    server = _server()
    if server is None:
        print(f"# route_postgres skipped: set {ENVS[0]} to a postgresql:// URL", file=sys.stderr)
        return []
    n = 400 if quick else 10_000
    rates = {p: _rate(server, n, p) for p in (1, 2, 4)}
    return [
        *(Result(f"route_postgres_leads_per_s_p{p}", r, "leads/s") for p, r in rates.items()),
        Result("route_postgres_p4_over_p1", rates[4] / rates[1], "x"),
        Result("route_postgres_leads_per_s_p4_pools", _rate(server, n, 4, pools=4), "leads/s"),
    ]
