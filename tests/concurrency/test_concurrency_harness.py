"""The concurrency harness: random mixes of use cases in real processes, then every invariant.

``WORKERS`` processes (``spawn``) open the same store - one SQLite file, or
one PostgreSQL schema - and each runs ``OPS`` use cases picked at random
(seeded: a failure names its seed, and ``TEAMCRM_HARNESS_SEED=<n>`` runs that
seed again) against one team:

* route leads by adding contacts (old or new) to the source buckets of two
  round-robin pools that share their agents, and of a first-to-accept pool
  with a daily cap; agents accept their open offers; a manager reassigns
  leads of the capped pool;
* admins deactivate, demote, reactivate and promote each other;
* delete contacts, create / delete scratch buckets and add contacts to them;
* log interactions; bump a counter custom field of a few contacts with
  ``update_contact(expected_version=...)`` (retrying on ``ConcurrencyError``).

A use case may be refused (``PermissionDenied``, ``NotFound``,
``ValidationError``, ``OfferClosed``) or lose a race (``ConcurrencyError``);
anything else fails the run.  Afterwards :func:`check` asserts what the docs
promise:

* the team has an active admin;
* each member has at most one inbound "Routed leads" bucket, and every
  inbound-bucket choice names an existing bucket;
* no membership, open lead or open offer points at a deleted bucket,
  contact, company or closed lead;
* each lead was routed once (one ``lead.routed`` event), for one entry of
  its contact (no two leads share pool, contact and entry; at most one is
  open per pool and contact), and an assigned lead has exactly one owner;
* no member received more leads of the capped pool than its daily cap;
* the round-robin pools (only round robin ever routes them) spread their
  leads evenly: per-member counts differ by at most one;
* no update made with ``expected_version`` was lost: each counter equals the
  number of bumps that succeeded.

Before the fixes of issue 13 this failed on PostgreSQL (no active admin, two
inbound buckets, memberships and open leads of deleted contacts and buckets)
and on SQLite (open leads of deleted contacts).
"""

from __future__ import annotations

import os
import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import teamcrm
from race_support import INBOUND, STORES, Reader, run_workers, store_url, violations
from teamcrm.lead import LeadStatus

pytestmark = pytest.mark.slow

WORKERS = 4
ROUNDS = 150
SEED = int(os.environ.get("TEAMCRM_HARNESS_SEED", "13"))
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
CAP = 3  # leads per agent per day in the capped pool
COUNTER = "n"
REFUSALS = (
    teamcrm.PermissionDenied,
    teamcrm.NotFound,
    teamcrm.ValidationError,
    teamcrm.OfferClosed,
    teamcrm.ConcurrencyError,
)


def _setup(url: str) -> dict[str, Any]:
    """One team: 3 admins, a manager, 4 agents, 3 pools, contacts; return the ids."""
    crm = teamcrm.open(url, clock=teamcrm.SettableClock(T0))
    _, admin = crm.create_team("Harness", admin_name="A0")
    a0 = crm.as_member(admin.id)
    admins = [admin.id] + [a0.add_member(f"A{i}", role="admin").id for i in (1, 2)]
    manager = a0.add_member("Max", role="manager").id
    agents = [a0.add_member(f"Agent{i}").id for i in range(4)]
    rr = [a0.create_bucket(f"Web {i}") for i in range(2)]
    rr_pools = [
        a0.create_pool(
            f"Round robin {i}",
            source_bucket_ids=[b.id],
            member_ids=agents,
            method="round_robin",
        ).id
        for i, b in enumerate(rr)
    ]
    hot = a0.create_bucket("Hot")
    capped = a0.create_pool(
        "Capped",
        source_bucket_ids=[hot.id],
        member_ids=agents,
        method="first_to_accept",
        capacity={"per_day": CAP},
    ).id
    fresh = [a0.add_member(f"Fresh{i}").id for i in range(8)]
    fresh_sources = [a0.create_bucket(f"Fresh {i}") for i in range(2)]
    fresh_pools = [
        a0.create_pool(
            f"Fresh {i}", source_bucket_ids=[b.id], member_ids=fresh, method="round_robin"
        ).id
        for i, b in enumerate(fresh_sources)
    ]
    scratch = [a0.create_bucket(f"Scratch {i}").id for i in range(4)]
    staging = a0.create_bucket("Staging").id
    contacts = [
        c.id
        for c in a0.create_contacts(
            [{"first_name": f"C{i}", "emails": [f"c{i}@example.com"]} for i in range(60)]
        )
    ]
    counters = [
        a0.create_contact(first_name=f"Counter{i}", custom_fields={COUNTER: 0}).id for i in range(3)
    ]
    for bucket_id in [b.id for b in rr + fresh_sources] + [hot.id, staging, *scratch]:
        a0.grant_access(bucket_id, manager, level="editor")
    crm.close()
    return {
        "admins": admins,
        "manager": manager,
        "agents": agents,
        "sources": [b.id for b in rr] + [hot.id],
        "rr_pools": dict.fromkeys(rr_pools, agents) | dict.fromkeys(fresh_pools, fresh),
        "fresh": fresh,
        "fresh_sources": [b.id for b in fresh_sources],
        "capped": capped,
        "scratch": scratch,
        "staging": staging,
        "contacts": contacts,
        "counters": counters,
    }


