"""What is particular to the PostgreSQL store: URLs, migrations, errors, and the locks.

The claims are proved with two units of work in two threads: the second
unit's statement must wait for the first unit's commit (or skip its rows),
which is what keeps READ COMMITTED transactions from racing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import attrs
import psycopg
import pytest

import pg_support
import teamcrm
from teamcrm.adapters.postgres import PostgresStore
from teamcrm.adapters.postgres.connection import PGConnection
from teamcrm.adapters.postgres.dialect import POSTGRES, placeholders
from teamcrm.bucket import BucketMembership
from teamcrm.errors import (
    AlreadyExists,
    ConcurrencyError,
    SchemaVersionError,
    StoreError,
    ValidationError,
)
from teamcrm.notification import Notification, NotificationKind, new_notification_id
from teamcrm.pool import PoolId
from teamcrm.ports import UnitOfWork
from test_routing_repositories import refuse_a_second_open_lead_alone

pg_support.require_server()

WAIT = 0.3


@pytest.fixture
def schemas() -> Iterator[pg_support.Schemas]:
    with pg_support.schemas() as made:
        yield made


@pytest.fixture
def url(schemas: pg_support.Schemas) -> str:
    return schemas.new()


@pytest.fixture
def fresh_url(schemas: pg_support.Schemas) -> str:
    return schemas.fresh()


@pytest.fixture
def crm(url: str) -> Iterator[teamcrm.CRM]:
    c = teamcrm.open(url)
    yield c
    c.close()


def _blocked(first: UnitOfWork, second: Callable[[], Any]) -> Any:
    """Run *second* in a thread while *first* is open; prove it waits for *first*'s commit."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = second()
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(WAIT)
    assert thread.is_alive(), "the second unit did not wait for the first one's lock"
    first.commit()
    thread.join(30)
    assert not thread.is_alive()
    if "error" in out:
        raise out["error"]
    return out["value"]


# ----------------------------------------------------------------- opening
def test_urls_are_checked() -> None:
    with pytest.raises(ValidationError, match="postgresql://"):
        PostgresStore("mysql://x")
    with pytest.raises(StoreError, match="cannot connect"):
        PostgresStore("postgresql://nobody:nothing@127.0.0.1:1/none", timeout=2)


def test_both_schemes_open_and_the_password_stays_out_of_repr(url: str) -> None:
    store = teamcrm.open_store(url.replace("postgresql://", "postgres://", 1))
    try:
        assert isinstance(store, PostgresStore)
        assert "teamcrm:teamcrm@" not in repr(store)
        assert store.schema is not None
        assert store.schema.startswith("teamcrm_t_")
    finally:
        store.close()


