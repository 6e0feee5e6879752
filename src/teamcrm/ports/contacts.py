"""Ports of contacts and companies"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Protocol

from teamcrm.contact import Company, Contact
from teamcrm.ids import (
    CompanyId,
    ContactId,
    TeamId,
)


class ContactRepository(Protocol):
    """Contacts of a team."""

    def get(self, team_id: TeamId, contact_id: ContactId) -> Contact:
        """Return the contact or raise ``NotFound``."""
        ...

    def get_for_update(self, team_id: TeamId, contact_id: ContactId) -> Contact:
        """Return the contact for a read-modify-write, or raise ``NotFound``.

        In a writing unit, the contact is locked until the unit ends: another
        unit reading it for update waits, then reads what this one committed.
        Stores that run one writing unit at a time (memory, SQLite) need no
        lock and return :meth:`get`; a store whose writers run side by side
        (PostgreSQL: ``SELECT ... FOR UPDATE``) must lock, so the version
        check of the ``update`` that follows never fails inside the unit.
        """
        ...

    def get_many(self, team_id: TeamId, contact_ids: Iterable[ContactId]) -> list[Contact]:
        """Return the contacts that exist among *contact_ids*, in the order asked."""
        ...

    def add(self, contact: Contact) -> None:
        """Insert a new contact."""
        ...

    def add_many(self, contacts: Sequence[Contact]) -> None:
        """Insert many new contacts at once (all or none)."""
        ...

    def update(self, contact: Contact, *, previous: Contact | None = None) -> None:
        """Replace the stored contact whose version is ``contact.version - 1``.

        *previous* (optional) is that stored version as the caller read it:
        a store may then write only what differs from it (the SQL stores
        leave the emails, phones, company links and name-index rows that did
        not change).  A store may ignore it; one given for another contact
        or version must be ignored.
        """
        ...

    def delete(self, team_id: TeamId, contact_id: ContactId, version: int) -> None:
        """Delete the contact if its stored version is *version*."""
        ...

    def lock(
        self, team_id: TeamId, contact_ids: Iterable[ContactId], *, exclusive: bool = False
    ) -> None:
        """Hold the contacts until the unit ends; read them *after* this call.

        Shared (the default): no other unit deletes them meanwhile; taken by
        units that add rows pointing at existing contacts (memberships,
        leads).  *exclusive*: no other unit holds them either; taken by
        ``delete_contact`` before it reads what points at the contact.
        Stores that run one writing unit at a time (memory, SQLite) do
        nothing; PostgreSQL locks the rows (``FOR KEY SHARE`` / ``FOR
        UPDATE``; nothing in a read-only unit).  Missing ids are ignored.
        """
        ...

    def all(self, team_id: TeamId) -> list[Contact]:
        """Return every contact of the team, oldest first."""
        ...

    def by_company(self, team_id: TeamId, company_id: CompanyId) -> list[Contact]:
        """Return the contacts linked to a company, oldest first."""
        ...

    def existing_keys(
        self, team_id: TeamId, *, emails: Collection[str], phones: Collection[str]
    ) -> set[str]:
        """Which of *emails* (lower case) and *phones* (E.164 keys) some contact holds.

        Emails compare in lower case, phones by key; visibility is not
        applied (the caller confirms a hit with a scoped search).  A bulk
        import checks one batch's keys with one call instead of a search per key.
        """
        ...


class CompanyRepository(Protocol):
    """Companies of a team."""

    def get(self, team_id: TeamId, company_id: CompanyId) -> Company:
        """Return the company or raise ``NotFound``."""
        ...

    def add(self, company: Company) -> None:
        """Insert a new company."""
        ...

    def update(self, company: Company) -> None:
        """Replace the stored company whose version is ``company.version - 1``."""
        ...

    def delete(self, team_id: TeamId, company_id: CompanyId, version: int) -> None:
        """Delete the company if its stored version is *version*."""
        ...

    def lock(
        self, team_id: TeamId, company_ids: Iterable[CompanyId], *, exclusive: bool = False
    ) -> None:
        """Hold the companies until the unit ends; read them *after* this call.

        As :meth:`ContactRepository.lock`: shared by units that add rows
        pointing at existing companies (memberships, contact links),
        *exclusive* by ``delete_company``.  Memory and SQLite do nothing;
        PostgreSQL locks the rows.  Missing ids are ignored.
        """
        ...

    def all(self, team_id: TeamId) -> list[Company]:
        """Return every company of the team, oldest first."""
        ...
