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
   store rows (own grants and team-wide access); and every refused command
   (``PermissionDenied``, ``NotFound``, ``AlreadyExists``,
   ``ValidationError``) leaves the store exactly as it was.

Both run on ``memory://`` and SQLite; the visibility property on PostgreSQL
too when a test server is configured.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import types
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pg_support
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


@pytest.fixture(autouse=True, scope="module")
def _work_in_a_scratch_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Run the sweep in a scratch directory: odd path values ("x", ids) are written there."""
    before = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    try:
        yield
    finally:
        os.chdir(before)


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


# ====================================================== visibility over the API
#: A random team: members, buckets, grants, contacts, companies, links, notes.
Spec = dict[str, Any]


@st.composite
def team_specs(draw: st.DrawFn) -> Spec:
    """A small random team, as plain data the test builds through the API."""
    n_members = draw(st.integers(2, 4))
    roles = ["admin"] + [
        draw(st.sampled_from(["agent", "agent", "manager"])) for _ in range(n_members - 1)
    ]
    n_buckets = draw(st.integers(1, 3))
    grants = {
        (b, m): draw(st.sampled_from([None, None, "viewer", "editor"]))
        for b in range(n_buckets)
        for m in range(1, n_members)
    }
    conversations = {key: draw(st.booleans()) for key in grants}
    # Some buckets are also shared with the whole team (seed 000/004).
    team_share = [
        draw(st.sampled_from([None, None, ("viewer", False), ("viewer", True), ("editor", False)]))
        for _ in range(n_buckets)
    ]
    personal = [draw(st.booleans()) for _ in range(n_members)]
    n_companies = draw(st.integers(0, 2))
    n_contacts = draw(st.integers(1, 5))
    bucket_ids = st.sets(st.integers(0, n_buckets - 1), max_size=n_buckets)
    return {
        "roles": roles,
        "grants": grants,
        "conversations": conversations,
        "team_share": team_share,
        "personal": personal,
        "n_buckets": n_buckets,
        "companies": [
            {"creator": draw(st.integers(0, n_members - 1)), "buckets": draw(bucket_ids)}
            for _ in range(n_companies)
        ],
        "contacts": [
            {
                "creator": draw(st.integers(0, n_members - 1)),
                "buckets": draw(bucket_ids),
                "personal": draw(st.booleans()),
                "companies": draw(st.sets(st.integers(0, max(n_companies - 1, 0)), max_size=2))
                if n_companies
                else set(),
                "note_by": draw(st.integers(0, n_members - 1)),
                "task_for": draw(st.integers(0, n_members - 1)),
            }
            for _ in range(n_contacts)
        ],
        "follows": [draw(st.integers(0, n_buckets - 1)) for _ in range(n_members)],
        "revoke": draw(st.sets(st.sampled_from(sorted(grants)), max_size=2)) if grants else set(),
        "viewer": draw(st.integers(0, n_members - 1)),
    }


class Built:
    """The team of a :data:`Spec`, built through the public API."""

    def __init__(self, crm: teamcrm.CRM, spec: Spec) -> None:
        self.crm = crm
        _, admin = crm.create_team("Prop", admin_name="M0")
        ana = crm.as_member(admin.id)
        self.team_id = ana.team_id
        self.sessions = [ana] + [
            crm.as_member(ana.add_member(f"M{i}", role=role).id)
            for i, role in enumerate(spec["roles"][1:], start=1)
        ]
        self.members = [s.member_id for s in self.sessions]
        self.buckets = [ana.create_bucket(f"B{b}").id for b in range(spec["n_buckets"])]
        for (b, m), level in spec["grants"].items():
            if level is not None:
                ana.grant_access(
                    self.buckets[b],
                    self.members[m],
                    level=level,
                    can_view_conversations=spec["conversations"][(b, m)],
                )
        for b, shared in enumerate(spec["team_share"]):
            if shared is not None:
                level, conversations = shared
                ana.share_with_team(
                    self.buckets[b], level=level, can_view_conversations=conversations
                )
        self.personal = {
            i: s.create_bucket(f"P{i}", personal=True).id
            for i, s in enumerate(self.sessions)
            if spec["personal"][i]
        }
        self.companies = []
        for co in spec["companies"]:
            made = self.sessions[co["creator"]].create_company(f"Co{len(self.companies)}")
            if co["buckets"]:
                for b in co["buckets"]:
                    ana.add_to_bucket(self.buckets[b], made.id)
            self.companies.append(made.id)
        self.contacts = []
        start = crm.now()
        for n, ct in enumerate(spec["contacts"]):
            creator = self.sessions[ct["creator"]]
            made = ana.create_contact(
                f"C{n}",
                emails=[f"c{n}@x.com"],
                company_ids=[self.companies[c] for c in ct["companies"]],
            )
            for b in ct["buckets"]:
                ana.add_to_bucket(self.buckets[b], made.id)
            if ct["creator"] in self.personal and ct["personal"]:
                # the creator's own: a contact of theirs, copied to their personal bucket
                mine = creator.create_contact(f"C{n}p", emails=[f"c{n}p@x.com"])
                creator.add_to_bucket(self.personal[ct["creator"]], mine.id)
                self.contacts.append(mine.id)
            self.contacts.append(made.id)
            author = self.sessions[ct["note_by"]]
            with contextlib.suppress(teamcrm.NotFound):  # only about contacts it sees
                author.log_interaction("note", contact_ids=[made.id], body=f"about C{n}")
            with contextlib.suppress(teamcrm.ValidationError):  # the member must see it
                ana.create_task(
                    made.id, start + timedelta(hours=1), member_id=self.members[ct["task_for"]]
                )
        for i, b in enumerate(spec["follows"]):
            with contextlib.suppress(teamcrm.ValidationError):
                ana.create_follow_up_policy(self.buckets[b], "1 day", member_id=self.members[i])
        ana.save_filter("Everyone", {}, shared=True)
        for b, m in spec["revoke"]:  # rights change after the lists were filled
            ana.revoke_access(self.buckets[b], self.members[m])


class Rules:
    """The visibility rules, recomputed from raw store rows (not via teamcrm.permissions)."""

    def __init__(self, crm: teamcrm.CRM, team_id: str, viewer: str) -> None:
        with crm.store.unit_of_work(write=False) as uow:
            tid = teamcrm.TeamId(team_id)
            me = uow.members.get(tid, teamcrm.MemberId(viewer))
            self.boss = me.role.value in ("admin", "manager")
            self.members = {m.id: m for m in uow.members.all(tid)}
            self.buckets = {b.id: b for b in uow.buckets.all(tid)}
            contacts = uow.contacts.all(tid)
            companies = uow.companies.all(tid)
            self.created = {x.id: x.created_by for x in [*contacts, *companies]}
            self.held: dict[str, set[str]] = {x: set() for x in self.created}
            for m in uow.memberships.buckets_of(tid, list(self.created)):
                self.held[m.item_id].add(m.bucket_id)
            self.contacts = [c.id for c in contacts]
            self.companies = [c.id for c in companies]
            self.interactions = {
                c: uow.interactions.for_contact(tid, teamcrm.ContactId(c)) for c in self.contacts
            }
        self.viewer = viewer

    def grant(self, bucket_id: str) -> Any:
        """(sees, can view conversations) through the member's own grant or the team's access."""
        bucket = self.buckets[bucket_id]
        own = next((g for g in bucket.grants if g.member_id == self.viewer), None)
        team = bucket.team_access
        if own is None and team is None:
            return None
        return types.SimpleNamespace(
            can_view_conversations=bool(
                (own is not None and own.can_view_conversations)
                or (team is not None and team.can_view_conversations)
            )
        )

    def sees_bucket(self, bucket_id: str) -> bool:
        b = self.buckets[bucket_id]
        if b.kind.value == "personal":
            return b.owner_id == self.viewer
        return self.boss or self.grant(bucket_id) is not None

    def sees(self, item_id: str) -> bool:
        if item_id not in self.created:
            return True  # deleted: nothing of it is left to show
        if self.boss or self.created[item_id] == self.viewer:
            return True
        return any(self.sees_bucket(b) for b in self.held[item_id])

    def reads(self, interaction: Any) -> bool:
        if interaction.author_id == self.viewer:
            return True
        for item in (*interaction.contact_ids, *interaction.company_ids):
            for b in self.held.get(item, ()):
                bucket = self.buckets[b]
                grant = self.grant(b)
                if (
                    bucket.kind.value == "team"
                    and grant is not None
                    and grant.can_view_conversations
                    and self.author_sees(interaction.author_id, b)
                ):
                    return True
        return False

    def author_sees(self, author_id: str, bucket_id: str) -> bool:
        """Seed 003: shared only through a bucket the (active) author can see too."""
        author = self.members.get(author_id)
        if author is None:
            return False
        if not author.active or author.role.value in ("admin", "manager"):
            return True
        bucket = self.buckets[bucket_id]
        own = any(g.member_id == author_id for g in bucket.grants)
        return own or bucket.team_access is not None


def _everything(store: Any, team_id: str, members: list[str]) -> dict[str, Any]:
    """:func:`store_snapshot` plus tasks, policies, leads, offers and notifications."""
    from teamcrm.testing.snapshot import store_snapshot

    tid = teamcrm.TeamId(team_id)
    picture = store_snapshot(store, [tid])
    with store.unit_of_work(write=False) as uow:
        for m in members:
            mid = teamcrm.MemberId(m)
            picture[m] = (
                uow.tasks.for_member(tid, mid, None),
                uow.followup_policies.for_member(tid, mid),
                uow.offers.for_member(tid, mid, None),
                uow.notifications.for_member(tid, mid, unread_only=False, limit=1000),
            )
        picture["leads"] = uow.leads.all(tid)
    return picture


def check_reads(built: Built, viewer_index: int) -> None:
    """Every read of the viewer returns exactly (or only) what the rules let it see."""
    session = built.sessions[viewer_index]
    rules = Rules(built.crm, built.team_id, session.member_id)
    visible = {c for c in rules.contacts if rules.sees(c)}

    found: list[str] = []
    after = None
    while True:
        page = session.search(limit=3, after=after)
        found += [r.contact_id for r in page.rows]
        after = page.next_cursor
        if after is None:
            break
    assert set(found) == visible
    shared = next(f for f in session.saved_filters() if f.name == "Everyone")
    assert {r.contact_id for r in session.run_filter(shared.id, limit=100).rows} == visible

    for c in rules.contacts:
        if c not in visible:
            with pytest.raises(teamcrm.NotFound):
                session.contact(c)
            with pytest.raises(teamcrm.NotFound):
                session.contact_record(c)
            continue
        record = session.contact_record(c)
        assert all(rules.sees(co.id) for co in record.companies)
        assert {b.id for b in record.team_buckets} == {
            b
            for b in rules.held[c]
            if rules.buckets[b].kind.value == "team" and rules.sees_bucket(b)
        }
        assert all(b.owner_id == session.member_id for b in record.my_buckets)
        assert {i.id for i in record.interactions} == {
            i.id for i in rules.interactions[c] if rules.reads(i)
        }
        assert {i.id for i in session.interactions_for_contact(c)} == {
            i.id for i in rules.interactions[c] if rules.reads(i)
        }
    assert {co.id for co in session.companies()} == {co for co in rules.companies if rules.sees(co)}
    for co in rules.companies:
        if not rules.sees(co):
            with pytest.raises(teamcrm.NotFound):
                session.company(co)
    assert {b.id for b in session.buckets()} == {b for b in rules.buckets if rules.sees_bucket(b)}
    for b in rules.buckets:
        if rules.sees_bucket(b):
            assert {c.id for c in session.bucket_contacts(b)} <= visible
        else:
            with pytest.raises(teamcrm.NotFound):
                session.bucket_contacts(b)
    later = built.crm.now() + timedelta(days=30)
    assert {r.contact.id for r in session.follow_ups(at=later, limit=1000)} <= visible
    assert {r.contact_id for r in session.due(at=later, limit=1000).rows} <= visible
    # A task or lead of a contact deleted since shows nothing of it (only its old id).
    deleted = {t.contact_id for t in session.tasks(status=None)} | {
        ld.contact_id for ld in session.leads()
    }
    deleted -= set(rules.contacts)
    assert {t.contact_id for t in session.tasks(status=None)} <= visible | deleted
    assert {ld.contact_id for ld in session.leads()} <= visible | deleted
    for policy in session.follow_up_policies():
        assert rules.sees_bucket(policy.bucket_id)
    if rules.boss:  # a manager's view of each member's list: what that member sees, too
        for other in built.members:
            theirs = Rules(built.crm, built.team_id, other)
            rows = session.follow_ups(other, at=later, limit=1000)
            assert all(theirs.sees(r.contact.id) for r in rows)
            assert all(theirs.sees(t.contact_id) for t in session.tasks(other, status=None))


#: Commands a member may be refused; each gets the ids it needs from the built team.
COMMANDS: list[tuple[str, Callable[[MemberSession, Built, Any], Any]]] = [
    ("update_contact", lambda s, b, d: s.update_contact(d.c, first_name="Changed")),
    ("delete_contact", lambda s, b, d: s.delete_contact(d.c)),
    ("add_to_bucket", lambda s, b, d: s.add_to_bucket(d.b, d.c)),
    ("remove_from_bucket", lambda s, b, d: s.remove_from_bucket(d.b, d.c)),
    ("grant_access", lambda s, b, d: s.grant_access(d.b, d.m, level="editor")),
    ("revoke_access", lambda s, b, d: s.revoke_access(d.b, d.m)),
    ("rename_bucket", lambda s, b, d: s.rename_bucket(d.b, "Renamed")),
    ("delete_bucket", lambda s, b, d: s.delete_bucket(d.b)),
    ("copy_to_personal_bucket", lambda s, b, d: s.copy_to_personal_bucket(d.c, d.b)),
    ("log_interaction", lambda s, b, d: s.log_interaction("note", contact_ids=[d.c])),
    ("create_task", lambda s, b, d: s.create_task(d.c, START, member_id=d.m)),
    ("snooze_follow_up", lambda s, b, d: s.snooze_follow_up(d.c, START, member_id=d.m)),
    ("mark_follow_up_done", lambda s, b, d: s.mark_follow_up_done(d.c, member_id=d.m)),
    (
        "create_follow_up_policy",
        lambda s, b, d: s.create_follow_up_policy(d.b, "2 days", member_id=d.m),
    ),
    ("deactivate_member", lambda s, b, d: s.deactivate_member(d.m)),
    ("change_role", lambda s, b, d: s.change_role(d.m, "agent")),
    ("set_away", lambda s, b, d: s.set_away(START + timedelta(days=1), d.m)),
    ("assign", lambda s, b, d: s.assign(d.c, d.m)),
    ("role_holders", lambda s, b, d: s.role_holders(d.c)),
]


@attrs.frozen
class Picks:
    """The ids one command acts on."""

    c: str
    b: str
    m: str


def _visibility_property(url_of: Callable[[], Any], spec: Spec, data: st.DataObject) -> None:
    with url_of() as crm:
        built = Built(crm, spec)
        viewer = spec["viewer"]
        check_reads(built, viewer)
        session = built.sessions[viewer]
        all_buckets = built.buckets + list(built.personal.values())
        for _ in range(4):
            name, command = data.draw(st.sampled_from(COMMANDS))
            picks = Picks(
                c=data.draw(st.sampled_from(built.contacts)),
                b=data.draw(st.sampled_from(all_buckets)),
                m=data.draw(st.sampled_from(built.members)),
            )
            before = _everything(crm.store, built.team_id, built.members)
            try:
                command(session, built, picks)
            except (
                teamcrm.PermissionDenied,
                teamcrm.NotFound,
                teamcrm.ValidationError,
                teamcrm.AlreadyExists,
            ):
                after = _everything(crm.store, built.team_id, built.members)
                assert after == before, f"refused {name} changed the store"
        check_reads(built, viewer)  # and after whatever the commands did


@contextlib.contextmanager
def _plain(url: str) -> Iterator[teamcrm.CRM]:
    crm = teamcrm.open(url, clock=teamcrm.SettableClock(START))
    try:
        yield crm
    finally:
        crm.close()


_PROPERTY_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("url", ["memory://", "sqlite://"])
@_PROPERTY_SETTINGS
@given(spec=team_specs(), data=st.data())
def test_reads_show_only_visible_records_and_refusals_change_nothing(
    url: str, spec: Spec, data: st.DataObject
) -> None:
    """As a random member of a random team: reads obey the rules; refusals write nothing."""
    _visibility_property(lambda: _plain(url), spec, data)


@settings(_PROPERTY_SETTINGS, max_examples=15)
@given(spec=team_specs(), data=st.data())
def test_reads_show_only_visible_records_and_refusals_change_nothing_on_postgres(
    spec: Spec, data: st.DataObject
) -> None:
    """The same property on PostgreSQL (fewer examples: a schema per example)."""
    pg_support.server_url()  # skip without a test server
    _visibility_property(lambda: pg_support.crm(teamcrm.SettableClock(START)), spec, data)
