"""A user's ``mypy --strict`` catches swapped ids and misspelled options (issue 18).

The snippets below are what a user writes; mypy (run through its API on
each) must accept the right ones and report the mistakes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

SETUP = """
import teamcrm
from teamcrm import ContactId, MemberId, StrategyName

crm = teamcrm.open("memory://")
_, admin = crm.create_team("Acme", admin_name="Ana")
ana = crm.as_member(admin.id)
bucket = ana.create_bucket("Leads")
contact = ana.create_contact("Bea")
"""


def _check(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "user.py"
    path.write_text(SETUP + textwrap.dedent(body))
    out, err, _ = mypy_api.run(
        [
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / ".mypy"),
            "--no-error-summary",
            str(path),
        ]
    )
    assert not err, err
    return [line for line in out.splitlines() if ": error:" in line]


def test_right_calls_pass(tmp_path: Path) -> None:
    errors = _check(
        tmp_path,
        """
        ana.add_to_bucket(bucket.id, contact.id)
        ana.add_member("Bob", role="agent")
        ana.create_pool("P", source_bucket_ids=[bucket.id], method="round_robin")
        ana.create_pool("T", source_bucket_ids=[bucket.id], method=StrategyName("territory"))
        ana.grant_access(bucket.id, admin.id, level="editor")
        ana.update_contact(contact.id, first_name="Bea", status="active")
        ana.log_interaction("call", contact_ids=[contact.id], outcome="connected")
        ana.routing_dashboard(sort_by="contact_name")
        # An id held as a plain string (from a URL): one obvious way in.
        ana.contact(ContactId("ct_" + "0" * 26))
        record: dict[str, object] = teamcrm.unstructure(contact)
        """,
    )
    assert errors == []


@pytest.mark.parametrize(
    ("call", "mistake"),
    [
        ("ana.add_to_bucket(contact.id, bucket.id)", 'incompatible type "ContactId"'),
        ('ana.add_member("Bob", role="agnet")', '"role"'),
        ('ana.create_pool("P", source_bucket_ids=[bucket.id], method="round-robin")', '"method"'),
        ('ana.grant_access(bucket.id, admin.id, level="edtor")', '"level"'),
        ('ana.update_contact(contact.id, frist_name="Bea")', "frist_name"),
        ('ana.contact("ct_" + "0" * 26)', 'incompatible type "str"'),
        ('ana.routing_dashboard(sort_by="name")', '"sort_by"'),
        ('ana.log_interaction("cal", contact_ids=[contact.id])', "Literal['cal']"),
    ],
)
def test_mistakes_are_type_errors(tmp_path: Path, call: str, mistake: str) -> None:
    errors = _check(tmp_path, call)
    assert errors, f"mypy accepted {call}"
    assert any(mistake in e for e in errors), errors


def test_the_literals_name_exactly_the_enum_values() -> None:
    from typing import get_args

    from teamcrm import bucket, interaction, lead, pool, task, team

    pairs = [
        (team.RoleName, team.Role),
        (bucket.AccessLevelName, bucket.AccessLevel),
        (pool.MethodName, pool.DistributionMethod),
        (interaction.InteractionKindName, interaction.InteractionKind),
        (interaction.OutcomeName, interaction.Outcome),
        (task.TaskStatusName, task.TaskStatus),
        (lead.LeadStatusName, lead.LeadStatus),
    ]
    for literal, enum_type in pairs:
        assert set(get_args(literal)) == {e.value for e in enum_type}, enum_type
