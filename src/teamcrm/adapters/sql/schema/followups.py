"""Follow-up policies, touches, due dates, snoozes, tasks and notifications (shared tables)."""

from __future__ import annotations

from teamcrm.adapters.sql.ddl import SchemaDialect
from teamcrm.adapters.sql.migrations import migration

__all__: list[str] = []


@migration("0006_followups")
def _followups(d: SchemaDialect) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE followup_policies (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        bucket_id {d.text} NOT NULL,
        member_id {d.text} NOT NULL,
        cadence_count {d.integer} NOT NULL,
        cadence_unit {d.text} NOT NULL,
        reset_by_team {d.integer} NOT NULL,
        created_at {d.integer} NOT NULL,
        created_by {d.text} NOT NULL,
        time_zone {d.text} NOT NULL,
        version {d.integer} NOT NULL
    {d.table_end()}""",
        "CREATE INDEX followup_policies_by_team ON followup_policies (team_id, created_at, id)",
        "CREATE INDEX followup_policies_by_bucket ON followup_policies (team_id, bucket_id)",
        "CREATE INDEX followup_policies_by_member ON followup_policies (team_id, member_id)",
        f"""CREATE TABLE touches_team (
        team_id {d.text} NOT NULL,
        contact_id {d.text} NOT NULL,
        member_id {d.text} NOT NULL,
        at {d.integer} NOT NULL,
        kind {d.text} NOT NULL,
        team_wide {d.integer} NOT NULL,
        PRIMARY KEY (team_id, contact_id)
    {d.table_end(without_rowid=True)}""",
        f"""CREATE TABLE touches_member (
        team_id {d.text} NOT NULL,
        contact_id {d.text} NOT NULL,
        member_id {d.text} NOT NULL,
        at {d.integer} NOT NULL,
        kind {d.text} NOT NULL,
        team_wide {d.integer} NOT NULL,
        PRIMARY KEY (team_id, contact_id, member_id)
    {d.table_end(without_rowid=True)}""",
        f"""CREATE TABLE touches_pending (
        team_id {d.text} NOT NULL,
        contact_id {d.text} NOT NULL,
        member_id {d.text} NOT NULL,
        at {d.integer} NOT NULL,
        team_wide {d.integer} NOT NULL,
        kind {d.text} NOT NULL,
        UNIQUE (team_id, contact_id, member_id, at, team_wide)
    {d.table_end()}""",
        "CREATE INDEX touches_pending_by_time ON touches_pending (team_id, at)",
        f"""CREATE TABLE followup_dues (
        policy_id {d.text} NOT NULL,
        contact_id {d.text} NOT NULL,
        team_id {d.text} NOT NULL,
        member_id {d.text} NOT NULL,
        bucket_id {d.text} NOT NULL,
        due_on {d.text} NOT NULL,
        since {d.integer} NOT NULL,
        touch_at {d.integer},
        touch_by {d.text},
        touch_kind {d.text},
        PRIMARY KEY (policy_id, contact_id)
    {d.table_end(without_rowid=True)}""",
        """CREATE INDEX followup_dues_by_member
        ON followup_dues (team_id, member_id, due_on, contact_id, policy_id)""",
        "CREATE INDEX followup_dues_by_contact ON followup_dues (team_id, contact_id)",
        f"""CREATE TABLE snoozes (
        team_id {d.text} NOT NULL,
        member_id {d.text} NOT NULL,
        contact_id {d.text} NOT NULL,
        until {d.integer} NOT NULL,
        PRIMARY KEY (team_id, member_id, contact_id)
    {d.table_end(without_rowid=True)}""",
        f"""CREATE TABLE tasks (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        member_id {d.text} NOT NULL,
        contact_id {d.text} NOT NULL,
        due_at {d.integer} NOT NULL,
        created_at {d.integer} NOT NULL,
        created_by {d.text} NOT NULL,
        note {d.text} NOT NULL,
        status {d.text} NOT NULL,
        closed_at {d.integer},
        version {d.integer} NOT NULL
    {d.table_end()}""",
        "CREATE INDEX tasks_by_member ON tasks (team_id, member_id, status, due_at, id)",
        "CREATE INDEX tasks_by_contact ON tasks (team_id, contact_id)",
    )


@migration("0007_notifications")
def _notifications(d: SchemaDialect) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE notifications (
        id {d.text} PRIMARY KEY,
        team_id {d.text} NOT NULL,
        member_id {d.text} NOT NULL,
        kind {d.text} NOT NULL,
        subject_id {d.text} NOT NULL,
        message {d.text} NOT NULL,
        created_at {d.integer} NOT NULL,
        read_at {d.integer},
        emailed_at {d.integer},
        data {d.text} NOT NULL DEFAULT '{{}}'
    {d.table_end()}""",
        """CREATE INDEX notifications_by_member
        ON notifications (team_id, member_id, created_at DESC, id DESC)""",
    )


@migration("0090_notification_digests")
def _notification_digests(d: SchemaDialect) -> tuple[str, ...]:
    return (
        f"ALTER TABLE notifications ADD COLUMN email_skipped_at {d.integer}",
        f"""CREATE TABLE notification_digests (
        team_id {d.text} NOT NULL,
        member_id {d.text} NOT NULL,
        last_digest_at {d.integer},
        claim_token {d.text},
        claimed_at {d.integer},
        PRIMARY KEY (team_id, member_id)
    {d.table_end(without_rowid=True)}""",
        """CREATE INDEX notifications_email_queue
        ON notifications (team_id, member_id, created_at, id)
        WHERE emailed_at IS NULL AND email_skipped_at IS NULL""",
    )
