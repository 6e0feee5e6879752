"""Notifications and their e-mail digests (shared by the SQLite and the PostgreSQL store)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import dumps, from_micros, loads, optional_micros, to_micros
from teamcrm.errors import AlreadyExists
from teamcrm.ids import MemberId, TeamId
from teamcrm.notification import Notification, NotificationKind

__all__ = ["SQLiteDigestNotifications", "SQLiteNotifications"]


_SELECT = (
    "SELECT id, team_id, member_id, kind, subject_id, message, created_at, read_at,"
    " emailed_at, data FROM notifications"
)


def _notification(row: Sequence[Any]) -> Notification:
    nid, tid, mid, kind, subject, message, created, read, emailed, data = row
    return Notification(
        id=nid,
        team_id=tid,
        member_id=mid,
        kind=NotificationKind(kind),
        subject_id=subject,
        message=message,
        created_at=from_micros(created),
        read_at=None if read is None else from_micros(read),
        emailed_at=None if emailed is None else from_micros(emailed),
        data={} if data == "{}" else loads(data),
    )


class SQLiteNotifications(SQLRepository):
    """Notifications to members."""

    kind = "notification"
    table = "notifications"

    def add_many(self, notifications: Sequence[Notification]) -> None:
        """Insert new notifications (all or none)."""
        if not notifications:
            return
        rows = [
            (
                n.id,
                n.team_id,
                n.member_id,
                n.kind.value,
                n.subject_id,
                n.message,
                to_micros(n.created_at),
                optional_micros(n.read_at),
                optional_micros(n.emailed_at),
                dumps(n.data) if n.data else "{}",
            )
            for n in notifications
        ]
        conn = self._conn
        insert = (
            "INSERT INTO notifications (id, team_id, member_id, kind, subject_id,"
            " message, created_at, read_at, emailed_at, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        try:
            if len(rows) == 1:
                # A taken id is refused without an error, so no savepoint is
                # needed to keep the unit usable (PostgreSQL aborts a
                # transaction on a failed statement; SQLite would not).
                if conn.execute(f"{insert} ON CONFLICT DO NOTHING", rows[0]).rowcount != 1:
                    raise AlreadyExists(self.kind, notifications[0].id)
                return
            conn.execute("SAVEPOINT teamcrm_add_notifications")
            try:
                conn.executemany(insert, rows)
            except BaseException:
                conn.execute("ROLLBACK TO teamcrm_add_notifications")
                raise
            finally:
                conn.execute("RELEASE teamcrm_add_notifications")
        except self._dialect.errors as exc:
            key = notifications[0].id if len(notifications) == 1 else "one of the batch"
            raise self._dialect.translate(exc, kind=self.kind, key=key) from exc

    @translated
    def for_member(
        self,
        team_id: TeamId,
        member_id: MemberId,
        *,
        unread_only: bool = False,
        limit: int = 100,
        before: tuple[datetime, str] | None = None,
    ) -> list[Notification]:
        """Return a member's notifications, newest ``created_at`` first (ties: id)."""
        where = " AND read_at IS NULL" if unread_only else ""
        params: list[Any] = [team_id, member_id]
        if before is not None:
            where += " AND (created_at < ? OR (created_at = ? AND id < ?))"
            at = to_micros(before[0])
            params += [at, at, before[1]]
        rows = self._conn.execute(
            f"{_SELECT} WHERE team_id = ? AND member_id = ?{where}"
            " ORDER BY created_at DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return [_notification(r) for r in rows]

    @translated
    def mark_read(
        self, team_id: TeamId, member_id: MemberId, ids: Iterable[str] | None, at: datetime
    ) -> int:
        """Mark the member's unread notifications (all when *ids* is None) read at *at*."""
        sql = (
            "UPDATE notifications SET read_at = ? WHERE team_id = ? AND member_id = ?"
            " AND read_at IS NULL"
        )
        params: list[Any] = [to_micros(at), team_id, member_id]
        if ids is not None:
            sql += f" AND {self._dialect.ids_in('id')}"
            params.append(dumps(list(ids)))
        return self._conn.execute(sql, params).rowcount


# ------------------------------------------------------- the email digest queue
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
