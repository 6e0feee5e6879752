"""The SQLite store and its unit of work.

Threads: a file store gives every thread its own connection (SQLite
connections must not be shared by concurrent threads); a private in-memory
store (``sqlite://``) has one connection and serialises its units of work
with a lock.  Processes: every process opens its own store on the file; WAL
lets readers run while one writer writes, and every writing unit starts with
``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of
deadlocking on a read-then-write upgrade.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from typing import Any, overload

from teamcrm.adapters.sql.repositories import (
    RepositoryFactory,
    register_repository,
    registered_repositories,
    store_with_repository,
    with_spec_migrations,
)
from teamcrm.adapters.sqlite.connection import (
    DEFAULT_BUSY_TIMEOUT,
    SQLiteURL,
    connect,
    parse_url,
    retry_busy,
    translate,
)
from teamcrm.adapters.sqlite.migrations import (
    STAMP_SQL,
    Migration,
    applied_migrations,
    check_known,
    migrate,
    refuse_unknown,
    registered_migrations,
)
from teamcrm.adapters.sqlite.repositories import SQLiteContext
from teamcrm.core_repositories import CORE_REPOSITORIES
from teamcrm.errors import StoreError, ValidationError
from teamcrm.repositories import RepositorySpec, check_spec, resolve
from teamcrm.repositories import registered_repositories as registered_specs
from teamcrm.unit_of_work import BaseUnitOfWork

__all__ = [
    "RepositoryFactory",
    "SQLiteStore",
    "SQLiteUnitOfWork",
    "register_repository",
    "registered_repositories",
]


class SQLiteUnitOfWork(BaseUnitOfWork):
    """One transaction on a :class:`SQLiteStore`.

    Writing units begin with ``BEGIN IMMEDIATE`` (the write lock is taken at
    once, so a read-modify-write cannot lose a race half-way); read-only
    units (``write=False``) use a deferred ``BEGIN`` with ``query_only`` on,
    so an accidental write is refused instead of silently taking the lock.
    """

    def __init__(self, store: SQLiteStore, *, write: bool = True) -> None:
        super().__init__()
        self._store = store
        self._write = write
        self._conn: sqlite3.Connection | None = None
        ctx = self.context = SQLiteContext()
        ctx.programs_table = store._programs_table
        vars(self).update({name: build(ctx) for name, build in store._core})
        for name, factory in store._repositories.items():
            setattr(self, name, factory(ctx))
        self._specs = store._specs

    @property
    def write(self) -> bool:
        """True unless the unit was opened with ``write=False``."""
        return self._write

    def _begin(self) -> None:
        store = self._store
        if store._unit_open():
            raise StoreError("a unit of work is already open on this thread; units do not nest")
        conn = store._acquire(write=self._write)
        try:
            if self._write:
                retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
            else:
                if store._target.in_memory:  # one shared connection: read-only for this unit
                    conn.execute("PRAGMA query_only = ON")
                retry_busy(lambda: conn.execute("BEGIN"))
            if not store._target.in_memory:
                store._check_stamp(conn)
        except BaseException:
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if not self._write and store._target.in_memory:
                    conn.execute("PRAGMA query_only = OFF")
            except sqlite3.Error:  # pragma: no cover - the connection is gone
                pass
            finally:
                store._release(conn)
            raise
        store._set_unit_open(True)
        self._conn = conn
        self.context.attach(conn)

    def _finish(self) -> None:
        conn = self._conn
        self._conn = None
        self.context.attach(None)
        if conn is None:
            return
        self._store._set_unit_open(False)
        try:
            if not self._write and self._store._target.in_memory:
                conn.execute("PRAGMA query_only = OFF")
        except sqlite3.Error:  # pragma: no cover - the connection is gone
            pass
        finally:
            self._store._release(conn)

    def _commit(self) -> None:
        conn = self._conn
        if conn is None:  # pragma: no cover - guarded by BaseUnitOfWork
            raise StoreError("the unit of work is not open")
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        self._finish()

    def _rollback(self) -> None:
        conn = self._conn
        try:
            if conn is not None and conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        finally:
            self._finish()


class SQLiteStore:
    """The embedded default store: one SQLite file shared by threads and processes.

    Open it with ``teamcrm.open("sqlite:///team.db")`` (relative path),
    ``"sqlite:////abs/path/team.db"`` (absolute) or ``"sqlite://"`` (a private
    in-memory database).  Opening applies pending migrations and refuses a
    database made by a newer release (:class:`~teamcrm.errors.SchemaVersionError`)
    or by another application (:class:`~teamcrm.errors.ForeignDatabaseError`);
    nothing is written to a refused file.

    Every unit of work then reads the file's header stamp (one statement,
    :data:`~teamcrm.adapters.sqlite.migrations.STAMP_SQL`, no I/O beyond the
    first page); when it moved since this store last looked, the unit re-reads
    the migrations table, and a migration this release does not know (a newer
    release migrated the file meanwhile) makes the unit raise
    ``SchemaVersionError`` before it writes anything.

    :param busy_timeout: seconds a writer waits for another writer's lock.
    :param migrations: the migrations to apply (default: every registered
        one); meant for tests of upgrades.
    :param create: make the database when there is none (the default).  With
        ``create=False`` a missing or empty file is refused with
        :class:`~teamcrm.errors.MissingDatabaseError` and nothing is created.
    """

    def __init__(
        self,
        url: str = "sqlite://",
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        migrations: Sequence[Migration] | None = None,
        create: bool = True,
    ) -> None:
        self.url = url
        self._target: SQLiteURL = parse_url(url)
        if isinstance(busy_timeout, bool) or not isinstance(busy_timeout, int | float):
            raise ValidationError("busy_timeout", busy_timeout, "must be a number of seconds")
        if not 0 <= busy_timeout <= 3600:
            raise ValidationError("busy_timeout", busy_timeout, "must be 0 to 3600 seconds")
        self._busy_timeout = float(busy_timeout)
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._memory_lock = threading.RLock()
        self._pid = os.getpid()
        self._closed = False
        #: How a unit builds each of teamcrm's own repositories (the specs' ``sql``).
        self._core: list[tuple[str, RepositoryFactory]] = [
            (spec.name, resolve(spec.sql)) for spec in CORE_REPOSITORIES
        ]
        #: This store's extra repositories (the defaults of :func:`register_repository`,
        #: copied now).  Replaced, never changed in place: a unit being built reads
        #: the one it found.
        self._repositories: dict[str, RepositoryFactory] = registered_repositories()
        #: The specs among them (:func:`teamcrm.register_repository`, and this store's own).
        self._specs: dict[str, RepositorySpec[Any]] = {}
        for spec in registered_specs().values():
            if spec.sql is not None:
                check_spec(self._specs, spec, taken=self._repositories)
                self._specs[spec.name] = spec
                self._repositories[spec.name] = resolve(spec.sql)
        if not isinstance(create, bool):
            raise ValidationError("create", create, "must be True or False")
        known = registered_migrations() if migrations is None else tuple(migrations)
        known = with_spec_migrations(known, self._specs.values())
        self._known = known
        #: The schema has the programs table: reading a team also tells if it has programs.
        self._programs_table = any(m.name == "0400_programs" for m in known)
        self._where = repr(self._target.path or ":memory:")
        conn = connect(self._target, busy_timeout=self._busy_timeout, create=create)
        try:
            where = self._where
            check_known(conn, known, where=where, create=create)
            if self._target.path is not None:
                mode = retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
                self.journal_mode = str(mode[0]).lower() if mode else "unknown"
            else:
                self.journal_mode = "memory"
            self.applied = migrate(conn, known, where=where, create=create)
            # Fresh statistics: the planner's choices must not depend on luck.
            retry_busy(lambda: conn.execute("PRAGMA optimize").fetchall())
            row = retry_busy(lambda: conn.execute(STAMP_SQL).fetchone())
            self._stamp: tuple[int, int] = (int(row[0]), int(row[1]))
        except BaseException:
            conn.close()
            raise
        self._register(conn)

    def _check_stamp(self, conn: sqlite3.Connection) -> None:
        """Refuse the open unit if a newer release migrated the file (see the class docs).

        Runs inside the unit's transaction: a writing unit holds the write
        lock, so no migration can commit between this check and its writes.
        """
        try:
            row = conn.execute(STAMP_SQL).fetchone()
            stamp = (int(row[0]), int(row[1]))
            if stamp == self._stamp:
                return
            applied = applied_migrations(conn)
        except sqlite3.Error as exc:
            raise translate(exc) from exc
        refuse_unknown(applied, self._known, self._where)
        self._stamp = stamp  # moved, but by migrations this release knows

    @overload
    def register_repository(
        self, spec: RepositorySpec[Any], /, *, replace: bool = False
    ) -> None: ...

    @overload
    def register_repository(
        self, name: str, factory: RepositoryFactory, *, replace: bool = False
    ) -> None: ...

    def register_repository(
        self,
        name: RepositorySpec[Any] | str,
        factory: RepositoryFactory | None = None,
        *,
        replace: bool = False,
    ) -> None:
        """Give this store's units of work (those opened from now on) a repository.

        ``register_repository(spec)`` takes a
        :class:`~teamcrm.repositories.RepositorySpec`: units get
        ``uow.<spec.name>`` built by ``spec.sql``, and the spec's migrations
        are applied now (a database that records them then needs the spec
        registered wherever it is opened, as any migration does).
        ``register_repository(name, factory)`` is the older form (a factory of
        the unit's context, no migrations).  As :func:`register_repository`,
        for this store alone: other stores, and stores opened later, do not
        get it.
        """
        self._specs, self._repositories = store_with_repository(
            self._specs,
            self._repositories,
            name,
            factory,
            replace=replace,
            implementation=lambda spec: spec.sql,
            apply=self._apply,
        )

    def _apply(self, migrations: Sequence[Migration]) -> None:
        """Apply the *migrations* this store does not know yet, and know them from now on."""
        known = with_spec_migrations(self._known, [], extra=migrations)
        if len(known) == len(self._known):
            return
        if self._unit_open():
            raise StoreError("register repositories between units of work, not inside one")
        conn = self._acquire(write=True)
        try:
            self.applied = [*self.applied, *migrate(conn, known, where=self._where)]
            row = retry_busy(lambda: conn.execute(STAMP_SQL).fetchone())
            self._stamp = (int(row[0]), int(row[1]))
        finally:
            self._release(conn)
        self._known = known

    @property
    def repositories(self) -> dict[str, RepositoryFactory]:
        """This store's extra repositories, by unit-of-work attribute name (a copy)."""
        return dict(self._repositories)

    @property
    def path(self) -> str | None:
        """The database file, or ``None`` for an in-memory store."""
        return self._target.path

    def _register(self, conn: sqlite3.Connection, *, slot: str = "conn") -> None:
        with self._conns_lock:
            self._conns.append(conn)
        if getattr(self._local, "pid", None) != os.getpid():
            self._local.__dict__.clear()  # a forked child opens its own connections
            self._local.pid = os.getpid()
        setattr(self._local, slot, conn)

    def _acquire(self, *, write: bool = True) -> sqlite3.Connection:
        """This thread's connection for a writing unit, or its read-only one.

        A file store keeps two connections per thread: reading units use one
        opened with ``query_only`` for good, so neither has to switch the
        pragma per unit (switching it expires every prepared statement of
        the connection, and then each unit compiles its SQL again).
        """
        if self._closed:
            raise StoreError(f"the store {self.url!r} is closed")
        if self._target.in_memory:
            self._memory_lock.acquire()
            return self._conns[0]
        slot = "conn" if write else "reader"
        conn: sqlite3.Connection | None = None
        if getattr(self._local, "pid", None) == os.getpid():
            conn = getattr(self._local, slot, None)
        if conn is None:
            # The file existed when the store opened: never make a new one here.
            conn = connect(self._target, busy_timeout=self._busy_timeout, create=False)
            if not write:
                try:
                    conn.execute("PRAGMA query_only = ON")
                except BaseException:
                    conn.close()
                    raise
            self._register(conn, slot=slot)
        return conn

    def _unit_open(self) -> bool:
        """True when this thread (of this process) has a unit of work open."""
        return getattr(self._local, "open_in", None) == os.getpid()

    def _set_unit_open(self, is_open: bool) -> None:
        self._local.open_in = os.getpid() if is_open else None

    def _release(self, conn: sqlite3.Connection) -> None:
        if self._target.in_memory:
            self._memory_lock.release()

    def unit_of_work(self, *, write: bool = True) -> SQLiteUnitOfWork:
        """Return a new unit of work; ``write=False`` opens a read-only snapshot."""
        # The repositories come from the specs (set in __init__), which mypy cannot see.
        return SQLiteUnitOfWork(self, write=write)  # type: ignore[abstract]

    def close(self) -> None:
        """Close every connection this process opened (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with self._conns_lock:
            conns, self._conns = self._conns, []
        if os.getpid() != self._pid:
            return  # connections inherited through fork belong to the parent
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA optimize")  # refresh statistics the queries needed
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.url!r})"
