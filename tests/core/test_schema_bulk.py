"""Text cells normalised and searched for markup all at once give what one cell at a time gives."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.core.errors import QualityReport
from geo.core.names import normalise_text
from geo.core.schema import _MARKUP, _normalised_texts, _report_markup

#: Text with what NFKC changes or composes: full-width forms, combining marks (which compose
#: with the character before them), Hangul jamo, ligatures, spaces of every kind, the joiner.
_TEXT = st.text(
    alphabet=st.sampled_from(
        [
            *"甲乙小区 \u3000\t\n\x00\x1cAaＡｂ１①ﬁ㎡é",
            *["\u0301", "\u0308", "\u1100", "\u1161", "\u11a8", "\u3131", "\uac00", "\u2028"],
        ]
    ),
    max_size=8,
)
_CELL = st.one_of(_TEXT, st.none(), st.just(float("nan")), st.just(pd.NA), st.integers())


@settings(max_examples=300, deadline=None)
@given(st.lists(_CELL, max_size=12))
def test_normalised_all_at_once_is_normalised_one_by_one(cells: list[object]) -> None:
    assert _normalised_texts(cells) == [normalise_text(c) for c in cells]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(_TEXT, st.sampled_from(["<b", "on", "click=", "< /", "javascript:"])), max_size=6
    )
)
def test_markup_is_found_in_the_cells_that_hold_it(cells: list[str]) -> None:
    values = pd.Series(cells, dtype="string")
    quality = QualityReport()
    _report_markup(values, pd.Series(range(len(cells))), "name", "t.csv", quality)
    marked = sum(bool(_MARKUP.search(c)) for c in cells)
    assert len(quality) == marked
