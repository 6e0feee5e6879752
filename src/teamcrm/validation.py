"""Input checks shared by every entity and use case.

Each check takes the *field* name used in error messages and the raw *value*,
and either returns the normalised value or raises
:class:`teamcrm.errors.ValidationError` naming the field and the value.
Entities run them when they are built (see :class:`Checker`), so an invalid
entity cannot exist.
"""

from __future__ import annotations

import enum
import re
import types
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import attrs

from teamcrm.errors import ValidationError
from teamcrm.phones import DEFAULT_REGION, phone_key, phone_parts

__all__ = [
    "EARLIEST_TIME",
    "LATEST_TIME",
    "MAX_BODY",
    "MAX_CUSTOM_FIELDS",
    "MAX_DURATION",
    "MAX_NAME",
    "Checker",
    "FrozenDict",
    "check_custom_fields",
    "check_duration",
    "check_email",
    "check_enum",
    "check_field_name",
    "check_id",
    "check_int",
    "check_phone",
    "check_text",
    "check_time",
    "check_zone",
    "normalise_email",
    "normalise_phone",
    "trusted",
    "trusted_builder",
    "utc_datetime",
]

#: Longest name, title or label (characters).
MAX_NAME = 200
#: Longest free text such as an interaction body (characters).
MAX_BODY = 100_000
#: Most custom fields on one contact.
MAX_CUSTOM_FIELDS = 200
#: Longest serialised custom field value (characters).
MAX_CUSTOM_VALUE = 10_000

E = TypeVar("E", bound=enum.Enum)

_EMAIL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]+"
_EMAIL_LOCAL = re.compile(rf"^{_EMAIL_ATOM}(?:\.{_EMAIL_ATOM})*$")
_EMAIL_LABEL = re.compile(r"^(?!-)[A-Za-z0-9\-\u0080-\U0010ffff]+(?<!-)$")
_ID = re.compile(r"^[a-z]{2}_[0-9a-f]{26}$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .-]{0,63}$")
_NOT_ASCII_DIGIT = re.compile(r"[^0-9]")
#: Custom-field names already found valid (names repeat across rows; bounded).
_GOOD_KEYS: set[str] = set()
_GOOD_KEYS_MAX = 4096


def check_text(
    field: str,
    value: Any,
    *,
    max_len: int = MAX_NAME,
    allow_empty: bool = False,
    multiline: bool = False,
) -> str:
    """Return *value* stripped of surrounding white space, or raise.

    Rejects non-strings, empty or whitespace-only text (unless
    *allow_empty*), text longer than *max_len*, control characters (newlines
    and tabs are allowed when *multiline*) and lone surrogates.
    """
    if not isinstance(value, str):
        raise ValidationError(field, value, f"must be a string, not {type(value).__name__}")
    text = value.strip()
    if not text and not allow_empty:
        raise ValidationError(field, value, "must not be empty or only white space")
    if len(text) > max_len:
        raise ValidationError(field, value, f"must be at most {max_len} characters")
    # Fast path: printable ASCII has no control characters (Cc), no lone
    # surrogates (Cs) and is already NFC.  Anything else takes the
    # character-by-character check, then is normalised to NFC, and the
    # length is checked again on the normalised text (NFC can lengthen text,
    # e.g. U+0958 becomes two characters), so a checked value always passes
    # its own check again.
    if text.isascii() and text.isprintable():
        return text
    if not text.isprintable():
        for ch in text:
            cat = unicodedata.category(ch)
            if cat == "Cs":
                raise ValidationError(field, value, "contains a lone surrogate")
            if cat == "Cc" and not (multiline and ch in "\n\t\r"):
                raise ValidationError(field, value, f"contains control character {ch!r}")
    text = unicodedata.normalize("NFC", text)
    if len(text) > max_len:
        raise ValidationError(
            field, value, f"must be at most {max_len} characters once normalised (NFC)"
        )
    return text


