"""PostgreSQL enrolments: the runner's claim skips rows other workers hold.

The SQLite repository's statements serve PostgreSQL too (translated by the
dialect); only the claim differs.  PostgreSQL units run side by side, so the
claim's inner ``SELECT`` takes the due rows ``FOR UPDATE SKIP LOCKED``: two
workers claiming at once get disjoint rows, and rows a step unit is writing
right now are skipped instead of waited for.
"""

from __future__ import annotations

from teamcrm.adapters.postgres.store import register_postgres_repository
from teamcrm.adapters.sqlite.programs import SQLiteEnrolments

__all__ = ["PGEnrolments"]


class PGEnrolments(SQLiteEnrolments):
    """Enrolments whose claim locks the rows it takes and skips locked ones."""

    claim_lock = " FOR UPDATE SKIP LOCKED"


register_postgres_repository("enrolments", PGEnrolments)
