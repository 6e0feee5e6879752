"""Properties over the whole public API (issue 13, "proof, not hope").

1. **One error vocabulary**: every public method of :class:`MemberSession` and
   :class:`CRM`, called with wrong-typed and extreme arguments (``None``,
   ``[]``, ``{}``, huge ints, ``nan``, ``datetime.min``/``max`` with a time
   zone, naive datetimes, ids of nothing...), raises only
   :class:`~teamcrm.errors.TeamCRMError` subclasses.
2. **Visibility**: as a random member of a random team (random roles,
   buckets, grants with or without conversations, contacts and companies in
   buckets, some personal), every read returns only what that member may see
   by the rules of :mod:`teamcrm.permissions`, recomputed here from the raw
   store rows; and every refused command (``PermissionDenied``, ``NotFound``,
   ``ValidationError``) leaves the store exactly as it was.

Both run on ``memory://`` and SQLite; the visibility property on PostgreSQL
too when a test server is configured.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import teamcrm
from teamcrm import MemberSession, TeamCRMError

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

# ---------------------------------------------------------------- the fuzz world


class FuzzWorld:
    """A small team with one record of every kind, and ids of records that do not exist."""

    def __init__(self, url: str) -> None:
        self.clock = teamcrm.SettableClock(START)
        self.crm = teamcrm.open(url, clock=self.clock)
        _, admin = self.crm.create_team("Fuzz", admin_name="Ana", admin_email="ana@x.com")
        ana = self.admin = self.crm.as_member(admin.id)
        bob = ana.add_member("Bob", email="bob@x.com")
        ana.add_member("Max", role="manager")
        bucket = ana.create_bucket("Web")
        personal = ana.create_bucket("Mine", personal=True)
        company = ana.create_company("Acme", domain="acme.com")
        contacts = ana.create_contacts(
            [
                {"first_name": "Zoe", "emails": ["zoe@x.com"], "phones": ["+15550100001"]},
                {"first_name": "Yan", "company_ids": [company.id]},
            ],
            bucket_id=bucket.id,
        )
        pool = ana.create_pool(
            "Pool", source_bucket_ids=[bucket.id], member_ids=[bob.id], method="round_robin"
        )
        lead_contact = ana.create_contacts([{"first_name": "Lea"}], bucket_id=bucket.id)[0]
        lead = ana.leads(pool_id=pool.id)[0]
        offered = ana.assign(contacts[0].id, bob.id, offer=True).offers
        task = ana.create_task(contacts[0].id, START + timedelta(days=1), "call")
        policy = ana.create_follow_up_policy(bucket.id, "7 days")
        saved = ana.save_filter("Zoes", {"name": "zoe"})
        ana.define_role("buyer agent")
        interaction = ana.log_interaction("note", contact_ids=[contacts[0].id], body="hi")
        notes = self.crm.as_member(bob.id).notifications()
        self.ids: dict[str, list[str]] = {
            "ct_": [c.id for c in contacts] + [lead_contact.id],
            "co_": [company.id],
            "bk_": [bucket.id, personal.id],
            "mb_": [admin.id, bob.id],
            "lp_": [pool.id],
            "ld_": [lead.id],
            "of_": [o.id for o in offered],
            "tk_": [task.id],
            "fp_": [policy.id],
            "sf_": [saved.id],
            "in_": [interaction.id],
            "nt_": [n.id for n in notes],
            "tm_": [ana.team_id],
        }

    def close(self) -> None:
        self.crm.close()


#: Values of the wrong type or at the edge of their type.
_NAIVE = datetime(2026, 1, 5, 9, 0)
WEIRD: list[Any] = [
    None,
    [],
    {},
    (),
    set(),
    "",
    " ",
    "x",
    "\x00",
    "ct_" + "0" * 26,
    "mb_" + "f" * 26,
    "a" * 10_000,
    b"bytes",
    0,
    -1,
    2**70,
    -(2**70),
    True,
    math.nan,
    math.inf,
    1.5,
    _NAIVE,
    datetime.min.replace(tzinfo=UTC),
    datetime.max.replace(tzinfo=UTC),
    datetime.min.replace(tzinfo=timezone(timedelta(hours=14))),
    datetime.max.replace(tzinfo=timezone(timedelta(hours=-14))),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 30, tzinfo=UTC),
    date(2026, 1, 5),
    timedelta(0),
    timedelta(-1),
    timedelta.max,
    timedelta.min,
    timedelta(days=1),
    {"a": 1},
    {"a": math.nan},
    {"a": 2**70},
    {"a": [1]},
    {"a": datetime.max.replace(tzinfo=UTC)},
    {"created_after": datetime.min.replace(tzinfo=UTC)},
    [math.nan],
    {"name": None},
    {None: 1},
    [None],
    [[]],
    [{}],
    ["x"],
    [2**70],
    object(),
    START,
]


def _valid_values(world: FuzzWorld, name: str) -> list[Any]:
    """Plausible values for a parameter, by its name (so calls reach deeper code)."""
    ids = world.ids
    by_prefix = {
        "contact": "ct_",
        "company": "co_",
        "bucket": "bk_",
        "member": "mb_",
        "assignee": "mb_",
        "pool": "lp_",
        "lead": "ld_",
        "offer": "of_",
        "task": "tk_",
        "policy": "fp_",
        "filter": "sf_",
        "team": "tm_",
    }
    out: list[Any] = []
    for word, prefix in by_prefix.items():
        if word in name:
            out += ids[prefix]
            out.append(ids[prefix])  # a list of them, for the bulk parameters
    if name in ("ids", "item_ids", "leads_or_contacts"):
        out += [ids["nt_"], ids["ct_"], ids["ld_"]]
    if name in ("at", "until", "due_at", "occurred_at", "now", "start", "end"):
        out += [START, START + timedelta(days=3), START - timedelta(days=3)]
    if "window" in name or name in ("interval", "lease"):
        out += [timedelta(hours=1), timedelta(days=30)]
    if name in ("name", "first_name", "last_name", "note", "reason", "body", "role"):
        out += ["Zed", "buyer agent"]
    if name in ("kind",):
        out += ["call", "note"]
    if name in ("cadence", "follow_up"):
        out += ["7 days", "2 weeks"]
    if name in ("limit", "after_seq", "expected_version"):
        out += [1, 5]
    if name in ("status",):
        out += ["active", "open", "assigned"]
    if name in ("sort_by",):
        out += ["assigned_at", "contact_name"]
    if name in ("query",):
        out += [{"name": "zoe"}]
    if name in ("drafts",):
        out += [[{"first_name": "Q"}]]
    return out


class Sender:
    """Accepts every digest."""

    def send(self, message: object) -> None:
        """Drop the message."""


SESSION_METHODS = sorted(
    name
    for name in dir(MemberSession)
    if not name.startswith("_") and callable(getattr(MemberSession, name))
)
CRM_METHODS = ["send_digests", "expire_offers", "enforce_response_windows", "as_member"]
EXTRA_KEYWORDS = ["bogus", "name", "status", "first_name", "emails", "active", "capacity"]


def _call_args(
    world: FuzzWorld, fn: Callable[..., Any], data: st.DataObject
) -> tuple[list[Any], dict[str, Any]]:
    """Draw positional and keyword arguments for *fn*.

    Mostly one parameter gets a weird value and the others plausible ones
    (or their defaults), so each parameter's check is reached; sometimes
    every parameter is drawn at random.
    """
    params = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.name != "self" and p.kind is not p.VAR_POSITIONAL
    ]
    one_weird = data.draw(st.integers(0, 3)) > 0
    weird_at = data.draw(st.integers(0, max(len(params) - 1, 0))) if one_weird else -1
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    positional_ok = True
    for index, p in enumerate(params):
        if p.kind is p.VAR_KEYWORD:
            keys = data.draw(st.lists(st.sampled_from(EXTRA_KEYWORDS), max_size=2, unique=True))
            for key in keys:
                pool = WEIRD if index == weird_at or not one_weird else []
                kwargs[key] = data.draw(st.sampled_from(pool + _valid_values(world, key) or WEIRD))
            continue
        valid = _valid_values(world, p.name)
        optional = p.default is not p.empty
        if index == weird_at or not one_weird:
            value = data.draw(st.sampled_from(WEIRD + valid))
        elif optional and (not valid or data.draw(st.booleans())):
            positional_ok = False  # left out: later ones go by keyword
            continue
        else:
            value = data.draw(st.sampled_from(valid or WEIRD))
        if p.kind is p.KEYWORD_ONLY or not positional_ok:
            kwargs[p.name] = value
        else:
            args.append(value)
    return args, kwargs


def _fuzz(world: FuzzWorld, target: Any, name: str, data: st.DataObject) -> None:
    fn = getattr(target, name)
    args, kwargs = _call_args(world, fn, data)
    if name == "send_digests":
        sender = data.draw(st.sampled_from([Sender(), Sender(), None, object()]))
        if len(args) >= 2:
            args[1] = sender
        else:
            kwargs["sender"] = sender
    with contextlib.suppress(TeamCRMError):
        fn(*args, **kwargs)


@pytest.fixture(params=["memory", "sqlite"], scope="module")
def fuzz_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``memory://`` or a SQLite file."""
    if request.param == "memory":
        return "memory://"
    path: Path = tmp_path_factory.mktemp("fuzz") / "crm.db"
    return f"sqlite:///{path}"


