"""One honest SQL layer (issue 14): each store stands on ``teamcrm.adapters.sql`` alone.

* the PostgreSQL package imports nothing from the SQLite package (except
  :mod:`teamcrm.adapters.postgres.transfer`, which copies SQLite files into
  PostgreSQL on purpose), and the SQLite package nothing from PostgreSQL's;
* no statement is rewritten by a regular expression: the PostgreSQL package
  compiles none over SQL it runs (table definitions are built from
  :class:`~teamcrm.adapters.sql.ddl.SchemaDialect` words; rows from the
  :class:`~teamcrm.adapters.sql.dialect.Dialect`);
* the shared migrations' package imports every module that registers one.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import teamcrm.adapters as adapters_pkg

ADAPTERS = Path(adapters_pkg.__file__).parent
POSTGRES = ADAPTERS / "postgres"
SQLITE = ADAPTERS / "sqlite"
SCHEMA = ADAPTERS / "sql" / "schema"

#: PostgreSQL modules that may import the SQLite package, with the reason.
MAY_IMPORT_SQLITE = {
    "transfer.py": "teamcrm migrate copies a SQLite file into PostgreSQL: it opens a SQLite store",
}

#: Regular expressions in the PostgreSQL package, with what they read (none rewrites SQL).
REGEX_ALLOWED = {
    ("connection.py", "_MISSING_KEY"): (
        "parses psycopg's foreign-key error message into NotFound: error translation at the edge"
    ),
    ("connection.py", "_LOCKING"): (
        "detects a statement that takes row locks (FOR UPDATE, advisory locks) so a pipelined"
        " unit knows what it read may have changed; it reads SQL, never rewrites it"
    ),
    ("connection.py", "_READ_TABLES"): (
        "names the tables a kept read ahead reads, so a write to another table keeps it;"
        " it reads SQL, never rewrites it"
    ),
    ("connection.py", "_WRITTEN_TABLE"): (
        "names the table an INSERT or UPDATE writes (which kept reads it may change);"
        " it reads SQL, never rewrites it"
    ),
}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _offenders(folder: Path, forbidden: str, allowed: set[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in sorted(folder.glob("*.py")):
        bad = sorted(m for m in _imports(p) if m == forbidden or m.startswith(forbidden + "."))
        if bad and p.name not in allowed:
            out[p.name] = bad
    return out


def test_postgresql_imports_nothing_from_the_sqlite_package() -> None:
    assert len(list(POSTGRES.glob("*.py"))) >= 15
    assert not _offenders(POSTGRES, "teamcrm.adapters.sqlite", set(MAY_IMPORT_SQLITE))
    # the allowance is still needed (else it goes)
    assert all(
        any(m.startswith("teamcrm.adapters.sqlite") for m in _imports(POSTGRES / name))
        for name in MAY_IMPORT_SQLITE
    )


def test_sqlite_imports_nothing_from_the_postgresql_package() -> None:
    assert len(list(SQLITE.glob("*.py"))) >= 15
    assert not _offenders(SQLITE, "teamcrm.adapters.postgres", set())


def test_the_postgresql_package_alone_loads_no_sqlite_module() -> None:
    """Importing the PostgreSQL store loads no SQLite module and knows every migration."""
    code = (
        "import sys, teamcrm.adapters.postgres\n"
        "from teamcrm.adapters.postgres.migrations import registered_postgres_migrations\n"
        "print(sorted(m for m in sys.modules if m.startswith('teamcrm.adapters.sqlite')))\n"
        "print(len(registered_postgres_migrations()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "[]"
    assert int(out[1]) >= 34


def _regexes(path: Path) -> set[str]:
    """Names assigned a ``re.*`` call, and ``<call>`` for one that is not assigned."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    named: set[str] = set()
    calls: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
        ):
            calls.add(id(node))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and id(node.value) in calls:
            calls.discard(id(node.value))
            named.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return named | ({"<call>"} if calls else set())


def test_the_postgresql_package_rewrites_no_sql_with_regular_expressions() -> None:
    found = {(p.name, name) for p in sorted(POSTGRES.glob("*.py")) for name in _regexes(p)}
    assert found <= set(REGEX_ALLOWED), sorted(found - set(REGEX_ALLOWED))
    assert set(REGEX_ALLOWED) <= found  # an allowance that is no longer needed goes
    assert not (POSTGRES / "ddl.py").exists()


def test_the_shared_schema_package_imports_every_module_that_registers() -> None:
    init = _imports(SCHEMA / "__init__.py")
    tree = ast.parse((SCHEMA / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "teamcrm.adapters.sql.schema":
            init.update(f"teamcrm.adapters.sql.schema.{alias.name}" for alias in node.names)
    registering = {
        f"teamcrm.adapters.sql.schema.{p.stem}"
        for p in SCHEMA.glob("*.py")
        if p.stem != "__init__"
        and any(w in p.read_text(encoding="utf-8") for w in ("@migration(", "register_migration("))
    }
    assert len(registering) >= 5
    assert registering <= init, sorted(registering - init)
