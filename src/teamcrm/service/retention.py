"""Outbox retention: deleting events that are old and already read by every consumer.

Every committed change leaves its domain events in the outbox
(:mod:`teamcrm.service.consumers`); without retention the outbox grows with
history for ever.  :func:`prune_events` deletes a team's outbox messages
that are **both**

* older than the retention period (``occurred_at < now - older_than``), and
* at or before the lowest position any registered consumer of that team has
  reached (:meth:`teamcrm.CRM.consumer_position`), so no message a consumer
  has not handled yet is ever removed.

A team that no consumer ever claimed (no ``consumer_positions`` row) has no
floor: only the age rule applies.  This is a deliberate choice: an outbox
nobody reads would otherwise grow for ever, and a consumer registered later
starts from the oldest message still kept (it never sees pruned history).
A consumer that stops running holds the floor of its team where it stopped;
pruning then only removes what lies before that position.

Deletion runs in batches of :data:`PRUNE_BATCH` messages, one short write
transaction each, so writers are never held up by one long delete.  On
SQLite the freed pages are reused by later writes, so the file stops
growing once retention keeps pace with the history written.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from teamcrm import log
from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, TeamId
from teamcrm.validation import check_id, check_time

if TYPE_CHECKING:
    from teamcrm.service.crm import CRM

__all__ = ["PRUNE_BATCH", "prune_events"]

#: Most messages one prune transaction deletes.
PRUNE_BATCH = 10_000


def prune_events(
    crm: CRM,
    *,
    older_than: timedelta,
    team_id: TeamId | None = None,
    now: datetime | None = None,
) -> int:
    """Delete outbox messages older than *older_than* that every consumer has handled.

    Prunes one team (*team_id*) or every team (``None``); *now* defaults to
    the CRM clock's time.  Returns how many messages were deleted and logs
    the count at INFO on ``teamcrm.store``.  Safe to run while other
    processes write and consume.  See :mod:`teamcrm.service.retention`.
    """
    if not isinstance(older_than, timedelta) or older_than < timedelta(0):
        raise ValidationError("older_than", older_than, "must be a timedelta of zero or more")
    team = None if team_id is None else TeamId(check_id("team_id", team_id, PREFIXES["team"]))
    at = crm.now() if now is None else check_time("now", now)
    before = at - older_than
    total = 0
    while True:
        with crm.store.unit_of_work() as uow:
            deleted = uow.outbox.prune(team, before=before, limit=PRUNE_BATCH)
            uow.commit()
        total += deleted
        if deleted < PRUNE_BATCH:
            break
    log.store.info(
        "outbox pruned: %d events older than %s (%s)",
        total,
        before.isoformat(),
        "every team" if team is None else team,
    )
    return total
