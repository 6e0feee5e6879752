"""SQLite name search of contacts and companies, folded once, in Python.

Migration ``0230_name_words`` replaces the ``unicode61`` index of
``0200_views`` (whose own accent folding differs from
:func:`teamcrm.search.fold` outside the Latin script: it missed "Андрей",
"Алёна" and "Γιώργος") by two FTS5 tables with the ``trigram`` tokenizer,
case-sensitive, that hold :func:`teamcrm.search.name_text` of each name:

* ``contact_words`` keyed by the contact's rowid, kept by triggers on
  ``contacts``;
* ``company_words`` keyed by the company's rowid, kept by triggers on
  ``companies``.

The triggers call ``teamcrm_name_text(first, last)``, the Python function
:func:`teamcrm.search.name_text` that every connection of the store
registers (:func:`register_functions`; a tool writing contacts through its
own connection must register it too, or its inserts fail loudly).  SQLite
only compares characters: a name query is ``words GLOB '*<needle>*'`` with
:func:`teamcrm.search.name_needle`, which FTS5 answers from its trigram
index, then checks against the stored text.  So a search returns exactly
what :func:`teamcrm.search.name_matches` accepts.
"""

from __future__ import annotations

from collections.abc import Sequence

from teamcrm.adapters.sql.company_search import CompanySearch
from teamcrm.adapters.sqlite.connection import register_functions
from teamcrm.adapters.sqlite.migrations import register_migration
from teamcrm.adapters.sqlite.name_words import name_word_bounds, word_source
from teamcrm.search import name_needle

__all__ = ["NameSearch", "name_glob", "register_functions"]


def name_glob(prefix: Sequence[str]) -> str:
    """The GLOB pattern of a folded name prefix (words hold no GLOB wildcard)."""
    return "*" + name_needle(prefix) + "*"


def _words_table(table: str, source: str, first: str, last: str) -> tuple[str, ...]:
    empty = "''"
    text_new = f"teamcrm_name_text(new.{first}, {'new.' + last if last else empty})"
    text_all = f"teamcrm_name_text({first}, {last or empty})"
    return (
        f"CREATE VIRTUAL TABLE {table} USING fts5(words, tokenize='trigram case_sensitive 1')",
        f"""CREATE TRIGGER {table}_insert AFTER INSERT ON {source} BEGIN
            INSERT INTO {table} (rowid, words) VALUES (new.rowid, {text_new});
        END""",
        f"""CREATE TRIGGER {table}_update AFTER UPDATE OF {first}{", " + last if last else ""}
            ON {source} BEGIN
            DELETE FROM {table} WHERE rowid = old.rowid;
            INSERT INTO {table} (rowid, words) VALUES (new.rowid, {text_new});
        END""",
        f"""CREATE TRIGGER {table}_delete AFTER DELETE ON {source} BEGIN
            DELETE FROM {table} WHERE rowid = old.rowid;
        END""",
        f"INSERT INTO {table} (rowid, words) SELECT rowid, {text_all} FROM {source}",
    )


register_migration(
    "0230_name_words",
    "DROP TRIGGER IF EXISTS contact_names_insert",
    "DROP TRIGGER IF EXISTS contact_names_update",
    "DROP TRIGGER IF EXISTS contact_names_delete",
    "DROP TABLE IF EXISTS contact_names",
    *_words_table("contact_words", "contacts", "first_name", "last_name"),
    *_words_table("company_words", "companies", "name", ""),
    "CREATE INDEX companies_by_team_created_id ON companies (team_id, created_at, id)",
)

#: Statistics for the planner from the start (``PRAGMA optimize`` keeps them fresh:
#: the store runs it when it opens and closes).
register_migration("0240_statistics", "ANALYZE")

#: Company search by domain reads an index of the team's domains as compared
#: (``lower`` folds ASCII letters only, as :func:`teamcrm.search.ascii_lower`);
#: PostgreSQL's version of ``0470`` also indexes company names with pg_trgm
#: (:mod:`teamcrm.adapters.postgres.company_names`).
register_migration(
    "0470_company_search",
    "CREATE INDEX companies_by_team_domain ON companies (team_id, lower(domain))",
    "ANALYZE companies",
)


class NameSearch(CompanySearch):
    """SQLite's name criterion of contact and company search (a base of the views)."""

    def _name_criterion(self, prefix: Sequence[str]) -> tuple[str, str, str]:
        """A name-prefix criterion: (filter on ``c``, driving source, the ``:fts`` value).

        The driving source yields the matching contacts joined as ``c``,
        from one range of ``contact_name_words`` (``0460``, with the
        parameters of :meth:`_name_params`); the filter checks the stored
        name text of a contact driven by another criterion.
        """
        return (
            "(SELECT x.words FROM contact_words x WHERE x.rowid = c.rowid) GLOB :fts",
            f"({word_source('contact_name_words', 'contact_rowid', 'contact_words', prefix)}) d"
            f" {self._dialect.fixed_join} contacts c ON c.rowid = d.rid",
            name_glob(prefix),
        )

    def _name_params(self, prefix: Sequence[str]) -> dict[str, str]:
        """The word range a name criterion's driving source reads (``:nlow``, ``:nhigh``)."""
        low, high = name_word_bounds(prefix)
        return {"nlow": low, "nhigh": high}

    def _company_name_source(self, prefix: Sequence[str]) -> str:
        """The driving source of a company name criterion (companies joined as ``c``)."""
        return (
            f"({word_source('company_name_words', 'company_rowid', 'company_words', prefix)}) d"
            f" {self._dialect.fixed_join} companies c ON c.rowid = d.rid"
        )

    def _domain_filter(self) -> str:
        """The domain criterion on ``c`` (``:domain`` is ASCII-lower-cased)."""
        return "lower(c.domain) = :domain"
