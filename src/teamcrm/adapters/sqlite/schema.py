"""The core tables of the SQLite store, as named migrations.

Conventions every table follows (later modules should too):

* every row carries ``team_id`` and every index used by a query starts with
  it, so no query can wander into another team;
* times are integer microseconds since the epoch, UTC (see
  :mod:`teamcrm.adapters.sqlite.codec`);
* lists inside an entity (emails, phones, grants, interaction targets) are
  child tables with a ``position`` column and ``ON DELETE CASCADE``;
* JSON only for free-form data: contact custom fields and event payloads;
* versioned entities have a ``version`` column checked by ``UPDATE ... WHERE
  version = ?``.

Later work adds tables with
:func:`~teamcrm.adapters.sqlite.migrations.register_migration` (e.g. leads
indexed by ``(team_id, pool_id)`` and ``(team_id, assignee_id)``).
"""

from __future__ import annotations

from teamcrm.adapters.sqlite.migrations import register_migration

__all__: list[str] = []

register_migration(
    "0001_teams_members",
    """CREATE TABLE teams (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        bucket_management TEXT NOT NULL,
        file_notes_under_companies INTEGER NOT NULL,
        new_contact_status TEXT NOT NULL,
        new_lead_status TEXT NOT NULL,
        version INTEGER NOT NULL
    )""",
    """CREATE TABLE team_statuses (
        team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        status TEXT NOT NULL,
        PRIMARY KEY (team_id, position)
    ) WITHOUT ROWID""",
    """CREATE TABLE members (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        email TEXT,
        active INTEGER NOT NULL,
        away_until INTEGER,
        time_zone TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX members_by_team ON members (team_id, created_at)",
)

register_migration(
    "0002_contacts_companies",
    """CREATE TABLE companies (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        name TEXT NOT NULL,
        domain TEXT,
        created_by TEXT,
        created_at INTEGER NOT NULL,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX companies_by_team ON companies (team_id, created_at)",
    """CREATE TABLE contacts (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        first_name TEXT NOT NULL,
        last_name TEXT NOT NULL,
        status TEXT NOT NULL,
        source TEXT,
        custom_fields TEXT NOT NULL DEFAULT '{}',
        created_by TEXT,
        created_at INTEGER NOT NULL,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX contacts_by_team ON contacts (team_id, created_at)",
    "CREATE INDEX contacts_by_status ON contacts (team_id, status)",
    """CREATE TABLE contact_emails (
        contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        team_id TEXT NOT NULL,
        address TEXT NOT NULL,
        address_key TEXT NOT NULL,
        validated INTEGER NOT NULL,
        label TEXT,
        PRIMARY KEY (contact_id, position)
    ) WITHOUT ROWID""",
    "CREATE INDEX contact_emails_by_address ON contact_emails (team_id, address_key)",
    """CREATE TABLE contact_phones (
        contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        team_id TEXT NOT NULL,
        number TEXT NOT NULL,
        validated INTEGER NOT NULL,
        label TEXT,
        PRIMARY KEY (contact_id, position)
    ) WITHOUT ROWID""",
    "CREATE INDEX contact_phones_by_number ON contact_phones (team_id, number)",
    """CREATE TABLE contact_companies (
        contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        team_id TEXT NOT NULL,
        company_id TEXT NOT NULL,
        PRIMARY KEY (contact_id, position)
    ) WITHOUT ROWID""",
    "CREATE INDEX contact_companies_by_company ON contact_companies (team_id, company_id)",
)

register_migration(
    "0003_buckets_memberships",
    """CREATE TABLE buckets (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        owner_id TEXT,
        created_by TEXT,
        created_at INTEGER NOT NULL,
        version INTEGER NOT NULL
    )""",
    "CREATE INDEX buckets_by_team ON buckets (team_id, created_at)",
    """CREATE TABLE bucket_grants (
        bucket_id TEXT NOT NULL REFERENCES buckets (id) ON DELETE CASCADE,
        member_id TEXT NOT NULL,
        team_id TEXT NOT NULL,
        level TEXT NOT NULL,
        can_view_conversations INTEGER NOT NULL,
        PRIMARY KEY (bucket_id, member_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX bucket_grants_by_member ON bucket_grants (team_id, member_id)",
    """CREATE TABLE memberships (
        bucket_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        team_id TEXT NOT NULL,
        added_at INTEGER NOT NULL,
        added_by TEXT,
        PRIMARY KEY (bucket_id, item_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX memberships_by_bucket ON memberships (team_id, bucket_id, added_at, item_id)",
    "CREATE INDEX memberships_by_item ON memberships (team_id, item_id, bucket_id)",
)

register_migration(
    "0004_interactions",
    """CREATE TABLE interactions (
        id TEXT PRIMARY KEY,
        team_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        author_id TEXT NOT NULL,
        occurred_at INTEGER NOT NULL,
        logged_at INTEGER NOT NULL,
        outcome TEXT,
        via TEXT,
        reference TEXT,
        body TEXT NOT NULL
    )""",
    "CREATE INDEX interactions_by_author ON interactions (team_id, author_id, occurred_at)",
    """CREATE TABLE interaction_targets (
        interaction_id TEXT NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
        target_id TEXT NOT NULL,
        team_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        occurred_at INTEGER NOT NULL,
        PRIMARY KEY (interaction_id, target_id)
    ) WITHOUT ROWID""",
    """CREATE INDEX interaction_targets_by_target
        ON interaction_targets (team_id, target_id, occurred_at DESC, interaction_id DESC)""",
)

register_migration(
    "0005_outbox",
    """CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        team_id TEXT NOT NULL,
        name TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        occurred_at INTEGER NOT NULL,
        event TEXT NOT NULL
    )""",
    "CREATE INDEX outbox_by_team ON outbox (team_id, seq)",
)

register_migration(
    "0008_bucket_team_access",
    # A team bucket shared with the whole team (NULL: not shared that way) and
    # seed 000's omni-bucket flag; see teamcrm.bucket.TeamAccess.
    "ALTER TABLE buckets ADD COLUMN team_level TEXT",
    "ALTER TABLE buckets ADD COLUMN team_conversations INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE buckets ADD COLUMN holds_all INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX buckets_holding_all ON buckets (team_id) WHERE holds_all = 1",
)

register_migration(
    "0010_contact_opt_out",
    # Contact.email_opt_out and Contact.opted_out_at (microseconds, UTC);
    # see teamcrm.outgoing: programs and campaigns skip opted-out contacts.
    "ALTER TABLE contacts ADD COLUMN email_opt_out INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE contacts ADD COLUMN opted_out_at INTEGER",
    # EmailAddress.bounced: a bounce was logged for the address (teamcrm.channels)
    "ALTER TABLE contact_emails ADD COLUMN bounced INTEGER NOT NULL DEFAULT 0",
)

register_migration(
    "0011_member_phone_region",
    # A member's own phone region (NULL: the team's); see teamcrm.team.Member.
    "ALTER TABLE members ADD COLUMN phone_region TEXT",
)
