"""The validation rule of :mod:`teamcrm.channels`, as properties."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
from hypothesis import event, given
from hypothesis import strategies as st

from teamcrm.channels import changed_channel, channel_effect
from teamcrm.contact import Contact
from teamcrm.interaction import Interaction, InteractionKind, Outcome
from teamcrm.testing import strategies as tst

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _interaction(
    contact: Contact, kind: InteractionKind, outcome: Outcome | None, via: str | None
) -> Interaction:
    return Interaction(
        id="ix_" + "0" * 26,
        team_id=contact.team_id,
        kind=kind,
        author_id="mb_" + "0" * 26,
        occurred_at=T0,
        logged_at=T0,
        contact_ids=(contact.id,),
        outcome=outcome,
        via=via,
    )


#: The pairs the rule acts on, and a few it ignores.
PAIRS = [
    (InteractionKind.CALL, Outcome.CONNECTED),
    (InteractionKind.EMAIL, Outcome.SENT),
    (InteractionKind.EMAIL, Outcome.DELIVERED),
    (InteractionKind.EMAIL, Outcome.BOUNCED),
    (InteractionKind.CALL, Outcome.NO_ANSWER),
    (InteractionKind.TEXT, Outcome.CONNECTED),
    (InteractionKind.EMAIL, None),
]


@given(tst.contacts(), st.sampled_from(PAIRS), st.data())
def test_the_rule_changes_one_flag_at_most_and_is_idempotent(
    contact: Contact,
    pair: tuple[InteractionKind, Outcome | None],
    data: st.DataObject,
) -> None:
    kind, outcome = pair
    channels = [e.address for e in contact.emails] + [p.number for p in contact.phones]
    via = data.draw(st.sampled_from([*channels, None])) if channels else None
    if via is not None and kind is not InteractionKind.EMAIL and "@" in via:
        via = None
    if via is not None and kind is InteractionKind.EMAIL and "@" not in via:
        via = None
    ix = _interaction(contact, kind, outcome, via)
    after = channel_effect(contact, ix)
    acts = pair[:2] in PAIRS[:4]
    if not acts:
        assert after is None
        return
    if after is None or after is contact:
        return
    event("changed")
    # Only the flags moved, and only one of them.
    plain = attrs.evolve(
        after,
        emails=tuple(attrs.evolve(e, validated=False, bounced=False) for e in after.emails),
        phones=tuple(attrs.evolve(p, validated=False) for p in after.phones),
        version=contact.version,
    )
    assert plain == attrs.evolve(
        contact,
        emails=tuple(attrs.evolve(e, validated=False, bounced=False) for e in contact.emails),
        phones=tuple(attrs.evolve(p, validated=False) for p in contact.phones),
    )
    changed = changed_channel(contact, after)
    assert changed is not None
    channel, works = changed
    if via is not None:
        assert channel.lower() == via.lower() or channel == via
    assert works is (outcome is not Outcome.BOUNCED)
    if kind is InteractionKind.EMAIL:  # a bounce marks the address bounced, a send clears it
        [address] = [e for e in after.emails if e.address == channel]
        assert (address.validated, address.bounced) == (works, not works)
    assert after.version == contact.version + 1
    # Logging the same interaction again changes nothing more.
    assert channel_effect(after, ix) is after
