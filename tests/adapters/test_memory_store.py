"""The in-memory store: rollback, the outbox, threads and misuse."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

import teamcrm
from teamcrm import ConcurrencyError, StoreError, retry_on_conflict
from teamcrm.adapters.memory import MemoryStore
from teamcrm.contact import Contact
from teamcrm.events import DomainEvent, EventName
from teamcrm.ids import new_contact_id, new_member_id, new_team_id
from teamcrm.team import Member, Role, Team

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _team() -> tuple[Team, Member]:
    team = Team(id=new_team_id(), name="Acme", created_at=NOW)
    admin = Member(id=new_member_id(), team_id=team.id, name="Ana", role=Role.ADMIN, created_at=NOW)
    return team, admin


def _contact(team: Team, name: str = "Bea") -> Contact:
    return Contact(
        id=new_contact_id(), team_id=team.id, created_at=NOW, status="evaluate", first_name=name
    )


def _event(team: Team) -> DomainEvent:
    return DomainEvent(
        name=EventName.TEAM_CREATED, team_id=team.id, subject_id=team.id, occurred_at=NOW
    )


def test_commit_keeps_and_exit_without_commit_rolls_back() -> None:
    store = MemoryStore()
    team, admin = _team()
    with store.unit_of_work() as uow:
        uow.teams.add(team)
        uow.members.add(admin)
        uow.collect(_event(team))
        uow.commit()
    kept = _contact(team, "Kept")
    with store.unit_of_work() as uow:
        uow.contacts.add(kept)
        uow.commit()
    with store.unit_of_work() as uow:
        uow.contacts.add(_contact(team, "Gone"))
        uow.contacts.update(attrs_evolve(kept, version=2, first_name="Changed"))
        uow.contacts.delete(team.id, kept.id, 2)
        uow.members.update(attrs_evolve(admin, version=2, name="Renamed"))
        uow.collect(_event(team))
        # leave without commit
    with store.unit_of_work(write=False) as uow:
        assert uow.contacts.all(team.id) == [kept]
        assert uow.members.get(team.id, admin.id) == admin
        assert [m.seq for m in uow.outbox.read(team.id)] == [1]


def test_a_rollback_restores_every_table_of_the_store() -> None:
    """No table is left out of rollback: the tables come from the core specs, not a hand list."""
    from teamcrm.adapters.memory.tables import _Table
    from teamcrm.core_repositories import CORE_REPOSITORIES

    store = MemoryStore()
    declared = [name for spec in CORE_REPOSITORIES for name in spec.memory_tables]
    assert len(declared) == len(set(declared)) >= 30  # no table owned twice
    tables = store._core_tables
    assert sorted(tables) == sorted(declared)
    assert not [v for v in vars(store).values() if isinstance(v, _Table)]  # none by hand
    assert {id(t) for t in store._tables()} == {id(t) for t in tables.values()}
    with store.unit_of_work():
        for name, table in tables.items():
            table.put(("rollback-probe", name), "row")
        # leave without commit
    assert {name: dict(t.rows) for name, t in tables.items() if t.rows} == {}


def test_batched_puts_and_inserts_roll_back_to_the_rows_before_the_unit() -> None:
    """``put_many`` and ``insert_new`` (a routed add's batches): one journal entry each, undone."""
    from teamcrm.adapters.memory.tables import _Journal, _Table

    table: _Table[str, int] = _Table()
    table.rows.update({"a": 1, "b": 2})
    table.journal = journal = _Journal()
    table.put_many({"a": 10, "c": 30})
    table.put("a", 11)
    table.put_many({"a": 12, "b": 20})
    table.insert_new({"d": 4, "e": 5})
    table.insert_new([("f", 6)])
    assert table.rows == {"a": 12, "b": 20, "c": 30, "d": 4, "e": 5, "f": 6}
    assert len(journal.undo) == 5
    journal.rollback()
    assert table.rows == {"a": 1, "b": 2}


def test_a_routed_add_that_rolls_back_leaves_no_lead_index_behind() -> None:
    """The open-lead and entry indexes written in one batch are undone with the unit."""
    crm = teamcrm.open("memory://")
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    web = ana.create_bucket("Web")
    ana.create_pool("Web", source_bucket_ids=[web.id], member_ids=[admin.id])
    made = ana.create_contacts([{"first_name": f"C{i}"} for i in range(3)])
    store = crm.store
    assert isinstance(store, MemoryStore)
    before = {name: dict(t.rows) for name, t in store._core_tables.items()}

    def fail_after_routing(occasion: object) -> None:
        raise RuntimeError("after routing")

    crm.reactions.add(EventName.LEAD_ROUTED, "test", "fail", fail_after_routing)
    with pytest.raises(RuntimeError):
        ana.add_to_bucket(web.id, [c.id for c in made])
    after = {name: dict(t.rows) for name, t in store._core_tables.items()}
    assert after == before
    crm.close()


def attrs_evolve(obj: object, **changes: object) -> object:
    import attrs

    return attrs.evolve(obj, **changes)  # type: ignore[misc]


def test_an_exception_rolls_back_everything_and_reuses_no_sequence_number() -> None:
    store = MemoryStore()
    team, admin = _team()
    with store.unit_of_work() as uow:
        uow.teams.add(team)
        uow.commit()

    def fail_half_way() -> None:
        with store.unit_of_work() as uow:
            uow.members.add(admin)
            uow.outbox.append([_event(team)])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_half_way()
    with store.unit_of_work() as uow:
        assert uow.members.all(team.id) == []
        assert uow.outbox.read(team.id) == []
        uow.collect(_event(team))
        uow.commit()
    with store.unit_of_work() as uow:
        assert [m.seq for m in uow.outbox.read(team.id)] == [1]


def test_failed_commit_rolls_back() -> None:
    store = MemoryStore()
    team, _ = _team()
    uow = store.unit_of_work()
    with uow:
        uow.teams.add(team)
        uow.collect(_event(team))

        def broken(_events: object) -> None:
            raise StoreError("disk full")

        uow.outbox.append = broken  # type: ignore[method-assign]
        with pytest.raises(StoreError):
            uow.commit()
    with store.unit_of_work() as check, pytest.raises(teamcrm.NotFound):
        check.teams.get(team.id)


def test_a_unit_is_used_once() -> None:
    store = MemoryStore()
    uow = store.unit_of_work()
    with uow:
        uow.commit()
    with pytest.raises(StoreError):
        uow.__enter__()
    with pytest.raises(StoreError, match="not open"):
        uow.commit()
    with pytest.raises(StoreError, match="not open"):
        uow.collect()


def test_nested_units_raise_instead_of_deadlocking_or_corrupting() -> None:
    store = MemoryStore()
    team, _ = _team()
    with store.unit_of_work() as outer:
        outer.teams.add(team)
        with pytest.raises(StoreError, match="nested"), store.unit_of_work():
            pass  # pragma: no cover - never entered
        # the outer unit is intact and still rolls back
    with store.unit_of_work() as uow, pytest.raises(teamcrm.NotFound):
        uow.teams.get(team.id)
    # and the store is usable afterwards, from another thread too
    done = threading.Event()

    def other() -> None:
        with store.unit_of_work() as uow:
            uow.teams.add(team)
            uow.commit()
        done.set()

    t = threading.Thread(target=other)
    t.start()
    t.join(5)
    assert done.is_set()


def test_a_use_case_called_inside_an_open_unit_is_refused(crm: teamcrm.CRM) -> None:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    with crm.store.unit_of_work(), pytest.raises(StoreError):
        ana.create_contact("Bea")
    assert ana.create_contact("Bea").first_name == "Bea"


def test_optimistic_versions() -> None:
    store = MemoryStore()
    team, _ = _team()
    c = _contact(team)
    with store.unit_of_work() as uow:
        uow.teams.add(team)
        uow.contacts.add(c)
        uow.commit()
    with store.unit_of_work() as uow:
        with pytest.raises(ConcurrencyError):
            uow.contacts.update(attrs_evolve(c, version=3))  # skips a version
        with pytest.raises(ConcurrencyError):
            uow.contacts.delete(team.id, c.id, 2)
        with pytest.raises(teamcrm.AlreadyExists):
            uow.contacts.add(c)
        other_team, _ = _team()
        with pytest.raises(teamcrm.NotFound):
            uow.contacts.get(other_team.id, c.id)


def test_eight_threads_lose_no_update(crm: teamcrm.CRM) -> None:
    """Read-modify-write in two units per attempt; retry_on_conflict makes it safe."""
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    contact = ana.create_contact("Counter", custom_fields={"n": 0})
    per_thread = 15
    errors: list[BaseException] = []

    def bump() -> None:
        session = crm.as_member(admin.id)

        def once() -> None:
            current = session.contact(contact.id)  # read (one unit)
            n = current.custom_fields["n"]
            assert isinstance(n, int)
            time.sleep(0)  # let another thread in between the read and the write
            session.update_contact(  # write (another unit)
                contact.id,
                expected_version=current.version,
                custom_fields={"n": n + 1},
            )

        try:
            for _ in range(per_thread):
                retry_on_conflict(once, attempts=200, base_delay=0.0005)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    final = ana.contact(contact.id)
    assert final.custom_fields["n"] == 8 * per_thread
    assert final.version == 1 + 8 * per_thread
    updates = [r for r in ana.events() if r.event.name is EventName.CONTACT_UPDATED]
    assert len(updates) == 8 * per_thread


def test_a_failed_bulk_routing_unit_leaves_no_lead_membership_or_notification(
    clock: teamcrm.SettableClock,
) -> None:
    crm = teamcrm.open("memory://", clock=clock)
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    agents = [ana.add_member(f"A{i}", role="agent").id for i in range(2)]
    web = ana.create_bucket("Web")
    ana.create_pool("Web", source_bucket_ids=[web.id], member_ids=agents, method="round_robin")
    people = ana.create_contacts([{"first_name": f"P{i}"} for i in range(50)])
    seq = ana.events()[-1].seq
    store = crm.store
    original = store.unit_of_work

    def failing_commit(**kw: bool) -> object:
        uow = original(**kw)

        def boom() -> None:
            raise StoreError("disk full")

        uow.commit = boom  # type: ignore[method-assign]
        return uow

    store.unit_of_work = failing_commit  # type: ignore[method-assign]
    with pytest.raises(StoreError):
        ana.add_to_bucket(web.id, [p.id for p in people])
    store.unit_of_work = original  # type: ignore[method-assign]
    assert ana.leads() == []
    assert ana.bucket_items(web.id) == []
    assert [n for a in agents for n in crm.as_member(a).notifications()] == []
    assert ana.events()[-1].seq == seq
    ana.add_to_bucket(web.id, [p.id for p in people])  # the same work then succeeds
    assert len(ana.leads()) == 50
    assert len(ana.bucket_items(web.id)) == 50
