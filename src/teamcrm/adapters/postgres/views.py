"""PostgreSQL contacts and search: the name index, custom-field criteria, contact locks.

The SQLite store indexes names with an FTS5 virtual table kept by triggers;
PostgreSQL keeps ``contact_names (contact_id, team_id, words)`` instead:
the contact's name as :func:`teamcrm.search.tokens` folds it, between
spaces (``" mary ann o brien "``), written by :class:`PGContacts` in the
same statements batch as the contact.  A name-prefix query ``"ann o"``
matches ``words LIKE '% ann o%'`` (whole words, the last one a prefix:
exactly :func:`teamcrm.search.name_matches`); the search finds its
candidates in the name-word B-tree of ``0480_postgres_name_words``
(:mod:`teamcrm.adapters.postgres.name_words`) and checks the pattern on
each one's row.  Custom fields are compared
as ``jsonb`` (``1`` equals ``1.0``, ``true`` never equals ``1``).
Companies are searched the same way through ``company_names`` and by
domain through an expression index (migration ``0470_company_search``,
:mod:`teamcrm.adapters.postgres.company_names`).

The agent grid: the SQLite store ranks over ``lead_grid``, a table its
triggers keep (migration ``0210_lead_grid``).  PostgreSQL has no such table
(its version of ``0210_lead_grid`` only records the choice in a comment on
``leads``): :meth:`PGViews.grid_page` reads the facts of every matching open
lead with the shared query and keeps the worst with
:func:`teamcrm.views.worst_grid_facts`, the reference ranking.  Exact, and
linear in the open leads of the team or pool.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

from teamcrm.adapters.postgres.migrations import register_postgres_migration
from teamcrm.adapters.postgres.name_words import name_word_params, word_source
from teamcrm.adapters.postgres.repositories import PGContacts as _LockingContacts
from teamcrm.adapters.postgres.repositories import context, pg, writing
from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import dumps
from teamcrm.adapters.sql.company_search import CompanySearch
from teamcrm.adapters.sql.contacts import replaced
from teamcrm.adapters.sql.ddl import POSTGRES_SCHEMA
from teamcrm.adapters.sql.filters import field_source
from teamcrm.adapters.sql.schema.views import views_tables
from teamcrm.adapters.sql.views import SQLViews
from teamcrm.contact import Contact
from teamcrm.errors import NotFound
from teamcrm.ids import ContactId, TeamId
from teamcrm.search import tokens
from teamcrm.views import grid_page_from_facts

__all__ = ["PGContacts", "PGViews", "domain_key", "name_like", "name_words", "write_names"]

#: The PostgreSQL name index (instead of the FTS5 table of ``0200_views``).
NAMES_TABLE = """CREATE TABLE contact_names (
    contact_id TEXT COLLATE "C" PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    team_id TEXT COLLATE "C" NOT NULL,
    words TEXT COLLATE "C" NOT NULL
)"""

register_postgres_migration(
    "0200_views",
    *views_tables(POSTGRES_SCHEMA),
    NAMES_TABLE,
    "CREATE INDEX contact_names_by_team ON contact_names (team_id)",
)

#: PostgreSQL keeps ``contact_names`` (written by :class:`PGContacts`); companies
#: get ``company_names`` in ``0470_company_search`` (:mod:`.company_names`).
register_postgres_migration(
    "0230_name_words",
    "CREATE INDEX companies_by_team_created_id ON companies (team_id, created_at, id)",
)

#: Statistics for this schema's tables only: a bare ``ANALYZE`` reads every
#: table of the database, every other schema's too, and two stores migrating
#: side by side in one database deadlocked on each other's tables.
ANALYZE_THIS_SCHEMA = """DO $$
DECLARE t record;
BEGIN
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
        EXECUTE format('ANALYZE %I', t.tablename);
    END LOOP;
