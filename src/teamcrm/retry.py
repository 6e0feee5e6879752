"""Retrying a use case that lost an optimistic-concurrency race."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from teamcrm import log
from teamcrm.errors import ConcurrencyError, ValidationError
from teamcrm.validation import check_int

__all__ = ["retry_on_conflict"]

T = TypeVar("T")

#: Longest single wait between two attempts, in seconds.
MAX_BACKOFF = 1.0


def retry_on_conflict(fn: Callable[[], T], *, attempts: int = 5, base_delay: float = 0.005) -> T:
    """Call *fn* until it does not raise ``ConcurrencyError``, at most *attempts* times.

    *fn* must reload what it changes (every use case of
    :class:`~teamcrm.service.MemberSession` does), so a retry works on fresh
    data.  Between attempts it sleeps a random, growing delay.  The last
    ``ConcurrencyError`` is re-raised.

    >>> retry_on_conflict(lambda: session.update_contact(cid, status="active"))  # doctest: +SKIP
    """
    if not callable(fn):
        raise ValidationError("fn", fn, "must be callable without arguments")
    check_int("attempts", attempts, minimum=1, maximum=1000)
    if (
        isinstance(base_delay, bool)
        or not isinstance(base_delay, int | float)
        or not 0 <= base_delay <= 60
    ):
        raise ValidationError("base_delay", base_delay, "must be a number of seconds, 0 to 60")
    for attempt in range(attempts):
        try:
            return fn()
        except ConcurrencyError:
            if attempt == attempts - 1:
                log.retry.debug("conflict on attempt %d of %d: giving up", attempt + 1, attempts)
                raise
            delay = random.uniform(0, min(base_delay * 2**attempt, MAX_BACKOFF))
            log.retry.debug(
                "conflict on attempt %d of %d: retrying in %.4f s", attempt + 1, attempts, delay
            )
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
