"""The core tables both SQL stores share, as migrations built from the schema dialect.

Conventions every table follows (later modules should too):

* every row carries ``team_id`` and every index used by a query starts with
  it, so no query can wander into another team;
* times are integer microseconds since the epoch, UTC (see
  :mod:`teamcrm.adapters.sql.codec`): ``d.integer`` is 64 bits on both stores;
* text is ``d.text``: compared byte by byte on both stores;
* lists inside an entity (emails, phones, grants, interaction targets) are
  child tables with a ``position`` column and ``ON DELETE CASCADE``;
* JSON only for free-form data: contact custom fields and event payloads;
* versioned entities have a ``version`` column checked by ``UPDATE ... WHERE
  version = ?``.
"""

from __future__ import annotations

from teamcrm.adapters.sql.ddl import SchemaDialect
from teamcrm.adapters.sql.migrations import migration

__all__ = ["phone_columns"]


@migration("0001_teams_members")
def _teams_members(d: SchemaDialect) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE teams (
        id {d.text} PRIMARY KEY,
        name {d.text} NOT NULL,
        created_at {d.integer} NOT NULL,
        bucket_management {d.text} NOT NULL,
        file_notes_under_companies {d.integer} NOT NULL,
        new_contact_status {d.text} NOT NULL,
        new_lead_status {d.text} NOT NULL,
        version {d.integer} NOT NULL
    {d.table_end()}""",
        f"""CREATE TABLE team_statuses (
        team_id {d.text} NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
        position {d.integer} NOT NULL,
        status {d.text} NOT NULL,
        PRIMARY KEY (team_id, position)
    {d.table_end(without_rowid=True)}""",
        f"""CREATE TABLE members (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        name {d.text} NOT NULL,
        role {d.text} NOT NULL,
        email {d.text},
        active {d.integer} NOT NULL,
        away_until {d.integer},
        time_zone {d.text} NOT NULL,
        created_at {d.integer} NOT NULL,
        version {d.integer} NOT NULL
    {d.table_end()}""",
        "CREATE INDEX members_by_team ON members (team_id, created_at)",
    )


@migration("0002_contacts_companies")
def _contacts_companies(d: SchemaDialect) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE companies (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        name {d.text} NOT NULL,
        domain {d.text},
        created_by {d.text},
        created_at {d.integer} NOT NULL,
        version {d.integer} NOT NULL
    {d.table_end()}""",
        "CREATE INDEX companies_by_team ON companies (team_id, created_at)",
        f"""CREATE TABLE contacts (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        first_name {d.text} NOT NULL,
        last_name {d.text} NOT NULL,
        status {d.text} NOT NULL,
        source {d.text},
        custom_fields {d.text} NOT NULL DEFAULT '{{}}',
        created_by {d.text},
        created_at {d.integer} NOT NULL,
        version {d.integer} NOT NULL
    {d.table_end()}""",
        "CREATE INDEX contacts_by_team ON contacts (team_id, created_at)",
        "CREATE INDEX contacts_by_status ON contacts (team_id, status)",
        f"""CREATE TABLE contact_emails (
        contact_id {d.text} NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
        position {d.integer} NOT NULL,
        team_id {d.text} NOT NULL,
        address {d.text} NOT NULL,
        address_key {d.text} NOT NULL,
        validated {d.integer} NOT NULL,
        label {d.text},
        PRIMARY KEY (contact_id, position)
    {d.table_end(without_rowid=True)}""",
        "CREATE INDEX contact_emails_by_address ON contact_emails (team_id, address_key)",
        f"""CREATE TABLE contact_phones (
        contact_id {d.text} NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
        position {d.integer} NOT NULL,
        team_id {d.text} NOT NULL,
        number {d.text} NOT NULL,
        validated {d.integer} NOT NULL,
        label {d.text},
        PRIMARY KEY (contact_id, position)
    {d.table_end(without_rowid=True)}""",
        "CREATE INDEX contact_phones_by_number ON contact_phones (team_id, number)",
        f"""CREATE TABLE contact_companies (
        contact_id {d.text} NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
        position {d.integer} NOT NULL,
        team_id {d.text} NOT NULL,
        company_id {d.text} NOT NULL,
        PRIMARY KEY (contact_id, position)
    {d.table_end(without_rowid=True)}""",
        "CREATE INDEX contact_companies_by_company ON contact_companies (team_id, company_id)",
    )


@migration("0003_buckets_memberships")
def _buckets_memberships(d: SchemaDialect) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE buckets (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        name {d.text} NOT NULL,
        kind {d.text} NOT NULL,
        owner_id {d.text},
        created_by {d.text},
        created_at {d.integer} NOT NULL,
        version {d.integer} NOT NULL
    {d.table_end()}""",
        "CREATE INDEX buckets_by_team ON buckets (team_id, created_at)",
        f"""CREATE TABLE bucket_grants (
        bucket_id {d.text} NOT NULL REFERENCES buckets (id) ON DELETE CASCADE,
        member_id {d.text} NOT NULL,
        team_id {d.text} NOT NULL,
        level {d.text} NOT NULL,
        can_view_conversations {d.integer} NOT NULL,
        PRIMARY KEY (bucket_id, member_id)
    {d.table_end(without_rowid=True)}""",
        "CREATE INDEX bucket_grants_by_member ON bucket_grants (team_id, member_id)",
        f"""CREATE TABLE memberships (
        bucket_id {d.text} NOT NULL,
        item_id {d.text} NOT NULL,
        team_id {d.text} NOT NULL,
        added_at {d.integer} NOT NULL,
        added_by {d.text},
        PRIMARY KEY (bucket_id, item_id)
    {d.table_end(without_rowid=True)}""",
        "CREATE INDEX memberships_by_bucket ON memberships (team_id, bucket_id, added_at, item_id)",
        "CREATE INDEX memberships_by_item ON memberships (team_id, item_id, bucket_id)",
    )


@migration("0004_interactions")
def _interactions(d: SchemaDialect) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE interactions (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        kind {d.text} NOT NULL,
        author_id {d.text} NOT NULL,
        occurred_at {d.integer} NOT NULL,
        logged_at {d.integer} NOT NULL,
        outcome {d.text},
        via {d.text},
        reference {d.text},
        body {d.text} NOT NULL
    {d.table_end()}""",
        "CREATE INDEX interactions_by_author ON interactions (team_id, author_id, occurred_at)",
        f"""CREATE TABLE interaction_targets (
        interaction_id {d.text} NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
        target_id {d.text} NOT NULL,
        team_id {d.text} NOT NULL,
        position {d.integer} NOT NULL,
        occurred_at {d.integer} NOT NULL,
        PRIMARY KEY (interaction_id, target_id)
    {d.table_end(without_rowid=True)}""",
        """CREATE INDEX interaction_targets_by_target
        ON interaction_targets (team_id, target_id, occurred_at DESC, interaction_id DESC)""",
    )


@migration("0005_outbox")
def _outbox(d: SchemaDialect) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE outbox (
        seq {d.auto_key},
        team_id {d.text} NOT NULL,
        name {d.text} NOT NULL,
        subject_id {d.text} NOT NULL,
        occurred_at {d.integer} NOT NULL,
        event {d.text} NOT NULL
    {d.table_end()}""",
        "CREATE INDEX outbox_by_team ON outbox (team_id, seq)",
    )


@migration("0008_bucket_team_access")
def _bucket_team_access(d: SchemaDialect) -> tuple[str, ...]:
    return (
        # A team bucket shared with the whole team (NULL: not shared that way) and
        # seed 000's omni-bucket flag; see teamcrm.bucket.TeamAccess.
        f"ALTER TABLE buckets ADD COLUMN team_level {d.text}",
        f"ALTER TABLE buckets ADD COLUMN team_conversations {d.integer} NOT NULL DEFAULT 0",
        f"ALTER TABLE buckets ADD COLUMN holds_all {d.integer} NOT NULL DEFAULT 0",
        "CREATE INDEX buckets_holding_all ON buckets (team_id) WHERE holds_all = 1",
    )


@migration("0010_contact_opt_out")
def _contact_opt_out(d: SchemaDialect) -> tuple[str, ...]:
    return (
        # Contact.email_opt_out and Contact.opted_out_at (microseconds, UTC);
        # see teamcrm.outgoing: programs and campaigns skip opted-out contacts.
        f"ALTER TABLE contacts ADD COLUMN email_opt_out {d.integer} NOT NULL DEFAULT 0",
        f"ALTER TABLE contacts ADD COLUMN opted_out_at {d.integer}",
        # EmailAddress.bounced: a bounce was logged for the address (teamcrm.channels)
        f"ALTER TABLE contact_emails ADD COLUMN bounced {d.integer} NOT NULL DEFAULT 0",
    )


@migration("0011_member_phone_region")
def _member_phone_region(d: SchemaDialect) -> tuple[str, ...]:
    return (
        # A member's own phone region (NULL: the team's); see teamcrm.team.Member.
        f"ALTER TABLE members ADD COLUMN phone_region {d.text}",
    )


# Before ``0300_phone_keys`` re-keys every stored number (teamcrm.adapters.sqlite.phones),
# named to run before every later migration so their stores can write teams and phones.
@migration("0009_phone_columns")
def phone_columns(d: SchemaDialect) -> tuple[str, ...]:
    """``0009_phone_columns``: a team's phone region, a number's display text."""
    return (
        f"ALTER TABLE teams ADD COLUMN phone_region {d.text} DEFAULT 'US'",
        f"ALTER TABLE contact_phones ADD COLUMN display {d.text}",
    )
