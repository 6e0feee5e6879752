"""Custom-field criteria driven by ``contact_fields`` (shared by both SQL stores)."""

from __future__ import annotations

from typing import Any

from teamcrm.adapters.sql.dialect import Dialect

__all__ = ["FIELD_ORDER", "field_kind", "field_source"]


#: The search order of a search driven by ``contact_fields f``.
FIELD_ORDER = ("f.created_at", "f.contact_id")


def field_kind(value: Any) -> str:
    """The ``contact_fields.kind`` a stored value must have to equal the query *value*."""
    if isinstance(value, bool):
        return "boolean"
    return "string" if isinstance(value, str) else "number"


def field_source(
    d: Dialect, field: str, value: Any, params: dict[str, Any], value_sql: str = ":cvalue"
) -> tuple[str, list[str]]:
    """The driving source of a custom-field criterion, and its filters on ``f``.

    The source yields ``contact_fields f`` joined with ``contacts c``, read
    in the search order (:data:`FIELD_ORDER`) from one index range.
    *d* is the store's dialect, *value_sql* how it writes the bound value (PostgreSQL casts it
    to ``jsonb``); ``params["cvalue"]`` is set to *value* and may be
    replaced by the caller.
    """
    params["cfield"] = field
    where = ["f.team_id = :team", "f.field = :cfield"]
    index = "contact_fields_by_field"
    if value is not None:
        params["ckind"] = field_kind(value)
        params["cvalue"] = value
        where += ["f.kind = :ckind", f"f.value = {value_sql}"]
        index = "contact_fields_by_value"
    return (
        f"contact_fields f{d.index_hint(index)} {d.fixed_join} contacts c ON c.id = f.contact_id",
        where,
    )
