"""Moving a team's SQLite database into PostgreSQL (``teamcrm migrate``).

Both stores hold the same tables (PostgreSQL runs the SQLite migrations,
translated), so the move is a bulk copy, table by table, with ``COPY``:

1. the source is opened as a :class:`~teamcrm.adapters.sqlite.SQLiteStore`
   (an older file is upgraded in place first) and the target as a
   :class:`~teamcrm.adapters.postgres.PostgresStore` (its schema is created);
2. a target that already holds any row is refused (nothing is merged), so
   running the command twice never copies twice;
3. every table of the target schema except the migration record is copied,
   parents before the tables that reference them, in **one** PostgreSQL
   transaction (all or nothing), keeping SQLite's ``rowid`` and the outbox
   ``seq`` (identity counters are moved past them);
4. the row count of every table is compared on both sides before the
   transaction commits; any difference rolls everything back.

Indexes kept in tables of their own differ between the stores (SQLite's
FTS5 name index, PostgreSQL's ``contact_names`` and ``company_names``): they are not copied but
rebuilt from the copied contacts; ``contact_fields`` is filled by its trigger
as the contacts are copied, and the name-word tables (``contact_name_words``,
``company_name_words``) by theirs as the name tables are rebuilt: they are only
counted, after every other table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import attrs
import psycopg

from teamcrm.adapters.postgres.connection import check_url, translate_error
from teamcrm.adapters.postgres.store import PostgresStore
from teamcrm.adapters.postgres.views import name_words
from teamcrm.adapters.sqlite.connection import connect, parse_url
from teamcrm.adapters.sqlite.migrations import MIGRATIONS_TABLE
from teamcrm.adapters.sqlite.store import SQLiteStore
from teamcrm.errors import StoreError, ValidationError

__all__ = ["TableCount", "TransferReport", "copy_sqlite_to_postgres", "tables_in_order"]


@attrs.frozen(kw_only=True)
class TableCount:
    """Rows of one table in the source and in the target after the copy."""

    table: str
    source: int
    target: int


@attrs.frozen(kw_only=True)
class TransferReport:
    """What :func:`copy_sqlite_to_postgres` copied, table by table."""

    tables: tuple[TableCount, ...]

    @property
    def rows(self) -> int:
        """Rows copied in all."""
        return sum(t.target for t in self.tables)

    @property
    def verified(self) -> bool:
        """True when every table has as many rows in the target as in the source."""
        return all(t.source == t.target for t in self.tables)


def tables_in_order(pg: psycopg.Connection[Any]) -> list[str]:
    """The target's tables, each after the tables its foreign keys point to."""
    names = [
        r[0]
        for r in pg.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            " AND table_name <> %s ORDER BY table_name",
            (MIGRATIONS_TABLE,),
        )
    ]
    parents: dict[str, set[str]] = {n: set() for n in names}
    for child, parent in pg.execute(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c"
        " JOIN pg_namespace n ON n.oid = c.connamespace"
        " WHERE c.contype = 'f' AND n.nspname = current_schema()"
    ):
        if child in parents and parent in parents and parent != child:
            parents[child].add(parent)
    ordered: list[str] = []
    while parents:
        ready = sorted(n for n, ps in parents.items() if not ps - set(ordered))
        if not ready:  # pragma: no cover - a cycle of foreign keys
            raise StoreError(f"the tables {sorted(parents)} reference each other in a cycle")
        ordered.extend(ready)
        for n in ready:
            del parents[n]
    return ordered


def _columns(pg: psycopg.Connection[Any], table: str) -> list[str]:
    return [
        r[0]
        for r in pg.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            (table,),
        )
    ]


def _copy_table(
    src: sqlite3.Connection, pg: psycopg.Connection[Any], table: str
) -> tuple[int, int]:
    target_cols = _columns(pg, table)
    source_cols = [r[1] for r in src.execute(f'PRAGMA table_info("{table}")')]
    if not source_cols:
        raise StoreError(f"the SQLite database has no table {table!r}")
    with_rowid = "rowid" in target_cols and "rowid" not in source_cols
    cols = [c for c in target_cols if c in source_cols]
    missing = [c for c in target_cols if c not in source_cols and c != "rowid"]
    if missing or set(source_cols) - set(cols):
        raise StoreError(
            f"table {table!r} differs between the databases (source {source_cols},"
            f" target {target_cols}); open both with the same release of teamcrm"
        )
    select = ", ".join(f'"{c}"' for c in cols)
    copied = [*cols, "rowid"] if with_rowid else cols
    order = " ORDER BY rowid" if with_rowid else ""
    rows = src.execute(f'SELECT {select}{", rowid" if with_rowid else ""} FROM "{table}"{order}')
    quoted = ", ".join(f'"{c}"' for c in copied)
    with pg.cursor().copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
    for col in ("rowid", "seq"):
        if col in copied:
            pg.execute(
                "SELECT setval(pg_get_serial_sequence(%s, %s),"
                f' coalesce((SELECT max("{col}") FROM "{table}"), 0) + 1, false)',
                (table, col),
            )
    source_count = src.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    target_count = pg.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    return (int(source_count[0]) if source_count else 0), (
        int(target_count[0]) if target_count else 0
    )


