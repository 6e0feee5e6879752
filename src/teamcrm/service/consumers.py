"""Reactions outside the transaction: consuming the outbox with a durable position.

Every committed change leaves its domain events in the store's outbox, in
commit order per team (``seq``).  An application reacts to them *after* the
commit (send a webhook, update a search index, post to Slack) with
:meth:`teamcrm.CRM.consume`, the pattern of a notification log read by
process recorders:

* each consumer has a **name** and, per team, a **position** (the ``seq`` of
  the last message it handled) stored in the same database;
* a call **claims** the position and reads the next batch in one short
  transaction (one worker per consumer and team at a time; a claim lapses
  after *lease*, so a crashed worker does not block the others for ever);
* the handler runs **outside** any transaction, message by message;
* the position **advances** (second transaction) only past messages whose
  handler returned: a handler that raises leaves the position on the last
  message handled, and the next call starts with the one that failed.

Delivery is therefore *at least once*: a worker that dies after its
handler returned but before the position advanced hands the same messages
to the next call.  Handlers should be idempotent (the message's ``seq``
is a good deduplication key).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from teamcrm.errors import ValidationError
from teamcrm.events import OutboxMessage
from teamcrm.ids import PREFIXES, TeamId
from teamcrm.validation import check_id, check_int, check_text

if TYPE_CHECKING:
    from teamcrm.service.crm import CRM

__all__ = ["CONSUMER_LEASE", "MAX_CONSUMER_BATCH", "OutboxHandler", "consume", "consumer_position"]

#: Called once per outbox message, in ``seq`` order; raise to stop (the message is retried).
OutboxHandler = Callable[[OutboxMessage], object]
#: How long a call holds its claim on a consumer's position by default.
CONSUMER_LEASE = timedelta(minutes=5)
#: Most messages one batch reads.
MAX_CONSUMER_BATCH = 10_000


def _check(name: str, team_id: TeamId) -> tuple[str, TeamId]:
    consumer = check_text("name", name, max_len=200)
    if not consumer:
        raise ValidationError("name", name, "must not be empty")
    return consumer, TeamId(check_id("team_id", team_id, PREFIXES["team"]))


def consume(
    crm: CRM,
    name: str,
    handler: OutboxHandler,
    *,
    team_id: TeamId,
    batch: int = 100,
    lease: timedelta = CONSUMER_LEASE,
    max_batches: int | None = None,
) -> int:
    """Hand the team's outbox messages the consumer *name* has not handled yet to *handler*.

    Reads batch after batch (at most *max_batches*) until the outbox is
    exhausted, and returns how many messages were handled.  Returns at once
    (0) when another worker holds the consumer's claim for this team.  An
    exception from *handler* propagates after the position was advanced past
    the messages handled before it.  See :mod:`teamcrm.service.consumers`.
    """
    consumer, team = _check(name, team_id)
    if not callable(handler):
        raise ValidationError("handler", handler, "must be callable with one outbox message")
    size = check_int("batch", batch, minimum=1, maximum=MAX_CONSUMER_BATCH)
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        raise ValidationError("lease", lease, "must be a positive timedelta")
    if max_batches is not None:
        check_int("max_batches", max_batches, minimum=1)
    store = crm.store
    handled = batches = 0
    while max_batches is None or batches < max_batches:
        token = PREFIXES["consumer"] + secrets.token_hex(13)
        now = crm.now()
        # 1. claim the position and read the next batch (one short transaction)
        with store.unit_of_work() as uow:
            position = uow.consumer_positions.claim(
                consumer, team, token=token, now=now, until=now + lease
            )
            messages = [] if position is None else uow.outbox.read(team, position, size)
            uow.commit()
        if position is None:
            return handled
        batches += 1
        # 2. handle, outside any transaction; 3. advance past what was handled
        last = position
        try:
            for message in messages:
                handler(message)
                last = message.seq
                handled += 1
        finally:
            with store.unit_of_work() as uow:
                if last != position:
                    uow.consumer_positions.advance(consumer, team, token=token, seq=last)
                else:
                    uow.consumer_positions.release(consumer, team, token=token)
                uow.commit()
        if len(messages) < size:
            return handled
    return handled


def consumer_position(crm: CRM, name: str, *, team_id: TeamId) -> int:
    """The ``seq`` of the last message the consumer *name* handled in the team (0: none)."""
    consumer, team = _check(name, team_id)
    with crm.store.unit_of_work(write=False) as uow:
        return uow.consumer_positions.position(consumer, team)
