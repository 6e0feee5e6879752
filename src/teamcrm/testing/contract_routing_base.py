"""What the routing contracts share: a seeded team with a pool, leads, offers; snapshots; races."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import attrs
import pytest

from teamcrm.bucket import Bucket
from teamcrm.contact import Contact
from teamcrm.errors import AlreadyExists, ConcurrencyError
from teamcrm.ids import ContactId, MemberId, TeamId
from teamcrm.lead import (
    InboundBucket,
    Lead,
    LeadStatus,
    Offer,
    RoutingCursor,
    new_lead_id,
    new_offer_id,
)
from teamcrm.pool import DistributionMethod, LeadPool, new_pool_id
from teamcrm.ports import Store, UnitOfWork
from teamcrm.routing import RoutingExplanation, RoutingOutcome, Skipped, SkipReason
from teamcrm.testing.contract_base import (
    Seed,
    StoreContractBase,
    add_all,
    at,
    bump,
    new_bucket,
    new_contact,
    read,
    seed_team,
    write,
)


@attrs.frozen
class RoutingSeed:
    """A seeded team with two team buckets, a round-robin pool and three more contacts.

    ``pool``: round robin over the admin and the agent, fed by ``buckets[0]``.
    """

    seed: Seed
    buckets: tuple[Bucket, Bucket]
    pool: LeadPool
    contacts: tuple[Contact, ...]

    @property
    def team_id(self) -> TeamId:
        """The team's id."""
        return self.seed.team_id

    @property
    def people(self) -> list[MemberId]:
        """The admin's and the agent's ids."""
        return [self.seed.admin.id, self.seed.agent.id]

    @property
    def contact_ids(self) -> list[ContactId]:
        """The seed contact's id and the three others."""
        return [self.seed.contact.id, *(c.id for c in self.contacts)]


def new_pool(seed: Seed, buckets: list[Bucket], seconds: float = 10, **changes: Any) -> LeadPool:
    """Return an unsaved round-robin pool over the admin and the agent, fed by *buckets*."""
    fields: dict[str, Any] = {
        "id": new_pool_id(),
        "team_id": seed.team_id,
        "name": "Website leads",
        "created_at": at(seconds),
        "source_bucket_ids": tuple(b.id for b in buckets),
        "member_ids": (seed.admin.id, seed.agent.id),
        "method": DistributionMethod.ROUND_ROBIN,
        "created_by": seed.admin.id,
    }
    fields.update(changes)
    return LeadPool(**fields)


def new_lead(
    rs: RoutingSeed, contact_id: str, seconds: float = 20, *, pooled: bool = True, **changes: Any
) -> Lead:
    """Return an unsaved unassigned lead of *contact_id* in the pool (or in none)."""
    fields: dict[str, Any] = {
        "id": new_lead_id(),
        "team_id": rs.team_id,
        "contact_id": ContactId(contact_id),
        "created_at": at(seconds),
        "pool_id": rs.pool.id if pooled else None,
    }
    fields.update(changes)
    return Lead(**fields)


def new_offer(rs: RoutingSeed, lead: Lead, seconds: float = 30, **changes: Any) -> Offer:
    """Return an unsaved open offer of *lead* to the agent, open for an hour."""
    fields: dict[str, Any] = {
        "id": new_offer_id(),
        "team_id": rs.team_id,
        "lead_id": lead.id,
        "member_id": rs.seed.agent.id,
        "created_at": at(seconds),
        "expires_at": at(seconds) + timedelta(hours=1),
    }
    fields.update(changes)
    return Offer(**fields)


def _assigned(lead: Lead, *owners: MemberId, seconds: float = 40) -> Lead:
    """*lead*, version + 1, assigned to *owners* with an explanation."""
    explanation = RoutingExplanation(
        method="round_robin",
        outcome=RoutingOutcome.ASSIGNED,
        decided_at=at(seconds),
        pool_id=lead.pool_id,
        eligible=owners,
        skipped=(Skipped(member_id="mb_gone \u00e9", reason=SkipReason.NOT_IN_TEAM),),
        cursor_before=0,
        cursor_after=1,
        chosen=owners,
    )
    assigned: Lead = bump(
        lead,
        status=LeadStatus.ASSIGNED,
        assignee_ids=owners,
        assigned_at=at(seconds),
        explanation=explanation,
    )
    return assigned


