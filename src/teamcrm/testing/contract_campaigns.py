"""Contract tests of campaigns and their sends (part of :class:`StoreContract`).

* :class:`CampaignRepositoryContract` — campaigns round-trip whole, are
  versioned, scoped to their team, listed by id.
* :class:`CampaignSendRepositoryContract` — one send per (campaign,
  contact); claims lease due pending sends of *running* campaigns to one
  worker at a time and skip leases still held; a deleted contact's sends
  are gone; versions are checked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest

from teamcrm.campaign import (
    Campaign,
    CampaignSend,
    CampaignState,
    SendState,
    new_campaign_id,
    new_campaign_send_id,
)
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.ids import BucketId, ContactId
from teamcrm.ports import Store, UnitOfWork
from teamcrm.testing.contract_base import (
    Seed,
    StoreContractBase,
    at,
    new_bucket,
    new_contact,
    read,
    seed_team,
    write,
)

__all__ = ["CampaignRepositoryContract", "CampaignSendRepositoryContract"]


def _campaign(seed: Seed, bucket_id: BucketId, state: CampaignState) -> Campaign:
    return Campaign(
        id=new_campaign_id(),
        team_id=seed.team_id,
        name="News",
        sender_id=seed.agent.id,
        created_by=seed.agent.id,
        subject="Hi {{ contact.first_name }}",
        body="Hello {{ contact.custom.tier | default: 'friend' }}",
        bucket_ids=(bucket_id,),
        per_minute=30,
        exclude_days=7,
        state=state,
        created_at=at(20),
        started_at=None if state is CampaignState.DRAFT else at(21),
    )


def _send(seed: Seed, campaign: Campaign, contact_id: ContactId, seconds: float) -> CampaignSend:
    return CampaignSend(
        id=new_campaign_send_id(),
        team_id=seed.team_id,
        campaign_id=campaign.id,
        contact_id=contact_id,
        due_at=at(seconds),
    )


class CampaignRepositoryContract(StoreContractBase):
    """``uow.campaigns``."""

    def test_campaigns_round_trip_are_versioned_and_scoped_to_their_team(
        self, store: Store
    ) -> None:
        seed, other = seed_team(store), seed_team(store, "Other")
        bucket = new_bucket(seed)
        write(store, lambda uow: uow.buckets.add(bucket))
        campaign = _campaign(seed, bucket.id, CampaignState.DRAFT)
        write(store, lambda uow: uow.campaigns.add(campaign))
        t = seed.team_id
        assert read(store, lambda uow: uow.campaigns.get(t, campaign.id)) == campaign
        with pytest.raises(AlreadyExists):
            write(store, lambda uow: uow.campaigns.add(campaign))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.campaigns.get(other.team_id, campaign.id))
        assert read(store, lambda uow: uow.campaigns.all(other.team_id)) == []
        running = attrs.evolve(campaign, state=CampaignState.RUNNING, started_at=at(30), version=2)
        write(store, lambda uow: uow.campaigns.update(running))
        assert read(store, lambda uow: uow.campaigns.all(t)) == [running]
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.campaigns.update(attrs.evolve(campaign, version=2)))


class CampaignSendRepositoryContract(StoreContractBase):
    """``uow.campaign_sends``."""

    def _campaign_world(
        self, store: Store, state: CampaignState = CampaignState.RUNNING, contacts: int = 3
    ) -> tuple[Seed, Campaign, list[ContactId]]:
        seed = seed_team(store)
        bucket = new_bucket(seed)
        campaign = _campaign(seed, bucket.id, state)
        people = [new_contact(seed, 30 + n) for n in range(contacts)]

        def fill(uow: UnitOfWork) -> None:
            uow.buckets.add(bucket)
            uow.campaigns.add(campaign)
            uow.contacts.add_many(people)

        write(store, fill)
        return seed, campaign, [c.id for c in people]

    def test_one_send_per_campaign_and_contact(self, store: Store) -> None:
        seed, campaign, contacts = self._campaign_world(store)
        t = seed.team_id
        first = [_send(seed, campaign, c, 40 + n) for n, c in enumerate(contacts)]
        assert write(store, lambda uow: uow.campaign_sends.add_many([*first, first[0]])) == first
        again = _send(seed, campaign, contacts[0], 50)
        assert write(store, lambda uow: uow.campaign_sends.add_many([again])) == []
        stored = read(store, lambda uow: uow.campaign_sends.for_campaign(t, campaign.id))
        assert stored == first  # by due time
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.campaign_sends.get(t, again.id))

    def test_claims_lease_due_sends_of_running_campaigns_once(self, store: Store) -> None:
        seed, campaign, contacts = self._campaign_world(store)
        t = seed.team_id
        sends = [_send(seed, campaign, c, 40 + n) for n, c in enumerate(contacts)]
        later = attrs.evolve(sends[2], due_at=at(500))
        write(store, lambda uow: uow.campaign_sends.add_many([sends[0], sends[1], later]))
        lease = timedelta(minutes=5)
        now = at(100)

        def claim(worker: str, when: datetime = now, limit: int = 10) -> list[CampaignSend]:
            until = when + lease
            return write(
                store,
                lambda uow: uow.campaign_sends.claim_due(when, limit, owner=worker, until=until),
            )

        first = claim("a", limit=1)
        assert [s.id for s in first] == [sends[0].id]
        assert (first[0].lease_owner, first[0].lease_until, first[0].version) == (
            "a",
            now + lease,
            2,
        )
        assert [s.id for s in claim("b")] == [sends[1].id]
        assert claim("c") == []
        expired = claim("d", now + lease)
        assert [s.id for s in expired] == [sends[0].id, sends[1].id]
        with pytest.raises(ConcurrencyError):  # "a" lost its claim
            write(
                store, lambda uow: uow.campaign_sends.update(first[0].finished(SendState.SENT, now))
            )
        done = expired[0].finished(SendState.SENT, now)
        write(store, lambda uow: uow.campaign_sends.update(done))
        assert read(store, lambda uow: uow.campaign_sends.get(t, done.id)) == done
        paused = attrs.evolve(campaign, state=CampaignState.PAUSED, version=2)
        write(store, lambda uow: uow.campaigns.update(paused))
        assert claim("e", at(10_000)) == []  # a paused campaign's sends wait

    def test_a_draft_campaigns_sends_are_not_claimed(self, store: Store) -> None:
        seed, campaign, contacts = self._campaign_world(store, CampaignState.DRAFT)
        send = _send(seed, campaign, contacts[0], 40)
        write(store, lambda uow: uow.campaign_sends.add_many([send]))
        now = at(100)
        claimed = write(
            store,
            lambda uow: uow.campaign_sends.claim_due(now, 5, owner="w", until=now + timedelta(1)),
        )
        assert claimed == []

    def test_a_deleted_contacts_sends_are_gone(self, store: Store) -> None:
        seed, campaign, contacts = self._campaign_world(store)
        t = seed.team_id
        sends = [_send(seed, campaign, c, 40 + n) for n, c in enumerate(contacts)]
        write(store, lambda uow: uow.campaign_sends.add_many(sends))
        gone = read(store, lambda uow: uow.contacts.get(t, contacts[0]))

        def delete_contact(uow: UnitOfWork) -> None:
            uow.memberships.remove_item(t, gone.id)
            uow.contacts.delete(t, gone.id, gone.version)

        write(store, delete_contact)
        left = read(store, lambda uow: uow.campaign_sends.for_campaign(t, campaign.id))
        assert [s.contact_id for s in left] == contacts[1:]
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.campaign_sends.get(t, sends[0].id))
        other = seed_team(store, "Other").team_id
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.campaign_sends.get(other, sends[1].id))
        now = at(100)
        claimed = write(
            store,
            lambda uow: uow.campaign_sends.claim_due(now, 5, owner="w", until=now + timedelta(1)),
        )
        assert [s.id for s in claimed] == [sends[1].id, sends[2].id]
