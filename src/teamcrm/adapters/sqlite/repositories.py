"""The core repositories shared by the SQLite and the PostgreSQL store.

One class per protocol of :mod:`teamcrm.ports`, on the base of
:mod:`teamcrm.adapters.sql.base` (rules kept there: team scoping, versioned
writes, translated driver errors, id lists as one JSON array).  Statements
that differ between the databases are built from the unit's
:class:`~teamcrm.adapters.sql.dialect.Dialect`, once per dialect (cached
builders); the SQLite store's context is :class:`SQLiteContext`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from teamcrm.adapters.sql.base import Connection, SQLContext, SQLRepository, translated
from teamcrm.adapters.sql.codec import (
    dumps,
    from_micros,
    ids_json,
    loads,
    optional_micros,
    to_micros,
)
from teamcrm.adapters.sql.dialect import Dialect
from teamcrm.adapters.sqlite.dialect import SQLITE
from teamcrm.bucket import (
    AccessGrant,
    AccessLevel,
    Bucket,
    BucketKind,
    BucketMembership,
    TeamAccess,
)
from teamcrm.contact import Company, Contact, EmailAddress, PhoneNumber
from teamcrm.converter import converter
from teamcrm.errors import AlreadyExists, NotFound
from teamcrm.events import DomainEvent, OutboxMessage
from teamcrm.ids import PREFIXES, BucketId, CompanyId, ContactId, InteractionId, MemberId, TeamId
from teamcrm.interaction import Interaction, InteractionKind, Outcome
from teamcrm.team import BucketManagement, Member, Role, Team, TeamSettings
from teamcrm.validation import FrozenDict, trusted, trusted_builder

__all__ = [
    "CONTACT_COLUMNS",
    "CONTACT_CREATED_AT",
    "CONTACT_WIDTH",
    "INSERT_CONTACT",
    "SQLiteBuckets",
    "SQLiteCompanies",
    "SQLiteContacts",
    "SQLiteContext",
    "SQLiteInteractions",
    "SQLiteMembers",
    "SQLiteMemberships",
    "SQLiteOutbox",
    "SQLiteRepository",
    "SQLiteTeams",
    "bucket_columns",
    "bucket_select",
    "contact_columns",
    "contact_from_row",
    "translated",
]


class SQLiteContext(SQLContext):
    """The :class:`~teamcrm.adapters.sql.base.SQLContext` of a SQLite unit of work."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(SQLITE)


#: The shared repositories' base class, by its first name.
SQLiteRepository = SQLRepository


# --------------------------------------------------------------------- teams
@cache
def _team_select(d: Dialect, programs: bool) -> str:
    """The team's row; with *programs*, also whether the team has programs (a side fact)."""
    has_programs = (
        ",\n       EXISTS (SELECT 1 FROM programs p WHERE p.team_id = t.id)" if programs else ""
    )
    return f"""
SELECT t.id, t.name, t.created_at, t.bucket_management, t.file_notes_under_companies,
       t.new_contact_status, t.new_lead_status, t.version,
       (SELECT {d.json_array_agg("s.status", "s.position")}
          FROM team_statuses s WHERE s.team_id = t.id),
       t.phone_region{has_programs}
FROM teams t WHERE t.id = ?"""


def _team(row: Sequence[Any]) -> Team:
    tid, name, created, management, file_notes, new_contact, new_lead, version, statuses = row[:9]
    return trusted(
        Team,
        id=tid,
        name=name,
        created_at=from_micros(created),
        settings=trusted(
            TeamSettings,
            bucket_management=BucketManagement(management),
            file_notes_under_companies=bool(file_notes),
            statuses=tuple(loads(statuses)),
            new_contact_status=new_contact,
            new_lead_status=new_lead,
            phone_region=row[9],
        ),
        version=version,
    )


