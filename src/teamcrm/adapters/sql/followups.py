"""Follow-up policies, touches, due dates and snoozes (shared by both SQL stores)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from teamcrm.adapters.sql.base import SQLRepository, translated
from teamcrm.adapters.sql.codec import dumps, from_micros, optional_micros, to_micros
from teamcrm.errors import NotFound
from teamcrm.followup import (
    Cadence,
    CadenceUnit,
    FollowUpDue,
    FollowUpPolicy,
    PolicyId,
    Snooze,
    Touch,
    TouchKind,
)
from teamcrm.ids import BucketId, ContactId, MemberId, TeamId
from teamcrm.validation import trusted

__all__ = ["SQLiteFollowUpDues", "SQLiteFollowUpPolicies", "SQLiteSnoozes", "SQLiteTouches"]


# ------------------------------------------------------------------ policies
_POLICY_SELECT = (
    "SELECT id, team_id, bucket_id, member_id, cadence_count, cadence_unit, reset_by_team,"
    " created_at, created_by, time_zone, version FROM followup_policies"
)


def _policy(row: Sequence[Any]) -> FollowUpPolicy:
    pid, tid, bid, mid, count, unit, reset, created, by, zone, version = row
    return trusted(
        FollowUpPolicy,
        id=pid,
        team_id=tid,
        bucket_id=bid,
        member_id=mid,
        cadence=trusted(Cadence, count=count, unit=CadenceUnit(unit)),
        reset_by_team=bool(reset),
        created_at=from_micros(created),
        created_by=by,
        time_zone=zone,
        version=version,
    )


class SQLiteFollowUpPolicies(SQLRepository):
    """Follow-up policies (member M follows up bucket B every cadence C)."""

    kind = "follow-up policy"
    table = "followup_policies"

    @translated
    def get(self, team_id: TeamId, policy_id: PolicyId) -> FollowUpPolicy:
        """Return the policy or raise ``NotFound``."""
        row = self._conn.execute(
            f"{_POLICY_SELECT} WHERE id = ? AND team_id = ?", (policy_id, team_id)
        ).fetchone()
        if row is None:
            raise NotFound(self.kind, policy_id)
        return _policy(row)

    @staticmethod
    def _values(p: FollowUpPolicy) -> dict[str, Any]:
        """The policy's columns but id, team and version, in ``add``'s order."""
        return {
            "bucket_id": p.bucket_id,
            "member_id": p.member_id,
            "cadence_count": p.cadence.count,
            "cadence_unit": p.cadence.unit.value,
            "reset_by_team": int(p.reset_by_team),
            "created_at": to_micros(p.created_at),
            "created_by": p.created_by,
            "time_zone": p.time_zone,
        }

    @translated
    def add(self, policy: FollowUpPolicy) -> None:
        """Insert a new policy."""
        self._insert(
            policy.id,
            "INSERT INTO followup_policies (id, team_id, bucket_id, member_id, cadence_count,"
            " cadence_unit, reset_by_team, created_at, created_by, time_zone, version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (policy.id, policy.team_id, *self._values(policy).values(), policy.version),
        )

    @translated
    def update(self, policy: FollowUpPolicy) -> None:
        """Replace the stored policy whose version is ``policy.version - 1``."""
        self._update_versioned(policy.id, policy.team_id, policy.version, self._values(policy))

    @translated
    def delete(self, team_id: TeamId, policy_id: PolicyId, version: int) -> None:
        """Delete the policy (and its due rows) if its stored version is *version*."""
        self._delete_versioned(team_id, policy_id, version)
        self._conn.execute(
            "DELETE FROM followup_dues WHERE team_id = ? AND policy_id = ?", (team_id, policy_id)
        )

    def _where(self, clause: str, params: tuple[Any, ...]) -> list[FollowUpPolicy]:
        rows = self._conn.execute(
            f"{_POLICY_SELECT} WHERE team_id = ? {clause} ORDER BY created_at, id", params
        )
        return [_policy(r) for r in rows]

    @translated
    def all(self, team_id: TeamId) -> list[FollowUpPolicy]:
        """Return every policy of the team, ordered by ``created_at`` then id."""
        return self._where("", (team_id,))

    @translated
    def for_buckets(self, team_id: TeamId, bucket_ids: Iterable[BucketId]) -> list[FollowUpPolicy]:
        """Return the policies on any of *bucket_ids*, ordered by ``created_at`` then id."""
        return self._where(
            f"AND {self._dialect.ids_in('bucket_id')}",
            (team_id, dumps(list(dict.fromkeys(bucket_ids)))),
        )

    @translated
    def for_member(self, team_id: TeamId, member_id: MemberId) -> list[FollowUpPolicy]:
        """Return the policies *member_id* is responsible for, by ``created_at`` then id."""
        return self._where("AND member_id = ?", (team_id, member_id))


# ------------------------------------------------------------------- touches
def _touch(row: Sequence[Any]) -> Touch:
    tid, cid, mid, at, kind, team_wide = row
    return trusted(
        Touch,
        team_id=tid,
        contact_id=cid,
        member_id=mid,
        at=from_micros(at),
        kind=TouchKind(kind),
        team_wide=bool(team_wide),
    )


def _touch_row(t: Touch) -> tuple[Any, ...]:
    return (t.team_id, t.contact_id, t.member_id, to_micros(t.at), t.kind.value, int(t.team_wide))


_TOUCH_COLS = "team_id, contact_id, member_id, at, kind, team_wide"


class SQLiteTouches(SQLRepository):
    """Last touches per contact (team-wide) and per (contact, member); pending future touches."""

    kind = "touch"
    table = "touches_member"

    @translated
    def record(self, touches: Sequence[Touch]) -> None:
        """Remember *touches*; a stored touch is replaced only by a newer one."""
        rows = [_touch_row(t) for t in touches]
        if not rows:
            return
        newer = "SET member_id = excluded.member_id, at = excluded.at, kind = excluded.kind,"
        newer += " team_wide = excluded.team_wide"
        self._conn.executemany(
            f"INSERT INTO touches_member ({_TOUCH_COLS}) VALUES (?, ?, ?, ?, ?, ?)"
            f" ON CONFLICT (team_id, contact_id, member_id) DO UPDATE {newer}"
            " WHERE excluded.at > touches_member.at",
            rows,
        )
        team_rows = [r for r, t in zip(rows, touches, strict=True) if t.team_wide]
        if team_rows:
            self._conn.executemany(
                f"INSERT INTO touches_team ({_TOUCH_COLS}) VALUES (?, ?, ?, ?, ?, ?)"
                f" ON CONFLICT (team_id, contact_id) DO UPDATE {newer}"
                " WHERE excluded.at > touches_team.at",
                team_rows,
            )

    @translated
    def team_latest(self, team_id: TeamId, contact_ids: Iterable[ContactId]) -> dict[str, Touch]:
        """Return the newest team-wide touch of each contact that has one, by contact id."""
        wanted = list(dict.fromkeys(contact_ids))
        if not wanted:
            return {}
        rows = self._conn.execute(
            f"SELECT {_TOUCH_COLS} FROM touches_team WHERE team_id = ?"
            f" AND {self._dialect.ids_in('contact_id')}",
            (team_id, dumps(wanted)),
        )
        found = {r[1]: _touch(r) for r in rows}
        return {cid: found[cid] for cid in wanted if cid in found}

    @translated
    def member_latest(
        self, team_id: TeamId, contact_ids: Iterable[ContactId]
    ) -> dict[tuple[str, str], Touch]:
        """Return the newest touch per (contact id, member id) of the given contacts."""
        wanted = list(dict.fromkeys(contact_ids))
        if not wanted:
            return {}
        rows = self._conn.execute(
            f"SELECT {_TOUCH_COLS} FROM touches_member WHERE team_id = ?"
            f" AND {self._dialect.ids_in('contact_id')}",
            (team_id, dumps(wanted)),
        )
        return {(r[1], r[2]): _touch(r) for r in rows}

    @translated
    def add_pending(self, touches: Sequence[Touch]) -> None:
        """Keep touches dated in the future until they are settled."""
        if touches:
            self._conn.executemany(
                f"INSERT INTO touches_pending ({_TOUCH_COLS}) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (team_id, contact_id, member_id, at, team_wide)"
                " DO UPDATE SET kind = excluded.kind",
                [_touch_row(t) for t in touches],
            )

    @translated
    def pending(self, team_id: TeamId, up_to: datetime) -> list[Touch]:
        """Return the pending touches dated at or before *up_to*, oldest first."""
        rows = self._conn.execute(
            f"SELECT {_TOUCH_COLS} FROM touches_pending WHERE team_id = ? AND at <= ?"
            " ORDER BY at, contact_id, member_id, rowid",
            (team_id, to_micros(up_to)),
        )
        return [_touch(r) for r in rows]

    @translated
    def drop_pending(self, team_id: TeamId, up_to: datetime) -> None:
        """Forget the pending touches dated at or before *up_to*."""
        self._conn.execute(
            "DELETE FROM touches_pending WHERE team_id = ? AND at <= ?",
            (team_id, to_micros(up_to)),
        )

    @translated
    def forget(self, team_id: TeamId, contact_ids: Sequence[ContactId]) -> None:
        """Forget every touch of *contact_ids* (merged away)."""
        ids = dumps(list(dict.fromkeys(contact_ids)))
        for table in ("touches_team", "touches_member", "touches_pending"):
            self._conn.execute(
                f"DELETE FROM {table} WHERE team_id = ? AND {self._dialect.ids_in('contact_id')}",
                (team_id, ids),
            )


# ---------------------------------------------------------------- due rows
_DUE_COLS = (
    "team_id, policy_id, member_id, bucket_id, contact_id, due_on, since, touch_at,"
    " touch_by, touch_kind"
)


def _due(row: Sequence[Any]) -> FollowUpDue:
    tid, pid, mid, bid, cid, due_on, since, touch_at, touch_by, touch_kind = row
    return trusted(
        FollowUpDue,
        team_id=tid,
        policy_id=pid,
        member_id=mid,
        bucket_id=bid,
        contact_id=cid,
        due_on=date.fromisoformat(due_on),
        since=from_micros(since),
        touch_at=None if touch_at is None else from_micros(touch_at),
        touch_by=touch_by,
        touch_kind=None if touch_kind is None else TouchKind(touch_kind),
    )


class SQLiteFollowUpDues(SQLRepository):
    """The computed due date of each (policy, contact); ``due_on`` is ISO text (sorts)."""

    kind = "follow-up due row"
    table = "followup_dues"

    @translated
    def put_many(self, rows: Sequence[FollowUpDue]) -> None:
        """Insert or replace rows, keyed by (policy id, contact id)."""
        if not rows:
            return
        self._conn.executemany(
            f"INSERT INTO followup_dues ({_DUE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (policy_id, contact_id) DO UPDATE SET team_id = excluded.team_id,"
            " member_id = excluded.member_id, bucket_id = excluded.bucket_id,"
            " due_on = excluded.due_on, since = excluded.since, touch_at = excluded.touch_at,"
            " touch_by = excluded.touch_by, touch_kind = excluded.touch_kind",
            [
                (
                    r.team_id,
                    r.policy_id,
                    r.member_id,
                    r.bucket_id,
                    r.contact_id,
                    r.due_on.isoformat(),
                    to_micros(r.since),
                    optional_micros(r.touch_at),
                    r.touch_by,
                    None if r.touch_kind is None else r.touch_kind.value,
                )
                for r in rows
            ],
        )

    @translated
    def delete(
        self, team_id: TeamId, policy_ids: Iterable[str], contact_ids: Iterable[str]
    ) -> None:
        """Delete the rows of every given policy for every given contact."""
        self._conn.execute(
            "DELETE FROM followup_dues WHERE team_id = ?"
            f" AND {self._dialect.ids_in('policy_id')}"
            f" AND {self._dialect.ids_in('contact_id')}",
            (team_id, dumps(list(policy_ids)), dumps(list(contact_ids))),
        )

    @translated
    def delete_policy(self, team_id: TeamId, policy_id: PolicyId) -> None:
        """Delete every row of a policy."""
        self._conn.execute(
            "DELETE FROM followup_dues WHERE team_id = ? AND policy_id = ?", (team_id, policy_id)
        )

    @translated
    def for_contacts(
        self, team_id: TeamId, member_id: MemberId, contact_ids: Iterable[str]
    ) -> list[FollowUpDue]:
        """Return the member's rows for the given contacts, by (due_on, contact, policy)."""
        rows = self._conn.execute(
            f"SELECT {_DUE_COLS} FROM followup_dues WHERE team_id = ? AND member_id = ?"
            f" AND {self._dialect.ids_in('contact_id')}"
            " ORDER BY due_on, contact_id, policy_id",
            (team_id, member_id, dumps(list(dict.fromkeys(contact_ids)))),
        )
        return [_due(r) for r in rows]

    @translated
    def page(
        self,
        team_id: TeamId,
        member_id: MemberId,
        due_by: date,
        at: datetime,
        after: tuple[date, str, str] | None,
        limit: int,
    ) -> list[FollowUpDue]:
        """Return up to *limit* of the member's rows due by *due_by*, unsnoozed at *at*."""
        params: list[Any] = [team_id, member_id, due_by.isoformat()]
        keyset = ""
        if after is not None:
            keyset = " AND (d.due_on, d.contact_id, d.policy_id) > (?, ?, ?)"
            params += [after[0].isoformat(), after[1], after[2]]
        params += [to_micros(at), limit]
        cols = ", ".join(f"d.{c.strip()}" for c in _DUE_COLS.split(","))
        rows = self._conn.execute(
            f"SELECT {cols} FROM followup_dues d WHERE d.team_id = ? AND d.member_id = ?"
            f" AND d.due_on <= ?{keyset} AND NOT EXISTS (SELECT 1 FROM snoozes s"
            " WHERE s.team_id = d.team_id AND s.member_id = d.member_id"
            " AND s.contact_id = d.contact_id AND s.until > ?)"
            " ORDER BY d.due_on, d.contact_id, d.policy_id LIMIT ?",
            params,
        )
        return [_due(r) for r in rows]


