"""SQLite support for the email digest queue of notifications.

Adds to the ``notifications`` table of :mod:`teamcrm.adapters.sqlite.notifications`
(by a later migration, so databases made before it upgrade in place):

* ``notifications.email_skipped_at`` - set when a notification is taken off the
  email queue (its member is inactive or has no address);
* ``notification_digests`` - one row per member who ever had a digest or a
  claim: ``last_digest_at`` and the live claim (``claim_token``, ``claimed_at``);
* a partial index over the pending notifications (neither emailed nor skipped).

The claim is one conditional upsert: the database, not an earlier read,
decides which worker gets a member's digest, so any number of processes can
run :func:`~teamcrm.service.notifications.send_digests` at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from teamcrm.adapters.sql.codec import dumps, from_micros, to_micros
from teamcrm.adapters.sqlite.migrations import register_migration
from teamcrm.adapters.sqlite.notifications import _SELECT, SQLiteNotifications, _notification
from teamcrm.adapters.sqlite.repositories import translated
from teamcrm.adapters.sqlite.store import register_repository
from teamcrm.ids import MemberId, TeamId
from teamcrm.notification import Notification

__all__ = ["SQLiteDigestNotifications"]

register_migration(
    "0090_notification_digests",
    "ALTER TABLE notifications ADD COLUMN email_skipped_at INTEGER",
    """CREATE TABLE notification_digests (
        team_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        last_digest_at INTEGER,
        claim_token TEXT,
        claimed_at INTEGER,
        PRIMARY KEY (team_id, member_id)
    ) WITHOUT ROWID""",
    """CREATE INDEX notifications_email_queue
        ON notifications (team_id, member_id, created_at, id)
        WHERE emailed_at IS NULL AND email_skipped_at IS NULL""",
)

_PENDING = "emailed_at IS NULL AND email_skipped_at IS NULL"


class SQLiteDigestNotifications(SQLiteNotifications):
    """Notifications plus the email digest queue (see ``NotificationRepository``)."""

    @translated
    def digest_candidates(
        self,
        *,
        now: datetime,
        last_digest_by: datetime,
        lease_cutoff: datetime,
        team_id: TeamId | None = None,
        limit: int = 10_000,
    ) -> list[tuple[TeamId, MemberId]]:
        """Members with a pending notification who may be due a digest (a hint)."""
        rows = self._conn.execute(
            "SELECT DISTINCT n.team_id, n.member_id FROM notifications AS n"
            " LEFT JOIN notification_digests AS d"
            "   ON d.team_id = n.team_id AND d.member_id = n.member_id"
            " WHERE n.emailed_at IS NULL AND n.email_skipped_at IS NULL AND n.created_at <= ?"
            f"   AND ({self._dialect.null_param()} IS NULL OR n.team_id = ?)"
            "   AND (d.last_digest_at IS NULL OR d.last_digest_at <= ?)"
            "   AND (d.claim_token IS NULL OR d.claimed_at < ?)"
            " ORDER BY n.team_id, n.member_id LIMIT ?",
            (
                to_micros(now),
                team_id,
                team_id,
                to_micros(last_digest_by),
                to_micros(lease_cutoff),
                limit,
            ),
        ).fetchall()
        return [(TeamId(t), MemberId(m)) for t, m in rows]

    @translated
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
        """Claim the member's next digest with one conditional upsert; return its batch."""
        conn = self._conn
        batch = [
            _notification(r)
            for r in conn.execute(
                f"{_SELECT} WHERE team_id = ? AND member_id = ? AND {_PENDING}"
                " AND created_at <= ? ORDER BY created_at, id LIMIT ?",
                (team_id, member_id, to_micros(now), limit),
            )
        ]
        if not batch:
            return []
        claimed = conn.execute(
            "INSERT INTO notification_digests (team_id, member_id, claim_token, claimed_at)"
            " VALUES (?, ?, ?, ?)"
            " ON CONFLICT (team_id, member_id) DO UPDATE"
            " SET claim_token = excluded.claim_token, claimed_at = excluded.claimed_at"
            " WHERE (notification_digests.last_digest_at IS NULL"
            "        OR notification_digests.last_digest_at <= ?)"
            "   AND (notification_digests.claim_token IS NULL"
            "        OR notification_digests.claimed_at < ?)",
            (
                team_id,
                member_id,
                token,
                to_micros(now),
                to_micros(last_digest_by),
                to_micros(lease_cutoff),
            ),
        ).rowcount
        return batch if claimed == 1 else []

    @translated
    def complete_digest(
        self,
        team_id: TeamId,
        member_id: MemberId,
        *,
        token: str,
        ids: Iterable[str],
        at: datetime,
    ) -> int:
        """Mark *ids* emailed, record the digest time, release the claim if still ours."""
        conn = self._conn
        when = to_micros(at)
        marked = conn.execute(
            "UPDATE notifications SET emailed_at = ?"
            " WHERE team_id = ? AND member_id = ? AND emailed_at IS NULL"
            f" AND {self._dialect.ids_in('id')}",
            (when, team_id, member_id, dumps(list(ids))),
        ).rowcount
        conn.execute(
            "INSERT INTO notification_digests (team_id, member_id, last_digest_at)"
            " VALUES (?, ?, ?)"
            " ON CONFLICT (team_id, member_id) DO UPDATE SET"
            "   last_digest_at = "
            + self._dialect.greatest(
                "coalesce(notification_digests.last_digest_at, excluded.last_digest_at)",
                "excluded.last_digest_at",
            )
            + ","
            "   claim_token = CASE WHEN notification_digests.claim_token = ? THEN NULL"
            "                 ELSE notification_digests.claim_token END,"
            "   claimed_at = CASE WHEN notification_digests.claim_token = ? THEN NULL"
            "                ELSE notification_digests.claimed_at END",
            (team_id, member_id, when, token, token),
        )
        return marked

    @translated
    def release_digest(self, team_id: TeamId, member_id: MemberId, *, token: str) -> None:
        """Give up the claim *token* (the send failed)."""
        self._conn.execute(
            "UPDATE notification_digests SET claim_token = NULL, claimed_at = NULL"
            " WHERE team_id = ? AND member_id = ? AND claim_token = ?",
            (team_id, member_id, token),
        )

    @translated
    def skip_email(self, team_id: TeamId, member_id: MemberId, *, now: datetime) -> int:
        """Take the member's pending notifications (created by *now*) off the email queue."""
        when = to_micros(now)
        return self._conn.execute(
            f"UPDATE notifications SET email_skipped_at = ?"
            f" WHERE team_id = ? AND member_id = ? AND {_PENDING} AND created_at <= ?",
            (when, team_id, member_id, when),
        ).rowcount

    @translated
    def last_digest_at(self, team_id: TeamId, member_id: MemberId) -> datetime | None:
        """When the member's last digest was sent, or ``None``."""
        row = self._conn.execute(
            "SELECT last_digest_at FROM notification_digests WHERE team_id = ? AND member_id = ?",
            (team_id, member_id),
        ).fetchone()
        return None if row is None or row[0] is None else from_micros(row[0])


register_repository("notifications", SQLiteDigestNotifications)
