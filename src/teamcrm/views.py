"""Management views as plain data, and how they render for people.

Every view returns a :class:`View`: a title, the names of its columns and a
tuple of frozen rows (:class:`SearchRow`, :class:`GridRow`,
:class:`InsightRow`, :class:`DueRow`).  A view renders

* in a terminal: ``str(view)`` or :meth:`View.to_text` (a plain table made
  by :func:`teamcrm.render.text_table`), or :meth:`View.print` (a ``rich``
  table with colours when ``rich`` is installed);
* in a notebook: :meth:`View._repr_html_` (an HTML table, every value
  escaped, red and green signals as coloured cells);
* as a DataFrame: :meth:`View.to_pandas` (needs the ``views`` extra).

The agent grid's rules (seed 001) are here too, as pure functions:
:func:`grid_signals` decides each red / neutral / green signal.
"""

from __future__ import annotations

import enum
import heapq
import html
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, Protocol, TypeVar

import attrs

from teamcrm.errors import TeamCRMError
from teamcrm.followup import FollowUpRow
from teamcrm.ids import CompanyId, ContactId, MemberId, TeamId
from teamcrm.render import text_table

if TYPE_CHECKING:
    import pandas as pd

    from teamcrm.pool import PoolId

__all__ = [
    "DEFAULT_RESPONSE_WINDOW",
    "CompanyRow",
    "DueRow",
    "GridFacts",
    "GridFactsSource",
    "GridRow",
    "InsightRow",
    "MissingDependency",
    "SearchRow",
    "Signal",
    "View",
    "day_start",
    "format_duration",
    "grid_page_from_facts",
    "grid_row",
    "grid_score",
    "grid_signals",
    "percentile",
    "worst_grid_facts",
]

#: How long a new lead may stay in the team's first status before the grid shows it red.
DEFAULT_RESPONSE_WINDOW = timedelta(hours=1)

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


# ===================================================================== rows
@attrs.frozen(kw_only=True)
class SearchRow:
    """One contact found by a search.

    :ivar contact: the full contact (not a column).
    :ivar last_contacted_at: its newest interaction by anyone in the team.
    """

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "name",
        "status",
        "email",
        "phone",
        "source",
        "created_at",
        "last_contacted_at",
        "contact_id",
    )

    contact_id: ContactId
    name: str
    status: str
    email: str | None
    phone: str | None
    source: str | None
    created_at: datetime
    last_contacted_at: datetime | None
    contact: Any = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class CompanyRow:
    """One company found by a company search.

    :ivar company: the full company (not a column).
    """

    COLUMNS: ClassVar[tuple[str, ...]] = ("name", "domain", "created_at", "company_id")

    company_id: CompanyId
    name: str
    domain: str | None
    created_at: datetime
    company: Any = attrs.field(eq=False, repr=False)


@attrs.frozen(kw_only=True)
class DueRow:
    """One row of a member's follow-up list, flattened for display."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "name",
        "kind",
        "due_on",
        "days_overdue",
        "why",
        "last_touch_at",
        "contact_id",
    )

    contact_id: ContactId
    name: str
    kind: str
    due_on: Any
    days_overdue: int
    why: str
    last_touch_at: datetime | None

    @classmethod
    def from_follow_up(cls, row: FollowUpRow) -> DueRow:
        """Flatten a :class:`~teamcrm.followup.FollowUpRow`."""
        if row.task is not None:
            why = f"task: {row.task.note}" if row.task.note else "task"
        elif row.pool_id is not None:
            why = f"pool reminder: {row.cadence}"
        else:
            why = "; ".join(f"{r.bucket_name} ({r.cadence})" for r in row.reasons)
        return cls(
            contact_id=row.contact.id,
            name=row.contact.display_name,
            kind=row.kind.value,
            due_on=row.due_on,
            days_overdue=row.days_overdue,
            why=why,
            last_touch_at=row.last_touch_at,
        )


@attrs.frozen(kw_only=True)
class InsightRow:
    """One member's figures over a date range.

    :ivar leads_received: leads whose current assignment to the member
        started in the range.
    :ivar first_touch_median: median time from assignment to the member's
        first interaction with the contact (touched leads only).
    :ivar first_touch_p90: the 90th percentile of the same.
    :ivar untouched_leads: leads received and not touched yet.
    :ivar overdue_follow_ups: open follow-ups (policy rows, pool reminders and tasks) past due
        at the end of the range (or now, if earlier).
    :ivar interactions: interactions the member logged in the range, by kind.
    """

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "member_name",
        "leads_received",
        "first_touch_median",
        "first_touch_p90",
        "untouched_leads",
        "overdue_follow_ups",
        "calls",
        "emails",
        "meetings",
        "texts",
        "notes",
        "interactions_total",
    )

    member_id: MemberId
    member_name: str
    leads_received: int
    first_touch_median: timedelta | None
    first_touch_p90: timedelta | None
    untouched_leads: int
    overdue_follow_ups: int
    interactions: Mapping[str, int] = attrs.field(factory=dict, hash=False)

    def _kind(self, kind: str) -> int:
        return int(self.interactions.get(kind, 0))

    @property
    def calls(self) -> int:
        """Calls logged."""
        return self._kind("call")

    @property
    def emails(self) -> int:
        """Emails logged."""
        return self._kind("email")

    @property
    def meetings(self) -> int:
        """Meetings logged."""
        return self._kind("meeting")

    @property
    def texts(self) -> int:
        """Text messages logged."""
        return self._kind("text")

    @property
    def notes(self) -> int:
        """Notes logged."""
        return self._kind("note")

    @property
    def interactions_total(self) -> int:
        """Every interaction logged."""
        return sum(self.interactions.values())


def percentile(values: Sequence[timedelta], q: float) -> timedelta | None:
    """The *q*-th percentile (0-100) of *values*, nearest-rank; ``None`` when empty.

    >>> percentile([timedelta(minutes=m) for m in (1, 2, 3, 4)], 50)
    datetime.timedelta(seconds=120)
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


