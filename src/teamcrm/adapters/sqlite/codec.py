"""The row codec, moved to :mod:`teamcrm.adapters.sql.codec` (this path keeps working)."""

from teamcrm.adapters.sql.codec import EPOCH, dumps, from_micros, loads, optional_micros, to_micros

__all__ = ["EPOCH", "dumps", "from_micros", "loads", "optional_micros", "to_micros"]
