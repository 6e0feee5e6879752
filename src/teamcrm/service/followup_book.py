"""The follow-up book: the stored due rows, and the follow-up reactions.

A due row (one per policy and contact) is kept current in the unit of work of
every change that moves it; the reactions declared in
:func:`teamcrm.service.reactions.default_reactions` call the book.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from teamcrm.followup import (
    FollowUpDue,
    FollowUpPolicy,
    Touch,
    compute_due,
    newest,
)
from teamcrm.ids import PREFIXES, BucketId, ContactId, InteractionId, TeamId
from teamcrm.interaction import Interaction
from teamcrm.ports import UnitOfWork
from teamcrm.unit_of_work import read_ahead, reads_ahead, sending_later

if TYPE_CHECKING:
    from teamcrm.service.reactions import Occasion

__all__ = [
    "FollowUpBook",
    "drop_policies",
    "record_touches",
    "start_clocks",
    "start_clocks_ahead",
    "stop_clocks",
]


_CHUNK = 500


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class FollowUpBook:
    """Keeps the touches and due rows of one team up to date inside a unit of work.

    The hooks (:meth:`items_removed`, :meth:`bucket_deleted`,
    :meth:`interaction_logged`) are called by the other use cases in the same
    unit of work as their change, so the follow-up list is never stale.
    """

    def __init__(self, uow: UnitOfWork, team_id: TeamId) -> None:
        self.uow = uow
        self.team_id = team_id

    def compute(
        self,
        contact_ids: Sequence[str],
        policies: Sequence[FollowUpPolicy] | None,
        extra: Sequence[Touch] = (),
    ) -> tuple[list[FollowUpPolicy], list[FollowUpDue]]:
        """Compute the due rows of *contact_ids* under *policies* (default: all covering them)."""
        added, policies = self._covering(contact_ids, policies)
        if not policies:
            return [], []
        return list(policies), self._due_rows(contact_ids, added, policies, extra)

    def _covering(
        self, contact_ids: Sequence[str], policies: Sequence[FollowUpPolicy] | None = None
    ) -> tuple[dict[str, dict[str, datetime]], Sequence[FollowUpPolicy]]:
        """When each contact entered each of its buckets, and *policies* (default: all covering)."""
        added: dict[str, dict[str, datetime]] = {}
        for m in self.uow.memberships.buckets_of(self.team_id, contact_ids):
            if m.is_contact:
                added.setdefault(m.bucket_id, {})[m.item_id] = m.added_at
        if policies is None:
            policies = self.uow.followup_policies.for_buckets(
                self.team_id, [BucketId(b) for b in added]
            )
        return added, policies

    def _due_rows(
        self,
        contact_ids: Sequence[str],
        added: dict[str, dict[str, datetime]],
        policies: Sequence[FollowUpPolicy],
        extra: Sequence[Touch] = (),
    ) -> list[FollowUpDue]:
        """The due rows of *contact_ids* under *policies*, counting the touches *extra* too."""
        cids = [ContactId(c) for c in contact_ids]
        team_t = self.uow.touches.team_latest(self.team_id, cids)
        member_t = self.uow.touches.member_latest(self.team_id, cids)
        for t in extra:
            key = (t.contact_id, t.member_id)
            member_t[key] = newest(member_t.get(key), t) or t
            if t.team_wide:
                team_t[t.contact_id] = newest(team_t.get(t.contact_id), t) or t
        rows = [
            compute_due(
                policy,
                ContactId(cid),
                when,
                team_t.get(cid),
                member_t.get((cid, policy.member_id)),
                policy.time_zone,
            )
            for policy in policies
            for cid, when in added.get(policy.bucket_id, {}).items()
        ]
        return rows

    def recompute(
        self,
        contact_ids: Sequence[str],
        policies: Sequence[FollowUpPolicy] | None = None,
    ) -> None:
        """Recompute and store the due rows of *contact_ids*."""
        for chunk in _chunks(list(dict.fromkeys(contact_ids))):
            used, rows = self.compute(chunk, policies)
            if used:
                self.uow.followup_dues.delete(self.team_id, [p.id for p in used], chunk)
                self.uow.followup_dues.put_many(rows)

    def rebuild_policy(self, policy: FollowUpPolicy) -> None:
        """Recompute every due row of one policy (after it was created or changed)."""
        self.uow.followup_dues.delete_policy(self.team_id, policy.id)
        members = [
            m.item_id
            for m in self.uow.memberships.items(self.team_id, policy.bucket_id)
            if m.is_contact
        ]
        for chunk in _chunks(members):
            _, rows = self.compute(chunk, [policy])
            self.uow.followup_dues.put_many(rows)

    def settle(self, now: datetime) -> None:
        """Turn pending touches whose time has passed into ordinary touches."""
        pending = self.uow.touches.pending(self.team_id, now)
        if not pending:
            return
        self.uow.touches.record(pending)
        self.uow.touches.drop_pending(self.team_id, now)
        self.recompute([t.contact_id for t in pending])

    def items_removed(self, bucket_id: str, item_ids: Sequence[str]) -> None:
        """Drop the due rows of contacts that left a bucket."""
        contacts = [i for i in item_ids if i.startswith(PREFIXES["contact"])]
        if not contacts:
            return
        policies = self.uow.followup_policies.for_buckets(self.team_id, [BucketId(bucket_id)])
        if policies:
            for chunk in _chunks(contacts):
                self.uow.followup_dues.delete(self.team_id, [p.id for p in policies], chunk)

    def bucket_deleted(self, bucket_id: str) -> None:
        """Remove the policies (and due rows) of a deleted bucket."""
        for policy in self.uow.followup_policies.for_buckets(self.team_id, [BucketId(bucket_id)]):
            self.uow.followup_policies.delete(self.team_id, policy.id, policy.version)
            self.uow.followup_dues.delete_policy(self.team_id, policy.id)

    def interaction_logged(self, interaction: Interaction, now: datetime) -> None:
        """Record the interaction as a touch of each of its contacts (same unit).

        A touch dated after *now* is kept pending until its time has passed.
        """
        uow, team_id = self.uow, self.team_id
        contact_ids = list(dict.fromkeys(interaction.contact_ids))
        future = interaction.occurred_at > now
        few = len(contact_ids) <= _CHUNK
        cids = [ContactId(c) for c in contact_ids]
        if contact_ids and not future and few and reads_ahead(uow):
            # With the interaction's insert: every read below (none depends on a write).
            read_ahead(
                uow,
                lambda: uow.touches.pending(team_id, now),
                lambda: uow.memberships.buckets_of(team_id, contact_ids),
                lambda: uow.touches.team_latest(team_id, cids),
                lambda: uow.touches.member_latest(team_id, cids),
            )
        self.settle(now)
        if not contact_ids:
            return
        touches = [
            Touch(
                team_id=team_id,
                contact_id=cid,
                member_id=interaction.author_id,
                at=interaction.occurred_at,
            )
            for cid in interaction.contact_ids
        ]
        if future:
            uow.touches.add_pending(touches)
            return
        if not few:
            uow.touches.record(touches)
            self.recompute(contact_ids)
            return
        # The due rows are computed from the touches stored before and the new
        # ones (as stored: only a newer touch replaces one), so every read is
        # made before the writes, which nothing in this unit reads back.
        added, policies = self._covering(contact_ids)
        rows = self._due_rows(contact_ids, added, policies, touches) if policies else []
        with sending_later(uow):
            uow.touches.record(touches)
            if policies:
                uow.followup_dues.delete(team_id, [p.id for p in policies], contact_ids)
                uow.followup_dues.put_many(rows)


# ================================================================ reactions
# Declared, in order, in teamcrm.service.reactions.default_reactions.
def start_clocks(occasion: Occasion) -> None:
    """``bucket.items_added``: start the clocks of the bucket's follow-up policies."""
    data = occasion.event.data
    contacts = [i for i in _ids(data.get("item_ids")) if i.startswith(PREFIXES["contact"])]
    if not contacts:
        return
    uow, team_id = occasion.uow, occasion.team_id
    policies = uow.followup_policies.for_buckets(team_id, [BucketId(occasion.event.subject_id)])
    if policies:
        FollowUpBook(uow, team_id).recompute(contacts, policies)


