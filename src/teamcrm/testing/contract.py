"""The public contract test suite for storage adapters.

Every adapter shipped with teamcrm passes these tests, and so must yours.
Subclass :class:`StoreContract` in a test module and override the one
abstract fixture, ``store``, to build a fresh, empty store::

    import pytest
    from teamcrm.testing.contract import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            s = MyStore(tmp_path / "crm.db")
            yield s
            s.close()

The suite is split into one class per protocol of :mod:`teamcrm.ports`,
kept in modules by concept (``contract_entities``, ``contract_buckets``,
``contract_log``, ``contract_units``, ``contract_followups``,
``contract_routing``...).  Each repository's spec in
:data:`teamcrm.core_repositories.CORE_REPOSITORIES` names its classes
(``contracts``); :class:`StoreContract` gathers them, after
:class:`UnitOfWorkContract` and :class:`TeamIsolationContract`, and this
module offers each by name (``TeamRepositoryContract``,
``ContactRepositoryContract``, ``OutboxContract``...): subclass only some of
them while an adapter is half-built.  It depends only on pytest, hypothesis
and teamcrm.

Hypothesis examples share the store of one test: every example works in a
fresh team with fresh ids, which is also how the suite checks that teams
never see each other's data.  The number of examples follows the active
hypothesis profile.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from teamcrm.core_repositories import CORE_REPOSITORIES
from teamcrm.repositories import resolve
from teamcrm.testing.contract_base import (
    T0,
    Seed,
    StoreContractBase,
    add_all,
    at,
    bump,
    contract_settings,
    fresh,
    new_bucket,
    new_contact,
    new_event,
    read,
    seed_team,
    write,
)
from teamcrm.testing.contract_units import TeamIsolationContract, UnitOfWorkContract


def _repository_contracts() -> dict[str, type[StoreContractBase]]:
    """The contract classes the core specs name (``spec.contracts``), by class name, in order."""
    found: dict[str, type[StoreContractBase]] = {}
    for spec in CORE_REPOSITORIES:
        for ref in spec.contracts:
            cls: type[StoreContractBase] = resolve(ref)
            found[cls.__name__] = cls
    return found


#: Every repository's contract classes, by name.
CONTRACTS: dict[str, type[StoreContractBase]] = _repository_contracts()


def __getattr__(name: str) -> type[StoreContractBase]:
    """A repository's contract class by name (``TeamRepositoryContract``...): see CONTRACTS."""
    try:
        return CONTRACTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted({*globals(), *CONTRACTS})


__all__ = [
    "CONTRACTS",
    "T0",
    "Seed",
    "StoreContract",
    "StoreContractBase",
    "TeamIsolationContract",
    "UnitOfWorkContract",
    "add_all",
    "at",
    "bump",
    "contract_settings",
    "fresh",
    "new_bucket",
    "new_contact",
    "new_event",
    "read",
    "seed_team",
    "write",
    *CONTRACTS,
]

_DOC = "Every contract at once: subclass this and override ``store``."

if TYPE_CHECKING:

    class StoreContract(UnitOfWorkContract, TeamIsolationContract):
        """Every contract at once: subclass this and override ``store``."""

else:
    StoreContract = type(
        "StoreContract",
        (UnitOfWorkContract, TeamIsolationContract, *CONTRACTS.values()),
        {"__doc__": _DOC, "__module__": __name__},
    )
