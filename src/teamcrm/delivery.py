"""Notification channels: where members' notifications are delivered.

teamcrm queues a notification for a member in the same unit of work as the
change that caused it.  :meth:`teamcrm.CRM.deliver_notifications` drains
that queue through a :class:`NotificationChannel`: once per member per
interval, marked delivered only after the channel returns, safe from
several processes at once (the machinery of the email digest).

The email digest is one channel (:class:`EmailDigestChannel`, what
:meth:`teamcrm.CRM.send_digests` uses).  An application adds Slack, SMS or
a webhook by writing a class with the two methods below; nothing in
teamcrm changes::

    class SlackChannel:
        def reaches(self, member):
            return member.active and member.id in slack_ids

        def deliver(self, member, notifications, *, now, team_name):
            post(slack_ids[member.id], "\\n".join(n.message for n in notifications))

    crm.deliver_notifications(SlackChannel())

The queue is one per store: each notification is delivered once, by
whichever channel drains the queue (a channel that fans out to several
services is the way to reach a member in several places).  For reactions
to *events* rather than to member notifications, see
:meth:`teamcrm.CRM.consume`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from teamcrm.digest import build_digest
from teamcrm.errors import ValidationError
from teamcrm.notification import Notification
from teamcrm.sender import Sender
from teamcrm.team import Member

__all__ = ["EmailDigestChannel", "NotificationChannel"]


@runtime_checkable
class NotificationChannel(Protocol):
    """Delivers a member's pending notifications somewhere (the port of a channel)."""

    def reaches(self, member: Member) -> bool:
        """True when the channel can deliver to *member*.

        Notifications of a member it cannot reach are taken off the queue
        (they stay in the app), so a member reached later is not sent an old
        backlog.
        """
        ...

    def deliver(
        self,
        member: Member,
        notifications: Sequence[Notification],
        *,
        now: datetime,
        team_name: str | None,
    ) -> None:
        """Deliver *notifications* (oldest first) to *member*, or raise.

        An exception leaves them queued for the next run (it is reported,
        not raised, by :meth:`teamcrm.CRM.deliver_notifications`).
        """
        ...


class EmailDigestChannel:
    """The email digest as a channel: one email per member through a :class:`~teamcrm.Sender`.

    Reaches active members with an email address.
    """

    def __init__(self, sender: Sender) -> None:
        if not callable(getattr(sender, "send", None)):
            raise ValidationError("sender", sender, "must have a send(message) method")
        self.sender = sender

    def reaches(self, member: Member) -> bool:
        """Active members with an email address."""
        return member.active and member.email is not None

    def deliver(
        self,
        member: Member,
        notifications: Sequence[Notification],
        *,
        now: datetime,
        team_name: str | None,
    ) -> None:
        """Compose the digest email and hand it to the sender."""
        self.sender.send(
            build_digest(member, notifications, now=now, team_name=team_name).to_email()
        )

    def __repr__(self) -> str:
        return f"EmailDigestChannel({self.sender!r})"
