"""The example third-party adapter (examples/custom_adapter.py) passes the public suites."""

from __future__ import annotations

import itertools
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import teamcrm
from teamcrm.testing import store_snapshot
from teamcrm.testing.contract import StoreContract
from teamcrm.testing.stateful import deterministic_ids, run_comparison

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_adapter.py"
adapter: dict[str, Any] = runpy.run_path(str(EXAMPLE), run_name="custom_adapter")


class TestJournalStoreContract(StoreContract):
    """The whole contract suite, run against the journal wrapped around memory://."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Any]:
        s = adapter["JournalStore"](teamcrm.open_store("memory://"), tmp_path / "audit.jsonl")
        yield s
        s.close()


def test_journal_store_matches_the_reference(tmp_path: Path) -> None:
    numbers = itertools.count()
    run_comparison(
        lambda: adapter["JournalStore"](
            teamcrm.open_store("memory://"), tmp_path / f"audit{next(numbers)}.jsonl"
        ),
        max_examples=20,
    )


def test_registered_scheme_opens_and_journals_only_committed_work(tmp_path: Path) -> None:
    adapter["register"]()
    path = tmp_path / "audit.jsonl"
    with teamcrm.open(f"journal://{path}?inner=memory://") as crm:
        _, admin = crm.create_team("Acme", admin_name="Ana")
        ana = crm.as_member(admin.id)
        bea = ana.create_contact("Bea")
        with pytest.raises(teamcrm.ValidationError):
            ana.create_contact("")
        with pytest.raises(teamcrm.ConcurrencyError):
            ana.update_contact(bea.id, expected_version=7, last_name="Stale")
    ops = [(e["txn"], e["op"]) for e in adapter["read_journal"](path)]
    assert ops == [
        (1, "teams.add"),
        (1, "members.add"),
        (1, "outbox.collect"),
        (2, "contacts.add_many"),
        (2, "outbox.collect"),
    ]
    contact = adapter["read_journal"](path)[3]["args"][0][0]
    assert contact["id"] == bea.id
    assert contact["first_name"] == "Bea"


def test_a_journal_that_cannot_be_written_is_a_store_error_and_nothing_commits(
    tmp_path: Path,
) -> None:
    inner = teamcrm.open_store("memory://")
    store = adapter["JournalStore"](inner, tmp_path / "missing-dir" / "audit.jsonl")
    crm = teamcrm.CRM(store)
    with (
        deterministic_ids(0),
        pytest.raises(teamcrm.StoreError, match="cannot write journal"),
    ):
        crm.create_team("Acme", admin_name="Ana")
    team_id = teamcrm.TeamId(f"tm_{1:026x}")  # the first id handed out above
    assert store_snapshot(inner, [team_id]) == {
        team_id: store_snapshot(teamcrm.open_store("memory://"), [team_id])[team_id]
    }


def test_the_demo_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal = adapter["main"](str(tmp_path))
    assert "refused: Contact.first_name" in capsys.readouterr().out
    assert {e["op"] for e in journal} >= {"teams.add", "contacts.add_many", "memberships.add_many"}


def test_a_bad_url_is_a_validation_error() -> None:
    with pytest.raises(teamcrm.ValidationError, match="journal file path"):
        adapter["open_journal_store"]("journal://")


def test_every_read_method_of_the_ports_is_a_read_for_the_journal() -> None:
    """Reads ("Return ..." / "Count ...") and locks ("Hold ...") pass through; writes are not."""
    import inspect

    from teamcrm import ports

    reads, writes = set(), set()
    for name, proto in vars(ports).items():
        if not (inspect.isclass(proto) and name.endswith("Repository")):
            continue
        for method, fn in vars(proto).items():
            if method.startswith("_") or not callable(fn):
                continue
            summary = (fn.__doc__ or "").strip()
            (reads if summary.startswith(("Return", "Count", "Hold")) else writes).add(method)
    assert {"search", "grid_page", "entries", "add_many", "claim_digest"} <= reads | writes
    assert {m for m in reads if not adapter["is_read"](m)} == set()
    assert {m for m in writes if adapter["is_read"](m)} == set()
