"""Connections to a SQLite database and the translation of driver errors.

Every connection is opened in autocommit mode (``isolation_level=None``) so
that teamcrm, not the driver, decides where transactions begin and end.  On a
file database each connection uses WAL, ``synchronous=NORMAL``, a busy
timeout, ``foreign_keys=ON`` and a WAL checkpoint every
:data:`WAL_AUTOCHECKPOINT_PAGES` pages.

No ``sqlite3`` exception ever leaves this package: :func:`translate` turns
them into :mod:`teamcrm.errors` classes.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import quote, unquote

import attrs

from teamcrm import log
from teamcrm.errors import (
    AlreadyExists,
    MissingDatabaseError,
    StoreError,
    TeamCRMError,
    ValidationError,
)
from teamcrm.search import name_text

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "WAL_AUTOCHECKPOINT_PAGES",
    "SQLiteURL",
    "connect",
    "is_busy",
    "parse_url",
    "register_functions",
    "retry_busy",
    "translate",
    "translating",
]

#: Seconds a statement waits for another connection's lock before failing.
DEFAULT_BUSY_TIMEOUT = 30.0

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class SQLiteURL:
    """A parsed ``sqlite://`` URL.

    :ivar path: the database file, or ``None`` for a private in-memory database.
    """

    url: str
    path: str | None

    @property
    def in_memory(self) -> bool:
        """True for ``sqlite://`` (a private in-memory database)."""
        return self.path is None


def parse_url(url: str) -> SQLiteURL:
    """Parse a SQLite URL the way SQLAlchemy does.

    ``sqlite:///team.db`` is ``team.db`` relative to the working directory,
    ``sqlite:////var/lib/team.db`` is an absolute path, and ``sqlite://`` or
    ``sqlite:///:memory:`` is a private in-memory database.  The path is
    percent-decoded (``sqlite:///my%20team.db`` is ``my team.db``).
    """
    if not isinstance(url, str) or not url.lower().startswith("sqlite://"):
        raise ValidationError("url", url, "must start with 'sqlite://'")
    rest = url[len("sqlite://") :]
    if "?" in rest or "#" in rest:
        raise ValidationError("url", url, "query strings are not supported in a sqlite URL")
    if rest in ("", "/", "/:memory:"):
        return SQLiteURL(url=url, path=None)
    if not rest.startswith("/"):
        raise ValidationError(
            "url", url, "must look like 'sqlite:///relative.db' or 'sqlite:////absolute.db'"
        )
    path = unquote(rest[1:])  # "my%20team.db" is the file "my team.db", as in any URL
    if "\x00" in path:
        raise ValidationError("url", url, "must not contain NUL characters")
    return SQLiteURL(url=url, path=path)


def is_busy(exc: BaseException) -> bool:
    """True if *exc* is SQLite's "database is locked" / "busy" condition."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def translate(exc: sqlite3.Error, *, kind: str = "record", key: Any = None) -> TeamCRMError:
    """Return the teamcrm error that stands for the driver error *exc*.

    A uniqueness violation becomes :class:`AlreadyExists` (naming *kind* and
    *key*); everything else, including a busy database, is a
    :class:`StoreError` whose message keeps the driver's text.
    """
    text = str(exc)
    if isinstance(exc, sqlite3.IntegrityError) and ("UNIQUE" in text or "PRIMARY KEY" in text):
        return AlreadyExists(kind, key)
    if is_busy(exc):
        return StoreError(f"the SQLite database stayed busy (locked by another writer): {text}")
    return StoreError(f"SQLite failed: {type(exc).__name__}: {text}")


@contextmanager
def translating(*, kind: str = "record", key: Any = None) -> Iterator[None]:
    """Run a block, turning any ``sqlite3.Error`` into a teamcrm error."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc, kind=kind, key=key) from exc


def retry_busy(fn: Callable[[], T], *, attempts: int = 5, delay: float = 0.05) -> T:
    """Call *fn*, retrying while SQLite reports the database busy.

    Used only for statements that are safe to repeat (``BEGIN``, pragmas).
    After *attempts* the error is translated to :class:`StoreError`.
    """
    for attempt in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or attempt == attempts - 1:
                raise translate(exc) from exc
            log.store.debug("SQLite busy (attempt %d of %d): retrying", attempt + 1, attempts)
            time.sleep(delay * (attempt + 1))
        except sqlite3.Error as exc:
            raise translate(exc) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def _pragmas(conn: sqlite3.Connection, statements: Iterable[str]) -> None:
    for statement in statements:
        retry_busy(lambda s=statement: conn.execute(s).fetchall())  # type: ignore[misc]


#: WAL pages between automatic checkpoints (SQLite's default is 1,000).
WAL_AUTOCHECKPOINT_PAGES = 4_000


def _name_text(first: Any, last: Any) -> str:
    return name_text(str(first or ""), str(last or ""))


def register_functions(conn: sqlite3.Connection) -> None:
    """Register the SQL functions the store's triggers call on *conn*.

    ``teamcrm_name_text(first, last)`` is :func:`teamcrm.search.name_text`:
    the name index is folded by Python, once, for every store.  Every
    connection the store opens has it; a tool that writes contacts or
    companies through a connection of its own must call this first.
    """
    conn.create_function("teamcrm_name_text", 2, _name_text, deterministic=True)


def connect(
    url: SQLiteURL, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT, create: bool = True
) -> sqlite3.Connection:
    """Open a connection configured for teamcrm (autocommit, FKs, busy timeout).

    With ``create=False`` a missing file is not made (SQLite's ``mode=rw``):
    :class:`~teamcrm.errors.MissingDatabaseError` naming the file.  WAL is
    switched on separately, after the schema check, by the store, so a
    refused database is left untouched.
    """
    target = ":memory:" if url.path is None else url.path
    uri = False
    if not create and url.path is not None:
        if not os.path.exists(url.path):
            raise MissingDatabaseError(repr(url.path))
        target = "file:" + quote(os.path.abspath(url.path)) + "?mode=rw"
        uri = True
    try:
        conn = sqlite3.connect(
            target,
            timeout=busy_timeout,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=256,
            uri=uri,
        )
    except sqlite3.Error as exc:
        if uri and not os.path.exists(url.path or ""):
            raise MissingDatabaseError(repr(url.path)) from exc
        raise StoreError(f"cannot open SQLite database {url.path or target!r}: {exc}") from exc
    try:
        _pragmas(
            conn,
            (
                f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}",
                "PRAGMA foreign_keys = ON",
                "PRAGMA synchronous = NORMAL",
                "PRAGMA temp_store = MEMORY",
                "PRAGMA cache_size = -16000",
                # A routing unit dirties ~30 pages (lead, memberships, notification,
                # outbox and their indexes): checkpoint every ~16 MB of WAL, not 4 MB,
                # so the checkpoint's copy and sync are paid four times less often.
                f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}",
            ),
        )
        register_functions(conn)
    except StoreError as exc:
        conn.close()
        if type(exc) is StoreError:  # e.g. "file is not a database": name the file
            raise StoreError(f"cannot open SQLite database {url.path or target!r}: {exc}") from exc
        raise
    except BaseException:
        conn.close()
        raise
    return conn
