"""What the stateful comparison runs on: deterministic ids, outcomes, the step run on both sides.

:func:`deterministic_ids` makes both sides produce the same ids; a step's
outcome is its value or the class of the error it raised; and
:class:`ComparisonMachinery` holds the two CRMs on one clock, runs each step
on both and draws the ids and actors the rules use.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine

from teamcrm import ids as _ids_module
from teamcrm.adapters.memory import MemoryStore
from teamcrm.clock import SettableClock
from teamcrm.errors import TeamCRMError
from teamcrm.ids import TeamId
from teamcrm.ports import Store
from teamcrm.service import CRM
from teamcrm.team import Role
from teamcrm.testing import strategies as tst

__all__ = [
    "START",
    "ComparisonMachinery",
    "Counter",
    "Mismatch",
    "StoreFactory",
    "deterministic_ids",
]

#: When the shared clock starts.
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

StoreFactory = Callable[[], Store]


class Mismatch(AssertionError):
    """The store under test and the reference store disagreed."""


@attrs.define
class Counter:
    """The next number :func:`deterministic_ids` hands out."""

    value: int


@contextlib.contextmanager
def deterministic_ids(start: int) -> Iterator[Counter]:
    """Make every ``teamcrm.ids.new_*_id()`` return counter-based ids while active.

    Ids stay well formed (prefix + 26 hex digits) and sort in creation order.
    Used so that the same steps give the same ids on both sides; not
    thread-safe, for tests only.
    """
    counter = Counter(start)
    original, original_suffix = _ids_module._new, _ids_module.id_suffix

    def _suffix() -> str:
        counter.value += 1
        return f"{counter.value:026x}"

    def _new(prefix: str) -> str:
        return prefix + _suffix()

    # Module attributes patched on purpose (program, enrolment and notification
    # ids look ``id_suffix`` up on the module).
    setattr(_ids_module, "_new", _new)  # noqa: B010
    setattr(_ids_module, "id_suffix", _suffix)  # noqa: B010
    try:
        yield counter
    finally:
        setattr(_ids_module, "_new", original)  # noqa: B010
        setattr(_ids_module, "id_suffix", original_suffix)  # noqa: B010


def _create_team(crm: CRM, *, name: str, zone: str) -> Any:
    return crm.create_team(name, admin_name=name, time_zone=zone)


@attrs.frozen
class _Outcome:
    """What a step did on one side: its value, or the class of error it raised."""

    value: Any = None
    error: str | None = None

    def describe(self) -> str:
        return f"raised {self.error}" if self.error else f"returned {self.value!r}"


def _error_name(exc: TeamCRMError) -> str:
    """The public error class of *exc* (adapters may raise subclasses)."""
    import teamcrm.errors as errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        if type(exc) is cls:
            return name
    for name in (
        "SchemaVersionError",
        "ValidationError",
        "NotFound",
        "AlreadyExists",
        "PermissionDenied",
        "ConcurrencyError",
        "StoreError",
    ):
        if isinstance(exc, getattr(errors, name)):
            return name
    return "TeamCRMError"


def _attempt(fn: Callable[[], Any]) -> _Outcome:
    try:
        return _Outcome(value=fn())
    except TeamCRMError as exc:
        return _Outcome(error=_error_name(exc))


def _without_seq(messages: Any) -> Any:
    """Outbox messages reduced to their events (``seq`` differs between stores)."""
    if isinstance(messages, list):
        seqs: list[int] = [m.seq for m in messages if isinstance(getattr(m, "seq", None), int)]
        if len(seqs) == len(messages):
            if seqs != sorted(seqs) or len(set(seqs)) != len(seqs):
                raise Mismatch(f"outbox seq numbers do not increase: {seqs}")
            return [m.event for m in messages]
    return messages


_names = tst.unicode_text(max_size=30)
_roles = st.sampled_from(Role)
_zones = tst.time_zones()


class ComparisonMachinery(RuleBasedStateMachine):
    """What the comparison runs on: two CRMs on one clock, the step run on both sides, drawing ids.

    :meth:`_both` runs a step on the store under test and on the reference
    store with the same ids and compares the outcomes; the ``_pick`` helpers
    draw known ids (mostly of one team) and the acting member.  The rules
    live in the mixins :class:`CRMComparison` combines.
    """

    #: Builds a fresh store under test for each run.
    store_factory: ClassVar[StoreFactory]

    def __init__(self) -> None:
        super().__init__()
        self.clock = SettableClock(START)
        self.sut_store = type(self).store_factory()
        self.sut = CRM(self.sut_store, clock=self.clock)
        self.ref = CRM(MemoryStore(), clock=self.clock)
        self.next_id = 0
        self.team_ids: list[TeamId] = []
        self.team_of: dict[str, str] = {}
        self.member_ids: list[str] = []
        self.contact_ids: list[str] = []
        self.company_ids: list[str] = []
        self.bucket_ids: list[str] = []
        self.program_ids: list[str] = []
        #: program id -> (its owner, the bucket it is attached to), for bucket triggers
        self.program_buckets: dict[str, tuple[str, str]] = {}

    def teardown(self) -> None:
        """Close the store under test."""
        self.sut_store.close()

    # ------------------------------------------------------------- machinery
    def _both(self, step: str, fn: Callable[[CRM], Any]) -> Any:
        """Run *fn* on both CRMs with the same ids; compare; return the reference result."""
        self.clock.advance(timedelta(seconds=1))
        start = self.next_id
        with deterministic_ids(start) as sut_ids:
            got = _attempt(lambda: fn(self.sut))
        with deterministic_ids(start) as ref_ids:
            want = _attempt(lambda: fn(self.ref))
        self.next_id = max(sut_ids.value, ref_ids.value)
        self._compare(step, got, want)
        return want.value if want.error is None else None

    def _as(self, actor: str, step: str, fn: Callable[[Any], Any]) -> Any:
        # The session is typed Any on purpose: the machine passes ids it holds as
        # plain strings (some of another team, some made up), as a caller reading
        # ids from a request would; the library checks them at run time.
        return self._both(step, lambda crm: fn(crm.as_member(actor)))

    @staticmethod
    def _compare(step: str, got: _Outcome, want: _Outcome) -> None:
        if got.error != want.error or _without_seq(got.value) != _without_seq(want.value):
            raise Mismatch(
                f"{step}: the store under test {got.describe()}, "
                f"the reference store {want.describe()}"
            )

    # ------------------------------------------------------------ choosing
    def _remember(self, kind: str, entity: Any) -> None:
        self.team_of[entity.id] = entity.team_id
        getattr(self, f"{kind}_ids").append(entity.id)

    def _pick(self, data: st.DataObject, kind: str, near: str | None = None) -> str:
        """Draw a known id of *kind*; mostly one of the same team as *near*."""
        pool: list[str] = getattr(self, f"{kind}_ids")
        if near is not None and data.draw(st.integers(0, 9), label="same team?") > 0:
            same = [i for i in pool if self.team_of[i] == self.team_of[near]]
            pool = same or pool
        return data.draw(st.sampled_from(pool), label=kind)

    def _picks(self, data: st.DataObject, kind: str, near: str, max_size: int) -> list[str]:
        n = data.draw(st.integers(0, max_size), label=f"how many {kind}")
        return [self._pick(data, kind, near) for _ in range(n)]

    def _actor(self, data: st.DataObject) -> str:
        """Draw the acting member: half the time a team's first admin."""
        admins = self.member_ids[: len(self.team_ids)]
        if data.draw(st.booleans(), label="an admin acts?"):
            return data.draw(st.sampled_from(admins), label="actor")
        return data.draw(st.sampled_from(self.member_ids), label="actor")

    def _other_member(self, data: st.DataObject, actor: str) -> str:
        """Draw a member of the actor's team other than the actor when there is one."""
        others = [
            m for m in self.member_ids if m != actor and self.team_of[m] == self.team_of[actor]
        ]
        if others and data.draw(st.integers(0, 9), label="someone else?") > 0:
            return data.draw(st.sampled_from(others), label="member")
        return self._pick(data, "member", actor)
