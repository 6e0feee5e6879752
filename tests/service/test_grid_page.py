"""The agent grid's ranked page equals the reference ranking of every lead's facts.

SQLite ranks over ``lead_grid``, a table kept by triggers; these tests drive
random data and random edits through the public API (status changes,
validated phones and emails, notes, calls, tasks done and moved, follow-up
policies and dones, reassignment, rejection, closed leads, deleted contacts,
raw inserts) and then check, at several instants and windows and under
every filter, that ``grid_page`` equals ``worst_grid_facts(grid_facts(...))``:
had a trigger missed a change, the page would differ.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import teamcrm
from teamcrm.adapters.sqlite.codec import to_micros
from teamcrm.adapters.sqlite.grid import LEAD_GRID_COLUMNS, LEAD_GRID_ROWS_SQL
from teamcrm.ids import MemberId, TeamId
from teamcrm.pool import PoolId
from teamcrm.views import GridRow, Signal, worst_grid_facts

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

OPS = st.sampled_from(
    [
        "status",
        "phone",
        "email",
        "note",
        "call",
        "task",
        "task_done",
        "task_move",
        "advance",
        "reassign",
        "reject",
        "close",
        "enter",
        "policy",
        "follow_up_done",
        "edit_contact",
        "delete_contact",
    ]
)
STEP = st.tuples(OPS, st.integers(0, 50), st.integers(-72, 72))


class World:
    """A team with three pools (round robin, everyone, manual) and a few contacts."""

    def __init__(self, url: str, store: Any = None) -> None:
        self.clock = teamcrm.SettableClock(START)
        self.crm = (
            teamcrm.open(url, clock=self.clock)
            if store is None
            else teamcrm.CRM(store, clock=self.clock)
        )
        team, admin = self.crm.create_team("Acme", admin_name="Ana")
        self.team_id = team.id
        self.ana = self.crm.as_member(admin.id)
        self.agents = [
            self.crm.as_member(self.ana.add_member(name, role="agent").id)
            for name in ("Bob", "Cy", "Di")
        ]
        self.members = [self.ana, *self.agents]
        ids = [a.member_id for a in self.agents]
        self.buckets = [self.ana.create_bucket(f"Inbox {i}") for i in range(3)]
        self.pools = [
            self.ana.create_pool(
                name, source_bucket_ids=[b.id], member_ids=ids[:2] if i else ids, method=method
            )
            for i, (name, b, method) in enumerate(
                zip(
                    ("Web", "Fair", "Desk"),
                    self.buckets,
                    ("round_robin", "everyone", "manual"),
                    strict=True,
                )
            )
        ]
        self.statuses = list(self.ana.team().settings.statuses)
        self.contacts: list[teamcrm.Contact] = []
        self.tasks: list[str] = []
        for i in range(6):
            fields: dict[str, Any] = {}
            if i % 3 != 2:
                fields["phones"] = [f"+1 555 010 {2000 + i}"]
            if i % 2 == 0:
                fields["emails"] = [f"c{i}@example.com"]
            contact = self.ana.create_contact(f"C{i}", "Lead", **fields)
            self.contacts.append(contact)
            self.ana.add_to_bucket(self.buckets[i % 3].id, contact.id)
            self.clock.advance(timedelta(minutes=7))

    def pick(self, n: int) -> teamcrm.Contact:
        return self.contacts[n % len(self.contacts)]

    def open_leads(self, contact_id: str) -> list[Any]:
        return [ld for ld in self.ana.leads() if ld.contact_id == contact_id and ld.is_open]

    def apply(self, op: str, n: int, k: int) -> None:
        """One random edit; a refused one (permission, validation) changes nothing."""
        contact = self.pick(n)
        member = self.members[abs(k) % len(self.members)]
        now = self.clock.now()
        actions: dict[str, Callable[[], object]] = {
            "status": lambda: self.ana.update_contact(
                contact.id, status=self.statuses[abs(k) % len(self.statuses)]
            ),
            "phone": lambda: self.ana.mark_phone_validated(contact.id, contact.phones[0].number),
            "email": lambda: self.ana.mark_email_validated(contact.id, contact.emails[0].address),
            "note": lambda: member.log_interaction(
                "note", contact_ids=[contact.id], occurred_at=now - timedelta(minutes=abs(k))
            ),
            "call": lambda: member.log_interaction(
                "call", contact_ids=[contact.id], occurred_at=now + timedelta(minutes=k)
            ),
            "task": lambda: self.tasks.append(
                self.ana.create_task(contact.id, due_at=now + k * HOUR).id
            ),
            "task_done": lambda: self.ana.complete_task(self.tasks[n % len(self.tasks)]),
            "task_move": lambda: self.ana.reschedule_task(
                self.tasks[n % len(self.tasks)], now + k * HOUR
            ),
            "advance": lambda: self.clock.advance(timedelta(minutes=abs(k) * 3)),
            "reassign": lambda: self.ana.assign(
                self.open_leads(contact.id)[0].id, self.agents[abs(k) % 3].member_id
            ),
            "reject": lambda: self._reject(contact.id),
            "close": lambda: self.ana.remove_lead(self.open_leads(contact.id)[0].id),
            "enter": lambda: self.ana.add_to_bucket(self.buckets[abs(k) % 3].id, contact.id),
            "policy": lambda: self.ana.create_follow_up_policy(
                self.buckets[n % 3].id, f"{1 + abs(k) % 3} days", member_id=member.member_id
            ),
            "follow_up_done": lambda: self.ana.mark_follow_up_done(
                contact.id, member_id=member.member_id
            ),
            "edit_contact": lambda: self.ana.update_contact(
                contact.id,
                phones=[f"+1 555 020 {3000 + abs(k)}"] if k % 2 else [],
                emails=[f"e{k}@example.com"] if k % 3 else [],
            ),
            "delete_contact": lambda: self._delete(contact.id),
        }
        with contextlib.suppress(teamcrm.TeamCRMError, IndexError, ZeroDivisionError):
            actions[op]()
        self.contacts = [
            self.ana.contact(c.id) for c in self.contacts if self._exists(c.id)
        ] or self.contacts

    def _exists(self, contact_id: str) -> bool:
        try:
            self.ana.contact(contact_id)
        except teamcrm.NotFound:
            return False
        return True

    def _reject(self, contact_id: str) -> None:
        lead = self.open_leads(contact_id)[0]
        for agent in self.agents:
            if agent.member_id in lead.assignee_ids:
                agent.reject_lead(lead.id)
                return

    def _delete(self, contact_id: str) -> None:
        if len(self.contacts) > 2:
            self.ana.delete_contact(contact_id)

    def check(self, shift: int, window_minutes: int, status_pick: int) -> int:
        """Compare the page with the reference under every filter; return rows compared."""
        compared = 0
        now = self.clock.now() + timedelta(minutes=shift)
        window = timedelta(minutes=window_minutes)
        first = self.statuses[status_pick % len(self.statuses)]
        filters: list[dict[str, Any]] = [{}]
        filters += [{"pool_id": PoolId(p.id)} for p in self.pools]
        filters += [{"assignee_id": MemberId(a.member_id)} for a in self.agents]
        filters += [{"status": s} for s in self.statuses[:3]]
        filters.append(
            {"pool_id": PoolId(self.pools[1].id), "assignee_id": self.agents[0].member_id}
        )
        with self.crm.store.unit_of_work(write=False) as uow:
            conn = getattr(uow, "_conn", None)
            if type(uow).__module__ == "teamcrm.adapters.sqlite.store":
                # SQLite: the table equals a rebuild from the core tables
                stored = ", ".join(LEAD_GRID_COLUMNS)
                kept = conn.execute(f"SELECT {stored} FROM lead_grid").fetchall()
                assert sorted(kept) == sorted(conn.execute(LEAD_GRID_ROWS_SQL).fetchall())
            for f in filters:
                query = {"status": None, "assignee_id": None, "pool_id": None, **f}
                facts = uow.views.grid_facts(TeamId(self.team_id), now=now, **query)
                for limit in (1, 3, len(facts) + 1):
                    want = worst_grid_facts(
                        facts, first_status=first, now=now, window=window, limit=limit
                    )
                    got = uow.views.grid_page(
                        TeamId(self.team_id),
                        now=now,
                        window=window,
                        first_status=first,
                        limit=limit,
                        **query,
                    )
                    assert got == want, (f, limit, now, window, first)
                    compared += len(got)
        return compared


@given(
    steps=st.lists(STEP, min_size=1, max_size=25),
    checks=st.lists(
        st.tuples(st.integers(-600, 6000), st.integers(1, 600), st.integers(0, 4)),
        min_size=1,
        max_size=3,
    ),
)
def test_sqlite_grid_page_equals_the_reference_after_random_edits(
    steps: list[tuple[str, int, int]], checks: list[tuple[int, int, int]]
) -> None:
    world = World("sqlite://")
    try:
        for op, n, k in steps:
            world.apply(op, n, k)
        for shift, window, status in checks:
            world.check(shift, window, status)
    finally:
        world.crm.close()


def test_the_page_is_checked_against_real_rows() -> None:
    """The property above compares non-empty pages (a guard against a vacuous test)."""
    world = World("sqlite://")
    try:
        world.apply("note", 0, 5)
        world.apply("task", 1, 3)
        world.apply("advance", 0, 40)
        assert world.check(0, 60, 0) > 20
    finally:
        world.crm.close()


def test_memory_grid_page_is_the_reference() -> None:
    world = World("memory://")
    try:
        for op, n, k in [("note", 0, 5), ("call", 1, 2), ("advance", 0, 30), ("task", 2, 4)]:
            world.apply(op, n, k)
        assert world.check(0, 60, 0) > 20
    finally:
        world.crm.close()


def _raw(path: Path) -> sqlite3.Connection:
    from teamcrm.adapters.sqlite.connection import register_functions

    conn = sqlite3.connect(path, isolation_level=None)
    register_functions(conn)  # the name index's trigger folds names in Python
    return conn


def test_raw_inserts_and_updates_keep_the_grid_table(tmp_path: Path) -> None:
    """Writers that bypass the repositories (bulk loads, scripts) are followed too."""
    path = tmp_path / "team.db"
    world = World(f"sqlite:///{path}")
    try:
        team_id = world.team_id
        agent = world.agents[0].member_id
        cid, lid, iid = "ct_" + "1" * 26, "ld_" + "1" * 26, "ix_" + "1" * 26
        at = to_micros(world.clock.now() - 3 * HOUR)
        conn = _raw(path)
        steps = [
            # the lead before its contact: the contact's insert writes the grid row
            (
                "INSERT INTO leads (id, team_id, contact_id, pool_key, status, is_open,"
                " assignee_ids, assigned_at, entry, keys, declined_by, explanation, created_at,"
                " version) VALUES (?, ?, ?, ?, 'assigned', 1, ?, ?, 1, '[]', '[]', NULL, ?, 1)",
                (lid, team_id, cid, world.pools[0].id, f'["{agent}"]', at, at),
            ),
            (
                "INSERT INTO contacts (id, team_id, first_name, last_name, status, source,"
                " custom_fields, created_by, created_at, version)"
                " VALUES (?, ?, 'Raw', 'Row', 'evaluate', NULL, '{}', NULL, ?, 1)",
                (cid, team_id, at),
            ),
            (
                "INSERT INTO contact_phones (contact_id, position, team_id, number, validated,"
                " label) VALUES (?, 0, ?, '+15550109999', 0, NULL)",
                (cid, team_id),
            ),
            ("UPDATE contact_phones SET validated = 1 WHERE contact_id = ?", (cid,)),
            (
                "INSERT INTO contact_emails (contact_id, position, team_id, address, address_key,"
                " validated, label) VALUES (?, 0, ?, 'r@x.org', 'r@x.org', 0, NULL)",
                (cid, team_id),
            ),
            ("UPDATE contact_emails SET validated = 1 WHERE contact_id = ?", (cid,)),
            ("DELETE FROM contact_phones WHERE contact_id = ?", (cid,)),
            # a target written before its interaction, then the interaction changed
            (
                "INSERT INTO interaction_targets (interaction_id, target_id, team_id, position,"
                " occurred_at) VALUES (?, ?, ?, 0, ?)",
                (iid, cid, team_id, at + 60_000_000),
            ),
            (
                "INSERT INTO interactions (id, team_id, kind, author_id, occurred_at, logged_at,"
                " outcome, via, reference, body) VALUES (?, ?, 'note', ?, ?, ?, NULL, NULL, NULL,"
                " '')",
                (iid, team_id, agent, at + 60_000_000, at),
            ),
            ("UPDATE interactions SET kind = 'call' WHERE id = ?", (iid,)),
            (
                "UPDATE interaction_targets SET occurred_at = ? WHERE interaction_id = ?",
                (at - 1, iid),
            ),
            (
                "UPDATE interaction_targets SET occurred_at = ? WHERE interaction_id = ?",
                (at + 7_200_000_000, iid),
            ),
            ("DELETE FROM interaction_targets WHERE interaction_id = ?", (iid,)),
            (
                "INSERT INTO interaction_targets (interaction_id, target_id, team_id, position,"
                " occurred_at) VALUES (?, ?, ?, 0, ?)",
                (iid, cid, team_id, at + 60_000_000),
            ),
            ("UPDATE interactions SET kind = 'note' WHERE id = ?", (iid,)),
            ("DELETE FROM interactions WHERE id = ?", (iid,)),
            (
                "INSERT INTO tasks (id, team_id, member_id, contact_id, due_at, created_at,"
                " created_by, note, status, closed_at, version)"
                " VALUES ('tk_x', ?, ?, ?, ?, 0, ?, '', 'open', NULL, 1)",
                (team_id, agent, cid, at + 86_400_000_000, agent),
            ),
            ("UPDATE tasks SET status = 'done' WHERE id = 'tk_x'", ()),
            ("UPDATE tasks SET status = 'open' WHERE id = 'tk_x'", ()),
            ("DELETE FROM tasks WHERE id = 'tk_x'", ()),
            (
                "INSERT INTO followup_dues (policy_id, contact_id, team_id, member_id,"
                " bucket_id, due_on, since) VALUES ('fp_x', ?, ?, ?, 'bk_x', '2026-03-01', 0)",
                (cid, team_id, agent),
            ),
            ("UPDATE followup_dues SET due_on = '2025-03-01' WHERE policy_id = 'fp_x'", ()),
            ("UPDATE followup_dues SET due_on = '2027-03-01' WHERE policy_id = 'fp_x'", ()),
            ("DELETE FROM followup_dues WHERE policy_id = 'fp_x'", ()),
            ("UPDATE contacts SET status = 'active' WHERE id = ?", (cid,)),
            # owners only: the contact's facts are copied, former owners' rows go
            (
                "UPDATE leads SET assignee_ids = ? WHERE id = ?",
                (f'["{agent}", "{world.agents[1].member_id}"]', lid),
            ),
            ("UPDATE leads SET assigned_at = ? WHERE id = ?", (at - 7_200_000_000, lid)),
            (
                "UPDATE leads SET assignee_ids = ?, assigned_at = ? WHERE id = ?",
                (f'["{world.agents[2].member_id}"]', at + 1, lid),
            ),
            ("UPDATE leads SET assignee_ids = '[]', assigned_at = NULL WHERE id = ?", (lid,)),
            ("UPDATE leads SET created_at = ? WHERE id = ?", (at - 1, lid)),
            (
                "UPDATE leads SET assignee_ids = ?, assigned_at = ? WHERE id = ?",
                (f'["{agent}"]', at, lid),
            ),
            # closed, reopened and moved with new owners in one statement
            ("UPDATE leads SET is_open = 0 WHERE id = ?", (lid,)),
            ("UPDATE leads SET assignee_ids = '[]' WHERE id = ?", (lid,)),
            (
                "UPDATE leads SET is_open = 1, pool_key = ?, assignee_ids = ? WHERE id = ?",
                (world.pools[1].id, f'["{world.agents[1].member_id}"]', lid),
            ),
            ("UPDATE leads SET assignee_ids = '[]', assigned_at = NULL WHERE id = ?", (lid,)),
            ("DELETE FROM leads WHERE id = ?", (lid,)),
            ("DELETE FROM contacts WHERE id = ?", (cid,)),
        ]
        seen = 0
        for sql, params in steps:
            conn.execute(sql, params)
            seen += world.check(0, 60, 0)
        conn.close()
        assert seen > 0
    finally:
        world.crm.close()


@pytest.mark.parametrize("url", ["memory://", "sqlite://"])
def test_service_grid_is_the_page(url: str) -> None:
    """``agent_grid`` shows the page's rows, worst first, with exact signals."""
    world = World(url)
    try:
        world.apply("note", 0, 5)
        world.apply("advance", 0, 50)
        grid = world.ana.agent_grid(limit=4)
        first = world.ana.team().settings.new_lead_status
        with world.crm.store.unit_of_work(write=False) as uow:
            page = uow.views.grid_page(
                TeamId(world.team_id),
                status=None,
                assignee_id=None,
                pool_id=None,
                now=world.clock.now(),
                window=HOUR,
                first_status=first,
                limit=4,
            )
        assert [(r.lead_id, r.assignee_id) for r in grid] == [
            (f.lead_id, f.assignee_id) for f in page
        ]
        assert [r.reds for r in grid] == sorted((r.reds for r in grid), reverse=True)
    finally:
        world.crm.close()


