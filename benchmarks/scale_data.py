"""The data set of the scale benchmark, built fast (issue 17); not a benchmark itself.

:func:`build` makes a SQLite team of *size* contacts in a few minutes at
1,000,000 (the per-row path took about an hour):

* the team, its members (Ana the admin, Bob an agent), buckets, pool,
  follow-up policy and saved filter through the public API;
* the bulk rows (:func:`contact_rows` and friends: contacts with one email,
  one phone and ``{"plan": ...}``, their membership of the bucket every
  member sees, Bob's follow-up due rows on it, one company per ten
  contacts) with raw ``executemany`` in one transaction with
  ``journal_mode = OFF`` and ``synchronous = OFF`` and a large page cache;
* the tables' triggers are dropped for the bulk insert and recreated from
  their stored SQL afterwards; what they would have written (the trigram
  name indexes ``contact_words`` and ``company_words``, ``contact_fields``)
  is written by one ``INSERT ... SELECT`` each, with the same expressions
  the triggers use.  ``lead_grid`` stays empty as the triggers would leave
  it (the bulk holds no leads);
* ``ANALYZE`` and ``PRAGMA optimize``; the file goes back to WAL as the
  store leaves it.

:func:`build_with_api` builds the same data through the library only
(``create_contact``, ``create_company``, ``add_to_bucket`` with the clock
set to each row's instant and the library's id factory made to hand out the
builder's ids): ``tests/adapters/test_scale_data.py`` checks both files hold the
same rows in every table but the outbox, so the benchmark measures the store
the library would have written.

:func:`build_postgres` builds the same rows (:func:`bulk_rows`, shared by
both builders) in an empty PostgreSQL schema with ``COPY`` (100,000 contacts
in well under a minute); ``tests/adapters/test_scale_data.py`` checks it
against a build through the API on PostgreSQL too.

:func:`cached_build` keeps each built file under a cache directory
(``$TEAMCRM_BENCH_CACHE``, default ``<tmp>/teamcrm-bench-cache``) keyed by
size, :data:`BUILDER_VERSION` and a hash of the registered migrations, and
copies it for a run.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import teamcrm
import teamcrm.adapters.sqlite  # registers every migration (the cache key)
import teamcrm.ids
from teamcrm.adapters.sqlite.codec import dumps, to_micros
from teamcrm.adapters.sqlite.connection import register_functions
from teamcrm.adapters.sqlite.filters import _fill as fill_contact_fields_sql
from teamcrm.adapters.sqlite.migrations import registered_migrations
from teamcrm.adapters.sqlite.name_words import BACKFILL
from teamcrm.followup import FollowUpPolicy, compute_due
from teamcrm.search import ContactQuery

__all__ = [
    "BUILDER_VERSION",
    "NOW",
    "RARE",
    "ROUTE_SPARE",
    "STATUSES",
    "World",
    "build",
    "build_postgres",
    "build_with_api",
    "bulk_rows",
    "cached_build",
    "hex_id",
]

#: Bump when the data set changes (the cache key holds it).
BUILDER_VERSION = 2
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
#: Contacts made for the routing calls (not in any bucket until routed).
ROUTE_SPARE = 200
RARE = 100  # one contact in RARE has the rare status, source and custom value (50+ at 10k)
STATUSES = ("evaluate", "active", "nurture")
START = NOW - timedelta(days=400)
#: Tables whose triggers the bulk insert would fire.
BULK_TABLES = (
    "contacts",
    "contact_emails",
    "contact_phones",
    "companies",
    "memberships",
    "followup_dues",
)


def hex_id(prefix: str, n: int) -> str:
    """The id of the *n*-th bulk row (the library's id format: a prefix and 26 hex digits)."""
    return f"{prefix}{n:026x}"


class World:
    """The ids a run needs after the build."""

    def __init__(self, **ids: str) -> None:
        self.ids = ids
        self.team, self.ana, self.bob = ids["team"], ids["ana"], ids["bob"]
        self.web, self.saved = ids["web"], ids["saved"]
        self.everyone, self.policy = ids["everyone"], ids["policy"]


def _setup(url: str, clock: teamcrm.SettableClock) -> tuple[World, FollowUpPolicy]:
    """The team and its configuration, through the API (ids from the library)."""
    crm = teamcrm.open(url, clock=clock)
    team, admin = crm.create_team("Bench Realty", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = crm.as_member(ana.add_member("Bob").id)
    everyone = ana.create_bucket("All contacts")
    ana.share_with_team(everyone.id, can_view_conversations=True)
    policy = ana.create_follow_up_policy(everyone.id, "30 days", member_id=bob.member_id)
    web = ana.create_bucket("Web leads")
    ana.grant_access(web.id, bob.member_id, level="editor")
    pool = ana.create_pool(
        "Web", source_bucket_ids=[web.id], member_ids=[bob.member_id], method="round_robin"
    )
    saved = ana.save_filter(
        "Gold", ContactQuery(custom_field="plan", custom_value="gold"), shared=True
    )
    crm.close()
    world = World(
        team=team.id,
        ana=admin.id,
        bob=bob.member_id,
        web=web.id,
        saved=saved.id,
        everyone=everyone.id,
        policy=policy.id,
        pool=pool.id,
    )
    return world, policy


def _contact(i: int, size: int) -> dict[str, Any]:
    rare = i % RARE == RARE // 2
    return {
        "first_name": f"First{i}" if i < size else f"Route{i}",
        "last_name": f"Last{i}",
        "status": "closed" if rare else STATUSES[i % 3],
        "source": "fair" if rare else "web",
        "custom_fields": {"plan": "gold" if rare else "free"},
        "email": f"p{i}@example.com",
        "phone": f"+1617{2_000_000 + i:07d}",
    }


def _created_at(i: int) -> datetime:
    return START + timedelta(milliseconds=i)


def _company(j: int) -> tuple[str, str]:
    return f"Company{j} Holdings", f"c{j}.example.com"


def _added(size: int) -> list[datetime]:
    """When each of the first *size* contacts joined the team bucket."""
    rng = random.Random(17)
    return [START + timedelta(seconds=rng.randrange(0, 200 * 86400)) for _ in range(size)]


#: One bulk table: its name, the columns given, and its rows.
BulkTable = tuple[str, tuple[str, ...], Iterator[tuple[object, ...]]]


def bulk_rows(w: World, policy: FollowUpPolicy, size: int) -> Iterator[BulkTable]:
    """The bulk rows of every table, as the library would write them (both builders)."""
    total = size + ROUTE_SPARE

    def contacts() -> Iterator[tuple[object, ...]]:
        for i in range(total):
            c = _contact(i, size)
            yield (
                hex_id("ct_", i),
                w.team,
                c["first_name"],
                c["last_name"],
                c["status"],
                c["source"],
                dumps(c["custom_fields"]),
                w.ana if i < size else w.bob,  # spares: Bob's own, so he sees them
                to_micros(_created_at(i)),
                1,
            )

    yield (
        "contacts",
        (
            "id",
            "team_id",
            "first_name",
            "last_name",
            "status",
            "source",
            "custom_fields",
            "created_by",
            "created_at",
            "version",
        ),
        contacts(),
    )
    yield (
        "contact_emails",
        ("contact_id", "position", "team_id", "address", "address_key", "validated", "label"),
        (
            (hex_id("ct_", i), 0, w.team, f"p{i}@example.com", f"p{i}@example.com", 0, None)
            for i in range(total)
        ),
    )
    yield (
        "contact_phones",
        ("contact_id", "position", "team_id", "number", "validated", "label", "display"),
        (
            (hex_id("ct_", i), 0, w.team, f"+1617{2_000_000 + i:07d}", 0, None, None)
            for i in range(total)
        ),
    )
    yield (
        "companies",
        ("id", "team_id", "name", "domain", "created_by", "created_at", "version"),
        (
            (hex_id("co_", j), w.team, *_company(j), w.ana, to_micros(_created_at(total + j)), 1)
            for j in range(size // 10)
        ),
    )
    added = _added(size)
    yield (
        "memberships",
        ("bucket_id", "item_id", "team_id", "added_at", "added_by"),
        ((w.everyone, hex_id("ct_", i), w.team, to_micros(a), w.ana) for i, a in enumerate(added)),
    )

    def dues() -> Iterator[tuple[object, ...]]:
        for i, when in enumerate(added):
            cid = hex_id("ct_", i)
            due = compute_due(policy, cid, when, None, None, "UTC")  # type: ignore[arg-type]
            yield (
                policy.id,
                cid,
                w.team,
                w.bob,
                w.everyone,
                due.due_on.isoformat(),
                to_micros(due.since),
                None,
                None,
                None,
            )

    yield (
        "followup_dues",
        (
            "policy_id",
            "contact_id",
            "team_id",
            "member_id",
            "bucket_id",
            "due_on",
            "since",
            "touch_at",
            "touch_by",
            "touch_kind",
        ),
        dues(),
    )


def _bulk(conn: sqlite3.Connection, w: World, policy: FollowUpPolicy, size: int) -> None:
    """Insert the bulk rows (triggers already dropped)."""
    for table, columns, rows in bulk_rows(w, policy, size):
        marks = ", ".join("?" * len(columns))
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def build(path: Path, size: int) -> World:
    """Build the data set of *size* contacts (plus :data:`ROUTE_SPARE`) at *path*, fast."""
    world, policy = _setup(f"sqlite:///{path}", teamcrm.SettableClock(NOW))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        register_functions(conn)  # teamcrm_name_text, as the triggers call it
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            "cache_size = -1000000",
            "temp_store = MEMORY",
            "locking_mode = EXCLUSIVE",
        ):
            conn.execute(f"PRAGMA {pragma}").fetchall()
        triggers = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN"
            f" ({', '.join('?' * len(BULK_TABLES))}) ORDER BY name",
            BULK_TABLES,
        ).fetchall()
        conn.execute("BEGIN")
        contacts_before = conn.execute("SELECT coalesce(max(rowid), 0) FROM contacts").fetchone()
        companies_before = conn.execute("SELECT coalesce(max(rowid), 0) FROM companies").fetchone()
        for name, _ in triggers:
            conn.execute(f'DROP TRIGGER "{name}"')
        _bulk(conn, world, policy, size)
        # What the triggers would have written, set-based, with their expressions.
        conn.execute(
            "INSERT INTO contact_words (rowid, words)"
            " SELECT rowid, teamcrm_name_text(first_name, last_name) FROM contacts"
            " WHERE rowid > ?",
            contacts_before,
        )
        conn.execute(
            "INSERT INTO company_words (rowid, words)"
            " SELECT rowid, teamcrm_name_text(name, '') FROM companies WHERE rowid > ?",
            companies_before,
        )
        conn.execute(
            fill_contact_fields_sql("c").replace("FROM json_each", "FROM contacts c, json_each")
            + " WHERE c.rowid > ? AND c.custom_fields <> '{}'",
            contacts_before,
        )
        for source, before in (("contact", contacts_before), ("company", companies_before)):
            conn.execute(BACKFILL[f"{source}_name_words"] + " WHERE s.rowid > ?", before)
        for _, sql in triggers:
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA optimize").fetchall()
        conn.execute("PRAGMA locking_mode = NORMAL").fetchall()
        conn.execute("PRAGMA journal_mode = WAL").fetchall()
    finally:
        conn.close()
    return world


#: The PostgreSQL name tables and the word tables their triggers fill (``0480``).
_PG_WORD_TRIGGERS = (
    ("contact_names", "contact_name_words"),
    ("company_names", "company_name_words"),
)


def build_postgres(url: str, size: int) -> World:
    """Build the data set of *size* contacts in the empty PostgreSQL schema of *url*, fast.

    The team and its configuration through the API; then, in one
    transaction, the rows of :func:`bulk_rows` by ``COPY``, with the
    ``contact_fields`` trigger of ``contacts`` disabled and its rows written
    by the migration's own ``INSERT ... SELECT``, and the name tables
    (``contact_names``, ``company_names``) from the library's ``name_words``,
    their word triggers disabled and the word tables filled by the backfill
    of ``0480_postgres_name_words``;
    then ``ANALYZE`` of the schema's tables (the store's own statement).
    """
    import psycopg

    from teamcrm.adapters.postgres.filters import _FILL as PG_FILL_FIELDS
    from teamcrm.adapters.postgres.name_words import BACKFILL as PG_FILL_WORDS
    from teamcrm.adapters.postgres.views import ANALYZE_THIS_SCHEMA, name_words

    world, policy = _setup(url, teamcrm.SettableClock(NOW))
    total = size + ROUTE_SPARE
    with psycopg.connect(url) as conn:
        conn.execute("ALTER TABLE contacts DISABLE TRIGGER contact_fields_insert")
        for names, words in _PG_WORD_TRIGGERS:
            conn.execute(f"ALTER TABLE {names} DISABLE TRIGGER {words}_insert")
        for table, columns, rows in bulk_rows(world, policy, size):
            with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        with conn.cursor().copy(
            "COPY contact_names (contact_id, team_id, words) FROM STDIN"
        ) as copy:
            for i in range(total):
                c = _contact(i, size)
                copy.write_row(
                    (hex_id("ct_", i), world.team, name_words(c["first_name"], c["last_name"]))
                )
        with conn.cursor().copy(
            "COPY company_names (company_id, team_id, words) FROM STDIN"
        ) as copy:
            for j in range(size // 10):
                copy.write_row((hex_id("co_", j), world.team, name_words(_company(j)[0], "")))
        conn.execute(
            PG_FILL_FIELDS.format(r="c").replace("FROM jsonb_each", "FROM contacts c, jsonb_each")
            + " WHERE c.custom_fields <> '{}'"
        )
        for names, words in _PG_WORD_TRIGGERS:
            conn.execute(PG_FILL_WORDS[words])
            conn.execute(f"ALTER TABLE {names} ENABLE TRIGGER {words}_insert")
        conn.execute("ALTER TABLE contacts ENABLE TRIGGER contact_fields_insert")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ANALYZE_THIS_SCHEMA)
    return world


@contextmanager
def _bulk_ids() -> Iterator[None]:
    """Make the library's id factory hand out the builder's contact and company ids."""
    counters = {"ct_": 0, "co_": 0}
    original = teamcrm.ids._new

    def new(prefix: str) -> str:
        if prefix not in counters:
            return original(prefix)
        n = counters[prefix]
        counters[prefix] += 1
        return hex_id(prefix, n)

    teamcrm.ids._new = new
    try:
        yield
    finally:
        teamcrm.ids._new = original


def build_with_api(path: Path | str, size: int) -> World:
    """Build the same data set through the library's API only (slow; for the tests).

    *path* is a SQLite file or any store URL (the tests build on PostgreSQL too).
    """
    clock = teamcrm.SettableClock(NOW)
    url = path if isinstance(path, str) else f"sqlite:///{path}"
    world, _ = _setup(url, clock)
    crm = teamcrm.open(url, clock=clock)
    try:
        ana, bob = crm.as_member(world.ana), crm.as_member(world.bob)  # type: ignore[arg-type]
        total = size + ROUTE_SPARE
        with _bulk_ids():
            for i in range(total):
                c = _contact(i, size)
                clock.set(_created_at(i))
                (ana if i < size else bob).create_contact(
                    c["first_name"],
                    c["last_name"],
                    emails=[c["email"]],
                    phones=[c["phone"]],
                    status=c["status"],
                    source=c["source"],
                    custom_fields=c["custom_fields"],
                )
            for j in range(size // 10):
                name, domain = _company(j)
                clock.set(_created_at(total + j))
                ana.create_company(name, domain=domain)
        for i, when in enumerate(_added(size)):
            clock.set(when)
            ana.add_to_bucket(world.everyone, [hex_id("ct_", i)])  # type: ignore[arg-type,list-item]
    finally:
        crm.close()
    return world


def _schema_key() -> str:
    names = ",".join(m.name for m in registered_migrations())
    return hashlib.sha256(names.encode()).hexdigest()[:12]


def cache_dir() -> Path:
    """Where built files are kept between runs."""
    default = Path(tempfile.gettempdir()) / "teamcrm-bench-cache"
    return Path(os.environ.get("TEAMCRM_BENCH_CACHE", default))


def cached_build(path: Path, size: int) -> tuple[World, bool]:
    """Copy the cached data set of *size* to *path*, building it first if missing.

    Returns the world and whether it was built now (``False``: copied from the cache).
    """
    folder = cache_dir()
    stem = f"scale-{size}-v{BUILDER_VERSION}-{_schema_key()}"
    cached, ids = folder / f"{stem}.db", folder / f"{stem}.json"
    built = False
    if not (cached.exists() and ids.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{stem}.db.partial"
        partial.unlink(missing_ok=True)
        world = build(partial, size)
        partial.replace(cached)
        ids.write_text(json.dumps(world.ids))
        built = True
    shutil.copyfile(cached, path)
    return World(**json.loads(ids.read_text())), built
