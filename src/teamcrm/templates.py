"""Email templates: a subject and a body with ``{{ placeholders }}``.

A template is checked when it is parsed (when a program or campaign is
saved), never first when it runs: an unknown field, an unclosed ``{{`` or a
malformed default is refused with :class:`~teamcrm.errors.TemplateError`,
which names the part (``Template.subject`` / ``Template.body``), the
placeholder, and its line and column.

The placeholders:

==============================  ==============================================
``{{ contact.first_name }}``    the contact's first name
``{{ contact.last_name }}``     the contact's last name
``{{ contact.full_name }}``     first and last name joined by a space
``{{ contact.email }}``         the first address that has not bounced (:func:`preferred_email`)
``{{ contact.company }}``       the name of the company passed to :meth:`Template.render`
``{{ contact.custom.<name> }}`` a custom field (any custom-field name, any script)
``{{ member.name }}``           the sending member's name
``{{ member.email }}``          the sending member's address
``{{ team.name }}``             the team's name
==============================  ==============================================

Any placeholder may carry a default used when the value is missing or
empty: ``{{ contact.first_name | default: "there" }}`` (double or single
quotes; ``\\"`` and ``\\\\`` inside).

A template is plain text.  :meth:`Template.render` returns the text part
and an HTML part in which *everything* (values and the template's own text)
is HTML-escaped, blank lines making paragraphs; the subject is one line
(carriage returns and line feeds in values become spaces, so a value can
never add a mail header).
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from teamcrm.contact import Company, Contact
from teamcrm.digest import MAX_EMAIL_BODY, MAX_SUBJECT
from teamcrm.errors import TemplateError, ValidationError
from teamcrm.team import Member, Team
from teamcrm.validation import check_field_name

__all__ = ["FIELDS", "RenderedEmail", "Template", "preferred_email"]

#: The fixed placeholder fields (``contact.custom.<name>`` comes on top).
FIELDS = frozenset(
    {
        "contact.first_name",
        "contact.last_name",
        "contact.full_name",
        "contact.email",
        "contact.company",
        "member.name",
        "member.email",
        "team.name",
    }
)
_CUSTOM = "contact.custom."
_DEFAULT = re.compile(
    r"""\s*default\s*:\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\Z""", re.DOTALL
)
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
#: The longest placeholder accepted (between ``{{`` and ``}}``).
MAX_PLACEHOLDER = 500


def preferred_email(contact: Contact) -> str | None:
    """Return the address to write to: the contact's first address that has not bounced.

    An address is marked *bounced* when a bounce is logged for it, until a
    later send to it succeeds (see :mod:`teamcrm.channels`).  ``None`` when
    the contact has no address, or every one bounced.
    """
    return next((e.address for e in contact.emails if not e.bounced), None)


@attrs.frozen
class _Slot:
    """A placeholder: the field it reads and the default for a missing value."""

    field: str
    default: str


_Part = str | _Slot


def _position(source: str, index: int) -> tuple[int, int]:
    line = source.count("\n", 0, index) + 1
    column = index - (source.rfind("\n", 0, index) + 1) + 1
    return line, column


def _parse_slot(where: str, source: str, start: int, inner: str) -> _Slot:
    """Read one placeholder's inside (the text between ``{{`` and ``}}``)."""
    placeholder = "{{" + inner + "}}"
    line, column = _position(source, start)

    def fail(reason: str) -> TemplateError:
        return TemplateError(where, placeholder, reason, line=line, column=column)

    if len(inner) > MAX_PLACEHOLDER:
        raise fail(f"a placeholder is at most {MAX_PLACEHOLDER} characters")
    name, bar, rest = inner.partition("|")
    name = name.strip()
    default = ""
    if bar:
        m = _DEFAULT.match(rest)
        if m is None:
            raise fail('after "|" only default: "text" is allowed')
        raw = m.group(1) if m.group(1) is not None else m.group(2)
        default = _UNESCAPE.sub(r"\1", raw)
    if not name:
        raise fail("the placeholder names no field")
    if name.startswith(_CUSTOM):
        custom = name[len(_CUSTOM) :].strip()
        try:
            custom = check_field_name("custom field", custom)
        except ValidationError as exc:
            raise fail(f"{custom!r} is not a custom field's name: {exc.reason}") from None
        return _Slot(_CUSTOM + custom, default)
    if name not in FIELDS:
        known = ", ".join(sorted(FIELDS)) + ", contact.custom.<name>"
        raise fail(f"unknown field {name!r} (known: {known})")
    return _Slot(name, default)


def _parse(where: str, source: str) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    pos = 0
    while True:
        start = source.find("{{", pos)
        if start < 0:
            break
        end = source.find("}}", start + 2)
        nested = source.find("{{", start + 2)
        if end < 0 or (0 <= nested < end):
            line, column = _position(source, start)
            shown = source[start : start + 40]
            raise TemplateError(
                where, shown, 'the placeholder is not closed with "}}"', line=line, column=column
            )
        if start > pos:
            parts.append(source[pos:start])
        parts.append(_parse_slot(where, source, start, source[start + 2 : end]))
        pos = end + 2
    if pos < len(source):
        parts.append(source[pos:])
    return tuple(parts)


def _check_source(field: str, value: object, max_len: int) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, value, f"must be a string, not {type(value).__name__}")
    if len(value) > max_len:
        raise ValidationError(field, value, f"must be at most {max_len} characters")
    return value


