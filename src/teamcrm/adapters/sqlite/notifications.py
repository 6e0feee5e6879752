"""SQLite table and repository for notifications (in-app feed, email digest queue)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from teamcrm.adapters.sql.codec import dumps, from_micros, loads, optional_micros, to_micros
from teamcrm.adapters.sqlite.migrations import register_migration
from teamcrm.adapters.sqlite.repositories import SQLiteRepository, translated
from teamcrm.errors import AlreadyExists
from teamcrm.ids import MemberId, TeamId
from teamcrm.notification import Notification, NotificationKind

__all__ = ["SQLiteNotifications"]

register_migration(
    "0007_notifications",
    """CREATE TABLE notifications (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        member_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        message TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        read_at INTEGER,
        emailed_at INTEGER,
        data TEXT NOT NULL DEFAULT '{}'
    )""",
    """CREATE INDEX notifications_by_member
        ON notifications (team_id, member_id, created_at DESC, id DESC)""",
)

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


class SQLiteNotifications(SQLiteRepository):
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


# Not registered here: ``uow.notifications`` is the subclass with the digest
# methods, registered once in ``digests.py`` (a name is registered once).
