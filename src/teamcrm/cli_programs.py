"""``teamcrm programs list|show|run``: programs from the command line.

* ``list`` - the programs the acting member may see, with their runs;
* ``show PROGRAM_ID`` - one program's steps, then its runs by state;
* ``run`` - the worker: runs due steps (``crm.run_programs``) batch after
  batch, printing one progress line per batch; ``--once`` stops when nothing
  is due, otherwise it waits ``--interval`` seconds and looks again (stop it
  with Ctrl-C).  Safe to start in several processes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from typing import Any

import attrs

from teamcrm.errors import ValidationError
from teamcrm.program import Program, ProgramId, Step
from teamcrm.sender import Sender, SMTPSender, load_sender
from teamcrm.service import MemberSession

__all__ = ["ProgramRow", "StepRow", "add_program_commands"]


@attrs.frozen(kw_only=True)
class ProgramRow:
    """One program in ``teamcrm programs list``."""

    program_id: str
    name: str
    scope: str
    state: str
    trigger: str
    steps: int
    enrolled: int
    active: int
    completed: int
    stopped: int
    failed: int


@attrs.frozen(kw_only=True)
class StepRow:
    """One step in ``teamcrm programs show``."""

    step: int
    kind: str
    detail: str


def _trigger_text(program: Program) -> str:
    t = program.trigger
    detail = t.bucket_id or t.pool_id or t.status or (f"{t.days} days" if t.days else "")
    return f"{t.kind.value} {detail}".strip()


def _step_detail(step: Step) -> str:
    parts = [
        f"{name}={value}"
        for name in ("bucket_id", "to_bucket_id", "status", "member_id")
        if (value := getattr(step, name)) is not None
    ]
    if step.days:
        parts.append(f"days={step.days}")
    if step.text:
        parts.append(repr(step.text))
    parts += [f"{c.kind.value}" for c in step.conditions]
    return " ".join(parts)


def _rows(me: MemberSession) -> list[ProgramRow]:
    rows = []
    for p in me.programs():
        r = me.program_report(p.id)
        rows.append(
            ProgramRow(
                program_id=p.id,
                name=p.name,
                scope=p.scope.value,
                state=p.state.value,
                trigger=_trigger_text(p),
                steps=len(p.steps),
                enrolled=r.enrolled,
                active=r.active,
                completed=r.completed,
                stopped=sum(r.stopped.values()),
                failed=r.failed,
            )
        )
    return rows


def _list(args: argparse.Namespace) -> int:
    from teamcrm.cli_common import _acting, _open_existing, _show
    from teamcrm.views import View

    with _open_existing(args) as crm:
        me = _acting(crm, args.as_member)
        return _show(View.of("Programs", ProgramRow, _rows(me)), args)


def _show_program(args: argparse.Namespace) -> int:
    from teamcrm.cli_common import _acting, _open_existing, _show
    from teamcrm.views import View

    with _open_existing(args) as crm:
        me = _acting(crm, args.as_member)
        program = me.program(ProgramId(args.program_id))
        report = me.program_report(program.id)
        steps = [
            StepRow(step=n + 1, kind=s.kind.value, detail=_step_detail(s))
            for n, s in enumerate(program.steps)
        ]
        title = f"{program.name} ({program.state.value}; trigger: {_trigger_text(program)})"
        status = _show(View.of(title, StepRow, steps), args)
        stopped = ", ".join(f"{k} {v}" for k, v in report.stopped.items()) or "none"
        print(
            f"runs: {report.enrolled} enrolled, {report.active} active, {report.completed}"
            f" completed, {report.failed} failed; stopped: {stopped}",
            file=sys.stderr if args.format != "table" else sys.stdout,
        )
        return status


def _run(args: argparse.Namespace) -> int:
    from teamcrm.cli_common import _open_existing

    sender = _sender(args)
    with _open_existing(args) as crm:
        totals = {"ran": 0, "failed": 0, "sent": 0}
        batch = 0
        lease = timedelta(seconds=args.lease)
        try:
            while True:
                report = crm.run_programs(limit=args.limit, lease=lease, sender=sender)
                # Without a sender, campaign sends are not claimed: they wait for one.
                sends = crm.run_campaigns(limit=args.limit, lease=lease, sender=sender)
                batch += 1
                totals["ran"] += report.ran
                totals["failed"] += report.failed
                totals["sent"] += sends.sent
                if report.claimed or sends.claimed:
                    print(
                        f"batch {batch}: {report.claimed} claimed, {report.ran} ran,"
                        f" {report.completed} completed, {report.stopped} stopped,"
                        f" {report.retried} retried, {report.failed} failed"
                        f" ({totals['ran']} steps so far)"
                        + (
                            f"; campaigns: {sends.claimed} claimed, {sends.sent} sent,"
                            f" {sends.skipped} skipped, {sends.retried} retried,"
                            f" {sends.failed} failed"
                            if sends.claimed
                            else ""
                        ),
                        flush=True,
                    )
                    for failed_id, error in (*report.failures, *sends.failures):
                        print(f"  {failed_id}: {error}", file=sys.stderr, flush=True)
                    continue
                if args.once:
                    break
                time.sleep(args.interval)
        except KeyboardInterrupt:  # pragma: no cover - interactive
            pass
        print(
            f"done: {totals['ran']} steps ran, {totals['failed']} runs failed"
            + (f", {totals['sent']} campaign emails sent" if sender is not None else "")
        )
        return 0


#: The environment variable ``programs run --smtp-host`` reads the SMTP password from
#: (never a command-line option: those show in ``ps`` and shell histories).
SMTP_PASSWORD_VARIABLE = "TEAMCRM_SMTP_PASSWORD"


def _sender(args: argparse.Namespace) -> Sender | None:
    """The sender ``--sender`` names or ``--smtp-*`` describes, or ``None`` for neither."""
    if args.sender is not None and args.smtp_host is not None:
        raise ValidationError("--sender", args.sender, "give --sender or --smtp-host, not both")
    if args.sender is not None:
        return load_sender(args.sender)
    smtp_given = [
        name for name in ("smtp_from", "smtp_port", "smtp_user") if getattr(args, name) is not None
    ] + [name for name in ("smtp_starttls", "smtp_ssl") if getattr(args, name)]
    if args.smtp_host is None:
        if smtp_given:
            option = "--" + smtp_given[0].replace("_", "-")
            raise ValidationError(option, getattr(args, smtp_given[0]), "needs --smtp-host")
        return None
    if args.smtp_from is None:
        raise ValidationError(
            "--smtp-host", args.smtp_host, "needs --smtp-from ADDRESS (the From address)"
        )
    password = os.environ.get(SMTP_PASSWORD_VARIABLE) if args.smtp_user is not None else None
    if args.smtp_user is not None and not password:
        raise ValidationError(
            "--smtp-user", args.smtp_user, f"needs the password in ${SMTP_PASSWORD_VARIABLE}"
        )
    return SMTPSender(
        args.smtp_host,
        args.smtp_port,
        from_addr=args.smtp_from,
        starttls=args.smtp_starttls,
        use_ssl=args.smtp_ssl,
        username=args.smtp_user,
        password=password,
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
    return value


def add_program_commands(sub: Any) -> None:
    """Add ``teamcrm programs list|show|run`` to the command's subparsers *sub*."""
    from teamcrm.cli_common import _common, _Parser, _positive

    programs = sub.add_parser("programs", help="programs: list, show, and the step runner")
    what = programs.add_subparsers(dest="what", required=True, parser_class=_Parser)
    listing = what.add_parser("list", help="the programs the member may see, with their runs")
    _common(listing)
    listing.set_defaults(func=_list)
    show = what.add_parser("show", help="one program's steps and runs")
    _common(show)
    show.add_argument("program_id", metavar="PROGRAM_ID")
    show.set_defaults(func=_show_program)
    run = what.add_parser(
        "run",
        help="run due program steps (a worker; safe in several processes)",
        description="Run due program steps batch after batch, one progress line per batch. "
        "With --once, stop when nothing is due; otherwise wait --interval seconds and look "
        "again (Ctrl-C stops).",
    )
    run.add_argument("--db", required=True, metavar="PATH_OR_URL", help="the database")
    run.add_argument("--once", action="store_true", help="stop when no step is due")
    run.add_argument("--limit", type=_positive, default=100, help="steps per batch (100)")
    run.add_argument(
        "--interval", type=_seconds, default=5.0, help="seconds between looks when idle (5)"
    )
    run.add_argument("--lease", type=_seconds, default=300.0, help="claim lease, seconds (300)")
    delivery = run.add_argument_group(
        "delivery",
        "Where send_email steps and campaign emails go. Without --sender or --smtp-host, "
        "email steps fail visibly (retried, then failed) and campaign sends wait.",
    )
    delivery.add_argument(
        "--sender",
        metavar="MODULE:NAME",
        help="the application's sender: an object with send(message), or a factory "
        "of one taking no arguments (e.g. myapp.mail:make_sender)",
    )
    delivery.add_argument("--smtp-host", metavar="HOST", help="send over SMTP through HOST")
    delivery.add_argument(
        "--smtp-port",
        type=_positive,
        metavar="PORT",
        help="default 465 with --smtp-ssl, 587 with --smtp-starttls, else 25",
    )
    delivery.add_argument("--smtp-from", metavar="ADDRESS", help="the From address")
    delivery.add_argument("--smtp-starttls", action="store_true", help="upgrade with STARTTLS")
    delivery.add_argument("--smtp-ssl", action="store_true", help="connect with implicit TLS")
    delivery.add_argument(
        "--smtp-user",
        metavar="USER",
        help=f"log in as USER; the password is read from ${SMTP_PASSWORD_VARIABLE}",
    )
    run.set_defaults(func=_run, at=None)
