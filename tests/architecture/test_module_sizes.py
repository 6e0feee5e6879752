"""Rooms named after concepts: no module of ``teamcrm`` past ~600 lines (a module
past that is two concepts), and the SQL layer stands on its own (issue 14)."""

from __future__ import annotations

import ast
from pathlib import Path

import teamcrm
import teamcrm.adapters as adapters_pkg

SRC = Path(teamcrm.__file__).parent
ADAPTERS = Path(adapters_pkg.__file__).parent
SQL = ADAPTERS / "sql"

#: The most lines a module of ``teamcrm`` may have.
LIMIT = 600

#: Modules allowed past the limit, with the reason (none today; name any here).
EXCEPTIONS: dict[str, str] = {}


def _sizes() -> dict[str, int]:
    return {
        p.relative_to(SRC).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
        for p in sorted(SRC.rglob("*.py"))
    }


def test_no_module_is_oversized() -> None:
    """Each module of ``teamcrm`` (domain, service, adapters, testing, CLI) has ≤ 600 lines."""
    sizes = _sizes()
    assert len(sizes) >= 150  # the walk found the package
    assert any(name.startswith("adapters/sql/") for name in sizes)
    assert any(name.startswith("service/") for name in sizes)
    over = {name: n for name, n in sizes.items() if n > LIMIT and name not in EXCEPTIONS}
    assert not over, f"split these modules by concept: {over}"


def test_exceptions_are_still_needed() -> None:
    """An exception for a module that shrank (or went away) is removed, not kept."""
    sizes = _sizes()
    stale = [name for name in EXCEPTIONS if sizes.get(name, 0) <= LIMIT]
    assert not stale, stale


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_sql_layer_imports_neither_store_nor_driver() -> None:
    """``teamcrm.adapters.sql`` imports no store package and no driver.

    The SQLite package imports the shared repositories while it initialises;
    a shared module importing back into it would fail when it is imported
    first.
    """
    forbidden = ("teamcrm.adapters.sqlite", "teamcrm.adapters.postgres", "psycopg", "sqlite3")
    offenders: dict[str, list[str]] = {}
    for p in sorted(SQL.rglob("*.py")):
        bad = sorted(m for m in _imported_modules(p) if m.startswith(forbidden))
        if bad:
            offenders[p.relative_to(SQL).as_posix()] = bad
    assert len(list(SQL.glob("*.py"))) >= 20
    assert not offenders, offenders


def test_the_sqlite_package_imports_every_module_that_registers() -> None:
    """Each SQLite module that registers a migration or repository is imported by the package.

    Registration happens at import: a module reached only through another's
    imports would drop its migrations once that import moves (a process
    that did not import it would then refuse the database as newer).
    """
    sqlite_dir = ADAPTERS / "sqlite"
    init = _imported_modules(sqlite_dir / "__init__.py")
    tree = ast.parse((sqlite_dir / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "teamcrm.adapters.sqlite":
            init.update(f"teamcrm.adapters.sqlite.{alias.name}" for alias in node.names)
    registering = {
        f"teamcrm.adapters.sqlite.{p.stem}"
        for p in sqlite_dir.glob("*.py")
        if p.stem not in {"__init__", "migrations", "store"}
        and (
            "register_migration(" in p.read_text(encoding="utf-8")
            or "register_repository(" in p.read_text(encoding="utf-8")
        )
    }
    assert len(registering) >= 8  # the shared ones: teamcrm.adapters.sql.schema, .repositories
    assert registering <= init, sorted(registering - init)
