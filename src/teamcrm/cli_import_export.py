"""``teamcrm export team|contacts`` and ``teamcrm import team|contacts``: data in and out.

A team's JSON Lines backup and its restore (:mod:`teamcrm.backup`), and the
contacts a member can see as CSV or vCard, written out or read in with a
report of every bad row (:mod:`teamcrm.importing`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from teamcrm.cli_common import FAILED, Progress, _acting, _open_existing, _Parser
from teamcrm.errors import ValidationError
from teamcrm.importing import ImportFailed, ImportReport
from teamcrm.opener import open as open_crm


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
