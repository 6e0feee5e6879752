"""The in-memory store: for tests, notebooks and as the reference adapter.

Units of work are serialised by one lock per store (nesting them is refused), so the store is
safe to share between threads.  Every change is journalled and undone on
rollback, so a unit that fails leaves nothing behind.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from teamcrm.adapters.memory.campaigns import MemoryCampaigns, MemoryCampaignSends
from teamcrm.adapters.memory.entities import (
    _Buckets,
    _Companies,
    _Contacts,
    _Interactions,
    _Members,
    _Memberships,
    _Teams,
)
from teamcrm.adapters.memory.followups import (
    _FollowUpDues,
    _FollowUpPolicies,
    _Snoozes,
    _Tasks,
    _Touches,
)
from teamcrm.adapters.memory.notifications import _DigestState, _Notifications
from teamcrm.adapters.memory.outbox import _ConsumerPositions, _Outbox, _Position
from teamcrm.adapters.memory.programs import MemoryEnrolments, MemoryPrograms
from teamcrm.adapters.memory.records import MemoryRecords
from teamcrm.adapters.memory.routing import (
    _InboundBuckets,
    _Intake,
    _LeadPools,
    _Leads,
    _Offers,
    _RoutingCursors,
)
from teamcrm.adapters.memory.tables import MemoryTables, _Journal, _Log, _Table
from teamcrm.adapters.memory.views import _SavedFilters, _Views
from teamcrm.bucket import Bucket, BucketMembership
from teamcrm.campaign import Campaign, CampaignSend
from teamcrm.case import Case
from teamcrm.contact import Company, Contact
from teamcrm.errors import StoreError, ValidationError
from teamcrm.events import OutboxMessage
from teamcrm.followup import FollowUpDue, FollowUpPolicy, Snooze, Touch
from teamcrm.interaction import Interaction
from teamcrm.lead import (
    InboundBucket,
    IntakeRecord,
    Lead,
    Offer,
    RoleSlot,
    RoutingCursor,
)
from teamcrm.notification import Notification
from teamcrm.opportunity import Opportunity, RecordNote
from teamcrm.pool import LeadPool
from teamcrm.program import Enrolment, Program
from teamcrm.repositories import RepositorySpec, check_spec, registered_repositories
from teamcrm.routing import MemberLoad
from teamcrm.search import (
    SavedFilter,
)
from teamcrm.task import Task
from teamcrm.team import Member, Team
from teamcrm.unit_of_work import BaseUnitOfWork

__all__ = ["MemoryStore", "MemoryUnitOfWork"]


class MemoryUnitOfWork(BaseUnitOfWork):
    """A unit of work on a :class:`MemoryStore`; holds the store's lock while open."""

    def __init__(self, store: MemoryStore) -> None:
        super().__init__()
        self._store = store
        self._journal = _Journal()
        s = store
        memberships = _Memberships(s._memberships)
        self.teams = _Teams(s._teams)
        self.members = _Members(s._members)
        self.contacts = _Contacts(s._contacts)
        self.companies = _Companies(s._companies)
        self.buckets = _Buckets(s._buckets, memberships, s._inbound_buckets)
        self.memberships = memberships
        self.interactions = _Interactions(s._interactions)
        self.outbox = _Outbox(s._outbox, s)
        self.consumer_positions = _ConsumerPositions(s._consumer_positions)
        self.notifications = _Notifications(
            s._notifications, s._notification_digests, s._notifications_skipped
        )
        dues = _FollowUpDues(s._followup_dues, s._snoozes)
        self.followup_policies = _FollowUpPolicies(s._followup_policies, dues)
        self.touches = _Touches(s._touches_team, s._touches_member, s._touches_pending)
        self.followup_dues = dues
        self.snoozes = _Snoozes(s._snoozes)
        self.tasks = _Tasks(s._tasks)
        self.lead_pools = _LeadPools(s._lead_pools, s._routing_cursors, s._role_slots)
        self.leads = _Leads(
            s._leads,
            s._leads_open,
            s._leads_keys,
            s._lead_entries,
            s._lead_loads,
            s._lead_receipts,
            s._lead_received,
            s._lead_response_due,
        )
        self.offers = _Offers(s._offers, s._offers_by_lead)
        self.routing_cursors = _RoutingCursors(s._routing_cursors)
        self.inbound_buckets = _InboundBuckets(s._inbound_buckets, s._buckets)
        self.views = _Views(s)
        self.saved_filters = _SavedFilters(s._saved_filters)
        self.intake = _Intake(s._intake)
        self.programs = MemoryPrograms(s._programs, s._enrolments)
        self.enrolments = MemoryEnrolments(s._enrolments)
        self.campaigns = MemoryCampaigns(s._campaigns)
        self.campaign_sends = MemoryCampaignSends(s._campaign_sends, s._campaigns, s._contacts)
        self.records = MemoryRecords(
            s._opportunities, s._cases, s._record_notes, s._contacts, s._companies
        )
        self._specs = specs = s._specs
        for name, spec in specs.items():
            if spec.memory is not None:
                setattr(self, name, spec.memory(MemoryTables(s._spec_tables[name])))

    def _begin(self) -> None:
        if self._store._owner == threading.get_ident():
            # The lock is not re-entrant: a nested unit would share (and corrupt)
            # the outer unit's journal, and a plain Lock would deadlock.
            raise StoreError(
                "a unit of work is already open on this store in this thread; "
                "units of work cannot be nested"
            )
        self._store._lock.acquire()
        self._store._owner = threading.get_ident()
        self._seq_at_start = self._store._seq
        for table in self._store._tables():
            table.journal = self._journal

    def _finish(self) -> None:
        for table in self._store._tables():
            table.journal = None
        self._store._owner = None
        self._store._lock.release()

    def _commit(self) -> None:
        self._journal.undo.clear()
        self._finish()

    def _rollback(self) -> None:
        try:
            self._journal.rollback()
            self._store._seq = self._seq_at_start
        finally:
            self._finish()


