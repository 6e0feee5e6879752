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

``route_postgres_round_trips_per_lead`` counts the round trips the
single-process run made per lead (a statement sent alone, an
``executemany`` or a pipeline of statements: one each).

**Far from the database** (issue 17): the same routing again through a
:class:`~latency_proxy.LatencyProxy` that adds about 1 ms to every round
trip (``route_postgres_far_rtt_ms`` is the ``SELECT 1`` round trip measured
through it before the runs), with 2,000 leads (``--quick``: 200):
``_far_leads_per_s_p1`` from one process, ``_far_leads_per_s_p8_pools`` from
8 processes each routing into a pool of its own, and their ratio
``_far_p8_pools_over_p1`` (target at least 5: the processes wait on the
network, not on the 2 cores); ``_far_leads_per_s_p8_one_pool`` from 8
processes into one pool (the pool's ceiling) and ``_far_lock_hold_ms``, the
median time a unit holds the pool's cursor lock there (``_p1``: alone).

Needs ``TEAMCRM_BENCH_POSTGRES_URL`` (or ``TEAMCRM_TEST_POSTGRES_URL``): a
database where it may create (and then drops) a schema.  Without one it
prints a line and reports nothing.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import secrets
import statistics
import sys
import time
from collections.abc import Iterator
from typing import Any

import attrs
import psycopg
from latency_proxy import LatencyProxy
from registry import Result, benchmark

import teamcrm

MEMBERS = 5
#: Seconds the proxy holds each chunk, each way: about 1 ms more per round trip.
FAR_DELAY = 0.0005
ENVS = ("TEAMCRM_BENCH_POSTGRES_URL", "TEAMCRM_TEST_POSTGRES_URL")


def _server() -> str | None:
    for name in ENVS:
        url = os.environ.get(name, "").strip()
        if url:
            return url
    return None


def _instrument() -> dict[str, Any]:
    """Count this process's round trips and time how long each unit holds a pool's cursor lock.

    The lock is held from the moment the round trip holding ``SELECT ... FROM
    routing_cursors ... FOR UPDATE`` returns (granted) until the round trip
    holding ``COMMIT`` returns, seen from the client (either may be a
    pipeline of several statements): about what the server holds it, give or
    take one round trip.
    """
    stats: dict[str, Any] = {"trips": 0, "holds": []}
    execute, executemany = psycopg.Connection.execute, psycopg.Cursor.executemany
    pipeline = psycopg.Connection.pipeline
    locked: list[float] = []
    depth = [0]  # inside a pipeline its statements travel together: one trip
    sending = {"lock": False, "commit": False}  # what the round trip on its way holds

    def returned() -> None:
        now = time.perf_counter()
        if sending["lock"]:
            locked.append(now)  # granted: the round trip returned
        if sending["commit"] and locked:
            stats["holds"].append(now - locked.pop())
            locked.clear()
        sending["lock"] = sending["commit"] = False

    def counted_execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        stats["trips"] += depth[0] == 0
        text = str(query)
        if "FROM routing_cursors" in text and "FOR UPDATE" in text:
            sending["lock"] = True
        elif text == "COMMIT":
            sending["commit"] = True
        result = execute(self, query, params, **kw)
        if depth[0] == 0:
            returned()
        return result

    def counted_executemany(self: Any, query: Any, rows: Any, **kw: Any) -> Any:
        stats["trips"] += depth[0] == 0  # psycopg 3 sends the rows in one pipeline
        depth[0] += 1
        try:
            return executemany(self, query, rows, **kw)
        finally:
            depth[0] -= 1

    @contextlib.contextmanager
    def counted_pipeline(self: Any) -> Iterator[Any]:
        stats["trips"] += depth[0] == 0
        depth[0] += 1
        try:
            with pipeline(self) as sent:
                yield sent
        finally:
            depth[0] -= 1
            if depth[0] == 0:
                returned()

    psycopg.Connection.execute = counted_execute  # type: ignore[method-assign]
    psycopg.Cursor.executemany = counted_executemany  # type: ignore[method-assign,assignment]
    psycopg.Connection.pipeline = counted_pipeline  # type: ignore[method-assign,assignment]
    return stats


def _worker(url: str, admin_id: str, bucket_id: str, ids: list[str], go: Any, done: Any) -> None:
    crm = teamcrm.open(url)
    session = crm.as_member(admin_id)
    session.contact(ids[0])  # connected and warm before the clock starts
    stats = _instrument()
    done.put("ready")
    go.wait(120)
    stats["trips"] = 0
    for cid in ids:
        session.add_to_bucket(bucket_id, cid)
    crm.close()
    done.put(("done", stats["trips"], stats["holds"]))


@attrs.frozen
class Run:
    """One timed run: leads per second, round trips per lead, median lock hold (ms)."""

    rate: float
    trips_per_lead: float
    hold_ms: float


def _rate(server: str, n: int, processes: int, pools: int = 1, *, via: str | None = None) -> Run:
    """Route *n* leads from *processes* processes into *pools* pools (via a URL, if given)."""
    schema = f"teamcrm_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema}"
    far = url if via is None else via + url[len(server) :]
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
                args=(far, admin.id, buckets[i % pools], ids[i::processes], go, done),
            )
            for i in range(processes)
        ]
        for p in procs:
            p.start()
        for _ in procs:
            assert done.get(timeout=120) == "ready"
        started = time.perf_counter()
        go.set()
        trips, holds = 0, []
        for _ in procs:
            word, worker_trips, worker_holds = done.get(timeout=1200)
            assert word == "done"
            trips += worker_trips
            holds += worker_holds
        elapsed = time.perf_counter() - started
        for p in procs:
            p.join(60)
        assert len(ana.leads(pool_id=None)) >= n
        crm.close()
        return Run(n / elapsed, trips / n, statistics.median(holds) * 1000 if holds else 0.0)
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
    runs = {p: _rate(server, n, p) for p in (1, 2, 4)}
    rates = {p: run.rate for p, run in runs.items()}
    return [
        *(Result(f"route_postgres_leads_per_s_p{p}", r, "leads/s") for p, r in rates.items()),
        Result("route_postgres_p4_over_p1", rates[4] / rates[1], "x"),
        Result("route_postgres_leads_per_s_p4_pools", _rate(server, n, 4, pools=4).rate, "leads/s"),
        Result("route_postgres_round_trips_per_lead", runs[1].trips_per_lead, "trips"),
        *_far(server, 200 if quick else 2_000),
    ]


