"""Contacts with their emails, phones and company links (shared by both SQL stores).

:class:`ContactRows` and :func:`insert_rows` write many contacts in a few
multi-row statements (the import's bulk path).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from functools import cache
from typing import Any

from teamcrm.adapters.sql.base import Connection, SQLRepository, translated
from teamcrm.adapters.sql.codec import (
    dumps,
    from_micros,
    ids_json,
    loads,
    to_micros,
)
from teamcrm.adapters.sql.dialect import Dialect
from teamcrm.contact import Contact, EmailAddress, PhoneNumber
from teamcrm.errors import AlreadyExists, NotFound
from teamcrm.ids import CompanyId, ContactId, TeamId
from teamcrm.validation import FrozenDict, trusted_builder

__all__ = [
    "CONTACT_CREATED_AT",
    "CONTACT_WIDTH",
    "INSERT_CONTACT",
    "SQLITE_LIMIT_VARIABLE_NUMBER",
    "ContactRows",
    "SQLiteContacts",
    "contact_columns",
    "contact_from_row",
    "insert_rows",
    "replaced",
]


# ------------------------------------------------------------------ contacts
#: The columns of a contact row (on ``contacts c``) that :func:`contact_from_row`
#: decodes: the contact's own columns, then its emails, phones and company ids
#: as JSON arrays in position order.
@cache
def contact_columns(d: Dialect) -> str:
    """The columns of a contact row in dialect *d* (see :data:`CONTACT_COLUMNS`)."""
    emails = d.json_array_agg(
        d.json_array("e.address", "e.validated", "e.label", "e.bounced"), "e.position"
    )
    phones = d.json_array_agg(
        d.json_array("p.number", "p.validated", "p.label", "p.display"), "p.position"
    )
    companies = d.json_array_agg("k.company_id", "k.position")
    return f"""c.id, c.team_id, c.first_name, c.last_name, c.status, c.source,
       c.custom_fields, c.created_by, c.created_at, c.version, c.email_opt_out, c.opted_out_at,
       (SELECT {emails}
          FROM contact_emails e WHERE e.contact_id = c.id),
       (SELECT {phones}
          FROM contact_phones p WHERE p.contact_id = c.id),
       (SELECT {companies}
          FROM contact_companies k WHERE k.contact_id = c.id)"""


@cache
def _contact_select(d: Dialect) -> str:
    return f"""
