"""Benchmark: a member's top-50 follow-up list on a large SQLite file.

Data (``--quick``: a twentieth): 1,000,000 contacts, 100,000 of them in a team
bucket with a 30-day policy for one member, 2,000,000 interactions spread over
all contacts.  The schema and the small records (team, member, bucket,
policy) are made through the public API; the bulk rows are written with raw
``sqlite3`` into the project's own tables, including the ``touches`` and
``followup_dues`` rows that ``log_interaction`` would have kept up to date.

Reports ``followups_sqlite_top50_ms`` (``follow_ups(limit=50)``) and, as the
floor, ``followups_sqlite_raw_floor_ms``: the same 50 rows (due rows joined
with their contacts) selected directly with ``sqlite3``.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from registry import Result, benchmark

import teamcrm
from teamcrm.adapters.sqlite.codec import to_micros
from teamcrm.adapters.sqlite.connection import register_functions
from teamcrm.followup import Touch, compute_due

NAME = "followups"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
REPEAT = 60


def _hex_id(prefix: str, n: int) -> str:
    return f"{prefix}{n:026x}"


def _build(path: Path, quick: bool) -> tuple[str, str]:
    scale = 20 if quick else 1
    n_contacts = 1_000_000 // scale
    n_bucket = 100_000 // scale
    n_interactions = 2_000_000 // scale
    rng = random.Random(7)

    crm = teamcrm.open(f"sqlite:///{path}", clock=teamcrm.SettableClock(NOW))
    team, admin = crm.create_team("Bench Realty", admin_name="Bradley")
    bradley = crm.as_member(admin.id)
    bucket = bradley.create_bucket("Past Clients")
    policy = bradley.create_follow_up_policy(bucket.id, "30 days")
    crm.close()

    conn = sqlite3.connect(path, isolation_level=None)

    register_functions(conn)  # the name-index triggers call teamcrm_name_text
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    start = NOW - timedelta(days=400)
    created = to_micros(start)
    conn.executemany(
        "INSERT INTO contacts (id, team_id, first_name, last_name, status, source,"
        " custom_fields, created_by, created_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
        (
            (
                _hex_id("ct_", i),
                team.id,
                f"First{i}",
                f"Last{i}",
                "active",
                "import",
                "{}",
                admin.id,
                created,
            )
            for i in range(n_contacts)
        ),
    )
    in_bucket = rng.sample(range(n_contacts), n_bucket)
    added = {i: start + timedelta(seconds=rng.randrange(0, 200 * 86400)) for i in in_bucket}
    conn.executemany(
        "INSERT INTO memberships (bucket_id, item_id, team_id, added_at, added_by)"
        " VALUES (?, ?, ?, ?, ?)",
        ((bucket.id, _hex_id("ct_", i), team.id, to_micros(a), admin.id) for i, a in added.items()),
    )
    span = 400 * 86400
    inter = [
        (rng.randrange(n_contacts), to_micros(start + timedelta(seconds=rng.randrange(span))))
        for _ in range(n_interactions)
    ]
    conn.executemany(
        "INSERT INTO interactions (id, team_id, kind, author_id, occurred_at, logged_at,"
        " outcome, via, reference, body) VALUES (?, ?, 'call', ?, ?, ?, NULL, NULL, NULL, '')",
        ((_hex_id("ix_", n), team.id, admin.id, at, at) for n, (_, at) in enumerate(inter)),
    )
    conn.executemany(
        "INSERT INTO interaction_targets (interaction_id, target_id, team_id, position,"
        " occurred_at) VALUES (?, ?, ?, 0, ?)",
        ((_hex_id("ix_", n), _hex_id("ct_", c), team.id, at) for n, (c, at) in enumerate(inter)),
    )
    # what log_interaction keeps up to date: the newest touch per contact...
    for table, group in (("touches_team", ""), ("touches_member", ", i.author_id")):
        conn.execute(
            f"INSERT INTO {table} (team_id, contact_id, member_id, at, kind, team_wide)"
            " SELECT t.team_id, t.target_id, i.author_id, MAX(t.occurred_at), 'interaction', 1"
            " FROM interaction_targets AS t JOIN interactions AS i ON i.id = t.interaction_id"
            f" GROUP BY t.team_id, t.target_id{group}"
        )
    # ... and the due row of every contact in the bucket
    last = dict(conn.execute("SELECT contact_id, at FROM touches_team"))
    rows = []
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for i, when in added.items():
        cid = _hex_id("ct_", i)
        touch = None
        if cid in last:
            touch = Touch(
                team_id=team.id,
                contact_id=cid,  # type: ignore[arg-type]
                member_id=admin.id,
                at=epoch + timedelta(microseconds=last[cid]),
            )
        due = compute_due(policy, cid, when, touch, touch, "UTC")  # type: ignore[arg-type]
        rows.append(
            (
                policy.id,
                cid,
                team.id,
                admin.id,
                bucket.id,
                due.due_on.isoformat(),
                to_micros(due.since),
                None if due.touch_at is None else to_micros(due.touch_at),
                due.touch_by,
                None if due.touch_kind is None else due.touch_kind.value,
            )
        )
    conn.executemany(
        "INSERT INTO followup_dues (policy_id, contact_id, team_id, member_id, bucket_id,"
        " due_on, since, touch_at, touch_by, touch_kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return team.id, admin.id


def _median_ms(fn: object) -> float:
    times = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


@benchmark(
    "followups",
    "top-50 follow-up list on 1M contacts / 100k in a policy bucket / 2M interactions (SQLite)",
)
def run(quick: bool) -> list[Result]:
    """Build the data set, then time the top-50 list and the raw SQL floor."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        team_id, member_id = _build(path, quick)
        build_s = time.perf_counter() - t0

        crm = teamcrm.open(f"sqlite:///{path}", clock=teamcrm.SettableClock(NOW))
        session = crm.as_member(member_id)
        rows = session.follow_ups(limit=50)
        assert len(rows) == 50, len(rows)
        api_ms = _median_ms(lambda: session.follow_ups(limit=50))

        conn = sqlite3.connect(path, isolation_level=None)

        register_functions(conn)  # the name-index triggers call teamcrm_name_text
        today = NOW.date().isoformat()
        at = to_micros(NOW)
        sql = (
            "SELECT d.policy_id, d.contact_id, d.bucket_id, d.due_on, d.touch_at, d.touch_by,"
            " c.first_name, c.last_name, c.status FROM followup_dues AS d"
            " JOIN contacts AS c ON c.id = d.contact_id"
            " WHERE d.team_id = ? AND d.member_id = ? AND d.due_on <= ?"
            " AND NOT EXISTS (SELECT 1 FROM snoozes AS s WHERE s.team_id = d.team_id"
            " AND s.member_id = d.member_id AND s.contact_id = d.contact_id AND s.until > ?)"
            " ORDER BY d.due_on, d.contact_id, d.policy_id LIMIT 50"
        )
        raw = conn.execute(sql, (team_id, member_id, today, at)).fetchall()
        assert [r[1] for r in raw] == [r.contact.id for r in rows]
        floor_ms = _median_ms(lambda: conn.execute(sql, (team_id, member_id, today, at)).fetchall())
        conn.close()
        crm.close()
    return [
        Result("followups_sqlite_build_s", build_s, "s"),
        Result("followups_sqlite_top50_ms", api_ms, "ms"),
        Result("followups_sqlite_raw_floor_ms", floor_ms, "ms"),
        Result("followups_sqlite_ratio_x", api_ms / floor_ms, "x"),
    ]


if __name__ == "__main__":
    for result in run("--quick" in sys.argv[1:]):
        print(f"{result.name} {result.value:.3f} {result.unit}")
