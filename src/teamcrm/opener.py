"""Opening a CRM by URL.

``teamcrm.open(url)`` picks a store by the URL's scheme:

=====================  ==============================================
``memory://``          :class:`~teamcrm.adapters.memory.MemoryStore`
``sqlite:///path.db``  SQLite file (``sqlite://`` for a private in-memory db)
``postgresql://...``   PostgreSQL (``postgres`` extra)
=====================  ==============================================

Third-party adapters register their own scheme with :func:`register_store`.
"""

from __future__ import annotations

from collections.abc import Callable

from teamcrm.clock import Clock
from teamcrm.errors import StoreError, ValidationError
from teamcrm.ports import Store
from teamcrm.service import CRM

__all__ = ["open", "open_store", "register_store"]

StoreFactory = Callable[[str], Store]
_FACTORIES: dict[str, StoreFactory] = {}


def register_store(scheme: str, factory: StoreFactory) -> None:
    """Make ``teamcrm.open("<scheme>://...")`` build a store with *factory(url)*."""
    _FACTORIES[scheme.lower()] = factory


def _memory(url: str) -> Store:
    from teamcrm.adapters.memory import MemoryStore

    return MemoryStore(url)


register_store("memory", _memory)


def _sqlite(url: str) -> Store:
    from teamcrm.adapters.sqlite import SQLiteStore

    return SQLiteStore(url)


register_store("sqlite", _sqlite)


def _postgresql(url: str) -> Store:
    try:
        from teamcrm.adapters.postgres import PostgresStore
    except ImportError as exc:
        raise StoreError(
            f"the PostgreSQL store needs psycopg 3: pip install 'teamcrm[postgres]' ({exc})"
        ) from exc
    return PostgresStore(url)


register_store("postgresql", _postgresql)


def open_store(url: str) -> Store:
    """Return the store for *url* without wrapping it in a :class:`CRM`."""
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
    return factory(url)


def open(url: str = "memory://", *, clock: Clock | None = None) -> CRM:
    """Open a CRM on the store named by *url*.

    >>> import teamcrm
    >>> crm = teamcrm.open("memory://")
    >>> team, admin = crm.create_team("Acme", admin_name="Ana")
    >>> crm.as_member(admin.id).create_contact("Bea").display_name
    'Bea'
    """
    return CRM(open_store(url), clock=clock)
