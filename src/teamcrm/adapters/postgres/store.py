"""The PostgreSQL store and its unit of work.

Connections come from a :class:`psycopg_pool.ConnectionPool` (autocommit
connections; teamcrm issues ``BEGIN``/``COMMIT`` itself).  Every unit of
work is one READ COMMITTED transaction on one pooled connection; read-only
units (``write=False``) are ``READ ONLY`` transactions.  Threads share the
pool; a process that was forked after opening gets a pool of its own.

The repositories are the shared ones of the SQL layer (one implementation
of the SQL, built with the PostgreSQL dialect, and of the row mapping), run
through :class:`~teamcrm.adapters.postgres.connection.PGConnection`,
except where PostgreSQL needs its own statements to stay correct with
concurrent writers (see :mod:`teamcrm.adapters.postgres.repositories`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from teamcrm import log
from teamcrm.adapters.postgres.connection import (
    PGConnection,
    check_url,
    redacted,
    translate_error,
)
from teamcrm.adapters.postgres.dialect import POSTGRES
from teamcrm.adapters.postgres.migrations import (
    applied_migrations,
    migrate,
    migration_count,
    release_migrations,
)
from teamcrm.adapters.sql.base import SQLContext
from teamcrm.adapters.sql.migrations import (
    MIGRATIONS_TABLE,
    Migration,
    refuse_unknown,
)
from teamcrm.adapters.sql.repositories import (
    RepositoryFactory,
    registered_repositories,
    store_with_repository,
    with_spec_migrations,
)
from teamcrm.contact import Contact
from teamcrm.core_repositories import CORE_REPOSITORIES
from teamcrm.errors import StoreError, ValidationError
from teamcrm.events import DomainEvent
from teamcrm.repositories import RepositorySpec, check_spec, resolve
from teamcrm.repositories import registered_repositories as registered_specs
from teamcrm.unit_of_work import BaseUnitOfWork

__all__ = [
    "PREPARE_THRESHOLD",
    "PGContext",
    "PostgresStore",
    "PostgresUnitOfWork",
    "register_postgres_repository",
]

_OVERRIDES: dict[str, RepositoryFactory] = {}


def register_postgres_repository(name: str, factory: RepositoryFactory) -> None:
    """Build ``uow.<name>`` of PostgreSQL units with *factory* instead of the SQLite one.

    Repositories registered for SQLite with
    :func:`~teamcrm.adapters.sql.repositories.register_repository` are used by
    the PostgreSQL store too; register a PostgreSQL one only where the
    shared statements are not enough.  (teamcrm's own PostgreSQL versions
    are named by their specs, ``RepositorySpec.postgres``; one registered
    here for a core name is built after, and so replaces, the spec's.)

    This is the process-wide default: a store copies it when it opens
    (register at import, before opening stores).  One store alone:
    :meth:`PostgresStore.register_repository`.
    """
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise ValidationError("name", name, "must be a public Python identifier")
    _OVERRIDES[name] = factory


#: psycopg prepares a statement on a connection from its this-many-th run.
PREPARE_THRESHOLD = 2


class PGContext(SQLContext):
    """What the repositories of one PostgreSQL unit share: its connection and mode.

    ``pool_cursors`` holds the round-robin cursor rows this unit has locked
    (``routing.lock_pool``), by (team, pool): (position, version) as the
    unit last read or wrote them.  The lock lasts until the transaction ends,
    so nobody else can change such a row meanwhile and a second look needs no
    round trip.  ``held_contacts`` likewise holds the version of each contact
    this unit read for update (``contacts.get_for_update``: locked ``FOR
    UPDATE``) or wrote since.  ``seen_contacts`` holds the contacts this
    writing unit read (``contacts.get``, ``get_many``), by id: a read for
    update that finds the row at the version seen needs not read it again.
    All are emptied whenever the unit's connection is bound or unbound.
    """

    __slots__ = ("_pg", "held_contacts", "pool_cursors", "seen_contacts", "write")

    def __init__(self, *, write: bool) -> None:
        super().__init__(POSTGRES)
        self._pg: PGConnection | None = None
        self.write = write
        self.pool_cursors: dict[tuple[str, str], tuple[int, int]] = {}
        self.held_contacts: dict[str, int] = {}
        self.seen_contacts: dict[str, Contact] = {}

    @property
    def pg(self) -> PGConnection:
        """The unit's connection (``StoreError`` when the unit is not open)."""
        if self._pg is None:
            raise StoreError("the unit of work is not open")
        return self._pg

    def bind(self, conn: PGConnection | None) -> None:
        """Bind (or unbind) the unit's connection.

        The shared repositories see it as their
        :class:`~teamcrm.adapters.sql.base.Connection`: they call only
        ``execute`` and ``executemany`` and read ``fetchone``, ``fetchall``,
        ``rowcount`` and rows of the cursors returned.
        """
        self._pg = conn
        self.pool_cursors.clear()
        self.held_contacts.clear()
        self.seen_contacts.clear()
        self.attach(conn)


#: What a unit sends first, with its first statement: BEGIN and the schema check.
_BEGIN_WRITE: tuple[str, ...] = (
    "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE",
    f"SELECT count(*) FROM {MIGRATIONS_TABLE}",
)
_BEGIN_READ: tuple[str, ...] = (
    "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY",
    f"SELECT count(*) FROM {MIGRATIONS_TABLE}",
)


def _quiet_rollback(raw: psycopg.Connection[Any]) -> None:
    """Roll back whatever *raw* has open, ignoring a connection that is gone.

    psycopg's ``rollback`` also forgets the connection's prepared statements:
    the pipeline that failed may have left some stale.
    """
    try:
        if not raw.closed and not raw.broken:
            raw.rollback()
    except psycopg.Error:
        pass


class _Opening:
    """How a unit's connection opens: BEGIN and the schema check, sent with its first statement.

    A pooled connection may have died while idle (server restart, idle
    kill, ``pg_terminate_backend``).  Nothing of the unit has been committed
    before its transaction began, so a first batch that fails on a broken
    connection is sent again on another one (the pool drops the broken one);
    once the transaction began, nothing is ever repeated.
    """

    __slots__ = ("_attempts", "_store", "released", "statements")

    def __init__(self, store: PostgresStore, *, write: bool) -> None:
        self._store = store
        self.statements = _BEGIN_WRITE if write else _BEGIN_READ
        self._attempts = store._max + 1
        #: A dead connection given back to the pool with none in its place (do not release it).
        self.released: psycopg.Connection[Any] | None = None

    def check(self, raw: psycopg.Connection[Any], count: int, *, failed: bool) -> None:
        """Refuse the unit if a newer release migrated the schema (``SchemaVersionError``)."""
        store = self._store
        if count == store._count:
            return
        if failed:  # the transaction is aborted: look at the schema outside it
            _quiet_rollback(raw)
        store._check_count(raw, count)

    def replace(self, raw: psycopg.Connection[Any], exc: psycopg.Error) -> psycopg.Connection[Any]:
        """Release the dead *raw* and return another pooled connection (or raise)."""
        store = self._store
        self._attempts -= 1
        if self._attempts <= 0:
            raise translate_error(exc) from exc
        store._release(raw)
        self.released = raw
        log.store.info(
            "PostgreSQL %s: a pooled connection was dead (%s); BEGIN again on another",
            redacted(store.url),
            type(exc).__name__,
        )
        fresh = store._acquire()
        self.released = None
        return fresh


class PostgresUnitOfWork(BaseUnitOfWork):
    """One READ COMMITTED transaction on a pooled connection of a :class:`PostgresStore`.

    The transaction begins with the unit's first statement (``BEGIN`` and the
    schema check travel with it); a unit that sends nothing sends no
    ``BEGIN`` either.  :meth:`read_ahead` and :meth:`send_later` let a use
    case put several statements in one round trip (see
    :class:`~teamcrm.adapters.postgres.connection.PGConnection`).
    """

    def __init__(self, store: PostgresStore, *, write: bool = True) -> None:
        super().__init__()
        self._store = store
        self._write = write
        self._opening: _Opening | None = None
        ctx = self.context = PGContext(write=write)
        ctx.programs_table = store._programs_table
        vars(self).update({name: build(ctx) for name, build in store._core})
        for name, factory in store._repositories.items():
            setattr(self, name, factory(ctx))
        self._specs = store._specs

    @property
    def write(self) -> bool:
        """True unless the unit was opened with ``write=False``."""
        return self._write

    def read_ahead(self, *reads: Callable[[], object]) -> None:
        """Send the first read of each call in *reads* with the unit's next round trip.

        Each call is a repository call the use case is about to make; it is
        run now in recording mode (nothing is sent, its result is dropped),
        and the rows of its first ``SELECT`` are kept until the real call
        asks for them (dropped as soon as the unit writes what they read).
        """
        conn = self.context._pg
        if conn is None:
            return
        for read in reads:
            conn.read_ahead(read)

    @contextlib.contextmanager
    def send_later(self) -> Iterator[None]:
        """Inside this block, writes whose results are not read may wait for the next round trip.

        They are sent first in the unit's next batch of statements (or with
        ``COMMIT``).  Should one fail (a duplicate key), the call that sent
        the batch raises the error naming that write's record, and the unit
        can only be rolled back.
        """
        conn = self.context._pg
        if conn is None or conn.sending_later:
            yield
            return
        conn.sending_later = True
        try:
            yield
        finally:
            conn.sending_later = False

    def _begin(self) -> None:
        store = self._store
        raw = store._acquire()
        self._opening = _Opening(store, write=self._write)
        self.context.bind(PGConnection(raw, self._opening))

    def _finish(self) -> None:
        conn = self.context._pg
        self.context.bind(None)
        opening, self._opening = self._opening, None
        if conn is not None and (opening is None or conn.raw is not opening.released):
            self._store._release(conn.raw)

    def _append_and_commit(self, events: list[DomainEvent]) -> None:
        """Take the outbox lock, append *events* and ``COMMIT``, in one round trip.

        The three are sent as one pipeline, after any write still queued:
        none needs another's answer, and a failure in any of them aborts the
        transaction (``COMMIT`` then does not commit) and is raised,
        translated, once the pipeline is read.  The outbox lock is taken last
        thing, so units of one team wait for each other only while their
        commits travel.
        """
        self._commit(events)

    def _commit(self, events: Sequence[DomainEvent] = ()) -> None:
        conn = self.context._pg
        if conn is None:  # pragma: no cover - guarded by BaseUnitOfWork
            raise StoreError("the unit of work is not open")
        if conn.in_error:
            raise StoreError("a statement of this unit of work failed; it cannot be committed")
        conn.commit((lambda: self.outbox.append(events)) if events else None)
        self._finish()

    def _rollback(self) -> None:
        conn = self.context._pg
        try:
            if conn is not None:
                conn.rollback()
        finally:
            self._finish()


class PostgresStore:
    """Every repository of :mod:`teamcrm.ports` on a PostgreSQL database (psycopg 3).

    Open it with ``teamcrm.open("postgresql://user:pass@host:5432/db")``;
    libpq parameters go in the query string (e.g.
    ``?options=-csearch_path%3Dteam_a`` to use another schema).  Opening
    applies pending migrations under an advisory lock and refuses a schema
    made by a newer release (:class:`~teamcrm.errors.SchemaVersionError`) or
    holding another application's tables
    (:class:`~teamcrm.errors.ForeignDatabaseError`).

    Every unit of work sends its ``BEGIN`` and
    ``SELECT count(*) FROM teamcrm_migrations`` with its first statement (one
    round trip; a unit that sends nothing begins nothing); when the count
    moved since this store last looked, the unit re-reads the names, and a
    migration this release does not know (a newer release migrated the schema
    meanwhile) makes it raise ``SchemaVersionError`` - also when that first
    statement failed - before it returns anything or sends anything else.
    That first round trip, when it fails because its pooled connection died
    while idle, is repeated on another connection (nothing of it was
    committed); nothing else is ever repeated.

    :param max_connections: most connections this process keeps open.
    :param timeout: seconds to wait for a connection (connect or pool).
    :param migrations: the migrations to apply (default: every registered one).
    :param create: add teamcrm's tables to an empty schema (the default); with
        ``create=False`` a schema without them raises
        :class:`~teamcrm.errors.MissingDatabaseError`.
    :param prepare: let each pooled connection prepare a statement on the
        server from its :data:`PREPARE_THRESHOLD`-th run (the default: the
        server then parses and plans it once per connection).  Pass
        ``False`` behind a pooler that hands each transaction to any server
        connection (PgBouncer's ``pool_mode = transaction`` without
        ``max_prepared_statements``), where a statement prepared on one
        server connection is missing on the next.
    """

    def __init__(
        self,
        url: str,
        *,
        max_connections: int = 10,
        timeout: float = 30.0,
        migrations: Sequence[Migration] | None = None,
        create: bool = True,
        prepare: bool = True,
    ) -> None:
        self.url = url
        self._conninfo = check_url(url)
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise ValidationError("max_connections", max_connections, "must be an integer")
        if not 1 <= max_connections <= 1000:
            raise ValidationError("max_connections", max_connections, "must be 1 to 1000")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ValidationError("timeout", timeout, "must be a positive number of seconds")
        if not isinstance(create, bool):
            raise ValidationError("create", create, "must be True or False")
        if not isinstance(prepare, bool):
            raise ValidationError("prepare", prepare, "must be True or False")
        #: ``prepare_threshold`` of the pooled connections (``None``: never prepare).
        self._prepare_threshold = PREPARE_THRESHOLD if prepare else None
        self._max = max_connections
        self._timeout = float(timeout)
        self._lock = threading.Lock()
        self._closed = False
        #: How a unit builds each of teamcrm's own repositories (the specs'
        #: ``postgres``, else their ``sql``).
        self._core: list[tuple[str, RepositoryFactory]] = [
            (spec.name, resolve(spec.postgres or spec.sql)) for spec in CORE_REPOSITORIES
        ]
        #: This store's other repositories: the defaults of
        #: :func:`~teamcrm.adapters.sql.repositories.register_repository`, of
        #: :func:`register_postgres_repository` and of :func:`teamcrm.register_repository`,
        #: copied now (built after the core ones).  Replaced, never changed in place.
        self._repositories: dict[str, RepositoryFactory] = {
            **registered_repositories(),
            **_OVERRIDES,
        }
        self._specs: dict[str, RepositorySpec[Any]] = {}
        for spec in registered_specs().values():
            factory = spec.postgres or spec.sql
            if factory is not None:
                check_spec(self._specs, spec, taken=self._repositories)
                self._specs[spec.name] = spec
                self._repositories[spec.name] = resolve(factory)
        known = release_migrations() if migrations is None else tuple(migrations)
        self._known = with_spec_migrations(known, self._specs.values())
        #: The schema has the programs table (see ``SQLiteContext``).
        self._programs_table = any(m.name == "0400_programs" for m in self._known)
        first = self._connect()
        try:
            self.applied = migrate(first, self._known, where=self._where(), create=create)
            self._count = migration_count(first)
            row = first.execute("SELECT current_schema()").fetchone()
            self.schema: str | None = None if row is None else row[0]
        except psycopg.Error as exc:
            first.close()
            raise translate_error(exc) from exc
        except BaseException:
            first.close()
            raise
        first.close()
        self._pid = os.getpid()
        self._pool = self._new_pool()

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

        As :meth:`SQLiteStore.register_repository
        <teamcrm.adapters.sqlite.store.SQLiteStore.register_repository>`: a
        :class:`~teamcrm.repositories.RepositorySpec` (built with
        ``spec.postgres``, else ``spec.sql``; its migrations applied now), or
        a name and a factory of the unit's context.  Other stores, and stores
        opened later, do not get it.
        """
        self._specs, self._repositories = store_with_repository(
            self._specs,
            self._repositories,
            name,
            factory,
            replace=replace,
            implementation=lambda spec: spec.postgres or spec.sql,
            apply=self._apply,
        )

    @property
    def repositories(self) -> dict[str, RepositoryFactory]:
        """This store's repositories, by unit-of-work attribute name (a copy)."""
        return {**dict(self._core), **self._repositories}

    def _apply(self, migrations: Sequence[Migration]) -> None:
        """Apply the *migrations* this store does not know yet, and know them from now on."""
        known = with_spec_migrations(self._known, [], extra=migrations)
        if len(known) == len(self._known):
            return
        conn = self._connect()
        try:
            self.applied = [*self.applied, *migrate(conn, known, where=self._where())]
            self._count = migration_count(conn)
        except psycopg.Error as exc:
            raise translate_error(exc) from exc
        finally:
            conn.close()
        self._known = known

    def _check_count(self, raw: psycopg.Connection[Any], count: int) -> None:
        """Refuse the unit just begun on *raw* if a newer release migrated the schema."""
        if count == self._count:
            return
        applied = applied_migrations(raw)
        refuse_unknown(applied, self._known, self._where())
        self._count = count  # moved, but by migrations this release knows

    def _where(self) -> str:
        parts = psycopg.conninfo.conninfo_to_dict(self._conninfo)
        return f"{parts.get('host', '')}/{parts.get('dbname', '')}"

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(
                self._conninfo,
                autocommit=True,
                connect_timeout=max(1, int(self._timeout)),
                prepare_threshold=None,
            )
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {self._where()}: {exc}") from exc

    def _new_pool(self) -> ConnectionPool[Any]:
        pool: ConnectionPool[Any] = ConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=self._max,
            # Server-side prepared statements from a statement's second run (the
            # server parses and analyses it once per connection).  A pipeline
            # that failed part-way leaves psycopg believing in statements the
            # server never prepared: the unit's rollback then forgets them all
            # (PGConnection.rollback; tests/adapters/test_postgres_round_trips.py::
            # test_prepared_statements_survive_failed_pipelines).
            kwargs={"autocommit": True, "prepare_threshold": self._prepare_threshold},
            timeout=self._timeout,
            open=False,
            name=f"teamcrm-{os.getpid()}",
        )
        pool.open(wait=False)
        return pool

    def _acquire(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise StoreError(f"the store {redacted(self.url)!r} is closed")
        if self._pid != os.getpid():  # forked: the parent's pool is not ours
            with self._lock:
                if self._pid != os.getpid():
                    self._pid = os.getpid()
                    self._pool = self._new_pool()
        try:
            conn: psycopg.Connection[Any] = self._pool.getconn()
        except PoolTimeout as exc:
            raise StoreError(
                f"no PostgreSQL connection became free within {self._timeout:g} s: {exc}"
            ) from exc
        return conn

    def _release(self, raw: psycopg.Connection[Any]) -> None:
        if self._pid == os.getpid():
            self._pool.putconn(raw)

    def unit_of_work(self, *, write: bool = True) -> PostgresUnitOfWork:
        """Return a new unit of work; ``write=False`` opens a read-only transaction."""
        # The repositories come from the specs (set in __init__), which mypy cannot see.
        return PostgresUnitOfWork(self, write=write)  # type: ignore[abstract]

    def close(self) -> None:
        """Close the pool's connections (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._pid == os.getpid():
            self._pool.close()

    def __repr__(self) -> str:
        return f"PostgresStore({redacted(self.url)!r})"
