"""follow_ups(), leads() and routing_dashboard() are lists that show themselves as tables."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

import teamcrm
import test_routing_service as base
from teamcrm.rows import Rows
from test_routing_service import World, _pool

crm = base.crm
w = base.w


def test_rows_are_lists() -> None:
    rows: Rows[int] = Rows([1, 2], title="T", columns=())
    assert rows == [1, 2]
    assert rows[1:] == [2]
    rows.append(3)
    assert sorted(rows, reverse=True) == [3, 2, 1]
    assert Rows([]) == []


def test_the_routing_lists_display_as_tables(w: World) -> None:
    _pool(w, "round_robin", member_ids=[w.bob.member_id])
    (maria,) = w.contacts(1, "Maria")
    w.ana.add_to_bucket(w.web.id, maria.id)
    dashboard = w.ana.routing_dashboard()
    leads = w.ana.leads()
    for rows in (dashboard, leads):
        assert isinstance(rows, list)
        assert isinstance(rows, Rows)
        html = rows._repr_html_()
        assert html.startswith("<table")
        assert "ld_" in html
        assert rows.to_text().splitlines()[0] in ("Routing dashboard", "Leads")
    assert "Maria0" in dashboard.to_text()
    out = io.StringIO()
    leads.write(out, "json")
    (record,) = json.loads(out.getvalue())
    assert record["status"] == "assigned"
    assert record["assignee_ids"] == [w.bob.member_id]
    assert set(record) == {
        "id",
        "contact_id",
        "pool_id",
        "status",
        "assignee_ids",
        "assigned_at",
        "entry",
    }


def test_follow_ups_display_as_a_table(w: World) -> None:
    past = w.ana.create_bucket("Past Clients")
    w.ana.grant_access(past.id, w.bob.member_id, level="viewer")
    c = w.ana.create_contact("Chen", "Wei")
    w.ana.add_to_bucket(past.id, c.id)
    w.bob.create_follow_up_policy(past.id, "1 day")
    w.clock.advance(timedelta(days=3))
    rows = w.bob.follow_ups()
    assert [r.contact.id for r in rows] == [c.id]
    assert rows.title.startswith("Follow-ups of Bob")
    assert "Chen Wei" in rows.to_text()
    pd = pytest.importorskip("pandas")
    frame = rows.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 1


def test_rows_unstructure_like_lists(w: World) -> None:
    _pool(w, "round_robin", member_ids=[w.bob.member_id])
    (c,) = w.contacts(1, "Maria")
    w.ana.add_to_bucket(w.web.id, c.id)
    data = teamcrm.unstructure(w.ana.routing_dashboard())
    assert type(data) is list
    assert data[0]["contact_name"] == "Maria0"
    json.dumps(data)
