"""Unit tests of :mod:`teamcrm.ids` and :mod:`teamcrm.clock`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

import teamcrm
from teamcrm import ids
from teamcrm.campaign import new_campaign_id, new_campaign_send_id
from teamcrm.clock import Clock, SettableClock, SystemClock
from teamcrm.errors import ValidationError
from teamcrm.followup import new_policy_id
from teamcrm.lead import new_lead_id, new_lead_ids, new_offer_id
from teamcrm.notification import new_notification_id, new_notification_ids
from teamcrm.pool import new_pool_id
from teamcrm.program import new_enrolment_id, new_enrolment_ids, new_program_id
from teamcrm.search import new_saved_filter_id
from teamcrm.task import new_task_id
from teamcrm.validation import check_id

MAKERS: dict[str, Callable[[], str]] = {
    "team": ids.new_team_id,
    "member": ids.new_member_id,
    "contact": ids.new_contact_id,
    "company": ids.new_company_id,
    "bucket": ids.new_bucket_id,
    "interaction": ids.new_interaction_id,
    "opportunity": ids.new_opportunity_id,
    "case": ids.new_case_id,
    "pool": new_pool_id,
    "lead": new_lead_id,
    "offer": new_offer_id,
    "task": new_task_id,
    "policy": new_policy_id,
    "saved_filter": new_saved_filter_id,
    "notification": new_notification_id,
    "program": new_program_id,
    "enrolment": new_enrolment_id,
    "campaign": new_campaign_id,
    "campaign_send": new_campaign_send_id,
}
#: Kinds whose ids are made from something else (a digest's hash, a random claim token).
NOT_MADE_BY_A_MAKER = {"digest", "consumer", "delivery_claim"}


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_new_ids_have_their_prefix_and_pass_the_check(kind: str) -> None:
    prefix = ids.PREFIXES[kind]
    made = [MAKERS[kind]() for _ in range(200)]
    assert len(set(made)) == 200
    for value in made:
        assert value.startswith(prefix)
        assert len(value) == len(prefix) + 26
        assert check_id("id", value, prefix) == value


def test_prefixes_are_distinct() -> None:
    assert len(set(ids.PREFIXES.values())) == len(ids.PREFIXES)
    assert set(ids.PREFIXES) == set(MAKERS) | NOT_MADE_BY_A_MAKER


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_an_id_of_one_kind_is_rejected_as_another(kind: str) -> None:
    value = MAKERS[kind]()
    for other, prefix in ids.PREFIXES.items():
        if other != kind:
            with pytest.raises(ValidationError, match=prefix):
                check_id("id", value, prefix)


def test_id_suffix_starts_with_the_time_in_microseconds() -> None:
    before = time.time_ns() // 1000
    suffix = ids.id_suffix()
    after = time.time_ns() // 1000
    assert len(suffix) == 26
    assert int(suffix, 16) >= 0  # all hex
    assert before <= int(suffix[:13], 16) <= after


def test_ids_made_later_sort_later() -> None:
    first = [ids.new_contact_id() for _ in range(50)]
    time.sleep(0.002)
    second = [ids.new_contact_id() for _ in range(50)]
    assert max(first) < min(second)
    # Within one microsecond the random half still tells them apart.
    assert len(set(first + second)) == 100


def test_id_suffix_random_half_varies_within_one_microsecond(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ids.time, "time_ns", lambda: 1_795_000_000_000_000_000)
    made = {ids.id_suffix() for _ in range(1_000)}
    assert len(made) == 1_000
    assert {s[:13] for s in made} == {f"{1_795_000_000_000_000:013x}"}


def test_random_suffix_has_no_time_in_it() -> None:
    made = [ids.random_suffix() for _ in range(200)]
    assert all(len(s) == 26 and int(s, 16) >= 0 for s in made)
    now = f"{time.time_ns() // 1000:013x}"
    # 200 random 52-bit prefixes all within a second of now: never by chance.
    assert sum(s[:8] == now[:8] for s in made) < 5


# --------------------------------------------------------------------- clocks
def test_system_clock_is_aware_utc_and_a_clock() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert before - timedelta(seconds=5) <= now <= datetime.now(UTC)
    assert isinstance(SystemClock(), Clock)
    assert isinstance(SettableClock(), Clock)
    assert repr(SystemClock()) == "SystemClock()"


def test_settable_clock_set_and_advance() -> None:
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    clock = SettableClock(start)
    assert clock.now() == start
    assert clock.advance(timedelta(days=1)) == start + timedelta(days=1)
    assert clock.advance(timedelta(hours=-2)) == start + timedelta(hours=22)
    plus_two = timezone(timedelta(hours=2))
    out = clock.set(datetime(2026, 3, 1, 12, tzinfo=plus_two))
    assert out == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert out.tzinfo is UTC
    assert clock.now() == out
    assert "2026-03-01T10:00:00+00:00" in repr(clock)


def test_settable_clock_converts_start_to_utc() -> None:
    plus_one = timezone(timedelta(hours=1))
    clock = SettableClock(datetime(2026, 1, 1, 1, tzinfo=plus_one))
    assert clock.now().tzinfo is UTC
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("bad", [datetime(2026, 1, 1), "2026-01-01", 0])
def test_settable_clock_rejects_naive_or_non_datetimes(bad: object) -> None:
    with pytest.raises(ValidationError, match=r"SettableClock\.start"):
        SettableClock(bad)  # type: ignore[arg-type]
    clock = SettableClock(datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ValidationError, match=r"SettableClock\.set"):
        clock.set(bad)  # type: ignore[arg-type]
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("bad", [1, 1.5, "1 day", None])
def test_settable_clock_advance_needs_a_timedelta(bad: object) -> None:
    clock = SettableClock(datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ValidationError, match=r"SettableClock\.advance"):
        clock.advance(bad)  # type: ignore[arg-type]
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)


def test_settable_clock_advance_out_of_range_is_a_validation_error() -> None:
    clock = SettableClock(datetime(9999, 12, 31, tzinfo=UTC))
    with pytest.raises(ValidationError, match="out of range"):
        clock.advance(timedelta(days=2))
    assert clock.now() == datetime(9999, 12, 31, tzinfo=UTC)


def test_settable_clock_advances_atomically_across_threads() -> None:
    clock = SettableClock(datetime(2026, 1, 1, tzinfo=UTC))

    def tick() -> None:
        for _ in range(500):
            clock.advance(timedelta(seconds=1))

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=2000)


def test_crm_uses_its_clock(clock: SettableClock) -> None:
    crm = teamcrm.CRM(teamcrm.open_store("memory://"), clock=clock)
    team, admin = crm.create_team("Acme", admin_name="Ana")
    assert team.created_at == clock.now() == admin.created_at
    clock.advance(timedelta(hours=3))
    assert crm.now() == clock.now()


def test_crm_rejects_something_that_is_not_a_clock() -> None:
    with pytest.raises(ValidationError, match="clock"):
        teamcrm.open("memory://", clock=5)  # type: ignore[arg-type]


def test_crm_rejects_a_clock_that_returns_naive_times() -> None:
    class Naive:
        def now(self) -> datetime:
            return datetime(2026, 1, 1)

    crm = teamcrm.open("memory://", clock=Naive())
    with pytest.raises(ValidationError, match=r"clock\.now\(\)"):
        crm.create_team("Acme", admin_name="Ana")


def test_enrolment_ids_made_in_bulk_are_like_single_ones_and_follow_a_patched_suffix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``new_enrolment_ids``: one clock read and one urandom call, the same id format."""
    before = time.time_ns() // 1000
    made = new_enrolment_ids(5_000)
    after = time.time_ns() // 1000
    prefix = ids.PREFIXES["enrolment"]
    assert len(set(made)) == 5_000
    for value in made:
        assert check_id("id", value, prefix) == value
        assert len(value) == len(prefix) + 26
        assert before <= int(value[len(prefix) : len(prefix) + 13], 16) <= after
    time.sleep(0.002)
    assert max(made) < new_enrolment_id()  # later ones sort later
    assert new_enrolment_ids(0) == []
    counter = iter(range(1, 100))
    monkeypatch.setattr(ids, "id_suffix", lambda: f"{next(counter):026x}")
    assert new_enrolment_ids(2) == [f"{prefix}{1:026x}", f"{prefix}{2:026x}"]


def test_lead_and_notification_ids_made_in_bulk_are_ordered_like_single_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``id_suffixes``: one clock read for all, the same format, increasing in list order."""
    before = time.time_ns() // 1000
    leads, notes = new_lead_ids(2_000), new_notification_ids(2_000)
    after = time.time_ns() // 1000
    for made, prefix in ((leads, ids.PREFIXES["lead"]), (notes, ids.PREFIXES["notification"])):
        assert len(set(made)) == 2_000
        assert made == sorted(made)  # taken in order, they compare greater the later
        for value in made:
            assert check_id("id", value, prefix) == value
            assert before <= int(value[len(prefix) : len(prefix) + 13], 16) <= after
    time.sleep(0.002)
    assert max(notes) < new_notification_id()
    assert new_lead_ids(0) == []
    assert len(new_lead_ids(1)) == 1
    counter = iter(range(1, 100))
    monkeypatch.setattr(ids, "id_suffix", lambda: f"{next(counter):026x}")
    assert ids.id_suffixes(2) == [f"{1:026x}", f"{2:026x}"]
    assert new_notification_ids(1) == [f"{ids.PREFIXES['notification']}{3:026x}"]