def test_opening_without_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real = builtins.__import__

    def no_postgres(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("teamcrm.adapters.postgres"):
            raise ImportError("No module named 'psycopg'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_postgres)
    with pytest.raises(StoreError, match=r"teamcrm\[postgres\]"):
        teamcrm.open_store("postgresql://localhost/x")


def test_migrations_run_once_when_many_open_a_new_schema_at_once(fresh_url: str) -> None:
    stores: list[PostgresStore] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            stores.append(PostgresStore(fresh_url, max_connections=1))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    applied = [s.applied for s in stores]
    assert sum(1 for a in applied if a) == 1
    assert [] in applied
    for s in stores:
        s.close()
    with psycopg.connect(fresh_url) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM teamcrm_migrations ORDER BY seq")]
    assert names == sorted(set(names))
    assert names == next(a for a in applied if a)


def test_a_schema_from_a_newer_release_is_refused_untouched(fresh_url: str) -> None:
    PostgresStore(fresh_url).close()
    with psycopg.connect(fresh_url, autocommit=True) as conn:
        conn.execute("INSERT INTO teamcrm_migrations (name) VALUES ('9999_from_the_future')")
        conn.execute("DROP TABLE snoozes")
    with pytest.raises(SchemaVersionError, match="9999_from_the_future"):
        PostgresStore(fresh_url)
    with psycopg.connect(fresh_url) as conn:
        assert conn.execute("SELECT to_regclass('snoozes')").fetchone() == (None,)


def test_an_older_schema_is_upgraded_in_place(fresh_url: str) -> None:
    from teamcrm.adapters.sqlite import registered_migrations

    first = registered_migrations()[:3]
    old = PostgresStore(fresh_url, migrations=first)
    assert old.applied == [m.name for m in first]
    old.close()
    new = PostgresStore(fresh_url)
    assert new.applied == [m.name for m in registered_migrations()[3:]]
    new.close()


# ------------------------------------------------------------------ errors
def test_a_repository_registered_on_one_store_is_not_on_another(
    schemas: pg_support.Schemas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each PostgreSQL store owns its registry: the module-level ones are the defaults it copies."""
    from teamcrm.adapters.postgres import store as pg_store
    from teamcrm.adapters.sql.teams import SQLiteTeams

    class _Teams(SQLiteTeams):
        """Another team repository (stands for one a plug-in brings)."""

    monkeypatch.setattr(pg_store, "_OVERRIDES", dict(pg_store._OVERRIDES))
    one, other = PostgresStore(schemas.new()), PostgresStore(schemas.new())
    try:
        one.register_repository("team_rows", _Teams)
        with one.unit_of_work(write=False) as uow:
            assert isinstance(uow.team_rows, _Teams)  # type: ignore[attr-defined]
        with other.unit_of_work(write=False) as uow:
            assert not hasattr(uow, "team_rows")
        assert "team_rows" in one.repositories
        assert "team_rows" not in other.repositories
        with pytest.raises(ValidationError, match="replace=True"):
            one.register_repository("team_rows", type("_Other", (_Teams,), {}))
        with pytest.raises(ValidationError):
            one.register_repository("teams", _Teams)  # the core's names stay the core's
        # A default registered later reaches stores opened after it, not those open before.
        pg_store.register_postgres_repository("team_rows_default", _Teams)
        assert "team_rows_default" not in one.repositories
        later = PostgresStore(schemas.new())
        try:
            assert "team_rows_default" in later.repositories
            assert "team_rows" not in later.repositories
        finally:
            later.close()
    finally:
        one.close()
        other.close()


def test_a_failed_statement_makes_the_unit_uncommittable(crm: teamcrm.CRM) -> None:
    team, _ = crm.create_team("Acme", admin_name="Ana")
    with crm.store.unit_of_work() as uow:
        with pytest.raises(AlreadyExists, match=team.id):
            uow.teams.add(attrs.evolve(team, name="Twin"))
        with pytest.raises(StoreError, match="earlier statement"):
            uow.teams.get(team.id)
        with pytest.raises(StoreError, match="cannot be committed"):
            uow.commit()
    with crm.store.unit_of_work(write=False) as uow:
        assert uow.teams.get(team.id).name == "Acme"


def test_a_refused_single_lead_or_notification_leaves_the_unit_usable(
    crm: teamcrm.CRM,
) -> None:
    # Single rows skip the savepoint (ON CONFLICT DO NOTHING): the refusal
    # must not abort the transaction the way a failed statement would.
    refuse_a_second_open_lead_alone(crm.store)
    team, admin = crm.create_team("Acme", admin_name="Ana")
    first = Notification(
        id=new_notification_id(),
        team_id=team.id,
        member_id=admin.id,
        kind=NotificationKind.LEAD_ASSIGNED,
        subject_id="ld_" + "1" * 26,
        message="first",
        created_at=team.created_at,
    )
    second = attrs.evolve(first, id=new_notification_id(), message="second")
    with crm.store.unit_of_work() as uow:
        uow.notifications.add_many([first])
        uow.commit()
    with crm.store.unit_of_work() as uow:
        with pytest.raises(AlreadyExists, match=first.id):
            uow.notifications.add_many([attrs.evolve(first, message="twin")])
        uow.notifications.add_many([second])
        uow.commit()
    with crm.store.unit_of_work(write=False) as uow:
        feed = uow.notifications.for_member(team.id, admin.id)
    assert sorted(n.message for n in feed) == ["first", "second"]


def test_a_unit_locks_and_reads_a_pool_cursor_once(
    crm: teamcrm.CRM, monkeypatch: pytest.MonkeyPatch
) -> None:
    team, _ = crm.create_team("Acme", admin_name="Ana")
    pool_id = PoolId("lp_" + "9" * 26)
    statements: list[str] = []
    run = PGConnection.run

    def counting(self: PGConnection, sql: str, params: Any = None) -> Any:
        statements.append(sql)
        return run(self, sql, params)

    monkeypatch.setattr(PGConnection, "run", counting)
    first = crm.store.unit_of_work()
    first.__enter__()
    try:
        got = first.routing_cursors.get(team.id, pool_id)  # creates and locks the row
        assert (got.position, got.version) == (0, 0)
        first.routing_cursors.put(attrs.evolve(got, position=3, version=1))
        statements.clear()
        again = first.routing_cursors.get(team.id, pool_id)
        assert (again.position, again.version) == (3, 1)  # what this unit wrote
        assert first.leads.open_for_contacts(team.id, pool_id, []) == []
        assert not any("routing_cursors" in sql for sql in statements)  # no second lock

        def second() -> tuple[int, int]:
            with crm.store.unit_of_work() as uow:
                cursor = uow.routing_cursors.get(team.id, pool_id)
                uow.commit()
                return cursor.position, cursor.version

        assert _blocked(first, second) == (3, 1)  # the lock was held until commit
    finally:
        first.__exit__(None, None, None)
    with crm.store.unit_of_work() as uow:  # a new unit asks the server again
        statements.clear()
        got = uow.routing_cursors.get(team.id, pool_id)
        assert (got.position, got.version) == (3, 1)
        assert any("routing_cursors" in sql for sql in statements)


def test_a_deadlock_becomes_a_concurrency_error(crm: teamcrm.CRM) -> None:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    a, b = ana.create_contact("A"), ana.create_contact("B")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def cross(first: teamcrm.Contact, second: teamcrm.Contact) -> None:
        try:
            with crm.store.unit_of_work() as uow:
                uow.contacts.update(attrs.evolve(first, version=2, first_name="x"))
                barrier.wait(10)
                uow.contacts.update(attrs.evolve(second, version=2, first_name="y"))
                uow.commit()
            outcomes.append("ok")
        except ConcurrencyError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=cross, args=p) for p in ((a, b), (b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["conflict", "ok"]


def test_statements_without_parameters_keep_their_percent_signs(crm: teamcrm.CRM) -> None:
    with crm.store.unit_of_work(write=False) as uow:
        conn = uow.context.pg
        assert conn.execute("SELECT '5%'").fetchone() == ("5%",)
        assert conn.execute("SELECT ? || '%'", ("7",)).fetchone() == ("7%",)


def test_read_only_units_refuse_writes(crm: teamcrm.CRM) -> None:
    team, _ = crm.create_team("Acme", admin_name="Ana")
    with crm.store.unit_of_work(write=False) as uow, pytest.raises(StoreError, match="read-only"):
        uow.teams.update(attrs.evolve(team, version=2, name="No"))


# ------------------------------------------------------------------- locks
def _pool(crm: teamcrm.CRM, method: str) -> tuple[teamcrm.MemberSession, Any, Any]:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    members = [ana.add_member(f"M{i}", role="agent").id for i in range(2)]
    bucket = ana.create_bucket("Web")
    pool = ana.create_pool("Web", source_bucket_ids=[bucket.id], member_ids=members, method=method)
    return ana, bucket, pool


def test_entering_a_pool_waits_for_the_unit_that_entered_it(crm: teamcrm.CRM) -> None:
    ana, _, pool = _pool(crm, "round_robin")
    store = crm.store
    first = store.unit_of_work().__enter__()
    try:
        assert first.leads.open_for_contacts(ana.team_id, pool.id, ["ct_x"]) == []
        cursor = first.routing_cursors.get(ana.team_id, pool.id)
        first.routing_cursors.put(attrs.evolve(cursor, position=1, version=cursor.version + 1))

        def second() -> int:
            with store.unit_of_work() as uow:
                uow.leads.open_for_contacts(ana.team_id, pool.id, ["ct_y"])
                return uow.routing_cursors.get(ana.team_id, pool.id).position

        assert _blocked(first, second) == 1  # sees the committed turn, never the stale one
    finally:
        first.__exit__(None, None, None)
    with store.unit_of_work(write=False) as uow:  # readers never wait
        assert uow.routing_cursors.get(ana.team_id, pool.id).position == 1


def test_accepting_waits_for_the_lead_then_reads_it_taken(crm: teamcrm.CRM) -> None:
    ana, bucket, _ = _pool(crm, "first_to_accept")
    ana.create_contacts([{"first_name": "Lee"}], bucket_id=bucket.id)
    lead = ana.leads()[0]
    offers = ana.lead_offers(lead.id)
    store = crm.store
    first = store.unit_of_work().__enter__()
    try:
        held = first.offers.get(ana.team_id, offers[0].id)
        first.offers.update(attrs.evolve(held, version=held.version + 1, note="mine"))

        def second() -> str | None:
            with store.unit_of_work() as uow:
                return uow.offers.get(ana.team_id, offers[0].id).note

        assert _blocked(first, second) == "mine"
    finally:
        first.__exit__(None, None, None)


def test_capacity_checks_of_one_pool_wait_for_each_other(crm: teamcrm.CRM) -> None:
    ana, _, pool = _pool(crm, "round_robin")
    member = pool.member_ids[0]
    since = crm.now() - timedelta(days=1)
    store = crm.store
    first = store.unit_of_work().__enter__()
    try:
        assert first.leads.received(ana.team_id, pool.id, member, since) == []
        cursor = first.routing_cursors.get(ana.team_id, pool.id)
        first.routing_cursors.put(attrs.evolve(cursor, position=1, version=cursor.version + 1))

        def second() -> int:
            with store.unit_of_work() as uow:  # reads receipts only: no cursor access
                return len(uow.leads.received(ana.team_id, pool.id, member, since))

        assert _blocked(first, second) == 0  # it waited for the first check's unit
    finally:
        first.__exit__(None, None, None)


def test_expiry_skips_offers_whose_lead_is_held(crm: teamcrm.CRM) -> None:
    ana, bucket, _ = _pool(crm, "first_to_accept")
    ana.create_contacts([{"first_name": f"C{i}"} for i in range(3)], bucket_id=bucket.id)
    held_lead = ana.leads()[0]
    later = crm.now() + timedelta(days=1)
    store = crm.store
    with store.unit_of_work() as holder:
        holder.leads.get(ana.team_id, held_lead.id)
        with store.unit_of_work() as expiry:
            started = time.perf_counter()
            due = expiry.offers.due(later, 100)
            assert time.perf_counter() - started < WAIT
        assert len(due) == 4
        assert held_lead.id not in {o.lead_id for o in due}
        with store.unit_of_work(write=False) as reader:
            assert len(reader.offers.due(later, 100)) == 6


def test_response_enforcement_skips_leads_another_unit_holds(crm: teamcrm.CRM) -> None:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    members = [ana.add_member(f"M{i}", role="agent").id for i in range(2)]
    bucket = ana.create_bucket("Web")
    ana.create_pool(
        "Web",
        source_bucket_ids=[bucket.id],
        member_ids=members,
        method="round_robin",
        response_window=timedelta(minutes=30),
    )
    ana.create_contacts([{"first_name": f"C{i}"} for i in range(3)], bucket_id=bucket.id)
    held_lead = ana.leads()[0]
    later = crm.now() + timedelta(hours=1)
    store = crm.store
    with store.unit_of_work() as holder:
        holder.leads.get(ana.team_id, held_lead.id)
        with store.unit_of_work() as enforcer:
            started = time.perf_counter()
            due = enforcer.leads.response_due(later, 100)
            assert time.perf_counter() - started < WAIT
            assert len(due) == 2
            assert held_lead.id not in {lead.id for lead in due}
            with store.unit_of_work() as other:  # a second enforcer: the rest are held too
                assert other.leads.response_due(later, 100) == []
        with store.unit_of_work(write=False) as reader:  # readers see every due lead
            assert len(reader.leads.response_due(later, 100)) == 3


def test_outbox_appends_of_one_team_commit_in_seq_order(crm: teamcrm.CRM) -> None:
    team, admin = crm.create_team("Acme", admin_name="Ana")
    store = crm.store
    event = teamcrm.DomainEvent(
        name=teamcrm.EventName.CONTACT_UPDATED,
        team_id=team.id,
        subject_id="x",
        occurred_at=crm.now(),
        actor_id=admin.id,
    )
    first = store.unit_of_work().__enter__()
    try:
        first.outbox.append([attrs.evolve(event, subject_id="first")])

        def second() -> None:
            with store.unit_of_work() as uow:
                uow.outbox.append([attrs.evolve(event, subject_id="second")])
                uow.commit()

        _blocked(first, second)
    finally:
        first.__exit__(None, None, None)
    with store.unit_of_work(write=False) as uow:
        tail = [m.event.subject_id for m in uow.outbox.read(team.id)][-2:]
    assert tail == ["first", "second"]


def test_adding_one_item_at_once_reports_it_added_once(crm: teamcrm.CRM) -> None:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bucket = ana.create_bucket("Web")
    contact = ana.create_contact("Bea")
    row = BucketMembership(
        team_id=ana.team_id, bucket_id=bucket.id, item_id=contact.id, added_at=crm.now()
    )
    store = crm.store
    first = store.unit_of_work().__enter__()
    try:
        assert first.memberships.add_many([row]) == [row]

        def second() -> list[BucketMembership]:
            with store.unit_of_work() as uow:
                added = uow.memberships.add_many([attrs.evolve(row, added_by=admin.id)])
                uow.commit()
                return added

        assert _blocked(first, second) == []
    finally:
        first.__exit__(None, None, None)


def test_id_lists_are_probed_through_an_index_not_scanned(url: str) -> None:
    """``Dialect.ids_in`` looks ids up by index on PostgreSQL.

    Its literal translation was planned as a hash semi-join over a
    sequential scan (the planner guesses 100 rows for the JSON function), so
    each routed lead read every open lead of its pool.
    """
    sql = placeholders(
        f"SELECT id FROM probe WHERE team_id = ? AND {POSTGRES.ids_in('contact_id')} ORDER BY id"
    )
    with psycopg.connect(url) as conn:
        conn.execute(
            'CREATE TEMP TABLE probe (id TEXT COLLATE "C" PRIMARY KEY,'
            ' team_id TEXT COLLATE "C" NOT NULL, contact_id TEXT COLLATE "C" NOT NULL)'
        )
        conn.execute("CREATE INDEX probe_by_contact ON probe (team_id, contact_id)")
        conn.execute(
            "INSERT INTO probe SELECT 'ld_' || g, 'tm_1', 'ct_' || g"
            " FROM generate_series(1, 20000) g"
        )
        conn.execute("ANALYZE probe")
        wanted = json.dumps(["ct_7", "ct_19999", "ct_7", "ct_none"])
        plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN {sql}", ("tm_1", wanted)))
        assert "Index" in plan, plan
        assert "Seq Scan" not in plan, plan
        rows = conn.execute(sql, ("tm_1", wanted)).fetchall()
        assert rows == [("ld_19999",), ("ld_7",)]
        assert conn.execute(sql, ("tm_1", "[]")).fetchall() == []
