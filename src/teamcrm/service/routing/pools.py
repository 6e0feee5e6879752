"""Use cases for lead pools and members' inbound buckets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

import attrs

from teamcrm import permissions as perm
from teamcrm.bucket import Bucket
from teamcrm.errors import ConcurrencyError, ValidationError
from teamcrm.events import EventName
from teamcrm.followup import Cadence
from teamcrm.ids import PREFIXES, BucketId, MemberId
from teamcrm.lead import InboundBucket
from teamcrm.pool import (
    DEFAULT_OFFER_WINDOW,
    Capacity,
    DistributionMethod,
    LeadPool,
    MethodName,
    PoolId,
    StrategyName,
    new_pool_id,
)
from teamcrm.ports import UnitOfWork
from teamcrm.rotation import carry_cursor
from teamcrm.service.base import bumped
from teamcrm.service.routing.common import (
    POOL_FIELDS,
    _id_list,
)
from teamcrm.service.routing.session import RoutingBase
from teamcrm.validation import check_int


class PoolUseCases(RoutingBase):
    """Create, change, activate and read lead pools; the inbound bucket."""

    def create_pool(
        self,
        name: str,
        *,
        source_bucket_ids: Iterable[BucketId],
        member_ids: Iterable[MemberId] = (),
        method: DistributionMethod | MethodName | StrategyName = DistributionMethod.MANUAL,
        offer_window: timedelta = DEFAULT_OFFER_WINDOW,
        follow_up: Cadence | str | None = None,
        fallback_member_id: MemberId | None = None,
        active: bool = True,
        weights: Mapping[str, int] | None = None,
        capacity: Capacity | Mapping[str, int | None] | None = None,
        member_capacity: Mapping[str, Capacity | Mapping[str, int | None]] | None = None,
        response_window: timedelta | None = None,
        dedupe: bool = True,
    ) -> LeadPool:
        """Create a lead pool (admins).

        Source buckets must be team buckets of this team; members and the
        fallback must be members of the team.  Members are kept in the order
        given (the round-robin order).  *method* is a
        :class:`DistributionMethod` or the name of a registered custom
        strategy.  *weights* (``weighted``: member id to a weight of 1 or
        more, default 1), *capacity* (a :class:`Capacity` for every member),
        *member_capacity* (per member, replacing *capacity*),
        *response_window* and *dedupe* are described in ``docs/routing.md``.
        """
        with self._unit() as (uow, actor):
            perm.require_admin(actor, "create lead pools")
            now = self.crm.now()
            pool = LeadPool(
                id=new_pool_id(),
                team_id=self.team_id,
                name=name,
                created_at=now,
                source_bucket_ids=_id_list(
                    "source_bucket_ids", source_bucket_ids, prefixes=(PREFIXES["bucket"],)
                ),  # type: ignore[arg-type]
                member_ids=_id_list("member_ids", member_ids, prefixes=(PREFIXES["member"],)),  # type: ignore[arg-type]
                method=method,
                active=active,
                offer_window=offer_window,
                follow_up=follow_up,  # type: ignore[arg-type]
                fallback_member_id=fallback_member_id,
                created_by=actor.id,
                weights=weights or {},
                capacity=capacity,  # type: ignore[arg-type]
                member_capacity=member_capacity or {},  # type: ignore[arg-type]
                response_window=response_window,
                dedupe=dedupe,
            )
            self._check_pool(uow, pool)
            uow.lead_pools.add(pool)
            uow.collect(
                self._event(
                    EventName.POOL_CREATED, pool.id, now, name=pool.name, method=pool.method_name
                )
            )
            uow.commit()
            return pool

    def _check_pool(
        self, uow: UnitOfWork, pool: LeadPool, previous: LeadPool | None = None
    ) -> None:
        """Check what is new in *pool*: sources are team buckets, members are the team's.

        Sources and members the pool already had are not checked again.  A
        unit that gives a pool a new source holds the team (``teams.lock``)
        until it commits, as ``delete_bucket`` does: a bucket is never
        deleted while it becomes a source, so no pool names a deleted one.
        """
        if previous is None or previous.method != pool.method:
            self.crm.strategies.get(pool.method)
        if previous is None or set(pool.source_bucket_ids) - set(previous.source_bucket_ids):
            uow.teams.lock(self.team_id)
        old_sources = set(previous.source_bucket_ids) if previous is not None else set()
        old_members = set(previous.member_ids) if previous is not None else set()
        for bucket_id in pool.source_bucket_ids:
            if bucket_id in old_sources:
                continue
            bucket = uow.buckets.get(self.team_id, bucket_id)
            if bucket.is_personal:
                raise ValidationError(
                    "source_bucket_ids", bucket_id, "a pool's sources must be team buckets"
                )
        for member_id in pool.member_ids:
            if member_id not in old_members:
                uow.members.get(self.team_id, member_id)
        if pool.fallback_member_id is not None:
            uow.members.get(self.team_id, pool.fallback_member_id)

    def update_pool(
        self, pool_id: PoolId, *, expected_version: int | None = None, **changes: Any
    ) -> LeadPool:
        """Change a pool's name, sources, members, method, window, follow-up, fallback (admins)."""
        unknown = set(changes) - POOL_FIELDS
        if unknown:
            raise ValidationError("pool", sorted(unknown)[0], "unknown pool field")
        for key in ("source_bucket_ids", "member_ids"):
            if key in changes:
                prefix = PREFIXES["bucket"] if key == "source_bucket_ids" else PREFIXES["member"]
                changes[key] = _id_list(key, changes[key], prefixes=(prefix,))
        if expected_version is not None:
            check_int("expected_version", expected_version, minimum=1)
        return self._change_pool(pool_id, "edit lead pools", expected_version, **changes)

    def activate_pool(self, pool_id: PoolId) -> LeadPool:
        """Turn a pool's routing on (admins); contacts already in its buckets are not routed."""
        return self._change_pool(pool_id, "activate lead pools", None, active=True)

    def deactivate_pool(self, pool_id: PoolId) -> LeadPool:
        """Turn a pool's routing off (admins); its leads stay as they are."""
        return self._change_pool(pool_id, "deactivate lead pools", None, active=False)

    def _change_pool(
        self, pool_id: str, action: str, expected_version: int | None, **changes: Any
    ) -> LeadPool:
        with self._unit() as (uow, actor):
            perm.require_admin(actor, action)
            pool = self._pool(uow, pool_id)
            if expected_version is not None and expected_version != pool.version:
                raise ConcurrencyError("lead pool", pool.id, expected_version)
            if all(getattr(pool, k) == v for k, v in changes.items()):
                return pool
            updated: LeadPool = bumped(pool, **changes)
            self._check_pool(uow, updated, pool)
            uow.lead_pools.update(updated)
            if changes.keys() & {"member_ids", "weights", "method"}:
                self._carry_rotation(uow, pool, updated)
            uow.collect(
                self._event(EventName.POOL_CHANGED, pool.id, self.crm.now(), fields=sorted(changes))
            )
            uow.commit()
            return updated

    def _carry_rotation(self, uow: UnitOfWork, before: LeadPool, after: LeadPool) -> None:
        """Keep the rotation going from the member served last (see :mod:`teamcrm.rotation`)."""
        cursor = uow.routing_cursors.get(self.team_id, before.id)
        position = carry_cursor(before, after, cursor.position)
        if position is not None and position != cursor.position:
            uow.routing_cursors.put(
                attrs.evolve(cursor, position=position, version=cursor.version + 1)
            )

    def delete_pool(self, pool_id: PoolId) -> None:
        """Delete an inactive pool (admins); its leads stay, without a pool."""
        with self._unit() as (uow, actor):
            perm.require_admin(actor, "delete lead pools")
            pool = self._pool(uow, pool_id)
            if pool.active:
                raise ValidationError("pool_id", pool.id, "deactivate the pool before deleting it")
            uow.lead_pools.delete(self.team_id, pool.id, pool.version)
            uow.collect(self._event(EventName.POOL_DELETED, pool.id, self.crm.now()))
            uow.commit()

    def pools(self) -> list[LeadPool]:
        """Return the team's pools (any active member may look)."""
        with self._unit(write=False) as (uow, _actor):
            return uow.lead_pools.all(self.team_id)

    def pool(self, pool_id: PoolId) -> LeadPool:
        """Return one pool."""
        with self._unit(write=False) as (uow, _actor):
            return self._pool(uow, pool_id)

    # ======================================================= inbound bucket
    def inbound_bucket(self) -> Bucket:
        """Return the bucket one's routed leads land in (created on first need)."""
        with self._unit() as (uow, actor):
            router = self._router(uow, actor.id, self.crm.now())
            bucket = router.inbound_bucket(actor.id)
            router.flush()
            uow.commit()
            return bucket

    def set_inbound_bucket(self, bucket_id: BucketId) -> Bucket:
        """Receive routed leads into *bucket_id* from now on (one's own or an editable bucket)."""
        with self._unit() as (uow, actor):
            bucket = self._bucket(uow, actor, bucket_id)
            perm.require(
                perm.can_edit_bucket(actor, bucket),
                actor,
                "receive leads into this bucket",
                "one must be able to add contacts to it",
            )
            uow.inbound_buckets.put(
                InboundBucket(team_id=self.team_id, member_id=actor.id, bucket_id=bucket.id)
            )
            uow.collect(
                self._event(
                    EventName.INBOUND_BUCKET_CHANGED, actor.id, self.crm.now(), bucket_id=bucket.id
                )
            )
            uow.commit()
            return bucket