def _rebuild_names(src: sqlite3.Connection, pg: psycopg.Connection[Any]) -> tuple[int, int]:
    rows = src.execute("SELECT id, team_id, first_name, last_name FROM contacts ORDER BY rowid")
    with pg.cursor().copy("COPY contact_names (contact_id, team_id, words) FROM STDIN") as copy:
        for cid, tid, first, last in rows:
            copy.write_row((cid, tid, name_words(first, last)))
    source = src.execute("SELECT count(*) FROM contacts").fetchone()
    target = pg.execute("SELECT count(*) FROM contact_names").fetchone()
    return (int(source[0]) if source else 0), (int(target[0]) if target else 0)


def _rebuild_company_names(src: sqlite3.Connection, pg: psycopg.Connection[Any]) -> tuple[int, int]:
    rows = src.execute("SELECT id, team_id, name FROM companies ORDER BY rowid")
    with pg.cursor().copy("COPY company_names (company_id, team_id, words) FROM STDIN") as copy:
        for coid, tid, name in rows:
            copy.write_row((coid, tid, name_words(name, "")))
    source = src.execute("SELECT count(*) FROM companies").fetchone()
    target = pg.execute("SELECT count(*) FROM company_names").fetchone()
    return (int(source[0]) if source else 0), (int(target[0]) if target else 0)


def _count_fields(src: sqlite3.Connection, pg: psycopg.Connection[Any]) -> tuple[int, int]:
    """``contact_fields`` was filled by its trigger as the contacts were copied: compare."""
    source = src.execute("SELECT count(*) FROM contact_fields").fetchone()
    target = pg.execute("SELECT count(*) FROM contact_fields").fetchone()
    return (int(source[0]) if source else 0), (int(target[0]) if target else 0)


def _count_words(
    table: str,
) -> Callable[[sqlite3.Connection, psycopg.Connection[Any]], tuple[int, int]]:
    """Compare *table*, filled by its trigger as the name tables were rebuilt."""

    def count(src: sqlite3.Connection, pg: psycopg.Connection[Any]) -> tuple[int, int]:
        source = src.execute(f"SELECT count(*) FROM {table}").fetchone()
        target = pg.execute(f"SELECT count(*) FROM {table}").fetchone()
        return (int(source[0]) if source else 0), (int(target[0]) if target else 0)

    return count


#: Tables filled by triggers on other derived tables: counted last.
_COUNTED_LAST = ("contact_name_words", "company_name_words")

#: Tables rebuilt from copied rows instead of copied.
_DERIVED: dict[str, Callable[[sqlite3.Connection, psycopg.Connection[Any]], tuple[int, int]]] = {
    "contact_names": _rebuild_names,
    "company_names": _rebuild_company_names,
    "contact_fields": _count_fields,
    **{table: _count_words(table) for table in _COUNTED_LAST},
}


def copy_sqlite_to_postgres(
    source_url: str,
    target_url: str,
    *,
    progress: Callable[[TableCount], None] | None = None,
) -> TransferReport:
    """Copy every row of the SQLite database *source_url* into the empty *target_url*.

    Raises :class:`~teamcrm.errors.StoreError` (nothing written) when the
    target already holds rows or when any table's count differs after the
    copy; *progress* is called once per table copied.
    """
    source = parse_url(source_url)
    if source.path is None:
        raise ValidationError("source", source_url, "must be a SQLite file, not ':memory:'")
    check_url(target_url)
    # brings an older file up to this release; never makes a missing source
    SQLiteStore(source_url, create=False).close()
    PostgresStore(target_url, max_connections=1).close()  # creates the target schema
    src = connect(source)
    try:
        pg = psycopg.connect(check_url(target_url), autocommit=True)
    except psycopg.Error as exc:
        src.close()
        raise StoreError(f"cannot connect to the target PostgreSQL database: {exc}") from exc
    counts: list[TableCount] = []
    try:
        src.execute("BEGIN")  # one consistent snapshot of the source
        with pg.transaction():
            tables = sorted(tables_in_order(pg), key=lambda t: t in _COUNTED_LAST)
            for table in tables:
                if pg.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone() is not None:
                    raise StoreError(
                        f"the target database is not empty (table {table!r} has rows);"
                        " migrate into a new database or schema"
                    )
            for table in tables:
                rebuild = _DERIVED.get(table)
                if rebuild is not None:
                    source_rows, target_rows = rebuild(src, pg)
                else:
                    source_rows, target_rows = _copy_table(src, pg, table)
                count = TableCount(table=table, source=source_rows, target=target_rows)
                counts.append(count)
                if progress is not None:
                    progress(count)
            report = TransferReport(tables=tuple(counts))
            if not report.verified:
                raise StoreError(
                    "row counts differ after the copy; nothing was written: "
                    + ", ".join(f"{t.table} {t.source}->{t.target}" for t in report.tables)
                )
    except psycopg.Error as exc:
        raise translate_error(exc) from exc
    except sqlite3.Error as exc:
        raise StoreError(f"reading the SQLite database failed: {exc}") from exc
    finally:
        src.close()
        pg.close()
    return report
