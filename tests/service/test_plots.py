"""teamcrm.plots draws what the rows say (matplotlib, Agg backend)."""

from __future__ import annotations

import sys

import pytest

import teamcrm
import test_routing_service as base
from teamcrm import plots
from teamcrm.views import MissingDependency
from test_routing_methods import _route
from test_routing_service import World, _pool

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

crm = base.crm
w = base.w


def _heights(ax: object) -> list[float]:
    return [p.get_height() for p in ax.patches]  # type: ignore[attr-defined]


def test_leads_per_member_shows_the_pools_distribution(w: World) -> None:
    _pool(w, "round_robin", member_ids=[w.bob.member_id, w.cat.member_id])
    _route(w, 5)
    ax = plots.leads_per_member(w.ana.routing_dashboard())
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert dict(zip(labels, _heights(ax), strict=True)) == {"Bob": 3, "Cat": 2}
    plt.close("all")


def test_insights_and_grid_charts(w: World) -> None:
    pool = _pool(w, "round_robin", member_ids=[w.bob.member_id])
    _route(w, 2)
    start = w.clock.now() - base.timedelta(days=1)
    insights = w.ana.insights(start=start, end=w.clock.now() + base.timedelta(seconds=1))
    ax = plots.insights_chart(insights, metric="leads_received")
    by_name = dict(zip([t.get_text() for t in ax.get_xticklabels()], _heights(ax), strict=True))
    assert by_name["Bob"] == 2
    with pytest.raises(teamcrm.ValidationError, match="metric"):
        plots.insights_chart(insights, metric="member_name")
    grid = w.ana.agent_grid(pool_id=pool.id)
    ax = plots.grid_signals(grid)
    # three stacked series (red, neutral, green) over six signals; each column adds up to the rows
    heights = _heights(ax)
    assert len(heights) == 18
    totals = [sum(heights[i::6]) for i in range(6)]
    assert totals == [len(grid)] * 6
    plt.close("all")


def test_without_matplotlib_a_teamcrm_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(MissingDependency, match="teamcrm\\[plots\\]"):
        plots.leads_per_member([])
