"""Benchmark: contact search and the agent grid on a large SQLite file.

Data (``--quick``: a tenth of the contacts): 1,000,000 contacts with
realistic names (200 first names x 5,000 last names, some with accents) and
one phone each; 10,000 of them (the same with ``--quick``) are open leads of
one round-robin pool, assigned to five agents, with a note on every third and
a call by the assignee on every second.  The team, members, bucket and pool
are made through the public API; the bulk rows are written with raw
``sqlite3`` into the project's tables (the ``contact_words`` index is kept by
its triggers, as for any insert).

Reports, medians of repeated calls as an admin:

* ``search_sqlite_phone_ms`` - ``search(phone=...)`` (a different number each
  call, spelled ``+1 (555) ...``), floor ``search_sqlite_phone_raw_floor_ms``:
  the contact row found by its number with raw ``sqlite3``;
* ``search_sqlite_name_prefix_ms`` - ``search(name=<5-letter prefix of a
  last name>, limit=50)``, floor ``..._raw_floor_ms``: the same 50 contact
  rows by the same FTS query and order with raw ``sqlite3``;
* ``grid_sqlite_ms`` - ``agent_grid(pool_id=..., limit=50)`` over the 10,000
  leads, floor ``grid_sqlite_raw_floor_ms``: the same work with raw
  ``sqlite3``: the ranking query over ``lead_grid`` (the table the
  ``0210_lead_grid``/``0211_lead_grid_rank`` triggers keep, filled here by the
  raw inserts themselves)
  and the facts query of the 50 picked leads.
"""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from registry import Result, benchmark

import teamcrm
from teamcrm.adapters.sqlite.codec import to_micros
from teamcrm.adapters.sqlite.connection import register_functions
from teamcrm.adapters.sqlite.names import name_glob
from teamcrm.search import tokens

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
REPEAT = 40
FIRST = [
    f"{a}{b}"
    for a in ("Ann", "Bo", "Cal", "Dar", "Em", "Fel", "Gio", "Han", "Iv", "Jo")
    for b in (
        "",
        "a",
        "e",
        "ie",
        "o",
        "y",
        "ël",
        "ia",
        "us",
        "an",
        "ek",
        "ina",
        "ar",
        "is",
        "ette",
        "ola",
        "um",
        "ri",
        "ta",
        "on",
    )
]
SYL = [
    "kow",
    "nov",
    "smi",
    "gar",
    "lee",
    "ber",
    "sch",
    "mül",
    "rød",
    "łuk",
    "dub",
    "mar",
    "lop",
    "ros",
    "chen",
    "wan",
    "pat",
    "kim",
    "ngu",
    "oka",
]
END = [
    "alska",
    "ak",
    "th",
    "cia",
    "son",
    "ger",
    "midt",
    "ler",
    "berg",
    "asz",
    "ois",
    "tin",
    "ez",
    "si",
    "g",
    "ng",
    "el",
    "ura",
    "yen",
    "for",
]


def _last_names(rng: random.Random) -> list[str]:
    names = {f"{a.capitalize()}{b}{c}" for a in SYL for b in ("", "e", "i", "o") for c in END}
    ordered = sorted(names)
    rng.shuffle(ordered)
    return ordered[:5000]


def _hex_id(prefix: str, n: int) -> str:
    return f"{prefix}{n:026x}"


