"""Values each check must refuse: bad texts, custom fields, ids, datetimes."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from teamcrm.ids import PREFIXES
from teamcrm.testing.strategies.identifiers import _ids
from teamcrm.testing.strategies.text_and_time import _ID_SUFFIX
from teamcrm.validation import (
    MAX_CUSTOM_FIELDS,
    MAX_CUSTOM_VALUE,
    MAX_NAME,
)

# ------------------------------------------------------------------ invalid


def invalid_texts(
    *,
    max_len: int = MAX_NAME,
    allow_empty: bool = False,
    multiline: bool = False,
    allow_none: bool = False,
) -> SearchStrategy[Any]:
    """Values that :func:`teamcrm.validation.check_text` rejects under the given rules.

    Draws empty and whitespace-only strings (unless *allow_empty*), strings
    longer than *max_len* after stripping, strings holding a control
    character (other than newline, tab and CR when *multiline*) or a lone
    surrogate, and values of the wrong type (numbers, bytes, lists, dicts,
    booleans and, unless *allow_none*, ``None``).
    """
    word = st.text(st.characters(categories=("L", "N")), min_size=1, max_size=10)
    controls = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))]
    if multiline:
        controls = [c for c in controls if c not in "\n\t\r"]
    control = st.builds(lambda a, c, b: a + c + b, word, st.sampled_from(controls), word)
    surrogate = st.builds(
        lambda a, c, b: a + c + b,
        word,
        st.integers(0xD800, 0xDFFF).map(chr),
        word,
    )
    huge = st.builds(
        lambda ch, extra: ch * (max_len + extra),
        st.sampled_from(["x", "\u00e9", "\U0001f600"]),
        st.integers(1, 50),
    )
    wrong_type: list[SearchStrategy[Any]] = [
        st.integers(),
        st.floats(),
        st.binary(max_size=10),
        st.booleans(),
        st.lists(word, max_size=3),
        st.dictionaries(word, word, max_size=2),
    ]
    if not allow_none:
        wrong_type.append(st.none())
    options: list[SearchStrategy[Any]] = [control, surrogate, huge, *wrong_type]
    if not allow_empty:
        blank = st.text(st.sampled_from(" \t\n\r\u00a0\u2003\u3000"), max_size=5)
        options.append(blank)
    return st.one_of(options)


def invalid_custom_fields() -> SearchStrategy[Any]:
    """Custom-field mappings :func:`~teamcrm.validation.check_custom_fields` rejects.

    Bad names (empty, too long, starting with a digit, not strings), bad values
    (control characters, lone surrogates, text over the limit, NaN and
    infinities, integers beyond 64 bits, bytes, lists, dicts), too many
    entries, or not a mapping at all.
    """
    bad_key = st.one_of(
        st.just(""),
        st.just("1abc"),
        st.just("\u0663abc"),  # an Arabic-Indic digit first
        st.just("\u0301accent"),  # a combining mark first
        st.just("a:b"),
        st.just("a" * 65),
        st.just("bad\x00key"),
        st.integers(),
        st.none(),
    )
    bad_value = st.one_of(
        invalid_texts(
            max_len=MAX_CUSTOM_VALUE, allow_empty=True, multiline=True, allow_none=True
        ).filter(lambda v: not isinstance(v, int | float | bool)),
        st.sampled_from([float("nan"), float("inf"), float("-inf"), 2**63, -(2**63) - 1, 10**30]),
    )
    return st.one_of(
        st.builds(lambda k: {k: 1}, bad_key),
        st.builds(lambda v: {"field": v}, bad_value),
        st.just({f"f{i}": i for i in range(MAX_CUSTOM_FIELDS + 1)}),
        st.one_of(st.text(max_size=5), st.lists(st.integers(), max_size=2), st.integers()),
    )


def invalid_ids(prefix: str = PREFIXES["contact"]) -> SearchStrategy[Any]:
    """Values that are not well-formed ids with *prefix*: other prefixes, bad text, wrong types."""
    other = next(p for p in (PREFIXES["contact"], PREFIXES["bucket"]) if p != prefix)
    return st.one_of(
        _ids(other),
        st.just(prefix),
        _ID_SUFFIX.map(lambda s: prefix + s.upper()),
        _ID_SUFFIX.map(lambda s: prefix + s + "0"),
        invalid_texts(max_len=40),
    )
