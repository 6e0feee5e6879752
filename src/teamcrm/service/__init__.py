"""The service layer: every use case of teamcrm, one unit of work each.

Users meet :class:`CRM` first (``crm = teamcrm.open("memory://")``).  Work is
always done *as a member*: ``crm.as_member(member_id)`` returns a
:class:`MemberSession` whose methods are the use cases.  Each method

1. opens one unit of work,
2. loads the acting member (fresh, so a deactivation takes effect at once)
   and whatever it needs,
3. checks permissions and decides with the pure rules of the domain,
4. saves, collects domain events and commits — all or nothing.
"""

from teamcrm.service.contacts import ContactChanges, ContactDraft
from teamcrm.service.crm import CRM, MemberSession
from teamcrm.service.interactions import ContactRecord

__all__ = ["CRM", "ContactChanges", "ContactDraft", "ContactRecord", "MemberSession"]
