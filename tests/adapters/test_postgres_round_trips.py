"""The PostgreSQL unit's batches: its opening, reads ahead and writes sent later (issue 17).

A unit sends ``BEGIN`` with its first statement, the reads a use case
announces (``read_ahead``) with its next round trip, and the writes made in
its ``send_later()`` block first in its next round trip.  What must hold:
a kept read never hides a write the unit made, a queued write that fails
still fails the unit (naming its record) and commits nothing, and a unit
that sends nothing begins nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest

import pg_support
import teamcrm
from teamcrm.adapters.postgres.store import PostgresStore
from teamcrm.contact import Contact
from teamcrm.errors import AlreadyExists, StoreError, ValidationError
from teamcrm.ids import new_contact_id
from teamcrm.notification import Notification, NotificationKind, new_notification_id
from teamcrm.pool import PoolId
from teamcrm.testing.round_trips import counting_round_trips
from teamcrm.unit_of_work import read_ahead, reads_ahead, sending_later

pg_support.require_server()


@pytest.fixture
def crm() -> Iterator[teamcrm.CRM]:
    with pg_support.schemas() as made:
        c = teamcrm.open(made.new())
        yield c
        c.close()


@pytest.fixture
def trips() -> Iterator[list[list[str]]]:
    """Every round trip the process makes: a statement, or a pipeline's statements."""
    with counting_round_trips() as sent:
        yield sent


def _contact(team_id: str, name: str) -> Contact:
    return Contact(
        id=new_contact_id(),
        team_id=team_id,
        created_at=teamcrm.SystemClock().now(),
        status="evaluate",
        first_name=name,
    )


def _notification(team_id: str, member_id: str, message: str) -> Notification:
    return Notification(
        id=new_notification_id(),
        team_id=team_id,
        member_id=member_id,
        kind=NotificationKind.LEAD_ASSIGNED,
        subject_id="ld_" + "1" * 26,
        message=message,
        created_at=teamcrm.SystemClock().now(),
    )


def test_a_unit_that_sends_nothing_begins_nothing(crm: teamcrm.CRM, trips: list[list[str]]) -> None:
    crm.create_team("Acme", admin_name="Ana")
    trips.clear()
    with crm.store.unit_of_work() as uow:
        uow.commit()
    with crm.store.unit_of_work(write=False):
        pass
    assert trips == []


def test_begin_travels_with_the_first_statement(crm: teamcrm.CRM, trips: list[list[str]]) -> None:
    team, _ = crm.create_team("Acme", admin_name="Ana")
    trips.clear()
    with crm.store.unit_of_work(write=False) as uow:
        assert uow.teams.get(team.id).name == "Acme"
        uow.commit()
    assert len(trips) == 2, trips  # BEGIN, schema check and the read; COMMIT
    assert trips[0][0].startswith("BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY")
    assert trips[1] == ["COMMIT"]


def test_reads_ahead_travel_together_and_are_used_once(
    crm: teamcrm.CRM, trips: list[list[str]]
) -> None:
    team, admin = crm.create_team("Acme", admin_name="Ana")
    with crm.store.unit_of_work() as uow:
        assert reads_ahead(uow)
        read_ahead(
            uow,
            lambda: uow.teams.get(team.id),
            lambda: uow.members.get(team.id, admin.id),
        )
        trips.clear()
        assert uow.teams.get(team.id).name == "Acme"  # BEGIN, the actor's read and both reads
        assert uow.members.get(team.id, admin.id).name == "Ana"  # kept: no round trip
        assert len(trips) == 1, trips
        assert uow.members.get(team.id, admin.id).name == "Ana"  # used once: asked again
        assert len(trips) == 2, trips


def test_rows_read_ahead_are_dropped_when_the_unit_writes(crm: teamcrm.CRM) -> None:
    team, admin = crm.create_team("Acme", admin_name="Ana")
    session = crm.as_member(admin.id)
    made = session.create_contact("Before")
    with crm.store.unit_of_work() as uow:
        read_ahead(uow, lambda: uow.contacts.get(team.id, made.id))
        uow.teams.get(team.id)  # sends the read ahead with it
        uow.contacts.update(attrs.evolve(made, first_name="After", version=made.version + 1))
        assert uow.contacts.get(team.id, made.id).first_name == "After"
        uow.commit()


def test_rows_read_ahead_of_settled_tables_survive_a_write_of_another_table(
    crm: teamcrm.CRM, trips: list[list[str]]
) -> None:
    """A contact's update keeps a team's rows read ahead; a team's update drops them."""
    team, admin = crm.create_team("Acme", admin_name="Ana")
    made = crm.as_member(admin.id).create_contact("Before")
    with crm.store.unit_of_work() as uow:
        read_ahead(uow, lambda: uow.teams.get(team.id), lambda: uow.members.all(team.id))
        uow.contacts.get(team.id, made.id)  # sends the reads ahead with it
        changed = attrs.evolve(made, status="nurture", version=made.version + 1)
        uow.contacts.update(changed, previous=made)  # one UPDATE of contacts
        trips.clear()
        assert uow.teams.get(team.id).name == "Acme"  # kept: nothing sent
        assert trips == [], trips
        uow.teams.update(attrs.evolve(team, name="Acme 2", version=team.version + 1))
        assert [m.id for m in uow.members.all(team.id)] == [admin.id]
        asked = [s for t in trips for s in t if "FROM members" in s]
        assert len(asked) == 1, trips  # dropped by the team's update: read again
        uow.commit()


