"""The search, saved-filter, grid and insight tests again, on ``postgresql://``.

``test_views.py`` and ``test_search.py`` are collected a second time with
their store fixtures on a fresh PostgreSQL schema.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pg_support
import teamcrm
import test_grid_page
import test_search
import test_views

pg_support.require_server()

globals().update(pg_support.reuse(test_views, replaced={"team"}))
globals().update(pg_support.reuse(test_search, replaced={"store_crm"}))


@pytest.fixture
def team() -> Iterator[test_views.Team]:
    """The views tests' team, on a fresh PostgreSQL schema."""
    with pg_support.schemas() as made:
        t = test_views.Team(made.new())
        yield t
        t.crm.close()


@pytest.fixture
def store_crm() -> Iterator[tuple[teamcrm.CRM, teamcrm.SettableClock]]:
    """The search tests' CRM and clock, on a fresh PostgreSQL schema."""
    with pg_support.schemas() as made:
        clock = teamcrm.SettableClock(test_search.START)
        crm = teamcrm.open(made.new(), clock=clock)
        yield crm, clock
        crm.close()


@settings(max_examples=8)
@given(steps=st.lists(test_grid_page.STEP, min_size=1, max_size=15))
def test_postgres_grid_page_equals_the_reference_after_random_edits(
    steps: list[tuple[str, int, int]],
) -> None:
    """PostgreSQL's grid page (facts ranked in Python) is the reference ranking."""
    with pg_support.schemas() as made:
        world = test_grid_page.World(made.new())
        try:
            for op, n, k in steps:
                world.apply(op, n, k)
            assert world.check(0, 60, 0) > 0
            world.check(3000, 30, 1)
        finally:
            world.crm.close()
