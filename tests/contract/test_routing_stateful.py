"""Routing invariants under random histories (hypothesis state machines), memory and SQLite.

Invariants checked after every step:

* under ``round_robin`` and ``first_to_accept`` a lead has at most one owner;
* while the set of eligible members does not change, round-robin counts
  differ by at most one;
* no lead and no offer goes to an ineligible member;
* no offer is accepted after it expired or after another acceptance, and a
  lead has at most one accepted offer;
* a ``manual`` pool never assigns by itself;
* each assignment gives its assignee exactly one notification;
* a deactivated pool routes nothing;
* an empty or all-away pool never raises: the lead waits unassigned.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

import teamcrm
from teamcrm import OfferClosed, PermissionDenied
from teamcrm.lead import Lead, LeadStatus, OfferStatus
from teamcrm.notification import NotificationKind

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AGENTS = 4


class RoutingMachine(RuleBasedStateMachine):
    """Random pool traffic against one store."""

    url = "memory://"
    method = "manual"

    def __init__(self) -> None:
        super().__init__()
        self.clock = teamcrm.SettableClock(START)
        self.crm = teamcrm.open(self.url, clock=self.clock)
        _, admin = self.crm.create_team("T", admin_name="Ana")
        self.admin = self.crm.as_member(admin.id)
        self.agents = [
            self.crm.as_member(self.admin.add_member(f"A{i}", role="agent").id)
            for i in range(AGENTS)
        ]
        self.bucket = self.admin.create_bucket("Web")
        self.away: set[str] = set()
        self.inactive: set[str] = set()
        self.pool_members: tuple[str, ...] = ()
        self.active = True
        self.pool_id = ""
        self.counter = 0
        self.epoch: Counter[str] = Counter()
        self.ever_assigned: set[tuple[str, str]] = set()
        self.accepted: dict[str, str] = {}

    def teardown(self) -> None:
        self.crm.close()

    # ------------------------------------------------------------ helpers
    def eligible(self) -> set[str]:
        return {m for m in self.pool_members if m not in self.away and m not in self.inactive}

    def leads(self) -> list[Lead]:
        return self.admin.leads(pool_id=self.pool_id)

    def new_epoch(self) -> None:
        self.epoch = Counter()

    # ------------------------------------------------------------ rules
    @initialize(size=st.sampled_from([2, 3, AGENTS, 1, 0]))
    def make_pool(self, size: int) -> None:
        self.pool_members = tuple(a.member_id for a in self.agents[:size])
        pool = self.admin.create_pool(
            "P",
            source_bucket_ids=[self.bucket.id],
            member_ids=self.pool_members,
            method=self.method,
            offer_window=timedelta(minutes=30),
        )
        self.pool_id = pool.id

    @rule()
    def add_one(self) -> None:
        self.add_contacts(1)

    @rule(n=st.integers(min_value=1, max_value=4))
    def add_contacts(self, n: int) -> None:
        before = {ld.id for ld in self.leads()}
        drafts = [{"first_name": f"C{self.counter + i}"} for i in range(n)]
        self.counter += n
        self.admin.create_contacts(drafts, bucket_id=self.bucket.id)  # never raises
        new = [ld for ld in self.leads() if ld.id not in before]
        if not self.active:
            assert new == []
            return
        assert len(new) == n
        eligible = self.eligible()
        for lead in new:
            assert set(lead.assignee_ids) <= eligible
            for offer in self.admin.lead_offers(lead.id):
                assert offer.member_id in eligible
            if not eligible and self.method != "manual":
                assert lead.status is LeadStatus.UNASSIGNED
            if self.method == "manual":
                assert lead.status is LeadStatus.UNASSIGNED
            if self.method == "round_robin":
                self.epoch.update(lead.assignee_ids)
            if self.method == "everyone" and eligible:
                assert set(lead.assignee_ids) == eligible

    @rule(i=st.integers(min_value=0, max_value=AGENTS - 1), away=st.booleans())
    def change_member(self, i: int, away: bool) -> None:
        if away:
            self.toggle_away(i)
        else:
            self.toggle_active(i)

    def toggle_away(self, i: int) -> None:
        member = self.agents[i].member_id
        if member in self.away:
            self.admin.set_available(member)
            self.away.discard(member)
        else:
            self.admin.set_away(self.clock.now() + timedelta(days=365), member)
            self.away.add(member)
        self.new_epoch()

    def toggle_active(self, i: int) -> None:
        member = self.agents[i].member_id
        if member in self.inactive:
            self.admin.reactivate_member(member)
            self.inactive.discard(member)
        else:
            self.admin.deactivate_member(member)
            self.inactive.add(member)
        self.new_epoch()

    @rule()
    def toggle_pool(self) -> None:
        if self.active:
            self.admin.deactivate_pool(self.pool_id)
        else:
            self.admin.activate_pool(self.pool_id)
        self.active = not self.active

    @rule(minutes=st.integers(min_value=1, max_value=45))
    def advance(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    @rule()
    def expire(self) -> None:
        self.crm.expire_offers()
        assert self.crm.expire_offers() == 0

    def _with_offers(self, status: str | None) -> list[teamcrm.MemberSession]:
        return [
            a
            for a in self.agents
            if a.member_id not in self.inactive
            and self.admin.offers(member_id=a.member_id, status=status)
        ]

    @rule(i=st.integers(min_value=0, max_value=50), pick=st.integers(0, 50))
    def accept(self, i: int, pick: int) -> None:
        candidates = self._with_offers(None)
        if not candidates:
            return
        agent = candidates[i % len(candidates)]
        offers = self.admin.offers(member_id=agent.member_id, status=None)
        offer = offers[pick % len(offers)]
        lead = self.admin.lead(offer.lead_id)
        now = self.clock.now()
        expected_ok = (
            offer.status is OfferStatus.OPEN
            and now < offer.expires_at
            and lead.status is LeadStatus.OFFERED
            and agent.member_id in self.pool_members
        )
        try:
            result = agent.accept_offer(offer.id)
        except OfferClosed:
            assert not expected_ok
            return
        except PermissionDenied:
            assert agent.member_id not in self.pool_members
            return
        assert expected_ok
        assert offer.lead_id not in self.accepted
        self.accepted[offer.lead_id] = agent.member_id
        assert result.lead.assignee_ids == (agent.member_id,)

    @rule(i=st.integers(min_value=0, max_value=AGENTS - 1), pick=st.integers(0, 50))
    def accept_someone_elses(self, i: int, pick: int) -> None:
        agent = self.agents[i]
        if agent.member_id in self.inactive:
            return
        others = [
            o
            for a in self.agents
            if a is not agent
            for o in self.admin.offers(member_id=a.member_id, status=None)
        ]
        if others:
            with pytest.raises(PermissionDenied):
                agent.accept_offer(others[pick % len(others)].id)

    @rule(i=st.integers(min_value=0, max_value=50), pick=st.integers(0, 50))
    def decline(self, i: int, pick: int) -> None:
        candidates = self._with_offers("open")
        if not candidates:
            return
        agent = candidates[i % len(candidates)]
        offers = agent.offers()
        if offers:
            offer = offers[pick % len(offers)]
            try:
                agent.decline_offer(offer.id)
            except OfferClosed:
                assert self.clock.now() >= offer.expires_at

    @precondition(lambda self: self.method != "manual")
    @rule(i=st.integers(min_value=0, max_value=AGENTS - 1))
    def reject(self, i: int) -> None:
        agent = self.agents[i]
        if agent.member_id in self.inactive:
            return
        owned = agent.leads()
        if owned:
            agent.reject_lead(owned[0].id)
            if self.method == "round_robin":
                self.new_epoch()

    # ------------------------------------------------------------ invariants
    @invariant()
    def at_most_one_owner(self) -> None:
        if not self.pool_id:
            return
        for lead in self.leads():
            if self.method in ("round_robin", "first_to_accept"):
                assert len(lead.assignee_ids) <= 1
            if self.method == "manual":
                assert lead.status is LeadStatus.UNASSIGNED
            accepted = [
                o for o in self.admin.lead_offers(lead.id) if o.status is OfferStatus.ACCEPTED
            ]
            assert len(accepted) <= 1
            for o in accepted:
                assert o.settled_at is not None
                assert o.settled_at < o.expires_at
            for member in lead.assignee_ids:
                self.ever_assigned.add((member, lead.id))

    @invariant()
    def round_robin_is_fair_within_an_epoch(self) -> None:
        if self.method == "round_robin" and self.epoch:
            eligible = self.eligible()
            assert set(self.epoch) <= eligible
            counts = [self.epoch[m] for m in eligible]
            assert max(counts) - min(counts) <= 1

    @invariant()
    def one_notification_per_assignment(self) -> None:
        if not self.pool_id:
            return
        seen: Counter[tuple[str, str]] = Counter()
        with self.crm.store.unit_of_work(write=False) as uow:
            for agent in self.agents:
                for n in uow.notifications.for_member(
                    agent.team_id, agent.member_id, limit=100_000
                ):
                    if n.kind is NotificationKind.LEAD_ASSIGNED:
                        seen[(agent.member_id, n.subject_id)] += 1
        assert set(seen) == self.ever_assigned
        assert all(count == 1 for count in seen.values())


def _machine(name: str, method: str, url: str, steps: int, examples: int | None) -> type:
    machine = type(name, (RoutingMachine,), {"method": method, "url": url})
    case = machine.TestCase
    extra = {} if examples is None else {"max_examples": examples}
    case.settings = settings(case.settings, stateful_step_count=steps, **extra)
    return case


TestManualMemory = _machine("ManualMemory", "manual", "memory://", 25, None)
TestRoundRobinMemory = _machine("RoundRobinMemory", "round_robin", "memory://", 25, None)
TestFirstToAcceptMemory = _machine("FirstToAcceptMemory", "first_to_accept", "memory://", 25, None)
TestEveryoneMemory = _machine("EveryoneMemory", "everyone", "memory://", 25, None)
TestRoundRobinSQLite = _machine("RoundRobinSQLite", "round_robin", "sqlite://", 15, 20)
TestFirstToAcceptSQLite = _machine("FirstToAcceptSQLite", "first_to_accept", "sqlite://", 15, 20)
