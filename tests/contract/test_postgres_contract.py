"""The public contract suite and the stateful model check on ``postgresql://``.

Each test gets a store on a fresh schema of the server named by
``TEAMCRM_TEST_POSTGRES_URL`` (see ``tests/pg_support.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import pg_support
import teamcrm
from teamcrm.ports import Store
from teamcrm.testing.contract import StoreContract
from teamcrm.testing.stateful import run_comparison

pg_support.require_server()


@pytest.fixture
def schemas() -> Iterator[pg_support.Schemas]:
    with pg_support.schemas() as made:
        yield made


class TestPostgresStore(StoreContract):
    """``postgresql://`` — one schema per test."""

    @pytest.fixture
    def store(self, schemas: pg_support.Schemas) -> Iterator[Store]:
        s = teamcrm.open_store(schemas.new())
        yield s
        s.close()


def test_postgres_matches_reference(schemas: pg_support.Schemas) -> None:
    opened: list[Store] = []

    def factory() -> Store:
        store = teamcrm.open_store(schemas.new())
        opened.append(store)
        return store

    try:
        run_comparison(factory, max_examples=15)
    finally:
        for store in opened:
            store.close()
