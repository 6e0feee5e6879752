"""Quickstart: a team, a shared bucket, a contact, a call, and the shared record.

Run it with ``python examples/quickstart.py [STORE_URL]`` (default: memory://).
"""

from __future__ import annotations

import sys

import teamcrm


def main(url: str = "memory://") -> teamcrm.ContactRecord:
    """Build a tiny team on *url* and return Maria's record as Bradley sees it."""
    with teamcrm.open(url) as crm:
        _, admin = crm.create_team("Parkside Realty", admin_name="Alice")
        alice = crm.as_member(admin.id)

        bradley = alice.add_member("Bradley", role="agent", time_zone="America/New_York")
        past = alice.create_bucket("Past Clients")
        alice.grant_access(past.id, bradley.id, level="editor", can_view_conversations=True)

        maria = alice.create_contact(
            "Maria",
            "Garcia",
            emails=["maria@example.com"],
            phones=["+1 (617) 555-0101"],
            source="referral",
        )
        alice.add_to_bucket(past.id, maria.id)
        alice.log_interaction(
            "call", contact_ids=[maria.id], outcome="connected", body="Wants to sell next spring."
        )

        record = crm.as_member(bradley.id).contact_record(maria.id)
        print("team buckets:", [b.name for b in record.team_buckets])
        print("phone validated:", record.contact.phones[0].validated)
        for interaction in record.interactions:
            print(f"{interaction.kind.value}: {interaction.body}")

        try:
            crm.as_member(bradley.id).create_contact("")
        except teamcrm.ValidationError as exc:
            print("refused:", exc)
        return record


if __name__ == "__main__":
    main(*sys.argv[1:])
