"""The demo and the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from teamcrm.cli import main


def test_demo_in_memory_prints_what_each_member_sees(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--memory"]) == 0
    out = capsys.readouterr().out
    assert "What Susan can see" in out
    assert "Customer Follow-up 1 Month" in out
    # Susan's personal buckets are hers alone: nobody else's table lists them.
    bradley_part = out.split("What Bradley can see")[1].split("What Susan can see")[0]
    assert "Customer Follow-up" not in bradley_part
    record_as_bradley = out.split("Maria Garcia's record as Bradley sees it")[1]
    assert "Customer Follow-up" not in record_as_bradley.split("\n\n")[0]
    # Leads is shared with Bradley and Tom only.
    susan_part = out.split("What Susan can see")[1].split("What Tom can see")[0]
    assert "Leads" not in susan_part
    assert "Leads" in bradley_part


def test_demo_default_store_is_a_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    proc = subprocess.run(
        [sys.executable, "-m", "teamcrm", "demo", "--db", str(db)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "What Alice can see" in proc.stdout
    if "sqlite:///" in proc.stdout:
        assert db.exists()


def test_bad_arguments_exit_non_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["no-such-command"])
    assert info.value.code != 0


def test_bad_store_url_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--db", "nosuch://x"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("teamcrm: error:")
    assert len(err.strip().splitlines()) == 1


def test_demo_shows_follow_up_lists_on_a_chosen_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--memory", "--date", "2026-02-05"]) == 0
    out = capsys.readouterr().out
    bradley = out.split("Bradley's follow-up list on 2026-02-05")[1].split("\n\n")[0]
    # Past Clients every 30 days from 2026-01-05: Chen Wei (never touched) is
    # due 2026-02-04; Maria's clock was reset by Susan's call on 2026-01-08.
    assert "Chen Wei" in bradley
    assert "Maria Garcia" not in bradley
    assert "Bradley's in-app feed" in out
    assert "New lead:" in out


def test_demo_rejects_a_bad_date(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:  # a usage error: argparse's status 2
        main(["demo", "--memory", "--date", "soon"])
    assert info.value.code == 2
    assert "--date" in capsys.readouterr().err


def test_demo_shows_programs_of_seeds_000_and_003(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--memory"]) == 0
    out = capsys.readouterr().out
    part = out.split("== Programs ==")[1].split("== Notifications ==")[0]
    programs = part.split("Programs (Alice sees every program and the team library)")[1]
    programs = programs.split("\n\n")[0]
    rows = {tuple(line.split()[:3]) for line in programs.splitlines()[2:]}
    # Seed 000: Susan's personal bucket feeds her team bucket.
    assert ("Share", "my", "customers") in rows
    assert "Customer Follow-up 3 Months" in programs
    # Seed 003: the library template, and Bradley's copy on his routed-leads bucket.
    library = [ln for ln in programs.splitlines() if "team_library" in ln]
    assert len(library) == 1
    assert "template" in library[0]
    copy = [ln for ln in programs.splitlines() if ln.startswith("New lead follow-up  Bradley")]
    assert len(copy) == 1
    assert "Routed leads" in copy[0]
    assert copy[0].rstrip().endswith("active")
    runs = part.split("Runs: enrolled on entering the bucket, then one runner pass")[1]
    runs = runs.split("\n\n")[0]
    noah = next(ln for ln in runs.splitlines() if ln.startswith("Noah Davis"))
    assert "add_to_bucket" in noah
    assert "completed" in noah
    gina = next(ln for ln in runs.splitlines() if ln.startswith("Gina Rossi"))
    assert "create_task" in gina
    assert "step 2 of 2 (notify) is due" in gina
    assert "Runner pass: 2 claimed, 2 ran, 1 completed, 0 failed." in part
    assert "Susan's Contacts now holds: Maria Garcia, Noah Davis, Zoë Kowalska." in part
    tasks = part.split("Bradley's task from his program")[1]
    assert "Call the new lead today  Gina Rossi" in tasks