class MemoryStore:
    """Everything in Python dicts; lost when the process ends.

    Open it with ``teamcrm.open("memory://")``.
    """

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._owner: int | None = None  # thread holding _lock, to refuse nesting
        self._seq = 0
        self._all_tables: list[_Table[Any, Any]] | None = None  # see _tables
        self._teams: _Table[str, Team] = _Table()
        self._members: _Table[str, Member] = _Table()
        self._contacts: _Table[str, Contact] = _Table()
        self._companies: _Table[str, Company] = _Table()
        self._buckets: _Table[str, Bucket] = _Table()
        self._memberships: _Table[tuple[str, str], BucketMembership] = _Table()
        self._interactions: _Table[str, Interaction] = _Table()
        self._outbox: _Table[int, OutboxMessage] = _Table()
        self._consumer_positions: _Table[tuple[str, str], _Position] = _Table()
        self._notifications: _Table[str, Notification] = _Table()
        self._notification_digests: _Table[tuple[str, str], _DigestState] = _Table()
        self._notifications_skipped: _Table[str, datetime] = _Table()
        self._followup_policies: _Table[str, FollowUpPolicy] = _Table()
        self._touches_team: _Table[tuple[str, str], Touch] = _Table()
        self._touches_member: _Table[tuple[str, str, str], Touch] = _Table()
        self._touches_pending: _Table[tuple[str, str, str, datetime, bool], Touch] = _Table()
        self._followup_dues: _Table[tuple[str, str], FollowUpDue] = _Table()
        self._snoozes: _Table[tuple[str, str, str], Snooze] = _Table()
        self._tasks: _Table[str, Task] = _Table()
        self._lead_pools: _Table[str, LeadPool] = _Table()
        self._leads: _Table[str, Lead] = _Table()
        self._leads_open: _Table[tuple[str, str, str], str] = _Table()
        self._leads_keys: _Table[tuple[str, str, str], str] = _Table()
        self._lead_entries: _Table[tuple[str, str, str], int] = _Table()
        self._lead_loads: _Table[tuple[str, str, str], MemberLoad] = _Table()
        self._lead_receipts: _Table[tuple[str, str, str, str], datetime] = _Table()
        self._lead_received: _Log[tuple[str, str, str]] = _Log()
        self._lead_response_due: _Table[str, datetime] = _Table()
        self._role_slots: _Table[tuple[str, str], RoleSlot] = _Table()
        self._offers: _Table[str, Offer] = _Table()
        self._offers_by_lead: _Table[str, tuple[str, ...]] = _Table()
        self._routing_cursors: _Table[tuple[str, str], RoutingCursor] = _Table()
        self._inbound_buckets: _Table[tuple[str, str], InboundBucket] = _Table()
        self._saved_filters: _Table[str, SavedFilter] = _Table()
        self._intake: _Table[tuple[str, str], IntakeRecord] = _Table()
        self._programs: _Table[str, Program] = _Table()
        self._enrolments: _Table[str, Enrolment] = _Table()
        self._campaigns: _Table[str, Campaign] = _Table()
        self._campaign_sends: _Table[str, CampaignSend] = _Table()
        self._opportunities: _Table[str, Opportunity] = _Table()
        self._cases: _Table[str, Case] = _Table()
        self._record_notes: _Table[tuple[str, str], RecordNote] = _Table()
        #: This store's extra repositories (the defaults of
        #: :func:`teamcrm.register_repository` that have a memory implementation,
        #: copied now), and the tables each owns.  Replaced, never changed in place.
        self._specs: dict[str, RepositorySpec[Any]] = {}
        self._spec_tables: dict[str, dict[str, _Table[Any, Any]]] = {}
        for spec in registered_repositories().values():
            if spec.memory is not None:
                self._add_spec(spec)

    def _add_spec(self, spec: RepositorySpec[Any]) -> None:
        if spec.memory is None:
            raise ValidationError(
                "RepositorySpec.memory", None, f"{spec.name!r} has no memory implementation"
            )
        old = self._spec_tables.get(spec.name, {})
        tables = {name: old.get(name) or _Table() for name in spec.tables}
        self._specs = {**self._specs, spec.name: spec}
        self._spec_tables = {**self._spec_tables, spec.name: tables}
        self._all_tables = None  # derived again, with the spec's tables

    def register_repository(self, spec: RepositorySpec[Any], *, replace: bool = False) -> None:
        """Give this store's units of work (those opened from now on) the repository *spec*.

        The store makes the memory tables the spec declares (``spec.tables``;
        undone on rollback like its own) and builds ``uow.<name>`` with
        ``spec.memory``.  Refused (``ValidationError``): a spec without a
        memory implementation, a core repository's name, a name this store
        has for another spec (unless *replace*), a table another spec owns.
        Other stores do not get it; :func:`teamcrm.register_repository` is the
        default every store copies when it opens.
        """
        check_spec(self._specs, spec, replace=replace)
        if self._owner == threading.get_ident():
            raise StoreError("register repositories between units of work, not inside one")
        with self._lock:  # not between a unit's begin and end
            self._add_spec(spec)

    @property
    def repositories(self) -> dict[str, RepositorySpec[Any]]:
        """This store's extra repositories, by unit-of-work attribute name (a copy)."""
        return dict(self._specs)

    def _tables(self) -> list[_Table[Any, Any]]:
        """Every table of the store (what a unit of work journals and rolls back).

        Derived from the attributes, so a table added to ``__init__`` can never
        be left out of rollback (``tests/adapters/test_memory_store.py`` checks it),
        and from the registered specs' ``tables``.
        """
        if self._all_tables is None:
            tables = [v for v in vars(self).values() if isinstance(v, _Table)]
            tables += [t for owned in self._spec_tables.values() for t in owned.values()]
            self._all_tables = tables
        return self._all_tables

    def unit_of_work(self, *, write: bool = True) -> MemoryUnitOfWork:
        """Return a new unit of work (``write`` is accepted for protocol parity)."""
        return MemoryUnitOfWork(self)

    def close(self) -> None:
        """Nothing to release; provided for protocol parity."""

    def __repr__(self) -> str:
        return f"MemoryStore({self.url!r})"