def test_one_statement_appends_a_teams_events_in_order(
    crm: teamcrm.CRM, trips: list[list[str]]
) -> None:
    """The outbox lock and every row: one statement, ``seq`` in the order given."""
    team, admin = crm.create_team("Acme", admin_name="Ana")
    session = crm.as_member(admin.id)
    before = crm.store.unit_of_work(write=False)
    with before as uow:
        last = max((m.seq for m in uow.outbox.read(team.id, 0, 10_000)), default=0)
    trips.clear()
    made = session.create_contacts([{"first_name": f"N{i}"} for i in range(5)])
    appends = [s for t in trips for s in t if "INTO outbox" in s]
    assert len(appends) == 1, appends
    assert "pg_advisory_xact_lock" in appends[0], appends
    with crm.store.unit_of_work(write=False) as uow:
        new = uow.outbox.read(team.id, last, 10_000)
    created = [m.event.subject_id for m in new if m.event.name.value == "contact.created"]
    assert created == [c.id for c in made]
    assert [m.seq for m in new] == sorted(m.seq for m in new)


def test_rows_read_ahead_before_a_lock_are_not_used_after_it(crm: teamcrm.CRM) -> None:
    team, admin = crm.create_team("Acme", admin_name="Ana")
    made = crm.as_member(admin.id).create_contact("Before")
    with crm.store.unit_of_work() as uow:
        read_ahead(uow, lambda: uow.contacts.get(team.id, made.id))
        uow.teams.get(team.id)  # sends the read ahead with it
        with crm.store.unit_of_work() as other:  # commits while the first unit holds the rows
            other.contacts.update(attrs.evolve(made, first_name="After", version=made.version + 1))
            other.commit()
        # get_for_update locks the row, then reads it: it must not use the earlier rows.
        assert uow.contacts.get_for_update(team.id, made.id).first_name == "After"


def test_a_read_ahead_that_would_write_is_not_sent(crm: teamcrm.CRM) -> None:
    team, _ = crm.create_team("Acme", admin_name="Ana")
    contact = _contact(team.id, "Never")
    with crm.store.unit_of_work() as uow:
        read_ahead(uow, lambda: uow.contacts.add(contact))
        uow.teams.get(team.id)
        uow.commit()
    with crm.store.unit_of_work(write=False) as uow:
        assert uow.contacts.get_many(team.id, [contact.id]) == []


def test_a_write_sent_later_that_fails_fails_the_commit_and_names_its_record(
    crm: teamcrm.CRM,
) -> None:
    team, admin = crm.create_team("Acme", admin_name="Ana")
    first = _notification(team.id, admin.id, "first")
    with crm.store.unit_of_work() as uow:
        uow.notifications.add_many([first])
        uow.commit()
    contact = _contact(team.id, "Lost with the unit")
    with crm.store.unit_of_work() as uow:
        uow.contacts.add(contact)
        with sending_later(uow):
            uow.notifications.add_many([attrs.evolve(first, message="twin")])
        with pytest.raises(AlreadyExists, match=first.id):
            uow.commit()
    with crm.store.unit_of_work(write=False) as uow:
        assert uow.contacts.get_many(team.id, [contact.id]) == []
        assert [n.message for n in uow.notifications.for_member(team.id, admin.id)] == ["first"]


def test_a_write_sent_later_that_fails_fails_the_next_statement(crm: teamcrm.CRM) -> None:
    team, admin = crm.create_team("Acme", admin_name="Ana")
    first = _notification(team.id, admin.id, "first")
    with crm.store.unit_of_work() as uow:
        uow.notifications.add_many([first])
        uow.commit()
    with crm.store.unit_of_work() as uow:
        uow.teams.get(team.id)
        with sending_later(uow):
            uow.notifications.add_many([attrs.evolve(first, message="twin")])
        with pytest.raises(AlreadyExists, match=f"notification.*{first.id}"):
            uow.teams.get(team.id)
        with pytest.raises(StoreError, match="cannot be committed"):
            uow.commit()


def test_writes_sent_later_travel_with_the_next_statement_and_are_seen_by_it(
    crm: teamcrm.CRM, trips: list[list[str]]
) -> None:
    team, admin = crm.create_team("Acme", admin_name="Ana")
    pool_id = PoolId("lp_" + "9" * 26)
    note = _notification(team.id, admin.id, "later")
    with crm.store.unit_of_work() as uow:
        cursor = uow.routing_cursors.get(team.id, pool_id)  # locks the row
        trips.clear()
        with sending_later(uow):
            uow.routing_cursors.put(attrs.evolve(cursor, position=2, version=cursor.version + 1))
            uow.notifications.add_many([note])
        assert trips == []  # nothing sent yet
        feed = uow.notifications.for_member(team.id, admin.id)
        assert [n.message for n in feed] == ["later"]
        assert len(trips) == 1, trips
        assert len(trips[0]) == 3, trips  # both writes, then the read
        uow.commit()
    with crm.store.unit_of_work(write=False) as uow:
        stored = uow.routing_cursors.get(team.id, pool_id)
    assert (stored.position, stored.version) == (2, cursor.version + 1)


