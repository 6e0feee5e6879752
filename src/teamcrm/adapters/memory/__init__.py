"""The in-memory store: for tests, notebooks and as the reference adapter.

Units of work are serialised by one lock per store (nesting them is refused), so the store is
safe to share between threads.  Every change is journalled and undone on
rollback, so a unit that fails leaves nothing behind.
"""

from __future__ import annotations

import threading
from typing import Any

from teamcrm.adapters.memory.tables import MemoryTables, _Journal, _Table, new_tables
from teamcrm.core_repositories import CORE_REPOSITORIES
from teamcrm.errors import StoreError, ValidationError
from teamcrm.repositories import (
    RepositorySpec,
    check_spec,
    registered_repositories,
    resolve,
)
from teamcrm.unit_of_work import BaseUnitOfWork

__all__ = ["MemoryStore", "MemoryUnitOfWork"]


class MemoryUnitOfWork(BaseUnitOfWork):
    """A unit of work on a :class:`MemoryStore`; holds the store's lock while open."""

    def __init__(self, store: MemoryStore) -> None:
        super().__init__()
        self._store = store
        self._journal = _Journal()
        s = store
        # teamcrm's own memory repositories hold nothing but their tables: one
        # set per store serves every unit (the journal lives on the tables).
        vars(self).update(s._core_repositories)
        self._specs = specs = s._specs
        for name, spec in specs.items():
            if spec.memory is not None:
                setattr(self, name, resolve(spec.memory)(MemoryTables(s._spec_tables[name], s)))

    def _begin(self) -> None:
        if self._store._owner == threading.get_ident():
            # The lock is not re-entrant: a nested unit would share (and corrupt)
            # the outer unit's journal, and a plain Lock would deadlock.
            raise StoreError(
                "a unit of work is already open on this store in this thread; "
                "units of work cannot be nested"
            )
        self._store._lock.acquire()
        self._store._owner = threading.get_ident()
        self._seq_at_start = self._store._seq
        for table in self._store._tables():
            table.journal = self._journal

    def _finish(self) -> None:
        for table in self._store._tables():
            table.journal = None
        self._store._owner = None
        self._store._lock.release()

    def _commit(self) -> None:
        self._journal.undo.clear()
        self._finish()

    def _rollback(self) -> None:
        try:
            self._journal.rollback()
            self._store._seq = self._seq_at_start
        finally:
            self._finish()


class MemoryStore:
    """Everything in Python dicts; lost when the process ends.

    Open it with ``teamcrm.open("memory://")``.
    """

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._owner: int | None = None  # thread holding _lock, to refuse nesting
        self._seq = 0
        self._all_tables: list[_Table[Any, Any]] | None = None  # see _tables
        #: The tables of teamcrm's own repositories, by name: those each spec of
        #: :data:`~teamcrm.core_repositories.CORE_REPOSITORIES` declares.
        self._core_tables: dict[str, _Table[Any, Any]] = {}
        for spec in CORE_REPOSITORIES:
            self._core_tables.update(new_tables(spec.tables, spec.logs))
        #: The core repositories, built once from the specs' ``memory``: they hold
        #: only tables (and this store), so every unit shares them.
        core = MemoryTables(self._core_tables, self)
        self._core_repositories: dict[str, Any] = {
            spec.name: resolve(spec.memory)(core) for spec in CORE_REPOSITORIES
        }
        #: This store's extra repositories (the defaults of
        #: :func:`teamcrm.register_repository` that have a memory implementation,
        #: copied now), and the tables each owns.  Replaced, never changed in place.
        self._specs: dict[str, RepositorySpec[Any]] = {}
        self._spec_tables: dict[str, dict[str, _Table[Any, Any]]] = {}
        for spec in registered_repositories().values():
            if spec.memory is not None:
                self._add_spec(spec)

    def _add_spec(self, spec: RepositorySpec[Any]) -> None:
        if spec.memory is None:
            raise ValidationError(
                "RepositorySpec.memory", None, f"{spec.name!r} has no memory implementation"
            )
        resolve(spec.memory)  # a reference that does not import fails now, by name
        old = self._spec_tables.get(spec.name, {})
        tables = {**new_tables(spec.tables, spec.logs), **old}
        tables = {name: tables[name] for name in spec.memory_tables}
        self._specs = {**self._specs, spec.name: spec}
        self._spec_tables = {**self._spec_tables, spec.name: tables}
        self._all_tables = None  # derived again, with the spec's tables

    def register_repository(self, spec: RepositorySpec[Any], *, replace: bool = False) -> None:
        """Give this store's units of work (those opened from now on) the repository *spec*.

        The store makes the memory tables the spec declares (``spec.tables``;
        undone on rollback like its own) and builds ``uow.<name>`` with
        ``spec.memory``.  Refused (``ValidationError``): a spec without a
        memory implementation, a core repository's name, a name this store
        has for another spec (unless *replace*), a table another spec owns.
        Other stores do not get it; :func:`teamcrm.register_repository` is the
        default every store copies when it opens.
        """
        check_spec(self._specs, spec, replace=replace)
        if self._owner == threading.get_ident():
            raise StoreError("register repositories between units of work, not inside one")
        with self._lock:  # not between a unit's begin and end
            self._add_spec(spec)

    @property
    def repositories(self) -> dict[str, RepositorySpec[Any]]:
        """This store's extra repositories, by unit-of-work attribute name (a copy)."""
        return dict(self._specs)

    def _tables(self) -> list[_Table[Any, Any]]:
        """Every table of the store (what a unit of work journals and rolls back).

        Derived from the specs (the core ones and those registered), so a
        declared table can never be left out of rollback
        (``tests/adapters/test_memory_store.py`` checks it).
        """
        if self._all_tables is None:
            tables = list(self._core_tables.values())
            tables += [t for owned in self._spec_tables.values() for t in owned.values()]
            self._all_tables = tables
        return self._all_tables

    def unit_of_work(self, *, write: bool = True) -> MemoryUnitOfWork:
        """Return a new unit of work (``write`` is accepted for protocol parity)."""
        # The repositories come from the specs (set in __init__), which mypy cannot see.
        return MemoryUnitOfWork(self)  # type: ignore[abstract]

    def close(self) -> None:
        """Nothing to release; provided for protocol parity."""

    def __repr__(self) -> str:
        return f"MemoryStore({self.url!r})"
