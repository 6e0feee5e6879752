"""An enrolment: one run of a program for one contact, its state, retries and ending.

:class:`Enrolment` holds which step comes next and when, the lease of the
worker running it, and how it ended (completed, stopped with a
:class:`StopReason`, or failed after :data:`MAX_ATTEMPTS` tries, waiting
:func:`backoff` between them); enrolment ids are in :mod:`teamcrm.program_ids`.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from teamcrm.errors import ValidationError
from teamcrm.ids import PREFIXES, CompanyId, ContactId, TeamId
from teamcrm.program_ids import EnrolmentId, ProgramId
from teamcrm.program_steps import MAX_STEPS
from teamcrm.validation import Checker

__all__ = [
    "BACKOFF",
    "MAX_ATTEMPTS",
    "Enrolment",
    "EnrolmentState",
    "StopReason",
    "backoff",
]

#: Tries of one step whose side effect fails before the enrolment is marked failed.
MAX_ATTEMPTS = 5
#: Wait before the first retry of a failed step; doubled for each further try.
BACKOFF = timedelta(minutes=1)


def backoff(attempts: int) -> timedelta:
    """The wait before trying a step again after its *attempts*-th failure (1, 2, 4... min)."""
    factor: int = 2 ** max(0, min(attempts - 1, 16))
    return BACKOFF * factor


class EnrolmentState(enum.StrEnum):
    """Where one run of a program for one contact stands."""

    ACTIVE = "active"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"


class StopReason(enum.StrEnum):
    """Why an enrolment stopped before its last step."""

    LEFT_BUCKET = "left_bucket"
    #: the company the run was started for left the bucket (or was deleted)
    COMPANY_LEFT_BUCKET = "company_left_bucket"
    REPLIED = "replied"
    OPTED_OUT = "opted_out"
    PROGRAM_PAUSED = "program_paused"
    CONDITION = "condition"
    NOT_VISIBLE = "not_visible"
    OWNER_INACTIVE = "owner_inactive"


@attrs.frozen(kw_only=True)
class Enrolment:
    """One run of a program for one contact.

    :ivar step_index: the next step to run (``len(steps)``: none left).
    :ivar due_at: when the next step is due.
    :ivar attempts: failed tries of the next step so far.
    :ivar lease_owner: the worker running the next step now (``None``: nobody).
    :ivar lease_until: when that worker's claim expires (another may then take it).
    :ivar stop_reason: why it stopped (``stopped`` only).
    :ivar last_error: what the last failed try reported.
    :ivar finished_at: when it completed, stopped or failed.
    :ivar company_id: ``company_bucket_entered``: the company whose entry into
        the program's bucket started this run (its leaving stops it);
        ``None`` for every other trigger.
    """

    id: EnrolmentId
    team_id: TeamId
    program_id: ProgramId
    contact_id: ContactId
    enrolled_at: datetime
    due_at: datetime
    state: EnrolmentState = EnrolmentState.ACTIVE
    step_index: int = 0
    attempts: int = 0
    lease_owner: str | None = None
    lease_until: datetime | None = None
    stop_reason: StopReason | None = None
    last_error: str | None = None
    finished_at: datetime | None = None
    version: int = 1
    company_id: CompanyId | None = None

    def __attrs_post_init__(self) -> None:
        c = Checker(self)
        c.ident("id", PREFIXES["enrolment"])
        c.optional_ident("company_id", PREFIXES["company"])
        c.ident("team_id", PREFIXES["team"])
        c.ident("program_id", PREFIXES["program"])
        c.ident("contact_id", PREFIXES["contact"])
        c.utc("enrolled_at")
        c.utc("due_at")
        c.enum("state", EnrolmentState)
        c.integer("step_index", maximum=MAX_STEPS)
        c.integer("attempts", maximum=1000)
        c.optional_text("lease_owner", max_len=200)
        c.optional_utc("lease_until")
        if self.stop_reason is not None:
            c.enum("stop_reason", StopReason)
        if (self.state is EnrolmentState.STOPPED) != (self.stop_reason is not None):
            raise ValidationError(c.name("stop_reason"), self.stop_reason, "only when stopped")
        c.optional_text("last_error", max_len=2000, multiline=True)
        c.optional_utc("finished_at")
        if (self.state is EnrolmentState.ACTIVE) != (self.finished_at is None):
            raise ValidationError(c.name("finished_at"), self.finished_at, "only when finished")
        c.integer("version", minimum=1)

    @property
    def active(self) -> bool:
        """True while steps remain to run."""
        return self.state is EnrolmentState.ACTIVE

    def stopped(self, reason: StopReason, at: datetime) -> Enrolment:
        """This run stopped at *at* for *reason* (next version, lease released)."""
        return attrs.evolve(
            self,
            state=EnrolmentState.STOPPED,
            stop_reason=reason,
            finished_at=at,
            lease_owner=None,
            lease_until=None,
            version=self.version + 1,
        )

    def advanced(self, steps: int, at: datetime, due_at: datetime | None = None) -> Enrolment:
        """This run after its next step succeeded at *at*: the following step is due at *due_at*.

        Completed when no step of the *steps* is left.  The lease is released.
        """
        index = self.step_index + 1
        done = index >= steps
        return attrs.evolve(
            self,
            step_index=index,
            state=EnrolmentState.COMPLETED if done else EnrolmentState.ACTIVE,
            finished_at=at if done else None,
            due_at=at if due_at is None else due_at,
            attempts=0,
            last_error=None,
            lease_owner=None,
            lease_until=None,
            version=self.version + 1,
        )

    def retried(self, error: str, at: datetime, *, max_attempts: int = MAX_ATTEMPTS) -> Enrolment:
        """This run after its next step failed at *at* with *error*.

        Due again after :func:`backoff`, or ``failed`` once *max_attempts* tries failed.
        """
        attempts = self.attempts + 1
        failed = attempts >= max_attempts
        return attrs.evolve(
            self,
            attempts=attempts,
            last_error=error[:2000] or "failed",
            state=EnrolmentState.FAILED if failed else EnrolmentState.ACTIVE,
            finished_at=at if failed else None,
            due_at=self.due_at if failed else at + backoff(attempts),
            lease_owner=None,
            lease_until=None,
            version=self.version + 1,
        )
