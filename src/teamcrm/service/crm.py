"""The entry point (:class:`CRM`) and the member session that gathers every use case."""

from __future__ import annotations

from datetime import datetime, timedelta

from teamcrm import log
from teamcrm.clock import Clock, SystemClock
from teamcrm.delivery import NotificationChannel
from teamcrm.errors import ValidationError
from teamcrm.events import DomainEvent, EventName
from teamcrm.ids import (
    PREFIXES,
    MemberId,
    TeamId,
    new_member_id,
    new_team_id,
)
from teamcrm.ports import Store
from teamcrm.routing import DEFAULT_STRATEGIES, StrategyRegistry
from teamcrm.sender import Sender
from teamcrm.service.buckets import BucketUseCases
from teamcrm.service.campaign_runner import CampaignRunReport, run_campaigns
from teamcrm.service.campaigns import CampaignUseCases
from teamcrm.service.companies import CompanyUseCases
from teamcrm.service.consumers import CONSUMER_LEASE, OutboxHandler, consume, consumer_position
from teamcrm.service.contacts import ContactUseCases
from teamcrm.service.exporting import ExportUseCases
from teamcrm.service.followups import FollowUpUseCases
from teamcrm.service.importing import ImportUseCases
from teamcrm.service.intake import IntakeUseCases
from teamcrm.service.interactions import InteractionUseCases
from teamcrm.service.merging import MergeUseCases
from teamcrm.service.multi_assign import MultiAssignUseCases
from teamcrm.service.notifications import (
    DEFAULT_LEASE,
    DIGEST_INTERVAL,
    DigestReport,
    NotificationUseCases,
    deliver_notifications,
    send_digests,
)
from teamcrm.service.optout import OptOutUseCases
from teamcrm.service.paging import PagingUseCases
from teamcrm.service.program_runner import DEFAULT_LEASE as PROGRAM_LEASE
from teamcrm.service.program_runner import RunReport, run_programs
from teamcrm.service.programs import ProgramUseCases
from teamcrm.service.reactions import Reactions, default_reactions
from teamcrm.service.records import RecordUseCases
from teamcrm.service.retention import prune_events
from teamcrm.service.routing import enforce_response_windows, expire_offers
from teamcrm.service.routing.dashboard import DashboardPagingUseCases
from teamcrm.service.team import TeamUseCases
from teamcrm.service.views import ViewUseCases
from teamcrm.team import Member, Role, Team, TeamSettings
from teamcrm.validation import (
    check_id,
    utc_datetime,
)

__all__ = ["CRM", "MemberSession"]


