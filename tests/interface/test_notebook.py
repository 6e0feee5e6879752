"""The team lead's notebook (examples/team_lead.ipynb) runs from top to bottom."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the dev extra installs nbformat")
nbclient = pytest.importorskip("nbclient", reason="the dev extra installs nbclient")
pytest.importorskip("ipykernel", reason="the dev extra installs ipykernel")
pytest.importorskip("matplotlib", reason="the dev extra installs matplotlib")

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "team_lead.ipynb"


def test_team_lead_notebook_executes(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=120,  # per cell
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:  # pragma: no cover - shows the cell
        pytest.fail(f"{NOTEBOOK.name} failed:\n{exc}")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("Agent grid" in h and "#c62828" in h for h in html), (
        "the grid renders with red cells"
    )
    assert any(o.get("data", {}).get("image/png") for o in outputs), "the bar chart is drawn"
    plain = "\n".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "'Bradley': 3" in plain  # nine leads, round robin over three agents
