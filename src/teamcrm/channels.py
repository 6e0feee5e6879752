"""Which of a contact's addresses and numbers are known to work.

Seed 001 asks agents to "validate phone numbers (by logging a call) and
email (by sending an email or scheduling drip emails)".  The rule, applied
by ``MemberSession.log_interaction`` in the unit of work that logs the
interaction:

* a ``call`` whose outcome is ``connected`` validates the number it used;
* an ``email`` whose outcome is ``sent`` or ``delivered`` validates the
  address it used;
* an ``email`` whose outcome is ``bounced`` clears the address's validation
  and marks it *bounced*: a bounce logged after a send says the address does
  not work after all; a later successful send validates it again (and clears
  *bounced*).

"The channel it used" is the interaction's ``via`` (normalised), or the
contact's only address or number when ``via`` is not given.  Pure functions,
no I/O.
"""

from __future__ import annotations

import attrs

from teamcrm.contact import Contact
from teamcrm.interaction import Interaction, InteractionKind, Outcome
from teamcrm.phones import DEFAULT_REGION
from teamcrm.validation import normalise_email, normalise_phone

__all__ = ["changed_channel", "channel_effect", "with_channel"]

#: Email outcomes that show the address works (seed 001: "by sending an email").
EMAIL_WORKS = frozenset({Outcome.SENT, Outcome.DELIVERED})


def with_channel(
    contact: Contact, *, email: str | None = None, phone: str | None = None, validated: bool = True
) -> Contact | None:
    """Return *contact* with one address (or number) marked *validated*.

    An address marked not validated is marked *bounced* (the rule's only
    reason to clear it is a bounce), one marked validated is not bounced.
    Returns *contact* itself when the flags already have those values, and
    ``None`` when the contact has no such address or number.  A changed
    contact has its version bumped.
    """
    if email is not None:
        key = email.lower()
        emails = list(contact.emails)
        for i, e in enumerate(emails):
            if e.address.lower() == key:
                if e.validated is validated and e.bounced is not validated:
                    return contact
                emails[i] = attrs.evolve(e, validated=validated, bounced=not validated)
                return attrs.evolve(contact, emails=tuple(emails), version=contact.version + 1)
        return None
    phones = list(contact.phones)
    for i, p in enumerate(phones):
        if p.number == phone:
            if p.validated is validated:
                return contact
            phones[i] = attrs.evolve(p, validated=validated)
            return attrs.evolve(contact, phones=tuple(phones), version=contact.version + 1)
    return None


def channel_effect(
    contact: Contact, interaction: Interaction, region: str | None = DEFAULT_REGION
) -> Contact | None:
    """Apply the module's rule: *contact* as *interaction* leaves it, or ``None`` if untouched.

    A ``via`` number typed without ``+`` is read in *region* (the team's).
    """
    if interaction.kind is InteractionKind.CALL and interaction.outcome is Outcome.CONNECTED:
        if interaction.via:
            return with_channel(contact, phone=normalise_phone(interaction.via, region))
        if len(contact.phones) == 1:
            return with_channel(contact, phone=contact.phones[0].number)
        return None
    if interaction.kind is InteractionKind.EMAIL and (
        interaction.outcome in EMAIL_WORKS or interaction.outcome is Outcome.BOUNCED
    ):
        works = interaction.outcome is not Outcome.BOUNCED
        if interaction.via:
            return with_channel(contact, email=normalise_email(interaction.via), validated=works)
        if len(contact.emails) == 1:
            return with_channel(contact, email=contact.emails[0].address, validated=works)
    return None


def changed_channel(before: Contact, after: Contact) -> tuple[str, bool] | None:
    """The address or number whose flags differ between *before* and *after*, and its validation.

    For an address, either flag counts (*validated*, *bounced*): a first
    bounce of a never-validated address is a change to ``False``.
    """
    was: dict[str, tuple[bool, bool]] = {e.address: (e.validated, e.bounced) for e in before.emails}
    was.update({p.number: (p.validated, False) for p in before.phones})
    now = [(e.address, (e.validated, e.bounced)) for e in after.emails]
    now += [(p.number, (p.validated, False)) for p in after.phones]
    return next(((key, flags[0]) for key, flags in now if was.get(key) != flags), None)
