"""The repositories of a unit of work are declared twice; these tests keep the two equal.

``teamcrm.ports.UnitOfWork`` (the protocol adapters implement; mypy reads
its attributes) and ``teamcrm.core_repositories.CORE_REPOSITORIES`` (the specs
every store, unit and the contract suite are wired from).
``teamcrm.unit_of_work.BaseUnitOfWork`` subclasses the protocol, so it
inherits the annotations (``test_repository_wiring.py`` checks that nothing
else lists them).
"""

from __future__ import annotations

import typing

import pytest

import teamcrm
from teamcrm import ports
from teamcrm.core_repositories import CORE_REPOSITORIES
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


def test_the_core_specs_are_exactly_the_protocols_repositories() -> None:
    """``teamcrm.core_repositories.CORE_REPOSITORIES`` lists every ``UnitOfWork`` repository, once.

    Adding a repository to teamcrm means an attribute of ``UnitOfWork`` (what
    mypy reads) and a core spec; forgetting either fails here, by name.
    """
    declared = _repositories(ports.UnitOfWork)
    specs = {spec.name: spec.protocol for spec in CORE_REPOSITORIES}
    assert len(specs) == len(CORE_REPOSITORIES), "a core spec name appears twice"
    missing = sorted(set(declared) - set(specs))
    assert not missing, f"UnitOfWork repositories without a core RepositorySpec: {missing}"
    extra = sorted(set(specs) - set(declared))
    assert not extra, f"core RepositorySpecs that are not UnitOfWork attributes: {extra}"
    wrong = sorted(name for name in declared if specs[name] is not declared[name])
    assert not wrong, f"core RepositorySpecs whose protocol differs from UnitOfWork's: {wrong}"
    assert all(spec.builtin for spec in CORE_REPOSITORIES)


@pytest.mark.parametrize("url", ["memory://", "sqlite://"])
def test_the_typed_accessor_reaches_every_core_repository(url: str) -> None:
    store = teamcrm.open_store(url)
    try:
        with store.unit_of_work(write=False) as uow:
            for spec in CORE_REPOSITORIES:
                assert teamcrm.repository(uow, spec) is getattr(uow, spec.name), spec.name
    finally:
        store.close()
