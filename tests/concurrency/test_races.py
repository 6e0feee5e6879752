"""Focused races between two real processes, on one SQLite file and on PostgreSQL.

Each test prepares ``ROUNDS`` independent copies of one situation, then two
processes take each round together (a barrier releases them) and the rows
are checked afterwards:

* two admins deactivating or demoting each other: the team keeps an active
  admin (one of the two is refused);
* a new member receiving leads from two pools at once: one inbound bucket
  ("Routed leads") holding both contacts;
* ``delete_contact`` / ``delete_bucket`` racing ``add_to_bucket`` (into a
  pool's source bucket, so the add also routes): no membership, open lead or
  open offer points at a deleted row;
* ``delete_company`` racing ``add_to_bucket`` of the company and
  ``link_company``: no membership or contact link points at a deleted
  company.

On PostgreSQL (READ COMMITTED, writers side by side) each of these failed in
most rounds before the locks of ``teams.lock``, ``inbound_buckets.claim``,
``contacts.lock`` / ``buckets.lock`` and the memberships' foreign key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import teamcrm
from race_support import INBOUND, STORES, run_workers, store_url, violations
from teamcrm.lead import LeadStatus

pytestmark = pytest.mark.slow

ROUNDS = 12


def _team(url: str, name: str) -> tuple[teamcrm.CRM, teamcrm.MemberSession]:
    crm = teamcrm.open(url)
    _, admin = crm.create_team(name, admin_name="Ana")
    return crm, crm.as_member(admin.id)


# ------------------------------------------------------------------ item 7
def _admin_worker(url: str, pairs: list[tuple[str, str, str]], barrier: Any) -> list[str]:
    """As the first of each pair, deactivate or demote the second; report what happened."""
    crm = teamcrm.open(url)
    outcomes: list[str] = []
    for actor, target, how in pairs:
        session = crm.as_member(actor)
        barrier.wait(30)
        try:
            if how == "deactivate":
                session.deactivate_member(target)
            else:
                session.change_role(target, "agent")
            outcomes.append("done")
        except teamcrm.PermissionDenied:
            outcomes.append("refused")
        except teamcrm.ConcurrencyError:
            outcomes.append("conflict")
    crm.close()
    return outcomes


@pytest.mark.parametrize("kind", STORES)
def test_two_admins_removing_each_other_leave_an_active_admin(kind: str, tmp_path: Path) -> None:
    with store_url(kind, tmp_path) as url:
        crm = teamcrm.open(url)
        first: list[tuple[str, str, str]] = []
        second: list[tuple[str, str, str]] = []
        for r in range(ROUNDS):
            _, a = crm.create_team(f"T{r}", admin_name="A")
            b = crm.as_member(a.id).add_member("B", role="admin")
            how = ("deactivate", "demote")[r % 2]
            first.append((a.id, b.id, how))
            second.append((b.id, a.id, ("deactivate", "demote")[(r // 2) % 2]))
        crm.close()
        results = run_workers([(_admin_worker, (url, first)), (_admin_worker, (url, second))])
        assert violations(url) == {}
        # Exactly one of each pair won: the other was refused (or lost a version race).
        for a_out, b_out in zip(*results, strict=True):
            assert sorted([a_out, b_out]) != ["done", "done"], results


# ------------------------------------------------------------------ item 8
def _route_worker(url: str, admin: str, adds: list[tuple[str, str]], barrier: Any) -> int:
    """Add each contact to its pool's source bucket, one round at a time."""
    crm = teamcrm.open(url)
    session = crm.as_member(admin)
    for bucket_id, contact_id in adds:
        barrier.wait(30)
        session.add_to_bucket(bucket_id, contact_id)
    crm.close()
    return len(adds)