class CRM:
    """The entry point: a store, a clock, and the use cases that need no member.

    Prefer :func:`teamcrm.open` to build one.  Use :meth:`as_member` for
    everything done by a member.
    """

    def __init__(self, store: Store, clock: Clock | None = None) -> None:
        if clock is not None and not isinstance(clock, Clock):
            raise ValidationError("clock", clock, "must have a now() method (a teamcrm Clock)")
        self.store = store
        self.clock: Clock = clock if clock is not None else SystemClock()
        #: What happens in the same unit of work after each change (see
        #: :mod:`teamcrm.service.reactions`); this CRM's own registry.
        #: The routing strategies of this CRM: the process-wide defaults
        #: (:data:`teamcrm.routing.DEFAULT_STRATEGIES`) plus what is registered
        #: here alone (``crm.strategies.register(strategy)``).
        self.strategies = StrategyRegistry(parent=DEFAULT_STRATEGIES)
        self.reactions: Reactions = default_reactions(self.strategies)

    def now(self) -> datetime:
        """The current time according to the CRM's clock (aware, UTC)."""
        return utc_datetime("clock.now()", self.clock.now())

    def create_team(
        self,
        name: str,
        *,
        admin_name: str,
        admin_email: str | None = None,
        time_zone: str = "UTC",
        settings: TeamSettings | None = None,
    ) -> tuple[Team, Member]:
        """Create a team and its first admin; return both.

        >>> team, admin = crm.create_team("Acme Realty", admin_name="Ana")  # doctest: +SKIP
        """
        now = self.now()
        team = Team(
            id=new_team_id(),
            name=name,
            created_at=now,
            settings=TeamSettings() if settings is None else settings,
        )
        admin = Member(
            id=new_member_id(),
            team_id=team.id,
            name=admin_name,
            role=Role.ADMIN,
            email=admin_email,
            time_zone=time_zone,
            created_at=now,
        )
        with self.store.unit_of_work() as uow:
            uow.teams.add(team)
            uow.members.add(admin)
            uow.collect(
                DomainEvent(
                    name=EventName.TEAM_CREATED,
                    team_id=team.id,
                    subject_id=team.id,
                    occurred_at=now,
                    data={"name": team.name},
                ),
                DomainEvent(
                    name=EventName.MEMBER_ADDED,
                    team_id=team.id,
                    subject_id=admin.id,
                    occurred_at=now,
                    data={"role": admin.role.value},
                ),
            )
            uow.commit()
        return team, admin

    def as_member(self, member: MemberId | Member | str) -> MemberSession:
        """Return a session acting as *member* (a member or its id).

        Raises ``NotFound`` for an unknown id.  Whether the member is active is
        checked by every call, not here.
        """
        member_id = member.id if isinstance(member, Member) else member
        check_id("member_id", member_id, PREFIXES["member"])
        with self.store.unit_of_work(write=False) as uow:
            found = uow.members.find(MemberId(member_id))
        return MemberSession(self, found.team_id, found.id)

    def send_digests(
        self,
        now: datetime | None,
        sender: Sender,
        *,
        team_id: TeamId | None = None,
        interval: timedelta = DIGEST_INTERVAL,
        lease: timedelta = DEFAULT_LEASE,
    ) -> DigestReport:
        """Email every member who is due one their digest of unsent notifications.

        At most one digest per member per *interval* (an hour); marked sent
        only after *sender* succeeds; safe to run from several processes at
        once.  See :func:`teamcrm.service.notifications.send_digests`.

        >>> report = crm.send_digests(None, SMTPSender("smtp.example.com",
        ...                           from_addr="crm@example.com"))  # doctest: +SKIP
        """
        report = send_digests(self, now, sender, team_id=team_id, interval=interval, lease=lease)
        log.digest.info(
            "digests: %d members emailed (%d notifications), %d skipped, %d claimed elsewhere,"
            " %d failed",
            report.members_emailed,
            report.notifications_sent,
            report.members_skipped,
            report.members_claimed_elsewhere,
            len(report.failures),
        )
        return report

    def deliver_notifications(
        self,
        channel: NotificationChannel,
        *,
        now: datetime | None = None,
        team_id: TeamId | None = None,
        interval: timedelta = DIGEST_INTERVAL,
        lease: timedelta = DEFAULT_LEASE,
    ) -> DigestReport:
        """Deliver members' pending notifications through *channel* (Slack, SMS, a webhook...).

        The same queue, pace and guarantees as :meth:`send_digests` (which is
        this with :class:`~teamcrm.delivery.EmailDigestChannel`).  See
        :mod:`teamcrm.delivery`.
        """
        return deliver_notifications(
            self, now, channel, team_id=team_id, interval=interval, lease=lease
        )

    def consume(
        self,
        name: str,
        handler: OutboxHandler,
        *,
        team_id: TeamId,
        batch: int = 100,
        lease: timedelta = CONSUMER_LEASE,
        max_batches: int | None = None,
    ) -> int:
        """Hand the team's outbox messages consumer *name* has not handled yet to *handler*.

        Resumes where the consumer stopped (a position per consumer and team,
        stored with the data); at least once; safe from several processes.
        Returns how many messages were handled.  See
        :func:`teamcrm.service.consumers.consume`.

        >>> seen = []
        >>> crm.consume("audit", seen.append, team_id=team.id)  # doctest: +SKIP
        """
        return consume(
            self,
            name,
            handler,
            team_id=team_id,
            batch=batch,
            lease=lease,
            max_batches=max_batches,
        )

    def consumer_position(self, name: str, *, team_id: TeamId) -> int:
        """The ``seq`` of the last outbox message consumer *name* handled in the team (0: none)."""
        return consumer_position(self, name, team_id=team_id)

    def prune_events(
        self,
        *,
        older_than: timedelta,
        team_id: TeamId | None = None,
        now: datetime | None = None,
    ) -> int:
        """Delete outbox events older than *older_than* that every consumer of their team read.

        Never removes an event a registered consumer (:meth:`consume`) has
        not handled; a team without consumers is pruned by age alone.  Every
        team when *team_id* is ``None``.  Returns how many were deleted.  See
        :mod:`teamcrm.service.retention`.

        >>> crm.prune_events(older_than=timedelta(days=30))  # doctest: +SKIP
        """
        return prune_events(self, older_than=older_than, team_id=team_id, now=now)

    def expire_offers(self, now: datetime | None = None) -> int:
        """Expire every lead offer whose window has passed (default: by the clock's now).

        Returns how many offers it expired.  Idempotent and safe to run in
        several processes at once; run it from a scheduler every minute or so.
        """
        expired = expire_offers(self, now)
        log.routing.info("offers expired: %d", expired)
        return expired

    def enforce_response_windows(self, now: datetime | None = None) -> int:
        """Reassign leads whose owner let the pool's response window pass; return how many.

        Idempotent and safe in several processes; see
        :func:`teamcrm.service.routing.enforce_response_windows`.
        """
        passed = enforce_response_windows(self, now)
        log.routing.info("response windows enforced: %d leads passed on", passed)
        return passed

    def run_programs(
        self,
        now: datetime | None = None,
        limit: int = 100,
        *,
        lease: timedelta = PROGRAM_LEASE,
        worker: str | None = None,
        sender: Sender | None = None,
    ) -> RunReport:
        """Run the next step of up to *limit* due program runs (every team); report what happened.

        Claims due runs with a lease (several workers, on SQLite or
        PostgreSQL, never run one step twice: the step's effects commit
        together with the run's advance), retries a failing step with
        backoff and marks the run failed after a few tries.  Run it from a
        scheduler or a loop.  *sender* delivers the emails of ``send_email``
        steps (the port the email digest uses).  See
        :mod:`teamcrm.service.program_runner`.

        >>> crm.run_programs()  # doctest: +SKIP
        RunReport(claimed=1, ran=1, completed=1, ...)
        """
        return run_programs(self, now, limit, lease=lease, worker=worker, sender=sender)

    def run_campaigns(
        self,
        now: datetime | None = None,
        limit: int = 100,
        *,
        lease: timedelta = PROGRAM_LEASE,
        worker: str | None = None,
        sender: Sender | None = None,
    ) -> CampaignRunReport:
        """Send up to *limit* due campaign emails (every team); report what happened.

        The same leased claims as :meth:`run_programs` (each recipient's
        email commits once, however many workers run); see
        :mod:`teamcrm.service.campaign_runner`.

        >>> crm.run_campaigns(sender=outbox)  # doctest: +SKIP
        CampaignRunReport(claimed=2, sent=2, ...)
        """
        return run_campaigns(self, now, limit, lease=lease, worker=worker, sender=sender)

    def close(self) -> None:
        """Close the underlying store."""
        self.store.close()

    def __enter__(self) -> CRM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CRM(store={self.store!r})"


class MemberSession(
    TeamUseCases,
    ContactUseCases,
    CompanyUseCases,
    BucketUseCases,
    InteractionUseCases,
    FollowUpUseCases,
    NotificationUseCases,
    MultiAssignUseCases,
    ViewUseCases,
    MergeUseCases,
    IntakeUseCases,
    ImportUseCases,
    ExportUseCases,
    PagingUseCases,
    ProgramUseCases,
    CampaignUseCases,
    RecordUseCases,
    OptOutUseCases,
    DashboardPagingUseCases,
):
    """Every use case, performed as one member of one team.

    Obtain it from :meth:`CRM.as_member`.  Methods raise only
    :class:`~teamcrm.errors.TeamCRMError` subclasses for bad input,
    missing records, refused permissions and concurrent changes.
    """
