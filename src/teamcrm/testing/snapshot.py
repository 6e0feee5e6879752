"""A full, comparable picture of what a store holds for some teams.

:func:`store_snapshot` reads everything the repository protocols can list —
the team, members, contacts, companies, buckets with their memberships,
interactions, opportunities, cases and their notes, and the outbox — so a
test can assert that a failed call left the store exactly as it was::

    before = store_snapshot(store, [team.id])
    with pytest.raises(teamcrm.TeamCRMError):
        session.create_contact("")
    assert store_snapshot(store, [team.id]) == before
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from teamcrm.errors import NotFound
from teamcrm.ids import PREFIXES, CompanyId, ContactId, TeamId
from teamcrm.ports import Store, UnitOfWork

__all__ = ["store_snapshot", "team_snapshot"]


def team_snapshot(
    uow: UnitOfWork, team_id: TeamId, extra_item_ids: Iterable[str] = ()
) -> dict[str, Any]:
    """Return everything *uow* can read of one team, as plain comparable data.

    Interactions are found through the contacts and companies that exist,
    plus *extra_item_ids* (e.g. ids of contacts deleted since).
    """
    try:
        team: Any = uow.teams.get(team_id)
    except NotFound:
        team = None
    contacts = uow.contacts.all(team_id)
    companies = uow.companies.all(team_id)
    buckets = uow.buckets.all(team_id)
    items = {b.id: uow.memberships.items(team_id, b.id) for b in buckets}
    wanted = dict.fromkeys([*(c.id for c in contacts), *(c.id for c in companies)])
    wanted.update(dict.fromkeys(extra_item_ids))
    interactions: dict[str, Any] = {}
    for item_id in wanted:
        if item_id.startswith(PREFIXES["contact"]):
            rows = uow.interactions.for_contact(team_id, ContactId(item_id))
        else:
            rows = uow.interactions.for_company(team_id, CompanyId(item_id))
        interactions[item_id] = rows
    outbox = []
    after = 0
    while True:
        page = uow.outbox.read(team_id, after, 1000)
        outbox.extend(page)
        if len(page) < 1000:
            break
        after = page[-1].seq
    programs = uow.programs.all(team_id)
    return {
        "team": team,
        "members": uow.members.all(team_id),
        "contacts": contacts,
        "companies": companies,
        "buckets": buckets,
        "memberships": items,
        "interactions": interactions,
        "opportunities": uow.records.opportunities(team_id),
        "cases": uow.records.cases(team_id),
        "record_notes": uow.records.all_notes(team_id),
        "outbox": outbox,
        "programs": programs,
        "enrolments": {p.id: uow.enrolments.for_program(team_id, p.id) for p in programs},
    }


def store_snapshot(
    store: Store, team_ids: Iterable[TeamId], extra_item_ids: Iterable[str] = ()
) -> dict[str, Any]:
    """Return :func:`team_snapshot` of every team in *team_ids*, read in one unit of work."""
    extra = list(extra_item_ids)
    with store.unit_of_work(write=False) as uow:
        return {tid: team_snapshot(uow, tid, extra) for tid in team_ids}
