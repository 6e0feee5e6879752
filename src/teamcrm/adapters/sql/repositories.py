"""The repositories every unit of work of both SQL stores gets, by attribute name.

Each store builds its units from its core repositories, then this registry
(:func:`registered_repositories`), then its own versions (PostgreSQL's row
locks: :func:`teamcrm.adapters.postgres.store.register_postgres_repository`).
Importing this module registers the shared repositories of
:mod:`teamcrm.adapters.sql` (routing, follow-ups, records, programs,
campaigns, notifications, intake, consumers, saved filters); a store's own
(SQLite's ``views``) registers with its package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from teamcrm.adapters.sql.base import SQLContext
from teamcrm.adapters.sql.campaigns import SQLiteCampaigns, SQLiteCampaignSends
from teamcrm.adapters.sql.consumers import SQLiteConsumerPositions
from teamcrm.adapters.sql.followups import (
    SQLiteFollowUpDues,
    SQLiteFollowUpPolicies,
    SQLiteSnoozes,
    SQLiteTouches,
)
from teamcrm.adapters.sql.inbound import SQLiteInboundBuckets
from teamcrm.adapters.sql.intake import SQLiteIntake
from teamcrm.adapters.sql.leads import SQLiteLeads
from teamcrm.adapters.sql.notifications import SQLiteDigestNotifications
from teamcrm.adapters.sql.offers import SQLiteOffers
from teamcrm.adapters.sql.pools import SQLiteLeadPools, SQLiteRoutingCursors
from teamcrm.adapters.sql.programs import SQLiteEnrolments, SQLitePrograms
from teamcrm.adapters.sql.records import SQLiteRecords
from teamcrm.adapters.sql.saved_filters import SQLiteSavedFilters
from teamcrm.adapters.sql.tasks import SQLiteTasks
from teamcrm.errors import ValidationError

__all__ = [
    "CORE_REPOSITORIES",
    "RepositoryFactory",
    "check_repository",
    "register_repository",
    "registered_repositories",
]

#: Builds an extra repository from the unit of work's
#: :class:`~teamcrm.adapters.sql.base.SQLContext`.
RepositoryFactory = Callable[[SQLContext], Any]

#: The repositories each store builds itself: no extra one may take their names.
CORE_REPOSITORIES = frozenset(
    {
        "teams",
        "members",
        "contacts",
        "companies",
        "buckets",
        "memberships",
        "interactions",
        "outbox",
    }
)
_REPOSITORIES: dict[str, RepositoryFactory] = {}


def check_repository(
    registry: dict[str, RepositoryFactory], name: str, factory: RepositoryFactory, replace: bool
) -> None:
    """Refuse *name* unless *registry* may take *factory* (see :func:`register_repository`)."""
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise ValidationError("name", name, "must be a public Python identifier")
    if name in CORE_REPOSITORIES or name in {"collect", "commit", "rollback", "context"}:
        raise ValidationError("name", name, "is a built-in attribute of the unit of work")
    if registry.get(name, factory) is not factory and not replace:
        # Two modules registering one name would make the winner depend on
        # which was imported last: refuse unless the caller means it.
        raise ValidationError(
            "name", name, "already has a repository; pass replace=True to replace it"
        )


def register_repository(name: str, factory: RepositoryFactory, *, replace: bool = False) -> None:
    """Give every unit of work an extra repository attribute *name*.

    ``register_repository("leads", SQLiteLeads)`` makes ``uow.leads`` a
    ``SQLiteLeads(ctx)`` on every unit of work; its statements run in the
    unit's transaction.  Register its tables with
    :func:`~teamcrm.adapters.sql.migrations.register_migration`.  A name
    already registered with another factory is refused unless *replace* is
    true (so the winner never depends on import order).

    This is the process-wide default: a store copies it when it opens, so
    register before opening stores (at import, as the packages' modules do).
    One SQLite store alone:
    :meth:`~teamcrm.adapters.sqlite.store.SQLiteStore.register_repository`.
    """
    check_repository(_REPOSITORIES, name, factory, replace)
    _REPOSITORIES[name] = factory


def registered_repositories() -> dict[str, RepositoryFactory]:
    """The extra repositories registered so far, by attribute name (a copy).

    The SQLite and the PostgreSQL store build their units of work from it.
    """
    return dict(_REPOSITORIES)


for _name, _factory in (
    ("lead_pools", SQLiteLeadPools),
    ("leads", SQLiteLeads),
    ("offers", SQLiteOffers),
    ("routing_cursors", SQLiteRoutingCursors),
    ("inbound_buckets", SQLiteInboundBuckets),
    ("followup_policies", SQLiteFollowUpPolicies),
    ("touches", SQLiteTouches),
    ("followup_dues", SQLiteFollowUpDues),
    ("snoozes", SQLiteSnoozes),
    ("tasks", SQLiteTasks),
    ("notifications", SQLiteDigestNotifications),
    ("records", SQLiteRecords),
    ("programs", SQLitePrograms),
    ("enrolments", SQLiteEnrolments),
    ("campaigns", SQLiteCampaigns),
    ("campaign_sends", SQLiteCampaignSends),
    ("intake", SQLiteIntake),
    ("consumer_positions", SQLiteConsumerPositions),
    ("saved_filters", SQLiteSavedFilters),
):
    register_repository(_name, _factory)
