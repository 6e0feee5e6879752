"""merge_contacts and duplicates (teamcrm.service.merging), on every store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

import pg_support
import teamcrm
from teamcrm import EventName, NotFound, ValidationError
from teamcrm.clock import SettableClock
from teamcrm.ids import ContactId
from teamcrm.ports import UnitOfWork
from teamcrm.testing import store_snapshot

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FAR = datetime(9999, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[teamcrm.CRM]:
    clock = SettableClock(START)
    if request.param == "postgres":
        with pg_support.schemas() as made, teamcrm.open(made.new(), clock=clock) as c:
            yield c
        return
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 't.db'}"
    with teamcrm.open(url, clock=clock) as c:
        yield c


@attrs.define
class World:
    crm: teamcrm.CRM
    ana: teamcrm.MemberSession  # admin
    bob: teamcrm.MemberSession  # agent
    web: str  # a team bucket, source of a round-robin pool
    pool: str
    survivor: str
    dup1: str
    dup2: str


def _tick(crm: teamcrm.CRM) -> None:
    clock = crm.clock
    assert isinstance(clock, SettableClock)
    clock.advance(timedelta(minutes=5))


@pytest.fixture
def world(crm: teamcrm.CRM) -> World:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = crm.as_member(ana.add_member("Bob", role="agent", email="bob@example.com").id)
    web = ana.create_bucket("Website leads")
    ana.share_with_team(web.id, level="editor", can_view_conversations=True)
    pool = ana.create_pool(
        "Web",
        source_bucket_ids=[web.id],
        member_ids=[ana.member_id, bob.member_id],
        method="round_robin",
        dedupe=False,
    )
    ana.create_follow_up_policy(web.id, "every 2 weeks")
    survivor = ana.create_contact(
        "Maria",
        "Garcia",
        emails=["maria@example.com"],
        phones=["+1 617 555 0101"],
        custom_fields={"budget": 500, "city": "Boston"},
    )
    ana.add_to_bucket(web.id, survivor.id)
    _tick(crm)
    dup1 = ana.create_contact(
        "Maria",
        "",
        emails=["m.garcia@example.org", "MARIA@example.com"],
        phones=["+1 617 555 0199"],
        source="website",
        custom_fields={"city": "Cambridge", "kids": 2},
    )
    ana.add_to_bucket(web.id, dup1.id)  # a second open lead in the same pool
    joined = ana.intake_lead(
        {"email": "m.garcia@example.org", "submission id": "form-1"}, source_bucket_id=web.id
    )
    assert joined.contact_id == dup1.id
    _tick(crm)
    dup2 = ana.create_contact("M.", "Garcia")
    personal = ana.create_bucket("Mine", personal=True)
    ana.add_to_bucket(personal.id, dup2.id)
    ana.log_interaction("call", contact_ids=[dup1.id], outcome="connected")
    ana.log_interaction("note", contact_ids=[survivor.id, dup2.id], body="Both of them")
    ana.create_task(dup1.id, crm.now() + timedelta(days=1), "call back", member_id=bob.member_id)
    ana.snooze_follow_up(dup1.id, crm.now() + timedelta(days=3))
    _tick(crm)
    return World(crm, ana, bob, web.id, pool.id, survivor.id, dup1.id, dup2.id)


def _pointers(uow: UnitOfWork, team_id: str, ids: list[str]) -> dict[str, object]:
    """Everything in the store that still names one of *ids*."""
    t = team_id
    cids = [ContactId(i) for i in ids]
    members = uow.members.all(t)  # type: ignore[arg-type]
    return {
        "memberships": uow.memberships.buckets_of(t, ids),  # type: ignore[arg-type]
        "leads": [ld for ld in uow.leads.all(t) if ld.contact_id in ids],  # type: ignore[arg-type]
        "tasks": [
            k
            for m in members
            for k in uow.tasks.for_member(t, m.id)  # type: ignore[arg-type]
            if k.contact_id in ids
        ],
        "team_touches": uow.touches.team_latest(t, cids),  # type: ignore[arg-type]
        "member_touches": uow.touches.member_latest(t, cids),  # type: ignore[arg-type]
        "pending": [p for p in uow.touches.pending(t, FAR) if p.contact_id in ids],  # type: ignore[arg-type]
        "interactions": [
            i
            for i in uow.interactions.all(t)
            if set(ids) & set(i.contact_ids)  # type: ignore[arg-type]
        ],
        "snoozes": [s for s in uow.snoozes.all(t) if s.contact_id in ids],  # type: ignore[arg-type]
        "intake": [r for r in uow.intake.all(t) if r.contact_id in ids],  # type: ignore[arg-type]
        "dues": [
            d
            for m in members
            for d in uow.followup_dues.for_contacts(t, m.id, ids)  # type: ignore[arg-type]
        ],
    }


def test_merge_moves_everything_and_leaves_nothing_pointing_at_the_duplicates(
    world: World,
) -> None:
    w = world
    team_id = str(w.ana.team_id)
    with w.crm.store.unit_of_work(write=False) as uow:
        assert any(_pointers(uow, team_id, [w.dup1, w.dup2]).values())  # the setup has them
        open_before = [
            ld
            for ld in uow.leads.all(team_id)
            if ld.is_open  # type: ignore[arg-type]
        ]
    assert len(open_before) == 2  # the survivor's lead and dup1's

    result = w.ana.merge_contacts(w.survivor, [w.dup1, w.dup2])

    assert result.merged_ids == (w.dup1, w.dup2)
    c = result.contact
    assert (c.first_name, c.last_name, c.source) == ("Maria", "Garcia", "website")
    assert [e.address for e in c.emails] == ["maria@example.com", "m.garcia@example.org"]
    assert [p.number for p in c.phones] == ["+16175550101", "+16175550199"]
    # the survivor wins on a conflict, the duplicates fill the rest
    assert dict(c.custom_fields) == {"budget": 500, "city": "Boston", "kids": 2}
    for gone in (w.dup1, w.dup2):
        with pytest.raises(NotFound):
            w.ana.contact(gone)
    with w.crm.store.unit_of_work(write=False) as uow:
        left = _pointers(uow, team_id, [w.dup1, w.dup2])
        assert {k: v for k, v in left.items() if v} == {}
        mine = _pointers(uow, team_id, [w.survivor])
        leads = mine["leads"]
        assert isinstance(leads, list)
        assert len(leads) == 2
        assert [ld.is_open for ld in leads].count(True) == 1  # one open lead per pool
        assert result.removed_lead_ids == tuple(ld.id for ld in leads if not ld.is_open)
        assert len(mine["interactions"]) == 2  # type: ignore[arg-type]
        assert len(mine["tasks"]) == 1  # type: ignore[arg-type]
        assert len(mine["snoozes"]) == 1  # type: ignore[arg-type]
        assert mine["member_touches"]
        buckets = {m.bucket_id for m in mine["memberships"]}  # type: ignore[attr-defined]
        assert w.web in buckets
        assert len(buckets) >= 2  # and the personal bucket dup2 was in
        events = uow.outbox.read(team_id)  # type: ignore[arg-type]
    merged = [m.event for m in events if m.event.name is EventName.CONTACT_MERGED]
    assert len(merged) == 1
    assert merged[0].subject_id == w.survivor
    assert merged[0].data["merged_ids"] == [w.dup1, w.dup2]
    # the survivor's record shows what came from the duplicates
    record = w.ana.contact_record(w.survivor)
    assert len(record.interactions) == 2


def test_merge_needs_sight_of_every_contact_and_changes_nothing_when_refused(
    world: World,
) -> None:
    w = world
    before = store_snapshot(w.crm.store, [w.ana.team_id])
    # Bob sees the team bucket's contacts, not dup2 (in Ana's personal bucket).
    with pytest.raises(NotFound):
        w.bob.merge_contacts(w.survivor, [w.dup2])
    with pytest.raises(NotFound):
        w.bob.merge_contacts(w.dup2, [w.survivor])
    with pytest.raises(ValidationError):
        w.ana.merge_contacts(w.survivor, [w.survivor])
    with pytest.raises(ValidationError):
        w.ana.merge_contacts(w.survivor, [])
    with pytest.raises(NotFound):
        w.ana.merge_contacts(w.survivor, [w.dup1, "ct_" + "0" * 26])
    assert store_snapshot(w.crm.store, [w.ana.team_id]) == before
    # What Bob can see, he may merge.
    assert w.bob.merge_contacts(w.survivor, [w.dup1]).merged_ids == (w.dup1,)


def test_duplicates_groups_by_email_phone_and_name_with_company(world: World) -> None:
    w = world
    groups = w.ana.duplicates()
    assert [g.contact_ids for g in groups] == [(w.survivor, w.dup1)]
    assert "email:maria@example.com" in groups[0].reasons
    acme = w.ana.create_company("Acme Realty")
    a = w.ana.create_contact("Jo", "Lee", company_ids=[acme.id])
    b = w.ana.create_contact("jo", "LEE", company_ids=[acme.id])
    w.ana.create_contact("Jo", "Lee")  # same name, no company: not grouped
    w.ana.create_contact("Other", phones=["+1 (617) 555-0199"])  # dup1 has this phone
    groups = w.ana.duplicates()
    assert (a.id, b.id) in [g.contact_ids for g in groups]
    first = next(g for g in groups if w.survivor in g.contact_ids)
    assert len(first.contact_ids) == 3
    # Bob sees only the team bucket's contacts: no group reaches out of his sight.
    seen = {r.contact.id for r in w.bob.search(limit=500).rows}
    for g in w.bob.duplicates():
        assert set(g.contact_ids) <= seen
