"""Shared pieces of the public contract suite: the base class, helpers and known bugs.

:mod:`teamcrm.testing.contract` and its companion modules
(:mod:`~teamcrm.testing.contract_notifications`,
:mod:`~teamcrm.testing.contract_followups`,
:mod:`~teamcrm.testing.contract_routing`) build on :class:`StoreContractBase`
and the helpers here.  Use them to write further contract tests of your own::

    from teamcrm.testing.contract_base import StoreContractBase, read, seed_team, write

Known failures.  A subclass may list tests its adapter is known to fail
(each with the bug) in :attr:`StoreContractBase.known_failures`; they then run
as *strict* expected failures, so the list must shrink the moment a bug is
fixed.  The adapters shipped with teamcrm have no known failures.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar

import attrs
import pytest
from hypothesis import HealthCheck, settings

from teamcrm.bucket import AccessGrant, AccessLevel, Bucket, BucketKind
from teamcrm.contact import Company, Contact
from teamcrm.events import DomainEvent, EventName
from teamcrm.ids import (
    TeamId,
    new_bucket_id,
    new_company_id,
    new_contact_id,
    new_member_id,
    new_team_id,
)
from teamcrm.ports import Store, UnitOfWork
from teamcrm.team import Member, Role, Team

__all__ = [
    "T0",
    "Seed",
    "StoreContractBase",
    "add_all",
    "at",
    "bump",
    "call",
    "contract_settings",
    "discard",
    "fresh",
    "new_bucket",
    "new_contact",
    "new_event",
    "read",
    "round_trip_settings",
    "seed_team",
    "write",
]

R = TypeVar("R")
E = TypeVar("E")

#: Base time of the rows the suite builds by hand.
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

#: Settings for the suite's property tests.  The store fixture is shared by
#: the examples of one test on purpose (each example uses a fresh team), and
#: the same test methods run from one subclass per adapter in one session
#: (``differing_executors``): they depend on the ``store`` fixture, never on
#: state kept on ``self``.
contract_settings = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.differing_executors,
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


#: Settings for the suite's round-trip tests, whose drawn entities carry
#: large values (costly to build and to check): a third of the examples the
#: active hypothesis profile asks for (at least 10).
round_trip_settings = settings(
    contract_settings, max_examples=max(10, settings().max_examples // 3)
)


def at(seconds: float) -> datetime:
    """Return :data:`T0` plus *seconds*."""
    return T0 + timedelta(seconds=seconds)


def write(store: Store, fn: Callable[[UnitOfWork], R]) -> R:
    """Run *fn* in a new unit of work and commit it; return what *fn* returned."""
    with store.unit_of_work() as uow:
        result = fn(uow)
        uow.commit()
    return result


def discard(store: Store, changes: Callable[[UnitOfWork], object]) -> None:
    """Run *changes* twice without keeping them: rolled back, then in a unit that raises.

    Callers then check that the store looks exactly as before.
    """
    with store.unit_of_work() as uow:
        changes(uow)
        uow.rollback()

    class Boom(Exception):
        pass

    def failing() -> None:
        with store.unit_of_work() as uow:
            changes(uow)
            raise Boom

    with pytest.raises(Boom):
        failing()


def read(store: Store, fn: Callable[[UnitOfWork], R]) -> R:
    """Run *fn* in a new read-only unit of work (never committed)."""
    with store.unit_of_work(write=False) as uow:
        return fn(uow)


@attrs.frozen
class Seed:
    """A team written to the store with an admin, an agent, a company and a contact."""

    team: Team
    admin: Member
    agent: Member
    company: Company
    contact: Contact

    @property
    def team_id(self) -> TeamId:
        """The team's id."""
        return self.team.id


def seed_team(store: Store, name: str = "Acme") -> Seed:
    """Write a fresh team (with two members, a company and a contact) and return it."""
    team = Team(id=new_team_id(), name=name, created_at=T0)
    admin = Member(
        id=new_member_id(), team_id=team.id, name="Ana", role=Role.ADMIN, created_at=at(1)
    )
    agent = Member(
        id=new_member_id(), team_id=team.id, name="Bob", role=Role.AGENT, created_at=at(2)
    )
    company = Company(
        id=new_company_id(), team_id=team.id, name="Globex", created_at=at(3), created_by=admin.id
    )
    contact = Contact(
        id=new_contact_id(),
        team_id=team.id,
        created_at=at(4),
        status="evaluate",
        first_name="Bea",
        company_ids=(company.id,),
        created_by=admin.id,
    )

    def fill(uow: UnitOfWork) -> None:
        uow.teams.add(team)
        uow.members.add(admin)
        uow.members.add(agent)
        uow.companies.add(company)
        uow.contacts.add(contact)

    write(store, fill)
    return Seed(team=team, admin=admin, agent=agent, company=company, contact=contact)


