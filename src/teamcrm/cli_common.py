"""What every ``teamcrm`` command shares: option types, the database, the acting member, output.

The one-line usage errors (``_Parser``), the types of option values, opening
an existing database (``--db``, ``--at``), finding the acting member
(``--as``), printing a view in ``--format``, the progress line of long
commands and the exit statuses.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

from teamcrm.clock import SettableClock
from teamcrm.errors import MissingDatabaseError, NotFound, ValidationError
from teamcrm.ids import PREFIXES, MemberId
from teamcrm.opener import open as open_crm
from teamcrm.service import CRM, MemberSession
from teamcrm.tabular import FORMATS
from teamcrm.views import View


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


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


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
