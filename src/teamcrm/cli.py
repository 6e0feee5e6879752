"""The ``teamcrm`` command line.

Exit status: 0 on success; 2 for a usage error (an unknown command or
option, or an option value of the wrong form, found before anything runs);
1 when the command ran and failed (a missing database, an unknown member, a
refused change, a store that cannot be reached); 141 when the reader of a
pipe went away (``teamcrm search ... | head``), like the shell's own tools.
Listings print a table on a terminal, and ``--format json|jsonl|csv`` for
pipes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NoReturn

import attrs

from teamcrm import __version__
from teamcrm.clock import SettableClock
from teamcrm.errors import (
    ForeignDatabaseError,
    MissingDatabaseError,
    NotFound,
    StoreError,
    TeamCRMError,
    ValidationError,
)
from teamcrm.ids import PREFIXES, MemberId
from teamcrm.importing import ImportFailed, ImportReport
from teamcrm.lead import LeadRow
from teamcrm.opener import open as open_crm
from teamcrm.search import DateRange
from teamcrm.service import CRM, MemberSession
from teamcrm.tabular import FORMATS
from teamcrm.views import View

__all__ = ["main"]

DEFAULT_DEMO_DB = "teamcrm-demo.db"


def _store_url(db: str | None, memory: bool) -> str:
    if memory:
        return "memory://"
    if db and "://" in db:
        return db
    path = Path(db or DEFAULT_DEMO_DB)
    try:
        from teamcrm.opener import open_store

        open_store("sqlite://").close()
    except TeamCRMError:
        return "memory://"  # SQLite adapter not available in this build
    _refuse_foreign_file(path)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _refuse_foreign_file(path: Path) -> None:
    """Refuse to replace *path* unless it is missing, empty or a teamcrm database.

    ``teamcrm demo --db PATH`` recreates its file; it must never delete
    another application's database.
    """
    from teamcrm.adapters.sqlite.connection import SQLiteURL, connect
    from teamcrm.adapters.sqlite.migrations import inspect_database

    if not path.exists():
        return
    if not path.is_file():
        raise ValidationError("--db", str(path), "is not a file")
    if path.stat().st_size == 0:
        return
    try:
        conn = connect(SQLiteURL(url=f"sqlite:///{path}", path=str(path)), create=False)
        try:
            state = inspect_database(conn)
        finally:
            conn.close()
    except StoreError as exc:
        raise ForeignDatabaseError(repr(str(path)), f"it is not a SQLite database: {exc}") from exc
    reason = state.foreign
    if reason is not None:
        raise ForeignDatabaseError(repr(str(path)), reason)


def _demo(args: argparse.Namespace) -> int:
    from teamcrm.demo import DEMO_START, run_demo

    clock = SettableClock(DEMO_START)
    when = None if args.date is None else datetime.combine(args.date, time(12, 0), tzinfo=UTC)
    with open_crm(_store_url(args.db, args.memory), clock=clock) as crm:
        run_demo(crm, clock, follow_up_date=when)
    return 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``teamcrm: error: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"teamcrm: error: {message} (see {self.prog} --help)\n")


def _when(text: str) -> datetime:
    """Parse an ISO date or datetime given on the command line (naive means UTC)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or datetime: {text!r}") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _day(text: str) -> date:
    """Parse an ISO date given on the command line."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date like 2026-02-19: {text!r}") from None


def _field(text: str) -> tuple[str, str]:
    """Parse ``NAME=VALUE`` (a custom field criterion)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"must look like NAME=VALUE: {text!r}")
    return key, value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _open_existing(args: argparse.Namespace) -> CRM:
    """Open the database of ``--db`` (never creating one), with ``--at`` as the clock.

    A path or URL of a missing (or empty) database is refused: only ``demo``
    makes databases.
    """
    db: str = args.db
    if "://" in db:
        url = db
    else:
        if not Path(db).is_file():
            raise ValidationError("--db", db, "no such database file")
        url = f"sqlite:///{db}"
    clock = SettableClock(args.at) if args.at is not None else None
    try:
        return open_crm(url, clock=clock, create=False)
    except MissingDatabaseError as exc:
        raise ValidationError(
            "--db", db, f"no such teamcrm database ({exc.where} {exc.reason}; nothing was created)"
        ) from exc


def _acting(crm: CRM, who: str) -> MemberSession:
    """The session of ``--as``: a member id, email address, or name (unique in the file)."""
    if who.startswith(PREFIXES["member"]):
        return crm.as_member(who)
    by_email = "@" in who
    with crm.store.unit_of_work(write=False) as uow:
        found = uow.views.members_with_email(who) if by_email else uow.views.members_named(who)
    if not found:
        raise NotFound("member", who)
    if len(found) > 1:
        what = "email address" if by_email else "name"
        raise ValidationError("--as", who, f"several members have this {what}; give the member id")
    return crm.as_member(found[0].id)