def new_contact(seed: Seed, seconds: float = 10, **changes: Any) -> Contact:
    """Return an unsaved contact of *seed*'s team created at ``at(seconds)``."""
    fields: dict[str, Any] = {
        "id": new_contact_id(),
        "team_id": seed.team_id,
        "created_at": at(seconds),
        "status": "evaluate",
        "first_name": "Cy",
        "created_by": seed.agent.id,
    }
    fields.update(changes)
    return Contact(**fields)


def new_bucket(seed: Seed, seconds: float = 10, *, personal: bool = False) -> Bucket:
    """Return an unsaved bucket of *seed*'s team (team bucket with an agent grant, or personal)."""
    if personal:
        return Bucket(
            id=new_bucket_id(),
            team_id=seed.team_id,
            name="Mine",
            kind=BucketKind.PERSONAL,
            owner_id=seed.agent.id,
            created_at=at(seconds),
            created_by=seed.agent.id,
        )
    return Bucket(
        id=new_bucket_id(),
        team_id=seed.team_id,
        name="Leads",
        kind=BucketKind.TEAM,
        grants=(AccessGrant(member_id=seed.agent.id, level=AccessLevel.EDITOR),),
        created_at=at(seconds),
        created_by=seed.admin.id,
    )


def new_event(seed: Seed, subject_id: str = "x", **data: Any) -> DomainEvent:
    """Return a domain event of *seed*'s team."""
    return DomainEvent(
        name=EventName.CONTACT_UPDATED,
        team_id=seed.team_id,
        subject_id=subject_id,
        occurred_at=T0,
        actor_id=seed.admin.id,
        data=data,
    )


def fresh(entity: E) -> E:
    """Return *entity* with a new random id of the same kind.

    Hypothesis draws the same ids again across examples; the suite keeps one
    store per test, so drawn entities get fresh ids before they are stored.
    """
    prefix = entity.id[:3]  # type: ignore[attr-defined]
    return attrs.evolve(entity, id=prefix + secrets.token_hex(13))  # type: ignore[misc]


def call(repository: str, method: str, *args: Any) -> Callable[[UnitOfWork], Any]:
    """Return ``uow -> uow.<repository>.<method>(*args)`` (for loops; lambdas bind late)."""

    def call(uow: UnitOfWork) -> Any:
        return getattr(getattr(uow, repository), method)(*args)

    return call


def add_all(add: Callable[[Any], None], rows: Iterable[Any]) -> None:
    """Call a repository's ``add`` for each row."""
    for row in rows:
        add(row)


def bump(entity: Any, **changes: Any) -> Any:
    """Return *entity* with its version raised by one (and *changes* applied)."""
    return attrs.evolve(entity, version=entity.version + 1, **changes)


class StoreContractBase:
    """Holds the one abstract fixture of the suite: ``store``.

    Override it in your subclass to yield a fresh store (and close it after).

    :cvar known_failures: test name -> the bug, for tests your adapter is
        known to fail; each runs as a strict expected failure.
    """

    known_failures: ClassVar[Mapping[str, str]] = {}

    @pytest.fixture
    def store(self) -> Store:
        """A fresh, empty store of the adapter under test (override me).

        Override it as a plain or a yield fixture, with any fixtures you need
        (``tmp_path``...); close the store after the test.
        """
        pytest.fail(f"{type(self).__name__} must override the 'store' fixture")

    @pytest.fixture
    def seed(self, store: Store) -> Seed:
        """A team with members, a company and a contact, already in *store*."""
        return seed_team(store)

    @pytest.fixture(autouse=True)
    def _known_failure(self, request: pytest.FixtureRequest) -> None:
        """Mark a test listed as a known failure of this adapter as a strict xfail."""
        name = request.function.__name__
        reason = self.known_failures.get(name)
        if reason is not None:
            request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
