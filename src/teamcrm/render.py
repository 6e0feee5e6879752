"""Plain-text tables for terminals, with no dependency beyond the standard library."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

__all__ = ["display_width", "text_table"]


def display_width(text: str) -> int:
    """Return how many terminal columns *text* takes.

    Wide and full-width characters (CJK ideographs, kana, hangul...) take
    two columns, combining marks and zero-width characters none, the rest
    one: what ``len()`` gets wrong for East Asian names.

    >>> display_width("Ana"), display_width("山田太郎"), display_width("e\u0301")
    (3, 8, 1)
    """
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def text_table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, title: str = "") -> str:
    """Return *rows* under *headers* as an aligned text table.

    Columns are aligned by :func:`display_width`, so names in Chinese,
    Japanese or Korean line up with Latin ones.

    >>> print(text_table(["name", "n"], [["Bea", 1], ["Al", 22]]))
    name  n
    ----  --
    Bea   1
    Al    22
    """
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [display_width(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], display_width(value))
    lines = []
    if title:
        lines.append(title)
    lines.append("  ".join(_pad(h, w) for h, w in zip(headers, widths, strict=True)).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(_pad(v, w) for v, w in zip(row, widths, strict=True)).rstrip())
    if not cells:
        lines.append("(none)")
    return "\n".join(lines)
