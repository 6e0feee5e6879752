"""The extra repositories every unit of work of both SQL stores gets, by attribute name.

teamcrm's own repositories are declared once, in
:data:`teamcrm.core_repositories.CORE_REPOSITORIES`, and each store builds
them from there.  This registry holds the *other* repositories a process
adds by name (the older form of :func:`teamcrm.register_repository`, which
takes a :class:`~teamcrm.repositories.RepositorySpec`): each store copies it
when it opens (:func:`registered_repositories`), then PostgreSQL adds its
own versions (:func:`teamcrm.adapters.postgres.store.register_postgres_repository`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from teamcrm.adapters.sql.base import SQLContext
from teamcrm.core_repositories import CORE_NAMES
from teamcrm.errors import ValidationError

if TYPE_CHECKING:
    from teamcrm.adapters.sql.migrations import Migration
    from teamcrm.repositories import RepositorySpec

__all__ = [
    "RepositoryFactory",
    "check_repository",
    "register_repository",
    "registered_repositories",
    "with_spec_migrations",
]

#: Builds an extra repository from the unit of work's
#: :class:`~teamcrm.adapters.sql.base.SQLContext`.
RepositoryFactory = Callable[[SQLContext], Any]

_REPOSITORIES: dict[str, RepositoryFactory] = {}


def check_repository(
    registry: dict[str, RepositoryFactory], name: str, factory: RepositoryFactory, replace: bool
) -> None:
    """Refuse *name* unless *registry* may take *factory* (see :func:`register_repository`)."""
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise ValidationError("name", name, "must be a public Python identifier")
    if name in CORE_NAMES or name in {"collect", "commit", "rollback", "context"}:
        raise ValidationError("name", name, "is a built-in attribute of the unit of work")
    if registry.get(name, factory) is not factory and not replace:
        # Two modules registering one name would make the winner depend on
        # which was imported last: refuse unless the caller means it.
        raise ValidationError(
            "name", name, "already has a repository; pass replace=True to replace it"
        )


def register_repository(name: str, factory: RepositoryFactory, *, replace: bool = False) -> None:
    """Give every SQL unit of work an extra repository attribute *name*.

    ``register_repository("audits", SQLAudits)`` makes ``uow.audits`` a
    ``SQLAudits(ctx)`` on every unit of work; its statements run in the
    unit's transaction.  Register its tables with
    :func:`~teamcrm.adapters.sql.migrations.register_migration`.  A name
    already registered with another factory is refused unless *replace* is
    true (so the winner never depends on import order), and so is the name
    of one of teamcrm's own repositories
    (:data:`teamcrm.core_repositories.CORE_NAMES`).

    This is the process-wide default: a store copies it when it opens, so
    register before opening stores.  One store alone:
    :meth:`~teamcrm.adapters.sqlite.store.SQLiteStore.register_repository`.
    A typed, declared alternative: :func:`teamcrm.register_repository` with a
    :class:`~teamcrm.repositories.RepositorySpec`.
    """
    check_repository(_REPOSITORIES, name, factory, replace)
    _REPOSITORIES[name] = factory


def registered_repositories() -> dict[str, RepositoryFactory]:
    """The extra repositories registered so far, by attribute name (a copy).

    The SQLite and the PostgreSQL store build their units of work from it.
    """
    return dict(_REPOSITORIES)


def with_spec_migrations(
    known: Sequence[Migration],
    specs: Iterable[RepositorySpec[Any]],
    *,
    extra: Sequence[Migration] = (),
) -> tuple[Migration, ...]:
    """*known*, then the migrations of *specs* (and *extra*) it lacks, in name order."""
    names = {m.name for m in known}
    more: list[Migration] = []
    for migration in [m for spec in specs for m in spec.migrations] + list(extra):
        if migration.name not in names:
            names.add(migration.name)
            more.append(migration)
    if not more:
        return tuple(known)
    return tuple(sorted((*known, *more), key=lambda m: m.name))


def store_with_repository(
    specs: dict[str, RepositorySpec[Any]],
    repositories: dict[str, RepositoryFactory],
    name: RepositorySpec[Any] | str,
    factory: RepositoryFactory | None,
    *,
    replace: bool,
    implementation: Callable[[RepositorySpec[Any]], Any],
    apply: Callable[[Sequence[Migration]], None],
) -> tuple[dict[str, RepositorySpec[Any]], dict[str, RepositoryFactory]]:
    """A SQL store's specs and repositories once *name* is registered on it (new dicts).

    The one body of both stores' ``register_repository``: *name* is a
    :class:`~teamcrm.repositories.RepositorySpec` (built by
    ``implementation(spec)``, its migrations handed to *apply* first) or a
    name with a *factory* of the unit's context.  Every refusal is a
    :class:`~teamcrm.errors.ValidationError` raised before anything changes.
    """
    from teamcrm.repositories import RepositorySpec, check_spec, resolve

    if isinstance(name, RepositorySpec):
        spec = name
        if factory is not None:
            raise ValidationError("factory", factory, "comes from the spec; pass it alone")
        check_spec(specs, spec, replace=replace, taken=repositories)
        built = implementation(spec)
        if built is None:
            raise ValidationError(
                "RepositorySpec.sql", None, f"{spec.name!r} has no SQL implementation"
            )
        apply(spec.migrations)
        return {**specs, spec.name: spec}, {**repositories, spec.name: resolve(built)}
    if factory is None:
        raise ValidationError("factory", factory, "a name needs a factory")
    check_repository(repositories, name, factory, replace)
    return (
        {n: s for n, s in specs.items() if n != name},
        {**repositories, name: factory},
    )