END $$"""
register_postgres_migration("0240_statistics", ANALYZE_THIS_SCHEMA)

#: SQLite's word B-trees (``contact_name_words``, ``company_name_words``) came to
#: PostgreSQL later, as ``0480_postgres_name_words`` (:mod:`.name_words`); this
#: version of ``0460`` only left a comment, and databases record it as applied.
register_postgres_migration(
    "0460_name_word_index",
    "COMMENT ON TABLE companies IS 'no name-word index on PostgreSQL"
    " (SQLite migration 0460 adds contact_name_words and company_name_words)'",
)

#: No ``lead_grid`` table (its SQLite triggers have no translation): the grid ranks the facts.
register_postgres_migration(
    "0210_lead_grid",
    "COMMENT ON TABLE leads IS 'agent grid: ranked from the facts of the open leads"
    " (no lead_grid table on PostgreSQL)'",
)
register_postgres_migration(
    "0211_lead_grid_rank",
    "COMMENT ON TABLE leads IS 'agent grid: ranked from the facts of the open leads"
    " (no lead_grid table on PostgreSQL; 0211 reshaped the SQLite one)'",
)


def name_words(first_name: str, last_name: str) -> str:
    """The indexed text of a contact's name: its folded words between spaces."""
    return " " + " ".join(tokens(f"{first_name} {last_name}")) + " "


def name_like(prefix: Sequence[str]) -> str:
    """The ``LIKE`` pattern of a folded name *prefix* against :func:`name_words` text.

    Whole words but the last, which begins a word: ``("ann", "o")`` gives
    ``"% ann o%"`` (words hold only letters and digits, never ``%`` or ``_``).
    """
    return "% " + " ".join(prefix) + "%"


def domain_key(column: str) -> str:
    """SQL: *column* with only its ASCII letters lower-cased (:func:`teamcrm.search.ascii_lower`).

    The same expression in the search and in the index of ``0470_company_search``.
    """
    upper, lower = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
    return f"translate({column}, '{upper}', '{lower}')"


def write_names(repository: SQLRepository, contacts: Sequence[Contact]) -> None:
    """Insert or replace the name-index rows of *contacts*."""
    if not contacts:
        return
    pg(repository).run(
        "INSERT INTO contact_names (contact_id, team_id, words)"
        " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[])"
        " ON CONFLICT (contact_id) DO UPDATE SET words = excluded.words",
        (
            [c.id for c in contacts],
            [c.team_id for c in contacts],
            [name_words(c.first_name, c.last_name) for c in contacts],
        ),
    )


