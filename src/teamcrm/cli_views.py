"""``teamcrm due|dashboard|grid|insights|search|phones``: the view commands.

Each reads an existing database as one member and prints a view (a table on
a terminal, ``--format json|jsonl|csv`` for pipes).
"""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from typing import Any

import attrs

from teamcrm.cli_common import (
    _acting,
    _common,
    _field,
    _member_ref,
    _open_existing,
    _positive,
    _show,
    _when,
)
from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES
from teamcrm.lead import LeadRow
from teamcrm.search import DateRange
from teamcrm.views import View


def _due(args: argparse.Namespace) -> int:
    with _open_existing(args) as crm:
        me = _acting(crm, args.as_member)
        member = _member_ref(me, args.member, "--member")
        return _show(me.due(member, limit=args.limit), args)


def _dashboard(args: argparse.Namespace) -> int:
    with _open_existing(args) as crm:
        me = _acting(crm, args.as_member)
        assignee = args.assignee
        if assignee is not None and assignee != "unassigned":
            assignee = _member_ref(me, assignee, "--assignee")
        rows = me.routing_dashboard(pool_id=args.pool, assignee=assignee)
        return _show(View.of("Routing dashboard", LeadRow, rows), args)


def _grid(args: argparse.Namespace) -> int:
    with _open_existing(args) as crm:
        me = _acting(crm, args.as_member)
        view = me.agent_grid(
            status=args.status,
            assignee=_member_ref(me, args.assignee, "--assignee"),
            pool_id=args.pool,
            response_window=timedelta(minutes=args.window),
            limit=args.limit,
        )
        return _show(view, args)


def _insights(args: argparse.Namespace) -> int:
    with _open_existing(args) as crm:
        me = _acting(crm, args.as_member)
        end = args.end if args.end is not None else crm.now()
        start = args.start if args.start is not None else end - timedelta(days=30)
        view = me.insights(_member_ref(me, args.member, "--member"), start=start, end=end)
        return _show(view, args)


def _search(args: argparse.Namespace) -> int:
    with _open_existing(args) as crm:
        me = _acting(crm, args.as_member)
        if args.filter is not None:
            saved = args.filter
            if not saved.startswith(PREFIXES["saved_filter"]):
                named = [f for f in me.saved_filters() if f.name.casefold() == saved.casefold()]
                if len(named) != 1:
                    raise ValidationError("--filter", saved, "no saved filter has this name")
                saved = named[0].id
            return _show(me.run_filter(saved, limit=args.limit, after=args.after), args)
        criteria: dict[str, Any] = {}
        for key in ("name", "email", "phone", "company_id", "status", "bucket_id", "source"):
            if getattr(args, key) is not None:
                criteria[key] = getattr(args, key)
        if args.assignee == "unassigned":
            criteria["unassigned"] = True
        elif args.assignee is not None:
            criteria["assignee_id"] = _member_ref(me, args.assignee, "--assignee")
        if args.field is not None:
            key, value = args.field
            criteria["custom_field"] = key
            criteria["custom_value"] = value
        if args.contacted_from is not None or args.contacted_to is not None:
            criteria["last_contacted"] = DateRange(start=args.contacted_from, end=args.contacted_to)
        if args.created_from is not None or args.created_to is not None:
            criteria["created"] = DateRange(start=args.created_from, end=args.created_to)
        return _show(me.search(limit=args.limit, after=args.after, **criteria), args)


def _phones(args: argparse.Namespace) -> int:
    with _open_existing(args) as crm:
        me = _acting(crm, args.as_member)
        rows = me.unparsed_phones()
        if args.format == "json":
            print(json.dumps([attrs.asdict(r) for r in rows], indent=2, ensure_ascii=False))
        else:
            for r in rows:
                print(f"{r.contact_id}\t{r.number}\t{r.reason}")
            print(f"{len(rows)} phone number(s) could not be parsed (kept as typed)")
        return 0


