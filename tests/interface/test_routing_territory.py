"""The custom-strategy example: routing by ZIP-code territory, on memory:// and sqlite://."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

import teamcrm
from teamcrm.routing import RoutingOutcome, SkipReason

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def territory() -> Iterator[ModuleType]:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import territory_routing

        yield territory_routing
    finally:
        sys.path.remove(str(EXAMPLES))


def test_the_demo_routes_by_longest_prefix(
    territory: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    routed = territory.main()
    assert routed == {"Eve": "Bob", "Nia": "Cat", "Ola": "Dan", "Sam": "Bob"}
    assert "Ola -> Dan" in capsys.readouterr().out


@pytest.mark.parametrize("url", ["memory://", "sqlite://"])
def test_a_registered_territory_pool_routes_and_explains(territory: ModuleType, url: str) -> None:
    clock = teamcrm.SettableClock(START)
    crm = teamcrm.open(url, clock=clock)
    _, admin = crm.create_team("T", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob, cat = (ana.add_member(n, role="agent").id for n in ("Bob", "Cat"))
    teamcrm.register_strategy(territory.TerritoryStrategy({"941": bob, "100": cat}))
    web = ana.create_bucket("Web")
    pool = ana.create_pool(
        "By ZIP", source_bucket_ids=[web.id], member_ids=[bob, cat], method="territory"
    )
    assert ana.pool(pool.id).method == "territory"
    (sam,) = ana.create_contacts(
        [{"first_name": "Sam", "custom_fields": {"zip": "94110"}}], bucket_id=web.id
    )
    (lead,) = ana.leads(pool_id=pool.id)
    assert lead.assignee_ids == (bob,)
    exp = ana.explain(lead.id)
    assert exp.method == "territory"
    assert exp.note == "territory of ZIP 94110"
    # the territory's member away: round robin among the others, and said so
    ana.set_away(START + timedelta(days=1), member_id=bob)
    ana.create_contacts(
        [{"first_name": "Sue", "custom_fields": {"zip": "94107"}}], bucket_id=web.id
    )
    (second,) = [ld for ld in ana.leads(pool_id=pool.id) if ld.id != lead.id]
    assert second.assignee_ids == (cat,)
    exp = ana.explain(second.id)
    assert {s.member_id: s.reason for s in exp.skipped} == {bob: SkipReason.AWAY}
    assert "cannot take it" in (exp.note or "")
    # everyone away: the lead waits, never an error
    ana.set_away(START + timedelta(days=1), member_id=cat)
    ana.create_contacts([{"first_name": "Zed"}], bucket_id=web.id)
    waiting = [ld for ld in ana.leads(pool_id=pool.id) if not ld.assignee_ids]
    assert len(waiting) == 1
    assert ana.explain(waiting[0].id).outcome is RoutingOutcome.NO_ELIGIBLE
    assert sam.id in {ld.contact_id for ld in ana.leads(pool_id=pool.id)}
    crm.close()
