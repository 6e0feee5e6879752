"""PostgreSQL repositories whose writes may travel with the unit's next round trip.

Inside a unit's ``send_later()`` block (see
:class:`~teamcrm.adapters.postgres.connection.PGConnection`), these writes
are queued instead of sent one by one: nothing reads their results, and
they can fail only by a server error, raised by the round trip that carries
them (a taken key as ``AlreadyExists`` naming the record).  Outside the
block they are the shared statements, sent as they are run.  The specs of
:mod:`teamcrm.core_repositories` name them (``postgres="later:..."``).

* :class:`PGInteractions` - ``add`` (the interaction and its targets);
* :class:`PGTouches` - ``record`` (upserts: only a newer touch replaces one);
* :class:`PGFollowUpDues` - ``put_many`` (upserts) and ``delete``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence

from teamcrm.adapters.postgres.repositories import pg
from teamcrm.adapters.sql.base import SQLRepository
from teamcrm.adapters.sql.followups import SQLiteFollowUpDues, SQLiteTouches
from teamcrm.adapters.sql.interactions import SQLiteInteractions
from teamcrm.followup import FollowUpDue, Touch
from teamcrm.ids import TeamId
from teamcrm.interaction import Interaction

__all__ = ["PGFollowUpDues", "PGInteractions", "PGTouches"]


@contextlib.contextmanager
def _later(repository: SQLRepository, key: object) -> Iterator[None]:
    """Queue what the block runs when the unit is in its ``send_later()`` block."""
    conn = pg(repository)
    if not conn.sending_later:
        yield
        return
    with conn.queueing(repository.kind, key):
        yield


class PGInteractions(SQLiteInteractions):
    """Interactions; inside ``send_later()`` a new one is inserted with the next round trip."""

    def add(self, interaction: Interaction) -> None:
        """Insert a new interaction and its targets (see the module for ``send_later``)."""
        with _later(self, interaction.id):
            super().add(interaction)


class PGTouches(SQLiteTouches):
    """Touches; inside ``send_later()`` they are recorded with the next round trip."""

    def record(self, touches: Sequence[Touch]) -> None:
        """Remember *touches* (see the module for ``send_later``)."""
        with _later(self, touches[0].contact_id if touches else None):
            super().record(touches)


class PGFollowUpDues(SQLiteFollowUpDues):
    """Due rows; inside ``send_later()`` they are written with the next round trip."""

    def put_many(self, rows: Sequence[FollowUpDue]) -> None:
        """Insert or replace rows (see the module for ``send_later``)."""
        with _later(self, rows[0].contact_id if rows else None):
            super().put_many(rows)

    def delete(
        self, team_id: TeamId, policy_ids: Iterable[str], contact_ids: Iterable[str]
    ) -> None:
        """Delete the rows of the policies for the contacts (see the module for ``send_later``)."""
        with _later(self, None):
            super().delete(team_id, policy_ids, contact_ids)