# ------------------------------------------------------------------- snoozes
class SQLiteSnoozes(SQLRepository):
    """Snoozes of contacts on members' follow-up lists."""

    kind = "snooze"
    table = "snoozes"

    @translated
    def put(self, snooze: Snooze) -> None:
        """Set (or replace) the member's snooze of the contact."""
        self._conn.execute(
            "INSERT INTO snoozes (team_id, member_id, contact_id, until) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (team_id, member_id, contact_id) DO UPDATE SET until = excluded.until",
            (snooze.team_id, snooze.member_id, snooze.contact_id, to_micros(snooze.until)),
        )

    @translated
    def get(self, team_id: TeamId, member_id: MemberId, contact_id: ContactId) -> Snooze | None:
        """Return the member's snooze of the contact, or ``None``."""
        row = self._conn.execute(
            "SELECT until FROM snoozes WHERE team_id = ? AND member_id = ? AND contact_id = ?",
            (team_id, member_id, contact_id),
        ).fetchone()
        if row is None:
            return None
        return trusted(
            Snooze,
            team_id=team_id,
            member_id=member_id,
            contact_id=contact_id,
            until=from_micros(row[0]),
        )

    @translated
    def remove(self, team_id: TeamId, member_id: MemberId, contact_id: ContactId) -> None:
        """Remove the member's snooze of the contact (no-op if none)."""
        self._conn.execute(
            "DELETE FROM snoozes WHERE team_id = ? AND member_id = ? AND contact_id = ?",
            (team_id, member_id, contact_id),
        )

    @translated
    def all(self, team_id: TeamId) -> list[Snooze]:
        """Return every snooze of the team, by (member id, contact id)."""
        rows = self._conn.execute(
            "SELECT member_id, contact_id, until FROM snoozes WHERE team_id = ?"
            " ORDER BY member_id, contact_id",
            (team_id,),
        )
        return [
            trusted(Snooze, team_id=team_id, member_id=m, contact_id=c, until=from_micros(u))
            for m, c, u in rows
        ]
