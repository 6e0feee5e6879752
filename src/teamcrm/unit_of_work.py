"""The shared part of every adapter's unit of work.

:class:`BaseUnitOfWork` keeps the collected domain events, writes them to the
outbox on commit (inside the adapter's transaction) and rolls back whatever a
``with`` block leaves uncommitted.  Adapters supply ``_begin``, ``_commit``
and ``_rollback`` and set the repository attributes.

Two hints let a store that talks to a server over the network send several
statements in one round trip (the PostgreSQL store does; the memory and
SQLite stores ignore them): :func:`read_ahead` (reads the use case is about
to make) and :func:`sending_later` (writes whose results it does not read).
Use cases call them through these functions, which do nothing for a unit
of work that does not offer them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Self, TypeVar

from teamcrm.errors import StoreError
from teamcrm.events import DomainEvent
from teamcrm.ports import UnitOfWork
from teamcrm.repositories import RepositorySpec
from teamcrm.repositories import repository as _repository

__all__ = ["BaseUnitOfWork", "read_ahead", "reads_ahead", "sending_later"]

R = TypeVar("R")


class BaseUnitOfWork(UnitOfWork):
    """Event collection, commit and rollback bookkeeping for adapters.

    Its repository attributes are those of :class:`teamcrm.ports.UnitOfWork`
    (subclassed, so mypy reads them there); a store sets one per spec of
    :data:`teamcrm.core_repositories.CORE_REPOSITORIES`, and per spec registered
    with it.
    """

    def __init__(self) -> None:
        self._events: list[DomainEvent] = []
        self._state = "new"
        #: The specs the store built this unit's extra repositories from (by name).
        self._specs: Mapping[str, RepositorySpec[Any]] = {}

    def repository(self, spec: RepositorySpec[R]) -> R:
        """This unit's repository of *spec*, typed as its protocol (:func:`teamcrm.repository`)."""
        return _repository(self, spec)

    # -- adapter hooks -----------------------------------------------------
    def _begin(self) -> None:
        raise NotImplementedError

    def _append_and_commit(self, events: list[DomainEvent]) -> None:
        """Write *events* to the outbox, then commit (an adapter may do both at once)."""
        if events:
            self.outbox.append(events)
        self._commit()

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    # -- hints (see the module) ----------------------------------------------
    def read_ahead(self, *reads: Callable[[], object]) -> None:
        """The unit is about to make the repository calls *reads*: nothing here.

        A store that sends statements over the network may send their reads
        together with its next round trip; the calls must then be made as
        they were given (same arguments) for the rows to be used.
        """

    def send_later(self) -> AbstractContextManager[None]:
        """A block whose writes' results are not read: nothing here.

        A store may send such writes with its next round trip instead of one
        each; an error one of them causes is then raised by a later call.
        """
        return contextlib.nullcontext()

    # -- public API --------------------------------------------------------
    def __enter__(self) -> Self:
        if self._state != "new":
            raise StoreError("a unit of work can be entered only once")
        self._begin()
        self._state = "open"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._state == "open":
            self.rollback()

    def collect(self, *events: DomainEvent) -> None:
        """Remember *events*; they reach the outbox only if the unit commits."""
        self._require_open()
        self._events.extend(events)

    def commit(self) -> None:
        """Write the collected events to the outbox, then commit everything."""
        self._require_open()
        try:
            self._append_and_commit(self._events)
        except BaseException:
            self.rollback()
            raise
        self._events.clear()
        self._state = "done"

    def rollback(self) -> None:
        """Discard the unit's changes and its collected events."""
        if self._state != "open":
            return
        self._events.clear()
        self._state = "done"
        self._rollback()

    def _require_open(self) -> None:
        if self._state != "open":
            raise StoreError(f"the unit of work is not open (it is {self._state})")


#: Per unit-of-work class: whether it acts on read_ahead (asked several times per unit).
_READS_AHEAD: dict[type, bool] = {}
#: Per unit-of-work class: its ``send_later``, or ``None`` when it has none or the no-op one.
_SENDS_LATER: dict[type, Callable[[Any], AbstractContextManager[None]] | None] = {}
#: The empty block (reusable: it holds nothing).
_NO_BLOCK: AbstractContextManager[None] = contextlib.nullcontext()


def reads_ahead(uow: object) -> bool:
    """True when *uow* acts on :func:`read_ahead` (worth preparing the calls for it)."""
    kind = type(uow)
    if kind in _READS_AHEAD:  # (a look-up: no getattr call per ask)
        return _READS_AHEAD[kind]
    hint = getattr(kind, "read_ahead", None)
    found = _READS_AHEAD[kind] = hint is not None and hint is not BaseUnitOfWork.read_ahead
    return found


def read_ahead(uow: object, *reads: Callable[[], object]) -> None:
    """Tell *uow* the repository calls *reads* are coming (see :meth:`BaseUnitOfWork.read_ahead`).

    Nothing for a unit of work without the hint.
    """
    hint = getattr(type(uow), "read_ahead", None)
    if hint is not None:
        hint(uow, *reads)


def sending_later(uow: object) -> AbstractContextManager[None]:
    """*uow*'s block for writes whose results are not read (see :meth:`BaseUnitOfWork.send_later`).

    An empty block for a unit of work without the hint.
    """
    kind = type(uow)
    if kind in _SENDS_LATER:  # (a look-up: no getattr call per block)
        hint = _SENDS_LATER[kind]
    else:
        hint = getattr(kind, "send_later", None)
        if hint is BaseUnitOfWork.send_later:
            hint = None  # the empty block: the shared one does
        _SENDS_LATER[kind] = hint
    if hint is None:
        return _NO_BLOCK
    block: AbstractContextManager[None] = hint(uow)
    return block
