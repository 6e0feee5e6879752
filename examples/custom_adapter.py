"""A third-party storage adapter: a write-ahead journal around any store.

``JournalStore`` wraps another store (memory, SQLite, yours) and writes every
change a unit of work makes to an append-only JSON-lines file, *before* the
wrapped store commits::

    {"txn": 7, "op": "contacts.add", "args": [{...contact...}]}
    {"txn": 7, "op": "outbox.collect", "args": [[{...event...}]]}
    {"txn": 7, "commit": true}

A transaction counts only once its ``commit`` line is written, after the
wrapped store committed, so :func:`read_journal` never reports a change that
was rolled back — the same guarantee the outbox gives.  It is a small but
real adapter: it implements :class:`teamcrm.ports.Store` and
:class:`teamcrm.ports.UnitOfWork`, hands every repository call through,
translates its own I/O failures into :class:`teamcrm.StoreError`, and passes
the public contract suite (``tests/contract/test_example_custom_adapter.py``).

Register it and open it by URL like a shipped store::

    import teamcrm, custom_adapter
    custom_adapter.register()
    crm = teamcrm.open("journal:///tmp/audit.jsonl?inner=memory://")

Run ``python examples/custom_adapter.py`` for a demo.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import teamcrm
from teamcrm.events import DomainEvent
from teamcrm.ports import Store, UnitOfWork

__all__ = ["JournalStore", "JournalUnitOfWork", "open_journal_store", "read_journal", "register"]

#: Repository methods that only read; every other call is journalled as a write.
READS = frozenset(
    {
        # entities
        "get",
        "get_many",
        "get_for_update",
        "find",
        "all",
        "read",
        "items",
        "items_page",
        "buckets_of",
        "role_slots",
        # routing state
        "entries",
        "entry_states",
        "with_trigger",
        "get_with_bucket",
        "owned",
        "loads",
        "received",
        "response_due",
        "due",
        # follow-ups and touches
        "page",
        "pending",
        # notifications and digests
        "digest_candidates",
        "last_digest_at",
        # management views
        "search",
        "grid_facts",
        "grid_page",
        "interaction_counts",
        "last_contacted",
        "lead_touches",
        "members_named",
        # opportunities and cases
        "get_opportunity",
        "get_case",
        "opportunities",
        "cases",
        "linking",
        "note_ids",
        "all_notes",
        # locks hold rows until the unit ends and change nothing: not journalled
        "lock",
        "members_with_email",
        "search_companies",
    }
)
#: Name prefixes of read methods (``for_member``, ``by_company``, ``open_for_contacts``...).
READ_PREFIXES = ("for_", "by_", "open_", "team_", "member_")


def is_read(method: str) -> bool:
    """True when a repository method only reads (it is not journalled)."""
    return method in READS or method.startswith(READ_PREFIXES)


def _jsonable(value: Any) -> Any:
    """Entities, lists of entities, ids and numbers as JSON-ready data."""
    return teamcrm.unstructure(value)


class _JournalledRepository:
    """Hands every call to the wrapped repository; remembers the writes."""

    def __init__(self, name: str, inner: Any, unit: JournalUnitOfWork) -> None:
        self._name = name
        self._inner = inner
        self._unit = unit

    def __getattr__(self, method: str) -> Any:
        target = getattr(self._inner, method)
        if method.startswith("_") or not callable(target):
            return target
        if is_read(method):
            return target

        def write(*args: Any, **kwargs: Any) -> Any:
            result = target(*args, **kwargs)  # only journal what the store accepted
            self._unit._record(f"{self._name}.{method}", [*args, *kwargs.values()])
            return result

        return write


class JournalUnitOfWork:
    """A unit of work of a :class:`JournalStore` (wraps one of the inner store)."""

    def __init__(self, store: JournalStore, inner: UnitOfWork) -> None:
        self._store = store
        self._inner = inner
        self._pending: list[dict[str, Any]] = []
        self._open = False

    # Every repository of the wrapped unit, journalled (also ones added later).
    def __getattr__(self, name: str) -> Any:
        return _JournalledRepository(name, getattr(self._inner, name), self)

    def _record(self, op: str, args: list[Any]) -> None:
        self._pending.append({"op": op, "args": [_jsonable(a) for a in args]})

    def __enter__(self) -> Self:
        self._inner.__enter__()
        self._open = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._open:
            self.rollback()
        self._inner.__exit__(exc_type, exc, tb)

    def collect(self, *events: DomainEvent) -> None:
        """Collect events for the outbox (journalled with the unit)."""
        self._inner.collect(*events)
        if events:
            self._record("outbox.collect", [list(events)])

    def commit(self) -> None:
        """Journal the unit's writes, commit the wrapped unit, then mark it committed."""
        if not self._open:
            raise teamcrm.StoreError("the unit of work is not open")
        txn = self._store._next_txn() if self._pending else None
        try:
            if txn is not None:
                self._store._append([{"txn": txn, **entry} for entry in self._pending])
            self._inner.commit()
        except BaseException:
            self.rollback()
            raise
        self._open = False
        self._pending.clear()
        if txn is not None:
            self._store._append([{"txn": txn, "commit": True}])

    def rollback(self) -> None:
        """Forget the unit's writes; nothing of it is marked committed."""
        if not self._open:
            return
        self._open = False
        self._pending.clear()
        self._inner.rollback()


