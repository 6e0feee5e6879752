"""The ``teamcrm`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from teamcrm.clock import SettableClock
from teamcrm.errors import TeamCRMError
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
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _demo(args: argparse.Namespace) -> int:
    from teamcrm.demo import DEMO_START, run_demo

    clock = SettableClock(DEMO_START)
    with open_crm(_store_url(args.db, args.memory), clock=clock) as crm:
        run_demo(crm, clock)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``teamcrm`` command."""
    parser = argparse.ArgumentParser(
        prog="teamcrm", description="teamcrm: the rules of a team CRM, as a library."
    )
    sub = parser.add_subparsers(dest="command", required=True)
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
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except TeamCRMError as exc:
        print(f"teamcrm: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
