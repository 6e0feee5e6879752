"""The ``teamcrm`` command line.

Exit status: 0 on success; 2 for a usage error (an unknown command or
option, or an option value of the wrong form, found before anything runs);
1 when the command ran and failed (a missing database, an unknown member, a
refused change, a store that cannot be reached); 141 when the reader of a
pipe went away (``teamcrm search ... | head``), like the shell's own tools.
Listings print a table on a terminal, and ``--format json|jsonl|csv`` for
pipes.

This module builds the parser and runs it (with ``demo``, ``migrate`` and
``prune-events``); the command groups live in their rooms:
:mod:`teamcrm.cli_views` (the view commands), :mod:`teamcrm.cli_import_export`
(``export`` and ``import``), :mod:`teamcrm.cli_programs`,
:mod:`teamcrm.cli_campaigns`, and what they share in :mod:`teamcrm.cli_common`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from teamcrm import __version__
from teamcrm.cli_common import BROKEN_PIPE as BROKEN_PIPE
from teamcrm.cli_common import FAILED as FAILED
from teamcrm.cli_common import Progress as Progress
from teamcrm.cli_common import _day, _days, _open_existing, _Parser
from teamcrm.cli_import_export import _add_backup_commands
from teamcrm.cli_views import _add_view_commands
from teamcrm.clock import SettableClock
from teamcrm.errors import ForeignDatabaseError, StoreError, TeamCRMError, ValidationError
from teamcrm.opener import open as open_crm

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


def _prune_events(args: argparse.Namespace) -> int:
    crm = _open_existing(args)
    try:
        deleted = crm.prune_events(older_than=timedelta(days=args.older_than), team_id=args.team)
    finally:
        crm.close()
    print(f"pruned {deleted} outbox events older than {args.older_than} days")
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
