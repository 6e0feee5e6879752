"""Connections to PostgreSQL (psycopg 3) and the translation of driver errors.

:class:`PGConnection` wraps one psycopg connection for the length of a unit
of work and offers the two methods the shared repositories call,
``execute`` and ``executemany``, for statements the shared repositories
built with the PostgreSQL dialect, with ``?``/``:name`` placeholders (mapped
by :func:`~teamcrm.adapters.postgres.dialect.placeholders`, a cached lexical
pass); ``run`` takes native PostgreSQL SQL.  It sends several statements in
one round trip where the unit allows it: its opening with its first
statement, reads ahead, writes sent later and the commit (see the class).

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

import contextlib
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus

from teamcrm.adapters.postgres.dialect import placeholders
from teamcrm.adapters.sql.base import Cursor
from teamcrm.adapters.sql.errors import DuplicateKey
from teamcrm.errors import (
    AlreadyExists,
    ConcurrencyError,
    StoreError,
    TeamCRMError,
    ValidationError,
)

__all__ = [
    "Opening",
    "PGConnection",
    "UniqueViolation",
    "check_url",
    "redacted",
    "translate_error",
]


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


class Opening(Protocol):
    """How a unit's connection opens its transaction (see :class:`PGConnection`)."""

    #: What the connection sends before anything else: ``BEGIN`` and the schema stamp's read.
    statements: tuple[str, ...]

    def check(self, raw: psycopg.Connection[Any], count: int, *, failed: bool) -> None:
        """Check the schema stamp *count* (raise ``SchemaVersionError``).

        *failed*: a statement sent with the opening failed; the transaction
        is aborted and may be rolled back to look at the schema.
        """

    def replace(self, raw: psycopg.Connection[Any], exc: psycopg.Error) -> psycopg.Connection[Any]:
        """Return another connection for *raw*, which died before its transaction began.

        Raises the translated *exc* when no other may be tried.
        """


class _Recorded(BaseException):
    """Ends a repository call made only to learn the statement it sends first."""