class JournalStore:
    """A store that journals every committed change of another store to a file."""

    def __init__(self, inner: Store, path: str | os.PathLike[str], url: str = "") -> None:
        self.inner = inner
        self.path = Path(path)
        self.url = url or f"journal://{self.path}?inner={inner.url}"
        self._lock = threading.Lock()
        self._txns = itertools.count(_last_txn(self.path) + 1)

    def unit_of_work(self, *, write: bool = True) -> JournalUnitOfWork:
        """Return a unit of work wrapping one of the inner store."""
        return JournalUnitOfWork(self, self.inner.unit_of_work(write=write))

    def close(self) -> None:
        """Close the wrapped store."""
        self.inner.close()

    def _next_txn(self) -> int:
        with self._lock:
            return next(self._txns)

    def _append(self, entries: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries)
        try:
            with self._lock, self.path.open("a", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:  # translate: callers only ever see teamcrm errors
            raise teamcrm.StoreError(f"cannot write journal {self.path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"JournalStore({self.url!r})"


def _last_txn(path: Path) -> int:
    last = 0
    for entry in _entries(path):
        last = max(last, int(entry.get("txn", 0)))
    return last


def _entries(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise teamcrm.StoreError(f"cannot read journal {path}: {exc}") from exc
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a torn last line after a crash: ignore it
            continue
    return out


def read_journal(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Return the journalled writes of committed transactions only, in order."""
    entries = _entries(Path(path))
    committed = {e["txn"] for e in entries if e.get("commit")}
    return [e for e in entries if e["txn"] in committed and not e.get("commit")]


def open_journal_store(url: str) -> JournalStore:
    """Build a store from ``journal:///path/to/file.jsonl?inner=<store url>``.

    The inner store defaults to ``memory://``.
    """
    parts = urlsplit(url)
    if not parts.path or parts.path == "/":
        raise teamcrm.ValidationError("url", url, "needs a journal file path")
    inner_url = parse_qs(parts.query).get("inner", ["memory://"])[0]
    return JournalStore(teamcrm.open_store(inner_url), parts.path, url)


def register() -> None:
    """Make ``teamcrm.open("journal:///...")`` use :class:`JournalStore`."""
    teamcrm.register_store("journal", open_journal_store)


def main(directory: str | None = None) -> list[dict[str, Any]]:
    """Demo: work on a journalled memory store, then print the journal."""
    register()
    folder = Path(directory or tempfile.mkdtemp())
    path = folder / "audit.jsonl"
    with teamcrm.open(f"journal://{path}?inner=memory://") as crm:
        _, admin = crm.create_team("Parkside Realty", admin_name="Alice")
        alice = crm.as_member(admin.id)
        leads = alice.create_bucket("Leads")
        bea = alice.create_contact("Bea", emails=["bea@example.com"])
        alice.add_to_bucket(leads.id, bea.id)
        try:
            alice.create_contact("")  # refused: nothing reaches the journal
        except teamcrm.ValidationError as exc:
            print("refused:", exc.field)
    journal = read_journal(path)
    for entry in journal:
        print(entry["txn"], entry["op"])
    return journal


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
