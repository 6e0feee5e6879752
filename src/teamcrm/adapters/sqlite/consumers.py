"""SQLite (and PostgreSQL) support for outbox consumers: one position row per consumer and team.

``consumer_positions`` holds, for each (consumer name, team), the ``seq`` of
the last outbox message the consumer handled and its live claim
(``claim_token``, ``claimed_until``).  A claim is one conditional upsert:
the database decides which worker may read the next batch, so several
processes can run :meth:`teamcrm.CRM.consume` under one name at once.

The repositories' code is shared with the PostgreSQL store and lives in
:mod:`teamcrm.adapters.sql.consumers`; their tables are
shared migrations (:mod:`teamcrm.adapters.sql.schema`) and they are registered
in :mod:`teamcrm.adapters.sql.repositories`; this module re-exports them under
their old import path.
"""

from __future__ import annotations

from teamcrm.adapters.sql.consumers import SQLiteConsumerPositions

__all__ = ["SQLiteConsumerPositions"]