def test_an_existing_database_gets_the_grid_table_backfilled(tmp_path: Path) -> None:
    """A file made before ``0210_lead_grid`` upgrades with every open lead in the table."""
    from teamcrm.adapters.sqlite.migrations import registered_migrations
    from teamcrm.adapters.sqlite.store import SQLiteStore

    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    older = [m for m in registered_migrations() if m.name < "0210_lead_grid"]
    world = World(url, store=SQLiteStore(url, migrations=older))
    world.apply("note", 0, 5)
    world.apply("task", 1, 3)
    world.crm.close()
    conn = _raw(path)
    tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'lead_grid'")
    assert tables.fetchone() == (0,)
    conn.close()
    world.crm = teamcrm.open(url, clock=world.clock)
    try:
        with world.crm.store.unit_of_work(write=False) as uow:
            assert uow.views.grid_facts(
                TeamId(world.team_id), status=None, assignee_id=None, pool_id=None, now=START
            )
        assert world.check(0, 60, 0) > 20  # the backfill equals a rebuild, pages agree
    finally:
        world.crm.close()


def test_a_database_at_0210_gets_the_ranked_grid_table(tmp_path: Path) -> None:
    """``0211_lead_grid_rank`` rebuilds the table (with its ranking columns) and its triggers."""
    from teamcrm.adapters.sqlite.migrations import registered_migrations
    from teamcrm.adapters.sqlite.store import SQLiteStore

    path = tmp_path / "v1.db"
    url = f"sqlite:///{path}"
    older = [m for m in registered_migrations() if m.name < "0211_lead_grid_rank"]
    assert older[-1].name == "0210_lead_grid"
    world = World(url, store=SQLiteStore(url, migrations=older))
    world.apply("note", 0, 5)
    world.apply("call", 1, 30)
    world.apply("task", 2, 3)
    world.crm.close()
    conn = _raw(path)
    columns = [r[1] for r in conn.execute("PRAGMA table_xinfo(lead_grid)")]
    assert "reds" not in columns
    conn.close()
    world.crm = teamcrm.open(url, clock=world.clock)
    try:
        conn = _raw(path)
        columns = [r[1] for r in conn.execute("PRAGMA table_xinfo(lead_grid)")]
        assert columns == [*LEAD_GRID_COLUMNS, "reds", "owner_wait", "acted_at"]
        triggers = {
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            if r[0].startswith("lead_grid_")
        }
        assert "lead_grid_leads_owners" in triggers
        conn.close()
        assert world.check(0, 60, 0) > 20  # the rebuilt table equals a rebuild; pages agree
        world.ana = world.crm.as_member(world.ana.member_id)
        world.agents = [world.crm.as_member(a.member_id) for a in world.agents]
        world.members = [world.ana, *world.agents]
        for op, n, k in [("reassign", 0, 1), ("reject", 1, 0), ("close", 2, 0), ("note", 3, 1)]:
            world.apply(op, n, k)
            world.check(30, 45, 1)
    finally:
        world.crm.close()


