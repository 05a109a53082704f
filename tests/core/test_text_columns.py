"""string_array and text_values give what pandas gives, value for value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.core.text_columns import string_array, text_values

_TEXTS = st.sampled_from(["", "eligible", "排除：违建（文件）；建成较新", "1", "1.0", " a "])
_MISSING = st.sampled_from([None, np.nan, pd.NA])
_OTHER = st.sampled_from([1, 1.0, True, 0, False, 2.5])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_TEXTS, _MISSING, st.text(max_size=4), _OTHER), max_size=40))
def test_string_array_equals_pandas(values) -> None:
    expected = pd.array(values, dtype="string")
    got = string_array(np.array(values, dtype=object) if values else values)
    pd.testing.assert_extension_array_equal(got, expected)
    assert got.dtype == expected.dtype and type(got) is type(expected)


def test_numbers_merged_by_factorize_stay_apart() -> None:
    values = [1, 1.0, True, "1", None]  # one number to pd.factorize, three texts to pandas
    assert list(string_array(values)) == ["1", "1.0", "True", "1", pd.NA]


def test_a_numpy_text_array_is_read_as_its_texts() -> None:
    values = np.where(np.array([True, False, True]), "failed", "met")  # dtype <U6
    pd.testing.assert_extension_array_equal(string_array(values), pd.array(values, dtype="string"))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(_TEXTS, _MISSING, st.text(max_size=4)), max_size=40),
    st.sampled_from(["string", "str", "object", pd.StringDtype("python")]),
    st.sampled_from(["default", None, pd.NA, ""]),
)
def test_text_values_equals_pandas(values, dtype, na_value) -> None:
    column = pd.Series(values, dtype=dtype, index=np.arange(len(values)) * 3)
    if isinstance(na_value, str) and na_value == "default":
        expected, got = column.to_numpy(dtype=object), text_values(column)
    else:
        expected = column.to_numpy(dtype=object, na_value=na_value)
        got = text_values(column, na_value)
    assert got.dtype == expected.dtype == object
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected, strict=True):
        if isinstance(theirs, str):
            assert isinstance(ours, str) and ours == theirs
        else:
            assert ours is theirs or (
                pd.isna(ours) and pd.isna(theirs) and type(ours) is type(theirs)
            )


@pytest.mark.parametrize("dtype", ["string", "str"])
def test_text_values_of_a_sliced_chunked_column(dtype) -> None:
    column = pd.concat(
        [pd.Series(["a", None, "b"], dtype=dtype), pd.Series(["b", "c"], dtype=dtype)]
    ).iloc[1:]
    assert list(text_values(column, None)) == list(column.to_numpy(dtype=object, na_value=None))