# ===================================================================== grid
class GridFacts(NamedTuple):
    """What the agent grid knows about one contact with an open lead (from storage).

    :ivar phones_validated: ``None`` when the contact has no phone number,
        else whether any of its numbers is validated (emails alike).
    :ivar first_action_at: the assignee's first interaction with the contact
        at or after the assignment (``None`` if none yet or no assignee).
    :ivar next_follow_up_at: the earliest open task of the contact due after
        now, or the start of the earliest future follow-up due date.
    """

    contact_id: str
    first_name: str
    last_name: str
    status: str
    phones_validated: bool | None
    emails_validated: bool | None
    has_note: bool
    next_follow_up_at: datetime | None
    lead_id: str
    pool_id: str | None
    assignee_id: str | None
    assigned_at: datetime | None
    lead_created_at: datetime
    first_action_at: datetime | None


@attrs.frozen(kw_only=True)
class GridRow:
    """One contact of the agent grid (seed 001), with its signals.

    :ivar evaluate: red while the contact is still in the team's first status
        past the response window after assignment (or after it entered, when
        nobody owns it); green once it left the first status; neutral while
        the window runs.
    :ivar phone: green if a phone number is validated, red if it has numbers
        and none is validated, neutral without numbers.
    :ivar email: the same for email addresses.
    :ivar notes: green if a note was recorded about the contact, else red.
    :ivar follow_up: green if a future task or follow-up is scheduled, else red.
    :ivar wait: how long the lead waited for its assignee's first action
        (still running, until now, when there was none yet); red past the
        response window, green within it, neutral without an assignee.
    """

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "name",
        "status",
        "assignee_name",
        "pool_name",
        "evaluate",
        "phone",
        "email",
        "notes",
        "follow_up",
        "waited",
        "wait",
        "reds",
        "contact_id",
    )

    contact_id: ContactId
    name: str
    status: str
    lead_id: str
    pool_id: str | None
    pool_name: str | None
    assignee_id: MemberId | None
    assignee_name: str | None
    assigned_at: datetime | None
    first_action_at: datetime | None
    waited: timedelta
    evaluate: Signal
    phone: Signal
    email: Signal
    notes: Signal
    follow_up: Signal
    wait: Signal

    @property
    def reds(self) -> int:
        """How many signals are red."""
        return sum(
            s is Signal.RED
            for s in (self.evaluate, self.phone, self.email, self.notes, self.follow_up, self.wait)
        )


