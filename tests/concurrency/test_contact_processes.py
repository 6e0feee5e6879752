"""Changes to one contact raced by real OS processes, on one SQLite file and on PostgreSQL.

What ``update_contact`` and the single-change operations promise (see
``docs/concepts.md``, "Changing a contact"), each proven on both stores:

* 4 processes append 12 distinct phones each to one contact with
  ``add_phone``: all 48 are stored, and the version counts 48 changes (none
  lost, none refused);
* 4 processes each set *its own* field of one contact 12 times with a plain
  ``update_contact`` (no ``expected_version``): no call raises (PostgreSQL
  used to raise ``ConcurrencyError`` when two units read the same version),
  every field holds its process's last value and the version counts 48
  changes;
* 2 processes log connected calls (each validates a number) while 2 add
  phones: every call is logged, every number validated, every phone kept;
* 4 processes append 6 phones each the read-modify-write way,
  ``update_contact(phones=old + [new], expected_version=read.version)``,
  retrying on ``ConcurrencyError``: every phone is stored (a stale write is
  refused, never applied) on both stores.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pg_support
import teamcrm

pytestmark = pytest.mark.slow

PHONE_PROCESSES = 4
PHONES_EACH = 12  # 48 phones: a contact holds at most 50
FIELD_PROCESSES = 4
UPDATES_EACH = 12
VERSIONED_PROCESSES = 4
VERSIONED_EACH = 6


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """One SQLite file, or one empty PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'contacts.db'}"
        return
    with pg_support.schemas() as made:
        yield made.new()


def _run(target: Any, args_list: list[tuple[Any, ...]]) -> list[tuple[str, Any]]:
    """Start one process per argument tuple, release them together, collect their results."""
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    start = ctx.Event()
    procs = [ctx.Process(target=target, args=(*args, start, results)) for args in args_list]
    for p in procs:
        p.start()
    start.set()
    out = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    return out


def _setup(url: str, members: int) -> tuple[teamcrm.CRM, teamcrm.MemberSession, list[str], str]:
    crm = teamcrm.open(url)
    _, admin = crm.create_team("Race", admin_name="Ana")
    ana = crm.as_member(admin.id)
    ids = [ana.add_member(f"M{i}", role="manager").id for i in range(members)]
    contact = ana.create_contact("Bea", custom_fields={"keep": "me"})
    return crm, ana, ids, contact.id


def _worker(
    job: str, url: str, member_id: str, contact_id: str, k: int, start: Any, results: Any
) -> None:
    """Run the body named *job*; report ``("ok", result)`` or ``("error", text)``."""
    try:
        crm = teamcrm.open(url)
        session = crm.as_member(member_id)
        start.wait(60)
        out = _JOBS[job](session, contact_id, k)
        crm.close()
        results.put(("ok", out))
    except BaseException as exc:
        traceback.print_exc()
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def _phone(k: int, n: int) -> str:
    return f"+1555{k:03d}{n:04d}"


def _add_phones(session: teamcrm.MemberSession, contact_id: str, k: int) -> int:
    for n in range(PHONES_EACH):
        session.add_phone(contact_id, _phone(k, n))
    return PHONES_EACH


#: The field each process of the update race owns, and the value of its n-th update.
_FIELDS: list[tuple[str, Any]] = [
    ("first_name", lambda n: f"First{n}"),
    ("last_name", lambda n: f"Last{n}"),
    ("source", lambda n: f"source-{n}"),
    ("emails", lambda n: [f"bea{n}@example.com"]),
]


def _update_own_field(session: teamcrm.MemberSession, contact_id: str, k: int) -> int:
    field, value = _FIELDS[k]
    for n in range(UPDATES_EACH):
        session.update_contact(contact_id, **{field: value(n)})
    return UPDATES_EACH


def _append_with_expected_version(session: teamcrm.MemberSession, contact_id: str, k: int) -> int:
    conflicts = 0
    for n in range(VERSIONED_EACH):
        while True:
            seen = session.contact(contact_id)
            try:
                session.update_contact(
                    contact_id,
                    expected_version=seen.version,
                    phones=[*seen.phones, _phone(k, n)],
                )
                break
            except teamcrm.ConcurrencyError:
                conflicts += 1
    return conflicts


