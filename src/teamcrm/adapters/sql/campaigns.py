"""Campaigns and their sends (shared by the SQLite and the PostgreSQL store)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import (
    dumps,
    from_micros,
    loads,
    optional_micros,
    to_micros,
)
from teamcrm.adapters.sql.dialect import insert_ignoring
from teamcrm.campaign import (
    Campaign,
    CampaignId,
    CampaignSend,
    CampaignSendId,
    SendState,
)
from teamcrm.converter import converter
from teamcrm.errors import NotFound
from teamcrm.ids import ContactId, TeamId
from teamcrm.validation import trusted

__all__ = ["SEND_COLUMNS", "SQLiteCampaignSends", "SQLiteCampaigns"]


#: The send columns, in the order :func:`_send` reads them.
SEND_COLUMNS = (
    "id, team_id, campaign_id, contact_id, due_at, state, reason, attempts,"
    " lease_owner, lease_until, finished_at, version"
)


_SEND_SELECT = f"SELECT {SEND_COLUMNS} FROM campaign_sends"


_CAMPAIGN_SELECT = "SELECT data, version FROM campaigns"


def _campaign(row: Sequence[Any]) -> Campaign:
    fields = loads(row[0])
    fields["version"] = row[1]
    return converter.structure(fields, Campaign)


def _campaign_data(campaign: Campaign) -> str:
    data = converter.unstructure(campaign)
    data.pop("version", None)
    return dumps(data)


def _send(row: Sequence[Any]) -> CampaignSend:
    (sid, team, campaign, contact, due, state, reason, attempts) = row[:8]
    (owner, until, finished, version) = row[8:]
    return trusted(
        CampaignSend,
        id=CampaignSendId(sid),
        team_id=TeamId(team),
        campaign_id=CampaignId(campaign),
        contact_id=ContactId(contact),
        due_at=from_micros(due),
        state=SendState(state),
        reason=reason,
        attempts=attempts,
        lease_owner=owner,
        lease_until=None if until is None else from_micros(until),
        finished_at=None if finished is None else from_micros(finished),
        version=version,
    )


def _send_values(s: CampaignSend) -> tuple[Any, ...]:
    return (
        s.id,
        s.team_id,
        s.campaign_id,
        s.contact_id,
        to_micros(s.due_at),
        s.state.value,
        s.reason,
        s.attempts,
        s.lease_owner,
        optional_micros(s.lease_until),
        optional_micros(s.finished_at),
        s.version,
    )


class SQLiteCampaigns(SQLRepository):
    """Campaigns, stored as JSON with their state and version."""

    kind = "campaign"
    table = "campaigns"

    @translated
    def get(self, team_id: TeamId, campaign_id: CampaignId) -> Campaign:
        """Return the campaign or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_CAMPAIGN_SELECT} WHERE id = ? AND team_id = ?", (campaign_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, campaign_id)
        return _campaign(row)

    @translated
    def add(self, campaign: Campaign) -> None:
        """Insert a new campaign."""
        c = campaign
        self._insert(
            c.id,
            "INSERT INTO campaigns (id, team_id, state, data, version) VALUES (?, ?, ?, ?, ?)",
            (c.id, c.team_id, c.state.value, _campaign_data(c), c.version),
        )

    @translated
    def update(self, campaign: Campaign) -> None:
        """Replace the stored campaign whose version is ``campaign.version - 1``."""
        c = campaign
        self._update_versioned(
            c.id, c.team_id, c.version, {"state": c.state.value, "data": _campaign_data(c)}
        )

    @translated
    def all(self, team_id: TeamId) -> list[Campaign]:
        """Every campaign of the team, by id."""
        rows = self._conn.execute(f"{_CAMPAIGN_SELECT} WHERE team_id = ? ORDER BY id", (team_id,))
        return [_campaign(r) for r in rows]


class SQLiteCampaignSends(SQLRepository):
    """Sends; one per (campaign, contact) by a unique index."""

    kind = "campaign send"
    table = "campaign_sends"

    @translated
    def get(self, team_id: TeamId, send_id: CampaignSendId) -> CampaignSend:
        """Return the send or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_SEND_SELECT} WHERE id = ? AND team_id = ?", (send_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, send_id)
        return _send(row)

    @translated
    def add_many(self, sends: Sequence[CampaignSend]) -> list[CampaignSend]:
        """Insert sends, skipping those the unique index refuses; return the inserted."""
        first: dict[str, CampaignSend] = {}
        for s in sends:
            first.setdefault(s.id, s)  # the first of a repeated id wins, in order
        unique = list(first.values())
        if not unique:
            return []
        ids = dumps([s.id for s in unique])
        before = self._stored_ids(ids)
        self._conn.executemany(
            insert_ignoring(self._dialect, "campaign_sends", SEND_COLUMNS),
            [_send_values(s) for s in unique if s.id not in before],
        )
        added = self._stored_ids(ids) - before
        return [s for s in unique if s.id in added]

    def _stored_ids(self, ids_json: str) -> set[str]:
        rows = self._conn.execute(
            f"SELECT id FROM campaign_sends WHERE {self._dialect.ids_in('id')}",
            (ids_json,),
        )
        return {r[0] for r in rows}

    @translated
    def update(self, send: CampaignSend) -> None:
        """Replace the stored send whose version is ``send.version - 1``."""
        v = _send_values(send)
        self._update_versioned(
            send.id,
            send.team_id,
            send.version,
            {
                "due_at": v[4],
                "state": v[5],
                "reason": v[6],
                "attempts": v[7],
                "lease_owner": v[8],
                "lease_until": v[9],
                "finished_at": v[10],
            },
        )

    @translated
    def for_campaign(self, team_id: TeamId, campaign_id: CampaignId) -> list[CampaignSend]:
        """Every send of the campaign, by due time then id."""
        rows = self._conn.execute(
            f"{_SEND_SELECT} WHERE team_id = ? AND campaign_id = ? ORDER BY due_at, id",
            (team_id, campaign_id),
        )
        return [_send(r) for r in rows]

    #: The claim; the PostgreSQL store adds ``FOR UPDATE OF s SKIP LOCKED`` to the inner SELECT.
    claim_sql = (
        "UPDATE campaign_sends SET lease_owner = ?, lease_until = ?, version = version + 1"
        " WHERE id IN (SELECT s.id FROM campaign_sends s JOIN campaigns c"
        " ON c.id = s.campaign_id AND c.state = 'running'"
        " WHERE s.state = 'pending' AND s.due_at <= ?"
        " AND (s.lease_until IS NULL OR s.lease_until <= ?) ORDER BY s.due_at, s.id LIMIT ?{lock})"
        f" RETURNING {SEND_COLUMNS}"
    )
    claim_lock = ""

    @translated
    def claim_due(
        self, now: datetime, limit: int, *, owner: str, until: datetime
    ) -> list[CampaignSend]:
        """Lease up to *limit* due pending sends of running campaigns to *owner*."""
        at = to_micros(now)
        rows = self._conn.execute(
            self.claim_sql.format(lock=self.claim_lock),
            (owner, to_micros(until), at, at, limit),
        ).fetchall()
        return sorted((_send(r) for r in rows), key=lambda s: (s.due_at, s.id))
