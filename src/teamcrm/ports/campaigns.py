"""The storage ports of campaigns: campaigns and their sends.

Re-exported by :mod:`teamcrm.ports`; every store implements both (memory in
:mod:`teamcrm.adapters.memory.campaigns`, SQLite and PostgreSQL in
``adapters/sqlite/campaigns.py`` and ``adapters/postgres/campaigns.py``).
The rules of :mod:`teamcrm.ports` hold (team scoping, versions checked by
the database), plus:

* at most one send per (campaign, contact): a unique constraint decides it,
  and :meth:`CampaignSendRepository.add_many` skips the rows it refuses;
* deleting a contact deletes its sends (a foreign key with ``ON DELETE
  CASCADE``; the memory store no longer returns them);
* :meth:`CampaignSendRepository.claim_due` hands each due send of a running
  campaign to one worker at a time (SQLite: ``UPDATE ... RETURNING`` in a
  writing unit; PostgreSQL: ``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from teamcrm.campaign import Campaign, CampaignId, CampaignSend, CampaignSendId
from teamcrm.ids import TeamId

__all__ = ["CampaignRepository", "CampaignSendRepository"]


class CampaignRepository(Protocol):
    """Campaigns of a team."""

    def get(self, team_id: TeamId, campaign_id: CampaignId) -> Campaign:
        """Return the campaign or raise ``NotFound``."""
        ...

    def add(self, campaign: Campaign) -> None:
        """Insert a new campaign (``AlreadyExists`` for a taken id)."""
        ...

    def update(self, campaign: Campaign) -> None:
        """Replace the stored campaign whose version is ``campaign.version - 1``."""
        ...

    def all(self, team_id: TeamId) -> list[Campaign]:
        """Return every campaign of the team, by id."""
        ...


class CampaignSendRepository(Protocol):
    """The recipients of started campaigns."""

    def get(self, team_id: TeamId, send_id: CampaignSendId) -> CampaignSend:
        """Return the send or raise ``NotFound``."""
        ...

    def add_many(self, sends: Sequence[CampaignSend]) -> list[CampaignSend]:
        """Insert sends; skip any whose (campaign, contact) already has one. Return the inserted."""
        ...

    def update(self, send: CampaignSend) -> None:
        """Replace the stored send whose version is ``send.version - 1``."""
        ...

    def for_campaign(self, team_id: TeamId, campaign_id: CampaignId) -> list[CampaignSend]:
        """Return every send of the campaign (any state), by due time then id."""
        ...

    def claim_due(
        self, now: datetime, limit: int, *, owner: str, until: datetime
    ) -> list[CampaignSend]:
        """Lease up to *limit* pending sends of running campaigns due by *now* to *owner*.

        Any team; oldest due first.  A send whose lease is held by someone
        else until after *now* is not due; one whose lease expired is.  Each
        claimed row gets ``lease_owner``/``lease_until`` and version + 1.
        """
        ...