@pytest.mark.parametrize("kind", STORES)
def test_a_new_member_routed_from_two_pools_at_once_gets_one_inbound_bucket(
    kind: str, tmp_path: Path
) -> None:
    with store_url(kind, tmp_path) as url:
        crm, ana = _team(url, "Inbound")
        first: list[tuple[str, str]] = []
        second: list[tuple[str, str]] = []
        members: list[tuple[str, list[str]]] = []
        for r in range(ROUNDS):
            m = ana.add_member(f"New{r}").id
            contacts = []
            for side in (first, second):
                source = ana.create_bucket(f"Source {r}{len(side)}")
                ana.create_pool(
                    f"P{r}-{id(side)}",
                    source_bucket_ids=[source.id],
                    member_ids=[m],
                    method="round_robin",
                )
                contact = ana.create_contact(first_name=f"C{r}")
                side.append((source.id, contact.id))
                contacts.append(contact.id)
            members.append((m, contacts))
        results = run_workers(
            [
                (_route_worker, (url, ana.member_id, first)),
                (_route_worker, (url, ana.member_id, second)),
            ]
        )
        assert results == [ROUNDS, ROUNDS]
        assert violations(url) == {}
        for m, contacts in members:
            session = crm.as_member(m)
            mine = [b for b in session.buckets() if b.name == INBOUND]
            assert len(mine) == 1, (m, mine)
            assert mine[0].id == session.inbound_bucket().id
            held = {c.id for c in session.bucket_contacts(mine[0].id)}
            assert held == set(contacts)
        crm.close()


# ------------------------------------------------------------------ item 9
def _delete_worker(url: str, admin: str, steps: list[tuple[str, str]], barrier: Any) -> int:
    """Delete each contact or bucket, one round at a time; count the deletions."""
    crm = teamcrm.open(url)
    session = crm.as_member(admin)
    done = 0
    for what, ident in steps:
        barrier.wait(30)
        try:
            if what == "contact":
                session.delete_contact(ident)
            else:
                session.delete_bucket(ident)
            done += 1
        except (teamcrm.NotFound, teamcrm.ConcurrencyError):
            pass
    crm.close()
    return done


def _add_worker(url: str, admin: str, adds: list[tuple[str, str]], barrier: Any) -> int:
    """Add each contact to its bucket, one round at a time; count the adds that worked."""
    crm = teamcrm.open(url)
    session = crm.as_member(admin)
    done = 0
    for bucket_id, contact_id in adds:
        barrier.wait(30)
        try:
            session.add_to_bucket(bucket_id, contact_id)
            done += 1
        except (teamcrm.NotFound, teamcrm.ConcurrencyError):
            pass
    crm.close()
    return done


@pytest.mark.parametrize("kind", STORES)
@pytest.mark.parametrize("target", ["contact", "bucket"])
def test_deleting_while_adding_to_a_bucket_leaves_nothing_pointing_at_deleted_rows(
    kind: str, target: str, tmp_path: Path
) -> None:
    with store_url(kind, tmp_path) as url:
        crm, ana = _team(url, "Deletes")
        agent = ana.add_member("Agent").id
        deletes: list[tuple[str, str]] = []
        adds: list[tuple[str, str]] = []
        for r in range(ROUNDS):
            source = ana.create_bucket(f"Source {r}")
            if target == "contact":  # a pool's source: the add also routes
                ana.create_pool(
                    f"P{r}", source_bucket_ids=[source.id], member_ids=[agent], method="round_robin"
                )
            # (a pool's source bucket is never deleted: delete_bucket refuses it)
            contact = ana.create_contact(first_name=f"C{r}")
            deletes.append((target, contact.id if target == "contact" else source.id))
            adds.append((source.id, contact.id))
        results = run_workers(
            [
                (_delete_worker, (url, ana.member_id, deletes)),
                (_add_worker, (url, ana.member_id, adds)),
            ]
        )
        assert results[0] == ROUNDS  # every deletion went through
        assert violations(url) == {}
        for lead in ana.leads():
            if lead.is_open:
                assert lead.status is LeadStatus.ASSIGNED
        crm.close()


# ------------------------------------------------------------------ companies
def _delete_company_worker(url: str, admin: str, ids: list[str], barrier: Any) -> int:
    crm = teamcrm.open(url)
    session = crm.as_member(admin)
    done = 0
    for company_id in ids:
        barrier.wait(30)
        try:
            session.delete_company(company_id)
            done += 1
        except (teamcrm.NotFound, teamcrm.ConcurrencyError):
            pass
    crm.close()
    return done


