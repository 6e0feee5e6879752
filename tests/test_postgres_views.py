"""The search, saved-filter, grid and insight tests again, on ``postgresql://``.

``test_views.py`` and ``test_search.py`` are collected a second time with
their store fixtures on a fresh PostgreSQL schema.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import pg_support
import teamcrm
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
