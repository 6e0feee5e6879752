"""The repository list of a unit of work is declared twice; these tests keep the copies equal.

``teamcrm.ports.UnitOfWork`` (the protocol adapters implement) and
``teamcrm.unit_of_work.BaseUnitOfWork`` (the base the shipped adapters
extend) both annotate every repository attribute: the base cannot inherit
the protocol's annotations without mypy calling every adapter unit abstract.
"""

from __future__ import annotations

import typing

import pytest

import teamcrm
from teamcrm import ports
from teamcrm.unit_of_work import BaseUnitOfWork


def _repositories(cls: type) -> dict[str, object]:
    hints = typing.get_type_hints(cls)
    return {
        name: hint
        for name, hint in hints.items()
        if getattr(hint, "__name__", "").endswith("Repository")
    }


def test_the_base_unit_declares_exactly_the_protocols_repositories() -> None:
    declared = _repositories(ports.UnitOfWork)
    assert len(declared) >= 20
    assert _repositories(BaseUnitOfWork) == declared


@pytest.mark.parametrize("url", ["memory://", "sqlite://"])
def test_every_shipped_unit_provides_every_repository(url: str) -> None:
    store = teamcrm.open_store(url)
    try:
        with store.unit_of_work(write=False) as uow:
            for name in _repositories(ports.UnitOfWork):
                assert getattr(uow, name) is not None, name
    finally:
        store.close()