class SQLiteTeams(SQLiteRepository):
    """Teams, with their settings in columns and statuses in ``team_statuses``."""

    kind = "team"
    table = "teams"

    @translated
    def get(self, team_id: TeamId) -> Team:
        """Return the team or raise ``NotFound``."""
        ctx = self._ctx
        select = _team_select(self._dialect, bool(ctx.programs_table))
        row = self._conn.execute(select, (team_id,)).fetchone()
        if row is None:
            raise NotFound(self.kind, team_id)
        if ctx.programs_table:
            ctx.facts[f"programs:{team_id}"] = bool(row[10])
        return _team(row)

    def _statuses(self, team: Team) -> None:
        self._conn.execute("DELETE FROM team_statuses WHERE team_id = ?", (team.id,))
        self._conn.executemany(
            "INSERT INTO team_statuses (team_id, position, status) VALUES (?, ?, ?)",
            [(team.id, i, s) for i, s in enumerate(team.settings.statuses)],
        )

    @translated
    def add(self, team: Team) -> None:
        """Insert a new team (version 1)."""
        s = team.settings
        self._insert(
            team.id,
            "INSERT INTO teams (id, name, created_at, bucket_management,"
            " file_notes_under_companies, new_contact_status, new_lead_status, version,"
            " phone_region) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                team.id,
                team.name,
                to_micros(team.created_at),
                s.bucket_management.value,
                int(s.file_notes_under_companies),
                s.new_contact_status,
                s.new_lead_status,
                team.version,
                s.phone_region,
            ),
        )
        self._statuses(team)

    @translated
    def update(self, team: Team) -> None:
        """Replace the stored team whose version is ``team.version - 1``."""
        s = team.settings
        self._update_versioned(
            team.id,
            None,
            team.version,
            {
                "name": team.name,
                "created_at": to_micros(team.created_at),
                "bucket_management": s.bucket_management.value,
                "file_notes_under_companies": int(s.file_notes_under_companies),
                "new_contact_status": s.new_contact_status,
                "new_lead_status": s.new_lead_status,
                "phone_region": s.phone_region,
            },
        )
        self._statuses(team)

    def lock(self, team_id: TeamId) -> None:
        """Nothing to do: a writing unit holds the database's write lock (``BEGIN IMMEDIATE``)."""


# ------------------------------------------------------------------- members
_MEMBER_SELECT = (
    "SELECT id, team_id, name, role, email, active, away_until, time_zone, created_at, version,"
    " phone_region FROM members"
)


def _member(row: Sequence[Any]) -> Member:
    mid, tid, name, role, email, active, away, zone, created, version, region = row
    return trusted(
        Member,
        id=mid,
        team_id=tid,
        name=name,
        role=Role(role),
        email=email,
        active=bool(active),
        away_until=None if away is None else from_micros(away),
        time_zone=zone,
        phone_region=region,
        created_at=from_micros(created),
        version=version,
    )


