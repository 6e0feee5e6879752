"""``teamcrm programs list|show|run`` on a SQLite file."""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path
from typing import Any

import pytest

import teamcrm
from teamcrm import Step, Trigger
from teamcrm.cli import FAILED, main


def _database(path: Path) -> tuple[str, str]:
    with teamcrm.open(f"sqlite:///{path}") as crm:
        _, admin = crm.create_team("C", admin_name="Ana")
        ana = crm.as_member(admin.id)
        mine, shared = ana.create_bucket("Mine", personal=True), ana.create_bucket("Shared")
        program = ana.create_program(
            "Share",
            Trigger(kind="bucket_entered", bucket_id=mine.id),
            [Step(kind="add_to_bucket", bucket_id=shared.id), Step(kind="notify", text="done")],
        )
        contacts = ana.create_contacts([{"first_name": f"C{i}"} for i in range(7)])
        ana.add_to_bucket(mine.id, [c.id for c in contacts])
        return program.id, shared.id


def test_list_run_once_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "team.db"
    program_id, shared_id = _database(db)
    assert main(["programs", "list", "--db", str(db), "--as", "Ana", "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["program_id"], row["enrolled"], row["active"]) == (program_id, 7, 7)
    assert main(["programs", "run", "--db", str(db), "--once", "--limit", "5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("batch 1: 5 claimed, 5 ran")
    assert out[-1] == "done: 14 steps ran, 0 runs failed"
    assert main(["programs", "show", program_id, "--db", str(db), "--as", "Ana", "--plain"]) == 0
    shown = capsys.readouterr().out
    assert f"bucket_id={shared_id}" in shown
    assert "runs: 7 enrolled, 0 active, 7 completed, 0 failed; stopped: none" in shown
    assert main(["programs", "show", "pg_x", "--db", str(db), "--as", "Ana"]) == FAILED
    assert "program_id='pg_x'" in capsys.readouterr().err


SENDER_MODULE = """
from teamcrm import MemorySender

SENT = MemorySender()


def make_sender():
    return SENT


def broken():
    raise RuntimeError("no credentials")


NOT_A_SENDER = 42
"""


def _email_database(path: Path) -> tuple[str, str]:  # (the admin, the campaign)
    """A program emailing 3 contacts as they enter a bucket, and a started campaign to 2 more."""
    with teamcrm.open(f"sqlite:///{path}") as crm:
        _, admin = crm.create_team("C", admin_name="Ana")
        ana = crm.as_member(admin.id)
        welcome, news = ana.create_bucket("Welcome"), ana.create_bucket("News")
        program = ana.create_program(
            "Welcome",
            Trigger(kind="bucket_entered", bucket_id=welcome.id),
            [Step(kind="send_email", subject="Hi {{ contact.first_name }}", body="Welcome")],
        )
        greeted = ana.create_contacts(
            [{"first_name": f"W{i}", "emails": [f"w{i}@example.com"]} for i in range(3)]
        )
        ana.add_to_bucket(welcome.id, [c.id for c in greeted])
        readers = ana.create_contacts(
            [{"first_name": f"N{i}", "emails": [f"n{i}@example.com"]} for i in range(2)]
        )
        ana.add_to_bucket(news.id, [c.id for c in readers])
        campaign = ana.create_campaign(
            "News",
            subject="News",
            body="Hello {{ contact.first_name }}",
            bucket_ids=[news.id],
            per_minute=1000,
        )
        ana.start_campaign(campaign.id)
        assert program.id
        return admin.id, campaign.id


def test_run_with_the_applications_sender_sends_each_email_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "team.db"
    _email_database(db)
    (tmp_path / "app_mail.py").write_text(SENDER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import app_mail  # type: ignore[import-not-found]

    run = ["programs", "run", "--db", str(db), "--once", "--sender", "app_mail:make_sender"]
    assert main(run) == 0
    out = capsys.readouterr().out
    assert re.search(r"; campaigns: [12] claimed, [12] sent, 0 skipped", out)
    assert out.splitlines()[-1].startswith("done: 3 steps ran, 0 runs failed, ")
    time.sleep(0.1)  # the throttle (1,000 a minute) spaces the campaign's sends 60 ms apart
    assert main(run) == 0
    recipients = sorted(m.to for m in app_mail.SENT.sent)
    assert recipients == [f"{p}{i}@example.com" for p, n in (("n", 2), ("w", 3)) for i in range(n)]
    assert {m.subject for m in app_mail.SENT.sent} == {"News", "Hi W0", "Hi W1", "Hi W2"}
    capsys.readouterr()
    assert main(run) == 0  # nothing is due any more: nothing is sent twice
    assert len(app_mail.SENT.sent) == 5
    assert capsys.readouterr().out.splitlines()[-1] == (
        "done: 0 steps ran, 0 runs failed, 0 campaign emails sent"
    )


def test_run_without_a_sender_leaves_campaign_sends_waiting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "team.db"
    admin_id, campaign_id = _email_database(db)
    assert main(["programs", "run", "--db", str(db), "--once"]) == 0
    out = capsys.readouterr().out
    assert "campaigns:" not in out
    assert "3 retried" in out  # the email steps wait for a sender, visibly
    assert out.splitlines()[-1] == "done: 0 steps ran, 0 runs failed"
    with teamcrm.open(f"sqlite:///{db}") as crm:
        report = crm.as_member(admin_id).campaign_report(campaign_id)
        assert report.sent == 0


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--sender", "app_mail"], "sender='app_mail'"),
        (["--sender", "no_such_module_here:x"], "cannot be imported"),
        (["--sender", "app_mail:missing"], "'missing' is not found"),
        (["--sender", "app_mail:NOT_A_SENDER"], "neither a sender nor a factory"),
        (["--sender", "app_mail:broken"], "its factory failed: RuntimeError: no credentials"),
        (["--sender", "app_mail:SENT", "--smtp-host", "localhost"], "not both"),
        (["--smtp-from", "crm@example.com"], "needs --smtp-host"),
        (["--smtp-host", "localhost"], "--smtp-host='localhost': needs --smtp-from ADDRESS"),
        (
            ["--smtp-host", "localhost", "--smtp-from", "crm@example.com", "--smtp-user", "u"],
            "TEAMCRM_SMTP_PASSWORD",
        ),
    ],
)
def test_run_refuses_a_sender_it_cannot_use_before_running_anything(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
    named: str,
) -> None:
    db = tmp_path / "team.db"
    _database(db)
    (tmp_path / "app_mail.py").write_text(SENDER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("TEAMCRM_SMTP_PASSWORD", raising=False)
    assert main(["programs", "run", "--db", str(db), "--once", *options]) == FAILED
    captured = capsys.readouterr()
    assert named in captured.err
    assert "batch" not in captured.out  # nothing ran
    with teamcrm.open(f"sqlite:///{db}") as crm:
        assert crm.run_programs(limit=100).claimed > 0  # the steps are still due


def test_run_sends_over_smtp_with_the_password_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("aiosmtpd")
    from aiosmtpd.controller import Controller

    class Keep:
        def __init__(self) -> None:
            self.rcpt: list[str] = []

        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
            self.rcpt.extend(envelope.rcpt_tos)
            return "250 OK"

    handler = Keep()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    controller = Controller(handler, hostname="127.0.0.1", port=int(port))
    controller.start()
    try:
        db = tmp_path / "team.db"
        _email_database(db)
        options = ["--smtp-host", "127.0.0.1", "--smtp-port", port, "--smtp-from", "crm@x.com"]
        assert main(["programs", "run", "--db", str(db), "--once", *options]) == 0
        time.sleep(0.1)
        assert main(["programs", "run", "--db", str(db), "--once", *options]) == 0
    finally:
        controller.stop()
    assert sorted(handler.rcpt) == [
        "n0@example.com",
        "n1@example.com",
        "w0@example.com",
        "w1@example.com",
        "w2@example.com",
    ]
    out = capsys.readouterr().out
    assert re.search(r"; campaigns: [12] claimed, [12] sent, 0 skipped", out)
    assert "done: 3 steps ran, 0 runs failed, " in out
