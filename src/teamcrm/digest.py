"""Email digests: a member's unsent notifications gathered into one message.

Pure values and functions, no I/O.  :func:`build_digest` checks and orders a
member's notifications into a :class:`Digest`; the digest renders its subject
line, a plain-text body and an HTML body (every piece of data HTML-escaped),
and :meth:`Digest.to_email` turns it into the :class:`OutgoingEmail` handed to
a :class:`~teamcrm.sender.Sender`.

>>> digest = build_digest(member, notifications, team_name="Acme Realty")  # doctest: +SKIP
>>> digest.subject                                                         # doctest: +SKIP
'[Acme Realty] 3 new notifications: 2 leads assigned, 1 offer expired'
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import attrs

from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, MemberId, TeamId
from teamcrm.notification import Notification, NotificationKind
from teamcrm.team import Member
from teamcrm.validation import MAX_NAME, Checker, check_email, check_text

__all__ = [
    "MAX_DIGEST_ITEMS",
    "Digest",
    "OutgoingEmail",
    "build_digest",
    "kind_label",
]

#: Most notifications one digest carries; the rest wait for the next digest.
MAX_DIGEST_ITEMS = 500
#: Longest subject line (characters); RFC 5322 allows 998 per header line.
MAX_SUBJECT = 250
#: Longest message body (characters).
MAX_EMAIL_BODY = 5_000_000

# (singular, plural) label of each kind, as counted in the subject line.
_LABELS: dict[NotificationKind, tuple[str, str]] = {
    NotificationKind.LEAD_ASSIGNED: ("lead assigned", "leads assigned"),
    NotificationKind.LEAD_OFFERED: ("lead offered", "leads offered"),
    NotificationKind.LEAD_REASSIGNED_TO_YOU: ("lead reassigned to you", "leads reassigned to you"),
    NotificationKind.LEAD_REASSIGNED_AWAY: ("lead reassigned away", "leads reassigned away"),
    NotificationKind.LEAD_REVOKED: ("lead revoked", "leads revoked"),
    NotificationKind.LEAD_REMOVED: ("lead removed", "leads removed"),
    NotificationKind.LEAD_REJECTED: ("lead rejected", "leads rejected"),
    NotificationKind.LEAD_UNASSIGNED: ("lead unassigned", "leads unassigned"),
    NotificationKind.OFFER_ACCEPTED: ("offer accepted", "offers accepted"),
    NotificationKind.OFFER_WITHDRAWN: ("offer withdrawn", "offers withdrawn"),
    NotificationKind.OFFER_EXPIRED: ("offer expired", "offers expired"),
    NotificationKind.OFFER_DECLINED: ("offer declined", "offers declined"),
    NotificationKind.UPDATE_REQUESTED: ("update requested", "updates requested"),
    NotificationKind.RESPONSE_WINDOW_MISSED: (
        "response window missed",
        "response windows missed",
    ),
    NotificationKind.NO_ELIGIBLE_MEMBER: (
        "lead with no eligible member",
        "leads with no eligible member",
    ),
    NotificationKind.PROGRAM_STEP: ("program message", "program messages"),
}


def kind_label(kind: NotificationKind, count: int | None = None) -> str:
    """Return how a notification of *kind* is named (``"lead assigned"``).

    With a *count*, the count and the right plural: ``"2 leads assigned"``.
    Kinds added later without a label are named after their value.
    """
    singular, plural = _LABELS.get(kind, (kind.value.replace("_", " "),) * 2)
    if count is None:
        return singular
    return f"{count} {singular if count == 1 else plural}"


def _one_line(text: str) -> str:
    """Collapse white space (and any line break) so *text* is safe in a header."""
    return " ".join(text.split())


@attrs.frozen(kw_only=True)
class OutgoingEmail:
    """One email message, ready for a :class:`~teamcrm.sender.Sender`.

    :ivar to: the recipient address.
    :ivar subject: one line.
    :ivar text: the plain-text body.
    :ivar html: the HTML body, or ``None`` for a text-only message.
    :ivar key: a stable identity of the content (the same digest gets the same
        key), usable as an idempotency key or ``Message-ID`` by the sender.
    :ivar notification_ids: the notifications this message reports (for logs
        and audits; not sent as a header).
    :ivar created_at: when the message was composed, or ``None``.
    :ivar reply_to: where replies go (a member's address for an email a
        program sends on their behalf); it takes precedence over a sender's
        own ``reply_to`` setting.
    :ivar from_name: the display name shown with the sender's ``From``
        address (``"Ana Lopez" <crm@acme.example>``), or ``None``.
    """

    to: str
    subject: str
    text: str
    html: str | None = None
    key: str | None = None
    notification_ids: tuple[str, ...] = ()
    created_at: datetime | None = None
    reply_to: str | None = None
    from_name: str | None = None

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        object.__setattr__(self, "to", check_email(c.name("to"), self.to))
        if self.reply_to is not None:
            object.__setattr__(self, "reply_to", check_email(c.name("reply_to"), self.reply_to))
        c.optional_text("from_name", max_len=MAX_NAME)
        c.text("subject", max_len=MAX_SUBJECT)
        c.text("text", max_len=MAX_EMAIL_BODY, multiline=True)
        if self.html is not None:
            c.text("html", max_len=MAX_EMAIL_BODY, multiline=True)
        if self.key is not None:
            c.text("key", max_len=MAX_NAME)
        c.ids("notification_ids", PREFIXES["notification"], max_len=MAX_DIGEST_ITEMS)
        c.optional_utc("created_at")


@attrs.frozen(kw_only=True)
class Digest:
    """A member's unsent notifications, oldest first, to be sent as one email.

    Build it with :func:`build_digest`.

    :ivar to: the member's email address.
    :ivar member_name: how the member is greeted.
    :ivar team_name: the team's name for the subject line, or ``None``.
    :ivar time_zone: the member's IANA zone; times are shown in it.
    :ivar created_at: when the digest was composed.
    :ivar notifications: 1 to :data:`MAX_DIGEST_ITEMS` notifications of the
        member, ordered by (``created_at``, id), without duplicates.
    """

    team_id: TeamId
    member_id: MemberId
    to: str
    member_name: str
    time_zone: str
    created_at: datetime
    notifications: tuple[Notification, ...]
    team_name: str | None = None

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("team_id", PREFIXES["team"])
        c.ident("member_id", PREFIXES["member"])
        object.__setattr__(self, "to", check_email(c.name("to"), self.to))
        c.text("member_name", max_len=MAX_NAME)
        c.zone("time_zone")
        c.utc("created_at")
        c.optional_text("team_name", max_len=MAX_NAME)
        field = c.name("notifications")
        items = c.sequence("notifications", self.notifications)
        for n in items:
            if not isinstance(n, Notification):
                raise ValidationError(field, n, "must hold Notification values")
        items = tuple(sorted(items, key=lambda n: (n.created_at, n.id)))
        object.__setattr__(self, "notifications", items)
        if not 1 <= len(self.notifications) <= MAX_DIGEST_ITEMS:
            raise ValidationError(
                field, len(self.notifications), f"must hold 1 to {MAX_DIGEST_ITEMS} notifications"
            )
        seen: set[str] = set()
        for n in self.notifications:
            if n.team_id != self.team_id or n.member_id != self.member_id:
                raise ValidationError(field, n.id, "belongs to another member or team")
            if n.id in seen:
                raise ValidationError(field, n.id, "appears twice")
            seen.add(n.id)

    # ------------------------------------------------------------ facts
    @property
    def notification_ids(self) -> tuple[str, ...]:
        """The ids of the notifications, in digest order."""
        return tuple(n.id for n in self.notifications)

    @property
    def key(self) -> str:
        """A stable identity of the digest: the same notifications give the same key."""
        h = hashlib.sha256("\n".join(sorted(self.notification_ids)).encode()).hexdigest()
        return PREFIXES["digest"] + h[:26]

    def counts(self) -> dict[NotificationKind, int]:
        """How many notifications of each kind, most frequent first (ties: kind order)."""
        counts: dict[NotificationKind, int] = {}
        for n in self.notifications:
            counts[n.kind] = counts.get(n.kind, 0) + 1
        order = {kind: i for i, kind in enumerate(NotificationKind)}
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], order.get(kv[0], 0))))

    def local_time(self, at: datetime) -> str:
        """Return *at* as the member reads it: ``"2026-01-05 10:00 CET"``."""
        return at.astimezone(ZoneInfo(self.time_zone)).strftime("%Y-%m-%d %H:%M %Z")

    # ------------------------------------------------------------ rendering
    @property
    def subject(self) -> str:
        """The subject line: team, total and the three most frequent kinds."""
        total = len(self.notifications)
        parts = [kind_label(kind, count) for kind, count in self.counts().items()]
        summary = ", ".join(parts[:3]) + (", ..." if len(parts) > 3 else "")
        noun = "notification" if total == 1 else "notifications"
        subject = f"{total} new {noun}: {summary}"
        if self.team_name:
            subject = f"[{self.team_name}] {subject}"
        subject = _one_line(subject)
        if len(subject) > MAX_SUBJECT:
            subject = subject[: MAX_SUBJECT - 3].rstrip() + "..."
        return subject

    @property
    def text(self) -> str:
        """The plain-text body."""
        total = len(self.notifications)
        noun = "notification" if total == 1 else "notifications"
        where = f" in {self.team_name}" if self.team_name else ""
        lines = [f"Hello {self.member_name},", "", f"You have {total} new {noun}{where}:", ""]
        lines += [f"  {kind_label(kind, count)}" for kind, count in self.counts().items()]
        lines.append("")
        for n in self.notifications:
            when = self.local_time(n.created_at)
            lines.append(f"- {when}  [{kind_label(n.kind)}]  {_one_line(n.message)}")
        lines += [
            "",
            "Open teamcrm to see them; you get at most one of these emails an hour.",
        ]
        return "\n".join(lines) + "\n"

    @property
    def html(self) -> str:
        """The HTML body; every name and message is HTML-escaped."""

        def e(text: str) -> str:
            return html.escape(text, quote=True)

        total = len(self.notifications)
        noun = "notification" if total == 1 else "notifications"
        where = f" in {e(self.team_name)}" if self.team_name else ""
        summary = "".join(
            f"<li>{e(kind_label(kind, count))}</li>" for kind, count in self.counts().items()
        )
        rows = "".join(
            "<tr>"
            f'<td style="padding:4px 12px 4px 0;white-space:nowrap;color:#555">'
            f"{e(self.local_time(n.created_at))}</td>"
            f'<td style="padding:4px 12px 4px 0">{e(kind_label(n.kind))}</td>'
            f'<td style="padding:4px 0">{e(n.message)}</td>'
            "</tr>"
            for n in self.notifications
        )
        return (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            f"<title>{e(self.subject)}</title></head>\n"
            '<body style="font-family:sans-serif">\n'
            f"<p>Hello {e(self.member_name)},</p>\n"
            f"<p>You have {total} new {noun}{where}:</p>\n"
            f"<ul>{summary}</ul>\n"
            f'<table style="border-collapse:collapse">{rows}</table>\n'
            '<p style="color:#777">Open teamcrm to see them; you get at most one of these '
            "emails an hour.</p>\n"
            "</body></html>\n"
        )

    def to_email(self) -> OutgoingEmail:
        """Return the digest as an :class:`OutgoingEmail` (text and HTML parts)."""
        return OutgoingEmail(
            to=self.to,
            subject=self.subject,
            text=self.text,
            html=self.html,
            key=self.key,
            notification_ids=self.notification_ids,
            created_at=self.created_at,
        )


def build_digest(
    member: Member,
    notifications: Sequence[Notification],
    *,
    now: datetime,
    team_name: str | None = None,
) -> Digest:
    """Gather *member*'s *notifications* into one :class:`Digest` composed at *now*.

    Raises ``ValidationError`` when the member has no email address, when a
    notification is not the member's, or when there are none (or too many).
    """
    if not isinstance(member, Member):
        raise ValidationError("member", member, "must be a Member")
    if member.email is None:
        raise ValidationError("Member.email", None, "the member has no email address")
    if isinstance(notifications, str | bytes) or not isinstance(notifications, Sequence):
        raise ValidationError("notifications", notifications, "must be a list of notifications")
    name = check_text("Member.name", member.name)
    return Digest(
        team_id=member.team_id,
        member_id=member.id,
        to=member.email,
        member_name=name,
        time_zone=member.time_zone,
        created_at=now,
        notifications=tuple(notifications),
        team_name=team_name,
    )