class SQLiteMembers(SQLiteRepository):
    """Members of a team."""

    kind = "member"
    table = "members"

    @translated
    def get(self, team_id: TeamId, member_id: MemberId) -> Member:
        """Return the member or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_MEMBER_SELECT} WHERE id = ? AND team_id = ?", (member_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, member_id)
        return _member(row)

    @translated
    def find(self, member_id: MemberId) -> Member:
        """Return the member with this id in whatever team, or raise ``NotFound``."""
        row = self._conn.execute(f"{_MEMBER_SELECT} WHERE id = ?", (member_id,)).fetchone()
        if row is None:
            raise NotFound(self.kind, member_id)
        return _member(row)

    @staticmethod
    def _values(m: Member) -> dict[str, Any]:
        """The member's columns but id, team and version, in ``add``'s order."""
        return {
            "name": m.name,
            "role": m.role.value,
            "email": m.email,
            "active": int(m.active),
            "away_until": optional_micros(m.away_until),
            "time_zone": m.time_zone,
            "created_at": to_micros(m.created_at),
            "phone_region": m.phone_region,
        }

    @translated
    def add(self, member: Member) -> None:
        """Insert a new member."""
        self._insert(
            member.id,
            "INSERT INTO members (id, team_id, name, role, email, active, away_until,"
            " time_zone, created_at, phone_region, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (member.id, member.team_id, *self._values(member).values(), member.version),
        )

    @translated
    def update(self, member: Member) -> None:
        """Replace the stored member whose version is ``member.version - 1``."""
        self._update_versioned(member.id, member.team_id, member.version, self._values(member))

    @translated
    def all(self, team_id: TeamId) -> list[Member]:
        """Return every member of the team, oldest first."""
        rows = self._conn.execute(
            f"{_MEMBER_SELECT} WHERE team_id = ? ORDER BY created_at, rowid", (team_id,)
        )
        return [_member(r) for r in rows]


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


#: :func:`contact_columns` in the SQLite dialect.
CONTACT_COLUMNS = contact_columns(SQLITE)


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


def _max_variables(conn: Any) -> int:
    """How many ``?`` one statement of *conn* may hold (999 before SQLite 3.32)."""
    try:
        return int(conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except (AttributeError, sqlite3.Error):
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
            if not isinstance(conn, sqlite3.Connection):
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


class SQLiteContacts(SQLiteRepository):
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
    def update(self, contact: Contact) -> None:
        """Replace the stored contact whose version is ``contact.version - 1``."""
        c = contact
        self._update_versioned(
            c.id,
            c.team_id,
            c.version,
            {
                "first_name": c.first_name,
                "last_name": c.last_name,
                "status": c.status,
                "source": c.source,
                "custom_fields": dumps(c.custom_fields) if c.custom_fields else "{}",
                "created_by": c.created_by,
                "created_at": to_micros(c.created_at),
                "email_opt_out": int(c.email_opt_out),
                "opted_out_at": None if c.opted_out_at is None else to_micros(c.opted_out_at),
            },
        )
        for table in ("contact_emails", "contact_phones", "contact_companies"):
            self._conn.execute(f"DELETE FROM {table} WHERE contact_id = ?", (c.id,))
        ContactRows([c]).write_children(self._conn)

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


# ----------------------------------------------------------------- companies
_COMPANY_SELECT = "SELECT id, team_id, name, domain, created_by, created_at, version FROM companies"


def _company(row: Sequence[Any]) -> Company:
    coid, tid, name, domain, by, created, version = row
    return trusted(
        Company,
        id=coid,
        team_id=tid,
        name=name,
        domain=domain,
        created_by=by,
        created_at=from_micros(created),
        version=version,
    )


class SQLiteCompanies(SQLiteRepository):
    """Companies of a team."""

    kind = "company"
    table = "companies"

    @translated
    def get(self, team_id: TeamId, company_id: CompanyId) -> Company:
        """Return the company or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_COMPANY_SELECT} WHERE id = ? AND team_id = ?", (company_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, company_id)
        return _company(row)

    @translated
    def add(self, company: Company) -> None:
        """Insert a new company."""
        c = company
        self._insert(
            c.id,
            "INSERT INTO companies (id, team_id, name, domain, created_by, created_at, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (c.id, c.team_id, c.name, c.domain, c.created_by, to_micros(c.created_at), c.version),
        )

    @translated
    def update(self, company: Company) -> None:
        """Replace the stored company whose version is ``company.version - 1``."""
        c = company
        self._update_versioned(
            c.id,
            c.team_id,
            c.version,
            {
                "name": c.name,
                "domain": c.domain,
                "created_by": c.created_by,
                "created_at": to_micros(c.created_at),
            },
        )

    @translated
    def delete(self, team_id: TeamId, company_id: CompanyId, version: int) -> None:
        """Delete the company if its stored version is *version*."""
        self._delete_versioned(team_id, company_id, version)

    def lock(
        self, team_id: TeamId, company_ids: Iterable[CompanyId], *, exclusive: bool = False
    ) -> None:
        """Nothing to do: a writing unit holds the database's write lock (``BEGIN IMMEDIATE``)."""

    @translated
    def all(self, team_id: TeamId) -> list[Company]:
        """Return every company of the team, oldest first."""
        rows = self._conn.execute(
            f"{_COMPANY_SELECT} WHERE team_id = ? ORDER BY created_at, rowid", (team_id,)
        )
        return [_company(r) for r in rows]


