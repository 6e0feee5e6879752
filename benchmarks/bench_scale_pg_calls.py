"""Benchmark: round trips and time of five per-record calls on PostgreSQL (issue 17).

The calls of ``bench_scale`` that stayed over 5 ms on PostgreSQL with a flat
cost (``log_interaction``, ``update_contact``, ``route_one_lead``,
``dashboard_page``, ``follow_ups_page``), on the same data set
(:func:`scale_data.build_postgres`, 10,000 and 100,000 contacts, each in a
schema of its own that is dropped afterwards), as the agent Bob and the admin
Ana.  For each call it counts the round trips and statements of one call
(a psycopg pipeline is one round trip) and times *repeat* more (15 with
``--quick``, else 31), and prints ``scale_pg_calls_<call>_<role>_<size>_trips``,
``..._statements``, ``..._ms`` (median) and ``..._min_ms``.  The minimum is
the figure to compare on a shared machine: the median moves with the load.

Needs a server (``TEAMCRM_BENCH_POSTGRES_URL`` or ``TEAMCRM_TEST_POSTGRES_URL``,
as for ``scale``); prints nothing without one.
"""

from __future__ import annotations

import secrets
import statistics
import sys
import time

from bench_scale import PG_SIZES, _calls, _label, _pg_server
from registry import Result, benchmark
from scale_data import NOW, ROUTE_SPARE, build_postgres

import teamcrm
from teamcrm.testing.round_trips import counting_round_trips

#: The calls measured (as in ``bench_scale``).
CALLS = ("log_interaction", "update_contact", "route_one_lead", "dashboard_page", "follow_ups_page")


def _measure(server: str, size: int, repeat: int) -> list[Result]:
    import psycopg

    schema = f"teamcrm_bench_scale_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema}"
    out: list[Result] = []
    try:
        w = build_postgres(url, size)
        with teamcrm.open(url, clock=teamcrm.SettableClock(NOW)) as crm:
            spare = list(range(size, size + ROUTE_SPARE))
            for role, member in (("agent", w.bob), ("admin", w.ana)):
                session = crm.as_member(member)  # type: ignore[arg-type]
                calls = _calls(session, w, size, spare, admin=role == "admin")
                for name in CALLS:
                    if name not in calls:
                        continue
                    call = calls[name]
                    call()  # warm
                    with counting_round_trips() as trips:
                        call()
                    times = []
                    for _ in range(repeat):
                        t0 = time.perf_counter()
                        call()
                        times.append((time.perf_counter() - t0) * 1000)
                    head = f"scale_pg_calls_{name}_{role}_{_label(size)}"
                    out += [
                        Result(f"{head}_trips", len(trips), "trips"),
                        Result(f"{head}_statements", sum(map(len, trips)), "statements"),
                        Result(f"{head}_ms", statistics.median(times), "ms"),
                        Result(f"{head}_min_ms", min(times), "ms"),
                    ]
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return out


@benchmark(
    "scale_pg_calls",
    "round trips and time of log_interaction, update_contact, a routed add, a dashboard page"
    " and a follow-ups page on PostgreSQL at 10k/100k contacts, given a server",
)
def run(quick: bool) -> list[Result]:
    """Build each size on the server, count and time the five calls."""
    server = _pg_server()
    if server is None:
        print(
            "# scale_pg_calls: no PostgreSQL server (set TEAMCRM_BENCH_POSTGRES_URL)",
            file=sys.stderr,
        )
        return []
    repeat = 15 if quick else 31
    return [r for size in PG_SIZES for r in _measure(server, size, repeat)]
