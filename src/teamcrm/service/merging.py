"""Merging duplicate contacts, and finding likely duplicates.

:meth:`MergeUseCases.merge_contacts` folds one or more duplicates into a
survivor in **one** unit of work:

* **fields** — the survivor's names, status and source win; an empty name or
  source of the survivor is filled from the first duplicate that has one;
  emails, phones and company links are the survivor's followed by the
  duplicates' that it does not have yet (compared by their normalised forms,
  a channel validated on either side stays validated, else an address that
  bounced on either side stays bounced); custom fields are the
  union, and on the same name **the survivor wins**, then the duplicate
  listed first; the result is opted out of email if any of them was (since
  the earliest opt-out);
* **bucket memberships** move (keeping when and by whom each was made; a
  bucket both were in keeps the survivor's), without routing again;
* **interactions, tasks, touches, snoozes** (the later one), **leads** and
  lead-intake records move to the survivor; follow-up due dates are recomputed;
* **open leads** are reconciled: at most one open lead per pool (and per role)
  remains — the survivor's own, otherwise the oldest; the others are removed
  from routing (their offers withdrawn) with the note ``merged into ...``;
* the duplicates are deleted, and one ``contact.merged`` event records it
  (``merged_ids``, ``removed_leads``).

Permissions are those of editing every contact involved: the member must see
the survivor and every duplicate (an id out of sight is ``NotFound``, like a
missing one).

:meth:`MergeUseCases.duplicates` lists groups of contacts the member can see
that share a normalised email address or phone number, or the same name and
company.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import attrs

from teamcrm import permissions as perm
from teamcrm.contact import Contact, EmailAddress, PhoneNumber
from teamcrm.errors import ValidationError
from teamcrm.events import EventName
from teamcrm.ids import PREFIXES, ContactId
from teamcrm.lead import Lead
from teamcrm.ports import UnitOfWork
from teamcrm.routing import RoutingDecision, RoutingExplanation, RoutingOutcome
from teamcrm.search import ContactQuery, SearchScope
from teamcrm.service.base import SessionBase, _iterable, bumped
from teamcrm.service.followup_book import FollowUpBook
from teamcrm.service.records import move_record_links
from teamcrm.service.routing import Router
from teamcrm.team import Member
from teamcrm.validation import check_id, check_int, normalise_email, normalise_phone

__all__ = ["MAX_MERGE", "DuplicateGroup", "MergeResult", "MergeUseCases"]

#: Most duplicates one merge takes.
MAX_MERGE = 100
_END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


@attrs.frozen(kw_only=True)
class MergeResult:
    """What :meth:`MergeUseCases.merge_contacts` did.

    :ivar contact: the survivor after the merge (as the member reads it).
    :ivar merged_ids: the duplicates, now deleted.
    :ivar removed_lead_ids: open leads removed from routing (one open lead per pool remains).
    """

    contact: Contact
    merged_ids: tuple[ContactId, ...]
    removed_lead_ids: tuple[str, ...]


@attrs.frozen(kw_only=True)
class DuplicateGroup:
    """Contacts that are likely one person, oldest first, and why.

    :ivar reasons: the shared keys: ``email:...``, ``phone:...``, ``name+company:...``.
    """

    contact_ids: tuple[ContactId, ...]
    reasons: tuple[str, ...]


def email_key(address: str) -> str:
    """The key two email addresses match on: normalised, case-insensitive."""
    return normalise_email(address).casefold()


def phone_key(number: str) -> str:
    """The key two phone numbers match on: the normalised number."""
    return normalise_phone(number)


def _merge_channels(lists: Iterable[Sequence[EmailAddress | PhoneNumber]]) -> tuple[object, ...]:
    merged: dict[str, EmailAddress | PhoneNumber] = {}
    for channels in lists:
        for ch in channels:
            key = email_key(ch.address) if isinstance(ch, EmailAddress) else phone_key(ch.number)
            kept = merged.get(key)
            if kept is None:
                merged[key] = ch
            elif ch.validated and not kept.validated:
                merged[key] = (
                    attrs.evolve(kept, validated=True, bounced=False)
                    if isinstance(kept, EmailAddress)
                    else attrs.evolve(kept, validated=True)
                )
            elif (
                isinstance(ch, EmailAddress)
                and isinstance(kept, EmailAddress)
                and ch.bounced
                and not (kept.validated or kept.bounced)
            ):
                merged[key] = attrs.evolve(kept, bounced=True)
    return tuple(merged.values())


def merged_fields(survivor: Contact, duplicates: Sequence[Contact]) -> dict[str, object]:
    """The survivor's fields after taking in *duplicates* (the rules of the module doc)."""
    everyone = [survivor, *duplicates]
    custom: dict[str, object] = {}
    for c in reversed(everyone):  # later ones first, so the survivor writes last and wins
        custom.update(c.custom_fields)
    first = survivor.first_name or next((d.first_name for d in duplicates if d.first_name), "")
    last = survivor.last_name or next((d.last_name for d in duplicates if d.last_name), "")
    source = survivor.source or next((d.source for d in duplicates if d.source), None)
    return {
        "first_name": first,
        "last_name": last,
        "source": source,
        "emails": _merge_channels(c.emails for c in everyone),
        "phones": _merge_channels(c.phones for c in everyone),
        "company_ids": tuple(dict.fromkeys(i for c in everyone for i in c.company_ids)),
        "custom_fields": custom,
        **merged_opt_out(everyone),
    }