# ------------------------------------------------------------------- buckets
@cache
def bucket_columns(d: Dialect) -> str:
    """The columns of a bucket's row with its grants (on ``buckets b``), in dialect *d*."""
    grants = d.json_array_agg(
        d.json_array("g.member_id", "g.level", "g.can_view_conversations"), "g.member_id"
    )
    return f"""b.id, b.team_id, b.name, b.kind, b.owner_id, b.created_by, b.created_at, b.version,
       (SELECT {grants}
          FROM bucket_grants g WHERE g.bucket_id = b.id),
       b.team_level, b.team_conversations, b.holds_all"""


@cache
def bucket_select(d: Dialect) -> str:
    """``SELECT`` :func:`bucket_columns` ``FROM buckets b``."""
    return f"\nSELECT {bucket_columns(d)}\nFROM buckets b"


def _bucket(row: Sequence[Any]) -> Bucket:
    bid, tid, name, kind, owner, by, created, version, grants, team_level, team_conv, all_ = row
    return trusted(
        Bucket,
        id=bid,
        team_id=tid,
        name=name,
        kind=BucketKind(kind),
        owner_id=owner,
        created_by=by,
        created_at=from_micros(created),
        version=version,
        team_access=None
        if team_level is None
        else trusted(
            TeamAccess, level=AccessLevel(team_level), can_view_conversations=bool(team_conv)
        ),
        holds_all=bool(all_),
        grants=()
        if grants == _EMPTY
        else tuple(
            trusted(
                AccessGrant,
                member_id=m,
                level=AccessLevel(lv),
                can_view_conversations=bool(v),
            )
            for m, lv, v in loads(grants)
        ),
    )


def _team_access_columns(b: Bucket) -> dict[str, Any]:
    """The ``team_level``, ``team_conversations`` and ``holds_all`` columns of *b*."""
    access = b.team_access
    return {
        "team_level": None if access is None else access.level.value,
        "team_conversations": int(access is not None and access.can_view_conversations),
        "holds_all": int(b.holds_all),
    }


class SQLiteBuckets(SQLiteRepository):
    """Buckets, with their access grants in ``bucket_grants``."""

    kind = "bucket"
    table = "buckets"

    @translated
    def get(self, team_id: TeamId, bucket_id: BucketId) -> Bucket:
        """Return the bucket or raise ``NotFound``."""
        row = self._conn.execute(
            f"{bucket_select(self._dialect)} WHERE b.id = ? AND b.team_id = ?", (bucket_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, bucket_id)
        return _bucket(row)

    def _grants(self, bucket: Bucket) -> None:
        self._conn.execute("DELETE FROM bucket_grants WHERE bucket_id = ?", (bucket.id,))
        if bucket.grants:
            self._conn.executemany(
                "INSERT INTO bucket_grants (bucket_id, member_id, team_id, level,"
                " can_view_conversations) VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        bucket.id,
                        g.member_id,
                        bucket.team_id,
                        g.level.value,
                        int(g.can_view_conversations),
                    )
                    for g in bucket.grants
                ],
            )

    @translated
    def add(self, bucket: Bucket) -> None:
        """Insert a new bucket."""
        b = bucket
        self._insert(
            b.id,
            "INSERT INTO buckets (id, team_id, name, kind, owner_id, created_by, created_at,"
            " version, team_level, team_conversations, holds_all)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                b.id,
                b.team_id,
                b.name,
                b.kind.value,
                b.owner_id,
                b.created_by,
                to_micros(b.created_at),
                b.version,
                *_team_access_columns(b).values(),
            ),
        )
        self._grants(b)

    @translated
    def update(self, bucket: Bucket) -> None:
        """Replace the stored bucket whose version is ``bucket.version - 1``."""
        b = bucket
        self._update_versioned(
            b.id,
            b.team_id,
            b.version,
            {
                "name": b.name,
                "kind": b.kind.value,
                "owner_id": b.owner_id,
                "created_by": b.created_by,
                "created_at": to_micros(b.created_at),
                **_team_access_columns(b),
            },
        )
        self._grants(b)

    @translated
    def delete(self, team_id: TeamId, bucket_id: BucketId, version: int) -> None:
        """Delete the bucket (and its memberships) if its stored version is *version*."""
        self._delete_versioned(team_id, bucket_id, version)
        self._conn.execute("DELETE FROM memberships WHERE bucket_id = ?", (bucket_id,))

    @translated
    def all(self, team_id: TeamId) -> list[Bucket]:
        """Return every bucket of the team, oldest first."""
        rows = self._conn.execute(
            f"{bucket_select(self._dialect)} WHERE b.team_id = ? ORDER BY b.created_at, b.rowid",
            (team_id,),
        )
        return [_bucket(r) for r in rows]


