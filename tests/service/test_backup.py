"""The JSON Lines team backup (teamcrm.backup): round trips between stores, refusals, coverage."""

from __future__ import annotations

import io
import json
import typing
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import teamcrm
from teamcrm import backup
from teamcrm.cli import main
from teamcrm.clock import SettableClock
from teamcrm.demo import DEMO_START, build_demo_team
from teamcrm.errors import AlreadyExists, TeamCRMError, ValidationError
from teamcrm.service import CRM, MemberSession
from teamcrm.unit_of_work import BaseUnitOfWork

# ----------------------------------------------------------------- a random team
_OPS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "contact",
                "contact",
                "bucket",
                "add",
                "add",
                "interaction",
                "policy",
                "snooze",
                "task",
                "pool",
                "filter",
                "delete",
                "tick",
                "accept",
                "inbound",
                "intake",
            ]
        ),
        st.integers(0, 50),
        st.integers(0, 50),
    ),
    max_size=30,
)


def build_random_team(crm: CRM, clock: SettableClock, ops: list[tuple[str, int, int]]) -> str:
    """Run *ops* on a new team (refused steps are skipped); return the team id."""
    team, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = crm.as_member(ana.add_member("Bob", email="bob@example.com").id)
    people: list[MemberSession] = [ana, bob]
    contacts: list[str] = []
    buckets: list[str] = [ana.create_bucket("Shared").id]
    ana.share_with_team(buckets[0], level="editor", can_view_conversations=True)
    ana.create_pool(
        "Inbound",
        source_bucket_ids=[buckets[0]],
        member_ids=[ana.member_id, bob.member_id],
        method="first_to_accept",
    )
    for op, a, b in ops:
        who = people[a % 2]
        try:
            if op == "contact":
                c = who.create_contact(
                    f"P{a}",
                    f"Q{b}",
                    emails=[f"p{a}@example.com"] if b % 2 else [],
                    phones=[f"617-555-01{b:02d}"] if a % 3 == 0 else [],
                    custom_fields={"score": b} if b % 4 == 0 else None,
                )
                contacts.append(c.id)
                if b % 3 == 0:
                    who.add_to_bucket(buckets[0], c.id)  # a pool's source: a lead
            elif op == "bucket":
                buckets.append(who.create_bucket(f"B{a}", personal=b % 2 == 0).id)
            elif op == "add" and contacts:
                who.add_to_bucket(buckets[b % len(buckets)], contacts[a % len(contacts)])
            elif op == "interaction" and contacts:
                who.log_interaction(
                    "call", contact_ids=[contacts[a % len(contacts)]], outcome="connected"
                )
            elif op == "policy":
                who.create_follow_up_policy(buckets[b % len(buckets)], "every 2 weeks")
            elif op == "snooze" and contacts:
                who.snooze_follow_up(contacts[a % len(contacts)], crm.now() + timedelta(days=b))
            elif op == "task" and contacts:
                who.create_task(contacts[a % len(contacts)], crm.now() + timedelta(hours=b), "ring")
            elif op == "pool":
                ana.create_pool(
                    f"Pool {a}",
                    source_bucket_ids=[buckets[0]],
                    member_ids=[ana.member_id, bob.member_id],
                    method=["round_robin", "first_to_accept", "manual"][a % 3],
                )
            elif op == "filter":
                who.save_filter(f"F{a}", {"name": f"P{b}"}, shared=a % 2 == 0)
            elif op == "delete" and contacts:
                ana.delete_contact(contacts.pop(a % len(contacts)))
            elif op == "tick":
                clock.advance(timedelta(minutes=a * 7 + b))
            elif op == "accept":
                offers = who.offers()
                if offers:
                    who.accept_offer(offers[0].id)
            elif op == "intake":
                who.intake_lead(
                    {"email": f"lead{a % 7}@example.com", "submission id": f"s{b % 5}"},
                    source_bucket_id=buckets[0],
                )
            elif op == "inbound":
                who.set_inbound_bucket(buckets[b % len(buckets)])
        except TeamCRMError:
            pass
    return str(team.id)


def dump(source: Any, team_id: str) -> str:
    out = io.StringIO()
    backup.export_team(source, team_id, out)
    return out.getvalue()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Callable[[], str]:
    counter = iter(range(10**6))
    return lambda: f"sqlite:///{tmp_path}/restore{next(counter)}.db"


# ---------------------------------------------------------------------- tests
@settings(max_examples=15)
@given(ops=_OPS)
def test_memory_to_sqlite_round_trip_is_byte_equal(ops: list[tuple[str, int, int]]) -> None:
    import tempfile

    clock = SettableClock(DEMO_START)
    with teamcrm.open("memory://", clock=clock) as crm:
        team_id = build_random_team(crm, clock, ops)
        first = dump(crm, team_id)
    with (
        tempfile.TemporaryDirectory() as tmp,
        teamcrm.open(f"sqlite:///{tmp}/r.db", clock=clock) as target,
    ):
        backup.import_team(target.store, io.StringIO(first))
        assert dump(target, team_id) == first


