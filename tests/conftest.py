"""Shared pytest configuration: hypothesis profiles and store fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings

import teamcrm

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> teamcrm.SettableClock:
    """A clock set to a fixed Monday morning."""
    return teamcrm.SettableClock(START)


@pytest.fixture
def crm(clock: teamcrm.SettableClock) -> Iterator[teamcrm.CRM]:
    """A CRM on a fresh in-memory store."""
    c = teamcrm.open("memory://", clock=clock)
    yield c
    c.close()


@pytest.fixture
def team(crm: teamcrm.CRM) -> tuple[teamcrm.MemberSession, ...]:
    """(admin Ana, manager Max, agent Bob) on the ``crm`` fixture's store."""
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    max_ = crm.as_member(ana.add_member("Max", role="manager").id)
    bob = crm.as_member(ana.add_member("Bob").id)
    return ana, max_, bob
