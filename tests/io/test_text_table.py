"""A CSV/TSV's text reaches pandas' C parser as UTF-8 bytes encoded at once (issue 20).

pandas, given the text, encodes it to UTF-8 as it reads: the parser sees the same bytes, so
every table (cells, headers, row count, types) is the one the text gave before, and a text the
C parser refuses still goes to the Python parser.
"""

from __future__ import annotations

import contextlib
import csv
import io

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from geo.io.tables import _parse_text_table

OPTIONS = {"dtype": str, "keep_default_na": False, "na_values": [""], "skip_blank_lines": False}


def _as_text(text: str, sep: str | None) -> pd.DataFrame:
    """The table as the text itself was given to pandas (the reading before issue 20)."""
    delimiter = sep
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(io.StringIO(text).readline()).delimiter
        except csv.Error:
            delimiter = None
    plain = text.count("\r") == text.count("\r\n")
    if plain and delimiter is not None and len(delimiter) == 1:
        with contextlib.suppress(Exception):
            table = pd.read_csv(io.StringIO(text), sep=delimiter, engine="c", **OPTIONS)
            if isinstance(table.index, pd.RangeIndex):
                return table
    return pd.read_csv(io.StringIO(text), sep=sep, engine="python", **OPTIONS)


def _same(text: str, sep: str | None) -> None:
    try:
        expected = _as_text(text, sep)
    except Exception as error:  # the same refusal
        with pytest.raises(type(error)):
            _parse_text_table(text, sep)
        return
    assert_frame_equal(_parse_text_table(text, sep), expected, check_exact=True)


CELLS = st.sampled_from(
    [
        "",
        " ",
        "小区",
        "朝晖 三区",
        '"a,b"',
        '"说""明"',
        "1990",
        "1,200",
        "\ufeff",
        "é",
        "x\ty",
        "—",
        "𠀋",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.lists(CELLS, min_size=1, max_size=4), min_size=1, max_size=6),
    sep=st.sampled_from([",", "\t", ";"]),
    ending=st.sampled_from(["\n", "\r\n"]),
    blank=st.booleans(),
    tab=st.booleans(),
)
def test_the_table_is_the_one_the_text_gives(rows, sep, ending, blank, tab) -> None:
    lines = ["名称" + sep + "户数" + sep + "年份"] + [sep.join(row) for row in rows]
    if blank:
        lines.insert(2, "")
    _same(ending.join(lines) + ending, "\t" if tab else None)


@pytest.mark.parametrize(
    "text",
    [
        "\ufeff小区,户数\n朝晖一区,120\n",  # a byte-order mark left in the text
        "小区,户数\n朝晖一区,120\n\n朝晖二区,\n",  # a blank line (kept as an empty row)
        '小区,说明\n朝晖一区,"两行\n的说明"\n',  # a quoted line break
        "小区,户数\r\n朝晖一区,120\r\n",
        "小区,户数\n朝晖一区,120,多余\n",  # a ragged row: the Python parser's reading
        "小区;户数\n朝晖一区;120\n",
    ],
)
def test_known_shapes(text: str) -> None:
    _same(text, None)