def _worker(url: str, seed: int, index: int, ids: dict[str, Any], barrier: Any) -> dict[str, Any]:
    """Run ``ROUNDS`` use cases; return what happened and the counter bumps that stuck.

    All workers start each round together (a barrier).  A round is either
    random (each worker picks any use case) or focused on one race, drawn
    from the seed so every worker agrees: their targets are the same row.
    """
    rng = random.Random(seed * 1000 + index)
    crm = teamcrm.open(url, clock=teamcrm.SettableClock(T0))
    admins = [crm.as_member(a) for a in ids["admins"]]
    manager = crm.as_member(ids["manager"])
    agents = [crm.as_member(a) for a in ids["agents"]]
    contacts: list[str] = list(ids["contacts"])
    scratch: list[str] = list(ids["scratch"])
    bumps: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()

    def route() -> None:
        source = rng.choice(ids["sources"])
        if rng.random() < 0.3:
            made = manager.create_contact(first_name=f"W{index}", last_name=str(rng.random()))
            contacts.append(made.id)
            manager.add_to_bucket(source, made.id)
        else:
            manager.add_to_bucket(source, rng.choice(contacts))

    def accept() -> None:
        agent = rng.choice(agents)
        offers = agent.offers()
        if offers:
            agent.accept_offer(rng.choice(offers).id)

    def reassign() -> None:
        leads = [
            ld for ld in manager.leads(pool_id=ids["capped"]) if ld.status is LeadStatus.ASSIGNED
        ]
        if leads:
            manager.reassign(rng.choice(leads).id, rng.choice(ids["agents"]))

    def admins_fight() -> None:
        actor, target = rng.sample(admins, 2)
        how = rng.choice(["deactivate", "demote", "reactivate", "promote"])
        if how == "deactivate":
            actor.deactivate_member(target.member_id)
        elif how == "demote":
            actor.change_role(target.member_id, "agent")
        elif how == "reactivate":
            actor.reactivate_member(target.member_id)
        else:
            actor.change_role(target.member_id, "admin")

    def delete_contact() -> None:
        manager.delete_contact(rng.choice(contacts))

    def delete_bucket() -> None:
        if rng.random() < 0.5:
            scratch.append(manager.create_bucket(f"Scratch {index}-{rng.random()}").id)
        else:
            manager.delete_bucket(rng.choice(scratch))

    def add_to_bucket() -> None:
        manager.add_to_bucket(rng.choice(scratch), rng.sample(contacts, 2))

    def log() -> None:
        manager.log_interaction("call", contact_ids=[rng.choice(contacts + ids["counters"])])

    def bump() -> None:
        cid = rng.choice(ids["counters"])
        for _ in range(50):
            seen = manager.contact(cid)
            fields = dict(seen.custom_fields)
            fields[COUNTER] = int(fields.get(COUNTER, 0)) + 1
            try:
                manager.update_contact(cid, expected_version=seen.version, custom_fields=fields)
            except teamcrm.ConcurrencyError:
                continue
            bumps[cid] += 1
            return
        raise AssertionError(f"bump of {cid} kept conflicting")

    ops = {
        route: 6,
        accept: 3,
        reassign: 1,
        admins_fight: 2,
        delete_contact: 2,
        delete_bucket: 1,
        add_to_bucket: 2,
        log: 1,
        bump: 2,
    }
    choices = list(ops)
    weights = list(ops.values())

    def fresh_lead(shared: random.Random) -> None:
        # Alternate between the two "fresh" pools: their cursors move together,
        # so the same new agent gets its first leads from both at once.
        source = ids["fresh_sources"][index % 2]
        made = manager.create_contact(first_name=f"F{index}", last_name=str(rng.random()))
        contacts.append(made.id)
        manager.add_to_bucket(source, made.id)

    def contact_race(shared: random.Random) -> None:
        # Worker 0 makes a contact (found by the others in the staging bucket);
        # then half of the workers delete it while the others route it.
        name = f"Race {shared.random()}"
        try:
            if index == 0:
                made = manager.create_contact(first_name=name)
                manager.add_to_bucket(ids["staging"], made.id)
        finally:
            barrier.wait(60)
        try:
            target = next(
                c.id for c in manager.bucket_contacts(ids["staging"]) if c.first_name == name
            )
        finally:
            barrier.wait(60)  # everyone found it: now race
        contacts.append(target)
        if index % 2:
            manager.delete_contact(target)
        else:
            manager.add_to_bucket(shared.choice(ids["sources"]), target)

    def bucket_race(shared: random.Random) -> None:
        # Worker 0 makes a bucket; then half delete it while the others add to it.
        name = f"Race {shared.random()}"
        try:
            if index == 0:
                scratch.append(manager.create_bucket(name).id)
        finally:
            barrier.wait(60)
        try:
            target = next(b.id for b in manager.buckets() if b.name == name)
        finally:
            barrier.wait(60)  # everyone found it: now race
        if index % 2:
            manager.delete_bucket(target)
        else:
            manager.add_to_bucket(target, shared.choice(ids["contacts"]))

    def admin_race(shared: random.Random) -> None:
        # Worker 0 makes every admin an active admin again; then each admin
        # removes the next one (deactivates or demotes) at the same moment.
        try:
            if index == 0:
                _restore_admins(admins)
        finally:
            barrier.wait(60)
        if index >= len(admins):
            admins_fight()
            return
        target = admins[(index + 1) % len(admins)].member_id
        if shared.random() < 0.5:
            admins[index].deactivate_member(target)
        else:
            admins[index].change_role(target, "agent")

    focused = {
        fresh_lead: 2,
        contact_race: 2,
        bucket_race: 1,
        admin_race: 2,
        None: 5,  # a round of random use cases
    }
    for r in range(ROUNDS):
        shared = random.Random(f"{seed}-{r}")  # the same in every worker
        focus = shared.choices(list(focused), list(focused.values()))[0]
        barrier.wait(60)
        name = "mixed" if focus is None else focus.__name__
        try:
            if focus is None:
                op = rng.choices(choices, weights)[0]
                name = op.__name__
                op()
            else:
                focus(shared)
            outcomes[f"{name}: ok"] += 1
        except REFUSALS as exc:
            outcomes[f"{name}: {type(exc).__name__}"] += 1
    crm.close()
    return {"bumps": dict(bumps), "outcomes": dict(outcomes)}


