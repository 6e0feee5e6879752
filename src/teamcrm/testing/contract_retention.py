"""Contract tests of outbox retention: ``uow.outbox.prune``.

Part of the public contract suite (:class:`teamcrm.testing.contract.StoreContract`
includes :class:`OutboxRetentionContract`): a prune deletes, lowest ``seq``
first and at most *limit* at a time, only the messages that are older than
*before* **and** at or before the lowest position of every consumer
registered for their team (``uow.consumer_positions``); a team no consumer
claimed is pruned by age alone; one team's prune never touches another's.
"""

from __future__ import annotations

import attrs

from teamcrm.ids import TeamId
from teamcrm.ports import Store, UnitOfWork
from teamcrm.testing.contract_base import (
    Seed,
    StoreContractBase,
    at,
    discard,
    new_event,
    read,
    seed_team,
    write,
)

__all__ = ["OutboxRetentionContract"]


def _emit(store: Store, seed: Seed, *seconds: float) -> list[int]:
    """Append one event per entry of *seconds* (occurred at ``at(s)``); return their seqs."""
    events = [attrs.evolve(new_event(seed, f"e{s}"), occurred_at=at(s)) for s in seconds]
    write(store, lambda uow: uow.collect(*events))
    return [m.seq for m in read(store, lambda uow: uow.outbox.read(seed.team_id))][-len(seconds) :]


def _seqs(store: Store, team_id: TeamId) -> list[int]:
    return [m.seq for m in read(store, lambda uow: uow.outbox.read(team_id, 0, 100_000))]


def _place(store: Store, consumer: str, team_id: TeamId, seq: int) -> None:
    """Register *consumer* for the team and move its position to *seq*."""

    def go(uow: UnitOfWork) -> None:
        token = f"tok-{consumer}"
        assert (
            uow.consumer_positions.claim(consumer, team_id, token=token, now=at(0), until=at(60))
            is not None
        )
        if seq:
            assert uow.consumer_positions.advance(consumer, team_id, token=token, seq=seq)
        else:
            uow.consumer_positions.release(consumer, team_id, token=token)

    write(store, go)


def _prune(store: Store, team_id: TeamId | None, before: float, limit: int = 10_000) -> int:
    return write(store, lambda uow: uow.outbox.prune(team_id, before=at(before), limit=limit))


class OutboxRetentionContract(StoreContractBase):
    """``uow.outbox.prune``: age, consumer floors, limits, teams, atomicity."""

    def test_prune_deletes_only_messages_older_than_before(self, store: Store, seed: Seed) -> None:
        seqs = _emit(store, seed, 1, 2, 3, 10, 11)
        assert _prune(store, seed.team_id, 10) == 3
        assert _seqs(store, seed.team_id) == seqs[3:]
        assert _prune(store, seed.team_id, 10) == 0

    def test_prune_keeps_what_a_consumer_has_not_handled(self, store: Store, seed: Seed) -> None:
        seqs = _emit(store, seed, 1, 2, 3, 4, 5)
        _place(store, "audit", seed.team_id, seqs[1])
        assert _prune(store, seed.team_id, 100) == 2
        assert _seqs(store, seed.team_id) == seqs[2:]

    def test_the_slowest_consumer_sets_the_floor(self, store: Store, seed: Seed) -> None:
        seqs = _emit(store, seed, 1, 2, 3, 4, 5)
        _place(store, "fast", seed.team_id, seqs[4])
        _place(store, "slow", seed.team_id, seqs[2])
        assert _prune(store, seed.team_id, 100) == 3
        assert _seqs(store, seed.team_id) == seqs[3:]

    def test_a_registered_consumer_at_zero_keeps_everything(self, store: Store, seed: Seed) -> None:
        seqs = _emit(store, seed, 1, 2, 3)
        _place(store, "new", seed.team_id, 0)
        assert _prune(store, seed.team_id, 100) == 0
        assert _seqs(store, seed.team_id) == seqs

    def test_prune_respects_limit_lowest_seq_first(self, store: Store, seed: Seed) -> None:
        seqs = _emit(store, seed, 1, 2, 3, 4, 5)
        assert _prune(store, seed.team_id, 100, limit=2) == 2
        assert _seqs(store, seed.team_id) == seqs[2:]
        assert _prune(store, seed.team_id, 100, limit=2) == 2
        assert _prune(store, seed.team_id, 100, limit=2) == 1
        assert _seqs(store, seed.team_id) == []

    def test_prune_of_one_team_leaves_the_others(self, store: Store, seed: Seed) -> None:
        other = seed_team(store, "Other")
        mine = _emit(store, seed, 1, 2)
        theirs = _emit(store, other, 1, 2)
        assert _prune(store, other.team_id, 100) == 2
        assert _seqs(store, seed.team_id) == mine
        assert _seqs(store, other.team_id) == []
        assert theirs

    def test_prune_of_every_team_applies_each_teams_floor(self, store: Store, seed: Seed) -> None:
        other = seed_team(store, "Other")
        mine = _emit(store, seed, 1, 2, 3)
        theirs = _emit(store, other, 1, 2, 3)
        _place(store, "audit", seed.team_id, mine[0])
        # no consumer in the other team: age alone
        assert _prune(store, None, 100) == 4
        assert _seqs(store, seed.team_id) == mine[1:]
        assert _seqs(store, other.team_id) == []
        assert theirs

    def test_a_consumer_of_another_team_sets_no_floor_here(self, store: Store, seed: Seed) -> None:
        other = seed_team(store, "Other")
        mine = _emit(store, seed, 1, 2)
        _place(store, "audit", other.team_id, 0)
        assert _prune(store, seed.team_id, 100) == 2
        assert _seqs(store, seed.team_id) == []
        assert mine

    def test_a_rolled_back_prune_deletes_nothing(self, store: Store, seed: Seed) -> None:
        seqs = _emit(store, seed, 1, 2, 3)
        discard(store, lambda uow: uow.outbox.prune(seed.team_id, before=at(100)))
        assert _seqs(store, seed.team_id) == seqs

    def test_reading_resumes_after_a_pruned_position(self, store: Store, seed: Seed) -> None:
        seqs = _emit(store, seed, 1, 2, 3, 4)
        _place(store, "audit", seed.team_id, seqs[1])
        _prune(store, seed.team_id, 100)
        after = read(store, lambda uow: uow.outbox.read(seed.team_id, seqs[1]))
        assert [m.seq for m in after] == seqs[2:]
