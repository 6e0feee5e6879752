"""Capacity and loads: who is full for a pool now, and the counts strategies read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import attrs

from teamcrm.contact import Contact
from teamcrm.followup import local_date, start_of_day
from teamcrm.ids import MemberId
from teamcrm.pool import (
    LeadPool,
)
from teamcrm.routing import (
    MemberLoad,
    RoutingContext,
    SkipReason,
    StrategyTraits,
)
from teamcrm.service.routing.common import ROLLING
from teamcrm.service.routing.router_base import RouterBase


class CapacityMixin(RouterBase):
    """The router's capacity ledger (receipts and open-lead loads, read once per unit)."""

    def _day_start(self, member_id: str) -> datetime:
        member = self.members.get(member_id)
        zone = member.time_zone if member is not None else "UTC"
        return start_of_day(local_date(self.now, zone), zone)

    def _receipts(self, pool: LeadPool, member_id: str) -> list[datetime]:
        """When the member received the pool's leads lately (read once, then kept up to date)."""
        key = (pool.id, member_id)
        got = self._received.get(key)
        if got is None:
            since = min(self.now - ROLLING, self._day_start(member_id))
            got = self._received[key] = self.uow.leads.received(
                self.team_id, pool.id, MemberId(member_id), since
            )
        return got

    def is_full(self, pool: LeadPool, member_id: str) -> bool:
        """True when the member may receive no more leads of *pool* now (its cap is reached)."""
        cap = pool.capacity_of(member_id)
        if cap is None:
            return False
        if cap.opted_out:
            return True
        times = self._receipts(pool, member_id)
        if cap.per_30_days is not None:
            since = self.now - ROLLING
            if sum(1 for t in times if t > since) >= cap.per_30_days:
                return True
        if cap.per_day is not None:
            start = self._day_start(member_id)
            if sum(1 for t in times if t >= start) >= cap.per_day:
                return True
        return False

    def full(
        self, pool: LeadPool | None, candidates: Iterable[str] | None = None
    ) -> frozenset[str]:
        """The members (of the pool, or *candidates*) at their cap for *pool*."""
        if pool is None or (pool.capacity is None and not pool.member_capacity):
            return frozenset()
        ids = pool.member_ids if candidates is None else candidates
        return frozenset(m for m in ids if self.is_full(pool, m))

    def loads(self, pool: LeadPool) -> dict[str, MemberLoad]:
        """Open leads and last receipt of the pool's members (read once per unit)."""
        got = self._loads.get(pool.id)
        if got is None:
            got = self._loads[pool.id] = self.uow.leads.loads(
                self.team_id, pool.id, pool.member_ids
            )
        return got

    def _counts(self, pool: LeadPool) -> bool:
        """True when the unit must keep *pool*'s receipts or loads in step (caps, least loaded)."""
        counts = self._counting.get(pool.id)
        if counts is None:
            counts = self._counting[pool.id] = (
                self._uses_loads(pool) or pool.capacity is not None or bool(pool.member_capacity)
            )
        return counts

    def _uses_loads(self, pool: LeadPool) -> bool:
        """True when the pool's strategy reads loads (its declared ``traits``)."""
        return self.traits_of(pool.method).needs_loads

    def traits_of(self, method: str) -> StrategyTraits:
        """The traits of *method*'s strategy (asked of the registry once per unit)."""
        known = self._traits
        if method not in known:
            known[method] = self.strategies.traits(method)
        return known[method]

    def _prime(self, pool: LeadPool | None, gained: Iterable[str]) -> None:
        """Read what the in-memory counts start from *before* the unit writes a change."""
        if pool is None:
            return
        if self._uses_loads(pool):
            self.loads(pool)
        for member_id in gained:
            if pool.capacity_of(member_id) is not None:
                self._receipts(pool, member_id)

    def _counted(self, pool: LeadPool | None, gained: Iterable[str], lost: Iterable[str]) -> None:
        """Keep the in-memory receipts and loads in step with a change just written."""
        if pool is None:
            return
        for member_id in gained:
            got = self._received.get((pool.id, member_id))
            if got is not None:
                got.append(self.now)
        loads = self._loads.get(pool.id)
        if loads is None:
            return
        for member_id in gained:
            load = loads.get(member_id, MemberLoad())
            loads[member_id] = MemberLoad(open_leads=load.open_leads + 1, last_assigned_at=self.now)
        for member_id in lost:
            load = loads.get(member_id, MemberLoad())
            loads[member_id] = attrs.evolve(load, open_leads=max(0, load.open_leads - 1))

    def context(
        self,
        pool: LeadPool,
        *,
        cursor: int = 0,
        contact: Contact | None = None,
        excluded: Mapping[str, SkipReason] | None = None,
        note: str | None = None,
    ) -> RoutingContext:
        """The context a strategy decides in: members, cursor, who is full, loads, the contact."""
        return RoutingContext(
            pool=pool,
            members=self.members,
            now=self.now,
            cursor=cursor,
            excluded=excluded or {},
            actor_id=self.actor_id,
            note=note,
            full=self.full(pool),
            loads=self.loads(pool) if self._uses_loads(pool) else {},
            contact=contact,
        )
