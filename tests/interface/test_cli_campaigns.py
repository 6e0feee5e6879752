"""``teamcrm campaigns list|show|preview`` on a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import teamcrm
from teamcrm.cli import FAILED, main


def _database(path: Path) -> tuple[str, str, str]:
    with teamcrm.open(f"sqlite:///{path}") as crm:
        _, admin = crm.create_team("C", admin_name="Ana")
        ana = crm.as_member(admin.id)
        news = ana.create_bucket("News")
        contacts = ana.create_contacts(
            [{"first_name": f"C{i}", "emails": [f"c{i}@example.com"]} for i in range(3)]
        )
        ana.add_to_bucket(news.id, [c.id for c in contacts])
        ana.set_email_opt_out(contacts[2].id, True)
        campaign = ana.create_campaign(
            "News", subject="Hi {{ contact.first_name }}", body="b", bucket_ids=[news.id]
        )
        return campaign.id, contacts[2].id, admin.id


def test_list_preview_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "team.db"
    campaign_id, opted_id, admin_id = _database(db)
    assert main(["campaigns", "list", "--db", str(db), "--as", "Ana", "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["campaign_id"], row["state"], row["recipients"]) == (campaign_id, "draft", 0)
    args = ["campaigns", "preview", campaign_id, "--db", str(db), "--as", "Ana"]
    assert main([*args, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["to"], r["subject"], r["skipped"]) for r in rows] == [
        ("c0@example.com", "Hi C0", ""),
        ("c1@example.com", "Hi C1", ""),
        ("", "", "opted_out"),
    ]
    assert rows[2]["contact_id"] == opted_id
    assert main(["campaigns", "show", campaign_id, "--db", str(db), "--as", "Ana", "--plain"]) == 0
    assert "skipped: none" in capsys.readouterr().out  # the preview wrote nothing
    assert main(["campaigns", "show", "cm_x", "--db", str(db), "--as", "Ana"]) == FAILED
    assert "campaign_id='cm_x'" in capsys.readouterr().err
    with teamcrm.open(f"sqlite:///{db}") as crm:
        crm.as_member(admin_id).start_campaign(teamcrm.CampaignId(campaign_id))
    assert main(["programs", "run", "--db", str(db), "--once"]) == 0  # it has no sender
    capsys.readouterr()
    assert main(["campaigns", "list", "--db", str(db), "--as", "Ana", "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["state"], row["pending"], row["sent"], row["skipped"]) == ("running", 2, 0, 1)