class _Rows:
    """A cursor over rows already fetched (a statement read ahead, or one sent later)."""

    __slots__ = ("_at", "_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self._at = 0
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        """The next row, or ``None``."""
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchall(self) -> list[Any]:
        """The remaining rows."""
        rows = self._rows[self._at :]
        self._at = len(self._rows)
        return rows

    def __iter__(self) -> Iterator[Any]:
        """The remaining rows, one by one."""
        return iter(self.fetchall())


_NOTHING = _Rows([], -1)

_Key = tuple[str, Any]


@dataclass(slots=True)
class _Statement:
    """One statement of a batch: native SQL and its parameters."""

    sql: str
    params: Any = None
    many: bool = False  # ``params`` is a list of parameter rows
    key: _Key | None = None  # a read sent ahead: where its rows are kept
    kind: str | None = None  # a write sent later: the record it writes...
    record: Any = None  # ...and its key, named by AlreadyExists


def _frozen(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


def _key(sql: str, params: Any) -> _Key | None:
    """The key a read's rows are kept under: its statement and parameters (None: unhashable)."""
    key = (sql, _frozen(params))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _reads(sql: str) -> bool:
    """True for a statement that changes no row (a ``SELECT``; it may take row locks)."""
    return sql.lstrip()[:6].upper() == "SELECT"


_LOCKING = re.compile(
    r"\bFOR\s+(?:UPDATE|SHARE|KEY\s+SHARE|NO\s+KEY\s+UPDATE)\b|pg_advisory", re.IGNORECASE
)


@functools.lru_cache(maxsize=1024)
def _locks(sql: str) -> bool:
    """True for a statement that takes a lock: what was read before it may have changed since."""
    return _LOCKING.search(sql) is not None


#: Tables no trigger or cascade of teamcrm's schema writes when another table
#: is inserted into or updated: a read of these alone can only be changed by
#: a write to one of them.
_SETTLED = frozenset(
    {
        "teams",
        "team_statuses",
        "programs",
        "members",
        "buckets",
        "bucket_grants",
        "inbound_buckets",
        "lead_pools",
        "followup_policies",
    }
)
_READ_TABLES = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)", re.IGNORECASE)
_WRITTEN_TABLE = re.compile(r"\s*(?:INSERT\s+INTO|UPDATE)\s+(\w+)\s", re.IGNORECASE)


@functools.lru_cache(maxsize=1024)
def _settled_tables(sql: str) -> frozenset[str] | None:
    """The tables the read *sql* names, if all are settled (see ``_SETTLED``); else ``None``."""
    tables = frozenset(t.lower() for t in _READ_TABLES.findall(sql))
    return tables if tables and tables <= _SETTLED else None


@functools.lru_cache(maxsize=1024)
def _written_table(sql: str) -> str | None:
    """The table an ``INSERT`` or ``UPDATE`` writes (``None``: another statement)."""
    match = _WRITTEN_TABLE.match(sql)
    return None if match is None else match.group(1).lower()


def _forget_prepared(raw: psycopg.Connection[Any]) -> None:
    """Make psycopg forget the connection's prepared statements (and drop them on the server).

    psycopg records a statement as prepared when it sends the ``Parse``; in
    a pipeline that failed before it, the server skipped that ``Parse``, and
    the next use of the statement would fail (``prepared statement "_pg3_4"
    does not exist``).  The server's are dropped (``DEALLOCATE ALL``) before
    the connection's next statement.
    """
    prepared = getattr(raw, "_prepared", None)
    clear = getattr(prepared, "clear", None)
    if clear is not None:
        clear()


class PGConnection:
    """One psycopg connection seen through the interface the shared repositories use.

    Besides sending statements one by one, it sends several in one round trip
    (a psycopg pipeline) where a unit of work allows it:

    * **opening** - a unit's connection is acquired without sending
      anything; ``BEGIN`` and the schema stamp's read go with the unit's first
      statement (:class:`Opening` checks the stamp; a connection found dead
      then is replaced and the batch sent again: nothing of it was committed);
    * **reads ahead** (:meth:`read_ahead`) - a repository call made in
      *recording* mode sends nothing: its first statement, if it is a
      ``SELECT``, is kept and sent with the next batch, and the rows are
      kept until the same statement with the same parameters is run again,
      which then takes them instead of asking the server.  Kept rows are
      dropped when the unit writes anything they may depend on (an
      ``INSERT`` or ``UPDATE`` of one table keeps only the reads of other
      tables that no trigger writes, ``_SETTLED``; any other write drops
      every kept read), and those read before a lock when the unit takes it
      (they might no longer be what a read would return): reads are sent in
      the order they were recorded, so a read that must see what a lock
      protects is recorded after the locking one;
    * **writes sent later** (:meth:`later`) - a write whose result its caller
      does not read is queued and sent first in the next batch (before any
      statement that could see it).  If it fails (a duplicate key), the
      error is raised by the call that sent the batch, naming the queued
      write's record (``AlreadyExists(kind, key)``), and the transaction can
      only be rolled back; ``COMMIT`` sent in the same batch then does not
      commit.  Only writes that fail, if at all, by a server error may be
      queued: no row count is checked;
    * **commit** (:meth:`commit`) - the statements of the unit's last steps
      (outbox lock and rows) are queued and sent with ``COMMIT``.
    """

    __slots__ = (
        "_ahead",
        "_ahead_keys",
        "_later",
        "_opening",
        "_queued_as",
        "_queueing",
        "_read",
        "_sent",
        "_stale",
        "raw",
        "recording",
        "sending_later",
    )

    def __init__(self, raw: psycopg.Connection[Any], opening: Opening | None = None) -> None:
        self.raw = raw
        self._opening = opening
        self._later: list[_Statement] = []
        self._ahead: list[_Statement] = []
        self._ahead_keys: set[_Key] = set()
        self._read: dict[_Key, tuple[int, _Rows]] = {}  # by key: (when sent, rows)
        self._sent = 0  # statements read ahead so far (their order)
        self._stale = False  # a statement failed: psycopg's prepared statements may be stale
        self._queueing = False
        self._queued_as: tuple[str | None, Any] = (None, None)
        #: True while :meth:`read_ahead` records a repository call.
        self.recording = False
        #: True inside the unit's ``send_later()`` block: repositories may queue writes.
        self.sending_later = False

    # ------------------------------------------------------------ statements
    def run(self, sql: str, params: Sequence[Any] | None = None) -> Cursor:
        """Execute native PostgreSQL SQL (``%s`` placeholders); return the cursor."""
        if self.recording:
            self.note(sql, params)
            raise _Recorded
        if self._queueing:
            kind, record = self._queued_as
            if not _reads(sql) or _locks(sql):
                self._forget_reads(sql)
            self._later.append(_Statement(sql, params, kind=kind, record=record))
            return _NOTHING
        key = _key(sql, params) if (self._read or self._ahead_keys) and _reads(sql) else None
        if key is not None:
            if key in self._ahead_keys:
                self._send([])
            kept = self._read.pop(key, None)
            if kept is not None:
                sent, rows = kept
                if _locks(sql):  # what was read before the lock may have changed since
                    self._read = {k: v for k, v in self._read.items() if v[0] > sent}
                return rows
        if not _reads(sql) or _locks(sql):
            self._forget_reads(sql)
        if self._opening is None and not self._later and not self._ahead:
            try:
                return self.raw.execute(sql, params)
            except psycopg.Error as exc:
                self._stale = True
                raise translate_error(exc) from exc
        cur: Cursor = self._send([_Statement(sql, params)])[0]
        return cur

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Execute a shared statement (``?`` or ``:name`` placeholders)."""
        return self.run(placeholders(sql), params)  # even empty: turns %% back into %

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        """Execute a shared statement once per row of *rows*."""
        batch = list(rows)
        if self.recording:
            raise _Recorded
        if not batch:
            return _NOTHING
        kind, record = self._queued_as if self._queueing else (None, None)
        statement = _Statement(placeholders(sql), batch, many=True, kind=kind, record=record)
        self._forget_reads(statement.sql)
        if self._queueing:
            self._later.append(statement)
            return _NOTHING
        if self._opening is None and not self._later and not self._ahead:
            cur = self.raw.cursor()
            try:
                cur.executemany(statement.sql, batch)  # a pipeline: see _stale
            except psycopg.Error as exc:
                self._stale = True
                raise translate_error(exc) from exc
            return cur
        sent: Cursor = self._send([statement])[0]
        return sent

    # ------------------------------------------------------- reads ahead
    def note(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Keep the read *sql* to send with the next batch (nothing if it writes or is kept)."""
        if not _reads(sql):
            return
        key = _key(sql, params)
        if key is None or key in self._ahead_keys or key in self._read:
            return
        self._ahead.append(_Statement(sql, params, key=key))
        self._ahead_keys.add(key)

    def read_ahead(self, call: Callable[[], object]) -> None:
        """Run *call* (a repository call) in recording mode: its first read is sent ahead.

        Nothing is sent and *call*'s result is dropped; an error it raises
        before sending anything is left for the real call to raise.
        """
        self.recording = True
        try:
            call()
        except _Recorded:
            pass
        except Exception:  # only a guess: the real call raises it again
            pass
        finally:
            self.recording = False

    # ------------------------------------------------------- writes later
    def later(self, sql: str, params: Sequence[Any], *, kind: str, key: Any) -> None:
        """Queue a shared write (``?`` placeholders) of the record *kind* *key* (see the class)."""
        statement = _Statement(placeholders(sql), params, kind=kind, record=key)
        self._forget_reads(statement.sql)
        self._later.append(statement)

    def run_later(self, sql: str, params: Sequence[Any], *, kind: str, key: Any) -> None:
        """Queue native SQL (``%s`` placeholders) writing *kind* *key* (see :meth:`later`)."""
        statement = _Statement(sql, params, kind=kind, record=key)
        self._forget_reads(sql)
        self._later.append(statement)

    @contextlib.contextmanager
    def queueing(self, kind: str | None = None, key: Any = None) -> Iterator[None]:
        """Queue every statement run inside (their results are not read) for the next batch.

        With *kind* and *key*, a duplicate key the queued statements meet is
        raised as ``AlreadyExists(kind, key)`` (see :meth:`later`).
        """
        self._queueing = True  # each statement queued forgets the reads it may change
        self._queued_as = (kind, key)
        try:
            yield
        finally:
            self._queueing = False
            self._queued_as = (None, None)

    def _forget_reads(self, sql: str) -> None:
        """Drop the kept reads the write (or lock) *sql* may change.

        An ``INSERT`` or ``UPDATE`` of a table keeps the reads of settled
        tables (``_SETTLED``) other than it; anything else drops every kept read.
        """
        if not self._read:
            return
        table = None if _reads(sql) else _written_table(sql)
        if table is None:
            self._read.clear()
            return
        for key in [k for k in self._read if table in (_settled_tables(k[0]) or (table,))]:
            del self._read[key]

    def flush(self) -> None:
        """Send whatever is queued (opening, writes, reads) now, in one round trip."""
        if self._opening is not None or self._later or self._ahead:
            self._send([])

    # --------------------------------------------------------- transaction
    def commit(self, last: Callable[[], None] | None = None) -> None:
        """Queue what *last* runs, then send the queue with ``COMMIT`` (one round trip).

        A unit that sent nothing has no transaction: nothing is sent.
        """
        if last is not None:
            with self.queueing():
                last()
        self._ahead.clear()  # never read now
        self._ahead_keys.clear()
        if self._opening is not None:
            if not self._later:
                return  # nothing was begun
            self._send([])  # check the schema before anything commits
        try:
            self._send([_Statement("COMMIT")])
        except (TeamCRMError, DuplicateKey) as exc:
            if self.raw.broken:
                raise StoreError(
                    "the PostgreSQL connection was lost during COMMIT: the unit of work was"
                    " committed whole or not at all, and this process cannot tell which -"
                    f" check before repeating it ({exc.__cause__ or exc})"
                ) from exc
            raise

    def rollback(self) -> None:
        """Drop what is queued and roll back (nothing to send if nothing was begun)."""
        self._forget()
        if self._opening is not None:
            return
        raw = self.raw
        stale, self._stale = self._stale, False
        try:
            if raw.closed or raw.broken:
                return
            if not stale:
                raw.execute("ROLLBACK")
                return
            raw.rollback()  # not a prepared statement; forgets them (DEALLOCATE ALL)
            _forget_prepared(raw)  # also when COMMIT had ended the transaction
        except psycopg.Error as exc:
            if not raw.broken:  # a lost connection's transaction is gone
                raise translate_error(exc) from exc

    @property
    def in_error(self) -> bool:
        """True when a statement failed: the transaction can only be rolled back."""
        return self.raw.info.transaction_status == TransactionStatus.INERROR

    # ------------------------------------------------------------- batches
    def _forget(self) -> None:
        self._later.clear()
        self._ahead.clear()
        self._ahead_keys.clear()
        self._read.clear()

    def _send(self, live: list[_Statement]) -> list[Any]:
        """Send the opening, the queued writes, *live* and the reads ahead in one pipeline.

        Returns the cursors of *live*; keeps the rows of the reads ahead.
        """
        opening = self._opening
        head = [_Statement(s) for s in opening.statements] if opening is not None else []
        batch = [*head, *self._later, *live, *self._ahead]
        self._later = []
        ahead, self._ahead = self._ahead, []
        self._ahead_keys.clear()
        while True:
            cursors: list[Any] = []
            try:
                with self.raw.pipeline():
                    for statement in batch:
                        if statement.many:
                            cur = self.raw.cursor()
                            cur.executemany(statement.sql, statement.params)
                        else:
                            cur = self.raw.execute(statement.sql, statement.params)
                        cursors.append(cur)
            except psycopg.Error as exc:
                if opening is not None and self.raw.broken:
                    self.raw = opening.replace(self.raw, exc)  # raises when it may not
                    continue
                self._stale = True
                self._forget()
                try:
                    error = self._failed(exc, batch, cursors, len(head))
                finally:
                    self._opening = None  # BEGIN was sent: ROLLBACK ends what it began
                raise error from exc
            break
        if opening is not None:
            self._opening = None
            row = cursors[len(head) - 1].fetchone()
            opening.check(self.raw, 0 if row is None else int(row[0]), failed=False)
        for statement, cur in zip(ahead, cursors[len(batch) - len(ahead) :], strict=True):
            assert statement.key is not None
            self._sent += 1
            self._read[statement.key] = (self._sent, _Rows(cur.fetchall(), cur.rowcount))
        first = len(batch) - len(ahead) - len(live)
        return cursors[first : first + len(live)]

    def _failed(
        self, exc: psycopg.Error, batch: list[_Statement], cursors: list[Any], opened: int
    ) -> BaseException:
        """The error to raise for *exc*, which failed a statement of *batch*."""
        failed = next((i for i, c in enumerate(cursors) if c.pgresult is None), len(cursors))
        opening = self._opening
        if opening is not None and opened and failed >= opened:
            # The schema stamp was read: a newer schema explains a failure best.
            row = cursors[opened - 1].fetchone()
            if row is not None:
                opening.check(self.raw, int(row[0]), failed=True)
        error = translate_error(exc)
        statement = batch[failed] if failed < len(batch) else None
        if isinstance(error, DuplicateKey) and statement is not None and statement.kind:
            return AlreadyExists(statement.kind, statement.record)
        return error
