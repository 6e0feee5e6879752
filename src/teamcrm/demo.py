"""The demo: the seed-000 team ("How Teams Are Structured") built through the public API.

``teamcrm demo`` (or ``python -m teamcrm demo``) builds a small real-estate
team with the three layouts of the help-centre article:

* an **open book** bucket, "All Shared Contacts", that everyone can edit and
  whose conversations everyone can read;
* **segment** buckets, "Past Clients" (Bradley is responsible for following
  it up) and "Leads" (shared with Bradley and Tom only);
* **one shared bucket per member** ("Susan's Contacts", "Bradley's
  Contacts") that the whole team can see;
* Susan's **personal** buckets, "Customer Follow-up 1/3/12 Months", that only
  she ever sees,

then prints, as tables, what each member can see.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from teamcrm.bucket import AccessLevel
from teamcrm.clock import SettableClock
from teamcrm.demo_programs import programs_section
from teamcrm.errors import OfferClosed
from teamcrm.ids import BucketId, ContactId, MemberId
from teamcrm.pool import DistributionMethod
from teamcrm.render import text_table
from teamcrm.service import CRM, MemberSession
from teamcrm.team import Role

__all__ = ["DemoTeam", "build_demo_team", "run_demo"]

#: The demo's story starts on this date.
DEMO_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class DemoTeam:
    """The members and buckets of the demo team, by name."""

    def __init__(self, crm: CRM) -> None:
        self.crm = crm
        self.members: dict[str, MemberId] = {}
        self.buckets: dict[str, BucketId] = {}
        self.contacts: dict[str, ContactId] = {}

    def session(self, name: str) -> MemberSession:
        """Return the session of the member called *name*."""
        return self.crm.as_member(self.members[name])


def build_demo_team(crm: CRM, clock: SettableClock | None = None) -> DemoTeam:
    """Build the seed-000 team in *crm* and return its names → ids."""
    demo = DemoTeam(crm)
    _, admin = crm.create_team("Parkside Realty", admin_name="Alice", time_zone="America/New_York")
    demo.members["Alice"] = admin.id
    alice = crm.as_member(admin.id)
    for name, role in (("Bradley", Role.AGENT), ("Susan", Role.AGENT), ("Tom", Role.MANAGER)):
        demo.members[name] = alice.add_member(name, role=role, time_zone="America/New_York").id

    everyone = list(demo.members.values())

    def team_bucket(
        name: str, level: AccessLevel, conversations: bool, only: tuple[str, ...] = ()
    ) -> str:
        bucket = alice.create_bucket(name)
        members = [demo.members[n] for n in only] if only else everyone
        for member_id in members:
            if member_id != admin.id:
                alice.grant_access(
                    bucket.id, member_id, level=level, can_view_conversations=conversations
                )
        demo.buckets[name] = bucket.id
        return bucket.id

    team_bucket("All Shared Contacts", AccessLevel.EDITOR, True)
    team_bucket("Past Clients", AccessLevel.EDITOR, True)
    team_bucket("Leads", AccessLevel.EDITOR, True, only=("Bradley", "Tom"))
    team_bucket("Susan's Contacts", AccessLevel.VIEWER, True)
    team_bucket("Bradley's Contacts", AccessLevel.VIEWER, True)
    susan = demo.session("Susan")
    for months in (1, 3, 12):
        name = f"Customer Follow-up {months} Month{'s' if months > 1 else ''}"
        demo.buckets[name] = susan.create_bucket(name, personal=True).id

    people = [
        ("Maria", "Garcia", "maria@example.com", "+1 (617) 555-0101", "referral"),
        ("John", "Smith", "john.smith@example.com", "+1 617 555 0102", "website"),
        ("Chen", "Wei", "chen.wei@example.com", "617-555-0103", "import"),
        ("Olivia", "Brown", "olivia@example.com", "+1 617 555 0104", "website"),
        ("Liam", "Johnson", "liam@example.com", "+1 617 555 0105", "email"),
        ("Zoë", "Kowalska", "zoe.k@example.pl", "+48 22 555 0106", "referral"),
    ]
    for first, last, email, phone, source in people:
        contact = alice.create_contact(first, last, emails=[email], phones=[phone], source=source)
        demo.contacts[f"{first} {last}"] = contact.id
    ids = demo.contacts
    alice.add_to_bucket(demo.buckets["All Shared Contacts"], list(ids.values()))
    alice.add_to_bucket(
        demo.buckets["Past Clients"], [ids["Maria Garcia"], ids["John Smith"], ids["Chen Wei"]]
    )
    alice.add_to_bucket(demo.buckets["Leads"], [ids["Olivia Brown"], ids["Liam Johnson"]])
    alice.add_to_bucket(
        demo.buckets["Susan's Contacts"], [ids["Maria Garcia"], ids["Zoë Kowalska"]]
    )
    alice.add_to_bucket(demo.buckets["Bradley's Contacts"], [ids["John Smith"], ids["Chen Wei"]])
    susan.copy_to_personal_bucket(ids["Maria Garcia"], demo.buckets["Customer Follow-up 1 Month"])
    susan.copy_to_personal_bucket(ids["Zoë Kowalska"], demo.buckets["Customer Follow-up 12 Months"])

    # Follow-up policies (seed 000): Bradley follows up Past Clients every 30
    # days, reset by anyone on the team; Susan's personal buckets carry her own
    # 1-, 3- and 12-month cadences, reset only by her own touches.
    alice.create_follow_up_policy(
        demo.buckets["Past Clients"], "30 days", member_id=demo.members["Bradley"]
    )
    for months in (1, 3, 12):
        name = f"Customer Follow-up {months} Month{'s' if months > 1 else ''}"
        susan.create_follow_up_policy(demo.buckets[name], f"{months} months")

    def later(days: int) -> datetime:
        if clock is not None:
            clock.advance(timedelta(days=days))
        return crm.now()

    bradley = demo.session("Bradley")
    susan.log_interaction(
        "call",
        contact_ids=[ids["Maria Garcia"]],
        outcome="connected",
        occurred_at=later(3),
        body="Asked about selling the condo next spring.",
    )
    bradley.log_interaction(
        "email",
        contact_ids=[ids["John Smith"]],
        outcome="delivered",
        occurred_at=later(2),
        body="Sent the quarterly market report.",
    )
    susan.log_interaction(
        "note",
        contact_ids=[ids["Zoë Kowalska"]],
        occurred_at=later(1),
        body="Prefers text messages.",
    )
    return demo


def _visible(demo: DemoTeam, name: str) -> str:
    session = demo.session(name)
    rows = []
    for bucket in session.buckets():
        contacts = sorted(session.bucket_contacts(bucket.id), key=lambda c: c.display_name)
        rows.append(
            [
                bucket.name,
                bucket.kind.value,
                len(contacts),
                ", ".join(c.display_name for c in contacts),
            ]
        )
    return text_table(["bucket", "kind", "contacts", "who"], rows, title=f"What {name} can see")


def _record(demo: DemoTeam, viewer: str, contact: str) -> str:
    record = demo.session(viewer).contact_record(demo.contacts[contact])
    rows = [["team buckets", ", ".join(b.name for b in record.team_buckets)]]
    rows.append(["my personal buckets", ", ".join(b.name for b in record.my_buckets)])
    rows.append(
        [
            "emails",
            ", ".join(
                e.address + (" (validated)" if e.validated else "") for e in record.contact.emails
            ),
        ]
    )
    rows.append(
        [
            "phones",
            ", ".join(
                p.number + (" (validated)" if p.validated else "") for p in record.contact.phones
            ),
        ]
    )
    for interaction in record.interactions:
        author = demo.session(viewer).member(interaction.author_id).name
        rows.append(
            [
                f"{interaction.kind.value} {interaction.occurred_at:%Y-%m-%d}",
                f"by {author}: {interaction.body}",
            ]
        )
    return text_table(["field", "value"], rows, title=f"{contact}'s record as {viewer} sees it")


def _follow_ups(demo: DemoTeam, name: str, at: datetime) -> str:
    session = demo.session(name)
    rows = []
    for row in session.follow_ups(at=at):
        why = "; ".join(f"{r.bucket_name} ({r.cadence})" for r in row.reasons) or (
            "pool reminder" if row.pool_id is not None else "task"
        )
        touch = "never"
        if row.last_touch_at is not None:
            by = session.member(row.last_touch_by).name if row.last_touch_by else "?"
            touch = f"{row.last_touch_at:%Y-%m-%d} by {by}"
        rows.append([row.contact.display_name, f"{row.due_on}", row.days_overdue, why, touch])
    return text_table(
        ["contact", "due", "days overdue", "why", "last touch"],
        rows,
        title=f"{name}'s follow-up list on {at:%Y-%m-%d}",
    )


def _feed(demo: DemoTeam, name: str) -> str:
    rows = [
        [f"{n.created_at:%Y-%m-%d %H:%M}", n.kind.value, n.message]
        for n in demo.session(name).notifications(limit=20)
    ]
    return text_table(["when", "kind", "message"], rows, title=f"{name}'s in-app feed")


#: Extra sections later features add to the demo: ``(title, fn(demo) -> text)``.
EXTRA_SECTIONS: list[tuple[str, Callable[[DemoTeam], str]]] = []


def _routing_section(demo: DemoTeam) -> str:
    """The demo's lead-routing section (``teamcrm demo``): pools, routing, an offer race."""
    alice = demo.session("Alice")
    names = {v: k for k, v in demo.members.items()}
    web = alice.create_bucket("Website leads")
    agents = [demo.members[n] for n in ("Bradley", "Susan", "Tom")]
    rr = alice.create_pool(
        "Website (round robin)",
        source_bucket_ids=[web.id],
        member_ids=agents,
        method=DistributionMethod.ROUND_ROBIN,
        follow_up="2 days",
    )
    people = [("Ava", "Lopez"), ("Ben", "Okafor"), ("Cleo", "Nguyen"), ("Dev", "Patel")]
    alice.create_contacts(
        [{"first_name": f, "last_name": last, "source": "website"} for f, last in people],
        bucket_id=web.id,
    )
    house = alice.create_bucket("Open house sign-ins")
    alice.create_pool(
        "Open house (first to accept)",
        source_bucket_ids=[house.id],
        member_ids=[demo.members["Bradley"], demo.members["Susan"]],
        method=DistributionMethod.FIRST_TO_ACCEPT,
    )
    alice.create_contacts([{"first_name": "Erin", "last_name": "Walsh"}], bucket_id=house.id)
    susan, bradley = demo.session("Susan"), demo.session("Bradley")
    won = susan.accept_offer(susan.offers()[0].id)
    try:
        bradley.accept_offer(bradley.offers(status=None)[0].id)
        late = "accepted (unexpected)"
    except OfferClosed as exc:
        late = f"refused: {exc}"
    rows = [
        (
            r.contact_name,
            r.pool_name,
            names.get(r.assignee_id, "-") if r.assignee_id else "(unassigned)",
            r.assigned_at.strftime("%Y-%m-%d %H:%M") if r.assigned_at else "",
            r.status.value,
        )
        for r in alice.routing_dashboard(sort_by="contact_name")
    ]
    first_rr = next(ld for ld in alice.leads(pool_id=rr.id))
    explanation = alice.explain(first_rr.id).describe()
    for member_id, name in names.items():
        explanation = explanation.replace(member_id, name)
    return "\n".join(
        [
            text_table(
                ["lead", "pool", "assignee", "assigned", "status"],
                rows,
                title="Routing dashboard (Alice)",
            ),
            "",
            f"Erin Walsh was offered to Bradley and Susan; Susan accepted first "
            f"({won.lead.status.value}); Bradley's later accept was {late}.",
            "",
            f"Why {alice.contact(first_rr.contact_id).display_name} went where it went:",
            explanation,
        ]
    )


