"""One error vocabulary for the whole library.

Every public call of teamcrm raises only subclasses of :class:`TeamCRMError`
for bad input or a failed operation.  Storage adapters translate their driver
errors into these classes, so code that embeds teamcrm never needs to import
``sqlite3`` or ``psycopg`` to handle a failure.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AlreadyExists",
    "CannotEmail",
    "ConcurrencyError",
    "ContactOptedOut",
    "ForeignDatabaseError",
    "MissingDatabaseError",
    "NoEmailAddress",
    "NotFound",
    "OfferClosed",
    "PermissionDenied",
    "SchemaVersionError",
    "StoreError",
    "TeamCRMError",
    "TemplateError",
    "ValidationError",
]


def _short(value: Any, limit: int = 80) -> str:
    """Return ``repr(value)`` cut to *limit* characters for error messages."""
    try:
        text = repr(value)
    except Exception:  # pragma: no cover - a broken __repr__ must not hide the error
        text = f"<unrepresentable {type(value).__name__}>"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


class TeamCRMError(Exception):
    """Base class of every error teamcrm raises on purpose."""


class ValidationError(TeamCRMError, ValueError):
    """Input was rejected.

    :ivar field: the name of the offending field (e.g. ``"Contact.emails"``).
    :ivar value: the rejected value.
    :ivar reason: why it was rejected, in words.
    """

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={_short(value)}: {reason}")


class TemplateError(ValidationError):
    """An email template was refused when it was parsed.

    :ivar field: the part of the template (``"Template.subject"`` or ``"Template.body"``).
    :ivar placeholder: the offending placeholder as written (``"{{ contact.age }}"``).
    :ivar line: its line in that part, from 1.
    :ivar column: its column in that line, from 1.
    """

    def __init__(
        self, field: str, placeholder: str, reason: str, *, line: int, column: int
    ) -> None:
        self.placeholder = placeholder
        self.line = line
        self.column = column
        super().__init__(field, placeholder, f"{reason} (line {line}, column {column})")


class NotFound(TeamCRMError, LookupError):
    """The thing asked for does not exist in this team (or is not visible).

    :ivar kind: what was looked up (``"contact"``, ``"bucket"``...).
    :ivar key: the id that was asked for.
    """

    def __init__(self, kind: str, key: Any) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {_short(key)} not found")


class AlreadyExists(TeamCRMError):
    """A record with the same identity already exists."""

    def __init__(self, kind: str, key: Any) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {_short(key)} already exists")


class PermissionDenied(TeamCRMError):
    """The acting member may not do this.

    :ivar actor: the id of the member who tried.
    :ivar action: the action refused, in words.
    """

    def __init__(self, actor: Any, action: str, reason: str = "") -> None:
        self.actor = actor
        self.action = action
        self.reason = reason
        text = f"member {_short(actor)} may not {action}"
        if reason:
            text += f": {reason}"
        super().__init__(text)


class ConcurrencyError(TeamCRMError):
    """An optimistic version check failed: someone else changed the record first.

    Reload the record and try again (see :func:`teamcrm.retry_on_conflict`).
    """

    def __init__(self, kind: str, key: Any, expected_version: int | None = None) -> None:
        self.kind = kind
        self.key = key
        self.expected_version = expected_version
        text = f"{kind} {_short(key)} was changed concurrently"
        if expected_version is not None:
            text += f" (expected stored version {expected_version})"
        super().__init__(text)


class StoreError(TeamCRMError):
    """The storage backend failed in a way that is not the caller's fault."""


class SchemaVersionError(StoreError):
    """The database was made by a newer (or unknown) release of teamcrm."""


class ForeignDatabaseError(StoreError):
    """The database (a SQLite file, a PostgreSQL schema) belongs to another application.

    teamcrm refuses to add its tables to a database that holds someone
    else's: nothing is written to it.

    :ivar where: the file or schema.
    :ivar reason: how it was recognised, in words.
    """

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(
            f"the database {where} is not a teamcrm database ({reason}); "
            "teamcrm refuses to add its tables to it - give an empty or new database"
        )


class MissingDatabaseError(StoreError):
    """The store was opened with ``create=False`` and there is no teamcrm database there.

    :ivar where: the file or schema.
    """

    def __init__(self, where: str, reason: str = "does not exist") -> None:
        self.where = where
        self.reason = reason
        super().__init__(
            f"the database {where} {reason}; open it with create=True to make a new one"
        )


class OfferClosed(TeamCRMError):
    """A lead offer can no longer be accepted or declined.

    Raised when another member accepted the lead first (``reason`` says
    ``"taken"``), when the offer's window has passed (``"expired"``), or when
    it was withdrawn or already answered.

    :ivar offer_id: the offer asked for.
    :ivar reason: ``"taken"``, ``"expired"``, ``"withdrawn"``, ``"declined"``
        or ``"accepted"``.
    """

    def __init__(self, offer_id: Any, reason: str) -> None:
        self.offer_id = offer_id
        self.reason = reason
        super().__init__(f"offer {_short(offer_id)} is closed: {reason}")


class CannotEmail(TeamCRMError):
    """A contact cannot be sent an email; a program step records :attr:`code` as its skip reason.

    :ivar contact_id: the contact.
    :ivar code: ``"opted_out"`` or ``"no_email"``.
    """

    code: str = "cannot_email"

    def __init__(self, contact_id: Any, reason: str) -> None:
        self.contact_id = contact_id
        super().__init__(f"contact {_short(contact_id)} cannot be emailed: {reason}")


class ContactOptedOut(CannotEmail):
    """The contact opted out of email (``Contact.email_opt_out``)."""

    code = "opted_out"

    def __init__(self, contact_id: Any) -> None:
        super().__init__(contact_id, "the contact opted out of email")


class NoEmailAddress(CannotEmail):
    """The contact has no address to write to (none, all bounced, or not the one asked for)."""

    code = "no_email"

    def __init__(self, contact_id: Any, reason: str = "the contact has no email address") -> None:
        super().__init__(contact_id, reason)
