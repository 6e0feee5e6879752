"""Connections to PostgreSQL (psycopg 3) and the translation of driver errors.

:class:`PGConnection` wraps one psycopg connection for the length of a unit
of work and offers the two methods the shared repositories call,
``execute`` and ``executemany``, for statements the shared repositories
built with the PostgreSQL dialect, with ``?``/``:name`` placeholders (mapped
by :func:`~teamcrm.adapters.postgres.dialect.placeholders`, a cached lexical
pass); ``run`` takes native PostgreSQL SQL.

No psycopg exception leaves this package:

* a unique violation is re-raised as the neutral
  :class:`~teamcrm.adapters.sql.errors.DuplicateKey`, which the shared
  repositories turn (through the dialect) into
  :class:`~teamcrm.errors.AlreadyExists` naming the record and its key;
* a serialization failure, a deadlock or a lock timeout becomes
  :class:`~teamcrm.errors.ConcurrencyError` (retry the use case, e.g. with
  :func:`teamcrm.retry_on_conflict`);
* a foreign-key violation (a row was inserted pointing at a bucket that a
  unit deleted and committed meanwhile) becomes ``ConcurrencyError`` naming
  the missing row: the retry sees it gone;
* everything else (a lost connection, a failed statement) becomes
  :class:`~teamcrm.errors.StoreError` keeping the server's message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import errors as pg_errors

from teamcrm.adapters.postgres.dialect import placeholders
from teamcrm.adapters.sql.errors import DuplicateKey
from teamcrm.errors import ConcurrencyError, StoreError, ValidationError

__all__ = ["PGConnection", "UniqueViolation", "check_url", "redacted", "translate_error"]


#: The name this error had (a PostgreSQL unique violation): now the neutral one.
UniqueViolation = DuplicateKey


def check_url(url: str) -> str:
    """Return *url* as a libpq URL (``postgres://`` is accepted) or raise ``ValidationError``."""
    if not isinstance(url, str):
        raise ValidationError("url", url, "must be a postgresql:// URL")
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("postgresql", "postgres"):
        raise ValidationError("url", url, "must start with 'postgresql://' or 'postgres://'")
    parts = urlsplit("postgresql://" + rest)
    if parts.fragment:
        raise ValidationError("url", url, "must not have a #fragment")
    return "postgresql://" + rest


def redacted(url: str) -> str:
    """Return *url* with its password (if any) replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.partition("@")
    if not sep or not at or ":" not in userinfo or "/" in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


#: ``Key (bucket_id)=(bk_1) is not present in table "buckets".``
_MISSING_KEY = re.compile(r'\)=\((.*)\) is not present in table "([^"]+)"')
_KINDS = {"buckets": "bucket", "contacts": "contact", "companies": "company"}

_CONFLICTS = (
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.LockNotAvailable,
)


def translate_error(exc: psycopg.Error, *, what: str = "PostgreSQL") -> BaseException:
    """Return the exception that stands for the driver error *exc* (see the module docs)."""
    if isinstance(exc, pg_errors.UniqueViolation):
        diag = exc.diag
        return DuplicateKey(
            f"UNIQUE constraint failed: {diag.constraint_name or ''} {diag.message_detail or ''}"
        )
    if isinstance(exc, _CONFLICTS):
        return ConcurrencyError("transaction", type(exc).__name__)
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        # A row this unit points at was deleted by a unit that committed first
        # (e.g. a membership of a bucket deleted meanwhile): retry to see it gone.
        match = _MISSING_KEY.search(exc.diag.message_detail or "")
        table, key = (match.group(2), match.group(1)) if match else ("row", "?")
        return ConcurrencyError(_KINDS.get(table, table), key)
    if isinstance(exc, pg_errors.InFailedSqlTransaction):
        return StoreError(
            "an earlier statement of this unit of work failed; the unit can only be rolled back"
        )
    if isinstance(exc, psycopg.OperationalError):
        return StoreError(f"{what} connection failed: {exc}")
    return StoreError(f"{what} failed: {type(exc).__name__}: {exc}")


class PGConnection:
    """One psycopg connection seen through the interface the shared repositories use."""

    __slots__ = ("raw",)

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def run(self, sql: str, params: Sequence[Any] | None = None) -> psycopg.Cursor[Any]:
        """Execute native PostgreSQL SQL (``%s`` placeholders); return the cursor."""
        try:
            return self.raw.execute(sql, params)
        except psycopg.Error as exc:
            raise translate_error(exc) from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        """Execute a shared statement (``?`` or ``:name`` placeholders)."""
        return self.run(placeholders(sql), params)  # even empty: turns %% back into %

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor[Any]:
        """Execute a shared statement once per row of *rows*."""
        cur = self.raw.cursor()
        batch = list(rows)
        if not batch:
            return cur
        try:
            cur.executemany(placeholders(sql), batch)
        except psycopg.Error as exc:
            raise translate_error(exc) from exc
        return cur
