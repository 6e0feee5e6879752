"""The memory store's campaigns and their sends (the reference behaviour).

The same rules as the SQL stores: one send per (campaign, contact); a
deleted contact's sends are gone (they are not returned: the memory
store's stand-in for ``ON DELETE CASCADE``); claims skip leases still held
and sends of campaigns that are not running.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from teamcrm.campaign import Campaign, CampaignId, CampaignSend, CampaignSendId, CampaignState
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.ids import TeamId

if TYPE_CHECKING:
    from teamcrm.adapters.memory.tables import MemoryTables, _Table

__all__ = ["MemoryCampaignSends", "MemoryCampaigns"]


class MemoryCampaigns:
    """Campaigns by id."""

    def __init__(self, table: _Table[str, Campaign]) -> None:
        self._t = table

    def get(self, team_id: TeamId, campaign_id: CampaignId) -> Campaign:
        found = self._t.get(campaign_id)
        if found is None or found.team_id != team_id:
            raise NotFound("campaign", campaign_id)
        return found

    def add(self, campaign: Campaign) -> None:
        if campaign.id in self._t:
            raise AlreadyExists("campaign", campaign.id)
        self._t.put(campaign.id, campaign)

    def update(self, campaign: Campaign) -> None:
        stored = self.get(campaign.team_id, campaign.id)
        if stored.version != campaign.version - 1:
            raise ConcurrencyError("campaign", campaign.id, campaign.version - 1)
        self._t.put(campaign.id, campaign)

    def all(self, team_id: TeamId) -> list[Campaign]:
        return sorted((c for c in self._t.values() if c.team_id == team_id), key=lambda c: c.id)


class MemoryCampaignSends:
    """Sends by id, one per (campaign, contact); those of deleted contacts are gone."""

    def __init__(
        self,
        table: _Table[str, CampaignSend],
        campaigns: _Table[str, Campaign],
        contacts: _Table[str, Any],
    ) -> None:
        self._t = table
        self._campaigns = campaigns
        self._contacts = contacts

    def _live(self) -> list[CampaignSend]:
        return [s for s in self._t.values() if s.contact_id in self._contacts]

    def get(self, team_id: TeamId, send_id: CampaignSendId) -> CampaignSend:
        found = self._t.get(send_id)
        if found is None or found.team_id != team_id or found.contact_id not in self._contacts:
            raise NotFound("campaign send", send_id)
        return found

    def add_many(self, sends: Sequence[CampaignSend]) -> list[CampaignSend]:
        taken = {(s.campaign_id, s.contact_id) for s in self._live()}
        added = []
        for s in sends:
            key = (s.campaign_id, s.contact_id)
            if s.id in self._t or key in taken:
                continue
            taken.add(key)
            self._t.put(s.id, s)
            added.append(s)
        return added

    def update(self, send: CampaignSend) -> None:
        stored = self.get(send.team_id, send.id)
        if stored.version != send.version - 1:
            raise ConcurrencyError("campaign send", send.id, send.version - 1)
        self._t.put(send.id, send)

    def for_campaign(self, team_id: TeamId, campaign_id: CampaignId) -> list[CampaignSend]:
        return sorted(
            (s for s in self._live() if s.team_id == team_id and s.campaign_id == campaign_id),
            key=lambda s: (s.due_at, s.id),
        )

    def claim_due(
        self, now: datetime, limit: int, *, owner: str, until: datetime
    ) -> list[CampaignSend]:
        running = {c.id for c in self._campaigns.values() if c.state is CampaignState.RUNNING}
        due = sorted(
            (
                s
                for s in self._live()
                if s.pending
                and s.campaign_id in running
                and s.due_at <= now
                and (s.lease_until is None or s.lease_until <= now)
            ),
            key=lambda s: (s.due_at, s.id),
        )[:limit]
        claimed = []
        for s in due:
            leased = attrs.evolve(s, lease_owner=owner, lease_until=until, version=s.version + 1)
            self._t.put(s.id, leased)
            claimed.append(leased)
        return claimed


def memory_campaigns(t: MemoryTables) -> MemoryCampaigns:
    """``uow.campaigns`` of a memory unit."""
    return MemoryCampaigns(t.table("campaigns"))


def memory_campaign_sends(t: MemoryTables) -> MemoryCampaignSends:
    """``uow.campaign_sends`` of a memory unit."""
    return MemoryCampaignSends(t.table("campaign_sends"), t.table("campaigns"), t.table("contacts"))
