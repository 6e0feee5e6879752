"""The ``intake_keys`` table: lead submissions taken in, by idempotency key.

Migration ``0300_intake_keys``; the primary key (team, key) is what makes a
repeated submission — even from two processes at once — create one contact
and one lead (see :mod:`teamcrm.intake`).

The repositories' code is shared with the PostgreSQL store and lives in
:mod:`teamcrm.adapters.sql.intake`; their tables are
shared migrations (:mod:`teamcrm.adapters.sql.schema`) and they are registered
in :mod:`teamcrm.adapters.sql.repositories`; this module re-exports them under
their old import path.
"""

from __future__ import annotations

from teamcrm.adapters.sql.intake import SQLiteIntake

__all__ = ["SQLiteIntake"]
