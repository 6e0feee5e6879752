"""Use cases of the team: members, roles, availability, settings, the event log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import teamcrm
from teamcrm import (
    EventName,
    MemberSession,
    NotFound,
    PermissionDenied,
    Role,
    TeamCRMError,
    ValidationError,
)


def names(session: MemberSession, after: int = 0) -> list[EventName]:
    return [m.event.name for m in session.events(after)]


def last_seq(session: MemberSession) -> int:
    rows = session.events()
    return rows[-1].seq if rows else 0


@pytest.fixture
def team(
    crm: teamcrm.CRM, clock: teamcrm.SettableClock
) -> tuple[MemberSession, MemberSession, MemberSession]:
    """(admin Ana, manager Max, agent Bob) of one team, created a minute apart."""
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    clock.advance(timedelta(minutes=1))
    max_ = crm.as_member(ana.add_member("Max", role="manager").id)
    clock.advance(timedelta(minutes=1))
    bob = crm.as_member(ana.add_member("Bob").id)
    clock.advance(timedelta(minutes=1))
    return ana, max_, bob


# ------------------------------------------------------------------ creation
def test_create_team_makes_an_admin_and_two_events(crm: teamcrm.CRM) -> None:
    team, admin = crm.create_team(
        " Acme ", admin_name="Ana", admin_email="ana@acme.test", time_zone="Europe/Warsaw"
    )
    assert team.name == "Acme"
    assert admin.role is Role.ADMIN
    assert admin.active
    assert admin.team_id == team.id
    assert admin.time_zone == "Europe/Warsaw"
    ana = crm.as_member(admin.id)
    assert ana.team() == team
    assert ana.me() == admin
    rows = ana.events()
    assert [r.event.name for r in rows] == [EventName.TEAM_CREATED, EventName.MEMBER_ADDED]
    assert rows[0].event.subject_id == team.id
    assert rows[1].event.subject_id == admin.id
    assert rows[1].event.data == {"role": "admin"}


def test_create_team_with_settings(crm: teamcrm.CRM) -> None:
    settings = teamcrm.TeamSettings(
        statuses=("new", "won"), new_contact_status="new", new_lead_status="new"
    )
    team, _ = crm.create_team("Acme", admin_name="Ana", settings=settings)
    assert team.settings == settings


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": 5, "admin_name": "Ana"}, "Team.name"),
        ({"name": "Acme", "admin_name": ""}, "Member.name"),
        ({"name": "Acme", "admin_name": "Ana", "admin_email": "nope"}, "Member.email"),
        ({"name": "Acme", "admin_name": "Ana", "time_zone": "Nowhere"}, "Member.time_zone"),
        ({"name": "Acme", "admin_name": "Ana", "settings": {}}, "Team.settings"),
    ],
)
def test_create_team_rejects_bad_input_and_writes_nothing(
    crm: teamcrm.CRM, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as exc:
        crm.create_team(**kwargs)  # type: ignore[arg-type]
    assert exc.value.field == field
    store = crm.store
    with store.unit_of_work() as uow:
        assert uow.outbox.read(teamcrm.TeamId("tm_" + "0" * 26)) == []


def test_as_member_checks_the_id(crm: teamcrm.CRM) -> None:
    with pytest.raises(ValidationError, match="member_id"):
        crm.as_member("ct_" + "0" * 26)
    with pytest.raises(NotFound):
        crm.as_member("mb_" + "0" * 26)


# ------------------------------------------------------------------- members
def test_add_member_admins_only(team: tuple[MemberSession, ...]) -> None:
    ana, max_, bob = team
    seq = last_seq(ana)
    m = ana.add_member(" Cy ", role="manager", email="cy@acme.test", time_zone="America/New_York")
    assert (m.name, m.role, m.email, m.team_id) == ("Cy", Role.MANAGER, "cy@acme.test", ana.team_id)
    assert [x.id for x in ana.members()][-1] == m.id
    assert names(ana, seq) == [EventName.MEMBER_ADDED]
    seq = last_seq(ana)
    for session in (max_, bob):
        with pytest.raises(PermissionDenied, match="admins only"):
            session.add_member("Eve")
    assert names(ana, seq) == []
    assert len(ana.members()) == 4


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": 5}, "Member.name"),
        ({"name": "Eve", "role": "owner"}, "Member.role"),
        ({"name": "Eve", "email": "eve"}, "Member.email"),
        ({"name": "Eve", "time_zone": 3}, "Member.time_zone"),
    ],
)
def test_add_member_rejects_bad_input(
    team: tuple[MemberSession, ...], kwargs: dict[str, object], field: str
) -> None:
    ana = team[0]
    seq = last_seq(ana)
    with pytest.raises(ValidationError) as exc:
        ana.add_member(**kwargs)  # type: ignore[arg-type]
    assert exc.value.field == field
    assert names(ana, seq) == []


def test_members_and_member(team: tuple[MemberSession, ...]) -> None:
    _, max_, bob = team
    assert [m.name for m in bob.members()] == ["Ana", "Max", "Bob"]
    assert bob.member(max_.member_id).role is Role.MANAGER
    with pytest.raises(ValidationError, match="member_id"):
        bob.member("bk_" + "0" * 26)


# ------------------------------------------------------- deactivate/reactivate
def test_deactivate_and_reactivate(team: tuple[MemberSession, ...]) -> None:
    ana, _, bob = team
    seq = last_seq(ana)
    assert ana.deactivate_member(bob.member_id).active is False
    # a deactivated member cannot act at all
    for call in (bob.me, bob.members, bob.buckets, lambda: bob.create_contact("X")):
        with pytest.raises(PermissionDenied, match="deactivated"):
            call()
    # ...but is still a member of the team with their history
    assert ana.member(bob.member_id).active is False
    assert bob.member_id in [m.id for m in ana.members()]
    assert ana.reactivate_member(bob.member_id).active is True
    assert bob.me().active is True
    assert names(ana, seq) == [EventName.MEMBER_DEACTIVATED, EventName.MEMBER_REACTIVATED]
    assert ana.events(seq)[0].event.data == {"active": False}


def test_deactivating_twice_changes_nothing(team: tuple[MemberSession, ...]) -> None:
    ana, _, bob = team
    first = ana.deactivate_member(bob.member_id)
    seq = last_seq(ana)
    again = ana.deactivate_member(bob.member_id)
    assert again == first
    assert names(ana, seq) == []


def test_only_admins_deactivate(team: tuple[MemberSession, ...]) -> None:
    ana, max_, bob = team
    for session in (max_, bob):
        with pytest.raises(PermissionDenied):
            session.deactivate_member(ana.member_id)
        with pytest.raises(PermissionDenied):
            session.reactivate_member(ana.member_id)
    assert ana.me().active


def test_the_last_active_admin_cannot_be_deactivated_or_demoted(
    team: tuple[MemberSession, ...],
) -> None:
    ana, max_, _ = team
    seq = last_seq(ana)
    with pytest.raises(PermissionDenied, match="active admin"):
        ana.deactivate_member(ana.member_id)
    with pytest.raises(PermissionDenied, match="active admin"):
        ana.change_role(ana.member_id, "agent")
    assert ana.me().role is Role.ADMIN
    assert names(ana, seq) == []
    # with a second admin, the first may step down
    ana.change_role(max_.member_id, "admin")
    assert ana.change_role(ana.member_id, Role.MANAGER).role is Role.MANAGER
    with pytest.raises(PermissionDenied, match="active admin"):
        max_.deactivate_member(max_.member_id)


def test_a_deactivated_admin_does_not_count(team: tuple[MemberSession, ...]) -> None:
    ana, max_, _ = team
    ana.change_role(max_.member_id, "admin")
    max_.deactivate_member(max_.member_id)  # allowed: Ana is still an active admin
    with pytest.raises(PermissionDenied, match="active admin"):
        ana.deactivate_member(ana.member_id)


def test_change_role(team: tuple[MemberSession, ...]) -> None:
    ana, max_, bob = team
    seq = last_seq(ana)
    assert ana.change_role(bob.member_id, "manager").role is Role.MANAGER
    assert bob.me().role is Role.MANAGER
    rows = ana.events(seq)
    assert [r.event.name for r in rows] == [EventName.MEMBER_ROLE_CHANGED]
    assert rows[0].event.data == {"role": "manager"}
    with pytest.raises(ValidationError, match="role"):
        ana.change_role(bob.member_id, "boss")
    with pytest.raises(PermissionDenied):
        max_.change_role(bob.member_id, "agent")


# ---------------------------------------------------------------- availability
def test_set_away_and_available_self(
    team: tuple[MemberSession, ...], clock: teamcrm.SettableClock
) -> None:
    ana, _, bob = team
    seq = last_seq(ana)
    plus2 = timezone(timedelta(hours=2))
    until = (clock.now() + timedelta(days=2)).astimezone(plus2)
    away = bob.set_away(until)
    assert away.away_until == until
    assert away.away_until.tzinfo is not None
    assert away.is_away(clock.now())
    assert not away.is_available(clock.now())
    # away members still act
    bob.create_contact("Still", "Working")
    back = bob.set_available()
    assert back.away_until is None
    assert back.is_available(clock.now())
    evs = [
        r.event for r in ana.events(seq) if r.event.name is EventName.MEMBER_AVAILABILITY_CHANGED
    ]
    assert [e.data["away_until"] for e in evs] == [until.astimezone(UTC).isoformat(), None]


def test_set_away_for_others_managers_and_admins_only(
    team: tuple[MemberSession, ...], clock: teamcrm.SettableClock
) -> None:
    ana, max_, bob = team
    until = clock.now() + timedelta(days=1)
    assert max_.set_away(until, bob.member_id).away_until == until
    assert ana.set_available(bob.member_id).away_until is None
    seq = last_seq(ana)
    with pytest.raises(PermissionDenied):
        bob.set_away(until, max_.member_id)
    with pytest.raises(PermissionDenied):
        bob.set_available(ana.member_id)
    assert names(ana, seq) == []


@pytest.mark.parametrize(
    "until", [datetime(2026, 2, 1), "2026-02-01T00:00:00+00:00", 1767600000, None]
)
def test_set_away_rejects_naive_and_non_datetimes(
    team: tuple[MemberSession, ...], until: object
) -> None:
    bob = team[2]
    with pytest.raises(ValidationError) as exc:
        bob.set_away(until)  # type: ignore[arg-type]
    assert exc.value.field == "until"
    assert repr(until)[:20] in str(exc.value)


# ------------------------------------------------------------- update_member
def test_update_member(team: tuple[MemberSession, ...]) -> None:
    ana, max_, bob = team
    seq = last_seq(ana)
    me = bob.update_member(name="Robert", email="bob@acme.test", time_zone="Europe/Warsaw")
    assert (me.name, me.email, me.time_zone, me.version) == (
        "Robert",
        "bob@acme.test",
        "Europe/Warsaw",
        2,
    )
    assert ana.update_member(bob.member_id, name="Rob").name == "Rob"
    with pytest.raises(PermissionDenied):
        max_.update_member(bob.member_id, name="Bobby")
    with pytest.raises(ValidationError, match=r"Member\.time_zone"):
        bob.update_member(time_zone="Atlantis")
    assert names(ana, seq) == [EventName.MEMBER_UPDATED, EventName.MEMBER_UPDATED]
    assert ana.events(seq)[0].event.data == {"fields": ["email", "name", "time_zone"]}


# -------------------------------------------------------------------- settings
def test_change_settings(team: tuple[MemberSession, ...]) -> None:
    ana = team[0]
    seq = last_seq(ana)
    t = ana.change_settings(
        bucket_management="managers",
        file_notes_under_companies=False,
        statuses=["lead", "client", "past"],
        new_contact_status="lead",
        new_lead_status="lead",
    )
    assert t.settings.bucket_management is teamcrm.BucketManagement.MANAGERS
    assert t.settings.statuses == ("lead", "client", "past")
    assert t.version == 2
    assert ana.team() == t
    rows = ana.events(seq)
    assert [r.event.name for r in rows] == [EventName.TEAM_SETTINGS_CHANGED]
    assert rows[0].event.data["fields"] == [
        "bucket_management",
        "file_notes_under_companies",
        "new_contact_status",
        "new_lead_status",
        "statuses",
    ]


def test_change_settings_admins_only(team: tuple[MemberSession, ...]) -> None:
    ana, max_, bob = team
    for session in (max_, bob):
        with pytest.raises(PermissionDenied, match="admins only"):
            session.change_settings(bucket_management="managers")
    assert ana.team().settings.bucket_management is teamcrm.BucketManagement.EVERYONE


@pytest.mark.parametrize(
    ("changes", "field", "value"),
    [
        ({"colour": "red"}, "settings", "colour"),
        ({"bucket_management": "nobody"}, "TeamSettings.bucket_management", "nobody"),
        ({"statuses": ("a", "b")}, "TeamSettings.new_contact_status", "evaluate"),
        ({"statuses": ("a", "a")}, "TeamSettings.statuses", ("a", "a")),
        ({"new_contact_status": "won"}, "TeamSettings.new_contact_status", "won"),
        ({"file_notes_under_companies": "no"}, "TeamSettings.file_notes_under_companies", "no"),
    ],
)
def test_change_settings_rejections_name_the_setting(
    team: tuple[MemberSession, ...], changes: dict[str, object], field: str, value: object
) -> None:
    ana = team[0]
    before = ana.team()
    seq = last_seq(ana)
    with pytest.raises(ValidationError) as exc:
        ana.change_settings(**changes)
    assert exc.value.field == field
    assert exc.value.value == value
    assert ana.team() == before
    assert names(ana, seq) == []


# ---------------------------------------------------------------- event log
def test_event_log_admins_only_and_paged(team: tuple[MemberSession, ...]) -> None:
    ana, max_, bob = team
    for session in (max_, bob):
        with pytest.raises(PermissionDenied):
            session.events()
    rows = ana.events()
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)
    assert ana.events(rows[0].seq, limit=1) == [rows[1]]
    assert ana.events(limit=0) == []
    for kwargs, field in (({"after_seq": "x"}, "after_seq"), ({"limit": -1}, "limit")):
        with pytest.raises(ValidationError) as exc:
            ana.events(**kwargs)  # type: ignore[arg-type]
        assert exc.value.field == field


def test_teams_never_cross(crm: teamcrm.CRM) -> None:
    _, a = crm.create_team("A", admin_name="Ana")
    _, z = crm.create_team("Z", admin_name="Zed")
    ana, zed = crm.as_member(a.id), crm.as_member(z.id)
    zoe = zed.add_member("Zoe")
    for call in (
        lambda: ana.member(zoe.id),
        lambda: ana.deactivate_member(zoe.id),
        lambda: ana.change_role(zoe.id, "manager"),
        lambda: ana.set_away(crm.now() + timedelta(days=1), zoe.id),
        lambda: ana.update_member(zoe.id, name="Hacked"),
    ):
        with pytest.raises(NotFound):
            call()
    assert zed.member(zoe.id).name == "Zoe"
    assert [m.id for m in ana.members()] == [a.id]
    assert {r.event.team_id for r in ana.events()} == {ana.team_id}


def test_only_teamcrm_errors_escape(team: tuple[MemberSession, ...]) -> None:
    ana = team[0]
    bad_calls = [
        lambda: ana.member(5),
        lambda: ana.deactivate_member(None),
        lambda: ana.change_role(ana.member_id, 5),
        lambda: ana.set_away(5),
        lambda: ana.set_available(["mb_x"]),
        lambda: ana.update_member(name=["x"]),
        lambda: ana.change_settings(statuses=5),
        lambda: ana.add_member(None),
    ]
    for call in bad_calls:
        with pytest.raises(TeamCRMError):
            call()  # type: ignore[no-untyped-call]


_garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=40),
    st.sampled_from(["ct_" + "0" * 26, "co_" + "0" * 26, "bk_" + "0" * 26, "mb_" + "0" * 26]),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.datetimes(),
    st.just(b"bytes"),
)
_PUBLIC = sorted(
    name
    for name in dir(MemberSession)
    if not name.startswith("_") and callable(getattr(MemberSession, name))
)


@settings(max_examples=25)
@given(method=st.sampled_from(_PUBLIC), args=st.lists(_garbage, min_size=1, max_size=3))
def test_garbage_input_raises_only_teamcrm_errors(method: str, args: list[object]) -> None:
    crm = teamcrm.open("memory://")
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    fn = getattr(ana, method)
    message = ""
    try:
        fn(*args)
    except TeamCRMError:
        pass
    except TypeError as exc:  # a wrong *number* of arguments is a programming error
        message = str(exc)
    if message:
        assert "argument" in message, message
