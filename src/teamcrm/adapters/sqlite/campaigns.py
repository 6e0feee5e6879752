"""The ``campaigns`` and ``campaign_sends`` tables (migration ``0440_campaigns``).

A campaign is stored as its JSON (made by :mod:`teamcrm.converter`) next to
its state, which the runner's claim reads.  Sends are plain columns:

* ``campaign_sends_one_per_contact`` - unique (campaign, contact): a contact
  gets one send per campaign, decided by the database (``INSERT OR IGNORE``);
* ``campaign_sends_due`` - pending rows by ``due_at``: what the runner
  claims.  :meth:`SQLiteCampaignSends.claim_due` is one ``UPDATE ...
  RETURNING`` in the caller's writing unit (SQLite's write lock makes
  concurrent claims take turns); PostgreSQL adds ``FOR UPDATE SKIP LOCKED``.

A deleted contact's sends go with it (``ON DELETE CASCADE``).

The repositories' code is shared with the PostgreSQL store and lives in
:mod:`teamcrm.adapters.sql.campaigns`; this module keeps the SQLite
migrations, registers the repositories and re-exports them under their old
import path.
"""

from __future__ import annotations

from teamcrm.adapters.sql.campaigns import SEND_COLUMNS, SQLiteCampaigns, SQLiteCampaignSends
from teamcrm.adapters.sqlite.migrations import register_migration

__all__ = ["SEND_COLUMNS", "SQLiteCampaignSends", "SQLiteCampaigns"]

register_migration(
    "0440_campaigns",
    """CREATE TABLE campaigns (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        state TEXT NOT NULL,
        data TEXT NOT NULL,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX campaigns_by_team ON campaigns (team_id, id)",
    """CREATE TABLE campaign_sends (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
        contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
        due_at INTEGER NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        attempts INTEGER NOT NULL,
        lease_owner TEXT,
        lease_until INTEGER,
        finished_at INTEGER,
        version INTEGER NOT NULL
    )""",
    "CREATE UNIQUE INDEX campaign_sends_one_per_contact"
    " ON campaign_sends (campaign_id, contact_id)",
    "CREATE INDEX campaign_sends_due ON campaign_sends (due_at, id) WHERE state = 'pending'",
    "CREATE INDEX campaign_sends_by_contact ON campaign_sends (contact_id)",
)