def _log_connected_calls(session: teamcrm.MemberSession, contact_id: str, k: int) -> int:
    for n in range(PHONES_EACH):
        session.log_interaction(
            "call", contact_ids=[contact_id], outcome="connected", via=_phone(100 + k, n)
        )
    return PHONES_EACH


_JOBS = {
    "log_connected_calls": _log_connected_calls,
    "add_phones": _add_phones,
    "update_own_field": _update_own_field,
    "append_with_expected_version": _append_with_expected_version,
}


def test_racing_add_phone_loses_nothing(url: str) -> None:
    crm, ana, members, contact_id = _setup(url, PHONE_PROCESSES)
    results = _run(_worker, [("add_phones", url, m, contact_id, k) for k, m in enumerate(members)])
    assert [r[0] for r in results] == ["ok"] * PHONE_PROCESSES, results
    contact = ana.contact(contact_id)
    want = {
        teamcrm.PhoneNumber(number=_phone(k, n)).number
        for k in range(PHONE_PROCESSES)
        for n in range(PHONES_EACH)
    }
    assert {p.number for p in contact.phones} == want
    assert len(contact.phones) == PHONE_PROCESSES * PHONES_EACH
    assert contact.version == 1 + PHONE_PROCESSES * PHONES_EACH
    assert contact.custom_fields == {"keep": "me"}
    crm.close()


def test_racing_plain_updates_of_different_fields_all_take_effect(url: str) -> None:
    crm, ana, members, contact_id = _setup(url, FIELD_PROCESSES)
    results = _run(
        _worker, [("update_own_field", url, m, contact_id, k) for k, m in enumerate(members)]
    )
    assert [r[0] for r in results] == ["ok"] * FIELD_PROCESSES, results  # no ConcurrencyError
    contact = ana.contact(contact_id)
    last = UPDATES_EACH - 1
    assert (contact.first_name, contact.last_name, contact.source) == (
        f"First{last}",
        f"Last{last}",
        f"source-{last}",
    )
    assert [e.address for e in contact.emails] == [f"bea{last}@example.com"]
    assert contact.custom_fields == {"keep": "me"}
    assert contact.version == 1 + FIELD_PROCESSES * UPDATES_EACH
    crm.close()


def test_read_modify_write_with_expected_version_loses_nothing(url: str) -> None:
    crm, ana, members, contact_id = _setup(url, VERSIONED_PROCESSES)
    results = _run(
        _worker,
        [("append_with_expected_version", url, m, contact_id, k) for k, m in enumerate(members)],
    )
    assert [r[0] for r in results] == ["ok"] * VERSIONED_PROCESSES, results
    contact = ana.contact(contact_id)
    want = {
        teamcrm.PhoneNumber(number=_phone(k, n)).number
        for k in range(VERSIONED_PROCESSES)
        for n in range(VERSIONED_EACH)
    }
    assert {p.number for p in contact.phones} == want
    assert contact.version == 1 + VERSIONED_PROCESSES * VERSIONED_EACH
    crm.close()


def test_validating_numbers_while_phones_are_added_loses_nothing(url: str) -> None:
    crm, ana, members, contact_id = _setup(url, 4)
    logged = [_phone(100 + k, n) for k in range(2) for n in range(PHONES_EACH)]
    ana.update_contact(contact_id, phones=logged)
    jobs = ["add_phones", "add_phones", "log_connected_calls", "log_connected_calls"]
    results = _run(
        _worker,
        [
            (job, url, m, contact_id, k % 2)
            for k, (job, m) in enumerate(zip(jobs, members, strict=True))
        ],
    )
    assert [r[0] for r in results] == ["ok"] * 4, results  # no ConcurrencyError
    contact = ana.contact(contact_id)
    added = [_phone(k, n) for k in range(2) for n in range(PHONES_EACH)]
    assert sorted(p.number for p in contact.phones) == sorted(logged + added)
    assert all(p.validated == (p.number in logged) for p in contact.phones)
    assert contact.version == 2 + len(added) + len(logged)
    crm.close()