def merged_opt_out(contacts: Sequence[Contact]) -> dict[str, object]:
    """Opted out if any of *contacts* was, since the earliest of their opt-outs."""
    times = [c.opted_out_at for c in contacts if c.email_opt_out and c.opted_out_at is not None]
    out = any(c.email_opt_out for c in contacts)
    return {"email_opt_out": out, "opted_out_at": min(times) if times else None}


class MergeUseCases(SessionBase):
    """Merging duplicate contacts (mixed into :class:`~teamcrm.service.MemberSession`)."""

    def merge_contacts(
        self, survivor_id: ContactId, duplicate_ids: Iterable[ContactId]
    ) -> MergeResult:
        """Fold *duplicate_ids* into *survivor_id* in one unit of work (see the module doc).

        Raises ``NotFound`` for an id that is missing or out of the member's
        sight, ``ValidationError`` for no duplicates, the survivor among them,
        or a merged contact over the limits (channels, companies); nothing is
        written then.
        """
        check_id("survivor_id", survivor_id, PREFIXES["contact"])
        if isinstance(duplicate_ids, str):
            duplicate_ids = [ContactId(duplicate_ids)]
        dups = list(
            dict.fromkeys(
                check_id("duplicate_ids", d, PREFIXES["contact"])
                for d in _iterable("duplicate_ids", duplicate_ids)
            )
        )
        if not dups:
            raise ValidationError("duplicate_ids", dups, "name at least one contact to merge")
        if len(dups) > MAX_MERGE:
            raise ValidationError("duplicate_ids", len(dups), f"at most {MAX_MERGE} per merge")
        for d in dups:
            check_id("duplicate_ids", d, PREFIXES["contact"])
        if survivor_id in dups:
            raise ValidationError("duplicate_ids", survivor_id, "holds the survivor itself")
        survivor_cid = ContactId(str(survivor_id))
        gone = [ContactId(str(d)) for d in dups]
        with self._unit(size=len(gone)) as (uow, actor):
            # Every contact locked (in id order: no deadlock between merges) and visible.
            found: dict[str, Contact] = {}
            for cid in sorted([survivor_cid, *gone]):
                found[cid] = self._visible_contact(uow, actor, cid, for_update=True)
            survivor = found[survivor_cid]
            duplicates = [found[d] for d in gone]
            merged: Contact = bumped(survivor, **merged_fields(survivor, duplicates))
            now = self.crm.now()
            removed = self._reconcile_leads(uow, actor, survivor_cid, gone, now)
            self._move_memberships(uow, survivor_cid, gone)
            uow.leads.move_contact(self.team_id, gone, survivor_cid)
            uow.interactions.move_contact(self.team_id, gone, survivor_cid)
            uow.intake.move_contact(self.team_id, gone, survivor_cid)
            move_record_links(self, uow, gone, survivor_cid)
            members = uow.members.all(self.team_id)
            self._move_tasks(uow, members, survivor_cid, gone)
            self._move_snoozes(uow, members, survivor_cid, gone)
            self._move_touches(uow, survivor_cid, gone)
            policies = uow.followup_policies.all(self.team_id)
            if policies:
                uow.followup_dues.delete(self.team_id, [p.id for p in policies], gone)
            uow.contacts.update(merged, previous=survivor)
            uow.enrolments.forget_contacts(self.team_id, gone)  # programs runs end with them
            for dup in duplicates:
                uow.contacts.delete(self.team_id, dup.id, dup.version)
            FollowUpBook(uow, self.team_id).recompute([survivor_cid])
            uow.collect(
                self._event(
                    EventName.CONTACT_MERGED,
                    survivor_cid,
                    now,
                    merged_ids=[str(d) for d in gone],
                    removed_leads=list(removed),
                )
            )
            shown = self._shown_one(uow, actor, merged)
            uow.commit()
            return MergeResult(contact=shown, merged_ids=tuple(gone), removed_lead_ids=removed)

    # ------------------------------------------------------------ the moves
    def _reconcile_leads(
        self,
        uow: UnitOfWork,
        actor: Member,
        survivor: ContactId,
        gone: Sequence[ContactId],
        now: datetime,
    ) -> tuple[str, ...]:
        """Remove all but one open lead per pool (and role); return the removed ids."""
        everyone = [survivor, *gone]
        leads: list[Lead] = []
        for cid in everyone:
            leads.extend(uow.leads.for_contact(self.team_id, cid))
        pools = sorted({ld.pool_id for ld in leads if ld.is_open and ld.pool_id is not None})
        fresh: dict[str, Lead] = {}
        for pool_id in pools:  # read again through the pool's lock (PostgreSQL)
            for ld in uow.leads.open_for_contacts(self.team_id, pool_id, everyone):
                fresh[ld.id] = ld
        groups: dict[tuple[str, str], list[Lead]] = {}
        for ld in leads:
            ld = fresh.get(ld.id, ld)
            if ld.is_open:
                groups.setdefault((ld.pool_id or "", ld.role or ""), []).append(ld)
        router: Router | None = None
        removed: list[str] = []
        for key in sorted(groups):
            open_leads = groups[key]
            if len(open_leads) < 2:
                continue
            own = [ld for ld in open_leads if ld.contact_id == survivor]
            keep = min(own or open_leads, key=lambda ld: (ld.created_at, ld.id))
            for ld in sorted(open_leads, key=lambda ld: (ld.created_at, ld.id)):
                if ld.id == keep.id:
                    continue
                if router is None:
                    router = self._router(uow, actor.id, now)
                pool = router.pool(ld.pool_id)
                decision = RoutingDecision(
                    explanation=RoutingExplanation(
                        method="merge",
                        outcome=RoutingOutcome.REMOVED,
                        decided_at=now,
                        pool_id=ld.pool_id if pool is not None else None,
                        actor_id=actor.id,
                        note=f"merged into {survivor} (lead {keep.id} kept)",
                    )
                )
                router.apply(ld, decision, pool)
                router.event(EventName.LEAD_REMOVED, ld.id, previous=list(ld.assignee_ids))
                removed.append(ld.id)
        if router is not None:
            router.flush()
        return tuple(removed)

    def _move_memberships(
        self, uow: UnitOfWork, survivor: ContactId, gone: Sequence[ContactId]
    ) -> None:
        rows = [
            attrs.evolve(m, item_id=survivor)
            for m in sorted(
                uow.memberships.buckets_of(self.team_id, gone), key=lambda m: m.added_at
            )
        ]
        if rows:
            uow.memberships.add_many(rows)  # a bucket both were in keeps the survivor's
        for cid in gone:
            uow.memberships.remove_item(self.team_id, cid)

    def _move_tasks(
        self,
        uow: UnitOfWork,
        members: Sequence[Member],
        survivor: ContactId,
        gone: Sequence[ContactId],
    ) -> None:
        wanted = set(gone)
        for m in members:
            for task in uow.tasks.for_member(self.team_id, m.id):
                if task.contact_id in wanted:
                    uow.tasks.update(bumped(task, contact_id=survivor))

    def _move_snoozes(
        self,
        uow: UnitOfWork,
        members: Sequence[Member],
        survivor: ContactId,
        gone: Sequence[ContactId],
    ) -> None:
        for m in members:
            for cid in gone:
                snooze = uow.snoozes.get(self.team_id, m.id, cid)
                if snooze is None:
                    continue
                current = uow.snoozes.get(self.team_id, m.id, survivor)
                if current is None or snooze.until > current.until:
                    uow.snoozes.put(attrs.evolve(snooze, contact_id=survivor))
                uow.snoozes.remove(self.team_id, m.id, cid)

    def _move_touches(
        self, uow: UnitOfWork, survivor: ContactId, gone: Sequence[ContactId]
    ) -> None:
        touches = uow.touches
        moved = [
            attrs.evolve(t, contact_id=survivor)
            for t in [
                *touches.member_latest(self.team_id, gone).values(),
                *touches.team_latest(self.team_id, gone).values(),
            ]
        ]
        if moved:
            touches.record(moved)  # newest wins, as always
        wanted = set(gone)
        pending = [
            attrs.evolve(t, contact_id=survivor)
            for t in touches.pending(self.team_id, _END_OF_TIME)
            if t.contact_id in wanted
        ]
        if pending:
            touches.add_pending(pending)
        touches.forget(self.team_id, gone)

    # ------------------------------------------------------------ duplicates
    def duplicates(self, *, limit: int = 1000) -> list[DuplicateGroup]:
        """Return up to *limit* groups of likely duplicates among the contacts the member sees.

        Contacts are grouped when they share a normalised email address or
        phone number, or have the same name (case-insensitive) and a company
        in common (only companies the member may see count); groups that
        share a contact are joined.  Groups come oldest first (by their
        oldest contact), their contacts oldest first.
        """
        check_int("limit", limit, minimum=1, maximum=100_000)
        with self._unit(write=False) as (uow, actor):
            contacts = self._shown(uow, actor, self._all_visible(uow, actor))
        order: dict[str, int] = {c.id: n for n, c in enumerate(contacts)}
        parent: dict[str, str] = {}

        def root(x: str) -> str:
            while parent.get(x, x) != x:
                parent[x] = parent.get(parent[x], parent[x])
                x = parent[x]
            return x

        first_with: dict[str, str] = {}
        reasons: dict[str, set[str]] = {}
        for c in contacts:
            name = " ".join(c.display_name.casefold().split())
            keys = [f"email:{email_key(e.address)}" for e in c.emails]
            keys += [f"phone:{phone_key(p.number)}" for p in c.phones]
            keys += [f"name+company:{name}|{co}" for co in c.company_ids]
            for key in dict.fromkeys(keys):
                other = first_with.setdefault(key, c.id)
                if other != c.id:
                    a, b = root(other), root(c.id)
                    if a != b:
                        parent[max(a, b, key=order.__getitem__)] = min(a, b, key=order.__getitem__)
                    reasons.setdefault(key, set()).update((other, c.id))
        groups: dict[str, list[ContactId]] = {}  # by root id
        for c in contacts:
            groups.setdefault(root(c.id), []).append(c.id)
        out: list[DuplicateGroup] = []
        for r in sorted(groups, key=order.__getitem__):
            ids = groups[r]
            if len(ids) < 2:
                continue
            why = sorted(k for k, members in reasons.items() if root(next(iter(members))) == r)
            out.append(DuplicateGroup(contact_ids=tuple(ids), reasons=tuple(why)))
            if len(out) == limit:
                break
        return out

    def _all_visible(self, uow: UnitOfWork, actor: Member) -> list[Contact]:
        """Every contact the member may see, oldest first (the search's own scope)."""
        scope: SearchScope | None = None
        if not actor.role.is_manager:
            visible = frozenset(
                b.id for b in uow.buckets.all(self.team_id) if perm.can_view_bucket(actor, b)
            )
            scope = SearchScope(member_id=actor.id, bucket_ids=visible)
        out: list[Contact] = []
        after: tuple[datetime, ContactId] | None = None
        while True:
            page = uow.views.search(
                self.team_id, ContactQuery(), scope=scope, after=after, limit=1000
            )
            out.extend(page)
            if len(page) < 1000:
                return out
            after = (page[-1].created_at, page[-1].id)
