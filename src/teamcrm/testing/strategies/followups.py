"""Follow-up policies, touches, due rows, snoozes and tasks."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from teamcrm.followup import (
    MAX_CADENCE,
    Cadence,
    CadenceUnit,
    FollowUpDue,
    FollowUpPolicy,
    PolicyId,
    Snooze,
    Touch,
    TouchKind,
)
from teamcrm.ids import PREFIXES
from teamcrm.task import MAX_NOTE, Task, TaskId, TaskStatus
from teamcrm.testing.strategies.identifiers import (
    _as_strategy,
    _ids,
    bucket_ids,
    contact_ids,
    member_ids,
    team_ids,
)
from teamcrm.testing.strategies.notifications import _multiline
from teamcrm.testing.strategies.text_and_time import aware_datetimes, time_zones

# ----------------------------------------------------------------- follow-ups


def policy_ids() -> SearchStrategy[PolicyId]:
    """Well-formed follow-up policy ids (``fp_…``)."""
    return _ids(PREFIXES["policy"]).map(PolicyId)


def task_ids() -> SearchStrategy[TaskId]:
    """Well-formed task ids (``tk_…``)."""
    return _ids(PREFIXES["task"]).map(TaskId)


def cadences() -> SearchStrategy[Cadence]:
    """:class:`Cadence` values of every unit, from 1 to :data:`~teamcrm.followup.MAX_CADENCE`."""
    return st.builds(
        Cadence,
        count=st.one_of(st.integers(1, 40), st.integers(1, MAX_CADENCE)),
        unit=st.sampled_from(CadenceUnit),
    )


def follow_up_policies(
    *, team_id: Any = None, bucket_id: Any = None, member_id: Any = None, created_by: Any = None
) -> SearchStrategy[FollowUpPolicy]:
    """:class:`FollowUpPolicy` values at version 1, in any IANA time zone."""
    return st.builds(
        FollowUpPolicy,
        id=policy_ids(),
        team_id=_as_strategy(team_id, team_ids()),
        bucket_id=_as_strategy(bucket_id, bucket_ids()),
        member_id=_as_strategy(member_id, member_ids()),
        cadence=cadences(),
        reset_by_team=st.booleans(),
        created_at=aware_datetimes(),
        created_by=_as_strategy(created_by, member_ids()),
        time_zone=time_zones(),
    )


def touches(
    *, team_id: Any = None, contact_id: Any = None, member_id: Any = None, at: Any = None
) -> SearchStrategy[Touch]:
    """:class:`Touch` values (interactions are team-wide or not; *done* is the member's own)."""
    return st.builds(
        Touch,
        team_id=_as_strategy(team_id, team_ids()),
        contact_id=_as_strategy(contact_id, contact_ids()),
        member_id=_as_strategy(member_id, member_ids()),
        at=_as_strategy(at, aware_datetimes()),
        kind=st.sampled_from(TouchKind),
        team_wide=st.booleans(),
    )


def follow_up_dues(
    *,
    team_id: Any = None,
    policy_id: Any = None,
    member_id: Any = None,
    bucket_id: Any = None,
    contact_id: Any = None,
    due_on: Any = None,
) -> SearchStrategy[FollowUpDue]:
    """:class:`FollowUpDue` rows, with or without a counting touch; any date from year 1 to 9999."""

    @st.composite
    def build(draw: st.DrawFn) -> FollowUpDue:
        touched = draw(st.booleans())
        return FollowUpDue(
            team_id=draw(_as_strategy(team_id, team_ids())),
            policy_id=draw(_as_strategy(policy_id, policy_ids())),
            member_id=draw(_as_strategy(member_id, member_ids())),
            bucket_id=draw(_as_strategy(bucket_id, bucket_ids())),
            contact_id=draw(_as_strategy(contact_id, contact_ids())),
            due_on=draw(_as_strategy(due_on, st.dates())),
            since=draw(aware_datetimes()),
            touch_at=draw(aware_datetimes()) if touched else None,
            touch_by=draw(_as_strategy(member_id, member_ids())) if touched else None,
            touch_kind=draw(st.sampled_from(TouchKind)) if touched else None,
        )

    return build()


def snoozes(
    *, team_id: Any = None, member_id: Any = None, contact_id: Any = None
) -> SearchStrategy[Snooze]:
    """:class:`Snooze` values."""
    return st.builds(
        Snooze,
        team_id=_as_strategy(team_id, team_ids()),
        member_id=_as_strategy(member_id, member_ids()),
        contact_id=_as_strategy(contact_id, contact_ids()),
        until=aware_datetimes(),
    )


def tasks(
    *, team_id: Any = None, member_id: Any = None, contact_id: Any = None, created_by: Any = None
) -> SearchStrategy[Task]:
    """:class:`Task` values, open or closed, with multi-line notes up to the size limit."""

    @st.composite
    def build(draw: st.DrawFn) -> Task:
        status = draw(st.sampled_from(TaskStatus))
        note = draw(
            st.one_of(
                st.just(""),
                _multiline(200),
                st.builds(lambda n: "\u00e9\n" * n, st.integers(MAX_NOTE // 2 - 20, MAX_NOTE // 2)),
            )
        )
        return Task(
            id=draw(task_ids()),
            team_id=draw(_as_strategy(team_id, team_ids())),
            member_id=draw(_as_strategy(member_id, member_ids())),
            contact_id=draw(_as_strategy(contact_id, contact_ids())),
            due_at=draw(aware_datetimes()),
            created_at=draw(aware_datetimes()),
            created_by=draw(_as_strategy(created_by, member_ids())),
            note=note,
            status=status,
            closed_at=None if status is TaskStatus.OPEN else draw(aware_datetimes()),
        )

    return build()
