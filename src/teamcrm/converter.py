"""Serialising entities to JSON-ready dicts and back, with one cattrs converter.

>>> from teamcrm.converter import converter
>>> data = converter.unstructure(team)          # doctest: +SKIP
>>> converter.structure(data, Team) == team      # doctest: +SKIP
True

Datetimes become ISO-8601 strings with a UTC offset; zone names, enums and
ids become strings; tuples become lists.  :func:`structure` and
:func:`unstructure` wrap the default converter and raise only
:class:`~teamcrm.errors.ValidationError` for bad data.  Adapters and users
serialise with the same converter, so a payload means the same thing
everywhere.

Strings, numbers and booleans are passed to the entities *as they are*
(cattrs would otherwise coerce: ``bool("false")`` is ``True``, ``str(5)`` is
``"5"``), and a text where a list belongs is not split into characters; the
entities' own checks then reject wrong types, naming the field.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, overload

import cattrs
from attrs import AttrsInstance

from teamcrm.errors import TeamCRMError, ValidationError
from teamcrm.validation import utc_datetime

__all__ = ["configure_converter", "converter", "make_converter", "structure", "unstructure"]

T = TypeVar("T")


def _structure_datetime(value: Any, _: type) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValidationError("datetime", value, "is not an ISO-8601 datetime") from exc
    return utc_datetime("datetime", value)


def _structure_timedelta(value: Any, _: type) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("timedelta", value, "must be a whole number of microseconds")
    try:
        return timedelta(microseconds=value)
    except OverflowError:
        raise ValidationError("timedelta", value, "is out of range") from None


def _structure_date(value: Any, _: type) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValidationError("date", value, "must be an ISO-8601 date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError("date", value, "is not an ISO-8601 date (YYYY-MM-DD)") from None


def _structure_decimal(value: Any, _: type) -> Decimal:
    """A decimal from its text (or an int); a float is refused (it is not exact)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            pass
    raise ValidationError("decimal", value, "must be a decimal number written as text")


def _passthrough(value: Any, _: type) -> Any:
    """Leave scalars untouched so that the entity's checks see the raw JSON value."""
    return value


def _is_homogeneous_tuple(tp: Any) -> bool:
    args: Any = getattr(tp, "__args__", ())
    return getattr(tp, "__origin__", None) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_json_mapping(tp: Any) -> bool:
    origin = getattr(tp, "__origin__", None)
    if origin not in (Mapping, dict):
        return False
    args: Any = getattr(tp, "__args__", ())
    return len(args) == 2 and args[0] is str and args[1] is not str


def _structure_json_mapping(value: Any, _: type) -> Any:
    if not isinstance(value, Mapping):
        return value  # the entity rejects it, naming the field
    return {k: (list(v) if isinstance(v, list | tuple) else v) for k, v in value.items()}


def _structure_enum(value: Any, cls: type[enum.Enum]) -> Any:
    """An enum member for a valid value; anything else as it is (the entity names the field).

    Without this, text enums (``StrEnum``) would get the ``str`` passthrough and
    stay plain strings in entities that do not parse them themselves.
    """
    try:
        return cls(value)
    except (ValueError, TypeError):
        return value


def _is_enum_or_text(tp: Any) -> bool:
    """``SomeEnum | str``: a field the entity parses itself (``LeadPool.method``)."""
    args: Any = getattr(tp, "__args__", ())
    if str not in args or len(args) < 2:
        return False
    return all(a is str or (isinstance(a, type) and issubclass(a, enum.Enum)) for a in args)


def configure_converter(conv: cattrs.Converter) -> cattrs.Converter:
    """Install teamcrm's hooks on *conv* (datetimes, JSON mappings) and return it."""
    conv.register_unstructure_hook(datetime, lambda dt: dt.isoformat())
    conv.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, enum.Enum), lambda e: e.value
    )
    conv.register_structure_hook(datetime, _structure_datetime)
    # Durations as whole microseconds, calendar dates as ISO text.
    conv.register_unstructure_hook(timedelta, lambda td: td // timedelta(microseconds=1))
    conv.register_structure_hook(timedelta, _structure_timedelta)
    conv.register_unstructure_hook(date, lambda d: d.isoformat())
    conv.register_structure_hook(date, _structure_date)
    # Money amounts as exact decimal text ("1250.50"), never a float.
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Decimal, _structure_decimal)
    for scalar in (str, int, float, bool):
        conv.register_structure_hook(scalar, _passthrough)
    conv.register_structure_hook(enum.StrEnum, _structure_enum)
    conv.register_structure_hook(enum.Enum, _structure_enum)

    def structure_tuple(value: Any, tp: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value  # the entity rejects it, naming the field
        item_type = tp.__args__[0]
        return tuple(conv.structure(item, item_type) for item in value)

    conv.register_structure_hook_func(_is_homogeneous_tuple, structure_tuple)
    conv.register_structure_hook_func(_is_json_mapping, _structure_json_mapping)
    conv.register_structure_hook_func(_is_enum_or_text, _passthrough)
    conv.register_unstructure_hook_func(_is_json_mapping, lambda m: dict(m))
    # Lists of the library's own kinds (``teamcrm.rows.Rows``) unstructure like lists.
    conv.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, list) and t is not list,
        lambda rows: [conv.unstructure(r) for r in rows],
    )
    return conv


def make_converter() -> cattrs.Converter:
    """Return a new converter configured for teamcrm entities."""
    return configure_converter(cattrs.Converter(detailed_validation=False))


#: The ready-made converter used by the library and its adapters.
converter: cattrs.Converter = make_converter()


@overload
def unstructure(obj: AttrsInstance) -> dict[str, Any]: ...
@overload
def unstructure(obj: Sequence[AttrsInstance]) -> list[dict[str, Any]]: ...
@overload
def unstructure(obj: object) -> Any: ...


def unstructure(obj: object) -> Any:
    """Return *obj* as JSON-ready data (dicts, lists, strings, numbers).

    An entity (any attrs instance) gives a ``dict``, a list of them (or a
    :class:`~teamcrm.rows.Rows`) a ``list`` of dicts, for type checkers too.
    """
    return converter.unstructure(obj)


def structure(data: Any, cls: type[T]) -> T:
    """Build a *cls* from JSON-ready *data*; raise ``ValidationError`` if it does not fit."""
    try:
        return converter.structure(data, cls)
    except TeamCRMError:
        raise
    except (
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        cattrs.BaseValidationError,
        cattrs.errors.StructureHandlerNotFoundError,
    ) as exc:
        raise ValidationError(cls.__name__, data, f"cannot be structured: {exc}") from exc