def _member_ref(session: MemberSession, who: str | None, option: str) -> MemberId | None:
    """A member of the acting member's team by id or name (``None`` stays ``None``)."""
    if who is None:
        return None
    if who.startswith(PREFIXES["member"]):
        return MemberId(who)  # a string from the command line: checked by the call
    matches = [m for m in session.members() if m.name.casefold() == who.casefold()]
    if len(matches) != 1:
        reason = "no member has this name" if not matches else "several members have this name"
        raise ValidationError(option, who, reason)
    return matches[0].id


def _show(view: View[Any], args: argparse.Namespace) -> int:
    """Print *view* in ``--format``.

    ``table``: a rich table on a terminal, plain text otherwise (or with
    ``--plain``); ``json``, ``jsonl``, ``csv``: the rows as data, and the next
    page's cursor (if any) on standard error.
    """
    if args.format == "table":
        view.print(sys.stdout, plain=args.plain or not sys.stdout.isatty())
        return 0
    view.write(sys.stdout, args.format)
    if view.next_cursor is not None:
        print(f"more: --after {view.next_cursor}", file=sys.stderr)
    return 0


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


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", required=True, metavar="PATH", help="the SQLite file (or a store URL) to read"
    )
    parser.add_argument(
        "--as",
        dest="as_member",
        required=True,
        metavar="MEMBER",
        help="act as this member: a member id (mb_...), an email address, or a name",
    )
    parser.add_argument(
        "--at", type=_when, metavar="WHEN", help="take this ISO datetime as now (default: now)"
    )
    parser.add_argument("--plain", action="store_true", help="plain text table, no colours")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (default), or the rows as json, jsonl (one object per line) or csv",
    )


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


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``teamcrm`` command."""
    parser = _Parser(
        prog="teamcrm",
        description="teamcrm: the rules of a team CRM, as a library.",
        epilog="View commands read an existing SQLite file (--db PATH) as one member "
        "(--as MEMBER_ID_OR_NAME); try 'teamcrm demo' to make one.",
    )
    parser.add_argument("--version", action="version", version=f"teamcrm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    demo = sub.add_parser(
        "demo",
        help="build the seed-000 demo team and show what each member sees",
        description="Build the demo team in a fresh SQLite file (or in memory) and print it.",
    )
    demo.add_argument(
        "--db",
        metavar="PATH",
        help=f"SQLite file to (re)create, or a store URL (default: ./{DEFAULT_DEMO_DB})",
    )
    demo.add_argument("--memory", action="store_true", help="use the in-memory store")
    demo.add_argument(
        "--date",
        type=_day,
        metavar="YYYY-MM-DD",
        help="the day to show follow-up lists for (default: 45 days into the story, 2026-02-19)",
    )
    demo.set_defaults(func=_demo)
    _add_view_commands(sub)
    move = sub.add_parser(
        "migrate",
        help="copy a SQLite database into an empty PostgreSQL database",
        description="Copy every table of a SQLite store into an empty PostgreSQL store "
        "(one transaction), then compare the row counts of every table.",
    )
    move.add_argument("--from", dest="source", required=True, metavar="sqlite:///PATH")
    move.add_argument("--to", dest="target", required=True, metavar="postgresql://...")
    move.set_defaults(func=_migrate)
    _add_backup_commands(sub)
    from teamcrm.cli_programs import add_program_commands

    add_program_commands(sub)
    from teamcrm.cli_campaigns import add_campaign_commands

    add_campaign_commands(sub)
    prune = sub.add_parser(
        "prune-events",
        help="delete outbox events older than DAYS that every consumer has read",
        description="Delete outbox events older than --older-than days that every registered "
        "consumer of their team has handled (teams without consumers: by age alone). "
        "An administrator's maintenance command: it opens the store directly.",
    )
    prune.add_argument("--db", required=True, metavar="PATH_OR_URL", help="the database")
    prune.add_argument(
        "--older-than", required=True, type=_days, metavar="DAYS", help="retention in days"
    )
    prune.add_argument("--team", metavar="TEAM_ID", help="only this team (default: every team)")
    prune.set_defaults(func=_prune_events, at=None)
    return parser


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


def _prune_events(args: argparse.Namespace) -> int:
    crm = _open_existing(args)
    try:
        deleted = crm.prune_events(older_than=timedelta(days=args.older_than), team_id=args.team)
    finally:
        crm.close()
    print(f"pruned {deleted} outbox events older than {args.older_than} days")
    return 0


def _add_backup_commands(sub: Any) -> None:
    """``teamcrm export team`` and ``teamcrm import team`` (see :mod:`teamcrm.backup`)."""
    export = sub.add_parser("export", help="write data out of a database")
    what = export.add_subparsers(dest="what", required=True, parser_class=_Parser)
    team = what.add_parser(
        "team",
        help="back up one whole team as JSON Lines (docs/backup.md)",
        description="Write every record, version and event of one team as JSON Lines.",
    )
    team.add_argument("--db", required=True, metavar="PATH_OR_URL", help="the database to read")
    team.add_argument("--team", required=True, metavar="TEAM_ID", help="the team to back up")
    team.add_argument("-o", "--output", metavar="FILE", help="file to write (default: stdout)")
    team.set_defaults(func=_export_team, at=None)
    contacts = what.add_parser(
        "contacts",
        help="write the contacts a member can see as CSV (docs/importing.md)",
        description="Write the contacts the acting member can see (all, or one bucket's)"
        " as CSV in a preset's columns.",
    )
    _member_options(contacts)
    contacts.add_argument("--bucket", metavar="BUCKET_ID", help="only this bucket's contacts")
    contacts.add_argument(
        "--filter", metavar="FILTER_ID", help="only the contacts this saved filter finds"
    )
    contacts.add_argument("-o", "--output", metavar="FILE", help="file to write (default: stdout)")
    contacts.add_argument(
        "--format",
        choices=("csv", "vcard"),
        default=None,
        help="csv or vcard (default: vcard for an -o FILE ending in .vcf, else csv)",
    )
    contacts.set_defaults(func=_export_contacts)
    imp = sub.add_parser("import", help="read data into a database")
    what = imp.add_subparsers(dest="what", required=True, parser_class=_Parser)
    contacts = what.add_parser(
        "contacts",
        help="import contacts from a CSV or vCard (.vcf) file (docs/importing.md)",
        description="Import the contacts of a CSV or vCard (.vcf) file as the acting member:"
        " all or nothing"
        " (default) or skipping bad rows; exit status 1 when an all-or-nothing import"
        " meets a bad row (nothing is written).",
    )
    contacts.add_argument(
        "file", metavar="FILE", help="the CSV file, or a vCard file (name ending in .vcf)"
    )
    _member_options(contacts)
    contacts.add_argument("--bucket", metavar="BUCKET_ID", help="put the contacts in this bucket")
    contacts.add_argument(
        "--on-duplicate",
        choices=("skip", "fill_empty", "overwrite"),
        default="skip",
        help="a row matching a contact by email or phone: skip it (default), fill the"
        " contact's empty fields, or overwrite them",
    )
    contacts.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="import the good rows in batches and list the bad ones (default: all or nothing)",
    )
    contacts.add_argument("--dry-run", action="store_true", help="report only; write nothing")
    contacts.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=TARGET",
        help="map a column (its name, or its position from 0) to a target such as name,"
        " email, phone, custom:NAME or ignore; repeatable",
    )
    contacts.add_argument(
        "--header",
        choices=("auto", "yes", "no"),
        default="auto",
        help="whether the first row names the columns (default: detect)",
    )
    contacts.add_argument(
        "--format", choices=("table", "json"), default="table", help="the report's form"
    )
    contacts.set_defaults(func=_import_contacts)
    team = what.add_parser(
        "team",
        help="restore a team backup into a database that does not hold the team",
        description="Restore a JSON Lines team backup (all or nothing); a database "
        "that already holds the team is refused.",
    )
    team.add_argument("file", metavar="FILE", help="the backup ('-' for stdin)")
    team.add_argument(
        "--db", required=True, metavar="PATH_OR_URL", help="the database to restore into"
    )
    team.set_defaults(func=_import_team)


def _member_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True, metavar="PATH_OR_URL", help="the database")
    parser.add_argument(
        "--as",
        dest="as_member",
        required=True,
        metavar="MEMBER",
        help="act as this member: a member id (mb_...), an email address, or a name",
    )
    parser.add_argument(
        "--preset",
        choices=("generic", "google", "outlook"),
        default="generic",
        help="the columns: generic (default), Google Contacts or Outlook",
    )
    parser.set_defaults(at=None)


def _import_contacts(args: argparse.Namespace) -> int:
    if not Path(args.file).is_file():
        raise ValidationError("FILE", args.file, "no such file (nothing was imported)")
    with _open_existing(args) as crm:
        me = _acting(crm, args.as_member)
        progress = Progress("importing", sys.stderr)
        failed = False
        try:
            report = me.import_contacts(
                args.file,
                mapping=_mapping(args.map) or None,
                header={"auto": None, "yes": True, "no": False}[args.header],
                preset=args.preset,
                bucket_id=args.bucket,
                on_duplicate=args.on_duplicate,
                mode="skip_bad_rows" if args.skip_bad_rows else "all_or_nothing",
                dry_run=args.dry_run,
                progress=lambda rows: progress.step(f"{rows} rows"),
            )
        except ImportFailed as exc:
            report, failed = exc.report, True
        progress.done()
    _print_report(report, args.format)
    return FAILED if failed else 0


def _mapping(pairs: list[str]) -> dict[str | int, str | None]:
    """``--map COLUMN=TARGET`` options as an import mapping (digits: a position)."""
    out: dict[str | int, str | None] = {}
    for pair in pairs:
        column, sep, target = pair.partition("=")
        if not sep or not column.strip():
            raise ValidationError("--map", pair, "must be COLUMN=TARGET")
        key: str | int = int(column) if column.strip().isdigit() else column.strip()
        out[key] = target.strip()
    return out


def _print_report(report: ImportReport, form: str) -> None:
    if form == "json":
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    for err in report.errors:
        print(f"row {err.row}\t{err.column or '-'}\t{err.value}\t{err.reason}")
    for skip in report.skipped:
        print(f"row {skip.row}\tskipped\t{skip.contact_id or '-'}\t{skip.reason}")
    print(report.summary())


def _export_contacts(args: argparse.Namespace) -> int:
    with _open_existing(args) as crm:
        me = _acting(crm, args.as_member)
        target = sys.stdout if args.output is None else args.output
        count = me.export_contacts(
            target,
            bucket_id=args.bucket,
            filter_id=args.filter,
            preset=args.preset,
            format=args.format,
        )
    print(f"exported {count} contacts", file=sys.stderr)
    return 0


def _export_team(args: argparse.Namespace) -> int:
    from teamcrm.backup import export_team

    crm = _open_existing(args)
    try:
        if args.output is None:
            summary = export_team(crm, args.team, sys.stdout)
        else:
            target = Path(args.output)
            partial = target.with_name(target.name + ".partial")
            with partial.open("w", encoding="utf-8", newline="\n") as out:
                summary = export_team(crm, args.team, out)
            partial.replace(target)  # never a half-written backup under the real name
    finally:
        crm.close()
    print(f"exported team {summary.team_id}: {summary.records} records", file=sys.stderr)
    return 0


def _import_team(args: argparse.Namespace) -> int:
    from teamcrm.backup import import_team

    path = Path(args.file)
    if args.file != "-" and not path.is_file():
        raise ValidationError("FILE", args.file, "no such file (nothing was created)")
    url = args.db if "://" in args.db else f"sqlite:///{args.db}"
    crm = open_crm(url)  # the target may be new: a restore makes its database
    try:
        if args.file == "-":
            summary = import_team(crm.store, sys.stdin)
        else:
            with path.open(encoding="utf-8") as source:
                summary = import_team(crm.store, source)
    finally:
        crm.close()
    print(f"restored team {summary.team_id}: {summary.records} records")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    try:
        from teamcrm.adapters.postgres.transfer import copy_sqlite_to_postgres
    except ImportError as exc:
        raise StoreError(
            f"migrating to PostgreSQL needs psycopg 3: pip install 'teamcrm[postgres]' ({exc})"
        ) from exc
    progress = Progress("copying", sys.stderr)
    report = copy_sqlite_to_postgres(
        args.source, args.target, progress=lambda t: progress.step(t.table)
    )
    progress.done()
    for t in report.tables:
        print(f"{t.table:<28} {t.source:>10} -> {t.target:>10}")
    print(f"verified: {len(report.tables)} tables, {report.rows} rows, every count equal")
    return 0


class Progress:
    """A one-line progress display on a terminal; silent when *file* is not one.

    Long commands (``migrate``, later imports and program runs) call
    :meth:`step` after each piece of work; a pipe or a log file gets none of
    it, only the command's own output.
    """

    def __init__(self, label: str, file: Any, total: int | None = None) -> None:
        self.label = label
        self.file = file
        self.total = total
        self.count = 0
        self.live = bool(getattr(file, "isatty", lambda: False)())

    def step(self, what: str = "") -> None:
        """Count one piece of work done (and show it on a terminal)."""
        self.count += 1
        if not self.live:
            return
        of = f"/{self.total}" if self.total is not None else ""
        line = f"\r{self.label} {self.count}{of} {what}"
        self.file.write(line[:79].ljust(79))
        self.file.flush()

    def done(self) -> None:
        """End the display (clears the line on a terminal)."""
        if self.live and self.count:
            self.file.write("\r" + " " * 79 + "\r")
            self.file.flush()


#: Exit status when the command ran and failed (2 is argparse's, for usage errors).
FAILED = 1
#: Exit status when the reader of standard output went away (128 + SIGPIPE).
BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (see the module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except TeamCRMError as exc:
        print(f"teamcrm: error: {exc}", file=sys.stderr)
        return FAILED
    except BrokenPipeError:
        # The reader (``| head``) is gone: no traceback, and nothing more to
        # flush into the closed pipe when the interpreter exits.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return BROKEN_PIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
