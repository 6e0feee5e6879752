"""SQLite name search through a B-tree of name words (issue 17).

The trigram indexes of ``0230_name_words`` (:mod:`teamcrm.adapters.sqlite.names`)
answer a name query by intersecting the doclists of every trigram of the
needle.  Names share most trigrams (``"^jo"``, ``"son"``, ``"ing"``...), so
a query reads into long doclists in every FTS5 segment, and its cost grew
about 4x from 10,000 to 1,000,000 contacts (and 3x from 1,000 to 100,000
companies) although it found one row.

Migration ``0460_name_word_index`` adds two tables, one row per distinct
word of :func:`teamcrm.search.name_text` of each name:

* ``contact_name_words (team_id, word, contact_rowid)``, kept by triggers on
  ``contacts`` (insert, update of the names or the team, delete);
* ``company_name_words (team_id, word, company_rowid)``, kept by triggers on
  ``companies``.

Both are ``WITHOUT ROWID`` tables keyed by ``(team_id, word, rowid)``.  The
words come from ``teamcrm_name_text`` (the folding done once, in Python, for
every store): its text ``" ^w1 ^w2"`` becomes the JSON array ``["w1","w2"]``
in SQL (words are runs of letters and digits, so they need no escaping).

A query's words (:func:`teamcrm.search.name_needle`) are consecutive words
of the name: every word but the last is a whole word, the last begins one.
So a query of one word reads the range of words that begin with it, which
is exactly the match; a query of several words reads the contacts holding
its longest whole word (an equality in the index) and checks the needle
against the stored name text (the ``GLOB`` of the trigram search, on the
FTS5 table's content by rowid).  Either way the work is one index range and
the rows it holds, whatever the size of the team.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from teamcrm.adapters.sql.name_words import name_word_bounds
from teamcrm.adapters.sqlite.migrations import register_migration

__all__ = ["BACKFILL", "name_word_bounds", "word_source"]

#: Per word table, the statement that fills it from every row of its source table
#: (``s``; a bulk loader may add ``WHERE s.rowid > ?``).
BACKFILL: dict[str, str] = {}


def _words_json(text: str) -> str:
    """SQL: the JSON array of the words of a :func:`teamcrm.search.name_text` value."""
    return (
        f"CASE WHEN {text} = '' THEN '[]'"
        f" ELSE '[\"' || replace(substr({text}, 3), ' ^', '\",\"') || '\"]' END"
    )


def _word_triggers(table: str, source: str, key: str, first: str, last: str) -> tuple[str, ...]:
    empty = "''"

    def fill(row: str) -> str:
        name = f"teamcrm_name_text({row}.{first}, {row + '.' + last if last else empty})"
        return (
            f"INSERT OR IGNORE INTO {table} (team_id, word, {key})"
            f" SELECT {row}.team_id, j.value, {row}.rowid"
            f" FROM (SELECT {name} AS t) n, json_each({_words_json('n.t')}) j"
        )

    def drop(row: str) -> str:
        name = f"teamcrm_name_text({row}.{first}, {row + '.' + last if last else empty})"
        return (
            f"DELETE FROM {table} WHERE team_id = {row}.team_id AND {key} = {row}.rowid"
            f" AND word IN (SELECT j.value FROM (SELECT {name} AS t) n,"
            f" json_each({_words_json('n.t')}) j)"
        )

    columns = f"{first}, {last + ', ' if last else ''}team_id"
    words = _words_json(f"teamcrm_name_text(s.{first}, {'s.' + last if last else empty})")
    BACKFILL[table] = (
        f"INSERT OR IGNORE INTO {table} (team_id, word, {key})"
        f" SELECT s.team_id, j.value, s.rowid FROM {source} s, json_each({words}) j"
    )
    return (
        f"""CREATE TABLE {table} (
            team_id TEXT NOT NULL,
            word TEXT NOT NULL,
            {key} INTEGER NOT NULL,
            PRIMARY KEY (team_id, word, {key})
        ) WITHOUT ROWID""",
        f"CREATE TRIGGER {table}_insert AFTER INSERT ON {source} BEGIN {fill('new')}; END",
        f"""CREATE TRIGGER {table}_update AFTER UPDATE OF {columns} ON {source} BEGIN
            {drop("old")};
            {fill("new")};
        END""",
        f"CREATE TRIGGER {table}_delete AFTER DELETE ON {source} BEGIN {drop('old')}; END",
        BACKFILL[table],
    )


register_migration(
    "0460_name_word_index",
    *_word_triggers("contact_name_words", "contacts", "contact_rowid", "first_name", "last_name"),
    *_word_triggers("company_name_words", "companies", "company_rowid", "name", ""),
    "ANALYZE contact_name_words",
    "ANALYZE company_name_words",
)


def _postgres_only(conn: sqlite3.Connection) -> None:
    """Nothing to do on SQLite: ``0460`` already made its word tables."""


#: PostgreSQL's name-word tables (:mod:`teamcrm.adapters.postgres.name_words`).  Its
#: ``0460`` only left a comment, and databases already record it: the tables come
#: under a name of their own, which SQLite records too (both stores know the same
#: migrations) with nothing to do.
register_migration("0480_postgres_name_words", apply=_postgres_only)


def word_source(table: str, key: str, words: str, prefix: Sequence[str]) -> str:
    """SQL yielding ``rid``: the rowids of the names that match *prefix*.

    Reads the ``:nlow``/``:nhigh`` range (:func:`name_word_bounds`) of
    *table*'s index for ``:team``; with several words, checks ``:fts`` (the
    needle's ``GLOB``) against the name text held by the FTS5 table *words*.
    """
    check = (
        ""
        if len(prefix) == 1
        else f" AND (SELECT x.words FROM {words} x WHERE x.rowid = w.{key}) GLOB :fts"
    )
    return (
        f"SELECT DISTINCT w.{key} AS rid FROM {table} w WHERE w.team_id = :team"
        f" AND w.word >= :nlow AND w.word < :nhigh{check}"
    )
