"""PostgreSQL backends killed under the store (issue 13: item 10 and the fault test).

Backends are killed with ``pg_terminate_backend`` (the test role may end its
own backends), never by restarting the shared server: a "restart" is every
backend of the store ended at once.  Each store's connections carry an
``application_name`` of their own, so only that store's backends are hit.

What must hold: callers get ``StoreError`` or ``ConcurrencyError`` (never a
psycopg exception), nothing is half-written, and the next call works.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

import pg_support
import teamcrm
from teamcrm.adapters.postgres import PostgresStore
from teamcrm.contact import Contact
from teamcrm.errors import ConcurrencyError, StoreError, TeamCRMError
from teamcrm.ids import new_contact_id

pg_support.require_server()

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def store_url() -> Iterator[tuple[str, str]]:
    """A store URL on an empty schema whose connections carry their own application_name."""
    app = f"tcrm_fault_{secrets.token_hex(4)}"
    with pg_support.schemas() as made:
        yield f"{made.new()}&application_name={app}", app


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(pg_support.server_url(), autocommit=True)


def _backends(app: str) -> list[int]:
    with _admin() as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (app,)
        ).fetchall()
    return [int(r[0]) for r in rows]


def _terminate(pids: list[int]) -> None:
    with _admin() as conn:
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


def _restart(app: str) -> int:
    """End every backend of the store (what a server restart does to its pool)."""
    pids = _backends(app)
    _terminate(pids)
    deadline = time.monotonic() + 5
    while _backends(app) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _backends(app) == []
    return len(pids)


def _count(url: str, sql: str, params: tuple[object, ...] = ()) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def _contact(team_id: str, name: str) -> Contact:
    return Contact(
        id=new_contact_id(), team_id=team_id, created_at=T0, status="evaluate", first_name=name
    )


def test_dead_idle_pooled_connections_fail_no_call(store_url: tuple[str, str]) -> None:
    url, app = store_url
    store = PostgresStore(url, max_connections=4, timeout=10)
    crm = teamcrm.CRM(store)
    try:
        _team, admin = crm.create_team("Acme", admin_name="Ana")
        session = crm.as_member(admin.id)
        units = [store.unit_of_work(write=False) for _ in range(4)]
        for unit in units:  # four connections in the pool
            unit.__enter__()
        for unit in units:
            unit.__exit__(None, None, None)
        for _round in range(2):
            assert _restart(app) >= 4
            made = [session.create_contact(f"after restart {i}") for i in range(6)]
            assert [session.contact(c.id).first_name for c in made] == [c.first_name for c in made]
        assert _count(url, "SELECT count(*) FROM contacts") == 12
    finally:
        crm.close()


def test_backend_killed_between_statements_of_a_write_unit(store_url: tuple[str, str]) -> None:
    url, _app = store_url
    store = PostgresStore(url, max_connections=2, timeout=10)
    crm = teamcrm.CRM(store)
    try:
        team, admin = crm.create_team("Acme", admin_name="Ana")
        before = _count(url, "SELECT count(*) FROM contacts")

        def killed_before_the_second_statement() -> None:
            with store.unit_of_work() as uow:
                uow.contacts.add(_contact(team.id, "first"))
                _terminate([uow.context.pg.raw.info.backend_pid])
                uow.contacts.add(_contact(team.id, "second"))

        def killed_before_commit() -> None:
            with store.unit_of_work() as uow:
                uow.contacts.add(_contact(team.id, "third"))
                _terminate([uow.context.pg.raw.info.backend_pid])
                uow.commit()

        with pytest.raises(StoreError) as info:
            killed_before_the_second_statement()
        assert not isinstance(info.value, psycopg.Error)
        with pytest.raises(StoreError) as info:
            killed_before_commit()
        assert "COMMIT" in str(info.value)
        assert not isinstance(info.value, psycopg.Error)
        assert _count(url, "SELECT count(*) FROM contacts") == before
        # the next calls work
        bea = crm.as_member(admin.id).create_contact("Bea")
        assert crm.as_member(admin.id).contact(bea.id).first_name == "Bea"
        assert _count(url, "SELECT count(*) FROM contacts") == before + 1
    finally:
        crm.close()


def test_backends_killed_while_units_run(store_url: tuple[str, str]) -> None:
    """Four threads import batches (contacts + bucket memberships) while backends die."""
    url, app = store_url
    store = PostgresStore(url, max_connections=4, timeout=10)
    crm = teamcrm.CRM(store)
    try:
        _team, admin = crm.create_team("Acme", admin_name="Ana")
        session = crm.as_member(admin.id)
        bucket = session.create_bucket("Imports")
        known = session.create_contact("Known", source="setup")
        batch = 5
        outcomes: dict[str, str] = {}
        strays: list[BaseException] = []
        stop = threading.Event()
        lock = threading.Lock()

        def worker(number: int) -> None:
            rnd = random.Random(number)
            for i in range(10_000):
                if stop.is_set():
                    return
                tag = f"w{number}-{i}"
                drafts = [{"first_name": f"{tag}-{k}", "source": tag} for k in range(batch)]
                try:
                    if rnd.random() < 0.3:  # a read unit now and then
                        assert session.contact(known.id).first_name == "Known"
                    session.create_contacts(drafts, bucket_id=bucket.id)
                    result = "ok"
                except (StoreError, ConcurrencyError) as exc:
                    result = type(exc).__name__
                except BaseException as exc:  # anything else is the failure
                    with lock:
                        strays.append(exc)
                    return
                with lock:
                    outcomes[tag] = result

        def killer() -> None:
            rnd = random.Random(7)
            with _admin() as conn:
                while not stop.is_set():
                    pids = [
                        int(r[0])
                        for r in conn.execute(
                            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (app,)
                        )
                    ]
                    for pid in rnd.sample(pids, k=rnd.randint(1, len(pids)) if pids else 0):
                        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    time.sleep(rnd.uniform(0.002, 0.02))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
        threads.append(threading.Thread(target=killer))
        for thread in threads:
            thread.start()
        time.sleep(2.0)
        stop.set()
        for thread in threads:
            thread.join(30)
        assert strays == [], [f"{type(e).__module__}.{type(e).__name__}: {e}" for e in strays]
        assert all(isinstance(e, TeamCRMError) for e in strays)
        failed = [t for t, r in outcomes.items() if r != "ok"]
        assert failed, "no unit was hit: the test proves nothing"
        assert len(failed) < len(outcomes), "no unit got through"
        with psycopg.connect(url, autocommit=True) as conn:
            contacts = dict(
                conn.execute("SELECT source, count(*) FROM contacts GROUP BY source").fetchall()
            )
            members = dict(
                conn.execute(
                    "SELECT c.source, count(*) FROM memberships m"
                    " JOIN contacts c ON c.id = m.item_id GROUP BY c.source"
                ).fetchall()
            )
            stray_members = conn.execute(
                "SELECT count(*) FROM memberships m"
                " WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = m.item_id)"
            ).fetchone()
        assert stray_members == (0,)
        for tag, result in outcomes.items():
            got = contacts.get(tag, 0)
            assert got in (0, batch), (tag, result, got)  # all or nothing
            assert members.get(tag, 0) == got, tag
            if result == "ok":
                assert got == batch, tag
        assert set(contacts) - {None} <= set(outcomes) | {"setup"}
        # the next call works, on every connection the pool hands out
        for i in range(6):
            session.create_contacts([{"first_name": f"after-{i}"}], bucket_id=bucket.id)
    finally:
        crm.close()
