"""The view commands of the ``teamcrm`` command line, over a demo SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from teamcrm.cli import main


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "team.db"
    assert main(["demo", "--db", str(path)]) == 0
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_search_by_accent_free_name_as_a_member_named(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "search", "--db", str(demo_db), "--as", "alice", "--name", "zoe")
    assert code == 0
    assert "Zoë Kowalska" in out
    assert "Maria" not in out


def test_search_by_phone_in_any_spelling(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "search", "--db", str(demo_db), "--as", "Tom", "--phone", "+1 (617) 555-0101"
    )
    assert code == 0
    assert "Maria Garcia" in out
    assert len([w for w in out.split() if w.startswith("ct_")]) == 1


def test_search_pages_print_the_next_cursor(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "search", "--db", str(demo_db), "--as", "Alice", "--limit", "2")
    assert code == 0
    cursor = out.rsplit("--after ", 1)[1].strip().rstrip(")")
    code, second, _ = run(
        capsys, "search", "--db", str(demo_db), "--as", "Alice", "--limit", "2", "--after", cursor
    )
    assert code == 0
    first_ids = {w for w in out.split() if w.startswith("ct_")}
    second_ids = {w for w in second.split() if w.startswith("ct_")}
    assert len(first_ids) == len(second_ids) == 2
    assert not first_ids & second_ids


def test_due_grid_insights_and_dashboard(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(demo_db)
    code, out, _ = run(capsys, "due", "--db", db, "--as", "Bradley", "--at", "2026-06-01")
    assert code == 0
    assert out.startswith("Follow-ups due for Bradley")
    code, out, _ = run(capsys, "grid", "--db", db, "--as", "Tom", "--at", "2026-06-01")
    assert code == 0
    assert "Agent grid" in out
    assert "red" in out
    code, out, _ = run(
        capsys,
        "insights",
        "--db",
        db,
        "--as",
        "Alice",
        "--start",
        "2026-01-01",
        "--end",
        "2026-02-01",
    )
    assert code == 0
    assert "leads_received" in out
    for name in ("Alice", "Bradley", "Susan", "Tom"):
        assert name in out
    code, out, _ = run(capsys, "dashboard", "--db", db, "--as", "Alice", "--plain")
    assert code == 0
    assert "Routing dashboard" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "--db", "missing.db", "--as", "Alice"], "no such database file"),
        (["search", "--as", "Alice", "--db", "{db}", "--limit", "0"], "must be at least 1"),
        (["search", "--db", "{db}", "--as", "Nobody"], "member 'Nobody' not found"),
        (["search", "--db", "{db}", "--as", "Alice", "--email", "nope"], "is not an email"),
        (["grid", "--db", "{db}", "--as", "Susan"], "may not see the agent grid"),
        (["insights", "--db", "{db}", "--as", "Alice", "--start", "soon"], "not an ISO date"),
        (["search", "--db", "{db}"], "--as"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(
    demo_db: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    argv = [a.replace("{db}", str(demo_db)) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code != 0
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("teamcrm: error:")


@pytest.mark.parametrize("command", ["due", "dashboard", "grid", "insights", "search"])
def test_every_view_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--db" in out
    assert "--as" in out


def test_due_names_the_bucket_and_cadence_once(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["due", "--db", str(demo_db), "--as", "Bradley", "--at", "2026-02-19", "--plain"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Past Clients (every 30 days)" in out
    assert "every every" not in out


def test_search_for_unassigned_contacts(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "search", "--db", str(demo_db), "--as", "alice", "--assignee", "unassigned"
    )
    assert code == 0, err
    assert "unassigned" in out  # the title names the criterion
    code, everyone, _ = run(capsys, "search", "--db", str(demo_db), "--as", "alice")
    found = {w for w in out.split() if w.startswith("ct_")}
    assert found
    assert found < {w for w in everyone.split() if w.startswith("ct_")}
