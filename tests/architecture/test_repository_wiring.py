"""teamcrm's own repositories are wired from their specs, not from hand lists.

A core repository is declared in two places: its ``RepositorySpec`` in
``teamcrm.core_repositories.CORE_REPOSITORIES`` and its attribute on
``teamcrm.ports.UnitOfWork`` (what mypy reads; ``test_ports.py`` keeps the
two equal).  The memory, SQLite and PostgreSQL stores, their units, the
memory store's tables and the contract suite derive everything from the
specs.  These tests read the source of the modules that used to list the
repositories by hand and fail, naming the module and the name, if a list
comes back - and check that every spec names implementations that exist
and provide the protocol's methods.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import teamcrm
from teamcrm import ports
from teamcrm.core_repositories import CORE_REPOSITORIES
from teamcrm.repositories import resolve
from teamcrm.testing import contract

SRC = Path(teamcrm.__file__).resolve().parent
NAMES = frozenset(spec.name for spec in CORE_REPOSITORIES)
TABLES = frozenset(t for spec in CORE_REPOSITORIES for t in spec.memory_tables)

#: The modules that wire units, stores and the suite: none may name a core repository.
WIRING = (
    "repositories.py",
    "unit_of_work.py",
    "adapters/memory/__init__.py",
    "adapters/sqlite/store.py",
    "adapters/sqlite/__init__.py",
    "adapters/postgres/store.py",
    "adapters/postgres/__init__.py",
    "testing/contract.py",
)


def _mentions(path: Path, names: frozenset[str]) -> list[str]:
    """Each place in *path* that names one of *names*: a string, ``x.name =`` or ``name: T``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in names:
            found.append(f"line {node.lineno}: {node.value!r}")
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if node.attr in names or node.attr.lstrip("_") in names:
                found.append(f"line {node.lineno}: .{node.attr} =")
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id in names
        ):
            found.append(f"line {node.lineno}: {node.target.id}: ...")
    return found


@pytest.mark.parametrize("module", WIRING)
def test_no_wiring_module_lists_the_core_repositories(module: str) -> None:
    """Units, stores and the contract suite name no core repository: the specs do."""
    found = _mentions(SRC / module, NAMES)
    assert not found, f"{module} names core repositories (derive them from the specs): {found}"


def test_the_memory_store_keeps_no_table_of_its_own() -> None:
    """The memory store's tables are the specs' ``tables``: none assigned by hand."""
    found = _mentions(SRC / "adapters/memory/__init__.py", TABLES)
    assert not found, f"the memory store names core tables (declare them in a spec): {found}"


def test_no_module_registers_a_core_repository_by_hand() -> None:
    """``register_repository(name, cls)`` calls with a core name are gone from the package."""
    calls = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", "")).startswith("register_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value in NAMES
            ):
                calls.append(f"{path.relative_to(SRC)}:{node.lineno}: {node.args[0].value}")
    assert not calls, f"core repositories registered outside their spec: {calls}"


def test_the_base_unit_inherits_the_protocols_attributes() -> None:
    """``BaseUnitOfWork`` subclasses ``UnitOfWork``: its annotations are the protocol's."""
    from teamcrm.unit_of_work import BaseUnitOfWork

    assert ports.UnitOfWork in BaseUnitOfWork.__mro__
    assert not NAMES & set(vars(BaseUnitOfWork).get("__annotations__", {}))


def _methods(protocol: object) -> set[str]:
    assert isinstance(protocol, type)
    return {
        name
        for name, value in vars(protocol).items()
        if not name.startswith("_") and callable(value)
    }


@pytest.mark.parametrize("spec", CORE_REPOSITORIES, ids=lambda s: s.name)
def test_every_core_spec_names_implementations_with_the_protocols_methods(spec: object) -> None:
    """The SQL (and PostgreSQL) classes import and have every method of the protocol."""
    from teamcrm.repositories import RepositorySpec

    assert isinstance(spec, RepositorySpec)
    wanted = _methods(spec.protocol)
    assert wanted, spec.name
    refs = [spec.sql] + ([spec.postgres] if spec.postgres is not None else [])
    for ref in refs:
        if ref == spec.postgres:
            pytest.importorskip("psycopg")
        cls = resolve(ref)
        assert inspect.isclass(cls), ref
        missing = sorted(m for m in wanted if not callable(getattr(cls, m, None)))
        assert not missing, f"{ref} lacks {missing} of {spec.name}'s protocol"
    assert spec.memory is not None, spec.name
    assert callable(resolve(spec.memory)), spec.name
    assert spec.contracts, f"{spec.name} names no contract test class"


def test_every_memory_repository_has_the_protocols_methods() -> None:
    store = teamcrm.open_store("memory://")
    with store.unit_of_work(write=False) as uow:
        for spec in CORE_REPOSITORIES:
            built = getattr(uow, spec.name)
            missing = sorted(m for m in _methods(spec.protocol) if not hasattr(built, m))
            assert not missing, f"memory {spec.name} lacks {missing}"


def test_the_contract_suite_is_gathered_from_the_specs() -> None:
    """``StoreContract`` has every class the specs name; each is importable by name."""
    named = [resolve(ref) for spec in CORE_REPOSITORIES for ref in spec.contracts]
    assert len(named) >= len(CORE_REPOSITORIES)
    for cls in named:
        assert issubclass(contract.StoreContract, cls), cls.__name__
        assert getattr(contract, cls.__name__) is cls
        assert cls.__name__ in contract.__all__


def _contract_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").startswith("teamcrm.testing.contract_")
        for alias in node.names
        if alias.name.endswith("Contract") and alias.name != "StoreContractBase"
    ]


def test_the_contract_module_lists_no_repository_contract() -> None:
    """``contract.py`` imports only the unit-wide classes; the specs name the rest."""
    found = _contract_imports(SRC / "testing/contract.py")
    assert sorted(found) == ["TeamIsolationContract", "UnitOfWorkContract"], found


def test_the_shared_memory_repositories_hold_only_tables() -> None:
    """The memory store builds its core repositories once, for every unit: no state of their own.

    Each attribute of each is a table, the store's ``MemoryTables``, the
    store itself or another such repository, never a cache or a counter.
    """
    from teamcrm.adapters.memory import MemoryStore
    from teamcrm.adapters.memory.tables import MemoryTables, _Table

    store = MemoryStore()
    shared = store._core_repositories
    assert set(shared) == NAMES
    allowed = (_Table, MemoryTables, MemoryStore)
    for name, repo in shared.items():
        for attribute, value in vars(repo).items():
            ok = isinstance(value, allowed) or type(value).__module__.startswith(
                "teamcrm.adapters.memory."
            )
            assert ok, f"memory {name}.{attribute} is a {type(value).__name__}"
    with store.unit_of_work(write=False) as uow:
        assert all(getattr(uow, name) is repo for name, repo in shared.items())
