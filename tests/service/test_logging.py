"""teamcrm logs through named loggers, silently by default, never contact data at INFO."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

import teamcrm
import test_routing_service as base
from test_routing_service import World, _pool

crm = base.crm
w = base.w


def test_the_library_logger_has_a_null_handler() -> None:
    handlers = logging.getLogger("teamcrm").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_opening_a_new_file_logs_the_migrations(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="teamcrm.store"):
        teamcrm.open(f"sqlite:///{tmp_path / 'new.db'}").close()
    (record,) = [r for r in caplog.records if r.name == "teamcrm.store"]
    assert "applied migrations 0001_teams_members" in record.getMessage()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="teamcrm.store"):
        teamcrm.open(f"sqlite:///{tmp_path / 'new.db'}").close()  # nothing new to apply
    assert [r for r in caplog.records if r.name == "teamcrm.store"] == []


def test_jobs_log_counts_and_no_contact_data(w: World, caplog: pytest.LogCaptureFixture) -> None:
    _pool(w, "first_to_accept", member_ids=[w.bob.member_id, w.cat.member_id])
    (c,) = w.ana.create_contacts(
        [{"first_name": "Secretive", "emails": ["hidden@example.com"]}], bucket_id=w.web.id
    )
    w.ana.update_member(w.bob.member_id, email="bob@example.com")
    w.clock.advance(timedelta(days=2))
    with caplog.at_level(logging.INFO, logger="teamcrm"):
        assert w.crm.expire_offers() == 2
        assert w.crm.enforce_response_windows() == 0
        w.crm.send_digests(None, teamcrm.MemorySender())
    messages = {r.name: r.getMessage() for r in caplog.records}
    assert messages["teamcrm.routing"] == "response windows enforced: 0 leads passed on"
    assert "offers expired: 2" in [r.getMessage() for r in caplog.records]
    assert messages["teamcrm.digest"].startswith("digests: 1 members emailed")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Secretive" not in text
    assert "hidden@example.com" not in text
    assert c.id not in text


def test_retries_log_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise teamcrm.ConcurrencyError("contact", "ct_x")
        return "done"

    with caplog.at_level(logging.DEBUG, logger="teamcrm.retry"):
        assert teamcrm.retry_on_conflict(flaky, base_delay=0) == "done"
    assert [r.getMessage() for r in caplog.records] == [
        "conflict on attempt 1 of 5: retrying in 0.0000 s",
        "conflict on attempt 2 of 5: retrying in 0.0000 s",
    ]
