"""``teamcrm campaigns list|show|preview``: campaigns from the command line.

* ``list`` - the campaigns the acting member may see, with their counts;
* ``show CAMPAIGN_ID`` - one campaign's settings, then its report;
* ``preview CAMPAIGN_ID`` - a dry run: the first ``--limit`` messages
  rendered, and the contacts that would be skipped (writes nothing).

Campaigns are sent by the application's worker,
``crm.run_campaigns(sender=...)`` (the command line has no sender).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import attrs

from teamcrm.campaign import Campaign, CampaignId
from teamcrm.service import MemberSession

__all__ = ["CampaignRow", "PreviewRow", "add_campaign_commands"]


@attrs.frozen(kw_only=True)
class CampaignRow:
    """One campaign in ``teamcrm campaigns list``."""

    campaign_id: str
    name: str
    state: str
    sender_id: str
    audience: str
    per_minute: int
    recipients: int
    pending: int
    sent: int
    skipped: int
    failed: int


@attrs.frozen(kw_only=True)
class PreviewRow:
    """One message (or skipped contact) in ``teamcrm campaigns preview``."""

    contact_id: str
    to: str
    subject: str
    skipped: str


def _audience(c: Campaign) -> str:
    parts = [f"bucket {b}" for b in c.bucket_ids]
    if c.filter_id is not None:
        parts.append(f"filter {c.filter_id}")
    return ", ".join(parts)


def _row(me: MemberSession, c: Campaign) -> CampaignRow:
    r = me.campaign_report(c.id)
    return CampaignRow(
        campaign_id=c.id,
        name=c.name,
        state=c.state.value,
        sender_id=c.sender_id,
        audience=_audience(c),
        per_minute=c.per_minute,
        recipients=r.recipients,
        pending=r.pending,
        sent=r.sent,
        skipped=sum(r.skipped.values()),
        failed=r.failed,
    )


def _list(args: argparse.Namespace) -> int:
    from teamcrm.cli_common import _acting, _open_existing, _show
    from teamcrm.views import View

    with _open_existing(args) as crm:
        me = _acting(crm, args.as_member)
        rows = [_row(me, c) for c in me.campaigns()]
        return _show(View.of("Campaigns", CampaignRow, rows), args)


def _show_campaign(args: argparse.Namespace) -> int:
    from teamcrm.cli_common import _acting, _open_existing, _show
    from teamcrm.views import View

    with _open_existing(args) as crm:
        me = _acting(crm, args.as_member)
        campaign = me.campaign(CampaignId(args.campaign_id))
        report = me.campaign_report(campaign.id)
        status = _show(View.of(campaign.name, CampaignRow, [_row(me, campaign)]), args)
        skipped = ", ".join(f"{k} {v}" for k, v in report.skipped.items()) or "none"
        print(
            f"subject: {campaign.subject}; exclude contacted within {campaign.exclude_days} days;"
            f" skipped: {skipped}",
            file=sys.stderr if args.format != "table" else sys.stdout,
        )
        return status


def _preview(args: argparse.Namespace) -> int:
    from teamcrm.cli_common import _acting, _open_existing, _show
    from teamcrm.views import View

    with _open_existing(args) as crm:
        me = _acting(crm, args.as_member)
        preview = me.preview_campaign(CampaignId(args.campaign_id), limit=args.limit)
        rows = [
            PreviewRow(contact_id=m.contact_id, to=m.to, subject=m.subject, skipped="")
            for m in preview.messages
        ]
        rows += [
            PreviewRow(contact_id=cid, to="", subject="", skipped=reason)
            for cid, reason in preview.skipped
        ]
        title = f"Preview ({preview.recipients} recipients)"
        return _show(View.of(title, PreviewRow, rows), args)


def add_campaign_commands(sub: Any) -> None:
    """Add ``teamcrm campaigns list|show|preview`` to the command's subparsers *sub*."""
    from teamcrm.cli_common import _common, _Parser, _positive

    campaigns = sub.add_parser("campaigns", help="campaigns: list, show, preview")
    what = campaigns.add_subparsers(dest="what", required=True, parser_class=_Parser)
    listing = what.add_parser("list", help="the campaigns the member may see, with counts")
    _common(listing)
    listing.set_defaults(func=_list)
    show = what.add_parser("show", help="one campaign and its report")
    _common(show)
    show.add_argument("campaign_id", metavar="CAMPAIGN_ID")
    show.set_defaults(func=_show_campaign)
    preview = what.add_parser("preview", help="render the first messages (writes nothing)")
    _common(preview)
    preview.add_argument("campaign_id", metavar="CAMPAIGN_ID")
    preview.add_argument("--limit", type=_positive, default=5, help="messages to render (5)")
    preview.set_defaults(func=_preview)