def _build(path: Path, n_contacts: int, n_leads: int) -> tuple[str, str, str, list[str]]:
    rng = random.Random(11)
    crm = teamcrm.open(f"sqlite:///{path}", clock=teamcrm.SettableClock(NOW))
    team, admin = crm.create_team("Bench Realty", admin_name="Alice")
    alice = crm.as_member(admin.id)
    agents = [alice.add_member(f"Agent {i}", role="agent").id for i in range(5)]
    inbox = alice.create_bucket("Web inbox")
    pool = alice.create_pool(
        "Website", source_bucket_ids=[inbox.id], member_ids=agents, method="round_robin"
    )
    crm.close()

    lasts = _last_names(rng)
    conn = sqlite3.connect(path, isolation_level=None)
    register_functions(conn)  # the name-index triggers call teamcrm_name_text
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    start = NOW - timedelta(days=400)
    step = 400 * 86400 * 1_000_000 // n_contacts
    base = to_micros(start)
    conn.executemany(
        "INSERT INTO contacts (id, team_id, first_name, last_name, status, source,"
        " custom_fields, created_by, created_at, version) VALUES (?, ?, ?, ?, ?, ?, '{}', ?, ?, 1)",
        (
            (
                _hex_id("ct_", i),
                team.id,
                FIRST[i % len(FIRST)],
                lasts[(i * 7919) % len(lasts)],
                "evaluate" if i < n_leads else "active",
                "website",
                admin.id,
                base + i * step,
            )
            for i in range(n_contacts)
        ),
    )
    conn.executemany(
        "INSERT INTO contact_phones (contact_id, position, team_id, number, validated, label)"
        " VALUES (?, 0, ?, ?, ?, NULL)",
        ((_hex_id("ct_", i), team.id, f"+1555{i:07d}", i % 4 == 0) for i in range(n_contacts)),
    )
    assigned = to_micros(NOW - timedelta(days=2))
    conn.executemany(
        "INSERT INTO leads (id, team_id, contact_id, pool_key, status, is_open, assignee_ids,"
        " assigned_at, entry, keys, declined_by, explanation, created_at, version)"
        " VALUES (?, ?, ?, ?, 'assigned', 1, ?, ?, 1, '[]', '[]', NULL, ?, 1)",
        (
            (
                _hex_id("ld_", i),
                team.id,
                _hex_id("ct_", i),
                pool.id,
                f'["{agents[i % 5]}"]',
                assigned,
                assigned,
            )
            for i in range(n_leads)
        ),
    )
    rows = []
    targets = []
    for i in range(n_leads):
        if i % 2 == 0:
            rows.append(
                (_hex_id("ix_", 2 * i), "call", agents[i % 5], assigned + 600_000_000 * (i % 7))
            )
            targets.append(
                (_hex_id("ix_", 2 * i), _hex_id("ct_", i), assigned + 600_000_000 * (i % 7))
            )
        if i % 3 == 0:
            rows.append((_hex_id("ix_", 2 * i + 1), "note", agents[i % 5], assigned + 1))
            targets.append((_hex_id("ix_", 2 * i + 1), _hex_id("ct_", i), assigned + 1))
    conn.executemany(
        "INSERT INTO interactions (id, team_id, kind, author_id, occurred_at, logged_at,"
        " outcome, via, reference, body)"
        f" VALUES (?, '{team.id}', ?, ?, ?, ?, NULL, NULL, NULL, '')",
        ((i, k, a, t, t) for i, k, a, t in rows),
    )
    conn.executemany(
        "INSERT INTO interaction_targets (interaction_id, target_id, team_id, position,"
        f" occurred_at) VALUES (?, ?, '{team.id}', 0, ?)",
        targets,
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    prefixes = sorted({name[:5] for name in lasts})
    return admin.id, pool.id, team.id, prefixes


def _median_ms(fn: Callable[[int], object]) -> float:
    times = []
    for i in range(REPEAT):
        started = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


@benchmark(
    "views",
    "search by phone and by name prefix on 1M contacts, agent grid of a 10k-lead pool (SQLite)",
)
def run(quick: bool) -> list[Result]:
    """Build the data set, then time the three views against their raw-SQL floors."""
    n_contacts = 100_000 if quick else 1_000_000
    n_leads = 10_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "views.db"
        started = time.perf_counter()
        admin_id, pool_id, team_id, prefixes = _build(path, n_contacts, n_leads)
        build_s = time.perf_counter() - started
        rng = random.Random(5)
        numbers = [rng.randrange(n_contacts) for _ in range(REPEAT)]
        picks = [rng.choice(prefixes) for _ in range(REPEAT)]

        crm = teamcrm.open(f"sqlite:///{path}", clock=teamcrm.SettableClock(NOW))
        alice = crm.as_member(admin_id)
        alice.search(phone="+1 (555) 000-0001")  # warm the connection and caches

        def phone(i: int) -> None:
            n = numbers[i]
            found = alice.search(phone=f"+1 (555) {n // 10000:03d}-{n % 10000:04d}")
            assert len(found) == 1, found

        def name(i: int) -> None:
            alice.search(name=picks[i], limit=50)

        def grid(i: int) -> None:
            rows = alice.agent_grid(pool_id=pool_id, limit=50)
            assert len(rows) == 50

        phone_ms = _median_ms(phone)
        name_ms = _median_ms(name)
        grid_ms = _median_ms(grid)
        counts = [len(alice.search(name=p, limit=1000)) for p in picks[:10]]
        crm.close()

        raw = sqlite3.connect(path)
        cols = "c.id, c.first_name, c.last_name, c.status, c.source, c.custom_fields, c.created_at"

        def raw_phone(i: int) -> None:
            n = numbers[i]
            rows = raw.execute(
                f"SELECT {cols} FROM contact_phones p JOIN contacts c ON c.id = p.contact_id"
                " WHERE p.team_id = ? AND p.number = ?",
                (team_id, f"+1555{n:07d}"),
            ).fetchall()
            assert len(rows) == 1

        def raw_name(i: int) -> None:
            raw.execute(
                f"SELECT {cols} FROM contact_words f JOIN contacts c ON c.rowid = f.rowid"
                " WHERE f.words GLOB ? AND c.team_id = ?"
                " ORDER BY c.created_at, c.id LIMIT 50",
                (name_glob(tokens(picks[i])), team_id),
            ).fetchall()

        from teamcrm.adapters.sqlite.grid import grid_rank_sql
        from teamcrm.views import DEFAULT_RESPONSE_WINDOW

        window = DEFAULT_RESPONSE_WINDOW // timedelta(microseconds=1)
        rank_sql = grid_rank_sql(pool=True, status=False, owner=False)
        rank_params = {
            "team": team_id,
            "pool": pool_id,
            "now": to_micros(NOW),
            "window": window,
            "cut": to_micros(NOW) - window,
            "first": "evaluate",
            "limit": 50,
        }
        # The facts of the picked leads, as the adapter reads them (same subqueries).
        facts_sql = """SELECT c.id, c.first_name, c.last_name, c.status,
            (SELECT max(p.validated) FROM contact_phones p WHERE p.contact_id = c.id),
            (SELECT max(e.validated) FROM contact_emails e WHERE e.contact_id = c.id),
            EXISTS (SELECT 1 FROM interaction_targets x
                    JOIN interactions i ON i.id = x.interaction_id
                    WHERE x.team_id = :team AND x.target_id = c.id AND i.kind = 'note'),
            (SELECT min(t.due_at) FROM tasks t WHERE t.team_id = :team
                AND t.contact_id = c.id AND t.status = 'open' AND t.due_at > :now),
            (SELECT min(d.due_on) FROM followup_dues d INDEXED BY followup_dues_by_contact
                WHERE d.team_id = :team AND d.contact_id = c.id AND d.due_on > :today),
            l.id, l.pool_key, j.value, l.assigned_at, l.created_at,
            (SELECT min(x.occurred_at) FROM interaction_targets x
                JOIN interactions i ON i.id = x.interaction_id
                WHERE x.team_id = :team AND x.target_id = c.id
                AND x.occurred_at >= l.assigned_at AND x.occurred_at <= :now
                AND i.author_id = j.value)
        FROM leads l LEFT JOIN json_each(l.assignee_ids) j
        JOIN contacts c ON c.id = l.contact_id
        WHERE l.is_open = 1 AND l.team_id = :team
            AND l.id IN (SELECT value FROM json_each(:ids))"""

        def raw_grid(i: int) -> None:
            picked = raw.execute(rank_sql, rank_params).fetchall()
            ids = json.dumps([lead for lead, _ in picked])
            rows = raw.execute(
                facts_sql,
                {"team": team_id, "now": rank_params["now"], "today": "2026-06-01", "ids": ids},
            ).fetchall()
            assert len(rows) == 50

        phone_floor = _median_ms(raw_phone)
        name_floor = _median_ms(raw_name)
        grid_floor = _median_ms(raw_grid)
        raw.close()
    return [
        Result("views_sqlite_build_s", build_s, "s"),
        Result("search_sqlite_phone_ms", phone_ms, "ms"),
        Result("search_sqlite_phone_raw_floor_ms", phone_floor, "ms"),
        Result("search_sqlite_name_prefix_ms", name_ms, "ms"),
        Result("search_sqlite_name_prefix_raw_floor_ms", name_floor, "ms"),
        Result("search_sqlite_name_prefix_matches", statistics.median(counts), "contacts"),
        Result("grid_sqlite_ms", grid_ms, "ms"),
        Result("grid_sqlite_raw_floor_ms", grid_floor, "ms"),
        # ratios from unrounded medians (the floors can be below 0.1 ms)
        Result("search_sqlite_phone_ratio_x", phone_ms / phone_floor, "x"),
        Result("search_sqlite_name_prefix_ratio_x", name_ms / name_floor, "x"),
        Result("grid_sqlite_ratio_x", grid_ms / grid_floor, "x"),
        Result("search_sqlite_phone_raw_floor_us", phone_floor * 1000, "us"),
    ]
