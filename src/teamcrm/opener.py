"""Opening a CRM by URL.

``teamcrm.open(url)`` picks a store by the URL's scheme:

=====================  ==============================================
``memory://``          :class:`~teamcrm.adapters.memory.MemoryStore`
``sqlite:///path.db``  SQLite file (``sqlite://`` for a private in-memory db)
``postgresql://...``   PostgreSQL (``postgres`` extra)
=====================  ==============================================

Third-party adapters register their own scheme with :func:`register_store`.

``create`` says whether opening may make a new database.  It is true by
default (``teamcrm.open("sqlite:///team.db")`` makes ``team.db`` when it is
missing, and adds the tables to an empty PostgreSQL schema).  With
``create=False`` only an existing teamcrm database opens: a missing or empty
SQLite file, an empty PostgreSQL schema and ``memory://`` raise
:class:`~teamcrm.errors.MissingDatabaseError`, and nothing is created.  In
both modes a database that holds another application's tables is refused
with :class:`~teamcrm.errors.ForeignDatabaseError`.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from urllib.parse import quote

from teamcrm.clock import Clock
from teamcrm.errors import MissingDatabaseError, StoreError, ValidationError
from teamcrm.ports import Store
from teamcrm.service import CRM

__all__ = ["open", "open_store", "register_store", "sqlite_url"]

StoreFactory = Callable[..., Store]
_FACTORIES: dict[str, StoreFactory] = {}
_TAKES_CREATE: dict[str, bool] = {}


def _takes_create(factory: StoreFactory) -> bool:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return False
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD
        or (p.name == "create" and p.kind is not inspect.Parameter.POSITIONAL_ONLY)
        for p in params
    )


def register_store(scheme: str, factory: StoreFactory) -> None:
    """Make ``teamcrm.open("<scheme>://...")`` build a store with *factory(url)*.

    A factory that takes a keyword argument ``create`` receives the caller's
    ``create`` flag (see the module docs) and must honour it; one that does
    not can only be opened with ``create=True`` (the default).
    """
    _FACTORIES[scheme.lower()] = factory
    _TAKES_CREATE[scheme.lower()] = _takes_create(factory)


def _memory(url: str, *, create: bool = True) -> Store:
    from teamcrm.adapters.memory import MemoryStore

    if not create:
        raise MissingDatabaseError(repr(url), "is always a new, empty store")
    return MemoryStore(url)


register_store("memory", _memory)


def _sqlite(url: str, *, create: bool = True) -> Store:
    from teamcrm.adapters.sqlite import SQLiteStore

    return SQLiteStore(url, create=create)


register_store("sqlite", _sqlite)


def _postgresql(url: str, *, create: bool = True) -> Store:
    try:
        from teamcrm.adapters.postgres import PostgresStore
    except ImportError as exc:
        raise StoreError(
            f"the PostgreSQL store needs psycopg 3: pip install 'teamcrm[postgres]' ({exc})"
        ) from exc
    return PostgresStore(url, create=create)


register_store("postgresql", _postgresql)


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """Return the ``sqlite:///`` URL of a file *path* (relative or absolute), percent-encoded.

    >>> sqlite_url("my team.db")
    'sqlite:///my%20team.db'
    """
    return "sqlite:///" + quote(os.fspath(path))


def open_store(url: str | os.PathLike[str], *, create: bool = True) -> Store:
    """Return the store for *url* without wrapping it in a :class:`CRM`.

    *url* is a store URL, or a path (``pathlib.Path``, any ``os.PathLike``)
    of a SQLite file.

    :param create: may opening make a new database (see the module docs)?
    """
    if not isinstance(create, bool):
        raise ValidationError("create", create, "must be True or False")
    if isinstance(url, os.PathLike):
        url = sqlite_url(url)
    if not isinstance(url, str) or "://" not in url:
        raise ValidationError("url", url, "must look like 'memory://' or 'sqlite:///team.db'")
    scheme = url.split("://", 1)[0].lower()
    if scheme == "postgres":
        scheme = "postgresql"
    factory = _FACTORIES.get(scheme)
    if factory is None:
        raise ValidationError(
            "url", url, f"unknown store scheme {scheme!r}; known: {sorted(_FACTORIES)}"
        )
    if _TAKES_CREATE.get(scheme, False):
        return factory(url, create=create)
    if not create:
        raise ValidationError(
            "create", create, f"the {scheme}:// store cannot promise not to create a database"
        )
    return factory(url)


def open(
    url: str | os.PathLike[str] = "memory://", *, clock: Clock | None = None, create: bool = True
) -> CRM:
    """Open a CRM on the store named by *url* (a URL, or a ``pathlib.Path`` of a SQLite file).

    With ``create=False`` only an existing teamcrm database opens (a missing
    one raises :class:`~teamcrm.errors.MissingDatabaseError`, nothing is made).

    >>> import teamcrm
    >>> crm = teamcrm.open("memory://")
    >>> team, admin = crm.create_team("Acme", admin_name="Ana")
    >>> crm.as_member(admin.id).create_contact("Bea").display_name
    'Bea'
    """
    return CRM(open_store(url, create=create), clock=clock)
