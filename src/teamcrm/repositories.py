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

The core repositories of teamcrm are listed in :data:`CORE_REPOSITORIES`
(name and protocol).  They stay explicit attributes of
:class:`teamcrm.ports.UnitOfWork` (what mypy reads); the stores build them
themselves, and ``tests/architecture/test_ports.py`` checks that the list
and the protocol agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import attrs

from teamcrm.errors import StoreError, ValidationError
from teamcrm.ports import (
    BucketRepository,
    CampaignRepository,
    CampaignSendRepository,
    CompanyRepository,
    ConsumerPositionRepository,
    ContactRepository,
    EnrolmentRepository,
    FollowUpDueRepository,
    FollowUpPolicyRepository,
    InboundBucketRepository,
    IntakeRepository,
    InteractionRepository,
    LeadPoolRepository,
    LeadRepository,
    MemberRepository,
    MembershipRepository,
    NotificationRepository,
    OfferRepository,
    OutboxRepository,
    ProgramRepository,
    RecordRepository,
    RoutingCursorRepository,
    SavedFilterRepository,
    SnoozeRepository,
    TaskRepository,
    TeamRepository,
    TouchRepository,
    ViewRepository,
)

if TYPE_CHECKING:
    from teamcrm.adapters.memory.tables import MemoryTables
    from teamcrm.adapters.sql.base import SQLContext
    from teamcrm.adapters.sqlite.migrations import Migration

__all__ = [
    "CORE_REPOSITORIES",
    "RepositorySpec",
    "check_spec",
    "register_repository",
    "registered_repositories",
    "repository",
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
    :ivar migrations: the SQL migrations that create its tables; a store
        that registers the spec applies them.
    :ivar builtin: one of teamcrm's own repositories (:data:`CORE_REPOSITORIES`),
        built by the stores themselves.
    """

    name: str
    protocol: object
    memory: Callable[[MemoryTables], R] | None = None
    sql: Callable[[SQLContext], R] | None = None
    postgres: Callable[[SQLContext], R] | None = None
    tables: tuple[str, ...] = ()
    migrations: tuple[Migration, ...] = ()
    builtin: bool = False

    def __attrs_post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise ValidationError("RepositorySpec.name", name, "must be a public Python identifier")
        if name in _UNIT_ATTRIBUTES:
            raise ValidationError("RepositorySpec.name", name, "is a method of the unit of work")
        if not isinstance(self.tables, tuple) or not all(
            isinstance(t, str) and t for t in self.tables
        ):
            raise ValidationError("RepositorySpec.tables", self.tables, "must be a tuple of names")
        if len(set(self.tables)) != len(self.tables):
            raise ValidationError("RepositorySpec.tables", self.tables, "names a table twice")
        if not isinstance(self.migrations, tuple):
            raise ValidationError(
                "RepositorySpec.migrations", self.migrations, "must be a tuple of Migration"
            )

    def __repr__(self) -> str:
        return f"RepositorySpec({self.name!r})"


def _core(name: str, protocol: object) -> RepositorySpec[Any]:
    return RepositorySpec(name=name, protocol=protocol, builtin=True)


#: teamcrm's own repositories: every attribute of :class:`teamcrm.ports.UnitOfWork`.
CORE_REPOSITORIES: tuple[RepositorySpec[Any], ...] = (
    _core("teams", TeamRepository),
    _core("members", MemberRepository),
    _core("contacts", ContactRepository),
    _core("companies", CompanyRepository),
    _core("buckets", BucketRepository),
    _core("memberships", MembershipRepository),
    _core("interactions", InteractionRepository),
    _core("outbox", OutboxRepository),
    _core("consumer_positions", ConsumerPositionRepository),
    _core("notifications", NotificationRepository),
    _core("followup_policies", FollowUpPolicyRepository),
    _core("touches", TouchRepository),
    _core("followup_dues", FollowUpDueRepository),
    _core("snoozes", SnoozeRepository),
    _core("tasks", TaskRepository),
    _core("lead_pools", LeadPoolRepository),
    _core("leads", LeadRepository),
    _core("offers", OfferRepository),
    _core("routing_cursors", RoutingCursorRepository),
    _core("inbound_buckets", InboundBucketRepository),
    _core("views", ViewRepository),
    _core("saved_filters", SavedFilterRepository),
    _core("intake", IntakeRepository),
    _core("programs", ProgramRepository),
    _core("enrolments", EnrolmentRepository),
    _core("campaigns", CampaignRepository),
    _core("campaign_sends", CampaignSendRepository),
    _core("records", RecordRepository),
)
_CORE_NAMES = frozenset(spec.name for spec in CORE_REPOSITORIES)

_DEFAULTS: dict[str, RepositorySpec[Any]] = {}


def check_spec(
    registry: Mapping[str, RepositorySpec[Any]],
    spec: RepositorySpec[Any],
    *,
    replace: bool = False,
    taken: Mapping[str, object] | None = None,
) -> None:
    """Refuse *spec* unless it may join *registry* (``ValidationError`` naming it).

    Refused: not a :class:`RepositorySpec`; a name of :data:`CORE_REPOSITORIES`
    or one in *taken* (a store's other repositories); a name *registry* holds
    for another spec, unless *replace*; a memory table another spec owns.
    """
    if not isinstance(spec, RepositorySpec):
        raise ValidationError("spec", spec, "must be a RepositorySpec")
    name = spec.name
    if spec.builtin or name in _CORE_NAMES:
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
        for table in set(other.tables) & set(spec.tables):
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

    A core spec (:data:`CORE_REPOSITORIES`) reads the unit's attribute.  Any
    other must be the very spec the unit's store registered; otherwise
    ``ValidationError`` (field ``spec``) names it.
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
