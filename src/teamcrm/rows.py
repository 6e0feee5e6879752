"""Rows: a plain list of records that also shows itself as a table.

``follow_ups()``, ``leads()`` and ``routing_dashboard()`` return
:class:`Rows`.  A :class:`Rows` *is* a ``list`` — it compares equal to a list
of the same items, slices, sorts and appends like one — so code written
against lists keeps working, and in a notebook or a terminal it displays the
way a :class:`~teamcrm.views.View` does: an HTML table (``_repr_html_``), a
rich table (``__rich__``), ``to_text()``, ``to_pandas()`` and
``write(file, format)`` (``json``, ``jsonl``, ``csv``).

>>> from teamcrm.rows import Rows
>>> rows = Rows([], title="Nothing yet")
>>> rows == []
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import IO, TYPE_CHECKING, Any, TypeVar

from teamcrm.views import View

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Rows"]

R = TypeVar("R")


class Rows(list[R]):
    """A list of records with a title and columns, displayed as a table.

    :ivar title: the table's title.
    :ivar columns: the attributes shown as columns (default: every field of
        the first shown row's attrs class, or its ``COLUMNS``).
    :ivar display: turns each row into the record shown for it (e.g. a
        follow-up row into a :class:`~teamcrm.views.DueRow`); ``None`` shows
        the rows themselves.
    """

    def __init__(
        self,
        rows: Iterable[R] = (),
        *,
        title: str = "",
        columns: Sequence[str] = (),
        display: Callable[[R], Any] | None = None,
    ) -> None:
        super().__init__(rows)
        self.title = title
        self.columns = tuple(columns)
        self.display = display

    def view(self) -> View[Any]:
        """The rows as a :class:`~teamcrm.views.View` (a frozen snapshot of them)."""
        shown = [self.display(r) for r in self] if self.display is not None else list(self)
        if self.columns or not shown:
            return View(title=self.title, rows=tuple(shown), columns=self.columns)
        return View.of(self.title, type(shown[0]), shown)

    def to_text(self) -> str:
        """A plain-text table."""
        return self.view().to_text()

    def to_rich(self) -> Any:
        """A ``rich`` table (needs ``teamcrm[views]``)."""
        return self.view().to_rich()

    def __rich__(self) -> Any:
        return self.to_rich()

    def _repr_html_(self) -> str:
        return self.view()._repr_html_()

    def to_pandas(self) -> pd.DataFrame:
        """A ``pandas.DataFrame`` of the rows (needs ``teamcrm[views]``)."""
        return self.view().to_pandas()

    def print(self, file: IO[str] | None = None, *, plain: bool = False) -> None:
        """Print the rows as a table (rich when installed, unless *plain*)."""
        self.view().print(file, plain=plain)

    def write(self, file: IO[str], format: str = "table") -> None:
        """Write the rows as ``table``, ``json``, ``jsonl`` or ``csv`` (:mod:`teamcrm.tabular`)."""
        self.view().write(file, format)
