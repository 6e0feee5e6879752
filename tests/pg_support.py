"""Helpers for the PostgreSQL tests: the server URL, and one fresh schema per store.

The tests run only when ``TEAMCRM_TEST_POSTGRES_URL`` names a database the
tests may create schemas in (``.ci/postgres.sh`` prints one).  Without it
every PostgreSQL test module is skipped at collection from one place,
:func:`require_server`, so pytest's summary shows one line.  With
``TEAMCRM_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) a missing URL is a
failure instead of a skip.

Each store gets a schema of its own (``teamcrm_t_<pid>_<random>``),
reached through the URL's ``options=-csearch_path=...``: test runs never see
each other's rows.  Within one process a schema a finished test leaves is
emptied and reused, which is much faster than creating the
tables again; every schema of the process is dropped when it exits.  Tests
that break a schema on purpose use :meth:`Schemas.fresh` (never reused).
The test URLs turn ``synchronous_commit`` off: durability is not under test.
"""

from __future__ import annotations

import atexit
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import psycopg
import pytest

import teamcrm
from teamcrm.adapters.postgres.transfer import tables_in_order

ENV = "TEAMCRM_TEST_POSTGRES_URL"
REQUIRE_ENV = "TEAMCRM_REQUIRE_POSTGRES"
SKIP_REASON = f"PostgreSQL tests: set {ENV} to a postgresql:// URL to run them"


def server_url() -> str:
    """The test server's URL; skip (or, when required, fail) the test without one."""
    url = os.environ.get(ENV, "").strip()
    if not url:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {ENV} is not set")
        pytest.skip(SKIP_REASON)
    return url


def require_server() -> None:
    """Call at the top of a PostgreSQL test module: skip the module without a server URL."""
    if os.environ.get(ENV, "").strip():
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {ENV} is not set", pytrace=False)
    pytest.skip(SKIP_REASON, allow_module_level=True)


def with_search_path(url: str, schema: str) -> str:
    """Return *url* with ``search_path`` set to *schema* for every connection."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"


_FREE: list[str] = []  # migrated schemas of this process, emptied, ready for reuse
_ALL: list[str] = []


class Schemas:
    """Hands out empty schemas on the test server (see :func:`schemas`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.names: list[str] = []
        self.reusable: list[str] = []

    def fresh(self) -> str:
        """Create a brand-new schema (no tables yet); return a store URL that uses it."""
        name = f"teamcrm_t_{os.getpid()}_{secrets.token_hex(5)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        self.names.append(name)
        _ALL.append(name)
        return with_search_path(self.url, name)

    def new(self) -> str:
        """Return a store URL on an empty schema: a reused one (emptied) or a fresh one.

        Reused schemas were made by an earlier test of this process and hold
        this release's tables; every row is deleted (a ``DELETE`` per table,
        children first: far faster than ``TRUNCATE`` on small tables).
        """
        if not _FREE:
            fresh = self.fresh()
            self.reusable.append(self.names[-1])
            return fresh
        name = _FREE.pop()
        url = with_search_path(self.url, name)
        with psycopg.connect(url, autocommit=True) as conn:
            children_first = reversed(tables_in_order(conn))
            statements = [f'DELETE FROM {name}."{t}"' for t in children_first]
            if statements:
                with conn.transaction():
                    conn.execute(";".join(statements))
        self.names.append(name)
        self.reusable.append(name)
        return url

    def release(self) -> None:
        """Give the reusable schemas back (the stores on them are closed); drop the others."""
        _FREE.extend(self.reusable)
        doomed = [n for n in self.names if n not in self.reusable]
        self.names.clear()
        self.reusable.clear()
        _drop(self.url, doomed)


def _drop(url: str, names: list[str]) -> None:
    if not names:
        return
    with psycopg.connect(url, autocommit=True) as conn:
        for name in names:
            conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def drop_all_schemas() -> None:
    """Drop every schema this process made (at the end of the test session)."""
    url = os.environ.get(ENV, "").strip()
    if url and _ALL:
        _drop(url, list(_ALL))
    _ALL.clear()
    _FREE.clear()


atexit.register(drop_all_schemas)


@contextmanager
def schemas() -> Iterator[Schemas]:
    """Yield a :class:`Schemas` on the test server (skips without one).

    Close every store opened on its schemas before the block ends.
    """
    made = Schemas(server_url())
    try:
        yield made
    finally:
        made.release()


@contextmanager
def crm(clock: teamcrm.SettableClock) -> Iterator[teamcrm.CRM]:
    """Yield a CRM on an empty schema of the test server; close it after."""
    with schemas() as made:
        c = teamcrm.open(made.new(), clock=clock)
        try:
            yield c
        finally:
            c.close()


def reuse(module: ModuleType, *, replaced: set[str]) -> dict[str, Any]:
    """Return *module*'s tests and fixtures, except the fixtures named in *replaced*.

    A PostgreSQL test module puts them in its namespace and defines the
    replaced fixtures itself, so the same tests run again on PostgreSQL.
    """
    return {
        name: value
        for name, value in vars(module).items()
        if name not in replaced
        and (
            name.startswith("test_")
            or hasattr(value, "_pytestfixturefunction")
            or _is_fixture(value)
        )
    }


def _is_fixture(value: Any) -> bool:
    return type(value).__name__ == "FixtureFunctionDefinition"


#: The stores every-store service tests run on (see :func:`open_store_kind`).
STORE_KINDS = ("memory", "sqlite", "postgres")


@contextmanager
def open_store_kind(kind: str, tmp_path: Any, clock: Any = None) -> Iterator[teamcrm.CRM]:
    """A CRM on a fresh store of *kind*: ``memory``, ``sqlite`` (a file) or ``postgres``.

    For fixtures parametrised by :data:`STORE_KINDS`; the PostgreSQL one
    skips (or fails, in CI) without a server, like every PostgreSQL test.
    """
    if kind == "postgres":
        with schemas() as made, teamcrm.open(made.new(), clock=clock) as crm:
            yield crm
        return
    url = "memory://" if kind == "memory" else f"sqlite:///{tmp_path / 'store.db'}"
    with teamcrm.open(url, clock=clock) as crm:
        yield crm
