"""Invariants of the methods beyond the seeds under random histories, memory and SQLite.

A hypothesis state machine drives one pool (``weighted``, ``least_loaded``,
``sequential_offer`` or ``round_robin``, with random weights, caps and a
response window) through adds, absences, declines, acceptances, expiries,
rejections, touches, response-window checks and days passing.  After every
step:

* ``weighted``: within a run of leads decided with the same eligible members,
  every window of as many leads as their weights add up to gives each
  member exactly its weight;
* caps are never exceeded: counting the assignment notifications each member
  received (an independent record), no member gets more of the pool's leads
  in a UTC day than its daily cap, or in any 30 days than its 30-day cap;
* a sequential offer never goes back to a member who declined the lead, and a
  lead has at most one open sequential offer;
* every stored explanation agrees with the lead: the outcome matches the
  status, the owners are the chosen, offers go to the offered, and the pool
  never chose or offered anyone it listed as skipped or not eligible.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import teamcrm
from teamcrm import OfferClosed
from teamcrm.lead import Lead, LeadStatus, OfferStatus
from teamcrm.notification import NotificationKind
from teamcrm.pool import Capacity
from teamcrm.routing import RoutingOutcome

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
AGENTS = 4
POOL_METHODS = {"weighted", "least_loaded", "sequential_offer", "round_robin"}
GAINS = {NotificationKind.LEAD_ASSIGNED, NotificationKind.LEAD_REASSIGNED_TO_YOU}
STATUS_OF = {
    RoutingOutcome.ASSIGNED: {LeadStatus.ASSIGNED},
    RoutingOutcome.OFFERED: {LeadStatus.OFFERED},
    RoutingOutcome.NO_ELIGIBLE: {LeadStatus.UNASSIGNED},
    RoutingOutcome.WAITING: {LeadStatus.UNASSIGNED},
    RoutingOutcome.UNASSIGNED: {LeadStatus.UNASSIGNED},
    RoutingOutcome.REMOVED: {LeadStatus.REMOVED},
}

caps = st.builds(
    Capacity,
    per_day=st.sampled_from([None, None, 0, 1, 2, 3]),
    per_30_days=st.sampled_from([None, None, 2, 5]),
)


class MethodsMachine(RuleBasedStateMachine):
    """Random traffic through one pool of a method beyond the seeds."""

    url = "memory://"

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
        self.ids = [a.member_id for a in self.agents]
        self.bucket = self.admin.create_bucket("Web")
        self.away: set[str] = set()
        self.counter = 0
        self.pool: teamcrm.LeadPool | None = None
        self.weighted_log: list[teamcrm.RoutingExplanation] = []

    def teardown(self) -> None:
        self.crm.close()

    def leads(self) -> list[Lead]:
        assert self.pool is not None
        return self.admin.leads(pool_id=self.pool.id)

    def agent(self, member_id: str) -> teamcrm.MemberSession:
        return self.agents[self.ids.index(member_id)]

    # ------------------------------------------------------------ rules
    @initialize(
        method=st.sampled_from(sorted(POOL_METHODS)),
        size=st.integers(min_value=1, max_value=AGENTS),
        weights=st.lists(st.integers(1, 3), min_size=AGENTS, max_size=AGENTS),
        member_caps=st.lists(caps, min_size=AGENTS, max_size=AGENTS),
        window=st.sampled_from([None, 20, 90]),
    )
    def make_pool(
        self,
        method: str,
        size: int,
        weights: list[int],
        member_caps: list[Capacity],
        window: int | None,
    ) -> None:
        members = self.ids[:size]
        self.pool = self.admin.create_pool(
            "P",
            source_bucket_ids=[self.bucket.id],
            member_ids=members,
            method=method,
            offer_window=timedelta(minutes=30),
            weights=dict(zip(members, weights, strict=False)),
            member_capacity=dict(zip(members, member_caps, strict=False)),
            # weighted: no response window, so its cursor moves only as leads arrive
            response_window=None
            if window is None or method == "weighted"
            else timedelta(minutes=window),
        )

    @rule(n=st.integers(min_value=1, max_value=4), bulk=st.booleans())
    def add_contacts(self, n: int, bulk: bool) -> None:
        assert self.pool is not None
        drafts = [{"first_name": f"C{self.counter + i}"} for i in range(n)]
        self.counter += n
        if bulk and self.pool.method != "weighted":
            self.admin.create_contacts(drafts, bucket_id=self.bucket.id)
            return
        for draft in drafts:  # one unit each, so the order of decisions is known
            self.clock.advance(timedelta(seconds=1))
            (contact,) = self.admin.create_contacts([draft], bucket_id=self.bucket.id)
            if self.pool.method == "weighted":
                (lead,) = [ld for ld in self.leads() if ld.contact_id == contact.id]
                assert lead.explanation is not None
                self.weighted_log.append(lead.explanation)

    @rule(i=st.integers(0, AGENTS - 1))
    def toggle_away(self, i: int) -> None:
        member = self.ids[i]
        if member in self.away:
            self.admin.set_available(member)
            self.away.discard(member)
        else:
            self.admin.set_away(self.clock.now() + timedelta(days=365), member)
            self.away.add(member)

    @rule(minutes=st.sampled_from([1, 15, 45, 300, 1440, 4000]))
    def advance(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    @rule()
    def expire_and_enforce(self) -> None:
        self.crm.expire_offers()
        assert self.crm.expire_offers() == 0
        teamcrm.service.routing.enforce_response_windows(self.crm)
        assert teamcrm.service.routing.enforce_response_windows(self.crm) == 0

    @rule(pick=st.integers(0, 100), accept=st.booleans())
    def answer_an_offer(self, pick: int, accept: bool) -> None:
        offers = [o for a in self.agents for o in a.offers()]
        if not offers:
            return
        offer = offers[pick % len(offers)]
        agent = self.agent(offer.member_id)
        try:
            if accept:
                agent.accept_offer(offer.id)
            else:
                agent.decline_offer(offer.id)
        except OfferClosed as exc:
            reason = exc.reason
        else:
            return
        assert reason in ("expired", "full")

    @rule(pick=st.integers(0, 100), touch=st.booleans())
    def owner_acts(self, pick: int, touch: bool) -> None:
        owned = [ld for ld in self.leads() if ld.assignee_ids]
        if not owned:
            return
        lead = owned[pick % len(owned)]
        agent = self.agent(lead.assignee_ids[0])
        if touch:
            agent.log_interaction("note", contact_ids=[lead.contact_id], body="called back")
        else:
            agent.reject_lead(lead.id)

    # ------------------------------------------------------------ invariants
    @invariant()
    def explanations_agree_with_leads(self) -> None:
        if self.pool is None:
            return
        for lead in self.leads():
            exp = lead.explanation
            assert exp is not None
            assert lead.status in STATUS_OF[exp.outcome]
            if lead.status is LeadStatus.ASSIGNED:
                assert set(exp.chosen) == set(lead.assignee_ids)
            skipped = {s.member_id for s in exp.skipped}
            assert not skipped & set(exp.eligible)
            if exp.method in POOL_METHODS and exp.actor_id is None:
                assert set(exp.chosen) <= set(exp.eligible)
                assert set(exp.offered) <= set(exp.eligible)
            open_offers = [o.member_id for o in self.admin.lead_offers(lead.id) if o.is_open]
            if lead.status is LeadStatus.OFFERED and exp.method in POOL_METHODS:
                assert set(open_offers) <= set(exp.offered)
            else:
                assert lead.status is LeadStatus.OFFERED or not open_offers

    @invariant()
    def sequential_offers_never_return_to_a_decliner(self) -> None:
        if self.pool is None or self.pool.method != "sequential_offer":
            return
        for lead in self.leads():
            declined: set[str] = set()
            offers = self.admin.lead_offers(lead.id)
            assert sum(o.is_open for o in offers) <= 1
            for offer in offers:
                assert offer.member_id not in declined
                if offer.status is OfferStatus.DECLINED:
                    declined.add(offer.member_id)

    @invariant()
    def caps_are_never_exceeded(self) -> None:
        if self.pool is None:
            return
        pool_leads = {ld.id for ld in self.leads()}
        with self.crm.store.unit_of_work(write=False) as uow:
            for member_id in self.pool.member_ids:
                cap = self.pool.capacity_of(member_id)
                if cap is None:
                    continue
                times = sorted(
                    n.created_at
                    for n in uow.notifications.for_member(
                        self.admin.team_id, member_id, limit=100_000
                    )
                    if n.kind in GAINS and n.subject_id in pool_leads
                )
                if cap.per_day is not None:
                    per_day = Counter(t.date() for t in times)
                    assert max(per_day.values(), default=0) <= cap.per_day
                if cap.per_30_days is not None:
                    for i, t in enumerate(times):
                        recent = [u for u in times[: i + 1] if u > t - timedelta(days=30)]
                        assert len(recent) <= cap.per_30_days

    @invariant()
    def weighted_shares_are_exact_over_every_full_cycle(self) -> None:
        decided = [e for e in self.weighted_log if e.outcome is RoutingOutcome.ASSIGNED]
        runs: list[list[teamcrm.RoutingExplanation]] = []
        for exp in decided:
            if runs and runs[-1][0].eligible == exp.eligible:
                runs[-1].append(exp)
            else:
                runs.append([exp])
        for run in runs:
            weights = dict(run[0].weights)
            cycle = sum(weights.values())
            for start in range(len(run) - cycle + 1):
                window = Counter(e.chosen[0] for e in run[start : start + cycle])
                assert window == weights


def _machine(name: str, url: str, steps: int, examples: int) -> type:
    machine = type(name, (MethodsMachine,), {"url": url})
    case = machine.TestCase
    case.settings = settings(case.settings, stateful_step_count=steps, max_examples=examples)
    return case


TestMethodsMemory = _machine("MethodsMemory", "memory://", 30, 60)
TestMethodsSQLite = _machine("MethodsSQLite", "sqlite://", 20, 20)
