"""PostgreSQL campaign sends: the runner's claim skips rows other workers hold.

The shared repository's statements serve PostgreSQL too (built with its
dialect); only the claim differs: its inner ``SELECT`` locks the due sends
``FOR UPDATE OF s SKIP LOCKED``, so two workers claiming at once get
disjoint rows and rows being written right now are skipped, not waited for.
"""

from __future__ import annotations

from teamcrm.adapters.sql.campaigns import SEND_COLUMNS, SQLiteCampaignSends

__all__ = ["PGCampaignSends"]


class PGCampaignSends(SQLiteCampaignSends):
    """Campaign sends whose claim locks the rows it takes and skips locked ones."""

    claim_lock = " FOR UPDATE OF s SKIP LOCKED"
    # An ARRAY subquery is evaluated once; ``id IN (SELECT ... LIMIT n ...
    # SKIP LOCKED)`` may be rescanned as a semi-join and claim more than n rows.
    claim_sql = (
        "UPDATE campaign_sends SET lease_owner = ?, lease_until = ?, version = version + 1"
        " WHERE id = ANY(ARRAY(SELECT s.id FROM campaign_sends s JOIN campaigns c"
        " ON c.id = s.campaign_id AND c.state = 'running'"
        " WHERE s.state = 'pending' AND s.due_at <= ?"
        " AND (s.lease_until IS NULL OR s.lease_until <= ?)"
        " ORDER BY s.due_at, s.id LIMIT ?{lock}))"
        f" RETURNING {SEND_COLUMNS}"
    )
