"""Reading lead submissions: web-form payloads and lead emails.

:func:`parse_submission` turns what a website or a lead service sends into a
:class:`LeadSubmission` — names, email addresses, phone numbers, a message,
a source, custom fields and an idempotency key — that
:meth:`MemberSession.intake_lead <teamcrm.service.intake.IntakeUseCases.intake_lead>`
makes a contact of (see ``docs/intake.md``):

* a **web form** is a mapping of field names to values
  (``{"Full name": "Maria Garcia", "E-mail": "maria@example.com"}``);
* a **lead email** is an RFC 822 message (``str``, ``bytes`` or an
  :class:`email.message.Message`): its plain-text body (or its HTML, tags
  dropped) is read line by line as ``Name: value``; the ``Reply-To`` header
  adds the sender's address (and name, when the body has none); the
  ``Message-ID`` is the default idempotency key.

Field names are compared case-insensitively, punctuation counting as a space
(``E-mail`` and ``e mail`` are one name, see :func:`field_key`), and mapped
to targets by :data:`DEFAULT_MAPPING` updated with the caller's *mapping*.
Targets: ``name`` (split into first and last name at the first space),
``first_name``, ``last_name``, ``email``, ``phone``, ``message``,
``source``, ``key`` (the idempotency key), ``custom:<field>`` (a custom
field) and ``ignore``.  Fields that map to nothing are left out (lines of an
email that are not ``Name: value`` belong to the message).
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Mapping
from email.message import EmailMessage, Message
from email.utils import getaddresses
from typing import Any

import attrs

from teamcrm.errors import ValidationError
from teamcrm.validation import JSONScalar, check_field_name

__all__ = ["DEFAULT_MAPPING", "LeadSubmission", "field_key", "parse_submission"]

#: Field names (as :func:`field_key` reduces them) and what they hold.
DEFAULT_MAPPING: Mapping[str, str] = {
    "name": "name",
    "full name": "name",
    "your name": "name",
    "contact name": "name",
    "first name": "first_name",
    "firstname": "first_name",
    "given name": "first_name",
    "last name": "last_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family name": "last_name",
    "email": "email",
    "e mail": "email",
    "email address": "email",
    "your email": "email",
    "phone": "phone",
    "phone number": "phone",
    "telephone": "phone",
    "tel": "phone",
    "mobile": "phone",
    "cell": "phone",
    "message": "message",
    "comments": "message",
    "comment": "message",
    "enquiry": "message",
    "inquiry": "message",
    "notes": "message",
    "source": "source",
    "submission id": "key",
}
_TARGETS = frozenset(
    {"name", "first_name", "last_name", "email", "phone", "message", "source", "key", "ignore"}
)
_NOT_WORD = re.compile(r"[^0-9a-z]+")
_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 _.\-]{0,40}?)\s*:\s*(.*?)\s*$")
_TAG = re.compile(r"<[^>]*>")
#: Longest message kept (characters).
MAX_MESSAGE = 10_000


def field_key(name: str) -> str:
    """A field name as mappings compare it: lower case, punctuation as single spaces."""
    return _NOT_WORD.sub(" ", name.lower()).strip()


@attrs.frozen(kw_only=True)
class LeadSubmission:
    """What one web form or lead email says about a person.

    :ivar key: the idempotency key it carries (a ``submission id`` field, the
        email's ``Message-ID``), or ``None``.
    :ivar channel: ``"form"`` or ``"email"``.
    """

    first_name: str = ""
    last_name: str = ""
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    message: str = ""
    source: str | None = None
    custom_fields: Mapping[str, JSONScalar] = attrs.field(factory=dict)
    key: str | None = None
    channel: str = "form"


def _targets(mapping: Mapping[str, str | None] | None) -> dict[str, str]:
    out = dict(DEFAULT_MAPPING)
    if mapping is None:
        return out
    if not isinstance(mapping, Mapping):
        raise ValidationError("mapping", mapping, "must be a mapping of field names to targets")
    for name, target in mapping.items():
        if not isinstance(name, str):
            raise ValidationError("mapping", name, "field names must be text")
        target = "ignore" if target is None else target
        if not isinstance(target, str) or not (target in _TARGETS or target.startswith("custom:")):
            raise ValidationError(
                f"mapping[{name!r}]", target, f"must be one of {sorted(_TARGETS)} or 'custom:NAME'"
            )
        if target.startswith("custom:"):
            check_field_name(f"mapping[{name!r}]", target.removeprefix("custom:"))
        out[field_key(name)] = target
    return out


class _Collector:
    """Gathers mapped values into a :class:`LeadSubmission`."""

    def __init__(self, targets: dict[str, str], channel: str) -> None:
        self.targets = targets
        self.channel = channel
        self.values: dict[str, Any] = {"emails": [], "phones": [], "custom_fields": {}}
        self.message: list[str] = []

    def put(self, name: str, value: Any) -> bool:
        """File *value* under the target of field *name*; ``False`` if it maps to nothing."""
        target = self.targets.get(field_key(name))
        if target is None:
            return False
        if target == "ignore" or value is None:
            return True
        if target.startswith("custom:"):
            if not isinstance(value, str | int | float | bool):
                raise ValidationError(name, value, "a custom field takes text, a number or a flag")
            self.values["custom_fields"][target.removeprefix("custom:")] = value
            return True
        text = value if isinstance(value, str) else str(value)
        text = text.strip()
        if not text:
            return True
        if target == "email":
            self.values["emails"].append(text)
        elif target == "phone":
            self.values["phones"].append(text)
        elif target == "message":
            self.message.append(text)
        elif target == "name":
            first, _, last = text.partition(" ")
            self.values.setdefault("first_name", first)
            self.values.setdefault("last_name", last.strip())
        else:
            self.values[target] = text
        return True

    def result(self) -> LeadSubmission:
        v = self.values
        return LeadSubmission(
            first_name=v.get("first_name", ""),
            last_name=v.get("last_name", ""),
            emails=tuple(dict.fromkeys(v["emails"])),
            phones=tuple(dict.fromkeys(v["phones"])),
            message="\n".join(self.message)[:MAX_MESSAGE],
            source=v.get("source"),
            custom_fields=v["custom_fields"],
            key=v.get("key"),
            channel=self.channel,
        )


def _parse_form(payload: Mapping[Any, Any], targets: dict[str, str]) -> LeadSubmission:
    out = _Collector(targets, "form")
    for name, value in payload.items():
        if not isinstance(name, str):
            raise ValidationError("payload", name, "field names must be text")
        if isinstance(value, list | tuple):  # a field sent several times
            for item in value:
                out.put(name, item)
        else:
            out.put(name, value)
    return out.result()


def _body_text(msg: Message) -> str:
    if isinstance(msg, EmailMessage):
        part = msg.get_body(preferencelist=("plain", "html"))
        if part is None:
            return ""
        text = str(part.get_content())
        if part.get_content_subtype() == "html":
            text = _TAG.sub("\n", re.sub(r"(?i)<br\s*/?>", "\n", text))
        return text
    payload = msg.get_payload(decode=True)  # a compat32 message: single part only
    if isinstance(payload, bytes):
        return payload.decode(msg.get_content_charset() or "utf-8", errors="replace")
    return ""


def _parse_email(msg: Message, targets: dict[str, str]) -> LeadSubmission:
    out = _Collector(targets, "email")
    in_message = False
    for line in _body_text(msg).splitlines():
        match = _LINE.match(line)
        if match and out.put(match.group(1), match.group(2)):
            in_message = targets.get(field_key(match.group(1))) == "message"
            continue
        if line.strip() or in_message:
            out.message.append(line.rstrip())
    result = out.result()
    reply_to = [(n, a) for n, a in getaddresses(msg.get_all("Reply-To", [])) if "@" in a]
    emails = list(result.emails)
    first, last = result.first_name, result.last_name
    for name, address in reply_to:
        emails.append(address)
        if not first and not last and name:
            first, _, last = name.strip().partition(" ")
    message_id = msg.get("Message-ID")
    key = result.key or (str(message_id).strip() or None if message_id else None)
    return attrs.evolve(
        result,
        first_name=first,
        last_name=last.strip(),
        emails=tuple(dict.fromkeys(emails)),
        message=result.message.strip()[:MAX_MESSAGE],
        key=key,
    )


def parse_submission(
    payload: Mapping[str, Any] | str | bytes | Message,
    mapping: Mapping[str, str | None] | None = None,
) -> LeadSubmission:
    """Read a web-form payload (a mapping) or a lead email (RFC 822 text, bytes, a message).

    Raises ``ValidationError`` for anything else, and for a bad *mapping*.
    """
    targets = _targets(mapping)
    if isinstance(payload, Mapping):
        return _parse_form(payload, targets)
    if isinstance(payload, bytes):
        return _parse_email(email.message_from_bytes(payload, policy=email.policy.default), targets)
    if isinstance(payload, str):
        return _parse_email(
            email.message_from_string(payload, policy=email.policy.default), targets
        )
    if isinstance(payload, Message):
        return _parse_email(payload, targets)
    raise ValidationError(
        "payload", type(payload).__name__, "must be a form (a mapping) or an email message"
    )