def test_memory_and_sqlite_units_ignore_the_hints(tmp_path: Any) -> None:
    called: list[str] = []
    for url in ("memory://", f"sqlite:///{tmp_path / 'hints.db'}"):
        c = teamcrm.open(url)
        team, _ = c.create_team("Acme", admin_name="Ana")
        with c.store.unit_of_work() as uow:
            assert not reads_ahead(uow)
            read_ahead(uow, lambda: called.append("read"))
            with sending_later(uow):
                assert uow.teams.get(team.id).name == "Acme"
            uow.commit()
        assert called == []
        c.close()


def test_a_newer_schema_is_named_even_when_it_fails_the_first_statement() -> None:
    from teamcrm.adapters.postgres import PostgresStore
    from teamcrm.adapters.sqlite.migrations import Migration, registered_migrations
    from teamcrm.errors import SchemaVersionError

    # A newer release renamed a column the unit's first statement reads: the
    # statement fails in the round trip that carries BEGIN and the schema
    # check, and the error must still say why.
    renamed = Migration(
        name="9999_members_renamed",
        statements=("ALTER TABLE members RENAME COLUMN phone_region TO phone_area",),
    )
    with pg_support.schemas() as made:
        url = made.fresh()
        old = teamcrm.open(url)
        try:
            _team, admin = old.create_team("Acme", admin_name="Ana")
            newer = PostgresStore(url, migrations=[*registered_migrations(), renamed])
            newer.close()
            with pytest.raises(SchemaVersionError, match=renamed.name):
                old.as_member(admin.id).contacts()
        finally:
            old.close()


def test_prepared_statements_survive_failed_pipelines(crm: teamcrm.CRM) -> None:
    """A statement psycopg meant to prepare in a pipeline that failed is not taken as prepared.

    psycopg records a statement as prepared when it sends its ``Parse``;
    when an earlier statement of the pipeline fails, the server skips that
    ``Parse``, and the next use of the statement failed with ``prepared
    statement "_pg3_20" does not exist`` (two runs of four of
    ``tests/concurrency/test_concurrency_harness.py``).  The unit's rollback
    now forgets the connection's prepared statements after a failure.
    """
    team, admin = crm.create_team("Acme", admin_name="Ana")
    first = _notification(team.id, admin.id, "first")
    with crm.store.unit_of_work() as uow:
        uow.notifications.add_many([first])
        uow.commit()
    for warm in range(6):  # the failed pipeline is the first to prepare the team's read
        store = PostgresStore(crm.store.url, max_connections=1)  # every unit on one connection
        try:
            for _ in range(4):  # rolled back: psycopg no longer looks at ROLLBACK's result
                with store.unit_of_work(write=False) as uow:
                    uow.members.get(team.id, admin.id)
            for _ in range(warm):
                with store.unit_of_work(write=False) as uow:
                    uow.teams.get(team.id)
                    uow.commit()
            with store.unit_of_work() as uow:
                assert uow.context.conn.raw.prepare_threshold is not None  # type: ignore[attr-defined]
                uow.members.get(team.id, admin.id)
                with sending_later(uow):
                    uow.notifications.add_many([attrs.evolve(first, message="twin")])
                with pytest.raises(AlreadyExists):
                    uow.teams.get(team.id)  # skipped by the server
            for _ in range(3):
                with store.unit_of_work(write=False) as uow:
                    assert uow.teams.get(team.id).name == "Acme"
                    uow.commit()
        finally:
            store.close()


@pytest.mark.parametrize("prepare", [True, False])
def test_prepare_false_leaves_no_statement_prepared_on_the_server(
    crm: teamcrm.CRM, prepare: bool
) -> None:
    """``PostgresStore(url, prepare=False)`` is for transaction-mode poolers: nothing prepared."""
    team, admin = crm.create_team("Acme", admin_name="Ana")
    store = PostgresStore(crm.store.url, max_connections=1, prepare=prepare)
    try:
        for _ in range(4):  # past PREPARE_THRESHOLD runs of the same read
            with store.unit_of_work(write=False) as uow:
                assert uow.members.get(team.id, admin.id).name == "Ana"
                uow.commit()
        with store.unit_of_work(write=False) as uow:
            raw = uow.context.conn.raw  # type: ignore[attr-defined]
            (prepared,) = raw.execute("SELECT count(*) FROM pg_prepared_statements").fetchone()
            uow.commit()
    finally:
        store.close()
    assert (prepared > 0) is prepare, prepared


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_prepare_must_be_a_bool(value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        PostgresStore(pg_support.server_url(), prepare=value)
    assert caught.value.field == "prepare"
    assert caught.value.value == value
