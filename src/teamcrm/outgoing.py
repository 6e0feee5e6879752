"""Outgoing emails to contacts: a rendered template addressed for the sender port.

:func:`build_message` turns a :class:`~teamcrm.templates.RenderedEmail` into
the :class:`~teamcrm.digest.OutgoingEmail` every :class:`~teamcrm.sender.Sender`
sends (the port the email digest uses): addressed to the contact, with the
sending member's name shown in ``From`` and their address as ``Reply-To``
(replies reach the member, not the CRM's mailbox), and a ``Message-ID``
derived from *key* (a retried send of the same step carries the same
``Message-ID``, so it is recognisable downstream).

It refuses, with a :class:`~teamcrm.errors.CannotEmail` whose ``code`` a
program step records as its skip reason:

* :class:`~teamcrm.errors.ContactOptedOut` (``"opted_out"``): the contact
  opted out of email (``Contact.email_opt_out``);
* :class:`~teamcrm.errors.NoEmailAddress` (``"no_email"``): the contact has
  no address, every address bounced, or *to* is not one of its addresses.
"""

from __future__ import annotations

from datetime import datetime

from teamcrm.contact import Contact
from teamcrm.digest import OutgoingEmail
from teamcrm.errors import ContactOptedOut, NoEmailAddress, ValidationError
from teamcrm.team import Member
from teamcrm.templates import RenderedEmail, preferred_email
from teamcrm.validation import MAX_NAME, check_email, check_text, utc_datetime

__all__ = ["build_message"]


def build_message(
    rendered: RenderedEmail,
    *,
    sender: Member,
    contact: Contact,
    to: str | None = None,
    key: str,
    created_at: datetime,
) -> OutgoingEmail:
    """Address *rendered* to *contact* on behalf of the member *sender*.

    *to* defaults to the contact's :func:`~teamcrm.templates.preferred_email`
    (its first address that has not bounced); when given it must be one of
    the contact's addresses (one that bounced too: the caller chose it).  *key* identifies
    the send (e.g. the program step's id) and becomes the ``Message-ID``.

    :raises ContactOptedOut: the contact opted out of email.
    :raises NoEmailAddress: no address to send to.
    """
    if not isinstance(rendered, RenderedEmail):
        raise ValidationError("rendered", rendered, "must be a RenderedEmail")
    if not isinstance(sender, Member):
        raise ValidationError("sender", sender, "must be a Member")
    if not isinstance(contact, Contact):
        raise ValidationError("contact", contact, "must be a Contact")
    key = check_text("key", key, max_len=MAX_NAME)
    created_at = utc_datetime("created_at", created_at)
    if contact.email_opt_out:
        raise ContactOptedOut(contact.id)
    if to is None:
        address = preferred_email(contact)
        if address is None:
            raise NoEmailAddress(
                contact.id,
                "every address of the contact bounced"
                if contact.emails
                else "the contact has no email address",
            )
    else:
        wanted = check_email("to", to).lower()
        found = [e.address for e in contact.emails if e.address.lower() == wanted]
        if not found:
            raise NoEmailAddress(contact.id, f"{to!r} is not one of the contact's addresses")
        address = found[0]
    return OutgoingEmail(
        to=address,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        key=key,
        created_at=created_at,
        reply_to=sender.email,
        from_name=sender.name,
    )
