"""``interactions.last_by_author`` reads one index range per contact on SQLite and PostgreSQL.

The routing dashboard asks it for every owned contact of a page (issue 17):
it must read the asked contacts' rows of ``interaction_targets_by_target``
and each row's interaction by primary key, never scan the team's
interactions (PostgreSQL hash-joined the whole ``interactions`` table when
the author came from a join).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pg_support
import teamcrm
from teamcrm.adapters.sql.interactions import _last_by_author


def _team(url: str) -> tuple[str, list[str]]:
    """A team with 300 contacts, the first 100 with three notes each: its id and contact ids."""
    crm = teamcrm.open(url)
    try:
        team, admin = crm.create_team("Plans", admin_name="Ana")
        ana = crm.as_member(admin.id)
        ids = [c.id for c in ana.create_contacts([{"first_name": f"F{i}"} for i in range(300)])]
        for cid in ids[:100]:
            for _ in range(3):
                ana.log_interaction("note", contact_ids=[cid], body="x")
        return team.id, ids
    finally:
        crm.close()


def test_sqlite_plan_is_an_index_range_per_contact(tmp_path: Path) -> None:
    from teamcrm.adapters.sqlite.dialect import SQLITE

    path = tmp_path / "plans.db"
    team_id, ids = _team(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        conn.execute("ANALYZE")
        sql = _last_by_author(SQLITE)
        params = (team_id, json.dumps(ids[:3]), 10**18)
        plan = [r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        assert any("SEARCH x USING COVERING INDEX interaction_targets_by_target" in p for p in plan)
        assert any(p.startswith("SEARCH i USING") and "(id=?)" in p for p in plan), plan
        assert not any(p.startswith(("SCAN x", "SCAN i")) for p in plan), plan
        assert len(conn.execute(sql, params).fetchall()) == 3


def test_postgresql_plan_is_an_index_range_per_contact() -> None:
    pg_support.require_server()
    import psycopg

    from teamcrm.adapters.postgres.dialect import POSTGRES, placeholders

    with pg_support.schemas() as made:
        url = made.new()
        team_id, ids = _team(url)
        with psycopg.connect(url) as conn:
            # Another team's 20,000 interactions: the tables are not tiny.
            conn.execute(
                "INSERT INTO interactions (id, team_id, kind, author_id, occurred_at, logged_at,"
                " body) SELECT 'in_' || g, 'tm_other', 'note', 'mb_1', g, g, 'x'"
                " FROM generate_series(1, 20000) g"
            )
            conn.execute(
                "INSERT INTO interaction_targets (interaction_id, target_id, team_id, position,"
                " occurred_at) SELECT 'in_' || g, 'ct_' || (g % 5000), 'tm_other', 0, g"
                " FROM generate_series(1, 20000) g"
            )
            conn.execute("ANALYZE")
            sql = placeholders(_last_by_author(POSTGRES))
            params = (team_id, json.dumps(ids[:3]), 10**18)
            plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN {sql}", params))
            assert "interaction_targets_by_target" in plan, plan
            assert "interactions_pkey" in plan, plan
            assert "Seq Scan" not in plan, plan
            assert len(conn.execute(sql, params).fetchall()) == 3