SELECT {contact_columns(d)}
FROM contacts c"""


@cache
def _contacts_by_id(d: Dialect) -> str:
    # "+c.team_id": look contacts up by primary key, never by the team index
    # (which the planner otherwise prefers, scanning the whole team).
    return f"{_contact_select(d)} WHERE {d.ids_in('c.id')} AND {d.no_index('c.team_id')} = ?"


#: How many columns :data:`CONTACT_COLUMNS` selects: a query that selects more
#: after them finds its own at ``row[CONTACT_WIDTH]`` onwards.
CONTACT_WIDTH = 15


#: The position of ``created_at`` in :data:`CONTACT_COLUMNS`.
CONTACT_CREATED_AT = 8


_EMPTY = "[]"


_EMPTY_FIELDS = FrozenDict()


_build_contact = trusted_builder(Contact)


_build_email = trusted_builder(EmailAddress)


_build_phone = trusted_builder(PhoneNumber)


def contact_from_row(row: Sequence[Any]) -> Contact:
    """Rebuild a stored contact from the first columns of *row* (:data:`CONTACT_COLUMNS`).

    Extra columns after them are ignored.  The values were validated when the
    contact was written, so the entity is rebuilt without re-checking them.
    """
    cid, tid, first, last, status, source, custom, by, created, version, out, out_at, em, ph, co = (
        row[:CONTACT_WIDTH]
    )
    return _build_contact(
        id=cid,
        team_id=tid,
        first_name=first,
        last_name=last,
        status=status,
        source=source,
        custom_fields=_EMPTY_FIELDS if custom == "{}" else FrozenDict(loads(custom)),
        created_by=by,
        created_at=from_micros(created),
        version=version,
        emails=()
        if em == _EMPTY
        else tuple(
            _build_email(address=a, validated=bool(v), label=lb, bounced=bool(b))
            for a, v, lb, b in loads(em)
        ),
        phones=()
        if ph == _EMPTY
        else tuple(
            _build_phone(number=n, validated=bool(v), label=lb, display=d)
            for n, v, lb, d in loads(ph)
        ),
        company_ids=() if co == _EMPTY else tuple(loads(co)),
        email_opt_out=bool(out),
        opted_out_at=None if out_at is None else from_micros(out_at),
    )


_contact = contact_from_row


#: Inserts one contact row (its children are written by ``ContactRows``).
INSERT_CONTACT = (
    "INSERT INTO contacts (id, team_id, first_name, last_name, status, source, custom_fields,"
    " created_by, created_at, version, email_opt_out, opted_out_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


#: Most rows one ``INSERT`` statement of contacts, emails, phones writes (see :func:`insert_rows`).
_CONTACTS_PER_INSERT = 500


#: ``sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER``: the SQLite C API's number of the
#: bound-variable limit (this layer imports no driver; only SQLite connections
#: have ``getlimit``).
SQLITE_LIMIT_VARIABLE_NUMBER = 9


def _max_variables(conn: Any) -> int:
    """How many ``?`` one statement of *conn* may hold (999 before SQLite 3.32)."""
    getlimit = getattr(conn, "getlimit", None)
    if getlimit is None:
        return 999
    try:
        return int(getlimit(SQLITE_LIMIT_VARIABLE_NUMBER))
    except Exception:  # a closed connection: the insert itself will say so
        return 999


_INSERT_EMAIL = (
    "INSERT INTO contact_emails (contact_id, position, team_id, address, address_key,"
    " validated, label, bounced) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


_INSERT_PHONE = (
    "INSERT INTO contact_phones (contact_id, position, team_id, number, validated, label,"
    " display) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


_INSERT_CONTACT_COMPANY = (
    "INSERT INTO contact_companies (contact_id, position, team_id, company_id) VALUES (?, ?, ?, ?)"
)


def replaced(contact: Contact, previous: Contact | None) -> Contact | None:
    """*previous* if it is the stored version *contact* replaces, else ``None``.

    The same contact (id and team) at ``contact.version - 1``: the versioned
    update succeeds only on that stored version, whose rows are then exactly
    *previous*'s, so a repository may leave the rows that did not change.
    """
    if (
        previous is None
        or previous.id != contact.id
        or previous.team_id != contact.team_id
        or previous.version != contact.version - 1
    ):
        return None
    return previous


class ContactRows:
    """The rows that store a batch of contacts, one list per table."""

    __slots__ = ("companies", "contacts", "emails", "phones")

    def __init__(self, contacts: Iterable[Contact]) -> None:
        self.contacts: list[tuple[Any, ...]] = []
        self.emails: list[tuple[Any, ...]] = []
        self.phones: list[tuple[Any, ...]] = []
        self.companies: list[tuple[Any, ...]] = []
        micros: dict[Any, int] = {}
        add_contact = self.contacts.append
        add_email = self.emails.append
        add_phone = self.phones.append
        add_company = self.companies.append
        for c in contacts:
            cid = c.id
            tid = c.team_id
            created = c.created_at
            at = micros.get(created)
            if at is None:
                at = micros[created] = to_micros(created)
            custom = c.custom_fields
            add_contact(
                (
                    cid,
                    tid,
                    c.first_name,
                    c.last_name,
                    c.status,
                    c.source,
                    dumps(custom) if custom else "{}",
                    c.created_by,
                    at,
                    c.version,
                    int(c.email_opt_out),
                    None if c.opted_out_at is None else to_micros(c.opted_out_at),
                )
            )
            for i, e in enumerate(c.emails):
                add_email(
                    (
                        cid,
                        i,
                        tid,
                        e.address,
                        e.address.lower(),
                        int(e.validated),
                        e.label,
                        int(e.bounced),
                    )
                )
            for i, p in enumerate(c.phones):
                add_phone((cid, i, tid, p.number, int(p.validated), p.label, p.display))
            for i, co in enumerate(c.company_ids):
                add_company((cid, i, tid, co))

    def write_children(self, conn: Connection) -> None:
        """Insert the email, phone and company rows.

        On SQLite many rows a statement (see :func:`insert_rows`); other
        connections (PostgreSQL's, which pipelines it) one ``executemany``.
        """
        for sql, rows in (
            (_INSERT_EMAIL, self.emails),
            (_INSERT_PHONE, self.phones),
            (_INSERT_CONTACT_COMPANY, self.companies),
        ):
            if not hasattr(conn, "getlimit"):  # not SQLite's: one pipelined executemany
                if rows:
                    conn.executemany(sql, rows)
            else:
                insert_rows(conn, sql, rows)


def insert_rows(conn: Any, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert *rows* by *sql* (``INSERT ... VALUES (?, ...)``), up to 500 rows a statement.

    Not one statement per row (``executemany``): inside ``add_many``'s
    savepoint, in a transaction that already wrote, each statement's own
    savepoint cost more as the store grew (an import's 100th batch of emails
    and phones took 6 times as long as its first; see ``docs/benchmarks.md``),
    and the ``contact_words`` FTS5 trigger runs once per statement.
    """
    if not rows:
        return
    head, _, one = sql.partition(" VALUES ")
    size = max(1, min(_CONTACTS_PER_INSERT, _max_variables(conn) // len(rows[0])))
    for start in range(0, len(rows), size):
        part = rows[start : start + size]
        conn.execute(f"{head} VALUES {', '.join([one] * len(part))}", [v for r in part for v in r])


def _contact_values(c: Contact) -> dict[str, Any]:
    """The columns of *c*'s ``contacts`` row an update writes (all but ids and version)."""
    return {
        "first_name": c.first_name,
        "last_name": c.last_name,
        "status": c.status,
        "source": c.source,
        "custom_fields": dumps(c.custom_fields) if c.custom_fields else "{}",
        "created_by": c.created_by,
        "created_at": to_micros(c.created_at),
        "email_opt_out": int(c.email_opt_out),
        "opted_out_at": None if c.opted_out_at is None else to_micros(c.opted_out_at),
    }


class SQLiteContacts(SQLRepository):
    """Contacts, with emails, phones and company links in child tables."""

    kind = "contact"
    table = "contacts"

    @translated
    def get(self, team_id: TeamId, contact_id: ContactId) -> Contact:
        """Return the contact or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_contact_select(self._dialect)} WHERE c.id = ? AND c.team_id = ?",
            (contact_id, team_id),
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, contact_id)
        return _contact(row)

    def get_for_update(self, team_id: TeamId, contact_id: ContactId) -> Contact:
        """Return the contact for a read-modify-write (or raise ``NotFound``).

        A writing unit of this store holds the database's write lock from
        ``BEGIN IMMEDIATE`` to its end, so the row needs no lock of its own.
        """
        return self.get(team_id, contact_id)

    @translated
    def get_many(self, team_id: TeamId, contact_ids: Iterable[ContactId]) -> list[Contact]:
        """Return the contacts that exist among *contact_ids*, in the order asked."""
        wanted, ids = ids_json(contact_ids)
        if not wanted:
            return []
        rows = self._conn.execute(_contacts_by_id(self._dialect), (ids, team_id))
        found = {r[0]: r for r in rows}
        return [_contact(found[i]) for i in wanted if i in found]

    def add(self, contact: Contact) -> None:
        """Insert a new contact."""
        self.add_many([contact])

    def add_many(self, contacts: Sequence[Contact]) -> None:
        """Insert many new contacts in the unit's transaction (all or none)."""
        if not contacts:
            return
        rows = ContactRows(contacts)
        conn = self._conn
        try:
            conn.execute("SAVEPOINT teamcrm_add_contacts")
            try:
                self._insert_contacts(conn, rows.contacts)
                rows.write_children(conn)
            except BaseException:
                conn.execute("ROLLBACK TO teamcrm_add_contacts")
                raise
            finally:
                conn.execute("RELEASE teamcrm_add_contacts")
        except self._dialect.errors as exc:
            error = self._dialect.translate(exc, kind=self.kind)
            if isinstance(error, AlreadyExists):
                error = AlreadyExists(self.kind, self._taken(contacts))
            raise error from exc

    def _insert_contacts(self, conn: Any, rows: list[tuple[Any, ...]]) -> None:
        """Insert the contact rows, up to :data:`_CONTACTS_PER_INSERT` per statement.

        Not one statement per row (``executemany``): the ``contact_words``
        FTS5 trigger then runs once per statement, and that cost grows with
        the index (1,945 VM steps per contact at 31,000 contacts, a third of
        that at 5,000; 228 for rows inserted 90 at a time, the same at any
        size; see ``docs/benchmarks.md`` and ``tests/adapters/test_import_scale.py``).
        """
        insert_rows(conn, INSERT_CONTACT, rows)

    def _taken(self, contacts: Sequence[Contact]) -> str:
        """The first id of *contacts* that is repeated or stored already."""
        seen: set[str] = set()
        for c in contacts:
            if c.id in seen:
                return c.id
            seen.add(c.id)
        ids = [c.id for c in contacts]
        stored = {
            r[0]
            for r in self._conn.execute(
                f"SELECT id FROM contacts WHERE {self._dialect.ids_in('id')}",
                (dumps(ids),),
            )
        }
        return next((i for i in ids if i in stored), ids[0])

    @translated
    def update(self, contact: Contact, *, previous: Contact | None = None) -> None:
        """Replace the stored contact whose version is ``contact.version - 1``.

        With *previous* (that stored version, as the caller read it) only
        the columns, emails, phones and company links that differ from it
        are written (on SQLite a status change then leaves the name indexes'
        triggers idle); without it (or if it is not the version replaced)
        all of them are.
        """
        c = contact
        before = replaced(c, previous)
        values = _contact_values(c)
        if before is not None:  # only the columns that changed: their triggers alone run
            old = _contact_values(before)
            values = {k: v for k, v in values.items() if old[k] != v}
        self._update_versioned(c.id, c.team_id, c.version, values)
        rows = ContactRows([c])
        for table, field, kind in (
            ("contact_emails", "emails", "emails"),
            ("contact_phones", "phones", "phones"),
            ("contact_companies", "company_ids", "companies"),
        ):
            if before is not None and getattr(before, field) == getattr(c, field):
                setattr(rows, kind, [])  # unchanged: neither deleted nor written again
            else:
                self._conn.execute(f"DELETE FROM {table} WHERE contact_id = ?", (c.id,))
        rows.write_children(self._conn)

    @translated
    def delete(self, team_id: TeamId, contact_id: ContactId, version: int) -> None:
        """Delete the contact (and its emails, phones, links) if its version is *version*."""
        self._delete_versioned(team_id, contact_id, version)

    def lock(
        self, team_id: TeamId, contact_ids: Iterable[ContactId], *, exclusive: bool = False
    ) -> None:
        """Nothing to do: a writing unit holds the database's write lock (``BEGIN IMMEDIATE``)."""

    @translated
    def all(self, team_id: TeamId) -> list[Contact]:
        """Return every contact of the team, oldest first."""
        rows = self._conn.execute(
            f"{_contact_select(self._dialect)} WHERE c.team_id = ? ORDER BY c.created_at, c.rowid",
            (team_id,),
        )
        return [_contact(r) for r in rows]

    @translated
    def by_company(self, team_id: TeamId, company_id: CompanyId) -> list[Contact]:
        """Return the contacts linked to a company, oldest first."""
        rows = self._conn.execute(
            f"{_contact_select(self._dialect)} WHERE c.team_id = ? AND c.id IN ("
            " SELECT contact_id FROM contact_companies WHERE team_id = ? AND company_id = ?)"
            " ORDER BY c.created_at, c.rowid",
            (team_id, team_id, company_id),
        )
        return [_contact(r) for r in rows]

    @translated
    def existing_keys(
        self, team_id: TeamId, *, emails: Collection[str], phones: Collection[str]
    ) -> set[str]:
        """Which keys some contact holds: index lookups, 500 keys per statement."""
        found: set[str] = set()
        for table, column, keys in (
            ("contact_emails", "address_key", list(dict.fromkeys(emails))),
            ("contact_phones", "number", list(dict.fromkeys(phones))),
        ):
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                marks = ", ".join("?" * len(part))
                rows = self._conn.execute(
                    f"SELECT DISTINCT {column} FROM {table}"
                    f" WHERE team_id = ? AND {column} IN ({marks})",
                    (team_id, *part),
                )
                found.update(r[0] for r in rows)
        return found
