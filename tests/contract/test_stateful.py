"""The stateful comparison (:mod:`teamcrm.testing.stateful`) against the shipped stores."""

from __future__ import annotations

import itertools
import unittest
from pathlib import Path

import attrs
import pytest

import teamcrm
from teamcrm.testing.stateful import (
    CRMComparison,
    Mismatch,
    make_state_machine_test,
    run_comparison,
)

TestMemoryMatchesReference = make_state_machine_test(lambda: teamcrm.open_store("memory://"))

TestSQLiteMemoryMatchesReference = make_state_machine_test(
    lambda: teamcrm.open_store("sqlite://"), max_examples=25
)


def test_sqlite_file_matches_reference(tmp_path: Path) -> None:
    numbers = itertools.count()
    run_comparison(
        lambda: teamcrm.open_store(f"sqlite:///{tmp_path / f'crm{next(numbers)}.db'}"),
        max_examples=15,
    )


class _ForgetfulStore:
    """A store whose listings drop the newest contact: the machine must notice."""

    def __init__(self) -> None:
        self._inner = teamcrm.open_store("memory://")
        self.url = "forgetful://"

    def unit_of_work(self, *, write: bool = True) -> object:
        uow = self._inner.unit_of_work(write=write)
        contacts = uow.contacts
        original = contacts.all
        contacts.all = lambda team_id: original(team_id)[:-1]  # type: ignore[method-assign]
        return uow

    def close(self) -> None:
        self._inner.close()


def test_the_machine_catches_a_store_that_differs() -> None:
    with pytest.raises(Mismatch, match="contacts"):
        run_comparison(_ForgetfulStore, max_examples=30, shrink=False)  # type: ignore[arg-type]


def test_the_machine_is_a_rule_based_state_machine() -> None:
    assert issubclass(TestMemoryMatchesReference, unittest.TestCase)
    rules = {name for name in dir(CRMComparison) if not name.startswith("_")}
    assert {"create_contact", "update_contact", "share_bucket", "observe"} <= rules
    programs = {"create_program", "attach_or_pause_program", "run_programs"}
    assert programs | {"enrolments_are_single_and_visible"} <= rules


class _DoublingStore:
    """A store whose enrolment insert ignores the one-active-run rule: the machine must notice."""

    def __init__(self) -> None:
        self._inner = teamcrm.open_store("memory://")
        self.url = "doubling://"

    def unit_of_work(self, *, write: bool = True) -> object:
        uow = self._inner.unit_of_work(write=write)
        enrolments = uow.enrolments
        original = enrolments.add_many

        def add_many(rows: list[teamcrm.Enrolment]) -> list[teamcrm.Enrolment]:
            added = original(rows)
            for e in added:  # a second active run, past the rule the real store keeps
                twin = attrs.evolve(e, id=e.id[:-1] + "f")
                enrolments._t.put(twin.id, twin)
            return added

        enrolments.add_many = add_many  # type: ignore[method-assign]
        return uow

    def close(self) -> None:
        self._inner.close()


def test_the_machine_catches_programs_that_differ() -> None:
    with pytest.raises(Mismatch):
        run_comparison(_DoublingStore, max_examples=200, shrink=False)  # type: ignore[arg-type]
