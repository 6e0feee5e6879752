"""Entities rebuilt from rows the unit read before: the same row gives the same object.

A routed add reads the same few rows in every unit of work (the session's
member, the team, its members, the pool, the source and inbound buckets) and
rebuilt each entity from scratch every time: decoding JSON columns and
timestamps and building nested frozen objects cost more Python time than the
statements themselves.  The entities are frozen and hold only immutable values
(tuples, :class:`~teamcrm.validation.FrozenDict`, enums, datetimes) and each is
a pure function of its row (every column, ``version`` included), so a row seen
before can hand back the entity built from it then.

The memo is per builder and per process, bounded (cleared when full), and is
keyed by the whole row: a changed row (any column) is a different key, so an
entity is never stale.  A row that cannot be hashed is simply built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["MEMO_SIZE", "row_memo"]

T = TypeVar("T")

#: Rows remembered per builder before its memo is cleared.
MEMO_SIZE = 512


def row_memo(build: Callable[[Sequence[Any]], T]) -> Callable[[Sequence[Any]], T]:
    """Wrap the pure row-to-entity function *build* so an equal row returns the same entity."""
    memo: dict[tuple[Any, ...], T] = {}

    def built(row: Sequence[Any]) -> T:
        key = tuple(row)
        try:
            return memo[key]  # (a subscript, not a ``get`` call: the hit is the common case)
        except KeyError:
            pass
        except TypeError:  # an unhashable column value (e.g. decoded JSON)
            return build(row)
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        found = memo[key] = build(row)
        return found

    built.__doc__ = build.__doc__
    built.__name__ = getattr(build, "__name__", "built")
    built.__wrapped__ = build  # type: ignore[attr-defined]
    return built
