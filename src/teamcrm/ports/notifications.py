"""The port of notifications"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from teamcrm.ids import (
    MemberId,
    TeamId,
)
from teamcrm.notification import Notification


class NotificationRepository(Protocol):
    """Notifications to members (the in-app feed and the email digest queue)."""

    def add_many(self, notifications: Sequence[Notification]) -> None:
        """Insert new notifications."""
        ...

    def for_member(
        self,
        team_id: TeamId,
        member_id: MemberId,
        *,
        unread_only: bool = False,
        limit: int = 100,
        before: tuple[datetime, str] | None = None,
    ) -> list[Notification]:
        """Return a member's notifications, newest ``created_at`` first (ties: id).

        With *before* (``created_at``, id): only those older than it in that
        order (a keyset page: one range of the member's index).
        """
        ...

    def mark_read(
        self, team_id: TeamId, member_id: MemberId, ids: Iterable[str] | None, at: datetime
    ) -> int:
        """Mark the member's unread notifications (all of them when *ids* is None) read at *at*.

        Returns how many changed.  Ids of other members or teams are ignored.
        """
        ...

    # -- the email digest queue (see teamcrm.service.notifications.send_digests) --
    # A notification is *pending* for email while it is neither emailed nor
    # skipped.  Each member has a digest state: the time of their last digest
    # and at most one live *claim* (a token and the time it was taken).

    def digest_candidates(
        self,
        *,
        now: datetime,
        last_digest_by: datetime,
        lease_cutoff: datetime,
        team_id: TeamId | None = None,
        limit: int = 10_000,
    ) -> list[tuple[TeamId, MemberId]]:
        """Return up to *limit* members with a pending notification created at or before *now*.

        Only members whose last digest (if any) was at or before
        *last_digest_by* and whose digest is not claimed (or whose claim was
        taken before *lease_cutoff*).  Every team unless *team_id* is given;
        ordered by (team id, member id).  A hint: :meth:`claim_digest` decides.
        """
        ...

    def claim_digest(
        self,
        team_id: TeamId,
        member_id: MemberId,
        *,
        token: str,
        now: datetime,
        last_digest_by: datetime,
        lease_cutoff: datetime,
        limit: int,
    ) -> list[Notification]:
        """Claim the member's next digest for *token*; return its notifications, oldest first.

        Atomically (the database decides the race): when the member's last
        digest was at or before *last_digest_by* and no claim taken at or
        after *lease_cutoff* holds, record the claim (*token*, *now*) and
        return up to *limit* pending notifications created at or before
        *now*, by (``created_at``, id).  Otherwise (or when none is pending)
        return ``[]`` and change nothing.
        """
        ...

    def complete_digest(
        self,
        team_id: TeamId,
        member_id: MemberId,
        *,
        token: str,
        ids: Iterable[str],
        at: datetime,
    ) -> int:
        """Record a sent digest: mark *ids* (those not yet emailed) emailed at *at*.

        Sets the member's last digest time to *at* (never moving it back) and
        releases the claim if *token* still holds it.  Returns how many
        notifications were marked.
        """
        ...

    def release_digest(self, team_id: TeamId, member_id: MemberId, *, token: str) -> None:
        """Give up the claim *token* (the send failed): nothing is marked, the next run retries."""
        ...

    def skip_email(self, team_id: TeamId, member_id: MemberId, *, now: datetime) -> int:
        """Take the member's pending notifications created at or before *now* off the email queue.

        For members who get no email (inactive, no address); the notifications
        stay in the in-app feed.  Returns how many were skipped.
        """
        ...

    def last_digest_at(self, team_id: TeamId, member_id: MemberId) -> datetime | None:
        """Return when the member's last digest was sent, or ``None``."""
        ...
