"""SQLite (and PostgreSQL) support for outbox consumers: one position row per consumer and team.

``consumer_positions`` holds, for each (consumer name, team), the ``seq`` of
the last outbox message the consumer handled and its live claim
(``claim_token``, ``claimed_until``).  A claim is one conditional upsert:
the database decides which worker may read the next batch, so several
processes can run :meth:`teamcrm.CRM.consume` under one name at once.

The repositories' code is shared with the PostgreSQL store and lives in
:mod:`teamcrm.adapters.sql.consumers`; this module keeps the SQLite
migrations, registers the repositories and re-exports them under their old
import path.
"""

from __future__ import annotations

from teamcrm.adapters.sql.consumers import SQLiteConsumerPositions
from teamcrm.adapters.sqlite.migrations import register_migration

__all__ = ["SQLiteConsumerPositions"]

register_migration(
    "0300_consumer_positions",
    """CREATE TABLE consumer_positions (
        consumer TEXT NOT NULL,
        team_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        claim_token TEXT,
        claimed_until INTEGER,
        PRIMARY KEY (consumer, team_id)
    ) WITHOUT ROWID""",
)
