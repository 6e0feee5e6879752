"""Programs, enrolments, opportunities and cases, campaigns (shared tables)."""

from __future__ import annotations

from teamcrm.adapters.sql.ddl import SchemaDialect
from teamcrm.adapters.sql.migrations import migration

__all__: list[str] = []


@migration("0400_programs")
def _programs(d: SchemaDialect) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE programs (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        owner_id {d.text} NOT NULL,
        data {d.text} NOT NULL,
        version {d.integer} NOT NULL
    {d.table_end()}""",
        "CREATE INDEX programs_by_team ON programs (team_id, id)",
        f"""CREATE TABLE program_enrolments (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        program_id {d.text} NOT NULL REFERENCES programs (id) ON DELETE CASCADE,
        contact_id {d.text} NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
        enrolled_at {d.integer} NOT NULL,
        due_at {d.integer} NOT NULL,
        state {d.text} NOT NULL,
        step_index {d.integer} NOT NULL,
        attempts {d.integer} NOT NULL,
        lease_owner {d.text},
        lease_until {d.integer},
        stop_reason {d.text},
        last_error {d.text},
        finished_at {d.integer},
        version {d.integer} NOT NULL
    {d.table_end()}""",
        "CREATE UNIQUE INDEX program_enrolments_one_active ON program_enrolments"
        " (program_id, contact_id) WHERE state = 'active'",
        "CREATE INDEX program_enrolments_due ON program_enrolments (due_at, id)"
        " WHERE state = 'active'",
        "CREATE INDEX program_enrolments_by_contact ON program_enrolments (contact_id)",
        "CREATE INDEX program_enrolments_by_program ON program_enrolments (program_id)",
    )


@migration("0450_enrolment_companies")
def _enrolment_companies(d: SchemaDialect) -> tuple[str, ...]:
    return (
        f"ALTER TABLE program_enrolments ADD COLUMN company_id {d.text}",
        "CREATE INDEX program_enrolments_by_company ON program_enrolments (company_id)"
        " WHERE company_id IS NOT NULL",
    )


@migration("0410_opportunities_cases")
def _opportunities_cases(d: SchemaDialect) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE opportunities (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        title {d.text} NOT NULL,
        value {d.text} NOT NULL,
        currency {d.text} NOT NULL,
        stage {d.text} NOT NULL,
        owner_id {d.text} NOT NULL,
        created_by {d.text} NOT NULL,
        created_at {d.integer} NOT NULL,
        updated_at {d.integer} NOT NULL,
        version {d.integer} NOT NULL
    {d.table_end()}""",
        "CREATE INDEX opportunities_by_team ON opportunities (team_id, created_at)",
        f"""CREATE TABLE cases (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        title {d.text} NOT NULL,
        status {d.text} NOT NULL,
        created_by {d.text} NOT NULL,
        created_at {d.integer} NOT NULL,
        updated_at {d.integer} NOT NULL,
        version {d.integer} NOT NULL
    {d.table_end()}""",
        "CREATE INDEX cases_by_team ON cases (team_id, created_at)",
        f"""CREATE TABLE record_contacts (
        record_id {d.text} NOT NULL,
        position {d.integer} NOT NULL,
        team_id {d.text} NOT NULL,
        contact_id {d.text} NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
        PRIMARY KEY (record_id, position)
    {d.table_end(without_rowid=True)}""",
        "CREATE INDEX record_contacts_by_contact ON record_contacts (contact_id, record_id)",
        f"""CREATE TABLE record_companies (
        record_id {d.text} NOT NULL,
        position {d.integer} NOT NULL,
        team_id {d.text} NOT NULL,
        company_id {d.text} NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
        PRIMARY KEY (record_id, position)
    {d.table_end(without_rowid=True)}""",
        "CREATE INDEX record_companies_by_company ON record_companies (company_id, record_id)",
        f"""CREATE TABLE record_notes (
        record_id {d.text} NOT NULL,
        interaction_id {d.text} NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
        team_id {d.text} NOT NULL,
        PRIMARY KEY (record_id, interaction_id)
    {d.table_end(without_rowid=True)}""",
        "CREATE INDEX record_notes_by_interaction ON record_notes (interaction_id)",
    )


@migration("0440_campaigns")
def _campaigns(d: SchemaDialect) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE campaigns (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        state {d.text} NOT NULL,
        data {d.text} NOT NULL,
        version {d.integer} NOT NULL
    {d.table_end()}""",
        "CREATE INDEX campaigns_by_team ON campaigns (team_id, id)",
        f"""CREATE TABLE campaign_sends (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        campaign_id {d.text} NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
        contact_id {d.text} NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
        due_at {d.integer} NOT NULL,
        state {d.text} NOT NULL,
        reason {d.text},
        attempts {d.integer} NOT NULL,
        lease_owner {d.text},
        lease_until {d.integer},
        finished_at {d.integer},
        version {d.integer} NOT NULL
    {d.table_end()}""",
        "CREATE UNIQUE INDEX campaign_sends_one_per_contact"
        " ON campaign_sends (campaign_id, contact_id)",
        "CREATE INDEX campaign_sends_due ON campaign_sends (due_at, id) WHERE state = 'pending'",
        "CREATE INDEX campaign_sends_by_contact ON campaign_sends (contact_id)",
    )
