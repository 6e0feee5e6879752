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
"""

from __future__ import annotations

import contextlib
import unittest
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from operator import methodcaller
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import attrs
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from teamcrm import ids as _ids_module
from teamcrm.adapters.memory import MemoryStore
from teamcrm.bucket import AccessLevel
from teamcrm.clock import SettableClock
from teamcrm.errors import TeamCRMError
from teamcrm.ids import BucketId, ContactId, MemberId, TeamId
from teamcrm.interaction import InteractionKind, Outcome
from teamcrm.ports import Store
from teamcrm.program import Step, Trigger
from teamcrm.service import CRM, MemberSession
from teamcrm.team import BucketManagement, Role
from teamcrm.testing import strategies as tst
from teamcrm.testing.snapshot import store_snapshot

__all__ = [
    "START",
    "CRMComparison",
    "Counter",
    "Mismatch",
    "deterministic_ids",
    "make_state_machine_test",
    "run_comparison",
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


class CRMComparison(RuleBasedStateMachine):
    """Random use cases on the store under test and on the reference store.

    Subclasses set :attr:`store_factory` (a no-argument callable returning a
    fresh store); :func:`make_state_machine_test` does that for you.
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

    # ------------------------------------------------------------------ team
    @initialize(a=_names, b=_names, zone=_zones)
    def create_teams(self, a: str, b: str, zone: str) -> None:
        """Two teams, so that every step also probes team isolation."""
        for name in (a, b):
            result = self._both("create_team", partial(_create_team, name=name, zone=zone))
            team, admin = result
            self.team_ids.append(team.id)
            self._remember("member", admin)

    @rule(data=st.data(), name=_names, role=_roles)
    def add_member(self, data: st.DataObject, name: str, role: Role) -> None:
        actor = self._actor(data)
        member = self._as(actor, "add_member", lambda s: s.add_member(name, role=role))
        if member is not None:
            self._remember("member", member)

    @rule(data=st.data(), active=st.booleans())
    def set_active(self, data: st.DataObject, active: bool) -> None:
        actor = self._actor(data)
        target = self._other_member(data, actor)
        if active:
            self._as(actor, "reactivate_member", lambda s: s.reactivate_member(target))
        else:
            self._as(actor, "deactivate_member", lambda s: s.deactivate_member(target))

    @rule(data=st.data(), role=_roles)
    def change_role(self, data: st.DataObject, role: Role) -> None:
        actor = self._actor(data)
        target = self._other_member(data, actor)
        self._as(actor, "change_role", lambda s: s.change_role(target, role))

    @rule(data=st.data(), myself=st.booleans(), hours=st.integers(-5, 48))
    def set_away(self, data: st.DataObject, myself: bool, hours: int) -> None:
        actor = self._actor(data)
        target = None if myself else self._pick(data, "member", actor)
        until = START + timedelta(hours=hours)
        self._as(actor, "set_away", lambda s: s.set_away(until, target))

    @rule(
        data=st.data(),
        management=st.sampled_from(BucketManagement),
        file_notes=st.booleans(),
    )
    def change_settings(
        self, data: st.DataObject, management: BucketManagement, file_notes: bool
    ) -> None:
        self._as(
            self._actor(data),
            "change_settings",
            lambda s: s.change_settings(
                bucket_management=management, file_notes_under_companies=file_notes
            ),
        )

    # -------------------------------------------------------------- contacts
    @rule(
        data=st.data(),
        first=_names,
        emails=st.lists(tst.emails(), max_size=2),
        phones=st.lists(tst.phones(), max_size=2),
        custom=tst.custom_fields(max_size=3),
    )
    def create_contact(
        self,
        data: st.DataObject,
        first: str,
        emails: list[str],
        phones: list[str],
        custom: dict[str, Any],
    ) -> None:
        actor = self._actor(data)
        companies = self._picks(data, "company", actor, 1) if self.company_ids else []
        contact = self._as(
            actor,
            "create_contact",
            lambda s: s.create_contact(
                first, emails=emails, phones=phones, custom_fields=custom, company_ids=companies
            ),
        )
        if contact is not None:
            self._remember("contact", contact)

    @rule(data=st.data(), names=st.lists(_names, min_size=1, max_size=4))
    def create_contacts(self, data: st.DataObject, names: list[str]) -> None:
        actor = self._actor(data)
        bucket = None
        if self.bucket_ids:
            into: bool = data.draw(st.booleans(), label="into a bucket?")
            bucket = self._pick(data, "bucket", actor) if into else None
        drafts = [{"last_name": n} for n in names]
        created = self._as(
            actor, "create_contacts", lambda s: s.create_contacts(drafts, bucket_id=bucket)
        )
        for contact in created or ():
            self._remember("contact", contact)

    @precondition(lambda self: self.contact_ids)
    @rule(
        data=st.data(),
        expected=st.none() | st.integers(1, 4),
        change=st.one_of(
            st.builds(lambda n: {"last_name": n}, _names),
            st.builds(lambda c: {"custom_fields": c}, tst.custom_fields(max_size=3)),
            st.builds(lambda s: {"status": s}, st.sampled_from(["active", "closed", "nope"])),
            st.builds(lambda e: {"emails": e}, st.lists(tst.emails(), max_size=2)),
        ),
    )
    def update_contact(
        self, data: st.DataObject, expected: int | None, change: dict[str, Any]
    ) -> None:
        actor = self._actor(data)
        contact = self._pick(data, "contact", actor)
        self._as(
            actor,
            "update_contact",
            lambda s: s.update_contact(contact, expected_version=expected, **change),
        )

    @precondition(lambda self: self.contact_ids)
    @rule(data=st.data(), opted_out=st.booleans())
    def set_email_opt_out(self, data: st.DataObject, opted_out: bool) -> None:
        actor = self._actor(data)
        contact = self._pick(data, "contact", actor)
        self._as(actor, "set_email_opt_out", lambda s: s.set_email_opt_out(contact, opted_out))

    @precondition(lambda self: self.contact_ids)
    @rule(data=st.data())
    def delete_contact(self, data: st.DataObject) -> None:
        actor = self._actor(data)
        contact = self._pick(data, "contact", actor)
        self._as(actor, "delete_contact", lambda s: s.delete_contact(contact))

    @rule(data=st.data(), name=_names)
    def create_company(self, data: st.DataObject, name: str) -> None:
        company = self._as(self._actor(data), "create_company", lambda s: s.create_company(name))
        if company is not None:
            self._remember("company", company)

    @precondition(lambda self: self.contact_ids and self.company_ids)
    @rule(data=st.data(), link=st.booleans())
    def link_company(self, data: st.DataObject, link: bool) -> None:
        actor = self._actor(data)
        contact = self._pick(data, "contact", actor)
        company = self._pick(data, "company", actor)
        if link:
            self._as(actor, "link_company", lambda s: s.link_company(contact, company))
        else:
            self._as(actor, "unlink_company", lambda s: s.unlink_company(contact, company))

    @precondition(lambda self: self.company_ids)
    @rule(data=st.data())
    def delete_company(self, data: st.DataObject) -> None:
        actor = self._actor(data)
        company = self._pick(data, "company", actor)
        self._as(actor, "delete_company", lambda s: s.delete_company(company))

    # --------------------------------------------------------------- buckets
    @rule(data=st.data(), name=_names, personal=st.booleans())
    def create_bucket(self, data: st.DataObject, name: str, personal: bool) -> None:
        bucket = self._as(
            self._actor(data), "create_bucket", lambda s: s.create_bucket(name, personal=personal)
        )
        if bucket is not None:
            self._remember("bucket", bucket)

    @precondition(lambda self: self.bucket_ids)
    @rule(data=st.data(), name=_names, delete=st.booleans())
    def rename_or_delete_bucket(self, data: st.DataObject, name: str, delete: bool) -> None:
        actor = self._actor(data)
        bucket = self._pick(data, "bucket", actor)
        if delete:
            self._as(actor, "delete_bucket", lambda s: s.delete_bucket(bucket))
        else:
            self._as(actor, "rename_bucket", lambda s: s.rename_bucket(bucket, name))

    @precondition(lambda self: self.bucket_ids)
    @rule(
        data=st.data(),
        level=st.sampled_from(AccessLevel),
        conversations=st.booleans(),
        revoke=st.booleans(),
    )
    def share_bucket(
        self, data: st.DataObject, level: AccessLevel, conversations: bool, revoke: bool
    ) -> None:
        actor = self._actor(data)
        bucket = self._pick(data, "bucket", actor)
        member = self._other_member(data, actor)
        if revoke:
            self._as(actor, "revoke_access", lambda s: s.revoke_access(bucket, member))
            return
        self._as(
            actor,
            "grant_access",
            lambda s: s.grant_access(
                bucket, member, level=level, can_view_conversations=conversations
            ),
        )

    @precondition(lambda self: self.bucket_ids and (self.contact_ids or self.company_ids))
    @rule(data=st.data(), remove=st.booleans())
    def fill_bucket(self, data: st.DataObject, remove: bool) -> None:
        actor = self._actor(data)
        bucket = self._pick(data, "bucket", actor)
        items = self._picks(data, "contact", actor, 3) if self.contact_ids else []
        if self.company_ids:
            items += self._picks(data, "company", actor, 1)
        if remove:
            self._as(actor, "remove_from_bucket", lambda s: s.remove_from_bucket(bucket, items))
        else:
            self._as(actor, "add_to_bucket", lambda s: s.add_to_bucket(bucket, items))

    @precondition(lambda self: self.bucket_ids and self.contact_ids)
    @rule(data=st.data())
    def copy_to_personal_bucket(self, data: st.DataObject) -> None:
        actor = self._actor(data)
        contact = self._pick(data, "contact", actor)
        bucket = self._pick(data, "bucket", actor)
        self._as(
            actor, "copy_to_personal_bucket", lambda s: s.copy_to_personal_bucket(contact, bucket)
        )

    # ---------------------------------------------------------- interactions
    @precondition(lambda self: self.contact_ids or self.company_ids)
    @rule(
        data=st.data(),
        kind=st.sampled_from(InteractionKind),
        outcome=st.none() | st.sampled_from(Outcome),
        hours=st.none() | st.integers(-3, 1),
        zone=_zones,
        body=st.sampled_from(["", "Called back.\nLeft a message."]),
    )
    def log_interaction(
        self,
        data: st.DataObject,
        kind: InteractionKind,
        outcome: Outcome | None,
        hours: int | None,
        zone: str,
        body: str,
    ) -> None:
        actor = self._actor(data)
        about = self._picks(data, "contact", actor, 2) if self.contact_ids else []
        companies = self._picks(data, "company", actor, 1) if self.company_ids else []
        when = None
        if hours is not None:
            when = (START + timedelta(hours=hours)).astimezone(ZoneInfo(zone))
        self._as(
            actor,
            "log_interaction",
            lambda s: s.log_interaction(
                kind,
                contact_ids=about,
                company_ids=companies,
                occurred_at=when,
                outcome=outcome,
                body=body,
            ),
        )

    # -------------------------------------------------------------- programs
    @precondition(lambda self: self.bucket_ids)
    @rule(
        data=st.data(),
        trigger=st.sampled_from(
            ["bucket_entered", "company_bucket_entered", "contact_created", "follow_up_overdue"]
        ),
        share=st.booleans(),
    )
    def create_program(self, data: st.DataObject, trigger: str, share: bool) -> None:
        """A program of the actor's on a bucket (contacts or companies entering), add or notify.

        Or triggered by creation, or a follow-up overdue.
        """
        actor = self._actor(data)
        bucket = self._pick(data, "bucket", actor)
        when = Trigger(
            kind=trigger,
            bucket_id=BucketId(bucket) if trigger.endswith("bucket_entered") else None,
            days=1 if trigger == "follow_up_overdue" else None,
        )
        target = self._pick(data, "bucket", actor)
        steps = [Step(kind="add_to_bucket", bucket_id=BucketId(target))] if share else []
        steps.append(Step(kind="notify", text="program ran"))
        program = self._as(actor, "create_program", lambda s: s.create_program("P", when, steps))
        if program is not None:
            self._remember("program", program)
            if when.bucket_id is not None:
                self.program_buckets[program.id] = (actor, when.bucket_id)

    @precondition(lambda self: self.program_buckets and (self.contact_ids or self.company_ids))
    @rule(data=st.data())
    def enter_a_program_bucket(self, data: st.DataObject) -> None:
        """The owner adds contacts and/or a company to a program's bucket (so it enrols)."""
        program = data.draw(st.sampled_from(sorted(self.program_buckets)), label="program")
        owner, bucket = self.program_buckets[program]
        items = self._picks(data, "contact", owner, 3) if self.contact_ids else []
        if self.company_ids:
            items += self._picks(data, "company", owner, 1)
        self._as(owner, "add_to_bucket", lambda s: s.add_to_bucket(bucket, items))

    @precondition(lambda self: self.program_ids and self.bucket_ids)
    @rule(data=st.data(), pause=st.booleans())
    def attach_or_pause_program(self, data: st.DataObject, pause: bool) -> None:
        """Attach a program to another bucket, or pause it (stopping its runs)."""
        actor = self._actor(data)
        program = self._pick(data, "program", actor)
        if pause:
            self._as(actor, "pause_program", lambda s: s.pause_program(program))
            return
        bucket = self._pick(data, "bucket", actor)
        attached = self._as(actor, "attach_program", lambda s: s.attach_program(program, bucket))
        if attached is not None:
            self.program_buckets[attached.id] = (attached.owner_id, bucket)

    @precondition(lambda self: self.bucket_ids)
    @rule(data=st.data())
    def follow_up_bucket(self, data: st.DataObject) -> None:
        """A daily follow-up policy (so ``follow_up_overdue`` programs find overdue contacts)."""
        actor = self._actor(data)
        bucket = self._pick(data, "bucket", actor)
        self._as(
            actor, "create_follow_up_policy", lambda s: s.create_follow_up_policy(bucket, "1 day")
        )

    @precondition(lambda self: self.program_ids)
    @rule(days=st.integers(0, 40))
    def run_programs(self, days: int) -> None:
        """Run due steps (after *days*: follow-ups may be overdue), as one worker."""
        self._both(
            "run_programs",
            lambda crm: crm.run_programs(
                crm.now() + timedelta(days=days), limit=5, worker="stateful"
            ),
        )

    @invariant()
    def enrolments_are_single_and_visible(self) -> None:
        """At most one active run per (program, contact); a run started by the
        last step is of a contact its owner could see then (and sees now)."""
        if not self.program_ids:
            return
        now = self.clock.now()
        fresh: list[tuple[str, str]] = []
        with self.ref.store.unit_of_work(write=False) as uow:
            for team_id in self.team_ids:
                for program in uow.programs.all(team_id):
                    runs = uow.enrolments.for_program(team_id, program.id)
                    active = [e.contact_id for e in runs if e.active]
                    if len(active) != len(set(active)):
                        raise Mismatch(f"two active runs of {program.id}: {active}")
                    fresh += [
                        (program.owner_id, e.contact_id) for e in runs if e.enrolled_at == now
                    ]
        for owner, contact in fresh:  # read by the owner's own session, in units of its own
            if not self._sees(owner, contact):
                raise Mismatch(f"{owner} has a run for {contact}, which they cannot see")

    def _sees(self, member_id: str, contact_id: str) -> bool:
        try:
            self.ref.as_member(MemberId(member_id)).contact(ContactId(contact_id))
        except TeamCRMError:
            return False
        return True

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
