"""A custom routing strategy: leads by ZIP-code territory.

Each member covers ZIP-code prefixes ("941" for San Francisco, "100" for
Manhattan).  A contact's ZIP code is read from its custom field ``zip``; the
lead goes to the eligible member whose territory has the longest matching
prefix.  A contact without a ZIP code, or in nobody's territory, or whose
territory holder is away, inactive or full, goes round robin among the
pool's other eligible members, so no lead is stranded.

The strategy is pure (no I/O): it gets the pool, the members, the cursor and
the contact in a :class:`teamcrm.routing.RoutingContext` and returns a
:class:`teamcrm.routing.RoutingDecision` with its explanation.  Registering
it under the method name ``territory`` lets pools use it::

    import teamcrm, territory_routing
    teamcrm.register_strategy(territory_routing.TerritoryStrategy({"941": bob.id}))
    alice.create_pool("By ZIP", source_bucket_ids=[web.id],
                      member_ids=[bob.id, cat.id],
                      method=teamcrm.StrategyName("territory"))

Run ``python examples/territory_routing.py`` for a demo.
"""

from __future__ import annotations

from collections.abc import Mapping

import teamcrm
from teamcrm.routing import (
    RoundRobinStrategy,
    RoutingContext,
    RoutingDecision,
    RoutingExplanation,
    RoutingOutcome,
    eligible_of,
)

__all__ = ["ZIP_FIELD", "TerritoryStrategy", "main"]

#: The contact custom field that holds the ZIP code.
ZIP_FIELD = "zip"


class TerritoryStrategy:
    """Route by the longest ZIP-code prefix a member covers; else round robin.

    :param territories: ZIP-code prefix → member id.
    """

    method = "territory"

    def __init__(self, territories: Mapping[str, str]) -> None:
        self.territories = dict(territories)

    def owner_of(self, zip_code: str) -> str | None:
        """The member covering *zip_code* by its longest prefix, or ``None``."""
        for size in range(len(zip_code), 0, -1):
            owner = self.territories.get(zip_code[:size])
            if owner is not None:
                return owner
        return None

    def decide(self, ctx: RoutingContext) -> RoutingDecision:
        """The territory's member when eligible, else the next one round robin."""
        eligible, skipped = eligible_of(ctx)
        zip_code = ""
        if ctx.contact is not None:
            zip_code = str(ctx.contact.custom_fields.get(ZIP_FIELD) or "").strip()
        owner = self.owner_of(zip_code) if zip_code else None
        if owner is not None and owner in eligible:
            return RoutingDecision(
                explanation=RoutingExplanation(
                    method=self.method,
                    outcome=RoutingOutcome.ASSIGNED,
                    decided_at=ctx.now,
                    pool_id=ctx.pool.id,
                    actor_id=ctx.actor_id,
                    eligible=eligible,
                    skipped=skipped,
                    chosen=(owner,),  # type: ignore[arg-type]
                    note=f"territory of ZIP {zip_code}",
                )
            )
        fallback = RoundRobinStrategy().decide(ctx).explanation
        why = f"ZIP {zip_code}: " if zip_code else "no ZIP code: "
        why += "its territory's member cannot take it" if owner else "no territory; round robin"
        return RoutingDecision(
            explanation=RoutingExplanation(
                method=self.method,
                outcome=fallback.outcome,
                decided_at=ctx.now,
                pool_id=ctx.pool.id,
                actor_id=ctx.actor_id,
                eligible=fallback.eligible,
                skipped=fallback.skipped,
                cursor_before=fallback.cursor_before,
                cursor_after=fallback.cursor_after,
                chosen=fallback.chosen,
                note=why,
            )
        )


def main() -> dict[str, str]:
    """Route four leads by territory on an in-memory CRM; return contact name → owner name."""
    crm = teamcrm.open("memory://")
    _, admin = crm.create_team("Coast to Coast", admin_name="Alice")
    alice = crm.as_member(admin.id)
    bob = alice.add_member("Bob", role="agent")
    cat = alice.add_member("Cat", role="agent")
    dan = alice.add_member("Dan", role="agent")
    teamcrm.register_strategy(TerritoryStrategy({"941": bob.id, "100": cat.id, "1002": dan.id}))
    web = alice.create_bucket("Website leads")
    alice.create_pool(
        "By ZIP",
        source_bucket_ids=[web.id],
        member_ids=[bob.id, cat.id, dan.id],
        method=teamcrm.StrategyName("territory"),  # a registered strategy's name
    )
    people = [("Sam", "94110"), ("Nia", "10001"), ("Ola", "10025"), ("Eve", None)]
    alice.create_contacts(
        [
            {"first_name": name, "custom_fields": {ZIP_FIELD: code} if code else {}}
            for name, code in people
        ],
        bucket_id=web.id,
    )
    names: dict[str, str] = {bob.id: "Bob", cat.id: "Cat", dan.id: "Dan"}
    routed = {
        row.contact_name: names.get(row.assignee_id or "", "-")
        for row in alice.routing_dashboard(sort_by="contact_name")
    }
    for contact, owner in routed.items():
        print(f"{contact:>4} -> {owner}")
    crm.close()
    return routed


if __name__ == "__main__":
    main()
