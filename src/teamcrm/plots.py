"""Charts a team lead would rather look at than read (matplotlib, optional).

Install with ``pip install 'teamcrm[plots]'``; without matplotlib every
function raises :class:`~teamcrm.views.MissingDependency` (a
``TeamCRMError``).  Each takes rows as the library returns them and an
optional matplotlib ``Axes`` to draw on, and returns the ``Axes``:

* :func:`leads_per_member` — a pool's distribution: open leads per owner,
  from ``routing_dashboard()`` rows (round robin should give even bars);
* :func:`insights_chart` — one figure of ``insights()`` per member (leads
  received, untouched leads, overdue follow-ups...);
* :func:`grid_signals` — how many grid rows are red, neutral or green for
  each signal of ``agent_grid()``: where the team is slipping.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from teamcrm.errors import ValidationError
from teamcrm.lead import LeadRow
from teamcrm.views import GridRow, InsightRow, MissingDependency, Signal

__all__ = ["grid_signals", "insights_chart", "leads_per_member"]

#: The signal columns of the agent grid, in the order they are drawn.
SIGNALS = ("evaluate", "phone", "email", "notes", "follow_up", "wait")
_COLOURS = {Signal.RED: "#c62828", Signal.NEUTRAL: "#9e9e9e", Signal.GREEN: "#2e7d32"}


def _axes(ax: Any) -> Any:
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingDependency(
            "matplotlib is not installed: pip install 'teamcrm[plots]'"
        ) from exc
    _, ax = plt.subplots()
    return ax


def leads_per_member(rows: Iterable[LeadRow], ax: Any = None, *, title: str = "") -> Any:
    """Bar chart of leads per owner (unowned leads as "(nobody)")."""
    counts = Counter(r.assignee_name or "(nobody)" for r in rows)
    ax = _axes(ax)
    names = sorted(counts)
    ax.bar(names, [counts[n] for n in names])
    ax.set_ylabel("leads")
    ax.set_title(title or "Leads per member")
    return ax


def insights_chart(
    rows: Iterable[InsightRow], ax: Any = None, *, metric: str = "leads_received"
) -> Any:
    """Bar chart of one insights figure per member (*metric*: a numeric field of the row)."""
    rows = list(rows)
    values = []
    for r in rows:
        value = getattr(r, metric, None)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("metric", metric, "must name a numeric column of the insights")
        values.append(value)
    ax = _axes(ax)
    ax.bar([r.member_name for r in rows], values)
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(metric.replace("_", " ").capitalize() + " per member")
    return ax


def grid_signals(rows: Iterable[GridRow], ax: Any = None) -> Any:
    """Stacked bars: for each grid signal, how many rows are red, neutral and green."""
    rows = list(rows)
    ax = _axes(ax)
    bottom = [0] * len(SIGNALS)
    for signal in (Signal.RED, Signal.NEUTRAL, Signal.GREEN):
        heights = [sum(1 for r in rows if getattr(r, s) is signal) for s in SIGNALS]
        ax.bar(SIGNALS, heights, bottom=bottom, color=_COLOURS[signal], label=signal.value)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_ylabel("grid rows")
    ax.set_title("Agent grid signals")
    ax.legend()
    return ax
