"""The core tables of the SQL stores: moved to :mod:`teamcrm.adapters.sql.schema.core`.

Kept so that old imports of this module still register the core migrations.
"""

from __future__ import annotations

__all__: list[str] = []