def _round_trip_ms(url: str) -> float:
    """The median ``SELECT 1`` round trip to *url*, in milliseconds."""
    with psycopg.connect(url, autocommit=True) as conn:
        times = []
        for _ in range(50):
            start = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _far(server: str, n: int) -> list[Result]:
    """The same routing with about 1 ms between the processes and the database (a proxy)."""
    host, port = LatencyProxy.target_of(server)
    with LatencyProxy(host, port, delay=FAR_DELAY) as proxy:
        via = proxy.rewrite(server)
        rtt = _round_trip_ms(via)  # before the runs: the distance itself, not the load
        one = _rate(server, n, 1, via=via)
        eight_pools = _rate(server, n, 8, pools=8, via=via)
        one_pool = _rate(server, n, 8, pools=1, via=via)
    return [
        Result("route_postgres_far_rtt_ms", rtt, "ms"),
        Result("route_postgres_far_leads_per_s_p1", one.rate, "leads/s"),
        Result("route_postgres_far_leads_per_s_p8_pools", eight_pools.rate, "leads/s"),
        Result("route_postgres_far_p8_pools_over_p1", eight_pools.rate / one.rate, "x"),
        Result("route_postgres_far_leads_per_s_p8_one_pool", one_pool.rate, "leads/s"),
        Result("route_postgres_far_lock_hold_ms", one_pool.hold_ms, "ms"),
        Result("route_postgres_far_lock_hold_ms_p1", one.hold_ms, "ms"),
    ]
