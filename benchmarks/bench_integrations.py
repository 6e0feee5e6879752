"""Benchmark: what calling teamcrm from an ``async`` web handler costs.

teamcrm's API is synchronous.  An async framework (FastAPI, Starlette,
aiohttp) calls it through a thread pool, e.g. ``await asyncio.to_thread(
session.contact, contact_id)``, so the event loop never blocks on SQLite.
This measures, on a SQLite file with 1,000 contacts, as an agent:

* ``integration_direct_contact_us`` - the floor: ``session.contact(id)``
  called directly (median of single calls);
* ``integration_to_thread_contact_us`` - the same call awaited through
  ``asyncio.to_thread`` one at a time (median);
* ``integration_to_thread_overhead_us`` - the difference of the two medians;
* ``integration_to_thread_8_concurrent_calls_per_s`` next to
  ``integration_direct_calls_per_s``: 8 handlers at once on the default
  executor versus the same calls in a plain loop (on 2 cores the GIL and
  SQLite's own locking bound the gain; the point is that the loop stays free).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from registry import Result, benchmark

import teamcrm


def _setup(path: Path) -> tuple[teamcrm.CRM, teamcrm.MemberSession, list[str]]:
    crm = teamcrm.open(f"sqlite:///{path}")
    _, admin = crm.create_team("Bench", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = ana.add_member("Bob", role="agent")
    bucket = ana.create_bucket("Shared")
    ana.grant_access(bucket.id, bob.id, level="viewer")
    ids = [c.id for c in ana.create_contacts([{"first_name": f"C{i}"} for i in range(1000)])]
    ana.add_to_bucket(bucket.id, ids)
    return crm, crm.as_member(bob.id), ids


@benchmark("integrations", "sync teamcrm calls from asyncio through a thread pool")
def integrations(quick: bool) -> list[Result]:
    calls = 300 if quick else 2000
    with tempfile.TemporaryDirectory() as tmp:
        crm, bob, ids = _setup(Path(tmp) / "bench.db")
        with crm:
            direct: list[float] = []
            for i in range(calls):
                started = time.perf_counter()
                bob.contact(ids[i % len(ids)])
                direct.append(time.perf_counter() - started)

            async def one_at_a_time() -> list[float]:
                times = []
                for i in range(calls):
                    started = time.perf_counter()
                    await asyncio.to_thread(bob.contact, ids[i % len(ids)])
                    times.append(time.perf_counter() - started)
                return times

            threaded = asyncio.run(one_at_a_time())

            async def eight_at_once() -> float:
                gate = asyncio.Semaphore(8)

                async def call(i: int) -> None:
                    async with gate:
                        await asyncio.to_thread(bob.contact, ids[i % len(ids)])

                started = time.perf_counter()
                await asyncio.gather(*(call(i) for i in range(calls)))
                return time.perf_counter() - started

            concurrent = asyncio.run(eight_at_once())
            plain_started = time.perf_counter()
            for i in range(calls):
                bob.contact(ids[i % len(ids)])
            plain = time.perf_counter() - plain_started
    d = statistics.median(direct) * 1e6
    t = statistics.median(threaded) * 1e6
    return [
        Result("integration_direct_contact_us", d, "us"),
        Result("integration_to_thread_contact_us", t, "us"),
        Result("integration_to_thread_overhead_us", t - d, "us"),
        Result("integration_direct_calls_per_s", calls / plain, "calls/s"),
        Result("integration_to_thread_8_concurrent_calls_per_s", calls / concurrent, "calls/s"),
    ]
