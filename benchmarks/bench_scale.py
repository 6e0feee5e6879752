"""Benchmark: per-record calls as the team grows, on SQLite (issue 17).

For teams of 10,000, 100,000 and (without ``--quick``) 1,000,000 contacts,
the median time of each call below, as the agent Bob and as the admin Ana:
``contact``, ``contact_record``, ``log_interaction``, ``update_contact``,
search by name / email / phone / status / source / custom field, company
search by name, a saved filter, a ``follow_ups`` page (50 rows), and, as the
admin only (agents may not see them), an agent-grid page and a routing
dashboard page (50 rows each); then routing one lead (``add_to_bucket`` of
a new contact into a round-robin pool's source bucket; Bob has editor access).

Data: built by ``benchmarks/scale_data.py`` (see there; the tests check
it writes what the library would): the team, its members, buckets, pool and
follow-up policy through the public API; the bulk rows (contacts with one
email, one phone and a custom field, their membership of one team bucket
every member sees, the follow-up due rows of Bob's 30-day policy on it, one
company per ten contacts) with raw ``sqlite3`` inserts and the derived
tables filled set-based.  Each built file is cached between runs (keyed by
size and schema) and copied for the run.  One contact in 100 has the status ``closed``,
the source ``fair`` and ``plan = "gold"``: the filters look for those rare
values, which is where a query shape that scans the team shows.

At the largest size, ``benchmarks/scale_prune.py`` then adds one
``contact.created`` event per contact to the outbox and reports the file
size and peak RSS before and after ``prune_events`` (``scale_prune_<size>_*``).

Prints ``scale_<call>_<role>_<size>_ms`` for every size, then
``scale_<call>_<role>_growth_x`` (the largest size over 10,000).  The issue's
target: every call at most 5 ms at 1,000,000 and growth at most 2x.

**PostgreSQL** (when ``TEAMCRM_BENCH_POSTGRES_URL`` or
``TEAMCRM_TEST_POSTGRES_URL`` names a database, as for ``route_postgres``):
the same data set at 10,000 and 100,000 contacts (with or without
``--quick``), built by :func:`scale_data.build_postgres` (``COPY``) in a
schema of its own (``teamcrm_bench_scale_<random>``, dropped afterwards;
no other schema is touched), and the same calls.  Prints
``scale_pg_build_<size>_s``, ``scale_pg_<call>_<role>_<size>_ms`` and
``scale_pg_<call>_<role>_growth_x`` (100,000 over 10,000).
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from registry import Result, benchmark
from scale_data import (
    NOW,
    RARE,
    ROUTE_SPARE,
    STATUSES,
    World,
    build_postgres,
    cached_build,
    hex_id,
)
from scale_prune import prune_figures

import teamcrm

NAME = "scale"
_hex_id = hex_id
#: Where the PostgreSQL part finds its server (the other PostgreSQL benchmarks' variables).
PG_ENVS = ("TEAMCRM_BENCH_POSTGRES_URL", "TEAMCRM_TEST_POSTGRES_URL")
PG_SIZES = (10_000, 100_000)


def _label(size: int) -> str:
    return f"{size // 1_000_000}m" if size >= 1_000_000 else f"{size // 1000}k"


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm: caches, this thread's connection
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _calls(
    session: teamcrm.MemberSession, w: World, size: int, spare: list[int], admin: bool
) -> dict[str, Callable[[], object]]:
    i = size // 2 + 1
    cid = _hex_id("ct_", i)
    rare = RARE // 2 + RARE * (size // RARE // 2)
    flip = iter(range(10**9))

    def found(n: int, **criteria: object) -> Callable[[], object]:
        def call() -> object:
            rows = session.search(**criteria, limit=50).rows  # type: ignore[arg-type]
            assert len(rows) == n, (criteria, len(rows))
            return rows

        return call

    def route() -> object:
        return session.add_to_bucket(w.web, _hex_id("ct_", spare.pop()))  # type: ignore[arg-type]

    calls: dict[str, Callable[[], object]] = {
        "contact": lambda: session.contact(cid),  # type: ignore[arg-type]
        "contact_record": lambda: session.contact_record(cid),  # type: ignore[arg-type]
        "log_interaction": lambda: session.log_interaction(
            "note",
            contact_ids=[cid],  # type: ignore[list-item]
            body="x",
        ),
        "update_contact": lambda: session.update_contact(
            cid,  # type: ignore[arg-type]
            status=STATUSES[1 + next(flip) % 2],
        ),
        "search_name": found(1, name=f"first{rare} last"),
        "search_email": found(1, email=f"p{i}@example.com"),
        "search_phone": found(1, phone=f"+1617{2_000_000 + i:07d}"),
        "search_status": found(min(50, size // RARE), status="closed"),
        "search_source": found(min(50, size // RARE), source="fair"),
        "search_custom": found(min(50, size // RARE), custom_field="plan", custom_value="gold"),
        "search_company": lambda: session.search_companies(f"company{size // 20} hold"),
        "saved_filter": lambda: session.run_filter(w.saved, limit=50),  # type: ignore[arg-type]
        "follow_ups_page": lambda: session.follow_ups(
            w.bob,  # type: ignore[arg-type]
            at=NOW,
            limit=50,
        ),
        "route_one_lead": route,
    }
    if admin:
        calls["grid_page"] = lambda: session.agent_grid(limit=50, at=NOW)
        calls["dashboard_page"] = lambda: session.routing_dashboard_page(limit=50)
    return calls


def _time_calls(crm: teamcrm.CRM, w: World, size: int, repeat: int) -> dict[str, float]:
    """The median of every call, as the agent Bob and then as the admin Ana."""
    out: dict[str, float] = {}
    spare = list(range(size, size + ROUTE_SPARE))
    for role, member in (("agent", w.bob), ("admin", w.ana)):
        session = crm.as_member(member)  # type: ignore[arg-type]
        calls = _calls(session, w, size, spare, admin=role == "admin")
        for name, call in calls.items():
            out[f"{name}_{role}"] = _median_ms(call, repeat)
    return out


def _pg_server() -> str | None:
    for name in PG_ENVS:
        url = os.environ.get(name, "").strip()
        if url:
            return url
    return None


def _measure_pg(server: str, size: int, repeat: int) -> dict[str, float]:
    """Build *size* contacts in a new schema of *server*, time every call, drop the schema."""
    import psycopg

    schema = f"teamcrm_bench_scale_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema}"
    try:
        t0 = time.perf_counter()
        w = build_postgres(url, size)
        build_s = time.perf_counter() - t0
        with teamcrm.open(url, clock=teamcrm.SettableClock(NOW)) as crm:
            out = _time_calls(crm, w, size, repeat)
        out["build_s"] = build_s
        return out
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _report(
    prefix: str, sizes: tuple[int, ...], figures: dict[int, dict[str, float]]
) -> list[Result]:
    """Build times, then every call at every size and its growth (largest over smallest)."""
    results: list[Result] = []
    first, last = figures[sizes[0]], figures[sizes[-1]]
    for size in sizes:
        for step in ("build_s", "copy_s"):
            if step in figures[size]:
                label = f"{prefix}_{step[:-2]}_{_label(size)}_s"
                results.append(Result(label, figures[size][step], "s"))
    for key in first:
        if key in ("build_s", "copy_s"):
            continue
        for size in sizes:
            results.append(Result(f"{prefix}_{key}_{_label(size)}_ms", figures[size][key], "ms"))
        results.append(Result(f"{prefix}_{key}_growth_x", last[key] / first[key], "x"))
    return results


def _measure(size: int, repeat: int, prune: dict[str, float] | None) -> dict[str, float]:
    """Time every call on a team of *size*; then, given *prune*, fill it with prune_figures."""
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scale.db"
        t0 = time.perf_counter()
        w, built = cached_build(path, size)
        out["build_s" if built else "copy_s"] = time.perf_counter() - t0
        crm = teamcrm.open(f"sqlite:///{path}", clock=teamcrm.SettableClock(NOW))
        out.update(_time_calls(crm, w, size, repeat))
        crm.close()
        if prune is not None:
            prune.update(prune_figures(path, w, size))
    return out


@benchmark(
    "scale",
    "per-record calls at 10k/100k/1M contacts on SQLite (--quick: to 100k), agent and admin;"
    " and at 10k/100k on PostgreSQL given a server",
)
def run(quick: bool) -> list[Result]:
    """Build each team size, time every call, report the largest size and the growth."""
    sizes = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    repeat = 15 if quick else 31
    prune: dict[str, float] = {}
    figures = {size: _measure(size, repeat, prune if size == sizes[-1] else None) for size in sizes}
    results = _report("scale", sizes, figures)
    big = _label(sizes[-1])
    for key, value in prune.items():
        unit = key.rsplit("_", 1)[-1] if key != "pruned" else "events"
        results.append(Result(f"scale_prune_{big}_{key}", value, unit))
    server = _pg_server()
    if server is None:
        print(f"# scale: no PostgreSQL part (set {PG_ENVS[0]})", file=sys.stderr)
        return results
    pg_figures = {size: _measure_pg(server, size, repeat) for size in PG_SIZES}
    return results + _report("scale_pg", PG_SIZES, pg_figures)


if __name__ == "__main__":
    for result in run("--quick" in sys.argv[1:]):
        print(result.line())
