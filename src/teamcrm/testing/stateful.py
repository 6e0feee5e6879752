"""A hypothesis state machine that checks a store against the reference store.

:class:`CRMComparison` runs random sequences of use cases — creating teams,
members, contacts, companies and buckets, sharing buckets, adding and
removing items, logging interactions, updating with current and stale
versions, deactivating members, creating, attaching and pausing programs,
adding follow-up policies and running due program steps... — through the public
:class:`~teamcrm.service.MemberSession` API on **two** CRMs at once: one on
the store under test and one on the in-memory reference store
(:class:`~teamcrm.adapters.memory.MemoryStore`).  After every step it
compares everything observable:

* the result of the step, or the class of the :class:`~teamcrm.TeamCRMError`
  it raised (any other exception fails the run);
* a full snapshot of both stores (every repository listing and the outbox;
  outbox ``seq`` numbers must increase but need not be equal);
* from time to time, everything one member can see: members, buckets, every
  bucket's items and contacts, every contact's record, companies, events;
* on the reference store, the programs' rules: at most one active run per
  program and contact, and a run the last step started is of a contact its
  owner can see.

Both CRMs share one clock, and ids are made deterministic while a step runs
(see :func:`deterministic_ids`), so the two sides produce identical records
and even ties in ordered listings must come out the same.

Run it against your store with :func:`make_state_machine_test` (a
``unittest.TestCase`` pytest collects) or :func:`run_comparison` (call it
from a test function, e.g. one that uses ``tmp_path``)::

    from teamcrm.testing.stateful import make_state_machine_test

    TestMyStoreMatchesReference = make_state_machine_test(lambda: MyStore(":memory:"))

The machine is built from rooms: :mod:`teamcrm.testing.stateful_machinery`
(ids, outcomes, the step run on both sides), :mod:`teamcrm.testing.stateful_rules`
(teams, contacts, buckets, interactions) and
:mod:`teamcrm.testing.stateful_programs` (programs); this module combines them
with the observation of what members see.
"""

from __future__ import annotations

import unittest
from collections.abc import Callable
from functools import partial
from operator import methodcaller
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule, run_state_machine_as_test

from teamcrm.service import MemberSession
from teamcrm.testing.snapshot import store_snapshot
from teamcrm.testing.stateful_machinery import (
    START,
    Counter,
    Mismatch,
    _attempt,
    _without_seq,
    deterministic_ids,
)
from teamcrm.testing.stateful_machinery import StoreFactory as StoreFactory
from teamcrm.testing.stateful_programs import ProgramRules
from teamcrm.testing.stateful_rules import BucketRules, ContactRules, InteractionRules, TeamRules

__all__ = [
    "START",
    "CRMComparison",
    "Counter",
    "Mismatch",
    "deterministic_ids",
    "make_state_machine_test",
    "run_comparison",
]


class CRMComparison(TeamRules, ContactRules, BucketRules, InteractionRules, ProgramRules):
    """Random use cases on the store under test and on the reference store.

    Subclasses set :attr:`store_factory` (a no-argument callable returning a
    fresh store); :func:`make_state_machine_test` does that for you.
    """

    # ----------------------------------------------------------- observation
    @rule(data=st.data())
    def observe(self, data: st.DataObject) -> None:
        """Compare everything one member can see through the service."""
        self.compare_view(self._actor(data))

    def compare_view(self, viewer: str) -> None:
        """Compare, call by call, what *viewer* sees on both sides."""
        calls: list[tuple[str, Callable[[MemberSession], Any]]] = [
            (name, methodcaller(name))
            for name in ("me", "team", "members", "buckets", "companies", "events")
        ]
        for b in self.bucket_ids:
            for name in ("bucket", "bucket_items", "bucket_contacts"):
                calls.append((f"{name}({b})", methodcaller(name, b)))
        for c in self.contact_ids:
            calls.append((f"contact_record({c})", methodcaller("contact_record", c)))
        for co in self.company_ids:
            calls.append((f"company_interactions({co})", methodcaller("company_interactions", co)))
        for m in self.member_ids:
            calls.append((f"member({m})", methodcaller("member", m)))
        sut, ref = self.sut.as_member(viewer), self.ref.as_member(viewer)
        for name, call in calls:
            got = _attempt(partial(call, sut))
            want = _attempt(partial(call, ref))
            self._compare(f"as {viewer}: {name}", got, want)

    @invariant()
    def stores_hold_the_same(self) -> None:
        """Both stores hold the same records (and outbox events, in the same order)."""
        if not self.team_ids:
            return
        extra = [*self.contact_ids, *self.company_ids]
        got = store_snapshot(self.sut_store, self.team_ids, extra)
        want = store_snapshot(self.ref.store, self.team_ids, extra)
        for team_id in self.team_ids:
            for key in want[team_id]:
                g, w = got[team_id][key], want[team_id][key]
                if key == "outbox":
                    g, w = _without_seq(g), _without_seq(w)
                if g != w:
                    raise Mismatch(
                        f"store content differs in {key} of team {team_id}:\n"
                        f"  under test: {g!r}\n  reference:  {w!r}"
                    )

    def check_all_views(self) -> None:
        """Compare every member's view (run at the end of each run)."""
        for member_id in self.member_ids:
            self.compare_view(member_id)


def _machine_for(store_factory: StoreFactory) -> type[CRMComparison]:
    class _Machine(CRMComparison):
        def teardown(self) -> None:
            try:
                self.check_all_views()
            finally:
                super().teardown()

    _Machine.store_factory = staticmethod(store_factory)
    _Machine.__name__ = _Machine.__qualname__ = "CRMComparison"
    return _Machine


def _settings(max_examples: int | None, step_count: int, shrink: bool = True) -> settings:
    kwargs: dict[str, Any] = {
        "deadline": None,
        "stateful_step_count": step_count,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
    }
    if max_examples is not None:
        kwargs["max_examples"] = max_examples
    if not shrink:
        kwargs["phases"] = [Phase.explicit, Phase.reuse, Phase.generate]
    return settings(**kwargs)


def make_state_machine_test(
    store_factory: StoreFactory, *, max_examples: int | None = None, step_count: int = 40
) -> type[unittest.TestCase]:
    """Return a ``unittest.TestCase`` that runs :class:`CRMComparison` on *store_factory*.

    *store_factory* is called once per run and must return a fresh, empty
    store; it is closed after the run.  *max_examples* defaults to the
    active hypothesis profile.  Assign the result to a ``Test...`` name in
    a test module::

        TestMyStore = make_state_machine_test(lambda: MyStore(":memory:"))
    """
    machine = _machine_for(store_factory)
    case: type[unittest.TestCase] = machine.TestCase
    case.settings = _settings(max_examples, step_count)  # type: ignore[attr-defined]
    return case


def run_comparison(
    store_factory: StoreFactory,
    *,
    max_examples: int | None = None,
    step_count: int = 40,
    shrink: bool = True,
) -> None:
    """Run :class:`CRMComparison` on *store_factory* now (from inside a test function).

    With ``shrink=False`` a failure is reported as found, without looking for
    a shorter sequence of steps (faster, longer to read).
    """
    run_state_machine_as_test(
        _machine_for(store_factory), settings=_settings(max_examples, step_count, shrink)
    )
