"""Notifications."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from teamcrm.ids import PREFIXES
from teamcrm.notification import Notification, NotificationId, NotificationKind
from teamcrm.testing.strategies.fields import custom_fields
from teamcrm.testing.strategies.identifiers import (
    _as_strategy,
    _ids,
    contact_ids,
    member_ids,
    team_ids,
)
from teamcrm.testing.strategies.text_and_time import aware_datetimes, unicode_text
from teamcrm.validation import (
    MAX_BODY,
)

# ------------------------------------------------------------- notifications


def _multiline(max_size: int) -> SearchStrategy[str]:
    """Any text without control characters other than newline and tab."""
    return st.text(
        st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from("\n\t"),
        max_size=max_size,
    )


def notification_ids() -> SearchStrategy[NotificationId]:
    """Well-formed notification ids (``nt_…``)."""
    return _ids(PREFIXES["notification"]).map(NotificationId)


def notifications(
    *,
    team_id: Any = None,
    member_id: Any = None,
    created_at: Any = None,
    read_at: Any = None,
    emailed_at: Any = None,
) -> SearchStrategy[Notification]:
    """:class:`Notification` values: unicode messages (up to the size limit), JSON data.

    *read_at* / *emailed_at* default to ``None`` or any aware datetime.
    """
    big = st.builds(
        lambda ch, n: ch * n,
        st.sampled_from(["x", "\u00e9", "\U0001f600"]),
        st.integers(MAX_BODY - 50, MAX_BODY),
    )
    return st.builds(
        Notification,
        id=notification_ids(),
        team_id=_as_strategy(team_id, team_ids()),
        member_id=_as_strategy(member_id, member_ids()),
        kind=st.sampled_from(NotificationKind),
        subject_id=st.one_of(contact_ids(), unicode_text(max_size=64)),
        message=st.one_of(unicode_text(max_size=300), big),
        created_at=_as_strategy(created_at, aware_datetimes()),
        read_at=_as_strategy(read_at, st.none() | aware_datetimes()),
        emailed_at=_as_strategy(emailed_at, st.none() | aware_datetimes()),
        data=custom_fields(max_size=5),
    )
