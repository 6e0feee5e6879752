"""Repositories declared once: :class:`RepositorySpec` and the typed accessor.

A repository is one port protocol and its implementations.  Declare it in
one place - a :class:`RepositorySpec` naming the unit-of-work attribute, the
protocol, the memory and SQL implementations (and a PostgreSQL one where the
shared SQL is not enough), the memory tables it keeps its rows in and the
SQL migrations that create its tables - and register it in a second: for
every store opened from then on (:func:`register_repository`), or for one
store (``store.register_repository(spec)``, on the memory, SQLite and
PostgreSQL stores).  Each store derives its wiring from the specs it holds;
:func:`repository` (or ``uow.repository(spec)``) returns the unit's instance,
typed as the protocol::

    NOTES: RepositorySpec[NoteRepository] = RepositorySpec(
        name="notes",
        protocol=NoteRepository,
        memory=MemoryNotes,          # called with the unit's MemoryTables
        sql=SQLNotes,                # called with the unit's SQLContext
        tables=("notes",),
        migrations=(Migration(name="9100_notes", statements=(...,)),),
    )

    store.register_repository(NOTES)
    with store.unit_of_work() as uow:
        repository(uow, NOTES).add(...)          # mypy: a NoteRepository

Annotate the spec with its protocol (``RepositorySpec[NoteRepository]``):
mypy then checks every implementation against the protocol.

teamcrm's own repositories are declared the same way, in
:data:`teamcrm.core_repositories.CORE_REPOSITORIES` (their implementations
named ``"module:attribute"``, imported when a store opens).  Everything else
is derived from that list: the attributes the memory, SQLite and PostgreSQL
units set, the memory store's tables (and so what rollback undoes), the SQL
classes each store builds, and the classes of the contract suite
(:class:`teamcrm.testing.contract.StoreContract`).  They also stay
attributes of :class:`teamcrm.ports.UnitOfWork` (what mypy reads);
``tests/architecture/test_ports.py`` checks that the list and the protocol
agree, ``tests/architecture/test_repository_wiring.py`` that no other
module lists the repositories by hand.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import attrs

from teamcrm.errors import StoreError, ValidationError

if TYPE_CHECKING:
    from teamcrm.adapters.memory.tables import MemoryTables
    from teamcrm.adapters.sql.base import SQLContext
    from teamcrm.adapters.sqlite.migrations import Migration

__all__ = [
    "RepositorySpec",
    "check_spec",
    "register_repository",
    "registered_repositories",
    "repository",
    "resolve",
]

R = TypeVar("R")

#: Attributes of every unit of work that no repository may take.
_UNIT_ATTRIBUTES = frozenset(
    {"collect", "commit", "rollback", "context", "repository", "read_ahead", "send_later", "write"}
)


@attrs.frozen(kw_only=True, eq=False)
class RepositorySpec(Generic[R]):
    """One repository, declared once; every store derives its wiring from it.

    Compared by identity: a unit answers :func:`repository` only for the very
    spec its store registered.

    :ivar name: the unit-of-work attribute (``uow.<name>``); a public identifier.
    :ivar protocol: the port protocol the implementations satisfy (``R``).
    :ivar memory: builds the memory store's repository from the unit's
        :class:`~teamcrm.adapters.memory.tables.MemoryTables` (``None``: the
        memory store cannot have it).
    :ivar sql: builds the SQLite (and, without *postgres*, PostgreSQL)
        repository from the unit's :class:`~teamcrm.adapters.sql.base.SQLContext`.
    :ivar postgres: builds the PostgreSQL repository instead of *sql*.
    :ivar tables: the memory tables the repository owns (journalled, undone
        on rollback); ``MemoryTables.table(name)`` hands them out.
    :ivar logs: memory tables of append-only lists (``Log``: ``append`` and
        ``extend`` per key, undone on rollback), also from ``table(name)``.
    :ivar migrations: the SQL migrations that create its tables; a store
        that registers the spec applies them.
    :ivar contracts: the contract test classes of the repository (classes,
        or ``"module:Class"``); :class:`teamcrm.testing.contract.StoreContract`
        gathers those of :data:`~teamcrm.core_repositories.CORE_REPOSITORIES`.
    :ivar builtin: one of teamcrm's own repositories
        (:data:`~teamcrm.core_repositories.CORE_REPOSITORIES`),
        built by the stores themselves.

    *memory*, *sql* and *postgres* may also name their factory as
    ``"module:attribute"``, imported when a store first builds the
    repository (:func:`resolve`): teamcrm's own specs do, so this module
    need not import the adapters (which import it).
    """

    name: str
    protocol: object
    memory: Callable[[MemoryTables], R] | str | None = None
    sql: Callable[[SQLContext], R] | str | None = None
    postgres: Callable[[SQLContext], R] | str | None = None
    tables: tuple[str, ...] = ()
    logs: tuple[str, ...] = ()
    migrations: tuple[Migration, ...] = ()
    contracts: tuple[type | str, ...] = ()
    builtin: bool = False

    def __attrs_post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise ValidationError("RepositorySpec.name", name, "must be a public Python identifier")
        if name in _UNIT_ATTRIBUTES:
            raise ValidationError("RepositorySpec.name", name, "is a method of the unit of work")
        for field, names in (("tables", self.tables), ("logs", self.logs)):
            if not isinstance(names, tuple) or not all(isinstance(t, str) and t for t in names):
                raise ValidationError(f"RepositorySpec.{field}", names, "must be a tuple of names")
        every = self.tables + self.logs
        if len(set(every)) != len(every):
            raise ValidationError("RepositorySpec.tables", every, "names a table twice")
        for field in ("memory", "sql", "postgres"):
            ref = getattr(self, field)
            if isinstance(ref, str) and ref.count(":") != 1:
                raise ValidationError(
                    f"RepositorySpec.{field}", ref, "must be callable or 'module:attribute'"
                )
        if not isinstance(self.contracts, tuple):
            raise ValidationError("RepositorySpec.contracts", self.contracts, "must be a tuple")
        if not isinstance(self.migrations, tuple):
            raise ValidationError(
                "RepositorySpec.migrations", self.migrations, "must be a tuple of Migration"
            )

    def __repr__(self) -> str:
        return f"RepositorySpec({self.name!r})"

    @property
    def memory_tables(self) -> tuple[str, ...]:
        """Every memory table the repository owns: ``tables``, then ``logs``."""
        return self.tables + self.logs


@functools.cache
def _import(ref: str) -> Any:
    module, _, attribute = ref.partition(":")
    found: Any = importlib.import_module(module)
    for part in attribute.split("."):
        found = getattr(found, part)
    return found


def resolve(ref: Callable[..., R] | type | str | None) -> Any:
    """*ref* itself, or what ``"module:attribute"`` names (imported once, then cached).

    ``StoreError`` names a reference that does not import (or ``None``).
    """
    if ref is None:
        raise StoreError("the repository has no implementation for this store")
    if not isinstance(ref, str):
        return ref
    try:
        return _import(ref)
    except (ImportError, AttributeError) as exc:
        raise StoreError(f"the repository reference {ref!r} does not import: {exc}") from exc


_DEFAULTS: dict[str, RepositorySpec[Any]] = {}


def check_spec(
    registry: Mapping[str, RepositorySpec[Any]],
    spec: RepositorySpec[Any],
    *,
    replace: bool = False,
    taken: Mapping[str, object] | None = None,
) -> None:
    """Refuse *spec* unless it may join *registry* (``ValidationError`` naming it).

    Refused: not a :class:`RepositorySpec`; a name of
    :data:`~teamcrm.core_repositories.CORE_REPOSITORIES`
    or one in *taken* (a store's other repositories); a name *registry* holds
    for another spec, unless *replace*; a memory table another spec owns.
    """
    if not isinstance(spec, RepositorySpec):
        raise ValidationError("spec", spec, "must be a RepositorySpec")
    name = spec.name
    # Imported here: the core specs are RepositorySpecs of this module.
    from teamcrm.core_repositories import CORE_NAMES

    if spec.builtin or name in CORE_NAMES:
        raise ValidationError("spec", name, "is a built-in repository of the unit of work")
    if taken is not None and name in taken and name not in registry:
        raise ValidationError("spec", name, "is already a repository of this store")
    held = registry.get(name, spec)
    if held is not spec and not replace:
        raise ValidationError(
            "spec", name, "already has a repository; pass replace=True to replace it"
        )
    for other in registry.values():
        if other.name == name:
            continue
        for table in set(other.memory_tables) & set(spec.memory_tables):
            raise ValidationError(
                "RepositorySpec.tables", table, f"already belongs to repository {other.name!r}"
            )


def register_repository(
    spec: RepositorySpec[Any], *, store: object | None = None, replace: bool = False
) -> None:
    """Give every store opened from now on (memory, SQLite, PostgreSQL) the repository *spec*.

    Process-wide default: stores copy it when they open, so register at
    import, before opening stores.  With *store* (say ``crm.store``), that
    store alone gets it, for the units it opens from now on (its
    ``register_repository(spec)``; ``StoreError`` for a store without one).
    A name already registered for another spec is refused unless *replace*
    is true (the winner never depends on import order).
    """
    if store is not None:
        method = getattr(store, "register_repository", None)
        if method is None:
            raise StoreError(
                f"the store {store!r} does not take repositories (register_repository)"
            )
        method(spec, replace=replace)
        return
    check_spec(_DEFAULTS, spec, replace=replace)
    _DEFAULTS[spec.name] = spec


def registered_repositories() -> dict[str, RepositorySpec[Any]]:
    """The specs registered with :func:`register_repository`, by name (a copy)."""
    return dict(_DEFAULTS)


def repository(uow: object, spec: RepositorySpec[R]) -> R:
    """*uow*'s repository of *spec*, typed as its protocol.

    A core spec (:data:`~teamcrm.core_repositories.CORE_REPOSITORIES`) reads
    the unit's attribute.  Any other must be the very spec the unit's store
    registered; otherwise ``ValidationError`` (field ``spec``) names it.
    """
    if not isinstance(spec, RepositorySpec):
        raise ValidationError("spec", spec, "must be a RepositorySpec")
    if spec.builtin:
        return cast(R, getattr(uow, spec.name))
    specs: Mapping[str, RepositorySpec[Any]] = getattr(uow, "_specs", {})
    if specs.get(spec.name) is not spec:
        raise ValidationError(
            "spec",
            spec.name,
            "is not registered on this unit's store (store.register_repository(spec),"
            " or teamcrm.register_repository(spec) before the store opens)",
        )
    return cast(R, getattr(uow, spec.name))