def _add_view_commands(sub: Any) -> None:
    due = sub.add_parser(
        "due",
        help="a member's follow-up list, most overdue first",
        description="Print the follow-ups due for the acting member (or --member).",
    )
    _common(due)
    due.add_argument("--member", metavar="MEMBER", help="whose list (managers and admins)")
    due.add_argument("--limit", type=_positive, default=100, help="most rows (default 100)")
    due.set_defaults(func=_due)

    dash = sub.add_parser(
        "dashboard",
        help="the routing dashboard: every routed lead, its pool and assignee",
        description="Print the routing dashboard (admins and managers).",
    )
    _common(dash)
    dash.add_argument("--pool", metavar="POOL_ID", help="only this pool's leads")
    dash.add_argument(
        "--assignee", metavar="MEMBER", help="only this member's leads, or 'unassigned'"
    )
    dash.set_defaults(func=_dashboard)

    grid = sub.add_parser(
        "grid",
        help="the agent grid: red/neutral/green signals per lead, worst first",
        description="Print the agent grid (admins and managers).",
    )
    _common(grid)
    grid.add_argument("--status", help="only contacts in this status")
    grid.add_argument("--assignee", metavar="MEMBER", help="only this member's leads")
    grid.add_argument("--pool", metavar="POOL_ID", help="only this pool's leads")
    grid.add_argument(
        "--window",
        type=_positive,
        default=60,
        metavar="MINUTES",
        help="the response window in minutes (default 60)",
    )
    grid.add_argument("--limit", type=_positive, default=100, help="most rows (default 100)")
    grid.set_defaults(func=_grid)

    insights = sub.add_parser(
        "insights",
        help="per member: leads, time to first touch, overdue follow-ups, interactions",
        description="Print insights over [--start, --end) (default: the last 30 days).",
    )
    _common(insights)
    insights.add_argument("--member", metavar="MEMBER", help="one member (default: everyone)")
    insights.add_argument("--start", type=_when, metavar="WHEN", help="range start (ISO)")
    insights.add_argument("--end", type=_when, metavar="WHEN", help="range end (ISO, excluded)")
    insights.set_defaults(func=_insights)

    search = sub.add_parser(
        "search",
        help="search contacts (criteria combine with AND) or run a saved filter",
        description="Search the contacts the acting member may see, oldest first, one page.",
    )
    _common(search)
    search.add_argument("--name", help="start of a name, word by word (accents ignored)")
    search.add_argument("--email", help="an email address")
    search.add_argument("--phone", help="a phone number, in any spelling")
    search.add_argument("--company", dest="company_id", metavar="COMPANY_ID")
    search.add_argument("--status")
    search.add_argument("--bucket", dest="bucket_id", metavar="BUCKET_ID")
    search.add_argument(
        "--assignee", metavar="MEMBER", help="owner of an open lead, or 'unassigned' (nobody)"
    )
    search.add_argument("--source")
    search.add_argument(
        "--field", type=_field, metavar="NAME=VALUE", help="a custom field's text value"
    )
    search.add_argument("--contacted-from", type=_when, metavar="WHEN")
    search.add_argument("--contacted-to", type=_when, metavar="WHEN")
    search.add_argument("--created-from", type=_when, metavar="WHEN")
    search.add_argument("--created-to", type=_when, metavar="WHEN")
    search.add_argument("--filter", metavar="SAVED", help="run this saved filter (id or name)")
    search.add_argument("--limit", type=_positive, default=50, help="page size (default 50)")
    search.add_argument("--after", metavar="CURSOR", help="the cursor printed under a page")
    search.set_defaults(func=_search)

    phones = sub.add_parser(
        "phones",
        help="list stored phone numbers that could not be parsed (kept as typed)",
        description="List the team's stored phone numbers that are not stored under their"
        " E.164 key (migration 0300_phone_keys kept them as typed), with the reason"
        " (managers and admins).",
    )
    _common(phones)
    phones.set_defaults(func=_phones)
