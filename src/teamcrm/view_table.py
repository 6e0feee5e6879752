r"""A view: a title, column names and frozen rows, and how it renders for people.

:class:`View` renders in a terminal (``str(view)``, :meth:`View.to_text`,
:meth:`View.print` with ``rich``), in a notebook (:meth:`View._repr_html_`,
every value escaped, red and green :class:`Signal`\ s as coloured cells),
as data (:meth:`View.write`: json, jsonl, csv) and as a DataFrame
(:meth:`View.to_pandas`).
"""

from __future__ import annotations

import enum
import html
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from teamcrm.errors import TeamCRMError
from teamcrm.render import text_table

if TYPE_CHECKING:
    import pandas as pd


__all__ = [
    "MissingDependency",
    "R",
    "Signal",
    "View",
    "format_duration",
]

R = TypeVar("R")


class MissingDependency(TeamCRMError, ImportError):
    """An optional dependency (pandas, rich) is not installed."""


class Signal(enum.StrEnum):
    """A grid signal: bad (red), nothing to say (neutral) or good (green)."""

    RED = "red"
    NEUTRAL = "neutral"
    GREEN = "green"


_HTML_COLOURS = {Signal.RED: "#c62828", Signal.GREEN: "#2e7d32"}
_RICH_STYLES = {Signal.RED: "bold red", Signal.GREEN: "green"}


def format_duration(value: timedelta | None) -> str:
    """``"3d 4h"``, ``"2h 05m"``, ``"7m"``, ``"40s"`` (empty for ``None``)."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m"
    return f"{sign}{secs}s"


def _cell(value: Any) -> str:
    """A value as a person reads it in a table."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple | list):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    return str(value)


def _columns(row_type: type) -> tuple[str, ...]:
    declared: tuple[str, ...] | None = getattr(row_type, "COLUMNS", None)
    if declared is not None:
        return declared
    return tuple(f.name for f in attrs.fields(row_type))


@attrs.frozen(kw_only=True, repr=False)
class View(Generic[R]):
    """A management view: a title, column names and frozen rows.

    Iterate it, index it or take ``len()`` of it like a tuple of rows.

    :ivar next_cursor: for paged views, the cursor of the next page (``None``
        on the last page).
    """

    title: str
    rows: tuple[R, ...]
    columns: tuple[str, ...] = ()
    next_cursor: str | None = None

    @classmethod
    def of(
        cls, title: str, row_type: type[R], rows: Sequence[R], next_cursor: str | None = None
    ) -> View[R]:
        """Build a view of *rows*, with the columns *row_type* declares."""
        return cls(
            title=title, rows=tuple(rows), columns=_columns(row_type), next_cursor=next_cursor
        )

    def __iter__(self) -> Iterator[R]:
        return iter(self.rows)

    def __repr__(self) -> str:
        more = ", more pages" if self.next_cursor is not None else ""
        return f"<View {self.title!r}: {len(self.rows)} rows{more}>"

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> R:
        return self.rows[index]

    def __bool__(self) -> bool:
        return bool(self.rows)

    def records(self) -> list[dict[str, Any]]:
        """The rows as dicts of their column values (raw values, not text)."""
        return [{c: getattr(r, c) for c in self.columns} for r in self.rows]

    # -------------------------------------------------------------- text
    def cells(self) -> list[list[str]]:
        """Every row's columns as display text."""
        return [[_cell(getattr(r, c)) for c in self.columns] for r in self.rows]

    def to_text(self) -> str:
        """A plain-text table (no colours; signals are spelled ``red``/``green``)."""
        body = text_table(list(self.columns), self.cells(), title=self.title)
        if self.next_cursor is not None:
            body += f"\n(more: --after {self.next_cursor})"
        return body

    def __str__(self) -> str:
        return self.to_text()

    # -------------------------------------------------------------- rich
    def to_rich(self) -> Any:
        """A ``rich.table.Table`` with red and green signals coloured."""
        try:
            from rich.table import Table
        except ImportError as exc:
            raise MissingDependency(
                "rich is not installed: pip install 'teamcrm[views]' (or use str(view))"
            ) from exc
        table = Table(title=self.title or None)
        for column in self.columns:
            table.add_column(column)
        for row in self.rows:
            cells = []
            for column in self.columns:
                value = getattr(row, column)
                text = _cell(value)
                style = _RICH_STYLES.get(value) if isinstance(value, Signal) else None
                cells.append(f"[{style}]{_rich_escape(text)}[/]" if style else _rich_escape(text))
            table.add_row(*cells)
        if not self.rows:
            table.caption = "(none)"
        elif self.next_cursor is not None:
            table.caption = f"more: --after {self.next_cursor}"
        return table

    def __rich__(self) -> Any:
        return self.to_rich()

    def print(self, file: IO[str] | None = None, *, plain: bool = False) -> None:
        """Print the view: a rich table when rich is installed (and not *plain*), else text."""
        if not plain:
            try:
                from rich.console import Console
            except ImportError:
                plain = True
            else:
                Console(file=file, highlight=False).print(self.to_rich())
                return
        print(self.to_text(), file=file)

    def write(self, file: IO[str], format: str = "table", *, plain: bool = True) -> None:
        """Write the view to *file* as ``table`` (text), ``json``, ``jsonl`` or ``csv``.

        The data formats hold the rows only, values made JSON-ready by
        :func:`teamcrm.tabular.json_value`; a paged view's ``next_cursor`` is
        not part of them (read it from the view).
        """
        if format == "table":
            self.print(file, plain=plain)
            return
        from teamcrm.tabular import write_rows

        write_rows(file, self.columns, self.rows, format)

    # -------------------------------------------------------------- html
    def _repr_html_(self) -> str:
        """An HTML table for notebooks; values escaped, signals coloured."""
        out = ["<table class='teamcrm-view'>"]
        if self.title:
            out.append(f"<caption>{html.escape(self.title)}</caption>")
        out.append("<thead><tr>")
        out.extend(f"<th>{html.escape(c)}</th>" for c in self.columns)
        out.append("</tr></thead><tbody>")
        for row in self.rows:
            out.append("<tr>")
            for column in self.columns:
                value = getattr(row, column)
                text = html.escape(_cell(value))
                colour = _HTML_COLOURS.get(value) if isinstance(value, Signal) else None
                if colour is not None:
                    out.append(f"<td style='color: white; background-color: {colour}'>{text}</td>")
                else:
                    out.append(f"<td>{text}</td>")
            out.append("</tr>")
        if not self.rows:
            out.append(f"<tr><td colspan='{max(1, len(self.columns))}'>(none)</td></tr>")
        out.append("</tbody></table>")
        if self.next_cursor is not None:
            out.append(f"<p>more: after <code>{html.escape(self.next_cursor)}</code></p>")
        return "".join(out)

    # -------------------------------------------------------------- pandas
    def to_pandas(self) -> pd.DataFrame:
        """A ``pandas.DataFrame`` of the rows (columns as in the view; raw values).

        Signals become their text (``"red"``...), durations ``Timedelta``\\ s.
        Raises :class:`MissingDependency` when pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise MissingDependency(
                "pandas is not installed: pip install 'teamcrm[views]' to use to_pandas()"
            ) from exc
        data = {c: [_frame_value(getattr(r, c)) for r in self.rows] for c in self.columns}
        return pd.DataFrame(data, columns=list(self.columns))


def _frame_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _rich_escape(text: str) -> str:
    return text.replace("[", "\\[")