def start_clocks_ahead(occasion: Occasion) -> list[Callable[[], object]]:
    """What :func:`start_clocks` reads first: the bucket's policies (when contacts are added)."""
    if not any(
        i.startswith(PREFIXES["contact"]) for i in _ids(occasion.event.data.get("item_ids"))
    ):
        return []
    uow, team_id = occasion.uow, occasion.team_id
    bucket_id = BucketId(occasion.event.subject_id)
    return [lambda: uow.followup_policies.for_buckets(team_id, [bucket_id])]


def stop_clocks(occasion: Occasion) -> None:
    """``bucket.items_removed``: drop the due rows of contacts that left the bucket."""
    FollowUpBook(occasion.uow, occasion.team_id).items_removed(
        occasion.event.subject_id, _ids(occasion.event.data.get("item_ids"))
    )


def drop_policies(occasion: Occasion) -> None:
    """``bucket.deleted``: remove the bucket's follow-up policies (and due rows)."""
    FollowUpBook(occasion.uow, occasion.team_id).bucket_deleted(occasion.event.subject_id)


def record_touches(occasion: Occasion) -> None:
    """``interaction.logged``: the interaction touches each of its contacts."""
    interaction = occasion.subject
    if not isinstance(interaction, Interaction):
        interaction = occasion.uow.interactions.get(
            occasion.team_id, InteractionId(occasion.event.subject_id)
        )
    FollowUpBook(occasion.uow, occasion.team_id).interaction_logged(interaction, occasion.now)


def _ids(value: object) -> list[str]:
    """A list of ids from event data (``[]`` when absent)."""
    return [str(v) for v in value] if isinstance(value, list) else []
