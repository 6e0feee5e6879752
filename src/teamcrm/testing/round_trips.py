"""Count the round trips a PostgreSQL store makes (for tests and benchmarks).

:func:`counting_round_trips` patches psycopg 3 while it is open and records
every round trip the process makes: a statement sent alone is one, and so
are all the statements of one pipeline (``Connection.pipeline``) or of one
``Cursor.executemany`` (psycopg pipelines its rows).  The count does not
drift with the machine's load, so a test can hold a call to it.

>>> from teamcrm.testing.round_trips import counting_round_trips
>>> with counting_round_trips() as trips:  # doctest: +SKIP
...     session.log_interaction(contact_id, kind="call")
>>> len(trips)  # doctest: +SKIP
5
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["counting_round_trips"]


@contextlib.contextmanager
def counting_round_trips() -> Iterator[list[list[str]]]:
    """Yield a list that receives, per round trip made inside, the text of its statements.

    Needs psycopg 3 (the ``postgres`` extra).  Not thread-safe: it patches
    the driver's classes for the whole process until the block ends.
    """
    import psycopg

    trips: list[list[str]] = []
    depth = [0]
    execute, pipeline = psycopg.Connection.execute, psycopg.Connection.pipeline
    executemany = psycopg.Cursor.executemany

    def sent(query: Any) -> None:
        if not depth[0]:  # alone: a round trip of its own
            trips.append([])
        trips[-1].append(str(query))

    def counted_execute(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        sent(query)
        return execute(self, query, params, **kw)

    def counted_executemany(self: Any, query: Any, rows: Any, **kw: Any) -> Any:
        sent(query)
        depth[0] += 1  # psycopg pipelines the rows: one round trip
        try:
            return executemany(self, query, rows, **kw)
        finally:
            depth[0] -= 1

    @contextlib.contextmanager
    def counted_pipeline(self: Any) -> Iterator[Any]:
        if not depth[0]:
            trips.append([])
        depth[0] += 1
        try:
            with pipeline(self) as p:
                yield p
        finally:
            depth[0] -= 1

    patched = {
        (psycopg.Connection, "execute"): counted_execute,
        (psycopg.Connection, "pipeline"): counted_pipeline,
        (psycopg.Cursor, "executemany"): counted_executemany,
    }
    originals = {key: getattr(*key) for key in patched}
    try:
        for (cls, name), replacement in patched.items():
            setattr(cls, name, replacement)
        yield trips
    finally:
        for (cls, name), original in originals.items():
            setattr(cls, name, original)