def _restore_admins(admins: list[teamcrm.MemberSession]) -> None:
    """Make every admin of the harness an active admin again (as any one still able to)."""
    for actor in admins:
        try:
            for other in admins:
                if other is not actor:
                    actor.reactivate_member(other.member_id)
                    actor.change_role(other.member_id, "admin")
            return
        except REFUSALS:
            continue


def check(url: str, ids: dict[str, Any], results: list[dict[str, Any]]) -> list[str]:
    """Return every broken invariant (empty: all hold)."""
    broken = [f"{what}: {rows[:5]}" for what, rows in violations(url).items()]
    reader = Reader(url)
    try:
        rows = reader.rows(
            "SELECT pool_key, contact_id, entry, COUNT(*) FROM leads"
            " GROUP BY pool_key, contact_id, entry HAVING COUNT(*) > 1"
        )
        if rows:
            broken.append(f"two leads for one entry of a contact: {rows[:5]}")
        rows = reader.rows(
            "SELECT pool_key, member_id, COUNT(*) FROM lead_receipts WHERE pool_key = ?"
            " GROUP BY pool_key, member_id HAVING COUNT(*) > ?",
            (ids["capped"], CAP),
        )
        if rows:
            broken.append(f"a daily cap of {CAP} exceeded: {rows}")
    finally:
        reader.close()

    crm = teamcrm.open(url, clock=teamcrm.SettableClock(T0))
    with crm.store.unit_of_work(write=False) as uow:
        team_id = uow.members.find(ids["manager"]).team_id
        leads = uow.leads.all(team_id)
        events = uow.outbox.read(team_id, 0, 1_000_000)
        counters = {c.id: c for c in uow.contacts.get_many(team_id, ids["counters"])}
    crm.close()
    for lead in leads:
        if lead.status is LeadStatus.ASSIGNED and len(lead.assignee_ids) != 1:
            broken.append(f"lead {lead.id} has owners {lead.assignee_ids}")
    routed = Counter(m.event.subject_id for m in events if m.event.name == "lead.routed")
    by_lead = {ld.id: ld for ld in leads}
    for lead in leads:
        if lead.pool_id is not None and routed[lead.id] < 1:
            broken.append(f"lead {lead.id} of a pool was never routed")
    for pool_id, members in ids["rr_pools"].items():
        turns = Counter(
            m.event.data["member_ids"][0]
            for m in events
            if m.event.name == "lead.routed"
            and m.event.data.get("pool_id") == pool_id
            and m.event.data.get("member_ids")
        )
        counts = [turns.get(a, 0) for a in members]
        if max(counts) - min(counts) > 1:
            broken.append(f"round robin of {pool_id} spread {counts}")
        again = [lid for lid, n in routed.items() if n > 1 and by_lead.get(lid) is not None]
        if again and any(by_lead[lid].pool_id == pool_id for lid in again):
            broken.append(f"leads of {pool_id} routed more than once: {again[:5]}")
    made: Counter[str] = Counter()
    for r in results:
        made.update(r["bumps"])
    for cid in ids["counters"]:
        stored = counters[cid].custom_fields.get(COUNTER)
        if stored != made[cid]:
            broken.append(f"counter {cid} is {stored} after {made[cid]} accepted bumps")
    return broken


