"""Safety properties of the core, checked with hypothesis through the public API.

(a) No sequence of valid commands lets a member read another member's
    personal bucket, or any data of another team.
(b) Invalid input to every public use case raises only ``TeamCRMError``
    subclasses and leaves the store (including the outbox) unchanged.
(c) A unit of work that fails midway changes nothing.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, run_state_machine_as_test

import teamcrm
from teamcrm.errors import NotFound, PermissionDenied, StoreError, TeamCRMError
from teamcrm.ports import Store
from teamcrm.service.buckets import BucketUseCases
from teamcrm.service.companies import CompanyUseCases
from teamcrm.service.contacts import ContactUseCases
from teamcrm.service.interactions import InteractionUseCases
from teamcrm.service.team import TeamUseCases
from teamcrm.testing import strategies as tst
from teamcrm.testing.snapshot import store_snapshot
from teamcrm.testing.stateful import CRMComparison
from teamcrm.validation import MAX_BODY

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

shared_store = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


# ============================================================ (a) privacy


def _quietly(fn: Callable[[], Any]) -> Any:
    """Return fn() or the TeamCRMError it raised."""
    try:
        return fn()
    except TeamCRMError as exc:
        return exc


class PrivacyMachine(CRMComparison):
    """Random valid commands by arbitrary members; privacy checked after each one.

    Reuses every command of the stateful comparison (on two memory stores)
    and adds the two safety invariants on the reference CRM.
    """

    store_factory = staticmethod(lambda: teamcrm.open_store("memory://"))

    def _rows(self) -> tuple[dict[str, Any], dict[str, str]]:
        """Every bucket of both teams by id, and the team of every known id."""
        with self.ref.store.unit_of_work(write=False) as uow:
            buckets = {b.id: b for t in self.team_ids for b in uow.buckets.all(t)}
        return buckets, self.team_of

    @invariant()
    def personal_buckets_stay_private(self) -> None:
        buckets, _ = self._rows()
        for viewer in self.member_ids:
            session = self.ref.as_member(viewer)
            me = _quietly(session.me)
            if isinstance(me, TeamCRMError):  # deactivated: may not read anything
                assert isinstance(me, PermissionDenied)
                continue
            visible = _quietly(session.buckets)
            assert not any(b.is_personal and b.owner_id != viewer for b in visible), (
                "buckets() shows someone else's personal bucket"
            )
            for bucket in buckets.values():
                if not bucket.is_personal or bucket.owner_id == viewer:
                    continue
                for call in (session.bucket, session.bucket_contacts, session.bucket_items):
                    result = _quietly(partial(call, bucket.id))
                    assert isinstance(result, NotFound), (call.__name__, bucket, result)
            for contact_id in self.contact_ids:
                record = _quietly(partial(session.contact_record, contact_id))
                if isinstance(record, TeamCRMError):
                    assert isinstance(record, NotFound)
                    continue
                assert all(b.is_personal and b.owner_id == viewer for b in record.my_buckets)
                assert not any(b.is_personal for b in record.team_buckets)

    @invariant()
    def other_teams_are_not_found(self) -> None:
        ids = [*self.member_ids, *self.contact_ids, *self.company_ids, *self.bucket_ids]
        for viewer in self.member_ids:
            session = self.ref.as_member(viewer)
            if isinstance(_quietly(session.me), PermissionDenied):
                continue
            mine = self.team_of[viewer]
            own_bucket = next((b for b in self.bucket_ids if self.team_of[b] == mine), None)
            for item in ids:
                if self.team_of[item] == mine:
                    continue
                probes: dict[str, list[Callable[[str], Any]]] = {
                    "mb_": [session.member],
                    "ct_": [
                        session.contact,
                        session.contact_record,
                        session.interactions_for_contact,
                    ],
                    "co_": [session.company, session.company_interactions],
                    "bk_": [session.bucket, session.bucket_contacts, session.bucket_items],
                }
                for probe in probes[item[:3]]:
                    result = _quietly(partial(probe, item))
                    assert isinstance(result, NotFound), (viewer, item, probe.__name__, result)
                if item[:3] in ("ct_", "co_") and own_bucket is not None:
                    result = _quietly(partial(session.add_to_bucket, own_bucket, item))
                    assert isinstance(result, NotFound | PermissionDenied), (viewer, item, result)


def test_members_never_see_others_personal_buckets_or_other_teams() -> None:
    run_state_machine_as_test(
        PrivacyMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


# ========================================================= (b) bad input


@attrs.frozen
class World:
    """A small team to aim bad input at."""

    crm: teamcrm.CRM
    team_id: teamcrm.TeamId
    admin: teamcrm.MemberSession
    agent_id: str
    contact_id: str
    company_id: str
    bucket_id: str
    personal_id: str


@pytest.fixture
def world() -> Iterator[World]:
    crm = teamcrm.open("memory://", clock=teamcrm.SettableClock(NOW))
    team, admin_member = crm.create_team("Acme", admin_name="Ana")
    admin = crm.as_member(admin_member.id)
    agent = admin.add_member("Bob")
    company = admin.create_company("Globex")
    contact = admin.create_contact(
        "Bea", emails=["bea@example.com"], phones=["555 010 2030"], company_ids=[company.id]
    )
    bucket = admin.create_bucket("Leads")
    personal = admin.create_bucket("Mine", personal=True)
    admin.add_to_bucket(bucket.id, [contact.id, company.id])
    admin.grant_access(bucket.id, agent.id, level="editor")
    admin.log_interaction("call", contact_ids=[contact.id], outcome="connected")
    yield World(
        crm=crm,
        team_id=team.id,
        admin=admin,
        agent_id=agent.id,
        contact_id=contact.id,
        company_id=company.id,
        bucket_id=bucket.id,
        personal_id=personal.id,
    )
    crm.close()


def _text(**kw: Any) -> st.SearchStrategy[Any]:
    return tst.invalid_texts(**kw)


_NAME = _text()
_OPT_NAME = _text(allow_none=True)
_ZONE = st.one_of(_text(max_len=60), st.just("Not/AZone"), st.just("utc+1"))
_EMAIL = st.one_of(_text(max_len=320, allow_none=True), st.just("not-an-email"), st.just("a@b"))
_ENUM = st.one_of(_text(max_len=30), st.just("superuser"), st.just(""))
_ID = st.one_of(tst.invalid_ids("ct_"), tst.invalid_ids("bk_"))
_NOT_BOOL = st.one_of(
    st.none(), st.integers(), st.text(max_size=3), st.lists(st.none(), max_size=1)
)
_WHEN = tst.invalid_datetimes().filter(lambda v: v is not None)
_IDS = st.one_of(
    _ID.filter(lambda v: v != []),
    st.lists(_ID, min_size=1, max_size=3),
    st.none(),
    st.integers(),
    st.just(b"ct_"),
)
_SOME_ID = _ID.filter(lambda v: v is not None)


def _well_formed_items(value: Any) -> bool:
    """True for an item id (or a list of them) that is merely unknown, not malformed."""
    values = value if isinstance(value, list) else [value]
    return all(
        isinstance(v, str) and re.fullmatch(r"(ct|co)_[0-9a-f]{26}", v) is not None for v in values
    )


_BAD_ITEMS = _IDS.filter(lambda v: not _well_formed_items(v))

Case = Callable[[World, Any], Any]

#: (name, bad values, call): every public use case, with one argument made bad.
CASES: list[tuple[str, st.SearchStrategy[Any], Case]] = [
    ("create_team.name", _NAME, lambda w, v: w.crm.create_team(v, admin_name="A")),
    ("create_team.admin_name", _NAME, lambda w, v: w.crm.create_team("T", admin_name=v)),
    ("create_team.zone", _ZONE, lambda w, v: w.crm.create_team("T", admin_name="A", time_zone=v)),
    (
        "create_team.email",
        _EMAIL.filter(lambda v: v is not None),
        lambda w, v: w.crm.create_team("T", admin_name="A", admin_email=v),
    ),
    ("as_member", _ID, lambda w, v: w.crm.as_member(v)),
    ("add_member.name", _NAME, lambda w, v: w.admin.add_member(v)),
    ("add_member.role", _ENUM, lambda w, v: w.admin.add_member("M", role=v)),
    (
        "add_member.email",
        _EMAIL.filter(lambda v: v is not None),
        lambda w, v: w.admin.add_member("M", email=v),
    ),
    ("add_member.zone", _ZONE, lambda w, v: w.admin.add_member("M", time_zone=v)),
    ("member", _ID, lambda w, v: w.admin.member(v)),
    (
        "update_member.name",
        _NAME.filter(lambda v: v is not None),
        lambda w, v: w.admin.update_member(w.agent_id, name=v),
    ),
    (
        "update_member.zone",
        _ZONE,
        lambda w, v: w.admin.update_member(w.agent_id, time_zone=v if v is not None else ""),
    ),
    ("deactivate_member", _ID, lambda w, v: w.admin.deactivate_member(v)),
    ("reactivate_member", _ID, lambda w, v: w.admin.reactivate_member(v)),
    ("change_role.role", _ENUM, lambda w, v: w.admin.change_role(w.agent_id, v)),
    ("set_away.until", _WHEN, lambda w, v: w.admin.set_away(v)),
    ("set_available.member", _SOME_ID, lambda w, v: w.admin.set_available(v)),
    ("change_settings.status", _NAME, lambda w, v: w.admin.change_settings(new_contact_status=v)),
    (
        "change_settings.management",
        _ENUM,
        lambda w, v: w.admin.change_settings(bucket_management=v),
    ),
    (
        "change_settings.notes",
        _NOT_BOOL,
        lambda w, v: w.admin.change_settings(file_notes_under_companies=v),
    ),
    (
        "events.after_seq",
        st.one_of(st.text(max_size=3), st.none(), st.just(-1), st.floats()),
        lambda w, v: w.admin.events(after_seq=v),
    ),
    (
        "events.limit",
        st.one_of(st.text(max_size=3), st.none(), st.just(-1), st.floats()),
        lambda w, v: w.admin.events(limit=v),
    ),
    (
        "create_contact.first_name",
        _text(allow_empty=True),
        lambda w, v: w.admin.create_contact(v, "Valid"),
    ),
    (
        "create_contact.both_names",
        st.sampled_from(["", "  ", "\t\n"]),
        lambda w, v: w.admin.create_contact(v, v),
    ),
    (
        "create_contact.email",
        _EMAIL.filter(lambda v: v is not None),
        lambda w, v: w.admin.create_contact("C", emails=[v]),
    ),
    (
        "create_contact.phone",
        st.one_of(_text(max_len=40), st.just("12"), st.just("call me")),
        lambda w, v: w.admin.create_contact("C", phones=[v]),
    ),
    (
        "create_contact.custom_fields",
        tst.invalid_custom_fields(),
        lambda w, v: w.admin.create_contact("C", custom_fields=v),
    ),
    (
        "create_contact.source",
        _text(max_len=64, allow_empty=True, allow_none=True),
        lambda w, v: w.admin.create_contact("C", source=v),
    ),
    (
        "create_contact.status",
        _text(max_len=64, allow_none=True),
        lambda w, v: w.admin.create_contact("C", status=v),
    ),
    (
        "create_contact.company_ids",
        _IDS.filter(lambda v: v is not None),
        lambda w, v: w.admin.create_contact("C", company_ids=v),
    ),
    (
        "create_contacts.drafts",
        st.one_of(
            st.integers(),
            st.text(min_size=1, max_size=3),
            st.lists(st.integers(), min_size=1, max_size=2),
            st.just([{"nick": "x"}]),
            st.just([{"first_name": ""}]),
        ),
        lambda w, v: w.admin.create_contacts(v),
    ),
    (
        "create_contacts.bucket",
        _SOME_ID,
        lambda w, v: w.admin.create_contacts([{"first_name": "C"}], bucket_id=v),
    ),
    ("contact", _ID, lambda w, v: w.admin.contact(v)),
    (
        "update_contact.last_name",
        _text(allow_empty=True),
        lambda w, v: w.admin.update_contact(w.contact_id, last_name=v),
    ),
    (
        "update_contact.custom_fields",
        tst.invalid_custom_fields(),
        lambda w, v: w.admin.update_contact(w.contact_id, custom_fields=v),
    ),
    (
        "update_contact.expected_version",
        st.one_of(st.text(max_size=3), st.floats(), st.just(0), st.just(True)),
        lambda w, v: w.admin.update_contact(w.contact_id, expected_version=v, last_name="X"),
    ),
    (
        "update_contact.field",
        st.sampled_from(["id", "team_id", "version", "created_at", "nick"]),
        lambda w, v: w.admin.update_contact(w.contact_id, **{v: "x"}),
    ),
    ("delete_contact", _ID, lambda w, v: w.admin.delete_contact(v)),
    ("link_company", _ID, lambda w, v: w.admin.link_company(w.contact_id, v)),
    ("unlink_company", _ID, lambda w, v: w.admin.unlink_company(w.contact_id, v)),
    (
        "mark_email_validated",
        _EMAIL.filter(lambda v: v is not None),
        lambda w, v: w.admin.mark_email_validated(w.contact_id, v),
    ),
    (
        "mark_phone_validated",
        _text(max_len=40),
        lambda w, v: w.admin.mark_phone_validated(w.contact_id, v),
    ),
    ("add_email.contact", _ID, lambda w, v: w.admin.add_email(v, "a@example.com")),
    ("add_email.email", _EMAIL, lambda w, v: w.admin.add_email(w.contact_id, v)),
    (
        "remove_email",
        _EMAIL.filter(lambda v: v is not None),
        lambda w, v: w.admin.remove_email(w.contact_id, v),
    ),
    ("add_phone.contact", _ID, lambda w, v: w.admin.add_phone(v, "555 010 2030")),
    (
        "add_phone.phone",
        st.one_of(_text(max_len=40, allow_none=True), st.just("12"), st.just("call me")),
        lambda w, v: w.admin.add_phone(w.contact_id, v),
    ),
    ("remove_phone", _text(max_len=40), lambda w, v: w.admin.remove_phone(w.contact_id, v)),
    (
        "set_custom_field.name",
        st.one_of(st.none(), st.integers(), st.just(""), st.just("x" * 65), st.just("a\nb")),
        lambda w, v: w.admin.set_custom_field(w.contact_id, v, 1),
    ),
    (
        "set_custom_field.value",
        st.one_of(st.just(float("nan")), st.just(2**63), st.just([1]), st.just({"a": 1})),
        lambda w, v: w.admin.set_custom_field(w.contact_id, "k", v),
    ),
    ("set_custom_field.contact", _ID, lambda w, v: w.admin.set_custom_field(v, "k", 1)),
    (
        "remove_custom_field",
        st.one_of(st.none(), st.integers(), st.just(""), st.just("x" * 65)),
        lambda w, v: w.admin.remove_custom_field(w.contact_id, v),
    ),
    ("create_company.name", _NAME, lambda w, v: w.admin.create_company(v)),
    (
        "create_company.domain",
        _text(max_len=253, allow_empty=True, allow_none=True),
        lambda w, v: w.admin.create_company("Co", domain=v),
    ),
    ("company", _ID, lambda w, v: w.admin.company(v)),
    (
        "update_company.name",
        _NAME.filter(lambda v: v is not None),
        lambda w, v: w.admin.update_company(w.company_id, name=v),
    ),
    ("delete_company", _ID, lambda w, v: w.admin.delete_company(v)),
    ("create_bucket.name", _NAME, lambda w, v: w.admin.create_bucket(v)),
    ("create_bucket.personal", _NOT_BOOL, lambda w, v: w.admin.create_bucket("B", personal=v)),
    ("rename_bucket.name", _NAME, lambda w, v: w.admin.rename_bucket(w.bucket_id, v)),
    ("delete_bucket", _ID, lambda w, v: w.admin.delete_bucket(v)),
    ("bucket", _ID, lambda w, v: w.admin.bucket(v)),
    ("grant_access.member", _ID, lambda w, v: w.admin.grant_access(w.bucket_id, v)),
    (
        "grant_access.level",
        _ENUM,
        lambda w, v: w.admin.grant_access(w.bucket_id, w.agent_id, level=v),
    ),
    (
        "grant_access.conversations",
        _NOT_BOOL,
        lambda w, v: w.admin.grant_access(w.bucket_id, w.agent_id, can_view_conversations=v),
    ),
    (
        "grant_access.personal",
        st.just(None),
        lambda w, v: w.admin.grant_access(w.personal_id, w.agent_id),
    ),
    ("revoke_access.member", _ID, lambda w, v: w.admin.revoke_access(w.bucket_id, v)),
    ("share_with_team.bucket", _ID, lambda w, v: w.admin.share_with_team(v)),
    ("share_with_team.level", _ENUM, lambda w, v: w.admin.share_with_team(w.bucket_id, level=v)),
    (
        "share_with_team.conversations",
        _NOT_BOOL,
        lambda w, v: w.admin.share_with_team(w.bucket_id, can_view_conversations=v),
    ),
    (
        "share_with_team.personal",
        st.just(None),
        lambda w, v: w.admin.share_with_team(w.personal_id),
    ),
    ("unshare_with_team.bucket", _ID, lambda w, v: w.admin.unshare_with_team(v)),
    ("set_holds_all.bucket", _ID, lambda w, v: w.admin.set_holds_all(v)),
    ("add_to_buckets.buckets", _IDS, lambda w, v: w.admin.add_to_buckets(v, w.contact_id)),
    ("add_to_buckets.items", _IDS, lambda w, v: w.admin.add_to_buckets([w.bucket_id], v)),
    (
        "move_between_buckets.from",
        _ID,
        lambda w, v: w.admin.move_between_buckets(v, w.bucket_id, w.contact_id),
    ),
    (
        "move_between_buckets.items",
        _IDS,
        lambda w, v: w.admin.move_between_buckets(w.bucket_id, w.personal_id, v),
    ),
    ("set_buckets.contact", _ID, lambda w, v: w.admin.set_buckets(v, [])),
    ("set_buckets.buckets", _IDS, lambda w, v: w.admin.set_buckets(w.contact_id, v)),
    ("set_holds_all.flag", _NOT_BOOL, lambda w, v: w.admin.set_holds_all(w.bucket_id, v)),
    (
        "set_holds_all.include_existing",
        _NOT_BOOL,
        lambda w, v: w.admin.set_holds_all(w.bucket_id, include_existing=v),
    ),
    (
        "set_holds_all.personal",
        st.just(None),
        lambda w, v: w.admin.set_holds_all(w.personal_id),
    ),
    ("add_to_bucket.items", _IDS, lambda w, v: w.admin.add_to_bucket(w.bucket_id, v)),
    ("add_to_bucket.bucket", _ID, lambda w, v: w.admin.add_to_bucket(v, w.contact_id)),
    (
        "remove_from_bucket.items",
        _BAD_ITEMS,
        lambda w, v: w.admin.remove_from_bucket(w.bucket_id, v),
    ),
    (
        "copy_to_personal_bucket",
        _ID,
        lambda w, v: w.admin.copy_to_personal_bucket(v, w.personal_id),
    ),
    ("bucket_items", _ID, lambda w, v: w.admin.bucket_items(v)),
    ("bucket_contacts", _ID, lambda w, v: w.admin.bucket_contacts(v)),
    (
        "log_interaction.kind",
        _ENUM,
        lambda w, v: w.admin.log_interaction(v, contact_ids=[w.contact_id]),
    ),
    ("log_interaction.contacts", _IDS, lambda w, v: w.admin.log_interaction("note", contact_ids=v)),
    (
        "log_interaction.no_target",
        st.just([]),
        lambda w, v: w.admin.log_interaction("note", contact_ids=v),
    ),
    (
        "log_interaction.occurred_at",
        _WHEN,
        lambda w, v: w.admin.log_interaction("note", contact_ids=[w.contact_id], occurred_at=v),
    ),
    (
        "log_interaction.outcome",
        _ENUM.filter(lambda v: v is not None),
        lambda w, v: w.admin.log_interaction("call", contact_ids=[w.contact_id], outcome=v),
    ),
    (
        "log_interaction.body",
        _text(max_len=MAX_BODY, allow_empty=True, multiline=True),
        lambda w, v: w.admin.log_interaction("note", contact_ids=[w.contact_id], body=v),
    ),
    (
        "log_interaction.via",
        _text(max_len=320, allow_empty=True, allow_none=True),
        lambda w, v: w.admin.log_interaction("call", contact_ids=[w.contact_id], via=v),
    ),
    (
        "log_interaction.reference",
        _text(max_len=200, allow_empty=True, allow_none=True),
        lambda w, v: w.admin.log_interaction("note", contact_ids=[w.contact_id], reference=v),
    ),
    ("interactions_for_contact", _ID, lambda w, v: w.admin.interactions_for_contact(v)),
    ("company_interactions", _ID, lambda w, v: w.admin.company_interactions(v)),
    ("contact_record", _ID, lambda w, v: w.admin.contact_record(v)),
    (
        "opportunity_notes",
        tst.invalid_ids("op_").filter(lambda v: v is not None),
        lambda w, v: w.admin.opportunity_notes(v),
    ),
    (
        "case_notes",
        tst.invalid_ids("ca_").filter(lambda v: v is not None),
        lambda w, v: w.admin.case_notes(v),
    ),
    (
        "log_interaction.opportunity_id",
        tst.invalid_ids("op_").filter(lambda v: v is not None),
        lambda w, v: w.admin.log_interaction("note", contact_ids=[w.contact_id], opportunity_id=v),
    ),
    (
        "log_interaction.case_id",
        tst.invalid_ids("ca_").filter(lambda v: v is not None),
        lambda w, v: w.admin.log_interaction("note", contact_ids=[w.contact_id], case_id=v),
    ),
]


@pytest.mark.parametrize(("name", "bad", "call"), CASES, ids=[c[0] for c in CASES])
@shared_store
@given(data=st.data())
def test_invalid_input_raises_a_teamcrm_error_and_changes_nothing(
    world: World, name: str, bad: st.SearchStrategy[Any], call: Case, data: st.DataObject
) -> None:
    value = data.draw(bad, label=name)
    before = store_snapshot(world.crm.store, [world.team_id])
    with pytest.raises(TeamCRMError):
        call(world, value)
    assert store_snapshot(world.crm.store, [world.team_id]) == before


def test_every_public_use_case_is_probed_with_bad_input() -> None:
    probed = {name.split(".")[0] for name, _, _ in CASES}
    mixins = (TeamUseCases, ContactUseCases, CompanyUseCases, BucketUseCases, InteractionUseCases)
    public = {n for cls in mixins for n in vars(cls) if not n.startswith("_")}
    no_arguments = {"me", "team", "members", "buckets", "companies", "unparsed_phones"}
    missing = public - probed - no_arguments
    assert not missing, f"use cases without a bad-input case: {sorted(missing)}"


# ===================================================== (c) failing midway


class _Fault(StoreError):
    """The error the faulty store injects."""


@attrs.define
class _Budget:
    """How many repository calls (and commits) may run before the fault fires."""

    left: int
    fired: bool = False

    def spend(self) -> None:
        if self.left <= 0:
            self.fired = True
            raise _Fault("injected fault")
        self.left -= 1


class _FaultyRepo:
    def __init__(self, inner: Any, budget: _Budget) -> None:
        self._inner = inner
        self._budget = budget

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self._budget.spend()
            return attr(*args, **kwargs)

        return call


class _FaultyUnit:
    def __init__(self, inner: Any, budget: _Budget) -> None:
        self._inner = inner
        self._budget = budget

    def __enter__(self) -> _FaultyUnit:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._inner.__exit__(*exc)

    def commit(self) -> None:
        self._budget.spend()
        self._inner.commit()

    def collect(self, *events: Any) -> None:
        self._inner.collect(*events)

    def rollback(self) -> None:
        self._inner.rollback()

    def __getattr__(self, name: str) -> Any:
        return _FaultyRepo(getattr(self._inner, name), self._budget)


class _FaultyStore:
    """Wraps a store; the N-th repository call or commit raises ``_Fault``."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.url = inner.url
        self.budget: _Budget | None = None

    def unit_of_work(self, *, write: bool = True) -> Any:
        uow = self.inner.unit_of_work(write=write)
        return uow if self.budget is None else _FaultyUnit(uow, self.budget)

    def close(self) -> None:
        self.inner.close()