def _use_company_worker(
    url: str, admin: str, steps: list[tuple[str, str, str]], barrier: Any
) -> int:
    """Add each company to a bucket, or link a contact to it, one round at a time."""
    crm = teamcrm.open(url)
    session = crm.as_member(admin)
    done = 0
    for how, company_id, other in steps:
        barrier.wait(30)
        try:
            if how == "bucket":
                session.add_to_bucket(other, company_id)
            else:
                session.link_company(other, company_id)
            done += 1
        except (teamcrm.NotFound, teamcrm.ConcurrencyError):
            pass
    crm.close()
    return done


@pytest.mark.parametrize("kind", STORES)
def test_deleting_a_company_while_it_is_linked_or_filed_leaves_nothing_pointing_at_it(
    kind: str, tmp_path: Path
) -> None:
    with store_url(kind, tmp_path) as url:
        crm, ana = _team(url, "Companies")
        bucket = ana.create_bucket("Accounts")
        companies: list[str] = []
        steps: list[tuple[str, str, str]] = []
        for r in range(ROUNDS):
            company = ana.create_company(f"Co{r}")
            companies.append(company.id)
            if r % 2:
                steps.append(("bucket", company.id, bucket.id))
            else:
                steps.append(("link", company.id, ana.create_contact(f"C{r}").id))
        results = run_workers(
            [
                (_delete_company_worker, (url, ana.member_id, companies)),
                (_use_company_worker, (url, ana.member_id, steps)),
            ]
        )
        assert results[0] == ROUNDS  # every deletion went through
        assert violations(url) == {}
        crm.close()


# ------------------------------------------------------------------ pool sources
def _delete_bucket_worker(url: str, admin: str, ids: list[str], barrier: Any) -> int:
    crm = teamcrm.open(url)
    session = crm.as_member(admin)
    done = 0
    for bucket_id in ids:
        barrier.wait(30)
        try:
            session.delete_bucket(bucket_id)
            done += 1
        except (teamcrm.NotFound, teamcrm.ValidationError, teamcrm.ConcurrencyError):
            pass
    crm.close()
    return done


def _add_source_worker(
    url: str, admin: str, steps: list[tuple[str, str, str]], barrier: Any
) -> int:
    """Make each bucket a source: of an existing pool, or of a new one."""
    crm = teamcrm.open(url)
    session = crm.as_member(admin)
    done = 0
    for how, pool_id, bucket_id in steps:
        barrier.wait(30)
        try:
            if how == "update":
                pool = session.pool(pool_id)
                session.update_pool(pool_id, source_bucket_ids=[*pool.source_bucket_ids, bucket_id])
            else:
                session.create_pool(f"New {bucket_id}", source_bucket_ids=[bucket_id])
            done += 1
        except (teamcrm.NotFound, teamcrm.ConcurrencyError):
            pass
    crm.close()
    return done


@pytest.mark.parametrize("kind", STORES)
def test_deleting_a_bucket_while_it_becomes_a_pool_source_leaves_no_pool_naming_it(
    kind: str, tmp_path: Path
) -> None:
    with store_url(kind, tmp_path) as url:
        crm, ana = _team(url, "Sources")
        base = ana.create_bucket("Base")
        doomed: list[str] = []
        steps: list[tuple[str, str, str]] = []
        for r in range(ROUNDS):
            bucket = ana.create_bucket(f"B{r}")
            doomed.append(bucket.id)
            pool = ana.create_pool(f"P{r}", source_bucket_ids=[base.id])
            steps.append(("update" if r % 2 else "create", pool.id, bucket.id))
        run_workers(
            [
                (_delete_bucket_worker, (url, ana.member_id, doomed)),
                (_add_source_worker, (url, ana.member_id, steps)),
            ]
        )
        existing = {b.id for b in ana.buckets()}
        dangling = [
            (p.name, s) for p in ana.pools() for s in p.source_bucket_ids if s not in existing
        ]
        assert dangling == []
        # Each round, exactly one side won: the bucket is gone or it is a source.
        sources = {s for p in ana.pools() for s in p.source_bucket_ids}
        assert all((b in existing) == (b in sources) for b in doomed)
        crm.close()