class PGContacts(_LockingContacts):
    """Contacts, keeping the name index in step; ``get_for_update`` locks the row.

    ``lock`` (the base class) takes key-share or exclusive locks on several
    contacts without reading them (units that add rows pointing at contacts,
    and ``delete_contact``); ``get_for_update`` locks one and reads it.

    A writing unit that reads a contact for update (``SELECT ... FOR
    UPDATE``) holds it until it commits: units changing one contact take
    turns from that read, so a read-modify-write (``update_contact``,
    ``add_phone``...) never loses a concurrent change and its version check
    never fails on a row changed since its read.
    """

    @translated
    def get(self, team_id: TeamId, contact_id: ContactId) -> Contact:
        """Return the contact or raise ``NotFound`` (a writing unit remembers it)."""
        contact = super().get(team_id, contact_id)
        if writing(self):
            context(self).seen_contacts[contact.id] = contact
        return contact

    @translated
    def get_many(self, team_id: TeamId, contact_ids: Iterable[ContactId]) -> list[Contact]:
        """Return the contacts that exist among *contact_ids* (a writing unit remembers them)."""
        found = super().get_many(team_id, contact_ids)
        if writing(self):
            context(self).seen_contacts.update((c.id, c) for c in found)
        return found

    @translated
    def get_for_update(self, team_id: TeamId, contact_id: ContactId) -> Contact:
        """Return the contact, locked until commit in a writing unit, or raise ``NotFound``.

        The lock is taken by a statement of its own, which reads the row's
        version, and the contact read by the next one: under READ COMMITTED a
        locking read that waited for another unit re-reads the locked row as
        committed, but its subqueries (emails, phones, companies) would still
        see the rows as they were when the statement began, i.e. before that
        unit's change.  When this unit already read the contact at that
        version (``get``, ``get_many``), that read is returned without asking
        again: every change of a contact or of its emails, phones or company
        links bumps its version.
        """
        if writing(self):
            locked = self._conn.execute(
                "SELECT version FROM contacts WHERE id = ? AND team_id = ? FOR UPDATE",
                (contact_id, team_id),
            ).fetchone()
            if locked is None:
                raise NotFound(self.kind, contact_id)
            ctx = context(self)
            seen = ctx.seen_contacts.get(contact_id)
            contact = (
                seen
                if seen is not None and seen.version == locked[0]
                else self.get(team_id, contact_id)
            )
            ctx.held_contacts[contact.id] = contact.version
            return contact
        return self.get(team_id, contact_id)

    def add_many(self, contacts: Sequence[Contact]) -> None:
        """Insert many new contacts (all or none) and their name-index rows."""
        super().add_many(contacts)
        translated(write_names)(self, contacts)

    @translated
    def update(self, contact: Contact, *, previous: Contact | None = None) -> None:
        """Replace the stored contact whose version is ``contact.version - 1``.

        With *previous* (see :meth:`SQLiteContacts.update`) the child rows
        that did not change are left, and so is the name-index row when the
        name did not change (its words' triggers then have nothing to do).

        Inside the unit's ``send_later()`` block, a contact this unit holds
        locked at that version (read by ``get_for_update``) is written with
        the unit's next round trip: nobody else can change or delete the row
        meanwhile, so the versioned update cannot miss it.
        """
        ctx = context(self)
        conn = ctx.pg
        held = ctx.held_contacts.get(contact.id)
        later = conn.sending_later and held == contact.version - 1
        with conn.queueing(self.kind, contact.id) if later else contextlib.nullcontext():
            super().update(contact, previous=previous)
            before = replaced(contact, previous)
            if before is None or (before.first_name, before.last_name) != (
                contact.first_name,
                contact.last_name,
            ):
                write_names(self, [contact])
        if held is not None:
            ctx.held_contacts[contact.id] = contact.version

    def _holds(self, key: str, version: int) -> bool:
        """True for a contact this unit read for update (locked) and has at *version*."""
        return context(self).held_contacts.get(key) == version

    @translated
    def delete(self, team_id: TeamId, contact_id: ContactId, version: int) -> None:
        """Delete the contact if its version is *version* (it is no longer held)."""
        super().delete(team_id, contact_id, version)
        context(self).held_contacts.pop(contact_id, None)


class PGViews(CompanySearch, SQLViews):
    """The shared search, grid and insight queries with PostgreSQL name and JSON criteria."""

    def _name_criterion(self, prefix: Sequence[str]) -> tuple[str, str, str]:
        """Driven: one range of ``contact_name_words`` (``0480``); as a filter: the name row."""
        source = word_source("contact_name_words", "contact_id", "contact_names", prefix)
        return (
            "(SELECT n.words FROM contact_names n WHERE n.contact_id = c.id) LIKE :fts",
            f"({source}) d JOIN contacts c ON c.id = d.cid",
            name_like(prefix),
        )

    def _name_params(self, prefix: Sequence[str]) -> dict[str, str]:
        """``:fts`` (:func:`name_like`) and the word range (for contacts and companies)."""
        return {"fts": name_like(prefix), **name_word_params(prefix)}

    def _company_name_source(self, prefix: Sequence[str]) -> str:
        """The companies whose names match: one range of ``company_name_words`` (``0480``)."""
        source = word_source("company_name_words", "company_id", "company_names", prefix)
        return f"({source}) d JOIN companies c ON c.id = d.cid"

    def _domain_filter(self) -> str:
        return f"{domain_key('c.domain')} = :domain"

    #: Every matching lead's facts, ranked in Python by the reference ranking.
    grid_page = grid_page_from_facts

    def _field_source(
        self, field: str, value: Any, params: dict[str, Any]
    ) -> tuple[str, list[str]]:
        source, where = field_source(self._dialect, field, value, params, ":cvalue::jsonb")
        if value is not None:
            params["cvalue"] = dumps(value)
        return source, where

    def _custom_criterion(self, field: str, value: Any, params: dict[str, Any]) -> list[str]:
        params["cfield"] = field
        if value is None:
            return ["jsonb_exists(c.custom_fields::jsonb, :cfield)"]
        params["cjson"] = dumps(value)
        return ["(c.custom_fields::jsonb -> :cfield) = :cjson::jsonb"]