# --------------------------------------------------------------- memberships
_MEMBERSHIP_SELECT = "SELECT team_id, bucket_id, item_id, added_at, added_by FROM memberships"


def _membership(row: Sequence[Any]) -> BucketMembership:
    tid, bid, item, added, by = row
    return trusted(
        BucketMembership,
        team_id=tid,
        bucket_id=bid,
        item_id=item,
        added_at=from_micros(added),
        added_by=by,
    )


@cache
def _memberships_by_item(d: Dialect) -> str:
    return (
        f"{_MEMBERSHIP_SELECT}{d.index_hint('memberships_by_item')} WHERE team_id = ?"
        f" AND {d.ids_in('item_id')} ORDER BY bucket_id, item_id"
    )


class SQLiteMemberships(SQLiteRepository):
    """Which contacts and companies are in which buckets."""

    kind = "membership"
    table = "memberships"

    @translated
    def add_many(self, memberships: Sequence[BucketMembership]) -> list[BucketMembership]:
        """Add the memberships that do not exist yet; return those that were added."""
        if len(memberships) == 1:  # one statement: the row count says whether it was new
            m = memberships[0]
            cur = self._conn.execute(
                "INSERT INTO memberships (bucket_id, item_id, team_id, added_at, added_by)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (m.bucket_id, m.item_id, m.team_id, to_micros(m.added_at), m.added_by),
            )
            return [m] if cur.rowcount == 1 else []
        by_bucket: dict[str, dict[str, BucketMembership]] = {}
        for m in memberships:
            by_bucket.setdefault(m.bucket_id, {}).setdefault(m.item_id, m)
        fresh: set[tuple[str, str]] = set()
        rows: list[tuple[Any, ...]] = []
        micros: dict[Any, int] = {}
        for bucket_id, items in by_bucket.items():
            existing = {
                r[0]
                for r in self._conn.execute(
                    "SELECT item_id FROM memberships WHERE bucket_id = ?"
                    f" AND {self._dialect.ids_in('item_id')}",
                    (bucket_id, dumps(list(items))),
                )
            }
            for item_id, m in items.items():
                if item_id in existing:
                    continue
                at = micros.get(m.added_at)
                if at is None:
                    at = micros[m.added_at] = to_micros(m.added_at)
                rows.append((bucket_id, item_id, m.team_id, at, m.added_by))
                fresh.add((bucket_id, item_id))
        if rows:
            self._conn.executemany(
                "INSERT INTO memberships (bucket_id, item_id, team_id, added_at, added_by)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
        added: list[BucketMembership] = []
        for m in memberships:
            key = (m.bucket_id, m.item_id)
            if key in fresh:
                fresh.discard(key)
                added.append(m)
        return added

    @translated
    def remove_many(
        self, team_id: TeamId, bucket_id: BucketId, item_ids: Iterable[str]
    ) -> list[str]:
        """Remove items from a bucket; return the ids that were in it."""
        wanted, ids = ids_json(item_ids)
        if not wanted:
            return []
        present = {
            r[0]
            for r in self._conn.execute(
                "DELETE FROM memberships WHERE team_id = ? AND bucket_id = ?"
                f" AND {self._dialect.ids_in('item_id')} RETURNING item_id",
                (team_id, bucket_id, ids),
            )
        }
        return [i for i in wanted if i in present]

    @translated
    def items(self, team_id: TeamId, bucket_id: BucketId) -> list[BucketMembership]:
        """Return a bucket's memberships ordered by ``added_at`` then item id."""
        rows = self._conn.execute(
            f"{_MEMBERSHIP_SELECT} WHERE team_id = ? AND bucket_id = ? ORDER BY added_at, item_id",
            (team_id, bucket_id),
        )
        return [_membership(r) for r in rows]

    @translated
    def items_page(
        self,
        team_id: TeamId,
        bucket_id: BucketId,
        *,
        after: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> list[BucketMembership]:
        """Up to *limit* memberships after *after* (``added_at``, item id), in that order."""
        sql = f"{_MEMBERSHIP_SELECT} WHERE team_id = ? AND bucket_id = ?"
        params: list[Any] = [team_id, bucket_id]
        if after is not None:
            sql += " AND (added_at > ? OR (added_at = ? AND item_id > ?))"
            at = to_micros(after[0])
            params += [at, at, after[1]]
        rows = self._conn.execute(sql + " ORDER BY added_at, item_id LIMIT ?", (*params, limit))
        return [_membership(r) for r in rows]

    @translated
    def buckets_of(self, team_id: TeamId, item_ids: Iterable[str]) -> list[BucketMembership]:
        """Return every membership of the given items, ordered by bucket id then item id."""
        wanted, ids = ids_json(item_ids)
        if not wanted:
            return []
        rows = self._conn.execute(
            # By item, never by bucket: without statistics the planner may pick
            # memberships_by_bucket and read every membership of the team.
            _memberships_by_item(self._dialect),
            (team_id, ids),
        )
        return [_membership(r) for r in rows]

    @translated
    def remove_item(self, team_id: TeamId, item_id: str) -> None:
        """Remove an item from every bucket (when it is deleted)."""
        self._conn.execute(
            "DELETE FROM memberships WHERE team_id = ? AND item_id = ?", (team_id, item_id)
        )


# -------------------------------------------------------------- interactions
@cache
def _interaction_select(d: Dialect) -> str:
    targets = d.json_array_agg(d.json_array("t.position", "t.target_id"), "t.position")
    return f"""
SELECT i.id, i.team_id, i.kind, i.author_id, i.occurred_at, i.logged_at, i.outcome, i.via,
       i.reference, i.body,
       (SELECT {targets}
          FROM interaction_targets t WHERE t.interaction_id = i.id)
FROM interactions i"""


def _interaction(row: Sequence[Any]) -> Interaction:
    iid, tid, kind, author, occurred, logged, outcome, via, ref, body, targets = row
    ordered = [t for _, t in sorted(loads(targets))]
    return trusted(
        Interaction,
        id=iid,
        team_id=tid,
        kind=InteractionKind(kind),
        author_id=author,
        occurred_at=from_micros(occurred),
        logged_at=from_micros(logged),
        outcome=None if outcome is None else Outcome(outcome),
        via=via,
        reference=ref,
        body=body,
        contact_ids=tuple(t for t in ordered if t.startswith(PREFIXES["contact"])),
        company_ids=tuple(t for t in ordered if t.startswith(PREFIXES["company"])),
    )


class SQLiteInteractions(SQLiteRepository):
    """Interactions (append-only), found by contact or company via ``interaction_targets``."""

    kind = "interaction"
    table = "interactions"

    @translated
    def add(self, interaction: Interaction) -> None:
        """Insert a new interaction and its targets."""
        i = interaction
        occurred = to_micros(i.occurred_at)
        self._insert(
            i.id,
            "INSERT INTO interactions (id, team_id, kind, author_id, occurred_at, logged_at,"
            " outcome, via, reference, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                i.id,
                i.team_id,
                i.kind.value,
                i.author_id,
                occurred,
                to_micros(i.logged_at),
                None if i.outcome is None else i.outcome.value,
                i.via,
                i.reference,
                i.body,
            ),
        )
        self._conn.executemany(
            "INSERT INTO interaction_targets (interaction_id, target_id, team_id, position,"
            " occurred_at) VALUES (?, ?, ?, ?, ?)",
            [
                (i.id, target, i.team_id, n, occurred)
                for n, target in enumerate((*i.contact_ids, *i.company_ids))
            ],
        )

    @translated
    def get(self, team_id: TeamId, interaction_id: InteractionId) -> Interaction:
        """Return the interaction or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_interaction_select(self._dialect)} WHERE i.id = ? AND i.team_id = ?",
            (interaction_id, team_id),
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, interaction_id)
        return _interaction(row)

    def _for_target(self, team_id: str, target_id: str) -> list[Interaction]:
        rows = self._conn.execute(
            f"{_interaction_select(self._dialect)}"
            " JOIN interaction_targets x ON x.interaction_id = i.id"
            " WHERE x.team_id = ? AND x.target_id = ?"
            " ORDER BY x.occurred_at DESC, x.interaction_id DESC",
            (team_id, target_id),
        )
        return [_interaction(r) for r in rows]

    @translated
    def for_contact(self, team_id: TeamId, contact_id: ContactId) -> list[Interaction]:
        """Return the contact's interactions, newest ``occurred_at`` first (ties: id)."""
        return self._for_target(team_id, contact_id)

    @translated
    def for_contact_page(
        self,
        team_id: TeamId,
        contact_id: ContactId,
        *,
        before: tuple[datetime, str] | None = None,
        limit: int = 100,
    ) -> list[Interaction]:
        """Up to *limit* of the contact's interactions older than *before*, newest first."""
        sql = (
            f"{_interaction_select(self._dialect)}"
            " JOIN interaction_targets x ON x.interaction_id = i.id"
            " WHERE x.team_id = ? AND x.target_id = ?"
        )
        params: list[Any] = [team_id, contact_id]
        if before is not None:
            sql += " AND (x.occurred_at < ? OR (x.occurred_at = ? AND x.interaction_id < ?))"
            at = to_micros(before[0])
            params += [at, at, before[1]]
        rows = self._conn.execute(
            sql + " ORDER BY x.occurred_at DESC, x.interaction_id DESC LIMIT ?", (*params, limit)
        )
        return [_interaction(r) for r in rows]

    @translated
    def for_company(self, team_id: TeamId, company_id: CompanyId) -> list[Interaction]:
        """Return the interactions filed under a company, newest first (ties: id)."""
        return self._for_target(team_id, company_id)

    @translated
    def file_under(
        self, team_id: TeamId, interaction_id: InteractionId, company_ids: Sequence[CompanyId]
    ) -> None:
        """File an interaction under more companies (new targets after its last one)."""
        i = self.get(team_id, interaction_id)
        extra = [c for c in dict.fromkeys(company_ids) if c not in i.company_ids]
        if not extra:
            return
        first = len(i.contact_ids) + len(i.company_ids)
        occurred = to_micros(i.occurred_at)
        self._conn.executemany(
            "INSERT INTO interaction_targets (interaction_id, target_id, team_id, position,"
            " occurred_at) VALUES (?, ?, ?, ?, ?)",
            [(i.id, target, team_id, first + n, occurred) for n, target in enumerate(extra)],
        )

    def all(self, team_id: TeamId) -> list[Interaction]:
        """Return every interaction of the team (also of deleted contacts), by id."""
        rows = self._conn.execute(
            f"{_interaction_select(self._dialect)} WHERE i.team_id = ? ORDER BY i.id", (team_id,)
        )
        return [_interaction(r) for r in rows]

    @translated
    def move_contact(
        self, team_id: TeamId, from_ids: Sequence[ContactId], to_id: ContactId
    ) -> None:
        """File the interactions of *from_ids* under *to_id* (see the port)."""
        gone = dumps(list(dict.fromkeys(from_ids)))
        d = self._dialect
        # Rows that would name *to_id* twice in one interaction go first: those of
        # interactions naming *to_id* already, then all but the first of several.
        self._conn.execute(
            "DELETE FROM interaction_targets WHERE team_id = ?"
            f" AND {d.ids_in('target_id')}"
            " AND interaction_id IN (SELECT interaction_id FROM interaction_targets"
            "   WHERE team_id = ? AND target_id = ?)",
            (team_id, gone, team_id, to_id),
        )
        self._conn.execute(
            "DELETE FROM interaction_targets WHERE team_id = ?"
            f" AND {d.ids_in('target_id')}"
            " AND EXISTS (SELECT 1 FROM interaction_targets o"
            "   WHERE o.interaction_id = interaction_targets.interaction_id"
            f"   AND {d.ids_in('o.target_id')}"
            "   AND o.position < interaction_targets.position)",
            (team_id, gone, gone),
        )
        self._conn.execute(
            "UPDATE interaction_targets SET target_id = ? WHERE team_id = ?"
            f" AND {d.ids_in('target_id')}",
            (to_id, team_id, gone),
        )


# -------------------------------------------------------------------- outbox
def event_json(event: DomainEvent) -> str:
    """Serialise a domain event with :data:`teamcrm.converter.converter`."""
    return dumps(converter.unstructure(event, DomainEvent))


class SQLiteOutbox(SQLiteRepository):
    """The outbox table (``seq INTEGER PRIMARY KEY AUTOINCREMENT``)."""

    kind = "outbox message"
    table = "outbox"

    @translated
    def append(self, events: Sequence[DomainEvent]) -> None:
        """Append events; they get increasing ``seq`` numbers in the given order."""
        micros: dict[Any, int] = {}
        rows = []
        for e in events:
            at = micros.get(e.occurred_at)
            if at is None:
                at = micros[e.occurred_at] = to_micros(e.occurred_at)
            rows.append((e.team_id, e.name.value, e.subject_id, at, event_json(e)))
        self._conn.executemany(
            "INSERT INTO outbox (team_id, name, subject_id, occurred_at, event)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )

    @translated
    def read(self, team_id: TeamId, after_seq: int = 0, limit: int = 1000) -> list[OutboxMessage]:
        """Return the team's messages with ``seq > after_seq``, in ``seq`` order."""
        rows = self._conn.execute(
            "SELECT seq, event FROM outbox WHERE team_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (team_id, after_seq, limit),
        )
        return [
            OutboxMessage(seq=seq, event=converter.structure(loads(text), DomainEvent))
            for seq, text in rows
        ]

    @translated
    def prune(self, team_id: TeamId | None, *, before: datetime, limit: int = 10_000) -> int:
        """Delete up to *limit* old messages every registered consumer has handled.

        See ``OutboxRepository.prune``: ``occurred_at < before`` and ``seq``
        at or before the lowest ``consumer_positions.position`` of the team
        (no floor for a team without consumers), lowest ``seq`` first.
        """
        # Two shapes, so that one team's prune walks the (team_id, seq) index.
        team = "" if team_id is None else "o.team_id = ? AND "
        params: tuple[Any, ...] = () if team_id is None else (team_id,)
        return int(
            self._conn.execute(
                "DELETE FROM outbox WHERE seq IN (SELECT o.seq FROM outbox o"
                f" WHERE {team}o.occurred_at < ?"
                " AND o.seq <= COALESCE((SELECT MIN(c.position) FROM consumer_positions c"
                " WHERE c.team_id = o.team_id), o.seq)"
                " ORDER BY o.seq LIMIT ?)",
                (*params, to_micros(before), limit),
            ).rowcount
        )
