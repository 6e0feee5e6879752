"""The public contract suite (:mod:`teamcrm.testing.contract`) against the shipped stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import teamcrm
from teamcrm.ports import Store
from teamcrm.testing.contract import StoreContract


class TestMemoryStore(StoreContract):
    """``memory://`` — the reference adapter."""

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        s = teamcrm.open_store("memory://")
        yield s
        s.close()


class TestSQLiteFileStore(StoreContract):
    """``sqlite:///path`` — one file."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        s = teamcrm.open_store(f"sqlite:///{tmp_path / 'crm.db'}")
        yield s
        s.close()


class TestSQLiteMemoryStore(StoreContract):
    """``sqlite://`` — a private in-memory database."""

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        s = teamcrm.open_store("sqlite://")
        yield s
        s.close()


def test_the_store_fixture_must_be_overridden(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from teamcrm.testing.contract import TeamRepositoryContract

        class TestForgot(TeamRepositoryContract):
            pass
        """
    )
    result = pytester.runpytest("-q", "-p", "no:cacheprovider", "-k", "missing_team")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*must override the 'store' fixture*"])
