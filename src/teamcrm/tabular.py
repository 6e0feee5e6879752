"""Views as data for pipes: JSON, JSON Lines and CSV.

What ``teamcrm <command> --format json|jsonl|csv`` prints, and what
:meth:`teamcrm.views.View.write` writes.  Values become JSON-ready data the
same way everywhere:

* ``None``, booleans, numbers and text stay as they are;
* enums (statuses, signals, roles) become their value (``"red"``);
* datetimes and dates become ISO 8601 text (``"2026-01-05T09:00:00+00:00"``);
* durations become seconds (a number);
* lists and tuples become lists, mappings objects, anything else its text.

CSV has one header row (the view's columns); a list or mapping cell is
written as its JSON text, ``None`` as an empty cell.
"""

from __future__ import annotations

import csv
import enum
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import IO, Any, Literal, get_args

from teamcrm.errors import ValidationError

__all__ = ["FORMATS", "Format", "json_value", "rows_as_json", "write_rows"]

#: The output formats of :func:`write_rows` (``table`` is the view's own text).
Format = Literal["table", "json", "jsonl", "csv"]
FORMATS: tuple[str, ...] = get_args(Format)


def json_value(value: Any) -> Any:
    """Return *value* as JSON-ready data (see the module's rules)."""
    if isinstance(value, enum.Enum):  # before str/int: StrEnum values are strings too
        return json_value(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(v) for v in value]
    return str(value)


def rows_as_json(columns: Sequence[str], rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Every row as a dict of its *columns*, values made JSON-ready."""
    return [{c: json_value(getattr(r, c)) for c in columns} for r in rows]


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_rows(
    file: IO[str], columns: Sequence[str], rows: Sequence[Any], format: str = "json"
) -> None:
    """Write *rows* (objects with *columns* as attributes) to *file*.

    *format* is ``json``, ``jsonl`` or ``csv``; anything else is a
    ``ValidationError`` (``table`` is written by the view itself).
    """
    if format not in ("json", "jsonl", "csv"):
        raise ValidationError("format", format, "must be one of 'json', 'jsonl', 'csv'")
    records = rows_as_json(columns, rows)
    if format == "json":
        json.dump(records, file, ensure_ascii=False, indent=2)
        file.write("\n")
    elif format == "jsonl":
        for record in records:
            file.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(columns)
        for record in records:
            writer.writerow([_csv_cell(record[c]) for c in columns])
