"""The routing, follow-up and notification service tests again, on ``postgresql://``.

The tests of ``test_routing_service.py``, ``test_routing_methods.py``, ``test_rotation.py``,
``test_followup_service.py`` and ``test_notifications.py`` are collected
here a second time with their store fixture replaced by a PostgreSQL store
on a fresh schema: the rules hold the same on every adapter.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import pg_support
import teamcrm
import test_followup_service
import test_notifications
import test_rotation
import test_routing_methods
import test_routing_service
import test_unassigned_search

pg_support.require_server()

globals().update(pg_support.reuse(test_routing_service, replaced={"crm"}))
globals().update(pg_support.reuse(test_routing_methods, replaced={"crm"}))
globals().update(pg_support.reuse(test_rotation, replaced={"crm"}))
globals().update(pg_support.reuse(test_unassigned_search, replaced={"crm"}))
globals().update(pg_support.reuse(test_followup_service, replaced={"store_url", "fcrm"}))
globals().update(pg_support.reuse(test_notifications, replaced={"world", "crm"}))


@pytest.fixture
def crm(clock: teamcrm.SettableClock) -> Iterator[teamcrm.CRM]:
    """A CRM on a fresh PostgreSQL schema."""
    with pg_support.crm(clock) as c:
        yield c


@pytest.fixture
def fcrm(fclock: teamcrm.SettableClock) -> Iterator[teamcrm.CRM]:
    """The follow-up tests' CRM, on a fresh PostgreSQL schema."""
    with pg_support.crm(fclock) as c:
        yield c


@pytest.fixture
def world(clock: teamcrm.SettableClock) -> Iterator[test_notifications.World]:
    """The notification tests' team, on a fresh PostgreSQL schema."""
    with pg_support.crm(clock) as c:
        yield test_notifications.make_world(c, clock)
