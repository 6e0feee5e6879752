"""The command line in scripts and pipes: --version, exit codes, --format, --as, broken pipes."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import teamcrm
from teamcrm.cli import Progress, main


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pipes") / "team.db"
    assert main(["demo", "--db", str(path)]) == 0
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"teamcrm {teamcrm.__version__}"


def test_usage_errors_exit_2_and_failures_exit_1(
    demo_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["search", "--db", str(demo_db), "--as", "alice", "--limit", "zero"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["search", "--db", str(demo_db), "--as", "alice", "--field", "novalue"])
    assert info.value.code == 2
    capsys.readouterr()
    # Ran, and failed: not found, refused, unreachable.
    code, _, err = run(capsys, "search", "--db", str(demo_db), "--as", "Nobody")
    assert (code, err.startswith("teamcrm: error: member 'Nobody' not found")) == (1, True)
    short = tmp_path / "x"  # long paths are shortened with "..." in messages
    short.mkdir()
    monkeypatch.chdir(short)
    code, _, err = run(capsys, "due", "--db", "missing.db", "--as", "alice")
    assert code == 1
    assert "missing.db" in err
    code, _, err = run(
        capsys, "search", "--db", "postgresql://u:p@127.0.0.1:1/none", "--as", "alice"
    )
    assert code == 1
    assert err.startswith("teamcrm: error:")


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_listings_print_data_for_pipes(
    demo_db: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    code, out, err = run(
        capsys, "search", "--db", str(demo_db), "--as", "alice", "--name", "zoe", "--format", fmt
    )
    assert code == 0, err
    if fmt == "json":
        rows = json.loads(out)
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in out.splitlines()]
    else:
        rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["name"] for r in rows] == ["Zoë Kowalska"]
    assert rows[0]["contact_id"].startswith("ct_")


def test_every_listing_takes_format(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("due", "dashboard", "grid", "insights", "search"):
        code, out, err = run(
            capsys, command, "--db", str(demo_db), "--as", "alice", "--format", "json"
        )
        assert code == 0, (command, err)
        assert isinstance(json.loads(out), list), command


def test_paged_data_puts_the_cursor_on_stderr(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "search", "--db", str(demo_db), "--as", "alice", "--limit", "1", "--format", "jsonl"
    )
    assert code == 0
    assert len(out.splitlines()) == 1
    assert err.startswith("more: --after ")


def test_as_takes_an_id_an_email_or_a_name(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with teamcrm.open(f"sqlite:///{demo_db}") as crm:
        with crm.store.unit_of_work(write=False) as uow:
            (alice,) = uow.views.members_named("Alice")
        crm.as_member(alice.id).update_member(alice.id, email="Alice@Example.com")
    outputs = set()
    for who in (alice.id, "alice@example.COM", "alice"):
        code, out, err = run(
            capsys, "search", "--db", str(demo_db), "--as", who, "--format", "json"
        )
        assert code == 0, (who, err)
        outputs.add(out)
    assert len(outputs) == 1
    code, _, err = run(capsys, "search", "--db", str(demo_db), "--as", "nobody@example.com")
    assert code == 1
    assert "not found" in err


def test_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    # `teamcrm search ... | head -1`: the reader goes away after one line of
    # ~250 KB of output (more than a pipe buffer holds).
    path = tmp_path / "big.db"
    with teamcrm.open(f"sqlite:///{path}") as crm:
        _, admin = crm.create_team("Big", admin_name="Ana")
        crm.as_member(admin.id).create_contacts(
            [{"first_name": f"Person{i}", "emails": [f"p{i}@example.com"]} for i in range(1200)]
        )
    argv = ["search", "--db", str(path), "--as", "Ana", "--format", "jsonl", "--limit", "1000"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "teamcrm", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith(b"{")
    proc.stdout.close()
    err = proc.stderr.read() if proc.stderr is not None else b""
    proc.wait(timeout=60)
    assert b"Traceback" not in err, err.decode()
    assert proc.returncode == 141


def test_progress_is_shown_on_a_terminal_only() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    pipe, tty = io.StringIO(), Tty()
    for out in (pipe, tty):
        bar = Progress("copying", out, total=2)
        bar.step("members")
        bar.step("contacts")
        bar.done()
    assert pipe.getvalue() == ""
    assert "copying 2/2 contacts" in tty.getvalue()
