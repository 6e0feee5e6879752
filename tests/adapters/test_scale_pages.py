"""The pages of a large team do the same work at every team size (issue 17).

The scale benchmark timed the routing dashboard page at 2.5 ms with 10,000
contacts and 6-11 ms with 1,000,000 on a loaded machine; counted, its work
is the same: SQLite VM instructions of the dashboard page, the agent-grid
page and a follow-ups page, with the same 60 routed leads, on teams of 1,000
and 30,000 contacts built by the benchmark's builder (``benchmarks/scale_data.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import teamcrm
from teamcrm.adapters.sqlite.store import SQLiteStore
from test_scale_queries import _work

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
try:
    import scale_data
finally:
    sys.path.remove(str(BENCHMARKS))

SIZES = (1_000, 30_000)
ROUTED = 60


def _steps(path: Path, size: int) -> dict[str, int]:
    world = scale_data.build(path, size)
    with teamcrm.open(f"sqlite:///{path}", clock=teamcrm.SettableClock(scale_data.NOW)) as crm:
        store = crm.store
        assert isinstance(store, SQLiteStore)
        ana = crm.as_member(world.ana)  # type: ignore[arg-type]
        bob = crm.as_member(world.bob)  # type: ignore[arg-type]
        for k in range(ROUTED):
            bob.add_to_bucket(world.web, [scale_data.hex_id("ct_", size + k)])  # type: ignore[arg-type,list-item]
        assert len(list(ana.routing_dashboard_page(limit=50))) == 50
        calls = {
            "dashboard_page": lambda: ana.routing_dashboard_page(limit=50),
            "grid_page": lambda: ana.agent_grid(limit=50, at=scale_data.NOW),
            "follow_ups_page": lambda: bob.follow_ups(
                world.bob,  # type: ignore[arg-type]
                at=scale_data.NOW,
                limit=50,
            ),
        }
        return {name: _work(store, call) for name, call in calls.items()}


def test_pages_do_not_grow_with_the_team(tmp_path: Path) -> None:
    small, large = (_steps(tmp_path / f"crm{size}.db", size) for size in SIZES)
    for name in small:
        assert large[name] < 1.3 * small[name], f"{name}: {small[name]} -> {large[name]} steps"