@pytest.mark.parametrize("minutes", [59, 60, 61])
def test_the_window_boundary_is_exact(minutes: int) -> None:
    """An owner acting exactly at the end of the window is within it (green), as the reference."""
    world = World("sqlite://")
    try:
        contact = world.contacts[0]
        lead = world.open_leads(contact.id)[0]
        owner = next(a for a in world.agents if a.member_id in lead.assignee_ids)
        assert lead.assigned_at is not None
        owner.log_interaction(
            "call",
            contact_ids=[contact.id],
            occurred_at=lead.assigned_at + 60 * timedelta(minutes=1),
        )
        world.clock.advance(timedelta(hours=5))
        assert world.check(0, minutes, 0) > 0
    finally:
        world.crm.close()


def test_follow_up_dates_are_read_by_contact_not_by_scanning_the_team() -> None:
    crm = teamcrm.open("sqlite://")
    try:
        with crm.store.unit_of_work(write=False) as uow:
            conn = uow.context.conn  # type: ignore[attr-defined]
            rows_plan = " | ".join(
                r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + LEAD_GRID_ROWS_SQL)
            )
            assert "followup_dues_by_contact" in rows_plan, rows_plan
            assert "followup_dues_by_member" not in rows_plan, rows_plan
            seen: list[str] = []
            conn.set_trace_callback(seen.append)
            uow.views.grid_facts(
                TeamId("tm_" + "0" * 26), status=None, assignee_id=None, pool_id=None, now=START
            )
            conn.set_trace_callback(None)
            facts_sql = next(s for s in seen if "followup_dues" in s)
            plan = " | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + facts_sql))
            assert "followup_dues_by_contact" in plan, plan
            triggers = [
                r[0]
                for r in conn.execute(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND sql LIKE"
                    " '%followup_dues d%'"
                )
            ]
            assert triggers
            assert all("INDEXED BY followup_dues_by_contact" in t for t in triggers)
    finally:
        crm.close()


