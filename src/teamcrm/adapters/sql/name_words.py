"""The word range a name query reads in a B-tree of name words (both stores, issue 17).

SQLite (``0460_name_word_index``, :mod:`teamcrm.adapters.sqlite.name_words`)
and PostgreSQL (``0480_postgres_name_words``,
:mod:`teamcrm.adapters.postgres.name_words`) keep one index row per folded
word of each name, ordered by ``(team_id, word, id)``; a query reads one
range of it, the same range on both.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["PAST_WORD", "name_word_bounds"]

#: Greater than every character a word may hold (words are letters and digits).
PAST_WORD = "\U0010ffff"


def name_word_bounds(prefix: Sequence[str]) -> tuple[str, str]:
    """The range ``[low, high)`` of index words a query *prefix* (its folded words) reads.

    One word: the words that begin with it.  Several: the longest of the
    whole words (all but the last), exactly.
    """
    if len(prefix) == 1:
        return prefix[0], prefix[0] + PAST_WORD
    word = max(prefix[:-1], key=len)
    return word, word + "\x01"  # no word holds a character below "0"
