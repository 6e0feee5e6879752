"""One honest SQL layer (issue 14): shared statements built from a dialect, never rewritten.

* each construct of :class:`~teamcrm.adapters.sql.dialect.Dialect` is spelled
  as documented for SQLite and PostgreSQL, and gives the same answers on both
  databases;
* statements are built once per dialect (cached builders; a second routed
  add builds nothing and maps no placeholder again);
* no regular-expression translation is left for statements, and no module
  of the PostgreSQL store imports ``sqlite3`` (except the SQLite-to-PostgreSQL
  copy, which reads a SQLite file);
* driver errors are translated at each driver's edge: a duplicate key is
  ``AlreadyExists`` on both stores, and the PostgreSQL edge raises the neutral
  ``DuplicateKey``, not a ``sqlite3`` class.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import teamcrm
import teamcrm.adapters.postgres as pg_package
from teamcrm.adapters.sql.base import SQLRepository
from teamcrm.adapters.sql.contacts import SQLITE_LIMIT_VARIABLE_NUMBER
from teamcrm.adapters.sql.dialect import Dialect, insert_ignoring
from teamcrm.adapters.sql.errors import DuplicateKey
from teamcrm.adapters.sqlite.dialect import SQLITE
from teamcrm.errors import AlreadyExists, StoreError

psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")

import pg_support  # noqa: E402
from teamcrm.adapters.postgres import dialect as pg_dialect  # noqa: E402
from teamcrm.adapters.postgres.connection import translate_error  # noqa: E402
from teamcrm.adapters.postgres.dialect import POSTGRES, placeholders  # noqa: E402

DIALECTS = {"sqlite": SQLITE, "postgresql": POSTGRES}
QUOTED_X = "'x'"


# ----------------------------------------------------------------- spelling
def test_each_construct_is_spelled_for_sqlite() -> None:
    d = SQLITE
    assert d.ids_in("c.id") == "c.id IN (SELECT value FROM json_each(?))"
    assert d.not_ids_in("id", ":ids") == "id NOT IN (SELECT value FROM json_each(:ids))"
    assert d.json_rows("l.ids") == "json_each(l.ids)"
    assert d.left_json_rows("l.ids", "j") == "LEFT JOIN json_each(l.ids) j"
    assert d.json_array_agg("s.status", "s.position") == "json_group_array(s.status)"
    assert d.json_array("a", "b") == "json_array(a, b)"
    assert d.greatest("a", "b") == "max(a, b)"
    assert d.insert_ignore("k", "a, b") == "INSERT OR IGNORE INTO k (a, b)"
    assert d.on_conflict_nothing == ""
    assert d.index_hint("by_x") == " INDEXED BY by_x"
    assert d.no_index("c.team_id") == "+c.team_id"
    assert d.fixed_join == "CROSS JOIN"
    assert d.null_param() == "?"
    sql = "SELECT a FROM t WHERE b = ? AND c = :c AND d LIKE '5%'"
    assert d.statement(sql) is sql


def test_each_construct_is_spelled_for_postgresql() -> None:
    d = POSTGRES
    assert d.ids_in("c.id") == "c.id = ANY(ARRAY(SELECT json_array_elements_text(?::json)))"
    assert d.not_ids_in("id", ":ids") == (
        "id <> ALL(ARRAY(SELECT json_array_elements_text(:ids::json)))"
    )
    assert d.json_rows("l.ids") == "json_array_elements_text(l.ids::json)"
    assert d.left_json_rows("l.ids", "j") == (
        "LEFT JOIN LATERAL json_array_elements_text(l.ids::json) j ON true"
    )
    assert d.json_array_agg("s.status", "s.position") == (
        "coalesce(json_agg(s.status ORDER BY s.position), '[]')::text"
    )
    assert d.json_array("a", "b") == "json_build_array(a, b)"
    assert d.greatest("a", "b") == "greatest(a, b)"
    assert d.insert_ignore("k", "a, b") == "INSERT INTO k (a, b)"
    assert d.on_conflict_nothing == " ON CONFLICT DO NOTHING"
    assert d.index_hint("by_x") == ""
    assert d.no_index("c.team_id") == "c.team_id"
    assert d.fixed_join == "JOIN"
    assert d.null_param() == "?::text"
    assert d.statement("SELECT a FROM t WHERE b = ? AND c = :c AND d LIKE '5%'") == (
        "SELECT a FROM t WHERE b = %s AND c = %(c)s AND d LIKE '5%%'"
    )


def test_dialects_are_immutable_and_hashable() -> None:
    for d in DIALECTS.values():
        with pytest.raises(AttributeError):
            d.name = "other"  # type: ignore[misc]
        assert {d: 1}[d] == 1
    assert SQLITE != POSTGRES


def test_sqlite_only_constructs_never_reach_postgresql() -> None:
    """A statement that was not built with the dialect is refused, not translated."""
    for sql in (
        "SELECT value FROM json_each(?)",
        "SELECT json_group_array(x) FROM t",
        "INSERT OR IGNORE INTO t (a) VALUES (?)",
        "SELECT 1 FROM t INDEXED BY t_by_a",
    ):
        with pytest.raises(StoreError, match="dialect"):
            placeholders(sql)


# ---------------------------------------------- the same answers on both
def _sqlite_rows(sql: str, params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(":memory:")
    try:
        # Child tables are read in key order (``json_array_agg``'s *order_by*).
        conn.execute("CREATE TABLE k (a TEXT UNIQUE, pos INTEGER PRIMARY KEY)")
        conn.executemany("INSERT INTO k VALUES (?, ?)", [("b", 2), ("a", 1), ("c", 3)])
        return [tuple(r) for r in conn.execute(sql, params).fetchall()]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    pg_support.server_url()
    with pg_support.schemas() as made:
        yield made.new()


def _pg_rows(url: str, sql: str, params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        conn.execute('CREATE TEMP TABLE k (a TEXT COLLATE "C" UNIQUE, pos BIGINT PRIMARY KEY)')
        conn.execute("INSERT INTO k VALUES ('b', 2), ('a', 1), ('c', 3)")
        rows = conn.execute(placeholders(sql), params).fetchall()
        conn.rollback()
        return [tuple(r) for r in rows]


def _queries(d: Dialect) -> list[tuple[str, Any]]:
    ids = json.dumps(["c", "a", "x"])
    return [
        (f"SELECT a FROM k WHERE {d.ids_in('a')} ORDER BY a", (ids,)),
        (f"SELECT a FROM k WHERE {d.not_ids_in('a', ':ids')} ORDER BY a", {"ids": ids}),
        (f"SELECT j.value FROM {d.json_rows('?')} j ORDER BY 1", (ids,)),
        (
            f"SELECT k.a, j.value FROM k {d.left_json_rows('?', 'j')} ORDER BY 1, 2",
            ('["z"]',),
        ),
        (f"SELECT (SELECT {d.json_array_agg('k.a', 'k.pos')} FROM k k WHERE k.pos < 3)", ()),
        (f"SELECT (SELECT {d.json_array_agg('k.a', 'k.pos')} FROM k k WHERE k.pos > 9)", ()),
        (f"SELECT {d.json_array('1', QUOTED_X)}", ()),
        (f"SELECT {d.greatest('coalesce(?, 0)', '2')}", (5,)),
        (f"SELECT count(*) FROM k WHERE {d.null_param()} IS NULL OR a = ?", (None, None)),
        (f"SELECT count(*) FROM k{d.index_hint('sqlite_autoindex_k_1')} WHERE a > 'a'", ()),
        (f"SELECT count(*) FROM k WHERE {d.no_index('k.a')} = 'b'", ()),
        (f"SELECT x.a FROM k x {d.fixed_join} k y ON y.a = x.a ORDER BY 1", ()),
        ("SELECT count(*) FROM k WHERE a LIKE 'b%' AND pos = ?", (2,)),
    ]


def _normal(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """JSON text compared as values (SQLite and PostgreSQL space it differently)."""
    out = []
    for row in rows:
        cells = []
        for v in row:
            if isinstance(v, str) and v[:1] == "[":
                v = json.loads(v)
            elif isinstance(v, list):
                pass
            cells.append(v)
        out.append(tuple(cells))
    return out


def test_every_construct_gives_the_same_answers_on_both_databases(pg_url: str) -> None:
    for (lite_sql, lite_params), (pg_sql, pg_params) in zip(
        _queries(SQLITE), _queries(POSTGRES), strict=True
    ):
        lite = _normal(_sqlite_rows(lite_sql, lite_params))
        pg = _normal(_pg_rows(pg_url, pg_sql, pg_params))
        assert lite == pg, (lite_sql, pg_sql)
    # an insert that skips conflicts
    d_lite, d_pg = SQLITE, POSTGRES
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE u (a TEXT PRIMARY KEY)")
    sql = f"{d_lite.insert_ignore('u', 'a')} VALUES (?){d_lite.on_conflict_nothing}"
    assert [conn.execute(sql, ("x",)).rowcount for _ in range(2)] == [1, 0]
    conn.close()
    with psycopg.connect(pg_url) as pg:
        pg.execute("CREATE TEMP TABLE u (a TEXT PRIMARY KEY)")
        sql = placeholders(f"{d_pg.insert_ignore('u', 'a')} VALUES (?){d_pg.on_conflict_nothing}")
        assert [pg.execute(sql, ("x",)).rowcount for _ in range(2)] == [1, 0]
        pg.rollback()


# -------------------------------------------------------- built once, cached
def _shared_modules() -> list[Any]:
    """The SQL layer's repository modules, and the SQLite name search both stores' views use.

    Not ``dialect`` (``insert_ignoring`` takes table and columns; tested below).
    """
    shared = Path(SQLRepository.__module__.replace(".", "/")).parent
    root = Path(pg_package.__file__).parents[2] / shared.relative_to("teamcrm")
    names = [
        f"teamcrm.adapters.sql.{p.stem}" for p in sorted(root.glob("*.py")) if p.stem != "dialect"
    ]
    return [importlib.import_module(n) for n in [*names, "teamcrm.adapters.sqlite.names"]]


def _builders() -> list[Callable[..., str]]:
    """The cached statement builders (``functools.cache`` functions of a dialect)."""
    found = []
    for module in _shared_modules():
        for value in vars(module).values():
            if (
                callable(value)
                and hasattr(value, "cache_info")
                and hasattr(value, "__wrapped__")
                and getattr(value, "__module__", "") == module.__name__
                and "Dialect" in str(next(iter(inspect.signature(value).parameters.values())))
            ):
                found.append(value)
    return found


def test_builders_return_the_same_statement_object_per_dialect() -> None:
    builders = _builders()
    assert len(builders) >= 15, builders
    for build in builders:
        params = list(inspect.signature(build).parameters)
        for d in DIALECTS.values():
            args: list[Any] = [d] + [False] * (len(params) - 1)
            first = build(*args)
            misses = build.cache_info().misses  # type: ignore[attr-defined]
            assert build(*args) is first
            assert build.cache_info().misses == misses  # type: ignore[attr-defined]
        pg_sql = build(POSTGRES, *[False] * (len(params) - 1))
        placeholders(pg_sql)  # refuses any SQLite-only spelling
        assert "::json" not in build(SQLITE, *[False] * (len(params) - 1))


def test_inserts_that_skip_conflicts_are_built_once() -> None:
    lite = insert_ignoring(SQLITE, "k", "a, b")
    assert lite == "INSERT OR IGNORE INTO k (a, b) VALUES (?, ?)"
    assert insert_ignoring(SQLITE, "k", "a, b") is lite
    assert insert_ignoring(POSTGRES, "k", "a, b", "?, 1") == (
        "INSERT INTO k (a, b) VALUES (?, 1) ON CONFLICT DO NOTHING"
    )


def _routed_adds(url: str) -> tuple[Callable[[], None], teamcrm.CRM]:
    crm = teamcrm.open(url)
    _, admin = crm.create_team("Cached", admin_name="Ana")
    ana = crm.as_member(admin.id)
    agents = [ana.add_member(f"Agent {i}", role="agent").id for i in range(3)]
    web = ana.create_bucket("Web leads")
    ana.create_pool("Web", source_bucket_ids=[web.id], member_ids=agents, method="round_robin")
    contacts = iter(ana.create_contacts([{"first_name": f"C{i}"} for i in range(8)]))

    def add() -> None:
        ana.add_to_bucket(web.id, next(contacts).id)

    return add, crm


def _misses() -> int:
    builders = [*_builders(), insert_ignoring]
    return sum(b.cache_info().misses for b in builders)  # type: ignore[attr-defined]


def test_a_second_routed_add_builds_no_statement_on_sqlite() -> None:
    add, crm = _routed_adds("sqlite://")
    for _ in range(4):
        add()
    before = _misses()
    add()
    add()
    assert _misses() == before
    crm.close()


def test_a_second_routed_add_builds_and_maps_no_statement_on_postgresql(pg_url: str) -> None:
    add, crm = _routed_adds(pg_url)
    for _ in range(4):
        add()
    before, mapped = _misses(), placeholders.cache_info().misses
    add()
    add()
    assert _misses() == before
    assert placeholders.cache_info().misses == mapped
    crm.close()


# ------------------------------------------------------- no regex, no sqlite3
def _postgres_sources() -> dict[str, str]:
    root = Path(pg_package.__file__).parent
    return {
        info.name: (root / f"{info.name}.py").read_text(encoding="utf-8")
        for info in pkgutil.iter_modules([str(root)])
    }


def _imports(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_postgresql_module_imports_sqlite3_but_the_copy_from_sqlite() -> None:
    sources = _postgres_sources()
    assert {"transfer", "store", "connection", "dialect"} <= set(sources)
    importing = {name for name, source in sources.items() if "sqlite3" in _imports(source)}
    assert importing == {"transfer"}
    shared = Path(SQLRepository.__module__.replace(".", "/")).parent
    root = Path(pg_package.__file__).parents[2] / shared.relative_to("teamcrm")
    shared_files = sorted(root.glob("*.py"))
    assert {p.stem for p in shared_files} >= {"base", "codec", "dialect", "errors"}
    for path in shared_files:  # the shared layer imports no driver at all
        assert not {"sqlite3", "psycopg"} & _imports(path.read_text(encoding="utf-8")), path
    # It asks a SQLite connection for its variable limit by the C API's number.
    assert SQLITE_LIMIT_VARIABLE_NUMBER == sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER


def test_no_regular_expression_translates_statements() -> None:
    assert not hasattr(pg_dialect, "to_postgres")
    assert not hasattr(pg_dialect, "CHILD_ORDER")
    assert "re" not in _imports(_postgres_sources()["dialect"])
    assert "re" not in _imports(_postgres_sources()["connection"].replace("import re\n", ""))
    source = inspect.getsource(placeholders)
    assert "re." not in source
    assert "sub(" not in source


# -------------------------------------------------------- errors at the edges
def test_the_postgresql_edge_raises_the_neutral_duplicate_key(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn:
        conn.execute("CREATE TEMP TABLE d (a TEXT PRIMARY KEY)")
        conn.execute("INSERT INTO d VALUES ('x')")
        with pytest.raises(psycopg.errors.UniqueViolation) as info:
            conn.execute("INSERT INTO d VALUES ('x')")
        conn.rollback()
    error = translate_error(info.value)
    assert isinstance(error, DuplicateKey)
    assert not isinstance(error, sqlite3.Error)
    assert POSTGRES.errors == (DuplicateKey,)
    translated = POSTGRES.translate(error, kind="team", key="tm_1")
    assert isinstance(translated, AlreadyExists)
    assert (translated.kind, translated.key) == ("team", "tm_1")


def test_the_sqlite_edge_translates_its_driver_errors() -> None:
    assert SQLITE.errors == (sqlite3.Error,)
    dup = SQLITE.translate(sqlite3.IntegrityError("UNIQUE constraint failed: t.a"), kind="x", key=1)
    assert isinstance(dup, AlreadyExists)
    other = SQLITE.translate(sqlite3.OperationalError("no such table: t"), kind="x")
    assert isinstance(other, StoreError)
    assert not isinstance(other, AlreadyExists)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_duplicate_insert_is_already_exists_on_both_stores(
    kind: str, request: pytest.FixtureRequest
) -> None:
    url = "sqlite://" if kind == "sqlite" else request.getfixturevalue("pg_url")
    crm = teamcrm.open(url)
    try:
        team, admin = crm.create_team("Twice", admin_name="Ana")
        store = crm.store
        with pytest.raises(AlreadyExists) as info, store.unit_of_work() as uow:
            uow.teams.add(uow.teams.get(team.id))
        assert (info.value.kind, info.value.key) == ("team", team.id)
        contact = crm.as_member(admin.id).create_contact(first_name="Dup")
        with pytest.raises(AlreadyExists) as info, store.unit_of_work() as uow:
            uow.contacts.add_many([uow.contacts.get(team.id, contact.id)])
        assert (info.value.kind, info.value.key) == ("contact", contact.id)
        with store.unit_of_work(write=False) as uow:  # nothing half-written
            assert [c.id for c in uow.contacts.all(team.id)] == [contact.id]
    finally:
        crm.close()
