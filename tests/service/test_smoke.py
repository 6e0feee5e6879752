"""A first end-to-end check of the public API on the in-memory store."""

from __future__ import annotations

import pytest

import teamcrm


def test_team_bucket_contact_interaction(crm: teamcrm.CRM) -> None:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bucket = ana.create_bucket("Past Clients")
    bob = ana.add_member("Bob")
    bea = ana.create_contact("Bea", "Jones", phones=["555 010 2030"])
    ana.add_to_bucket(bucket.id, bea.id)
    ana.grant_access(bucket.id, bob.id, can_view_conversations=True)
    ana.log_interaction("call", contact_ids=[bea.id], outcome="connected")

    record = crm.as_member(bob.id).contact_record(bea.id)
    assert record.contact.phones[0].validated is True
    assert [b.id for b in record.team_buckets] == [bucket.id]
    assert len(record.interactions) == 1


def test_unknown_scheme_is_a_validation_error() -> None:
    with pytest.raises(teamcrm.ValidationError, match="url"):
        teamcrm.open("nosuch://x")
