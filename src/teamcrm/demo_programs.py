"""The demo's "Programs" section (``teamcrm demo``): seed 000's and seed 003's programs.

* **Seed 000** - Susan "created a program to automatically bucket her
  contacts into her shared bucket": a contact she puts in her personal
  "Customer Follow-up 3 Months" bucket is added to the team bucket "Susan's
  Contacts" by the program's first step.
* **Seed 003** - an admin places a follow-up program in the team library; an
  agent copies it and attaches it to the bucket his routed leads land in; a
  lead routed to him is enrolled at once, and the runner creates his
  follow-up task.

The runner is run once, with the demo's clock, and the tables show what it
did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from teamcrm.bucket import AccessLevel
from teamcrm.ids import BucketId
from teamcrm.pool import DistributionMethod
from teamcrm.program import Program, Step, Trigger
from teamcrm.render import text_table

if TYPE_CHECKING:
    from teamcrm.demo import DemoTeam

__all__ = ["programs_section"]


def _steps(program: Program, buckets: dict[BucketId, str]) -> str:
    out = []
    for step in program.steps:
        detail = step.text or (buckets.get(step.bucket_id, "?") if step.bucket_id else "")
        out.append(f"{step.kind.value} ({detail})" if detail else step.kind.value)
    return "; ".join(out)


def programs_section(demo: DemoTeam) -> str:
    """Build seed 000's and seed 003's programs, run the runner once and describe the result."""
    crm = demo.crm
    alice, susan, bradley = (demo.session(n) for n in ("Alice", "Susan", "Bradley"))
    shared = demo.buckets["Susan's Contacts"]
    monthly = demo.buckets["Customer Follow-up 3 Months"]
    # Susan's own bucket on the team: she may add to it (the open-book layout
    # gives the rest of the team read access only).
    alice.grant_access(
        shared, demo.members["Susan"], level=AccessLevel.EDITOR, can_view_conversations=True
    )
    susan.create_program(
        "Share my customers",
        Trigger(kind="bucket_entered", bucket_id=monthly),
        [Step(kind="add_to_bucket", bucket_id=shared)],
    )

    # Seed 003: Alice writes a follow-up program for new leads and publishes it.
    draft = alice.create_program(
        "New lead follow-up",
        Trigger(kind="bucket_entered", bucket_id=demo.buckets["Leads"]),
        [
            Step(kind="create_task", days=1, text="Call the new lead today"),
            Step(kind="notify", text="A new lead is waiting for your call"),
        ],
    )
    library = alice.publish_program(draft.id)
    alice.pause_program(draft.id)  # only the library copy matters now
    inbound = bradley.inbound_bucket()
    mine = bradley.copy_program(library.id, bucket_id=inbound.id)
    zillow = alice.create_bucket("Zillow leads")
    alice.create_pool(
        "Zillow (Bradley)",
        source_bucket_ids=[zillow.id],
        member_ids=[demo.members["Bradley"]],
        method=DistributionMethod.ROUND_ROBIN,
    )

    noah = susan.create_contact("Noah", "Davis", emails=["noah.davis@example.com"])
    susan.add_to_bucket(monthly, noah.id)  # enrols Noah in Susan's program
    [gina] = alice.create_contacts(
        [{"first_name": "Gina", "last_name": "Rossi", "source": "zillow"}], bucket_id=zillow.id
    )  # routed to Bradley: lands in his inbound bucket, which enrols her
    enrolled = [
        ("Susan", "Noah Davis", susan.contact_programs(noah.id)),
        ("Bradley", "Gina Rossi", bradley.contact_programs(gina.id)),
    ]
    report = crm.run_programs()  # one pass, with the demo's clock
    ran = [
        ("Susan", "Noah Davis", susan.contact_programs(noah.id)),
        ("Bradley", "Gina Rossi", bradley.contact_programs(gina.id)),
    ]

    names = {v: k for k, v in demo.members.items()}
    buckets = {v: k for k, v in demo.buckets.items()}
    buckets.update({inbound.id: inbound.name, zillow.id: zillow.name})
    program_rows = []
    for p in alice.programs():
        where = buckets.get(p.trigger.bucket_id, "?") if p.trigger.bucket_id else "-"
        state = p.state.value if p.scope.value == "personal" else "template"
        program_rows.append(
            [p.name, names[p.owner_id], p.scope.value, where, _steps(p, buckets), state]
        )
    run_rows = []
    for (member, contact, before), (_, _, after) in zip(enrolled, ran, strict=True):
        for b, a in zip(before, after, strict=True):
            run_rows.append([contact, a.name, member, b.next_step or "-", a.state.value, a.reason])
    tasks = [
        [t.note, demo.session("Bradley").contact(t.contact_id).display_name, f"{t.due_at:%Y-%m-%d}"]
        for t in bradley.tasks()
        if t.contact_id == gina.id
    ]
    in_shared = sorted(c.display_name for c in susan.bucket_contacts(shared))
    return "\n".join(
        [
            text_table(
                ["program", "owner", "scope", "attached to", "steps", "state"],
                program_rows,
                title="Programs (Alice sees every program and the team library)",
            ),
            "",
            f"Bradley copied '{library.name}' from the team library and attached it to "
            f"'{inbound.name}' ({mine.state.value}).",
            "",
            text_table(
                ["contact", "program", "owner", "step run", "state", "next"],
                run_rows,
                title="Runs: enrolled on entering the bucket, then one runner pass",
            ),
            "",
            f"Runner pass: {report.claimed} claimed, {report.ran} ran, "
            f"{report.completed} completed, {len(report.failures)} failed.",
            f"Susan's Contacts now holds: {', '.join(in_shared)}.",
            "",
            text_table(["task", "contact", "due"], tasks, title="Bradley's task from his program"),
        ]
    )
