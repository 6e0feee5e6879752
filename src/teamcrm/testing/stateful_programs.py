"""The stateful comparison's rules for programs, and the invariant their runs keep.

A mixin of :class:`~teamcrm.testing.stateful.CRMComparison`.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from teamcrm.errors import TeamCRMError
from teamcrm.ids import BucketId, ContactId, MemberId
from teamcrm.program import Step, Trigger
from teamcrm.testing.stateful_machinery import ComparisonMachinery, Mismatch

__all__ = [
    "ProgramRules",
]


class ProgramRules(ComparisonMachinery):
    """The comparison's rules for programs, and the invariant their runs keep.

    Create, attach and pause programs, enter their buckets, add follow-up
    policies, run due steps; at most one active run per program and contact,
    and a new run is of a contact its owner can see.
    """

    # -------------------------------------------------------------- programs
    @precondition(lambda self: self.bucket_ids)
    @rule(
        data=st.data(),
        trigger=st.sampled_from(
            ["bucket_entered", "company_bucket_entered", "contact_created", "follow_up_overdue"]
        ),
        share=st.booleans(),
    )
    def create_program(self, data: st.DataObject, trigger: str, share: bool) -> None:
        """A program of the actor's on a bucket (contacts or companies entering), add or notify.

        Or triggered by creation, or a follow-up overdue.
        """
        actor = self._actor(data)
        bucket = self._pick(data, "bucket", actor)
        when = Trigger(
            kind=trigger,
            bucket_id=BucketId(bucket) if trigger.endswith("bucket_entered") else None,
            days=1 if trigger == "follow_up_overdue" else None,
        )
        target = self._pick(data, "bucket", actor)
        steps = [Step(kind="add_to_bucket", bucket_id=BucketId(target))] if share else []
        steps.append(Step(kind="notify", text="program ran"))
        program = self._as(actor, "create_program", lambda s: s.create_program("P", when, steps))
        if program is not None:
            self._remember("program", program)
            if when.bucket_id is not None:
                self.program_buckets[program.id] = (actor, when.bucket_id)

    @precondition(lambda self: self.program_buckets and (self.contact_ids or self.company_ids))
    @rule(data=st.data())
    def enter_a_program_bucket(self, data: st.DataObject) -> None:
        """The owner adds contacts and/or a company to a program's bucket (so it enrols)."""
        program = data.draw(st.sampled_from(sorted(self.program_buckets)), label="program")
        owner, bucket = self.program_buckets[program]
        items = self._picks(data, "contact", owner, 3) if self.contact_ids else []
        if self.company_ids:
            items += self._picks(data, "company", owner, 1)
        self._as(owner, "add_to_bucket", lambda s: s.add_to_bucket(bucket, items))

    @precondition(lambda self: self.program_ids and self.bucket_ids)
    @rule(data=st.data(), pause=st.booleans())
    def attach_or_pause_program(self, data: st.DataObject, pause: bool) -> None:
        """Attach a program to another bucket, or pause it (stopping its runs)."""
        actor = self._actor(data)
        program = self._pick(data, "program", actor)
        if pause:
            self._as(actor, "pause_program", lambda s: s.pause_program(program))
            return
        bucket = self._pick(data, "bucket", actor)
        attached = self._as(actor, "attach_program", lambda s: s.attach_program(program, bucket))
        if attached is not None:
            self.program_buckets[attached.id] = (attached.owner_id, bucket)

    @precondition(lambda self: self.bucket_ids)
    @rule(data=st.data())
    def follow_up_bucket(self, data: st.DataObject) -> None:
        """A daily follow-up policy (so ``follow_up_overdue`` programs find overdue contacts)."""
        actor = self._actor(data)
        bucket = self._pick(data, "bucket", actor)
        self._as(
            actor, "create_follow_up_policy", lambda s: s.create_follow_up_policy(bucket, "1 day")
        )

    @precondition(lambda self: self.program_ids)
    @rule(days=st.integers(0, 40))
    def run_programs(self, days: int) -> None:
        """Run due steps (after *days*: follow-ups may be overdue), as one worker."""
        self._both(
            "run_programs",
            lambda crm: crm.run_programs(
                crm.now() + timedelta(days=days), limit=5, worker="stateful"
            ),
        )

    @invariant()
    def enrolments_are_single_and_visible(self) -> None:
        """At most one active run per (program, contact); a run started by the
        last step is of a contact its owner could see then (and sees now)."""
        if not self.program_ids:
            return
        now = self.clock.now()
        fresh: list[tuple[str, str]] = []
        with self.ref.store.unit_of_work(write=False) as uow:
            for team_id in self.team_ids:
                for program in uow.programs.all(team_id):
                    runs = uow.enrolments.for_program(team_id, program.id)
                    active = [e.contact_id for e in runs if e.active]
                    if len(active) != len(set(active)):
                        raise Mismatch(f"two active runs of {program.id}: {active}")
                    fresh += [
                        (program.owner_id, e.contact_id) for e in runs if e.enrolled_at == now
                    ]
        for owner, contact in fresh:  # read by the owner's own session, in units of its own
            if not self._sees(owner, contact):
                raise Mismatch(f"{owner} has a run for {contact}, which they cannot see")

    def _sees(self, member_id: str, contact_id: str) -> bool:
        try:
            self.ref.as_member(MemberId(member_id)).contact(ContactId(contact_id))
        except TeamCRMError:
            return False
        return True