def _one_line(text: str) -> str:
    return " ".join(text.replace("\r", " ").replace("\n", " ").split())


@attrs.frozen(kw_only=True)
class RenderedEmail:
    """A template filled in for one contact.

    :ivar subject: one line, no CR/LF.
    :ivar text: the plain-text body.
    :ivar html: the HTML body, every character of text escaped.
    """

    subject: str
    text: str
    html: str


@attrs.frozen(kw_only=True, eq=False)
class Template:
    """A subject and a body with placeholders; build it with :meth:`parse`.

    :ivar subject: the subject's source text.
    :ivar body: the body's source text.
    """

    subject: str
    body: str
    _subject_parts: tuple[_Part, ...] = attrs.field(alias="subject_parts", repr=False)
    _body_parts: tuple[_Part, ...] = attrs.field(alias="body_parts", repr=False)

    @classmethod
    def parse(cls, subject: str, body: str) -> Template:
        """Check *subject* and *body* and return the template, or raise :class:`TemplateError`.

        >>> t = Template.parse("Hi {{ contact.first_name }}", "Hello {{ member.name }}")
        >>> sorted(t.fields)
        ['contact.first_name', 'member.name']
        """
        subject = _check_source("Template.subject", subject, MAX_SUBJECT)
        body = _check_source("Template.body", body, MAX_EMAIL_BODY)
        if "\n" in subject or "\r" in subject:
            raise ValidationError("Template.subject", subject, "must be one line")
        if not subject.strip():
            raise ValidationError("Template.subject", subject, "must not be empty")
        if not body.strip():
            raise ValidationError("Template.body", body, "must not be empty")
        return cls(
            subject=subject,
            body=body,
            subject_parts=_parse("Template.subject", subject),
            body_parts=_parse("Template.body", body),
        )

    @property
    def fields(self) -> frozenset[str]:
        """The fields the template reads (``contact.custom.region`` for a custom field)."""
        return frozenset(
            p.field for p in self._subject_parts + self._body_parts if isinstance(p, _Slot)
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Template):
            return NotImplemented
        return (self.subject, self.body) == (other.subject, other.body)

    def __hash__(self) -> int:
        return hash((self.subject, self.body))

    def to_dict(self) -> dict[str, str]:
        """Return ``{"subject": ..., "body": ...}`` (JSON-ready)."""
        return {"subject": self.subject, "body": self.body}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Template:
        """Parse a template stored with :meth:`to_dict` (checked again)."""
        if not isinstance(data, Mapping):
            raise ValidationError("Template", data, "must be a mapping with subject and body")
        extra = set(data) - {"subject", "body"}
        if extra:
            raise ValidationError("Template", sorted(map(str, extra)), "unknown keys")
        return cls.parse(data.get("subject"), data.get("body"))  # type: ignore[arg-type]

    def render(
        self,
        *,
        contact: Contact,
        member: Member,
        team: Team | None = None,
        company: Company | None = None,
    ) -> RenderedEmail:
        """Fill the template in for *contact*, written by *member*.

        A missing or empty value becomes the placeholder's default (or
        nothing).  *company* is what ``{{ contact.company }}`` shows (the
        caller picks one of the contact's companies).
        """
        values = _values(contact, member, team, company)

        def fill(parts: tuple[_Part, ...], escape: bool) -> str:
            out: list[str] = []
            for p in parts:
                if isinstance(p, str):
                    out.append(p)
                else:
                    v = values(p.field) or p.default
                    out.append(html_lib.escape(v, quote=True) if escape else v)
            return "".join(out)

        text = fill(self._body_parts, False)
        subject = _one_line(fill(self._subject_parts, False))
        subject = subject or "(no subject)"
        if len(subject) > MAX_SUBJECT:
            subject = subject[: MAX_SUBJECT - 3].rstrip() + "..."
        return RenderedEmail(subject=subject, text=text, html=_html(subject, text))


def _html(subject: str, text: str) -> str:
    e = html_lib.escape
    paragraphs = [p for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if p.strip()]
    body = "\n".join("<p>" + e(p.strip("\n")).replace("\n", "<br>\n") + "</p>" for p in paragraphs)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{e(subject)}</title></head>\n"
        f'<body style="font-family:sans-serif">\n{body}\n</body></html>'
    )


def _scalar(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _values(
    contact: Contact, member: Member, team: Team | None, company: Company | None
) -> Callable[[str], str]:
    if not isinstance(contact, Contact):
        raise ValidationError("contact", contact, "must be a Contact")
    if not isinstance(member, Member):
        raise ValidationError("member", member, "must be a Member")

    def value(field: str) -> str:
        if field.startswith(_CUSTOM):
            return _scalar(contact.custom_fields.get(field[len(_CUSTOM) :]))
        match field:
            case "contact.first_name":
                return contact.first_name
            case "contact.last_name":
                return contact.last_name
            case "contact.full_name":
                return contact.display_name
            case "contact.email":
                return preferred_email(contact) or ""
            case "contact.company":
                return company.name if company is not None else ""
            case "member.name":
                return member.name
            case "member.email":
                return member.email or ""
            case "team.name":
                return team.name if team is not None else ""
        raise AssertionError(field)  # pragma: no cover - parse refuses other fields

    return value