@pytest.mark.parametrize("kind", STORES)
def test_random_use_cases_in_parallel_keep_every_invariant(kind: str, tmp_path: Path) -> None:
    with store_url(kind, tmp_path) as url:
        ids = _setup(url)
        results = run_workers([(_worker, (url, SEED, i, ids)) for i in range(WORKERS)])
        outcomes: Counter[str] = Counter()
        for r in results:
            outcomes.update(r["outcomes"])
        broken = check(url, ids, results)
        assert not broken, f"seed {SEED} on {kind}: {broken}\noutcomes: {dict(outcomes)}"
        # The mix really ran: most kinds of use case succeeded at least once.
        done = {k.split(":")[0] for k, n in outcomes.items() if k.endswith(": ok") and n}
        wanted = {"route", "fresh_lead", "accept", "bump", "admin_race", "contact_race"}
        assert wanted <= done, outcomes


def test_the_checker_sees_a_team_without_an_active_admin(tmp_path: Path) -> None:
    """The checker is not blind: a broken row written behind the store's back is reported."""
    url = f"sqlite:///{tmp_path / 'broken.db'}"
    ids = _setup(url)
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE members SET active = 0 WHERE role = 'admin'")
        conn.execute(
            "INSERT INTO memberships (bucket_id, item_id, team_id, added_at)"
            " SELECT 'bk_gone', id, team_id, 0 FROM contacts LIMIT 1"
        )
    broken = check(url, ids, [{"bumps": {}}])
    assert any("active admin" in b for b in broken), broken
    assert any("deleted bucket" in b for b in broken), broken
    assert INBOUND == "Routed leads"
