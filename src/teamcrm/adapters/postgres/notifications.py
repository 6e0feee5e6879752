"""PostgreSQL notifications: one notification can travel with the unit's next round trip."""

from __future__ import annotations

from collections.abc import Sequence

from teamcrm.adapters.postgres.repositories import pg
from teamcrm.adapters.sql.base import translated
from teamcrm.adapters.sql.codec import dumps, optional_micros, to_micros
from teamcrm.adapters.sql.notifications import SQLiteDigestNotifications
from teamcrm.notification import Notification

__all__ = ["PGNotifications"]

_INSERT = (
    "INSERT INTO notifications (id, team_id, member_id, kind, subject_id,"
    " message, created_at, read_at, emailed_at, data)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class PGNotifications(SQLiteDigestNotifications):
    """Notifications; inside the unit's ``send_later()`` block one is sent later."""

    @translated
    def add_many(self, notifications: Sequence[Notification]) -> None:
        """Insert new notifications (all or none).

        Inside the unit's ``send_later()`` block a single notification is a
        plain ``INSERT`` sent with the unit's next round trip (a taken id then
        fails it with ``AlreadyExists`` naming the notification, and the unit
        can only roll back); otherwise as the shared repository does.
        """
        conn = pg(self)
        if len(notifications) != 1 or not conn.sending_later:
            super().add_many(notifications)
            return
        n = notifications[0]
        conn.later(
            _INSERT,
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
            ),
            kind=self.kind,
            key=n.id,
        )