def seed_routing(store: Store, name: str = "Acme") -> RoutingSeed:
    """Write a team with buckets, a pool and contacts (see :class:`RoutingSeed`)."""
    seed = seed_team(store, name)
    buckets = (new_bucket(seed, 5), new_bucket(seed, 6))
    pool = new_pool(seed, [buckets[0]], 7)
    contacts = tuple(new_contact(seed, 8 + i, first_name=f"L{i}") for i in range(3))

    def fill(uow: UnitOfWork) -> None:
        add_all(uow.buckets.add, buckets)
        uow.contacts.add_many(contacts)
        uow.lead_pools.add(pool)

    write(store, fill)
    return RoutingSeed(seed=seed, buckets=buckets, pool=pool, contacts=contacts)


def routing_snapshot(uow: UnitOfWork, rs: RoutingSeed) -> dict[str, Any]:
    """Everything the routing ports can list for *rs*'s team, as comparable data."""
    t = rs.team_id
    pools = uow.lead_pools.all(t)
    leads = uow.leads.all(t)
    return {
        "pools": pools,
        "leads": leads,
        "offers": [uow.offers.for_member(t, m) for m in rs.people],
        "offers_by_lead": [uow.offers.for_lead(t, lead.id) for lead in leads],
        "cursors": [uow.routing_cursors.get(t, p.id) for p in [rs.pool, *pools]],
        "inbound": [uow.inbound_buckets.get(t, m) for m in rs.people],
        "entries": uow.leads.entries(t, rs.pool.id, rs.contact_ids),
        "entry_states": uow.leads.entry_states(t, rs.pool.id, rs.contact_ids),
    }


def _snapshot(store: Store, rs: RoutingSeed) -> dict[str, Any]:
    return read(store, lambda uow: routing_snapshot(uow, rs))


def race(store: Store, workers: int, attempt: Callable[[int], Any]) -> list[str]:
    """Run ``attempt(n)`` in *workers* threads at once; return "won", "lost" or the error of each.

    ``ConcurrencyError`` counts as lost; any other exception is reported, not swallowed.
    """
    barrier = threading.Barrier(workers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            attempt(n)
            result = "won"
        except ConcurrencyError:
            result = "lost"
        except Exception as exc:  # reported by the caller's assertion
            result = f"error: {exc!r}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(outcomes)


class _RoutingBase(StoreContractBase):
    @pytest.fixture
    def routing_seed(self, store: Store) -> Callable[[], RoutingSeed]:
        """Returns a team with buckets, a pool and contacts, written to *store* on first call.

        Seeded lazily, in the test itself, so that an adapter failing to store
        the seed fails the test (which a known-failure mark can cover).
        """
        return functools.cache(lambda: seed_routing(store))


def _all_or_none(store: Store, add_many: Callable[[UnitOfWork], None]) -> None:
    """Run *add_many*, expect ``AlreadyExists``, then commit the unit anyway."""
    with store.unit_of_work() as uow:
        with pytest.raises(AlreadyExists):
            add_many(uow)
        uow.commit()  # even if the caller goes on and commits, nothing was added


def _fill_routing(store: Store, rs: RoutingSeed) -> tuple[Lead, Offer]:
    """Give *rs*'s team a row in every routing port; return its lead and offer."""
    lead = new_lead(rs, rs.seed.contact.id, keys=("bea@example.com",), status=LeadStatus.OFFERED)
    offer = new_offer(rs, lead)

    def fill(uow: UnitOfWork) -> None:
        uow.leads.add_many([lead])
        uow.offers.add_many([offer])
        uow.routing_cursors.put(RoutingCursor(team_id=rs.team_id, pool_id=rs.pool.id, version=1))
        uow.inbound_buckets.put(
            InboundBucket(
                team_id=rs.team_id, member_id=rs.seed.agent.id, bucket_id=rs.buckets[1].id
            )
        )

    write(store, fill)
    return lead, offer
