"""The import report: rows read, created, updated, skipped and refused (with row and column).

An all-or-nothing import that meets a bad row raises :class:`ImportFailed`,
which carries the full report.
"""

from __future__ import annotations

from typing import Any

import attrs

from teamcrm.errors import TeamCRMError

__all__ = [
    "ImportFailed",
    "ImportReport",
    "RowError",
    "SkippedRow",
]


@attrs.frozen(kw_only=True)
class RowError:
    """A row that cannot be imported: its number, the column at fault (if one) and why."""

    row: int
    column: str | None
    value: str
    reason: str


@attrs.frozen(kw_only=True)
class SkippedRow:
    """A row left out on purpose (a duplicate under ``on_duplicate="skip"``, a blank row)."""

    row: int
    reason: str
    contact_id: str | None = None


@attrs.define(kw_only=True)
class ImportReport:
    """What an import did (or, for a dry run or an aborted import, would have done).

    :ivar rows: contact rows read (the header and blank rows not counted).
    :ivar created: rows that made a new contact.
    :ivar updated: rows merged into an existing contact (``fill_empty`` /
        ``overwrite``), one found in the store or made by an earlier row.
    :ivar skipped: rows left out on purpose, with the reason.
    :ivar errors: bad rows: row number, column and reason.
    :ivar companies_created: companies made because no visible one had the name.
    :ivar committed: whether anything was written (``False`` for a dry run
        and an aborted all-or-nothing import).
    :ivar ignored_columns: header names that map to nothing.
    :ivar header: whether the first row was a header (``False``: it was data,
        read with a positional mapping).
    :ivar format: ``"csv"`` or ``"vcard"``.
    """

    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: list[SkippedRow] = attrs.field(factory=list)
    errors: list[RowError] = attrs.field(factory=list)
    companies_created: int = 0
    committed: bool = False
    dry_run: bool = False
    mode: str = "all_or_nothing"
    encoding: str = ""
    delimiter: str = ","
    ignored_columns: list[str] = attrs.field(factory=list)
    header: bool = True
    format: str = "csv"

    def summary(self) -> str:
        """One line: what was (or would be) created, updated, skipped and refused."""
        verb = "would import" if self.dry_run else ("imported" if self.committed else "aborted")
        return (
            f"{verb} {self.rows} rows: {self.created} created, {self.updated} updated,"
            f" {len(self.skipped)} skipped, {len(self.errors)} bad"
            f" ({self.companies_created} companies created)"
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (for JSON)."""
        out: dict[str, Any] = attrs.asdict(self)
        return out


class ImportFailed(TeamCRMError):
    """An all-or-nothing import found bad rows: nothing was written.

    :ivar report: the full report (every bad row, and what the others would do).
    """

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        first = report.errors[0] if report.errors else None
        where = (
            f" (first: row {first.row}, column {first.column!r}: {first.reason})" if first else ""
        )
        super().__init__(
            f"import aborted: {len(report.errors)} bad row(s){where}; nothing was written"
        )
