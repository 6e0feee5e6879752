"""Shared pytest configuration: hypothesis profiles and store fixtures.

The tests are grouped in folders (``domain``, ``service``, ``adapters``,
``contract``, ``concurrency``, ``interface``, ``architecture``) of plain
modules, not packages; some reuse another folder's tests (the PostgreSQL
service tests import the service tests), so every folder and the support
modules here (``pg_support``, ``race_support``) are importable by name.
Worker processes started with ``spawn`` inherit the same ``sys.path``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import teamcrm

#: The folders of tests, in the order the README lists them.
GROUPS = ("domain", "service", "adapters", "contract", "concurrency", "interface", "architecture")
_HERE = Path(__file__).resolve().parent
for _folder in (_HERE, *(_HERE / group for group in GROUPS)):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

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
