"""``teamcrm programs list|show|run`` on a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

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
