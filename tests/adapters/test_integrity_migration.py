"""Migration ``0300_no_dangling_rows`` on a database written by an earlier release.

The database is made with every migration but ``0300``, then given the rows
the races of earlier releases left (memberships of deleted buckets and
contacts, an inbound-bucket choice naming a deleted bucket, a second
"Routed leads" bucket of one member).  Opening it with this release:

* deletes the rows that name deleted ones (and nothing else);
* keeps the extra "Routed leads" bucket (an ordinary personal bucket): the
  migration does not fail on it;
* from then on a deleted bucket takes its inbound-bucket choices with it
  (SQLite: a trigger; PostgreSQL: foreign keys), and on PostgreSQL a
  membership of a bucket deleted meanwhile is refused with
  ``ConcurrencyError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import teamcrm
from race_support import INBOUND, STORES, Reader, store_url
from teamcrm.adapters.sqlite.migrations import registered_migrations
from teamcrm.bucket import BucketMembership
from teamcrm.ids import BucketId
from teamcrm.lead import InboundBucket

NEW = "0300_no_dangling_rows"


def _old_store(url: str) -> teamcrm.ports.Store:
    older = [m for m in registered_migrations() if m.name != NEW]
    if url.startswith("sqlite"):
        from teamcrm.adapters.sqlite import SQLiteStore

        return SQLiteStore(url, migrations=older)
    from teamcrm.adapters.postgres import PostgresStore

    return PostgresStore(url, migrations=older)


@pytest.fixture(params=STORES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with store_url(request.param, tmp_path, fresh=True) as made:
        yield made


def test_the_migration_deletes_dangling_rows_and_keeps_everything_else(url: str) -> None:
    crm = teamcrm.CRM(_old_store(url))
    _, admin = crm.create_team("Old", admin_name="Ana")
    ana = crm.as_member(admin.id)
    agent = ana.add_member("Bob").id
    kept = ana.create_bucket("Kept")
    gone = ana.create_bucket("Gone")
    alive, doomed = ana.create_contacts([{"first_name": "Alive"}, {"first_name": "Doomed"}])
    ana.add_to_bucket(kept.id, [alive.id, doomed.id])
    ana.add_to_bucket(gone.id, [alive.id])
    bob = crm.as_member(agent)
    extra = [bob.create_bucket(INBOUND, personal=True) for _ in range(2)]
    now = crm.now()
    with crm.store.unit_of_work() as uow:
        # What the races of earlier releases left behind, written past the service.
        uow.inbound_buckets.put(
            InboundBucket(team_id=ana.team_id, member_id=agent, bucket_id=gone.id)
        )
        uow.inbound_buckets.put(
            InboundBucket(team_id=ana.team_id, member_id=admin.id, bucket_id=kept.id)
        )
        uow.buckets.delete(ana.team_id, gone.id, gone.version)
        uow.memberships.add_many(
            [
                BucketMembership(
                    team_id=ana.team_id, bucket_id=gone.id, item_id=alive.id, added_at=now
                )
            ]
        )
        uow.contacts.delete(ana.team_id, doomed.id, doomed.version)
        uow.commit()
    crm.close()

    crm = teamcrm.open(url)
    ana = crm.as_member(admin.id)
    reader = Reader(url)
    try:
        rows = reader.rows("SELECT bucket_id, item_id FROM memberships ORDER BY item_id")
        assert rows == [(kept.id, alive.id)]
        rows = reader.rows("SELECT member_id, bucket_id FROM inbound_buckets")
        assert rows == [(admin.id, kept.id)]
        names = reader.rows("SELECT name FROM buckets WHERE owner_id = ?", (agent,))
        assert [n for (n,) in names] == [INBOUND, INBOUND]  # kept: the migration did not fail
    finally:
        reader.close()
    assert {b.id for b in crm.as_member(agent).buckets()} >= {b.id for b in extra}

    # From now on a deleted bucket takes its inbound-bucket choices with it.
    ana.delete_bucket(kept.id)
    with crm.store.unit_of_work(write=False) as uow:
        assert uow.inbound_buckets.get(ana.team_id, admin.id) is None
    crm.close()


def test_postgresql_refuses_a_membership_of_a_bucket_deleted_meanwhile(tmp_path: Path) -> None:
    with store_url("postgresql", tmp_path) as url:
        crm = teamcrm.open(url)
        _, admin = crm.create_team("FK", admin_name="Ana")
        ana = crm.as_member(admin.id)
        contact = ana.create_contact(first_name="Cy")
        with crm.store.unit_of_work() as uow:
            row = BucketMembership(
                team_id=ana.team_id,
                bucket_id=BucketId("bk_" + "0" * 26),
                item_id=contact.id,
                added_at=crm.now(),
            )
            with pytest.raises(teamcrm.ConcurrencyError) as caught:
                uow.memberships.add_many([row])
        assert caught.value.kind == "bucket"
        assert caught.value.key == row.bucket_id
        crm.close()