#: Valid commands that each write several rows in one unit of work.
COMMANDS: dict[str, Case] = {
    "create_contacts_into_bucket": lambda w, _: w.admin.create_contacts(
        [{"first_name": f"C{i}", "company_ids": [w.company_id]} for i in range(3)],
        bucket_id=w.bucket_id,
    ),
    "log_connected_call": lambda w, _: w.admin.log_interaction(
        "call",
        contact_ids=[w.contact_id],
        company_ids=[w.company_id],
        outcome="connected",
        via="555 010 2030",
    ),
    "delete_company": lambda w, _: w.admin.delete_company(w.company_id),
    "delete_contact": lambda w, _: w.admin.delete_contact(w.contact_id),
    "delete_bucket": lambda w, _: w.admin.delete_bucket(w.bucket_id),
    "grant_access": lambda w, _: w.admin.grant_access(
        w.bucket_id, w.agent_id, can_view_conversations=True
    ),
    "add_to_bucket": lambda w, _: w.admin.add_to_bucket(w.personal_id, [w.contact_id]),
    "update_contact": lambda w, _: w.admin.update_contact(
        w.contact_id, last_name="Jones", custom_fields={"tier": 1}
    ),
    "deactivate_member": lambda w, _: w.admin.deactivate_member(w.agent_id),
    "change_settings": lambda w, _: w.admin.change_settings(bucket_management="managers"),
    "add_member": lambda w, _: w.admin.add_member("Olga", role="manager"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@settings(max_examples=15, deadline=None)
@given(calls=st.integers(0, 40))
def test_a_unit_that_fails_midway_changes_nothing(command: str, calls: int) -> None:
    clock = teamcrm.SettableClock(NOW)
    faulty = _FaultyStore(teamcrm.open_store("memory://"))
    crm = teamcrm.CRM(faulty, clock=clock)  # type: ignore[arg-type]
    team, admin_member = crm.create_team("Acme", admin_name="Ana")
    admin = crm.as_member(admin_member.id)
    agent = admin.add_member("Bob")
    company = admin.create_company("Globex")
    contact = admin.create_contact("Bea", phones=["555 010 2030"], company_ids=[company.id])
    bucket = admin.create_bucket("Leads")
    personal = admin.create_bucket("Mine", personal=True)
    admin.add_to_bucket(bucket.id, [contact.id])
    w = World(
        crm=crm,
        team_id=team.id,
        admin=admin,
        agent_id=agent.id,
        contact_id=contact.id,
        company_id=company.id,
        bucket_id=bucket.id,
        personal_id=personal.id,
    )
    clock.advance(timedelta(minutes=1))
    before = store_snapshot(faulty.inner, [team.id], [contact.id])
    faulty.budget = budget = _Budget(calls)
    with contextlib.suppress(_Fault):
        COMMANDS[command](w, None)
    faulty.budget = None
    after = store_snapshot(faulty.inner, [team.id], [contact.id])
    if budget.fired:
        assert after == before
    else:
        assert after != before, "the command should have changed something"


@shared_store
@given(when=tst.out_of_range_datetimes())
def test_datetimes_without_a_utc_equivalent_are_validation_errors(
    world: World, when: datetime
) -> None:
    before = store_snapshot(world.crm.store, [world.team_id])
    with pytest.raises(TeamCRMError):
        world.admin.set_away(when)
    assert store_snapshot(world.crm.store, [world.team_id]) == before