EXTRA_SECTIONS.append(("Lead routing", _routing_section))
EXTRA_SECTIONS.append(("Programs", programs_section))


def run_demo(
    crm: CRM,
    clock: SettableClock,
    out: Callable[[str], None] = print,
    *,
    follow_up_date: datetime | None = None,
) -> DemoTeam:
    """Build the demo team in *crm* and print what each member sees.

    *follow_up_date* is the day the follow-up lists are shown for (default:
    45 days after the story starts).
    """
    demo = build_demo_team(crm, clock)
    out(f"teamcrm demo: the seed-000 team 'Parkside Realty' on {crm.store.url}\n")
    for name in demo.members:
        out(_visible(demo, name) + "\n")
    out(_record(demo, "Susan", "Maria Garcia") + "\n")
    out(_record(demo, "Bradley", "Maria Garcia") + "\n")
    when = follow_up_date or DEMO_START + timedelta(days=45)
    out("== Follow-up ==")
    for name in ("Bradley", "Susan"):
        out(_follow_ups(demo, name, when) + "\n")
    for title, section in EXTRA_SECTIONS:
        out(f"== {title} ==")
        out(section(demo) + "\n")
    out("== Notifications ==")
    for name in ("Bradley", "Susan", "Tom"):
        out(_feed(demo, name) + "\n")
    return demo
