"""Journalled in-memory tables: what a memory unit of work rolls back"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound

K = TypeVar("K", bound=Hashable)


V = TypeVar("V")


#: Markers in the journal: a key that had no row, keys that were all new,
#: ``(key, old value)`` pairs of one batch of puts.
_MISSING: Any = object()
_NEW_KEYS: Any = object()
_PUTS: Any = object()


class _Journal:
    """Undo log shared by the tables of one unit of work.

    Each entry is ``(table, key, old value)`` (restored on rollback),
    ``(table, keys, _NEW_KEYS)`` (a batch of new keys, removed on rollback),
    ``(table, pairs, _PUTS)`` (a batch of puts: ``(key, old value)`` pairs,
    restored last first) or a callable (called on rollback); tuples keep the
    hot paths cheap.
    """

    def __init__(self) -> None:
        self.undo: list[Any] = []

    def rollback(self) -> None:
        while self.undo:
            entry = self.undo.pop()
            if type(entry) is tuple:
                table, key, old = entry
                if old is _NEW_KEYS:
                    for k in key:
                        table.rows.pop(k, None)
                elif old is _PUTS:
                    for k, o in reversed(key):
                        table._restore(k, o)
                else:
                    table._restore(key, old)
            else:
                entry()


class _Table(Generic[K, V]):
    """A dict whose changes are journalled for rollback."""

    def __init__(self) -> None:
        self.rows: dict[K, V] = {}
        self.journal: _Journal | None = None

    def get(self, key: K) -> V | None:
        return self.rows.get(key)

    def put(self, key: K, value: V) -> None:
        rows = self.rows
        old = rows.get(key, _MISSING)
        rows[key] = value
        if self.journal is not None:
            self.journal.undo.append((self, key, old))

    def insert_new(self, items: Iterable[tuple[K, V]] | Mapping[K, V]) -> None:
        """Insert rows whose keys the caller checked are absent (one journal entry).

        *items*: ``(key, value)`` pairs, or a mapping (no call per row either way).
        """
        pairs = dict(items)
        self.rows.update(pairs)
        if self.journal is not None and pairs:
            self.journal.undo.append((self, list(pairs), _NEW_KEYS))

    def put_many(self, items: Mapping[K, V]) -> None:
        """:meth:`put` each of *items* (one journal entry, no call per row)."""
        rows = self.rows
        if self.journal is not None and items:
            old = [(k, rows[k] if k in rows else _MISSING) for k in items]  # noqa: SIM401 (no call)
            self.journal.undo.append((self, old, _PUTS))
        rows.update(items)

    def pop(self, key: K) -> V | None:
        old = self.rows.pop(key, _MISSING)
        if old is _MISSING:
            return None
        if self.journal is not None:
            self.journal.undo.append((self, key, old))
        return old  # type: ignore[no-any-return]

    def _restore(self, key: K, old: Any) -> None:
        if old is _MISSING:
            self.rows.pop(key, None)
        else:
            self.rows[key] = old

    def values(self) -> Iterator[V]:
        return iter(list(self.rows.values()))

    def __contains__(self, key: object) -> bool:
        return key in self.rows


class _Log(_Table[K, list[Any]]):
    """Append-only lists per key; an append is undone on rollback."""

    def extend(self, key: K, items: Sequence[Any]) -> None:
        """Append many items to one key's list (one journal entry)."""
        rows = self.rows.get(key)
        if rows is None:
            self.put(key, list(items))
            return
        size = len(rows)
        rows.extend(items)
        if self.journal is not None:
            self.journal.undo.append(lambda: rows.__delitem__(slice(size, None)))

    def append(self, key: K, item: Any) -> None:
        rows = self.rows.get(key)
        if rows is None:
            self.put(key, [item])
            return
        rows.append(item)
        if self.journal is not None:
            self.journal.undo.append(rows.pop)


class _Versioned(Generic[V]):
    """Shared add/get/update/delete for versioned, team-scoped entities."""

    kind = "record"

    def __init__(self, table: _Table[str, V]) -> None:
        self._t = table

    def _get(self, team_id: str, key: str) -> V:
        row = self._t.get(key)
        if row is None or row.team_id != team_id:  # type: ignore[attr-defined]
            raise NotFound(self.kind, key)
        return row

    def _add(self, entity: V) -> None:
        key = entity.id  # type: ignore[attr-defined]
        if key in self._t:
            raise AlreadyExists(self.kind, key)
        self._t.put(key, entity)

    def _update(self, entity: V) -> None:
        key = entity.id  # type: ignore[attr-defined]
        stored = self._t.get(key)
        if stored is None or stored.team_id != entity.team_id:  # type: ignore[attr-defined]
            raise NotFound(self.kind, key)
        expected = entity.version - 1  # type: ignore[attr-defined]
        if stored.version != expected:  # type: ignore[attr-defined]
            raise ConcurrencyError(self.kind, key, expected)
        self._t.put(key, entity)

    def _delete(self, team_id: str, key: str, version: int) -> V:
        stored = self._get(team_id, key)
        if stored.version != version:  # type: ignore[attr-defined]
            raise ConcurrencyError(self.kind, key, version)
        self._t.pop(key)
        return stored

    def _all(self, team_id: str) -> list[V]:
        """The team's rows, oldest first: by ``created_at``, ties by id (the port contract)."""
        rows = [row for row in self._t.values() if row.team_id == team_id]  # type: ignore[attr-defined]
        return sorted(rows, key=lambda r: (r.created_at, r.id))  # type: ignore[attr-defined]


#: The journalled table of the memory store, by its public name (for plug-in repositories).
Table = _Table


class MemoryTables:
    """The tables a memory repository of a :class:`~teamcrm.repositories.RepositorySpec` reads.

    The memory store makes one :class:`Table` per name in the spec's
    ``tables`` (a :class:`Log` per name in its ``logs``) when the spec is
    registered, and journals it like its own: whatever a unit changes in it
    is undone on rollback.  teamcrm's own repositories
    (:data:`~teamcrm.core_repositories.CORE_REPOSITORIES`) see every core table,
    and ``store``.

    :ivar store: the :class:`~teamcrm.adapters.memory.MemoryStore` (what the
        core outbox numbers its events with).
    """

    __slots__ = ("_tables", "store")

    def __init__(self, tables: Mapping[str, _Table[Any, Any]], store: Any = None) -> None:
        self._tables = tables
        self.store = store

    def table(self, name: str) -> _Table[Any, Any]:
        """The table *name* (``NotFound`` unless the spec declares it in ``tables``)."""
        found = self._tables.get(name)
        if found is None:
            raise NotFound("memory table", name)
        return found

    def log(self, name: str) -> _Log[Any]:
        """The append-only table *name* (``NotFound`` unless the spec declares it in ``logs``)."""
        found = self._tables.get(name)
        if not isinstance(found, _Log):
            raise NotFound("memory log", name)
        return found


#: The append-only table of the memory store, by its public name.
Log = _Log


def new_tables(tables: Iterable[str], logs: Iterable[str]) -> dict[str, _Table[Any, Any]]:
    """Fresh, empty tables: a :class:`Table` per name in *tables*, a :class:`Log` per *logs*."""
    made: dict[str, _Table[Any, Any]] = {name: _Table() for name in tables}
    made.update({name: _Log() for name in logs})
    return made