@pytest.mark.parametrize("url", ["memory://", "sqlite://"])
def test_the_evaluate_signal_turns_red_only_past_the_window(url: str) -> None:
    """At exactly assigned + window a lead is not yet overdue; a microsecond later it is.

    Lead A (first status, no channels, no note, nothing scheduled: 2 reds)
    was assigned a minute before lead B (an unvalidated phone too: 3 reds).
    At the window's end A must still rank below B; just after, A's evaluate
    and wait signals turn red (4 reds) and it ranks first.
    """
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    clock = teamcrm.SettableClock(start)
    crm = teamcrm.open(url, clock=clock)
    try:
        _, admin = crm.create_team("Edge", admin_name="Ana")
        ana = crm.as_member(admin.id)
        bob = ana.add_member("Bob", role="agent")
        a = ana.create_contact("Alma")
        b = ana.create_contact("Boris", phones=["+15550100100"])
        ana.assign(a.id, bob.id)
        clock.advance(timedelta(minutes=1))
        ana.assign(b.id, bob.id)
        window = timedelta(hours=1)

        def grid(at: datetime) -> list[GridRow]:
            return list(ana.agent_grid(response_window=window, at=at))

        at_end = grid(start + window)
        assert [r.contact_id for r in at_end] == [b.id, a.id]
        assert (at_end[1].evaluate, at_end[1].wait) == (Signal.NEUTRAL, Signal.GREEN)
        past = grid(start + window + timedelta(microseconds=1))
        assert [r.contact_id for r in past] == [a.id, b.id]
        assert (past[0].evaluate, past[0].wait) == (Signal.RED, Signal.RED)
    finally:
        crm.close()
