"""SQLite's form of migration ``0300_no_dangling_rows``.

See :mod:`teamcrm.adapters.sql.schema.integrity`:

The shared clean-up, then a trigger removing the inbound-bucket choices of
a deleted bucket.
"""

from __future__ import annotations

from teamcrm.adapters.sql.migrations import register_migration
from teamcrm.adapters.sql.schema.integrity import CLEANUP

__all__ = ["CLEANUP"]

register_migration(
    "0300_no_dangling_rows",
    *CLEANUP,
    """CREATE TRIGGER buckets_drop_inbound AFTER DELETE ON buckets BEGIN
        DELETE FROM inbound_buckets WHERE team_id = old.team_id AND bucket_id = old.id;
    END""",
)