def utc_datetime(field: str, value: Any) -> datetime:
    """Return *value* converted to UTC; reject naive datetimes and non-datetimes."""
    if type(value) is datetime and value.tzinfo is UTC:
        return value  # what astimezone(UTC) returns for it
    if not isinstance(value, datetime):
        raise ValidationError(field, value, f"must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            field, value, "must be timezone-aware (naive datetimes are ambiguous)"
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationError(field, value, "is out of the representable range in UTC") from None


#: Earliest time a public call accepts as an argument (``at``, ``now``, ``until``...).
EARLIEST_TIME = datetime(1000, 1, 1, tzinfo=UTC)
#: The first time a public call no longer accepts.  Together with
#: :data:`EARLIEST_TIME` this keeps a millennium between an argument and the
#: ends of what ``datetime`` holds, so adding a cadence, window, interval or
#: lease to it (all bounded by :data:`MAX_DURATION`) never overflows.
LATEST_TIME = datetime(9000, 1, 1, tzinfo=UTC)
#: Longest duration (interval, lease, window) a public call accepts.
MAX_DURATION = timedelta(days=36_525)  # a century


def check_time(field: str, value: Any) -> datetime:
    """Return *value* in UTC if it is an aware datetime a public call may take, or raise.

    Like :func:`utc_datetime`, and the time must lie in
    ``[EARLIEST_TIME, LATEST_TIME)`` (years 1000 to 8999): arithmetic on it
    (``at - interval``, ``until + window``) then stays representable.
    """
    when = utc_datetime(field, value)
    if not EARLIEST_TIME <= when < LATEST_TIME:
        raise ValidationError(field, value, "must lie between the years 1000 and 8999 (UTC)")
    return when


def check_duration(field: str, value: Any, *, maximum: timedelta = MAX_DURATION) -> timedelta:
    """Return *value* if it is a ``timedelta`` more than zero and at most *maximum*."""
    if not isinstance(value, timedelta):
        raise ValidationError(field, value, f"must be a timedelta, not {type(value).__name__}")
    if not timedelta(0) < value <= maximum:
        raise ValidationError(field, value, f"must be more than 0 and at most {maximum}")
    return value


_ZONES: frozenset[str] | None = None


def check_zone(field: str, value: Any) -> str:
    """Return *value* if it is an IANA time zone name such as ``Europe/Warsaw``."""
    global _ZONES
    if not isinstance(value, str) or not value:
        raise ValidationError(field, value, "must be an IANA time zone name")
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    if value not in _ZONES:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValidationError(field, value, "is not a known IANA time zone") from exc
    return value


def check_enum(field: str, enum_cls: type[E], value: Any) -> E:
    """Return the member of *enum_cls* that *value* is or names."""
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(value)
    except (ValueError, TypeError):
        allowed = ", ".join(repr(m.value) for m in enum_cls)
        raise ValidationError(field, value, f"must be one of {allowed}") from None


def check_int(field: str, value: Any, *, minimum: int = 0, maximum: int = 2**62) -> int:
    """Return *value* if it is an ``int`` (not a bool) within the bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, value, f"must be an integer, not {type(value).__name__}")
    if not minimum <= value <= maximum:
        raise ValidationError(field, value, f"must be between {minimum} and {maximum}")
    return value


def check_id(field: str, value: Any, prefix: str) -> str:
    """Return *value* if it is a well-formed teamcrm id starting with *prefix*."""
    if not isinstance(value, str) or not value.startswith(prefix) or not _ID.match(value):
        raise ValidationError(field, value, _id_problem(value, prefix))
    return value


def _id_problem(value: Any, prefix: str) -> str:
    """Say what is wrong with *value* as an id with *prefix* (for the error message)."""
    if not isinstance(value, str):
        return f"must be an id (a str starting with {prefix!r}), not {type(value).__name__}"
    if not value.startswith(prefix):
        return f"must be an id starting with {prefix!r}"
    suffix = value[len(prefix) :]
    if len(suffix) != 26:
        return f"must be {prefix!r} followed by 26 hex digits, not {len(suffix)} characters"
    return f"must be {prefix!r} followed by 26 lower-case hex digits (0-9, a-f)"


def normalise_email(value: str) -> str:
    """Return the canonical form of an email address: local part as typed, domain lower-cased."""
    local, _, domain = value.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def _email_problem(text: str) -> str | None:
    """Why *text* is not an email address (RFC 5321/5322 dot-atom syntax), or ``None``."""
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        return "is not an email address (it needs one @ between a name and a domain)"
    if any(not ch.isascii() and unicodedata.category(ch)[0] in "ZC" for ch in text):
        return "holds a space, control or format character"
    if len(local) > 64:
        return "has a local part (before @) longer than 64 characters"
    if not _EMAIL_LOCAL.match(local):
        return (
            "has an invalid local part (before @): letters, digits and !#$%&'*+/=?^_`{|}~-"
            " separated by single dots, not starting or ending with a dot"
        )
    if len(domain) > 253:
        return "has a domain longer than 253 characters"
    labels = domain.split(".")
    if len(labels) < 2:
        return "has a domain without a dot (example.com)"
    for label in labels:
        if not label:
            return "has an empty domain label (two dots in a row, or a leading or trailing dot)"
        if len(label) > 63 or not _EMAIL_LABEL.match(label):
            return (
                f"has an invalid domain label {label!r}: letters, digits and inner hyphens,"
                " at most 63 characters"
            )
    if labels[-1].isdigit():
        return "has a numeric top-level domain"
    return None


def check_email(field: str, value: Any) -> str:
    """Return the normalised email address or raise (no DNS lookup: syntax only).

    Refuses two dots in a row, a leading or trailing dot in the local part or
    the domain (``a..b@example.com``, ``a@example..com``, ``a@example.com.``),
    a domain without a dot and hyphens at the edge of a domain label.
    """
    text = check_text(field, value, max_len=320).strip()
    problem = _email_problem(text)
    if problem is not None:
        raise ValidationError(field, value, problem)
    return normalise_email(text)


def normalise_phone(value: str, region: str | None = DEFAULT_REGION) -> str:
    """Return the key (E.164, ``;ext=N``) of a phone number in any spelling.

    ``"+1 (555) 010-2030"`` becomes ``"+15550102030"``.  A value that is not
    a phone number is returned reduced to an optional leading ``+`` and its
    digits (it then matches no stored number).
    """
    key = phone_key(value, region)
    if key is not None:
        return key
    text = value.strip()
    digits = _NOT_ASCII_DIGIT.sub("", text)
    return ("+" if text.startswith("+") else "") + digits


def check_phone(field: str, value: Any, region: str | None = DEFAULT_REGION) -> str:
    """Return the key of a phone number (see :mod:`teamcrm.phones`) or raise.

    A number without ``+`` is read in *region*.
    """
    return phone_parts(field, value, region)[0]


JSONScalar = str | int | float | bool | None


class FrozenDict(dict[str, Any]):
    """A ``dict`` that refuses changes, so a frozen entity's mapping stays frozen.

    It compares, serialises (``json.dumps``) and pickles like a plain dict.
    """

    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError(f"{type(self).__name__} is read-only; build a new one instead")

    __setitem__ = _refuse
    __delitem__ = _refuse
    __ior__ = _refuse  # type: ignore[assignment]
    clear = _refuse
    pop = _refuse
    popitem = _refuse  # type: ignore[assignment]
    setdefault = _refuse
    update = _refuse

    def __reduce__(self) -> tuple[type[FrozenDict], tuple[dict[str, Any]]]:
        return (type(self), (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self


#: Punctuation a custom field's name may hold besides letters, marks and digits.
_NAME_PUNCTUATION = frozenset("_ .-")


def check_field_name(field: str, value: Any) -> str:
    """Return *value* as a custom field's name, in Unicode NFC form, or raise.

    A name is 1-64 characters of any script: it starts with a letter or
    ``_``; then letters, combining marks (as in Devanagari), digits, ``_``,
    ``.``, ``-`` or spaces.  ``"województwo"``, ``"Ταχ. κώδικας"`` and
    ``"都道府県"`` are names; the NFC form is stored, so a name typed with
    combining accents is the same field as its precomposed spelling.

    >>> check_field_name("f", "wojewo\u0301dztwo") == "województwo"
    True
    """
    if isinstance(value, str) and _KEY.match(value):
        return value  # ASCII: the common case, no normalisation needed
    reason = "names must be 1-64 letters, digits, _ . - or space, starting with a letter or _"
    if not isinstance(value, str):
        raise ValidationError(field, value, reason)
    name = unicodedata.normalize("NFC", value)
    if not 1 <= len(name) <= 64:
        raise ValidationError(field, value, reason)
    first = unicodedata.category(name[0])
    if not (name[0] == "_" or first[0] == "L"):
        raise ValidationError(field, value, reason)
    for char in name[1:]:
        if unicodedata.category(char)[0] not in "LMN" and char not in _NAME_PUNCTUATION:
            raise ValidationError(field, value, reason)
    return name


def check_custom_fields(field: str, value: Any) -> FrozenDict:
    """Return a read-only copy of a mapping of names to JSON scalars, or raise."""
    if type(value) is not dict and not isinstance(value, Mapping):
        raise ValidationError(field, value, "must be a mapping of names to values")
    if len(value) > MAX_CUSTOM_FIELDS:
        raise ValidationError(field, value, f"must have at most {MAX_CUSTOM_FIELDS} entries")
    out: dict[str, JSONScalar] = {}
    for key, item in value.items():
        if type(key) is not str or key not in _GOOD_KEYS:
            key = check_field_name(f"{field}[{key!r}]", key)
            if len(_GOOD_KEYS) < _GOOD_KEYS_MAX:
                _GOOD_KEYS.add(key)
        if isinstance(item, str):
            item = check_text(
                f"{field}[{key!r}]",
                item,
                max_len=MAX_CUSTOM_VALUE,
                allow_empty=True,
                multiline=True,
            )
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                raise ValidationError(f"{field}[{key!r}]", item, "must be a finite number")
        elif isinstance(item, int) and not isinstance(item, bool):
            if not -(2**63) <= item < 2**63:
                raise ValidationError(f"{field}[{key!r}]", item, "must fit in 64 bits")
        elif not (item is None or isinstance(item, bool)):
            raise ValidationError(
                f"{field}[{key!r}]", item, "must be a string, number, boolean or None"
            )
        if key in out:
            raise ValidationError(
                f"{field}[{key!r}]", key, "two names spell the same field (Unicode NFC)"
            )
        out[key] = item
    return FrozenDict(out)


T = TypeVar("T")
_TRUSTED_BUILDERS: dict[type, Callable[..., Any]] = {}
_NO_VALUE: Any = object()


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None] | None:
    """The ``__set__`` of the slot holding *name* on *cls* (or a base), if it is a slot."""
    for klass in cls.__mro__:
        found = klass.__dict__.get(name)
        if found is not None:
            if isinstance(found, types.MemberDescriptorType):
                setter: Callable[[Any, Any], None] = found.__set__
                return setter
            return None
    return None


def _trusted_builder(cls: type) -> Callable[..., Any]:
    """Compile a keyword-only constructor for *cls* that skips its checks."""
    params: list[str] = []
    body: list[str] = ["    o = _new(_cls)"]
    env: dict[str, Any] = {"_new": object.__new__, "_set": object.__setattr__, "_cls": cls}
    env["_NO_VALUE"] = _NO_VALUE
    for n, a in enumerate(attrs.fields(cls)):
        name = a.name
        default = a.default
        if default is attrs.NOTHING:
            params.append(name)
        elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            # A dict default stays read-only, as the entity's own checks make it.
            env[f"_factory{n}"] = FrozenDict if default.factory is dict else default.factory
            params.append(f"{name}=_NO_VALUE")
            body.append(f"    if {name} is _NO_VALUE: {name} = _factory{n}()")
        else:
            env[f"_default{n}"] = default
            params.append(f"{name}=_default{n}")
        slot = _slot_setter(cls, name)
        if slot is None:
            body.append(f"    _set(o, {name!r}, {name})")
        else:  # the slot's own descriptor: no attribute lookup per field
            env[f"_slot{n}"] = slot
            body.append(f"    _slot{n}(o, {name})")
    body.append("    return o")
    source = f"def build(*, {', '.join(params)}):\n" + "\n".join(body) + "\n"
    exec(compile(source, f"<trusted {cls.__qualname__}>", "exec"), env)
    builder: Callable[..., Any] = env["build"]
    return builder


def trusted_builder(cls: type[T], /) -> Callable[..., T]:
    """Return the keyword-only constructor :func:`trusted` uses for *cls*.

    For hot loops: calling it directly saves a lookup and a repacking of
    the keyword arguments per object.  The same rules as :func:`trusted`
    apply to the values it is given.
    """
    builder = _TRUSTED_BUILDERS.get(cls)
    if builder is None:
        builder = _TRUSTED_BUILDERS[cls] = _trusted_builder(cls)
    return builder


def trusted(cls: type[T], /, **values: Any) -> T:
    """Build an attrs entity from values that were validated before, skipping the checks.

    For adapters reading back rows they wrote themselves: the values must
    already be in normalised form (enum members, tuples, UTC datetimes,
    :class:`FrozenDict` mappings) — exactly what the entity's own checks
    would produce.  Building from untrusted input must use the class itself.
    Missing fields take their declared defaults; an unknown or missing
    required field is a ``TypeError`` (a programming error, not bad input).
    """
    return trusted_builder(cls)(**values)


class Checker:
    """Validate and normalise the fields of a frozen attrs instance in place.

    Used from ``__attrs_post_init__``; error messages name the field as
    ``ClassName.field``.
    """

    __slots__ = ("_obj", "_prefix")

    def __init__(self, obj: object) -> None:
        self._obj = obj
        self._prefix = type(obj).__name__

    def name(self, attr: str) -> str:
        """Return the qualified field name used in messages."""
        return f"{self._prefix}.{attr}"

    def _set(self, attr: str, value: Any) -> None:
        object.__setattr__(self._obj, attr, value)

    def text(self, attr: str, **kwargs: Any) -> None:
        """Check a text field (see :func:`check_text`)."""
        self._set(attr, check_text(self.name(attr), getattr(self._obj, attr), **kwargs))

    def optional_text(self, attr: str, **kwargs: Any) -> None:
        """Check a text field that may be ``None``; empty text becomes ``None``."""
        value = getattr(self._obj, attr)
        if value is None:
            return
        text = check_text(self.name(attr), value, allow_empty=True, **kwargs)
        self._set(attr, text or None)

    def utc(self, attr: str) -> None:
        """Check an aware datetime field and convert it to UTC."""
        self._set(attr, utc_datetime(self.name(attr), getattr(self._obj, attr)))

    def optional_utc(self, attr: str) -> None:
        """Like :meth:`utc` but ``None`` is allowed."""
        if getattr(self._obj, attr) is not None:
            self.utc(attr)

    def enum(self, attr: str, enum_cls: type[enum.Enum]) -> None:
        """Check an enum field; its value (e.g. ``"admin"``) is accepted too."""
        self._set(attr, check_enum(self.name(attr), enum_cls, getattr(self._obj, attr)))

    def integer(self, attr: str, **kwargs: Any) -> None:
        """Check an integer field (see :func:`check_int`)."""
        check_int(self.name(attr), getattr(self._obj, attr), **kwargs)

    def boolean(self, attr: str) -> None:
        """Check a bool field."""
        value = getattr(self._obj, attr)
        if not isinstance(value, bool):
            raise ValidationError(self.name(attr), value, "must be True or False")

    def ident(self, attr: str, prefix: str) -> None:
        """Check an id field."""
        check_id(self.name(attr), getattr(self._obj, attr), prefix)

    def optional_ident(self, attr: str, prefix: str) -> None:
        """Check an id field that may be ``None``."""
        if getattr(self._obj, attr) is not None:
            self.ident(attr, prefix)

    def ids(self, attr: str, prefix: str, *, min_len: int = 0, max_len: int = 10_000) -> None:
        """Check a collection of ids; it becomes a tuple without duplicates, order kept."""
        value = getattr(self._obj, attr)
        field = self.name(attr)
        items = self.sequence(attr, value)
        seen: dict[str, None] = {}
        for item in items:
            seen[check_id(field, item, prefix)] = None
        if not min_len <= len(seen) <= max_len:
            raise ValidationError(field, value, f"must hold {min_len} to {max_len} ids")
        self._set(attr, tuple(seen))

    def sequence(self, attr: str, value: Any) -> tuple[Any, ...]:
        """Return *value* as a tuple if it is a list, tuple or other non-text iterable."""
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
            raise ValidationError(self.name(attr), value, "must be a list or tuple")
        return tuple(value)

    def custom(self, attr: str) -> None:
        """Check a custom-fields mapping."""
        self._set(attr, check_custom_fields(self.name(attr), getattr(self._obj, attr)))

    def zone(self, attr: str) -> None:
        """Check an IANA zone name."""
        check_zone(self.name(attr), getattr(self._obj, attr))
