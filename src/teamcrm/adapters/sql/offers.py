"""Offers of leads to members (shared by the SQLite and the PostgreSQL store)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import from_micros, optional_micros, to_micros
from teamcrm.errors import NotFound
from teamcrm.ids import MemberId, TeamId
from teamcrm.lead import (
    LeadId,
    Offer,
    OfferId,
    OfferStatus,
)
from teamcrm.validation import trusted

__all__ = ["OFFER_SELECT", "SQLiteOffers", "offer_from_row"]


# --------------------------------------------------------------------- offers
#: An offer's columns, as :func:`offer_from_row` reads them.
OFFER_SELECT = (
    "SELECT id, team_id, lead_id, member_id, created_at, expires_at, status, settled_at,"
    " offered_by, note, version FROM offers"
)


def offer_from_row(row: Sequence[Any]) -> Offer:
    """The offer an :data:`OFFER_SELECT` row holds."""
    oid, tid, lid, mid, created, expires, status, settled, by, note, version = row
    return trusted(
        Offer,
        id=oid,
        team_id=tid,
        lead_id=lid,
        member_id=mid,
        created_at=from_micros(created),
        expires_at=from_micros(expires),
        status=OfferStatus(status),
        settled_at=None if settled is None else from_micros(settled),
        offered_by=by,
        note=note,
        version=version,
    )


class SQLiteOffers(SQLRepository):
    """Offers; open ones are indexed by expiry for the expiry job."""

    kind = "offer"
    table = "offers"

    @translated
    def get(self, team_id: TeamId, offer_id: OfferId) -> Offer:
        """Return the offer or raise ``NotFound``."""
        row = self._conn.execute(
            f"{OFFER_SELECT} WHERE id = ? AND team_id = ?", (offer_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, offer_id)
        return offer_from_row(row)

    @translated
    def add_many(self, offers: Sequence[Offer]) -> None:
        """Insert new offers."""
        if not offers:
            return
        self._conn.execute("SAVEPOINT teamcrm_add_offers")
        try:
            self._insert_offers(offers)
        except BaseException:
            self._conn.execute("ROLLBACK TO teamcrm_add_offers")
            self._conn.execute("RELEASE teamcrm_add_offers")
            raise
        self._conn.execute("RELEASE teamcrm_add_offers")

    def _insert_offers(self, offers: Sequence[Offer]) -> None:
        try:
            self._conn.executemany(
                "INSERT INTO offers (id, team_id, lead_id, member_id, created_at, expires_at,"
                " status, settled_at, offered_by, note, version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        o.id,
                        o.team_id,
                        o.lead_id,
                        o.member_id,
                        to_micros(o.created_at),
                        to_micros(o.expires_at),
                        o.status.value,
                        optional_micros(o.settled_at),
                        o.offered_by,
                        o.note,
                        o.version,
                    )
                    for o in offers
                ],
            )
        except self._dialect.errors as exc:
            raise self._dialect.translate(exc, kind=self.kind, key=offers[0].id) from exc

    @translated
    def update(self, offer: Offer) -> None:
        """Replace the stored offer whose version is ``offer.version - 1``."""
        self._update_versioned(
            offer.id,
            offer.team_id,
            offer.version,
            {
                "status": offer.status.value,
                "settled_at": optional_micros(offer.settled_at),
                "expires_at": to_micros(offer.expires_at),
                "note": offer.note,
            },
        )

    @translated
    def for_lead(self, team_id: TeamId, lead_id: LeadId) -> list[Offer]:
        """Return the lead's offers by ``created_at`` then id."""
        rows = self._conn.execute(
            f"{OFFER_SELECT} WHERE team_id = ? AND lead_id = ? ORDER BY created_at, id",
            (team_id, lead_id),
        ).fetchall()
        return [offer_from_row(r) for r in rows]

    @translated
    def for_member(
        self, team_id: TeamId, member_id: MemberId, status: OfferStatus | None = None
    ) -> list[Offer]:
        """Return the member's offers (of one status if given) by ``created_at`` then id."""
        sql = f"{OFFER_SELECT} WHERE team_id = ? AND member_id = ?"
        params: list[Any] = [team_id, member_id]
        if status is not None:
            sql += " AND status = ?"
            params.append(OfferStatus(status).value)
        rows = self._conn.execute(sql + " ORDER BY created_at, id", params).fetchall()
        return [offer_from_row(r) for r in rows]

    @translated
    def due(self, at: datetime, limit: int) -> list[Offer]:
        """Return up to *limit* open offers of any team with ``expires_at <= at``."""
        rows = self._conn.execute(
            f"{OFFER_SELECT} WHERE status = 'open' AND expires_at <= ?"
            " ORDER BY expires_at, id LIMIT ?",
            (to_micros(at), limit),
        ).fetchall()
        return [offer_from_row(r) for r in rows]
