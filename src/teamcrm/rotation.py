"""A pool's rotation: who is served next when the member list changes.

``round_robin``, ``weighted`` and ``sequential_offer`` pools hand out leads
in a cycle over the pool's ordered members.  The stored cursor is a *slot*
of that cycle (a member of weight 3 owns three slots in a row; in the other
two methods every member owns one), and after each lead it points just past
the slot that was served.

A cursor that is only a position would skip or repeat a member when an admin
edits the list: after ``u0`` and ``u1`` were served, removing ``u0`` would
make the next lead skip ``u2``; adding a member in front would serve ``u1``
again.  Peer products remember *the last member served* instead, and so does
teamcrm: when a pool's members, weights or method change,
:func:`carry_cursor` finds the member the old cursor last served (and how
far into its run of slots it was) and points the new cursor just past that
member in the new cycle:

* the last served member is still there: the rotation continues right after
  it (a weighted member in the middle of its run finishes the run, up to its
  new weight);
* it was removed: the rotation continues with the first member that followed
  it in the old order and is still in the pool, so nobody who was waiting is
  passed over;
* members added to the list wait for their place in the order, like everyone.

Pure functions, no I/O; the service applies them in the unit of work that
edits the pool (``MemberSession.update_pool``).
"""

from __future__ import annotations

from collections.abc import Sequence

from teamcrm.pool import DistributionMethod, LeadPool

__all__ = ["carry_cursor", "cycle_weights"]

#: Methods whose cursor is a slot of a cycle where every member owns one slot.
_UNIT_CYCLES = frozenset({DistributionMethod.ROUND_ROBIN, DistributionMethod.SEQUENTIAL_OFFER})


def cycle_weights(pool: LeadPool) -> list[int] | None:
    """Return how many slots each of *pool*'s members owns, in order.

    ``None`` when the pool's method keeps no cycle (manual, everyone,
    first to accept, least loaded, or a strategy an application registered:
    its cursor means what that strategy says, so teamcrm leaves it alone).
    """
    if pool.method == DistributionMethod.WEIGHTED:
        return [pool.weight_of(m) for m in pool.member_ids]
    if pool.method in _UNIT_CYCLES:
        return [1] * len(pool.member_ids)
    return None


def _starts(weights: Sequence[int]) -> tuple[list[int], int]:
    starts: list[int] = []
    total = 0
    for weight in weights:
        starts.append(total)
        total += weight
    return starts, total


def carry_cursor(before: LeadPool, after: LeadPool, cursor: int) -> int | None:
    """Return the cursor of *after* that continues the rotation *cursor* had in *before*.

    ``None`` when either pool keeps no cycle (see :func:`cycle_weights`) or
    *before*'s cycle is empty: the stored cursor is then left as it is.

    For example, in a round-robin pool ``[a, b, c]`` where ``a`` and ``b``
    were served (cursor 2), removing ``a`` gives ``[b, c]`` and cursor 1:
    ``c`` is next, as it was.
    """
    old_weights = cycle_weights(before)
    new_weights = cycle_weights(after)
    if old_weights is None or new_weights is None:
        return None
    old_starts, old_total = _starts(old_weights)
    if old_total == 0:
        return None
    new_starts, new_total = _starts(new_weights)
    if new_total == 0:
        return 0
    new_index = {m: i for i, m in enumerate(after.member_ids) if new_weights[i] > 0}
    last = (cursor - 1) % old_total  # the slot served last
    owner = next(
        i
        for i, (start, weight) in enumerate(zip(old_starts, old_weights, strict=True))
        if start <= last < start + weight
    )
    served = before.member_ids[owner]
    if served in new_index:
        j = new_index[served]
        taken = last - old_starts[owner] + 1  # slots of its run it has had
        if taken < new_weights[j]:
            return new_starts[j] + taken
        return (new_starts[j] + new_weights[j]) % new_total
    size = len(before.member_ids)
    for step in range(1, size):
        follower = before.member_ids[(owner + step) % size]
        if follower in new_index:
            return new_starts[new_index[follower]]
    return 0
