"""Phone numbers: parsed with ``phonenumbers`` and keyed by their E.164 form.

Every store keeps a phone number under one *key*: its E.164 form
(``+16175550101``), followed by ``;ext=12`` (RFC 3966) when the number has an
extension.  ``"(617) 555-0101"`` typed in a team whose phone region is ``US``
and ``"+1 617 555 0101"`` get the same key, so dedupe before routing, search
by phone and the lead keys all match whatever the spelling.  The number as
typed is kept for display (:attr:`teamcrm.contact.PhoneNumber.display`).

A number that starts with ``+`` carries its country code; any
other number is read in the *region* the caller gives: the team's
``TeamSettings.phone_region`` in every use case (``US`` unless changed;
``None`` requires the international form).

A number is refused (``ValidationError`` naming the field, with the reason)
when ``phonenumbers`` cannot parse it or says it is not a *possible* number
(too short, too long, unknown country code).  Numbers that are possible but
not assigned in ``phonenumbers``' metadata (``+1 555 010 2030``, new ranges
not yet in the metadata) are accepted: refusing them would refuse real
numbers whenever the metadata lags.

``phonenumbers`` is a core dependency: the key must be the same in every
process that writes to a store, so there is no fallback that would compute
it differently.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from teamcrm.errors import ValidationError

__all__ = [
    "DEFAULT_REGION",
    "UnparsedPhone",
    "check_region",
    "might_be_phone",
    "phone_key",
    "phone_parts",
]

#: The phone region of a new team (and of a ``PhoneNumber`` built without one).
DEFAULT_REGION = "US"

#: Characters a typed number may hold besides digits (extensions: ``ext``, ``x``, ``#``).
_ALLOWED = re.compile(
    r"^\+?[0-9()\-. /]*(?:;ext=[0-9]{1,10}|\s*(?:ext\.?|extension|x|#)\s*[0-9]{1,10})?$", re.I
)
_PLAIN = re.compile(r"^\+?[0-9][0-9()\-. /]*$")
_SEPARATORS = re.compile(r"[()\-. /]")
#: Regions of the North American Numbering Plan (country code 1).
_NANP = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1])

#: Keys already produced by parsing (a key is checked again each time a
#: ``PhoneNumber`` is built from it; bounded).
_KNOWN_KEYS: set[str] = set()
_KNOWN_MAX = 65536

_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "has an unknown country code",
    ValidationResult.TOO_SHORT: "is too short for a phone number",
    ValidationResult.TOO_LONG: "is too long for a phone number",
    ValidationResult.INVALID_LENGTH: "has the wrong number of digits for its country",
}
_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: (
        "has no country code (+...) and no region to read it in"
    ),
    NumberParseException.NOT_A_NUMBER: "is not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "is too short for a phone number",
    NumberParseException.TOO_SHORT_NSN: "is too short for a phone number",
    NumberParseException.TOO_LONG: "is too long for a phone number",
}


def check_region(field: str, value: Any) -> str | None:
    """Return *value* if it is ``None`` or a region code ``phonenumbers`` knows (``"US"``)."""
    if value is None:
        return None
    if not isinstance(value, str) or value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(field, value, "must be a two-letter region code such as 'US' or None")
    return value.upper()


def phone_parts(field: str, value: Any, region: str | None = DEFAULT_REGION) -> tuple[str, str]:
    """Return ``(key, as_typed)`` of a phone number or raise ``ValidationError``.

    *key* is the E.164 form with ``;ext=N`` appended for an extension; a
    value that already is a key is returned unchanged.
    """
    if not isinstance(value, str):
        raise ValidationError(field, value, f"must be a str, not {type(value).__name__}")
    text = value.strip()
    if not text:
        raise ValidationError(field, value, "must not be empty")
    if len(text) > 40:
        raise ValidationError(field, value, "must be at most 40 characters")
    if text in _KNOWN_KEYS:
        return text, text
    if not _ALLOWED.match(text):
        raise ValidationError(
            field,
            value,
            "may only hold digits, spaces, ( ) - . / a leading + and an extension (ext. 12)",
        )
    fast = _nanp_key(text, region)
    if fast is not None:
        return fast, text
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else region)
    except NumberParseException as exc:
        reason = _PARSE_REASONS.get(exc.error_type, "is not a phone number")
        raise ValidationError(field, value, reason) from None
    result = phonenumbers.is_possible_number_with_reason(parsed)
    if result not in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        raise ValidationError(field, value, _REASONS.get(result, "is not a possible phone number"))
    if result == ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        raise ValidationError(field, value, "needs its area code")
    key = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
    if parsed.extension:
        key += f";ext={parsed.extension}"
    if len(_KNOWN_KEYS) < _KNOWN_MAX:
        _KNOWN_KEYS.add(key)
    return key, text


def _nanp_key(text: str, region: str | None) -> str | None:
    """The key of a plain North American number without parsing (bulk imports), or ``None``.

    ``+1`` and ten digits, or (in a NANP region) ten digits or ``1`` and ten
    digits, separated only by spaces, ``( ) - . /``: ``phonenumbers`` gives
    exactly ``+1`` and the ten digits for these (a property test checks it).
    """
    if not _PLAIN.match(text):
        return None
    digits = _SEPARATORS.sub("", text)
    if text.startswith("+"):
        return digits if len(digits) == 12 and digits.startswith("+1") else None
    if region not in _NANP or not digits.isdigit():
        return None
    if len(digits) == 10 and digits[0] not in "01":
        return "+1" + digits
    return None


def might_be_phone(text: str) -> bool:
    """Whether *text* is spelled like a national number (allowed characters, 4 to 17 digits)."""
    return bool(_ALLOWED.match(text)) and 4 <= sum(ch.isdigit() for ch in text) <= 17


def phone_key(value: str, region: str | None = DEFAULT_REGION) -> str | None:
    """The key of *value*, or ``None`` when it is not a phone number (never raises)."""
    try:
        return phone_parts("phone", value, region)[0]
    except ValidationError:
        return None


@attrs.frozen(kw_only=True)
class UnparsedPhone:
    """A stored number that is not under its key (see ``MemberSession.unparsed_phones``).

    :ivar contact_id: the contact holding it.
    :ivar number: the number as stored (kept as typed: nothing was lost).
    :ivar reason: why it could not be parsed, in words.
    """

    contact_id: str
    number: str
    reason: str
