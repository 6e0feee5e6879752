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
:mod:`teamcrm.adapters.sql.campaigns`; their tables are
shared migrations (:mod:`teamcrm.adapters.sql.schema`) and they are registered
in :mod:`teamcrm.adapters.sql.repositories`; this module re-exports them under
their old import path.
"""

from __future__ import annotations

from teamcrm.adapters.sql.campaigns import SEND_COLUMNS, SQLiteCampaigns, SQLiteCampaignSends

__all__ = ["SEND_COLUMNS", "SQLiteCampaignSends", "SQLiteCampaigns"]
