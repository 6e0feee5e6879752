"""The pure routing strategies: eligibility, fairness, explanations, entities."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm import ValidationError
from teamcrm.ids import MemberId, TeamId
from teamcrm.lead import Lead, LeadStatus, Offer
from teamcrm.pool import DistributionMethod, LeadPool
from teamcrm.routing import (
    RoutingContext,
    RoutingDecision,
    RoutingOutcome,
    RoutingStrategy,
    SkipReason,
    decide,
    register_strategy,
    screen,
    strategy_for,
)
from teamcrm.team import Member, Role

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TEAM = TeamId("tm_" + "1" * 26)


def member(i: int, *, active: bool = True, away: bool = False) -> Member:
    return Member(
        id=MemberId(f"mb_{i:026x}"),
        team_id=TEAM,
        name=f"M{i}",
        role=Role.AGENT,
        created_at=NOW,
        active=active,
        away_until=NOW + timedelta(hours=1) if away else None,
    )


def pool(members: list[Member], method: str = "round_robin", **kw: object) -> LeadPool:
    return LeadPool(
        id="lp_" + "2" * 26,  # type: ignore[arg-type]
        team_id=TEAM,
        name="Web",
        created_at=NOW,
        source_bucket_ids=("bk_" + "3" * 26,),  # type: ignore[arg-type]
        member_ids=tuple(m.id for m in members),
        method=method,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def ctx(p: LeadPool, members: list[Member], cursor: int = 0) -> RoutingContext:
    return RoutingContext(pool=p, members={m.id: m for m in members}, now=NOW, cursor=cursor)


def test_screen_names_every_reason() -> None:
    ok, inactive, away, outsider = (
        member(1),
        member(2, active=False),
        member(3, away=True),
        member(4),
    )
    p = pool([ok, inactive, away])
    members = {m.id: m for m in (ok, inactive, away, outsider)}
    eligible, skipped = screen(
        [ok.id, inactive.id, away.id, outsider.id, "mb_" + "f" * 26], members, p, NOW
    )
    assert eligible == (ok.id,)
    assert [s.reason for s in skipped] == [
        SkipReason.INACTIVE,
        SkipReason.AWAY,
        SkipReason.NOT_IN_POOL,
        SkipReason.NOT_IN_TEAM,
    ]


def test_round_robin_wraps_and_explains_the_cursor() -> None:
    ms = [member(i) for i in range(3)]
    p = pool(ms)
    d = decide(ctx(p, ms, cursor=2))
    assert d.assignee_ids == (ms[2].id,)
    assert (d.explanation.cursor_before, d.cursor_after) == (2, 0)
    assert decide(ctx(p, ms, cursor=d.cursor_after or 0)).assignee_ids == (ms[0].id,)
    # a cursor beyond the list (members were removed) wraps
    assert decide(ctx(p, ms, cursor=7)).explanation.cursor_before == 1


def test_empty_and_all_away_pools_are_a_result_not_an_error() -> None:
    for method in DistributionMethod:
        if method is DistributionMethod.MANUAL:
            continue
        for ms in ([], [member(1, away=True), member(2, active=False)]):
            d = decide(ctx(pool(ms, method.value), ms))
            assert d.outcome is RoutingOutcome.NO_ELIGIBLE
            assert d.assignee_ids == ()
            assert d.offer_member_ids == ()


def test_first_to_accept_offers_every_eligible_member_for_the_window() -> None:
    ms = [member(1), member(2, away=True), member(3)]
    p = pool(ms, "first_to_accept", offer_window=timedelta(minutes=15))
    d = decide(ctx(p, ms))
    assert d.outcome is RoutingOutcome.OFFERED
    assert d.offer_member_ids == (ms[0].id, ms[2].id)
    assert d.explanation.offer_expires_at == NOW + timedelta(minutes=15)


def test_everyone_and_manual() -> None:
    ms = [member(1), member(2)]
    assert decide(ctx(pool(ms, "everyone"), ms)).assignee_ids == (ms[0].id, ms[1].id)
    manual = decide(ctx(pool(ms, "manual"), ms))
    assert manual.outcome is RoutingOutcome.WAITING
    assert manual.assignee_ids == ()


@given(
    flags=st.lists(st.sampled_from(["ok", "away", "inactive"]), min_size=1, max_size=8),
    start=st.integers(min_value=0, max_value=50),
    leads=st.integers(min_value=1, max_value=60),
)
def test_round_robin_is_fair_and_never_picks_the_ineligible(
    flags: list[str], start: int, leads: int
) -> None:
    ms = [member(i, away=f == "away", active=f != "inactive") for i, f in enumerate(flags)]
    p = pool(ms)
    eligible = {m.id for m in ms if m.is_available(NOW)}
    cursor = start
    counts: Counter[str] = Counter()
    for _ in range(leads):
        d = decide(ctx(p, ms, cursor))
        if not eligible:
            assert d.outcome is RoutingOutcome.NO_ELIGIBLE
            return
        (chosen,) = d.assignee_ids
        assert chosen in eligible
        counts[chosen] += 1
        cursor = d.cursor_after if d.cursor_after is not None else cursor
    values = [counts[m] for m in eligible]
    assert max(values) - min(values) <= 1


def test_custom_strategies_plug_in() -> None:
    class Lottery:
        method = "round_robin"

        def decide(self, c: RoutingContext) -> RoutingDecision:
            return strategy_for("everyone").decide(c)

    original = strategy_for("round_robin")
    assert isinstance(original, RoutingStrategy)
    register_strategy(Lottery())
    try:
        ms = [member(1), member(2)]
        assert len(decide(ctx(pool(ms), ms)).assignee_ids) == 2
    finally:
        register_strategy(original)
    with pytest.raises(ValidationError):
        register_strategy(object())  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        strategy_for("lottery")


def test_entities_refuse_inconsistent_states() -> None:
    base = Lead(
        id="ld_" + "4" * 26,  # type: ignore[arg-type]
        team_id=TEAM,
        contact_id="ct_" + "5" * 26,  # type: ignore[arg-type]
        created_at=NOW,
    )
    with pytest.raises(ValidationError):
        attrs.evolve(base, status=LeadStatus.ASSIGNED)  # no owner
    with pytest.raises(ValidationError):
        attrs.evolve(base, assignee_ids=(member(1).id,))  # owner but unassigned
    with pytest.raises(ValidationError):
        attrs.evolve(base, entry=0)
    with pytest.raises(ValidationError):
        Offer(
            id="of_" + "6" * 26,  # type: ignore[arg-type]
            team_id=TEAM,
            lead_id=base.id,
            member_id=member(1).id,
            created_at=NOW,
            expires_at=NOW,
        )
    with pytest.raises(ValidationError):
        pool([], offer_window=timedelta(days=31))
    with pytest.raises(ValidationError):
        pool([], follow_up="fortnightly")
    assert pool([], follow_up="2 weeks").follow_up is not None
