"""PostgreSQL enrolments: the runner's claim skips rows other workers hold.

The SQLite repository's statements serve PostgreSQL too (translated by the
dialect); only the claim differs.  PostgreSQL units run side by side, so the
claim's inner ``SELECT`` takes the due rows ``FOR UPDATE SKIP LOCKED``: two
workers claiming at once get disjoint rows, and rows a step unit is writing
right now are skipped instead of waited for.
"""

from __future__ import annotations

from teamcrm.adapters.sql.programs import ENROLMENT_COLUMNS, SQLiteEnrolments

__all__ = ["PGEnrolments"]


class PGEnrolments(SQLiteEnrolments):
    """Enrolments whose claim locks the rows it takes and skips locked ones."""

    claim_lock = " FOR UPDATE SKIP LOCKED"
    # ``id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)`` may be planned as a
    # semi-join that scans the subquery more than once, each time skipping the
    # rows it just locked: more than *n* rows claimed (seen in CI).  An ARRAY
    # subquery is evaluated once.
    claim_sql = (
        "UPDATE program_enrolments SET lease_owner = ?, lease_until = ?, version = version + 1"
        " WHERE id = ANY(ARRAY(SELECT id FROM program_enrolments WHERE state = 'active'"
        " AND due_at <= ? AND (lease_until IS NULL OR lease_until <= ?)"
        " ORDER BY due_at, id LIMIT ?{lock}))"
        f" RETURNING {ENROLMENT_COLUMNS}"
    )
