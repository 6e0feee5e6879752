"""The team, bucket, contact and interaction service tests again, on ``postgresql://``.

They use the shared ``crm`` fixture of ``conftest.py`` (memory); here it is
replaced by a CRM on an empty PostgreSQL schema.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import pg_support
import teamcrm
import test_service_buckets
import test_service_contact_changes
import test_service_contacts
import test_service_interactions
import test_service_team

pg_support.require_server()

for _module in (
    test_service_buckets,
    test_service_contact_changes,
    test_service_contacts,
    test_service_interactions,
    test_service_team,
):
    globals().update(pg_support.reuse(_module, replaced={"crm"}))


@pytest.fixture
def crm(clock: teamcrm.SettableClock) -> Iterator[teamcrm.CRM]:
    """A CRM on an empty PostgreSQL schema."""
    with pg_support.crm(clock) as c:
        yield c
