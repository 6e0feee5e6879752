"""Saved filters, the agent grid, insights and the rendering of views, on memory and SQLite."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import teamcrm
from teamcrm.search import ContactQuery
from teamcrm.views import (
    GridFacts,
    InsightRow,
    MissingDependency,
    SearchRow,
    Signal,
    View,
    grid_signals,
    percentile,
)

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


class Team:
    """A small team: Ana (admin), Max (manager), Bob and Cy (agents), one round-robin pool."""

    def __init__(self, url: str) -> None:
        self.clock = teamcrm.SettableClock(START)
        self.crm = teamcrm.open(url, clock=self.clock)
        _, admin = self.crm.create_team("Acme", admin_name="Ana")
        self.ana = self.crm.as_member(admin.id)
        self.max = self.crm.as_member(self.ana.add_member("Max", role="manager").id)
        self.bob = self.crm.as_member(self.ana.add_member("Bob", role="agent").id)
        self.cy = self.crm.as_member(self.ana.add_member("Cy", role="agent").id)
        self.inbox = self.ana.create_bucket("Web leads")
        self.pool = self.ana.create_pool(
            "Website",
            source_bucket_ids=[self.inbox.id],
            member_ids=[self.bob.member_id, self.cy.member_id],
            method="round_robin",
        )

    def lead(self, first: str, **fields: Any) -> teamcrm.Contact:
        contact = self.ana.create_contact(first, "Lead", **fields)
        self.ana.add_to_bucket(self.inbox.id, contact.id)
        return contact


@pytest.fixture(params=["memory://", "sqlite://"])
def team(request: pytest.FixtureRequest) -> Iterator[Team]:
    t = Team(request.param)
    yield t
    t.crm.close()


# ------------------------------------------------------------------ saved filters
def test_saved_filters_for_oneself_and_for_the_team(team: Team) -> None:
    team.ana.create_contact("Web", "One", source="website")
    team.ana.create_contact("Ref", "Two", source="referral")
    mine = team.bob.save_filter("My website", {"source": "website"})
    shared = team.max.save_filter("Team referrals", ContactQuery(source="referral"), shared=True)
    assert [f.name for f in team.bob.saved_filters()] == ["My website", "Team referrals"]
    assert [f.name for f in team.cy.saved_filters()] == ["Team referrals"]
    with pytest.raises(teamcrm.PermissionDenied):
        team.bob.save_filter("Nope", {"source": "x"}, shared=True)
    with pytest.raises(teamcrm.AlreadyExists):
        team.bob.save_filter("my WEBSITE", {"source": "email"})
    with pytest.raises(teamcrm.NotFound):
        team.cy.run_filter(mine.id)  # someone else's personal filter
    # run as the runner: the agents see none of the admin's loose contacts
    assert len(team.bob.run_filter(shared.id)) == 0
    assert [r.name for r in team.ana.run_filter(shared.id)] == ["Ref Two"]
    with pytest.raises(teamcrm.PermissionDenied):
        team.bob.rename_filter(shared.id, "Mine now")
    renamed = team.bob.rename_filter(mine.id, "Web")
    assert renamed.version == 2
    assert renamed.query == mine.query
    team.ana.rename_filter(shared.id, "Referrals")
    assert sorted(f.name for f in team.bob.saved_filters()) == ["Referrals", "Web"]
    with pytest.raises(teamcrm.PermissionDenied):
        team.cy.delete_filter(shared.id)
    team.max.delete_filter(shared.id)
    team.bob.delete_filter(mine.id)
    assert team.bob.saved_filters() == []
    with pytest.raises(teamcrm.NotFound):
        team.bob.run_filter(mine.id)


def test_saved_filters_survive_reopening_the_sqlite_file(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    crm = teamcrm.open(url)
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    q = ContactQuery(
        name="zoe kow",
        phone="+1 555 010 2030",
        custom_field="score",
        custom_value=2.5,
        created=teamcrm.DateRange(start=START),
    )
    saved = ana.save_filter("Zoë", q, shared=True)
    crm.close()
    again = teamcrm.open(url)
    (loaded,) = again.as_member(admin.id).saved_filters()
    assert loaded == saved
    assert loaded.query == q
    again.close()


def test_bad_saved_filter_input_names_the_field(team: Team) -> None:
    for call, field in [
        (lambda: team.bob.save_filter("", {}), "name"),
        (lambda: team.bob.save_filter("x", {"colour": "red"}), "query"),
        (lambda: team.bob.save_filter("x", {}, shared="yes"), "shared"),
        (lambda: team.bob.run_filter("nope"), "filter_id"),
    ]:
        with pytest.raises(teamcrm.ValidationError) as info:
            call()
        assert info.value.field == field


# ------------------------------------------------------------------ agent grid
def facts(**changes: Any) -> GridFacts:
    base = GridFacts(
        contact_id="ct_" + "1" * 26,
        first_name="Ann",
        last_name="Lee",
        status="evaluate",
        phones_validated=None,
        emails_validated=None,
        has_note=False,
        next_follow_up_at=None,
        lead_id="ld_" + "1" * 26,
        pool_id=None,
        assignee_id="mb_" + "1" * 26,
        assigned_at=START,
        lead_created_at=START,
        first_action_at=None,
    )
    return base._replace(**changes)


def signals(f: GridFacts, now: datetime = START + 2 * HOUR) -> tuple[Signal, ...]:
    return grid_signals(f, first_status="evaluate", now=now, window=HOUR)[0]


def test_grid_rules() -> None:
    red, neutral, green = Signal.RED, Signal.NEUTRAL, Signal.GREEN
    assert signals(facts()) == (red, neutral, neutral, red, red, red)
    assert signals(facts(), now=START + HOUR / 2)[0] is neutral  # window still running
    assert signals(facts(status="active"))[0] is green
    assert signals(facts(phones_validated=True, emails_validated=False))[1:3] == (green, red)
    assert signals(facts(has_note=True, next_follow_up_at=START + 9 * HOUR))[3:5] == (green, green)
    assert signals(facts(first_action_at=START + HOUR / 4))[5] is green
    assert signals(facts(assignee_id=None, assigned_at=None))[5] is neutral
    waited = grid_signals(
        facts(first_action_at=START + HOUR / 4),
        first_status="evaluate",
        now=START + 5 * HOUR,
        window=HOUR,
    )[1]
    assert waited == HOUR / 4


def test_agent_grid_worst_first_with_signals(team: Team) -> None:
    bad = team.lead("Bad", phones=["+1 555 010 2030"])  # -> Bob (round robin)
    good = team.lead("Good", phones=["+1 555 010 2031"], emails=["good@example.com"])  # -> Cy
    team.clock.advance(HOUR / 4)
    team.cy.log_interaction(
        "call", contact_ids=[good.id], outcome="connected", occurred_at=team.crm.now()
    )
    team.cy.log_interaction(
        "email",
        contact_ids=[good.id],
        outcome="delivered",
        via="good@example.com",
        occurred_at=team.crm.now(),
    )
    team.cy.log_interaction("note", contact_ids=[good.id], body="Wants a 2-bed flat")
    team.cy.update_contact(good.id, status="active")
    team.cy.create_task(good.id, due_at=team.crm.now() + timedelta(days=2), note="call back")
    team.clock.advance(2 * HOUR)
    grid = team.max.agent_grid()
    assert [r.name for r in grid] == ["Bad Lead", "Good Lead"]
    worst, best = grid
    assert worst.contact_id == bad.id
    assert worst.assignee_name == "Bob"
    assert worst.pool_name == "Website"
    assert (worst.evaluate, worst.phone, worst.email, worst.notes, worst.follow_up, worst.wait) == (
        Signal.RED,
        Signal.RED,
        Signal.NEUTRAL,
        Signal.RED,
        Signal.RED,
        Signal.RED,
    )
    assert worst.waited == 2 * HOUR + HOUR / 4
    assert (best.evaluate, best.phone, best.email, best.notes, best.follow_up, best.wait) == (
        Signal.GREEN,
        Signal.GREEN,
        Signal.GREEN,
        Signal.GREEN,
        Signal.GREEN,
        Signal.GREEN,
    )
    assert best.waited == HOUR / 4
    assert best.reds == 0
    assert [r.name for r in team.max.agent_grid(assignee=team.cy.member_id)] == ["Good Lead"]
    assert [r.name for r in team.max.agent_grid(status="evaluate")] == ["Bad Lead"]
    assert len(team.max.agent_grid(pool_id=team.pool.id, limit=1)) == 1
    with pytest.raises(teamcrm.PermissionDenied):
        team.bob.agent_grid()
    with pytest.raises(teamcrm.ValidationError):
        team.max.agent_grid(status="bogus")
    with pytest.raises(teamcrm.ValidationError):
        team.max.agent_grid(response_window=timedelta(0))
    with pytest.raises(teamcrm.NotFound):
        team.max.agent_grid(pool_id="lp_" + "0" * 26)


# ------------------------------------------------------------------ insights
@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=50))
def test_percentiles_are_nearest_rank(minutes: list[int]) -> None:
    values = [timedelta(minutes=m) for m in minutes]
    p50, p90 = percentile(values, 50), percentile(values, 90)
    assert p50 is not None
    assert p90 is not None
    assert p50 in values
    assert p90 in values
    assert min(values) <= p50 <= p90 <= max(values)
    assert sum(v <= p90 for v in values) >= 0.9 * len(values)
    assert percentile([], 50) is None


def test_insights_per_member(team: Team) -> None:
    a = team.lead("A")  # Bob
    b = team.lead("B")  # Cy
    c = team.lead("C")  # Bob
    team.clock.advance(timedelta(minutes=10))
    team.bob.log_interaction(
        "call", contact_ids=[a.id], outcome="no_answer", occurred_at=team.crm.now()
    )
    team.clock.advance(timedelta(minutes=50))
    team.bob.log_interaction("note", contact_ids=[c.id], body="left a message")
    team.cy.create_task(b.id, due_at=team.crm.now() + HOUR, note="call")
    team.clock.advance(timedelta(days=2))
    end = team.crm.now()
    view = team.max.insights(start=START, end=end)
    rows = {r.member_name: r for r in view}
    assert set(rows) == {"Ana", "Bob", "Cy", "Max"}
    bob, cy = rows["Bob"], rows["Cy"]
    assert bob.leads_received == 2
    assert bob.untouched_leads == 0
    assert bob.first_touch_median == timedelta(minutes=10)
    assert bob.first_touch_p90 == timedelta(hours=1)
    assert (bob.calls, bob.notes, bob.interactions_total) == (1, 1, 2)
    assert cy.leads_received == 1
    assert cy.untouched_leads == 1
    assert cy.first_touch_median is None
    assert cy.overdue_follow_ups == 1
    assert [r.member_name for r in team.bob.insights(start=START, end=end)] == ["Bob"]
    with pytest.raises(teamcrm.PermissionDenied):
        team.bob.insights(team.cy.member_id, start=START, end=end)
    with pytest.raises(teamcrm.ValidationError):
        team.max.insights(start=end, end=START)
    # a range before everything holds nothing
    empty = team.max.insights(team.bob.member_id, start=START - timedelta(days=9), end=START)
    assert empty[0].leads_received == 0
    assert empty[0].interactions_total == 0


# ------------------------------------------------------------------ rendering
def sample_view() -> View[SearchRow]:
    row = SearchRow(
        contact_id=teamcrm.ContactId("ct_" + "a" * 26),
        name="<b>Zoë</b> & co",
        status="evaluate",
        email=None,
        phone="+15550102030",
        source=None,
        created_at=START,
        last_contacted_at=None,
        contact=None,
    )
    return View.of("Search <all>", SearchRow, [row], next_cursor="abc")


def grid_view() -> View[Any]:
    from teamcrm.views import GridRow, grid_row

    row: GridRow = grid_row(
        facts(),
        first_status="evaluate",
        now=START + 3 * HOUR,
        window=HOUR,
        member_names={"mb_" + "1" * 26: "Bob"},
        pool_names={},
    )
    return View.of("Grid", GridRow, [row])


def test_html_escapes_and_colours_signals() -> None:
    html = sample_view()._repr_html_()
    assert "&lt;b&gt;Zoë&lt;/b&gt; &amp; co" in html
    assert "<b>" not in html
    assert "Search &lt;all&gt;" in html
    grid = grid_view()._repr_html_()
    assert "background-color: #c62828'>red</td>" in grid
    assert grid.count("#c62828") == 4  # evaluate, notes, follow-up, wait


def test_text_and_rich_tables() -> None:
    text = sample_view().to_text()
    assert text.splitlines()[0] == "Search <all>"
    assert "+15550102030" in text
    assert "--after abc" in text
    from io import StringIO

    out = StringIO()
    grid_view().print(out)
    assert "red" in out.getvalue()
    table = grid_view().to_rich()
    assert table.row_count == 1
    plain = StringIO()
    grid_view().print(plain, plain=True)
    assert plain.getvalue().startswith("Grid\n")


def test_to_pandas_keeps_raw_values() -> None:
    frame = grid_view().to_pandas()
    assert list(frame.columns) == list(grid_view().columns)
    assert frame.loc[0, "evaluate"] == "red"
    assert frame.loc[0, "waited"] == 3 * HOUR
    assert frame.loc[0, "reds"] == 4
    insight = InsightRow(
        member_id=teamcrm.MemberId("mb_" + "1" * 26),
        member_name="Bob",
        leads_received=2,
        first_touch_median=None,
        first_touch_p90=None,
        untouched_leads=2,
        overdue_follow_ups=0,
        interactions={"call": 3},
    )
    frame = View.of("I", InsightRow, [insight]).to_pandas()
    assert frame.loc[0, "calls"] == 3
    assert frame.loc[0, "interactions_total"] == 3


def test_missing_pandas_is_a_teamcrm_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("no pandas here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(MissingDependency) as info:
        sample_view().to_pandas()
    assert isinstance(info.value, teamcrm.TeamCRMError)
    assert "teamcrm[views]" in str(info.value)


def test_views_are_plain_frozen_data() -> None:
    view = sample_view()
    assert len(view) == 1
    assert view[0].name == "<b>Zoë</b> & co"
    with pytest.raises(AttributeError):
        view.rows[0].name = "x"  # type: ignore[misc]
    assert view.records()[0]["phone"] == "+15550102030"
