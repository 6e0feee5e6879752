"""PostgreSQL name search through a B-tree of name words (issue 17, ``0480``).

The ``pg_trgm`` GIN indexes of ``0431_name_trigrams`` and
``0470_company_search`` answer ``words LIKE '% ann o%'`` by reading the
posting list of every trigram of the query.  Names share most trigrams
(``" jo"``, ``"son"``...), so a query read more of them the larger the team:
its time grew 2.2-2.6x and its shared buffers 2x (contacts) and 4x
(companies) from 10,000 to 100,000 contacts.  SQLite had the same problem
and solved it with ``0460_name_word_index``
(:mod:`teamcrm.adapters.sqlite.name_words`); migration
``0480_postgres_name_words`` gives PostgreSQL the same index:

* ``contact_name_words (team_id, word, contact_id)``, one row per distinct
  word of each ``contact_names.words`` (the name as
  :func:`~teamcrm.adapters.postgres.views.name_words` folds it, in Python,
  the folding every store uses);
* ``company_name_words (team_id, word, company_id)`` from
  ``company_names.words``.

Both are keyed (and so ordered) by ``(team_id, word, id)``, ``COLLATE "C"``
(byte order, which is code point order in UTF-8).  The words are kept by
PL/pgSQL triggers on the name tables: the folded text holds the words
between single spaces, so splitting it is all the database does.  The rows
are written inside the statement that writes the name row (the library's
``INSERT ... SELECT FROM unnest(...)``, the ``COPY`` of ``teamcrm
migrate``), once per statement for new rows, so no writer gains a round
trip.  An update rewrites a row's words only when its name (or team)
changed; a deleted contact's name row goes by ``ON DELETE CASCADE`` and
takes its words with it.  The migration fills both tables
from the name rows already stored.

A query's words are consecutive words of the name, every one but the last
whole (:func:`teamcrm.search.name_matches`).  One word reads the range of
index words that begin with it (``word >= 'ann' AND word < 'ann' ||
U+10FFFF``), which is exactly the match.  Several words read the names that
hold the longest whole word (one key of the index) and check the ``LIKE``
pattern (:func:`~teamcrm.adapters.postgres.views.name_like`) against each
one's name row, found by its primary key.  Either way: one index range and
the rows it holds, whatever the size of the team.
"""

from __future__ import annotations

from collections.abc import Sequence

from teamcrm.adapters.postgres.migrations import register_postgres_migration
from teamcrm.adapters.sql.name_words import name_word_bounds

__all__ = ["BACKFILL", "name_word_params", "word_source"]

#: Per word table, the statement that fills it from every row of its name table.
BACKFILL: dict[str, str] = {}


def _words(text: str) -> str:
    """SQL: the words of a folded name text (``" mary ann "``) as rows of ``w``."""
    return f"unnest(string_to_array(btrim({text}), ' ')) AS w"


def _word_table(table: str, names: str, key: str) -> tuple[str, ...]:
    """The statements making *table* (the words of *names*, keyed by its *key*).

    New name rows get their words once per statement (a statement trigger
    reading the inserted rows: one set-based insert for a batch of contacts);
    a changed or deleted row's words are rewritten row by row.
    """
    function = f"teamcrm_{table}"
    BACKFILL[table] = (
        f"INSERT INTO {table} (team_id, word, {key})"
        f" SELECT n.team_id, w, n.{key} FROM {names} n, {_words('n.words')}"
        " ON CONFLICT DO NOTHING"
    )
    return (
        f"""CREATE TABLE {table} (
            team_id TEXT COLLATE "C" NOT NULL,
            word TEXT COLLATE "C" NOT NULL,
            {key} TEXT COLLATE "C" NOT NULL,
            PRIMARY KEY (team_id, word, {key})
        )""",
        f"""CREATE FUNCTION {function}_added() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {BACKFILL[table].replace(f"FROM {names} n", "FROM added n")};
            RETURN NULL;
        END $$""",
        f"""CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM {table} WHERE team_id = OLD.team_id AND {key} = OLD.{key}
                AND word = ANY (string_to_array(btrim(OLD.words), ' '));
            IF TG_OP = 'UPDATE' THEN
                INSERT INTO {table} (team_id, word, {key})
                    SELECT NEW.team_id, w, NEW.{key} FROM {_words("NEW.words")}
                    ON CONFLICT DO NOTHING;
            END IF;
            RETURN NULL;
        END $$""",
        f"CREATE TRIGGER {table}_insert AFTER INSERT ON {names} REFERENCING NEW TABLE AS added"
        f" FOR EACH STATEMENT EXECUTE FUNCTION {function}_added()",
        f"CREATE TRIGGER {table}_update AFTER UPDATE ON {names} FOR EACH ROW"
        " WHEN (OLD.words IS DISTINCT FROM NEW.words OR OLD.team_id IS DISTINCT FROM"
        f" NEW.team_id OR OLD.{key} IS DISTINCT FROM NEW.{key})"
        f" EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER {table}_delete AFTER DELETE ON {names} FOR EACH ROW"
        f" EXECUTE FUNCTION {function}()",
        BACKFILL[table],
        f"ANALYZE {table}",
    )


#: SQLite's word tables came with ``0460`` (it records ``0480`` with nothing to do);
#: PostgreSQL's version of ``0460`` only left the comment on ``companies`` that this
#: one removes.
register_postgres_migration(
    "0480_postgres_name_words",
    *_word_table("contact_name_words", "contact_names", "contact_id"),
    *_word_table("company_name_words", "company_names", "company_id"),
    "COMMENT ON TABLE companies IS NULL",
)


def name_word_params(prefix: Sequence[str]) -> dict[str, str]:
    """``:nlow`` and ``:nhigh``, the range of index words a query *prefix* reads.

    The same range as SQLite's (:func:`~teamcrm.adapters.sql.name_words.name_word_bounds`):
    the words that begin with a single query word, else the longest whole word.
    """
    low, high = name_word_bounds(prefix)
    return {"nlow": low, "nhigh": high}


def word_source(table: str, key: str, names: str, prefix: Sequence[str]) -> str:
    """SQL yielding ``cid``: the ids of the names of *table* that match *prefix*.

    Reads the ``:nlow``/``:nhigh`` range of *table*'s index for ``:team``;
    with several words, checks ``:fts`` (the ``LIKE`` pattern) against the
    name row of *names* by its primary key.
    """
    check = (
        ""
        if len(prefix) == 1
        else f" AND (SELECT n.words FROM {names} n WHERE n.{key} = w.{key}) LIKE :fts"
    )
    return (
        f"SELECT DISTINCT w.{key} AS cid FROM {table} w WHERE w.team_id = :team"
        f" AND w.word >= :nlow AND w.word < :nhigh{check}"
    )
