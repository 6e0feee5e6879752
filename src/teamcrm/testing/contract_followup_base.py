"""What the follow-up contracts share: a seeded team with a policy and contacts, rows, snapshots."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import pytest

from teamcrm.bucket import Bucket, BucketMembership
from teamcrm.contact import Contact
from teamcrm.followup import Cadence, FollowUpDue, FollowUpPolicy, Touch, new_policy_id
from teamcrm.ids import ContactId, MemberId, TeamId
from teamcrm.ports import Store, UnitOfWork
from teamcrm.task import Task, new_task_id
from teamcrm.testing.contract_base import (
    Seed,
    StoreContractBase,
    at,
    new_bucket,
    new_contact,
    read,
    seed_team,
    write,
)

__all__ = [
    "FAR",
    "LAST_DAY",
    "FollowUpSeed",
    "followup_snapshot",
    "new_policy",
    "new_task",
    "seed_followups",
]

#: A day far in the future (every row is due by then).
LAST_DAY = date(9999, 12, 31)
FAR = datetime(9999, 1, 1, tzinfo=UTC)


@attrs.frozen
class FollowUpSeed:
    """A seeded team with a team bucket, a personal bucket, a policy and three more contacts.

    ``policy``: the agent follows up the team bucket every 30 days.
    """

    seed: Seed
    team_bucket: Bucket
    personal_bucket: Bucket
    policy: FollowUpPolicy
    contacts: tuple[Contact, ...]

    @property
    def team_id(self) -> TeamId:
        """The team's id."""
        return self.seed.team_id

    @property
    def contact_ids(self) -> list[ContactId]:
        """The seed contact's id and the three others."""
        return [self.seed.contact.id, *(c.id for c in self.contacts)]


def new_policy(
    seed: Seed, bucket: Bucket, seconds: float = 10, *, member_id: MemberId | None = None
) -> FollowUpPolicy:
    """Return an unsaved policy: *member_id* (the agent) follows up *bucket* every 30 days."""
    return FollowUpPolicy(
        id=new_policy_id(),
        team_id=seed.team_id,
        bucket_id=bucket.id,
        member_id=member_id or seed.agent.id,
        cadence=Cadence.days(30),
        reset_by_team=not bucket.is_personal,
        created_at=at(seconds),
        created_by=seed.admin.id,
        time_zone="Europe/Warsaw",
    )


def new_task(
    seed: Seed, due_seconds: float, *, member_id: MemberId | None = None, **changes: Any
) -> Task:
    """Return an unsaved open task of the agent (or *member_id*) due at ``at(due_seconds)``."""
    fields: dict[str, Any] = {
        "id": new_task_id(),
        "team_id": seed.team_id,
        "member_id": member_id or seed.agent.id,
        "contact_id": seed.contact.id,
        "due_at": at(due_seconds),
        "created_at": at(1),
        "created_by": seed.admin.id,
        "note": "call back",
    }
    fields.update(changes)
    return Task(**fields)


def _due(fs: FollowUpSeed, policy: FollowUpPolicy, contact_id: str, day: int) -> FollowUpDue:
    return FollowUpDue(
        team_id=fs.team_id,
        policy_id=policy.id,
        member_id=policy.member_id,
        bucket_id=policy.bucket_id,
        contact_id=ContactId(contact_id),
        due_on=date(2026, 2, 1) + timedelta(days=day),
        since=at(day),
    )


def seed_followups(store: Store, name: str = "Acme") -> FollowUpSeed:
    """Write a team with buckets, a policy and contacts (see :class:`FollowUpSeed`)."""
    seed = seed_team(store, name)
    team_bucket = new_bucket(seed, 5)
    personal = new_bucket(seed, 6, personal=True)
    policy = new_policy(seed, team_bucket, 7)
    contacts = tuple(new_contact(seed, 8 + i, first_name=f"F{i}") for i in range(3))

    def fill(uow: UnitOfWork) -> None:
        uow.buckets.add(team_bucket)
        uow.buckets.add(personal)
        uow.contacts.add_many(contacts)
        uow.memberships.add_many(
            [
                BucketMembership(
                    team_id=seed.team_id, bucket_id=team_bucket.id, item_id=c, added_at=at(9)
                )
                for c in [seed.contact.id, *(c.id for c in contacts)]
            ]
        )
        uow.followup_policies.add(policy)

    write(store, fill)
    return FollowUpSeed(
        seed=seed,
        team_bucket=team_bucket,
        personal_bucket=personal,
        policy=policy,
        contacts=contacts,
    )


def followup_snapshot(uow: UnitOfWork, fs: FollowUpSeed) -> dict[str, Any]:
    """Everything the follow-up ports can list for *fs*'s team, as comparable data."""
    t = fs.team_id
    people = [fs.seed.admin.id, fs.seed.agent.id]
    contacts = fs.contact_ids
    return {
        "policies": uow.followup_policies.all(t),
        "tasks": [uow.tasks.for_member(t, m) for m in people],
        "dues": [uow.followup_dues.for_contacts(t, m, contacts) for m in people],
        "team_touches": uow.touches.team_latest(t, contacts),
        "member_touches": uow.touches.member_latest(t, contacts),
        "pending": uow.touches.pending(t, FAR),
        "snoozes": [uow.snoozes.get(t, m, c) for m in people for c in contacts],
    }


def _snapshot(store: Store, fs: FollowUpSeed) -> dict[str, Any]:
    return read(store, lambda uow: followup_snapshot(uow, fs))


class _FollowUpBase(StoreContractBase):
    @pytest.fixture
    def followup_seed(self, store: Store) -> Callable[[], FollowUpSeed]:
        """Returns a team with buckets, a policy and contacts, written to *store* on first call.

        Seeded lazily, in the test itself, so that an adapter failing to store
        the seed fails the test (which a known-failure mark can cover).
        """
        return functools.cache(lambda: seed_followups(store))


# ==================================================================== touches


def _touch(fs: FollowUpSeed, contact: str, member: str, seconds: float, **changes: Any) -> Touch:
    return Touch(
        team_id=fs.team_id,
        contact_id=ContactId(contact),
        member_id=MemberId(member),
        at=at(seconds),
        **changes,
    )
