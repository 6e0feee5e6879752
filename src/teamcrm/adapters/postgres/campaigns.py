"""PostgreSQL campaign sends: the runner's claim skips rows other workers hold.

The SQLite repositories' statements serve PostgreSQL too (translated by the
dialect); only the claim differs: its inner ``SELECT`` locks the due sends
``FOR UPDATE OF s SKIP LOCKED``, so two workers claiming at once get
disjoint rows and rows being written right now are skipped, not waited for.
"""

from __future__ import annotations

from teamcrm.adapters.postgres.store import register_postgres_repository
from teamcrm.adapters.sqlite.campaigns import SQLiteCampaignSends

__all__ = ["PGCampaignSends"]


class PGCampaignSends(SQLiteCampaignSends):
    """Campaign sends whose claim locks the rows it takes and skips locked ones."""

    claim_lock = " FOR UPDATE OF s SKIP LOCKED"


register_postgres_repository("campaign_sends", PGCampaignSends)