@pytest.fixture
def fuzz_world(fuzz_url: str) -> Iterator[FuzzWorld]:
    """A fresh :class:`FuzzWorld` (each method mutates its own)."""
    if fuzz_url.startswith("sqlite:///"):
        Path(fuzz_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    world = FuzzWorld(fuzz_url)
    yield world
    world.close()


_FUZZ_SETTINGS = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("name", SESSION_METHODS)
@_FUZZ_SETTINGS
@given(data=st.data())
def test_session_methods_raise_only_teamcrm_errors(
    fuzz_world: FuzzWorld, name: str, data: st.DataObject
) -> None:
    """Every MemberSession method, fed weird arguments, raises only TeamCRMError subclasses."""
    _fuzz(fuzz_world, fuzz_world.admin, name, data)


@pytest.mark.parametrize("name", CRM_METHODS)
@_FUZZ_SETTINGS
@given(data=st.data())
def test_crm_methods_raise_only_teamcrm_errors(
    fuzz_world: FuzzWorld, name: str, data: st.DataObject
) -> None:
    """The CRM's member-less calls, fed weird arguments, raise only TeamCRMError subclasses."""
    _fuzz(fuzz_world, fuzz_world.crm, name, data)


def _sweep(world: FuzzWorld, target: Any, name: str) -> None:
    """Call *name* once per (parameter, weird value), the other parameters plausible."""
    fn = getattr(target, name)
    params = [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    plausible: dict[str, Any] = {}
    for p in params:
        valid = _valid_values(world, p.name)
        if valid:
            plausible[p.name] = valid[0]
        elif p.default is p.empty:
            plausible[p.name] = Sender() if p.name == "sender" else "x"
    for p in params:
        for value in WEIRD:
            kwargs = {**plausible, p.name: value}
            if p.kind is p.POSITIONAL_ONLY:  # pragma: no cover - none in the API
                continue
            try:
                fn(**kwargs)
            except TeamCRMError:
                pass
            except Exception as exc:
                raise AssertionError(
                    f"{name}({p.name}={value!r}) raised {type(exc).__name__}: {exc}"
                ) from exc


@pytest.mark.parametrize("name", SESSION_METHODS)
def test_every_session_parameter_refuses_weird_values_in_the_vocabulary(
    fuzz_world: FuzzWorld, name: str
) -> None:
    """Each parameter of each MemberSession method, given each weird value: TeamCRMError only."""
    _sweep(fuzz_world, fuzz_world.admin, name)


@pytest.mark.parametrize("name", CRM_METHODS)
def test_every_crm_parameter_refuses_weird_values_in_the_vocabulary(
    fuzz_world: FuzzWorld, name: str
) -> None:
    """Each parameter of the CRM's member-less calls, given each weird value: TeamCRMError only."""
    _sweep(fuzz_world, fuzz_world.crm, name)


#: The keyword fields of the calls that take ``**fields``.
KEYWORD_FIELDS = {
    "search": [
        "name",
        "email",
        "phone",
        "company_id",
        "status",
        "bucket_id",
        "assignee_id",
        "source",
        "custom_field",
        "custom_value",
        "last_contacted",
        "created",
    ],
    "update_contact": [
        "first_name",
        "last_name",
        "emails",
        "phones",
        "company_ids",
        "status",
        "source",
        "custom_fields",
    ],
    "update_pool": [
        "name",
        "source_bucket_ids",
        "member_ids",
        "method",
        "offer_window",
        "follow_up",
        "fallback_member_id",
        "weights",
        "capacity",
        "member_capacity",
        "response_window",
        "dedupe",
    ],
    "change_settings": [
        "bucket_management",
        "file_notes_under_companies",
        "statuses",
        "new_contact_status",
        "new_lead_status",
    ],
}
DATE_RANGES: list[Any] = [
    (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)),
    (None, None),
    (START, None),
    (_NAIVE, START),
    [START],
    {"start": START},
]


@pytest.mark.parametrize("name", sorted(KEYWORD_FIELDS))
def test_every_keyword_field_refuses_weird_values_in_the_vocabulary(
    fuzz_world: FuzzWorld, name: str
) -> None:
    """``search(**criteria)``, ``update_contact(**changes)``... stay in the vocabulary too."""
    fn = getattr(fuzz_world.admin, name)
    first: list[Any] = []
    if name == "update_contact":
        first = [fuzz_world.ids["ct_"][0]]
    elif name == "update_pool":
        first = [fuzz_world.ids["lp_"][0]]
    for field in KEYWORD_FIELDS[name]:
        for value in [*WEIRD, *DATE_RANGES]:
            try:
                fn(*first, **{field: value})
            except TeamCRMError:
                pass
            except Exception as exc:
                raise AssertionError(
                    f"{name}({field}={value!r}) raised {type(exc).__name__}: {exc}"
                ) from exc


# ----------------------------------------------- the issue's named cases (item 11)
def test_the_issues_out_of_vocabulary_cases_are_validation_errors(fuzz_world: FuzzWorld) -> None:
    """sort_by=[]/{}; send_digests at year 1; insights near year 9999: ValidationError each."""
    ana = fuzz_world.admin
    for bad in ([], {}):
        with pytest.raises(teamcrm.ValidationError, match="sort_by"):
            ana.routing_dashboard(sort_by=bad)
    with pytest.raises(teamcrm.ValidationError, match="now"):
        fuzz_world.crm.send_digests(datetime(1, 1, 1, tzinfo=UTC), Sender())
    with pytest.raises(teamcrm.ValidationError, match="interval"):
        fuzz_world.crm.send_digests(START, Sender(), interval=timedelta.max)
    with pytest.raises(teamcrm.ValidationError, match="start"):
        ana.insights(
            start=datetime(9999, 12, 30, tzinfo=UTC), end=datetime(9999, 12, 31, tzinfo=UTC)
        )
    with pytest.raises(teamcrm.ValidationError, match="response_window"):
        ana.agent_grid(response_window=timedelta.max)
