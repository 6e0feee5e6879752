"""Opting a contact out of email (and back in).

The application sets the flag, typically from an unsubscribe link it
serves; programs and campaigns then skip the contact
(:func:`teamcrm.outgoing.build_message` refuses it with
:class:`~teamcrm.errors.ContactOptedOut`).
"""

from __future__ import annotations

from teamcrm.contact import Contact
from teamcrm.errors import ValidationError
from teamcrm.events import EventName
from teamcrm.ids import ContactId
from teamcrm.service.base import SessionBase, bumped

__all__ = ["OptOutUseCases"]


class OptOutUseCases(SessionBase):
    """Email opt-out (mixed into :class:`~teamcrm.service.MemberSession`)."""

    def set_email_opt_out(self, contact_id: ContactId, opted_out: bool) -> Contact:
        """Opt the contact out of email (``True``) or back in (``False``).

        Anyone who may edit the contact may do it (in teamcrm: anyone who can
        see it, as for :meth:`update_contact`); a contact out of sight is
        ``NotFound``.  Opting out records when (``Contact.opted_out_at``) and
        emits ``contact.opted_out``; opting in clears it and emits
        ``contact.opted_in``.  Setting the flag it already has changes
        nothing and emits nothing (an unsubscribe link clicked twice keeps
        the first time).
        """
        if not isinstance(opted_out, bool):
            raise ValidationError("opted_out", opted_out, "must be True or False")
        with self._unit() as (uow, actor):
            contact = self._visible_contact(uow, actor, contact_id, for_update=True)
            if contact.email_opt_out is opted_out:
                return self._shown_one(uow, actor, contact)
            now = self.crm.now()
            updated: Contact = bumped(
                contact, email_opt_out=opted_out, opted_out_at=now if opted_out else None
            )
            uow.contacts.update(updated, previous=contact)
            name = EventName.CONTACT_OPTED_OUT if opted_out else EventName.CONTACT_OPTED_IN
            self._emit(uow, self._event(name, contact.id, now), contacts={contact.id: updated})
            shown = self._shown_one(uow, actor, updated)
            uow.commit()
            return shown
