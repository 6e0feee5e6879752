"""Helpers for the PostgreSQL tests: the server URL, and one fresh schema per store.

The tests run only when ``TEAMCRM_TEST_POSTGRES_URL`` names a database the
tests may create schemas in (``.ci/postgres.sh`` prints one).  Without it
every PostgreSQL test module is skipped at collection from one place,
:func:`require_server`, so pytest's summary shows one line.  With
``TEAMCRM_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) a missing URL is a
failure instead of a skip.

Each store gets its own schema (``teamcrm_t_<pid>_<random>``), reached
through the URL's ``options=-csearch_path=...``, and the schema is dropped
afterwards, so test runs never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import psycopg
import pytest

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


class Schemas:
    """Creates uniquely named schemas on the test server and drops them all at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.names: list[str] = []

    def new(self) -> str:
        """Create a fresh empty schema; return a store URL that uses it."""
        name = f"teamcrm_t_{os.getpid()}_{secrets.token_hex(5)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        self.names.append(name)
        return with_search_path(self.url, name)

    def drop_all(self) -> None:
        """Drop every schema this object created."""
        if not self.names:
            return
        with psycopg.connect(self.url, autocommit=True) as conn:
            for name in self.names:
                conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        self.names.clear()


@contextmanager
def schemas() -> Iterator[Schemas]:
    """Yield a :class:`Schemas` on the test server (skips without one); drop them after."""
    made = Schemas(server_url())
    try:
        yield made
    finally:
        made.drop_all()


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