def _demo_backup() -> tuple[str, str]:
    clock = SettableClock(DEMO_START)
    with teamcrm.open("memory://", clock=clock) as crm:
        demo = build_demo_team(crm, clock)
        team_id = str(crm.as_member(next(iter(demo.members.values()))).team_id)
        return team_id, dump(crm, team_id)


def test_demo_team_covers_many_kinds_and_round_trips(sqlite_url: Callable[[], str]) -> None:
    team_id, text = _demo_backup()
    kinds = {json.loads(line)["kind"] for line in text.splitlines()[1:]}
    assert {"team", "member", "contact", "bucket", "membership", "interaction", "event"} <= kinds
    with teamcrm.open(sqlite_url()) as target:
        summary = backup.import_team(target.store, io.StringIO(text))
        assert summary.records == len(text.splitlines()) - 2
        assert dump(target, team_id) == text
        # The restored team works: its members open sessions and see their contacts.
        session = target.as_member(json.loads(text.splitlines()[2])["data"]["id"])
        assert session.members()


def test_restoring_into_a_store_that_has_the_team_is_refused(sqlite_url: Callable[[], str]) -> None:
    team_id, text = _demo_backup()
    with teamcrm.open(sqlite_url()) as target:
        backup.import_team(target.store, io.StringIO(text))
        before = dump(target, team_id)
        with pytest.raises(AlreadyExists):
            backup.import_team(target.store, io.StringIO(text))
        assert dump(target, team_id) == before


def test_a_file_cut_short_writes_nothing() -> None:
    team_id, text = _demo_backup()
    lines = text.splitlines(keepends=True)
    with teamcrm.open("memory://") as target:
        with pytest.raises(ValidationError, match="cut short"):
            backup.import_team(target.store, io.StringIO("".join(lines[:-1])))
        with pytest.raises(ValidationError, match="records"):
            backup.import_team(target.store, io.StringIO("".join(lines[:-2] + lines[-1:])))
        with pytest.raises(teamcrm.errors.NotFound):
            dump(target, team_id)


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"format": "other", "version": 1, "team_id": "tm_x"}, "format"),
        ({"format": backup.FORMAT, "version": 99, "team_id": "tm_x"}, "version"),
        ({"format": backup.FORMAT, "version": 1, "team_id": 5}, "team_id"),
    ],
)
def test_other_formats_and_versions_are_refused(header: dict[str, Any], reason: str) -> None:
    with teamcrm.open("memory://") as target, pytest.raises(ValidationError, match=reason):
        backup.import_team(target.store, io.StringIO(json.dumps(header) + "\n"))


def test_records_of_another_team_and_kinds_out_of_order_are_refused() -> None:
    team_id, text = _demo_backup()
    lines = text.splitlines(keepends=True)
    swapped = [lines[0], lines[2], lines[1], *lines[3:]]  # a member before the team
    with teamcrm.open("memory://") as target:
        with pytest.raises(ValidationError, match="later kind"):
            backup.import_team(target.store, io.StringIO("".join(swapped)))
        other = lines[0].replace(team_id, "tm_" + "0" * 26)
        with pytest.raises(ValidationError, match="not of team"):
            backup.import_team(target.store, io.StringIO("".join([other, *lines[1:]])))


def test_every_repository_of_the_unit_of_work_is_backed_up() -> None:
    """A repository added to the unit of work must get a kind (or be declared derived)."""
    repositories = set(typing.get_type_hints(BaseUnitOfWork))
    covered = {r for kind in backup.KINDS for r in kind.repositories} | backup.DERIVED
    assert repositories - covered == set(), "add a backup kind for these repositories"
    assert covered - repositories == set()


def test_cli_export_and_import_team(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "demo.db"
    assert main(["demo", "--db", str(db)]) == 0
    capsys.readouterr()
    with teamcrm.open(db) as crm, crm.store.unit_of_work(write=False) as uow:
        team_id = uow.views.members_named("Susan")[0].team_id
    out = tmp_path / "team.jsonl"
    assert main(["export", "team", "--db", str(db), "--team", team_id, "-o", str(out)]) == 0
    target = tmp_path / "restored.db"
    assert main(["import", "team", str(out), "--db", f"sqlite:///{target}"]) == 0
    assert "restored" in capsys.readouterr().out
    with teamcrm.open(target) as crm:
        assert dump(crm, team_id) == out.read_text(encoding="utf-8")
    assert main(["import", "team", str(out), "--db", f"sqlite:///{target}"]) == 1
    assert "already" in capsys.readouterr().err


# ------------------------------------------------------------------ PostgreSQL
@settings(max_examples=8)
@given(ops=_OPS)
def test_memory_to_postgres_round_trip_is_byte_equal(ops: list[tuple[str, int, int]]) -> None:
    import pg_support

    pg_support.server_url()
    clock = SettableClock(DEMO_START)
    with teamcrm.open("memory://", clock=clock) as crm:
        team_id = build_random_team(crm, clock, ops)
        first = dump(crm, team_id)
    with pg_support.crm(clock) as target:
        backup.import_team(target.store, io.StringIO(first))
        assert dump(target, team_id) == first
        with pytest.raises(AlreadyExists):
            backup.import_team(target.store, io.StringIO(first))
