"""Campaign use cases: create, preview, start, pause, cancel, report, list.

A campaign is sent from one member (the *sender*: the actor, or a member a
manager or admin names) to the contacts of its buckets and saved filter
**that the sender may see**.  :meth:`CampaignUseCases.preview_campaign` renders
the first messages without writing anything;
:meth:`CampaignUseCases.start_campaign` fixes the recipients in one unit: one
:class:`~teamcrm.campaign.CampaignSend` per contact (deduplicated), those
excluded (opted out, touched within ``exclude_days``) recorded as skipped
with their reason, the others due one after another at the throttle's pace.
The workers of ``crm.run_programs`` / ``crm.run_campaigns`` send them (see
:mod:`teamcrm.service.campaign_runner`).

Who may do what: a member sees the campaigns it created or sends (managers
and admins: all); their creator, their sender and managers/admins may start,
pause and cancel them.  Every bucket and filter id is checked for
visibility (a hidden one is refused like a missing one).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from teamcrm import permissions as perm
from teamcrm.campaign import (
    Campaign,
    CampaignId,
    CampaignReport,
    CampaignSend,
    CampaignState,
    SendSkipReason,
    SendState,
    exclusion,
    new_campaign_id,
    new_campaign_send_id,
    send_times,
)
from teamcrm.contact import Contact
from teamcrm.errors import CannotEmail, NotFound, ValidationError
from teamcrm.events import EventName
from teamcrm.ids import PREFIXES, BucketId, ContactId, MemberId
from teamcrm.outgoing import build_message
from teamcrm.ports import UnitOfWork
from teamcrm.search import SavedFilterId, SearchScope
from teamcrm.service.base import SessionBase, _bucket_ids, bumped
from teamcrm.team import Member
from teamcrm.validation import check_id, check_int

__all__ = ["CampaignPreview", "CampaignUseCases", "PreviewMessage"]

#: Contacts read per page when a saved filter's audience is collected.
_PAGE = 1000


@attrs.frozen(kw_only=True)
class PreviewMessage:
    """One message a campaign would send (rendered, addressed, not sent)."""

    contact_id: ContactId
    to: str
    subject: str
    text: str


@attrs.frozen(kw_only=True)
class CampaignPreview:
    """A dry run of a campaign: what starting it now would do.

    :ivar recipients: contacts in its audience (before exclusions).
    :ivar messages: the first *limit* messages, rendered.
    :ivar skipped: ``(contact id, reason)`` of excluded contacts met while
        collecting those messages.
    """

    campaign_id: CampaignId
    recipients: int
    messages: tuple[PreviewMessage, ...]
    skipped: tuple[tuple[ContactId, str], ...]


class CampaignUseCases(SessionBase):
    """Campaigns (mixed into :class:`~teamcrm.service.crm.MemberSession`)."""

    def create_campaign(
        self,
        name: str,
        *,
        subject: str,
        body: str,
        bucket_ids: Sequence[BucketId] = (),
        filter_id: SavedFilterId | None = None,
        sender_id: MemberId | None = None,
        per_minute: int = 60,
        exclude_days: int = 0,
    ) -> Campaign:
        """Create a draft campaign (the template is checked now: ``TemplateError``).

        *sender_id* defaults to the acting member; naming another member is for
        managers and admins.  Each bucket and the filter must be visible to
        the actor (``NotFound`` otherwise).
        """
        with self._unit() as (uow, actor):
            now = self.crm.now()
            campaign = Campaign(
                id=new_campaign_id(),
                team_id=self.team_id,
                name=name,
                sender_id=actor.id if sender_id is None else sender_id,
                created_by=actor.id,
                subject=subject,
                body=body,
                bucket_ids=tuple(_bucket_ids("bucket_ids", bucket_ids)),
                filter_id=filter_id,
                per_minute=per_minute,
                exclude_days=exclude_days,
                created_at=now,
            )
            sender = self._sender(uow, actor, campaign)
            both = [actor] if sender.id == actor.id else [actor, sender]
            for member in both:  # the actor and the sender must both see them
                for bucket_id in campaign.bucket_ids:
                    self._campaign_bucket(uow, member, bucket_id)
                if campaign.filter_id is not None:
                    self._campaign_filter(uow, member, campaign.filter_id)
            uow.campaigns.add(campaign)
            self._emit(uow, self._event(EventName.CAMPAIGN_CREATED, campaign.id, now, name=name))
            uow.commit()
            return campaign

    def preview_campaign(self, campaign_id: CampaignId, limit: int = 5) -> CampaignPreview:
        """Render the first *limit* messages a start now would send (writes nothing)."""
        check_int("limit", limit, minimum=1, maximum=1000)
        with self._unit(write=False) as (uow, actor):
            campaign = self._visible_campaign(uow, actor, campaign_id)
            sender = self._sender(uow, actor, campaign)
            now = self.crm.now()
            audience = self._audience(uow, sender, campaign)
            touched = uow.views.last_contacted(self.team_id, [c.id for c in audience])
            team = uow.teams.get(self.team_id)
            template = campaign.template()
            messages: list[PreviewMessage] = []
            skipped: list[tuple[ContactId, str]] = []
            for contact in audience:
                if len(messages) >= limit:
                    break
                reason = exclusion(
                    contact,
                    last_contacted=touched.get(contact.id),
                    exclude_days=campaign.exclude_days,
                    at=now,
                )
                if reason is not None:
                    skipped.append((contact.id, reason.value))
                    continue
                rendered = template.render(contact=contact, member=sender, team=team)
                try:
                    message = build_message(
                        rendered, sender=sender, contact=contact, key="preview", created_at=now
                    )
                except CannotEmail as exc:
                    skipped.append((contact.id, exc.code))
                    continue
                messages.append(
                    PreviewMessage(
                        contact_id=contact.id,
                        to=message.to,
                        subject=message.subject,
                        text=message.text,
                    )
                )
            return CampaignPreview(
                campaign_id=campaign.id,
                recipients=len(audience),
                messages=tuple(messages),
                skipped=tuple(skipped),
            )

    def start_campaign(self, campaign_id: CampaignId) -> CampaignReport:
        """Start a draft campaign (fix its recipients) or resume a paused one.

        Starting makes one send per contact of the audience the sender may
        see; excluded contacts are recorded as skipped with the reason; the
        rest are due from now, spaced by the throttle.  Resuming spaces the
        pending sends again from now (or one throttle step after the last
        email sent, if that is later).
        """
        with self._unit() as (uow, actor):
            campaign = self._visible_campaign(uow, actor, campaign_id)
            sender = self._sender(uow, actor, campaign)
            now = self.crm.now()
            event = EventName.CAMPAIGN_STARTED
            if campaign.state is CampaignState.DRAFT:
                self._fix_recipients(uow, sender, campaign, now)
            elif campaign.state is CampaignState.PAUSED:
                sends = uow.campaign_sends.for_campaign(self.team_id, campaign.id)
                pending = [s for s in sends if s.pending]
                times = send_times(
                    _resume_at(campaign, sends, now), len(pending), campaign.per_minute
                )
                for send, due in zip(pending, times, strict=True):
                    uow.campaign_sends.update(bumped(send, due_at=due))
                event = EventName.CAMPAIGN_RESUMED
            else:
                raise ValidationError("campaign_id", campaign_id, f"is {campaign.state.value}")
            started = bumped(
                campaign, state=CampaignState.RUNNING, started_at=campaign.started_at or now
            )
            uow.campaigns.update(started)
            report = CampaignReport.of(
                started, uow.campaign_sends.for_campaign(self.team_id, campaign.id)
            )
            self._emit(
                uow,
                self._event(
                    event, campaign.id, now, recipients=report.recipients, pending=report.pending
                ),
            )
            uow.commit()
            return report

    def _fix_recipients(
        self, uow: UnitOfWork, sender: Member, campaign: Campaign, now: datetime
    ) -> None:
        audience = self._audience(uow, sender, campaign)
        touched = uow.views.last_contacted(self.team_id, [c.id for c in audience])
        excluded: list[tuple[Contact, SendSkipReason]] = []
        kept: list[Contact] = []
        for contact in audience:
            reason = exclusion(
                contact,
                last_contacted=touched.get(contact.id),
                exclude_days=campaign.exclude_days,
                at=now,
            )
            if reason is None:
                kept.append(contact)
            else:
                excluded.append((contact, reason))
        times = send_times(now, len(kept), campaign.per_minute)
        sends = [
            CampaignSend(
                id=new_campaign_send_id(),
                team_id=self.team_id,
                campaign_id=campaign.id,
                contact_id=contact.id,
                due_at=due,
            )
            for contact, due in zip(kept, times, strict=True)
        ]
        sends += [
            CampaignSend(
                id=new_campaign_send_id(),
                team_id=self.team_id,
                campaign_id=campaign.id,
                contact_id=contact.id,
                due_at=now,
                state=SendState.SKIPPED,
                reason=reason.value,
                finished_at=now,
            )
            for contact, reason in excluded
        ]
        uow.campaign_sends.add_many(sends)

    def pause_campaign(self, campaign_id: CampaignId) -> Campaign:
        """Pause a running campaign: no further sends until it is started again."""
        with self._unit() as (uow, actor):
            campaign = self._visible_campaign(uow, actor, campaign_id)
            if campaign.state is not CampaignState.RUNNING:
                raise ValidationError("campaign_id", campaign_id, f"is {campaign.state.value}")
            paused: Campaign = bumped(campaign, state=CampaignState.PAUSED)
            uow.campaigns.update(paused)
            now = self.crm.now()
            self._emit(uow, self._event(EventName.CAMPAIGN_PAUSED, campaign.id, now))
            uow.commit()
            return paused

    def cancel_campaign(self, campaign_id: CampaignId) -> CampaignReport:
        """Cancel a campaign: its pending sends are skipped (``cancelled``), for good."""
        with self._unit() as (uow, actor):
            campaign = self._visible_campaign(uow, actor, campaign_id)
            if campaign.state is CampaignState.CANCELLED:
                raise ValidationError("campaign_id", campaign_id, "is cancelled")
            now = self.crm.now()
            cancelled = bumped(
                campaign, state=CampaignState.CANCELLED, started_at=campaign.started_at or now
            )
            uow.campaigns.update(cancelled)
            for send in uow.campaign_sends.for_campaign(self.team_id, campaign.id):
                if send.pending:  # a worker holding it finds the version moved: no email
                    done = send.finished(SendState.SKIPPED, now, SendSkipReason.CANCELLED.value)
                    uow.campaign_sends.update(done)
            report = CampaignReport.of(
                cancelled, uow.campaign_sends.for_campaign(self.team_id, campaign.id)
            )
            self._emit(
                uow,
                self._event(EventName.CAMPAIGN_CANCELLED, campaign.id, now, sent=report.sent),
            )
            uow.commit()
            return report

    def campaign_report(self, campaign_id: CampaignId) -> CampaignReport:
        """Sent, pending, skipped by reason and failed sends of a campaign."""
        with self._unit(write=False) as (uow, actor):
            campaign = self._visible_campaign(uow, actor, campaign_id)
            sends = uow.campaign_sends.for_campaign(self.team_id, campaign.id)
            return CampaignReport.of(campaign, sends)

    def campaign(self, campaign_id: CampaignId) -> Campaign:
        """One campaign the member may see."""
        with self._unit(write=False) as (uow, actor):
            return self._visible_campaign(uow, actor, campaign_id)

    def campaigns(self) -> list[Campaign]:
        """The campaigns the member created or sends (managers and admins: all), by id."""
        with self._unit(write=False) as (uow, actor):
            return [c for c in uow.campaigns.all(self.team_id) if _may_see(actor, c)]

    # ------------------------------------------------------------ helpers
    def _visible_campaign(self, uow: UnitOfWork, actor: Member, campaign_id: str) -> Campaign:
        """The campaign if *actor* created it, sends it or is a manager (who may also manage it)."""
        check_id("campaign_id", campaign_id, PREFIXES["campaign"])
        campaign = uow.campaigns.get(self.team_id, CampaignId(campaign_id))
        if not _may_see(actor, campaign):
            raise NotFound("campaign", campaign_id)
        return campaign

    def _sender(self, uow: UnitOfWork, actor: Member, campaign: Campaign) -> Member:
        """The campaign's sender, if *actor* may send as them (``PermissionDenied``)."""
        if campaign.sender_id != actor.id:
            perm.require(
                actor.role.is_manager,
                actor,
                "send a campaign as another member",
                "managers and admins only",
            )
        try:
            sender = uow.members.get(self.team_id, campaign.sender_id)
        except NotFound:
            sender = None
        if sender is None or not sender.active:
            raise ValidationError("sender_id", campaign.sender_id, "no such active member")
        return sender

    def _campaign_bucket(self, uow: UnitOfWork, member: Member, bucket_id: str) -> None:
        bucket = uow.buckets.get(self.team_id, BucketId(bucket_id))
        if not perm.can_view_bucket(member, bucket):
            raise NotFound("bucket", bucket_id)

    def _campaign_filter(self, uow: UnitOfWork, member: Member, filter_id: str) -> None:
        saved = uow.saved_filters.get(self.team_id, SavedFilterId(filter_id))
        if not saved.shared and saved.owner_id != member.id:
            raise NotFound("saved filter", filter_id)

    def _audience(self, uow: UnitOfWork, sender: Member, campaign: Campaign) -> list[Contact]:
        """The contacts of the campaign's buckets and filter *sender* may see, each once."""
        team_id = self.team_id
        ids: dict[ContactId, None] = {}
        for bucket_id in campaign.bucket_ids:
            self._campaign_bucket(uow, sender, bucket_id)
            for m in uow.memberships.items(team_id, bucket_id):
                if m.is_contact:
                    ids[ContactId(m.item_id)] = None
        found = [
            c
            for c in uow.contacts.get_many(team_id, list(ids))
            if self._may_see(uow, sender, c.id, c.created_by)
        ]
        if campaign.filter_id is not None:
            self._campaign_filter(uow, sender, campaign.filter_id)
            saved = uow.saved_filters.get(team_id, SavedFilterId(campaign.filter_id))
            scope = _scope(uow, sender)
            seen = {c.id for c in found}
            after: tuple[datetime, ContactId] | None = None
            while True:
                page = uow.views.search(team_id, saved.query, scope=scope, after=after, limit=_PAGE)
                found += [c for c in page if c.id not in seen]
                seen.update(c.id for c in page)
                if len(page) < _PAGE:
                    break
                after = (page[-1].created_at, page[-1].id)
        return found


def _resume_at(campaign: Campaign, sends: Sequence[CampaignSend], now: datetime) -> datetime:
    """When a resumed campaign's next send may go: now, yet a throttle step after the last sent."""
    sent = [s.finished_at for s in sends if s.state is SendState.SENT and s.finished_at]
    if not sent:
        return now
    return max(now, send_times(max(sent), 2, campaign.per_minute)[1])


def _scope(uow: UnitOfWork, member: Member) -> SearchScope | None:
    if member.role.is_manager:
        return None
    visible = frozenset(
        b.id for b in uow.buckets.all(member.team_id) if perm.can_view_bucket(member, b)
    )
    return SearchScope(member_id=member.id, bucket_ids=visible)


def _may_see(actor: Member, campaign: Campaign) -> bool:
    return actor.role.is_manager or actor.id in (campaign.created_by, campaign.sender_id)