def day_start(day: date) -> datetime:
    """The first instant (UTC) of *day*: when a follow-up due on that date counts as scheduled."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def _validated(flag: bool | None) -> Signal:
    if flag is None:
        return Signal.NEUTRAL
    return Signal.GREEN if flag else Signal.RED


def grid_signals(
    facts: GridFacts, *, first_status: str, now: datetime, window: timedelta
) -> tuple[tuple[Signal, Signal, Signal, Signal, Signal, Signal], timedelta]:
    """Return the six signals (evaluate, phone, email, notes, follow-up, wait) and the wait.

    The rules are those documented on :class:`GridRow`.
    """
    start = facts.assigned_at if facts.assigned_at is not None else facts.lead_created_at
    end = facts.first_action_at if facts.first_action_at is not None else now
    waited = max(end - start, timedelta(0))
    if facts.status != first_status:
        evaluate = Signal.GREEN
    else:
        evaluate = Signal.RED if now - start > window else Signal.NEUTRAL
    if facts.assignee_id is None:
        wait = Signal.NEUTRAL
    else:
        wait = Signal.RED if waited > window else Signal.GREEN
    signals = (
        evaluate,
        _validated(facts.phones_validated),
        _validated(facts.emails_validated),
        Signal.GREEN if facts.has_note else Signal.RED,
        Signal.GREEN if facts.next_follow_up_at is not None else Signal.RED,
        wait,
    )
    return signals, waited


def grid_score(
    facts: GridFacts, *, first_status: str, now: datetime, window: timedelta
) -> tuple[int, float, str, str, str]:
    """Sort key putting the worst contact first: most reds, longest wait, then contact id.

    Rows of one contact (several leads or owners) are then ordered by lead id
    and owner id (``""`` for none), so the order is total and every adapter's
    :meth:`~teamcrm.ports.ViewRepository.grid_page` can return exactly it.
    """
    signals, waited = grid_signals(facts, first_status=first_status, now=now, window=window)
    reds = sum(s is Signal.RED for s in signals)
    return (
        -reds,
        -waited.total_seconds(),
        facts.contact_id,
        facts.lead_id,
        facts.assignee_id or "",
    )


def worst_grid_facts(
    facts: Iterable[GridFacts],
    *,
    first_status: str,
    now: datetime,
    window: timedelta,
    limit: int,
) -> list[GridFacts]:
    """The *limit* worst of *facts* in :func:`grid_score` order (the reference ranking)."""
    return heapq.nsmallest(
        limit,
        facts,
        key=lambda f: grid_score(f, first_status=first_status, now=now, window=window),
    )


class GridFactsSource(Protocol):
    """Anything with :meth:`~teamcrm.ports.ViewRepository.grid_facts` (a views repository)."""

    def grid_facts(
        self,
        team_id: TeamId,
        *,
        status: str | None,
        assignee_id: MemberId | None,
        pool_id: PoolId | None,
        now: datetime,
    ) -> list[GridFacts]: ...


def grid_page_from_facts(
    source: GridFactsSource,
    team_id: TeamId,
    *,
    status: str | None,
    assignee_id: MemberId | None,
    pool_id: PoolId | None,
    now: datetime,
    window: timedelta,
    first_status: str,
    limit: int,
) -> list[GridFacts]:
    """:meth:`~teamcrm.ports.ViewRepository.grid_page` by the reference ranking.

    Reads the facts of every matching open lead with *source*'s
    ``grid_facts`` and keeps the *limit* worst with :func:`worst_grid_facts`:
    exact by construction, and linear in the open leads of the team (or
    pool).  *source* comes first, so a views repository can take it as its
    whole method (``grid_page = grid_page_from_facts`` in the class body), as
    the memory and PostgreSQL stores do; the SQLite store ranks in SQL instead.
    """
    facts = source.grid_facts(
        team_id, status=status, assignee_id=assignee_id, pool_id=pool_id, now=now
    )
    return worst_grid_facts(facts, first_status=first_status, now=now, window=window, limit=limit)


def grid_row(
    facts: GridFacts,
    *,
    first_status: str,
    now: datetime,
    window: timedelta,
    member_names: Mapping[str, str],
    pool_names: Mapping[str, str],
) -> GridRow:
    """Build the :class:`GridRow` of *facts*."""
    (evaluate, phone, email, notes, follow_up, wait), waited = grid_signals(
        facts, first_status=first_status, now=now, window=window
    )
    name = " ".join(p for p in (facts.first_name, facts.last_name) if p)
    return GridRow(
        contact_id=ContactId(facts.contact_id),
        name=name,
        status=facts.status,
        lead_id=facts.lead_id,
        pool_id=facts.pool_id,
        pool_name=pool_names.get(facts.pool_id) if facts.pool_id else None,
        assignee_id=MemberId(facts.assignee_id) if facts.assignee_id else None,
        assignee_name=member_names.get(facts.assignee_id) if facts.assignee_id else None,
        assigned_at=facts.assigned_at,
        first_action_at=facts.first_action_at,
        waited=waited,
        evaluate=evaluate,
        phone=phone,
        email=email,
        notes=notes,
        follow_up=follow_up,
        wait=wait,
    )
