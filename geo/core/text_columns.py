"""Text columns of few distinct values (statuses, reasons, match kinds) built and read once per value.

``pd.array(values, dtype="string")`` checks and copies every one of its values into Arrow, and
``Series.to_numpy(dtype=object)`` makes a Python string of every cell: at 220,000 estates a
few hundredths of a second per column, for columns that hold a handful of distinct texts
(issue 20: about 25 such columns in the survey join, eligibility and investment steps).
:func:`string_array` and :func:`text_values` give the very same arrays, converting each distinct
value once. May import: numpy, pandas, pyarrow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def string_array(values: Sequence[object] | np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Return ``pd.array(values, dtype="string")``, each distinct value converted once.

    For a column of few distinct texts (statuses, reasons): the values are numbered
    (``pd.factorize``: missing values, None, NaN or NA, get no number and stay missing) and the
    distinct ones made into a string array that is taken in row order. Values that are not all
    text or missing (numbers, which factorize may merge: 1, 1.0 and True) are left to
    ``pd.array``, so the result is the same in every case.
    """
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    if not all(isinstance(value, str) for value in uniques):
        return pd.array(values, dtype="string")
    return pd.array(uniques, dtype="string").take(codes, allow_fill=True)


#: ``na_value`` of :func:`text_values` when not given: the column's own missing value, as pandas.
_AS_PANDAS = object()


def text_values(column: pd.Series, na_value: object = _AS_PANDAS) -> np.ndarray:
    """Return ``column.to_numpy(dtype=object, na_value=na_value)`` of a text column.

    A column of Arrow-backed strings (pandas' ``string`` and ``str`` dtypes) is
    dictionary-encoded and each distinct text made a Python string once (equal cells share
    one string object); any other column is converted by pandas. Without ``na_value``, a
    missing cell is the dtype's own missing value (``pd.NA`` or NaN), as pandas gives it.
    """
    data = getattr(column.array, "_pa_array", None)
    if not isinstance(column.dtype, pd.StringDtype) or data is None:
        if na_value is _AS_PANDAS:
            return column.to_numpy(dtype=object)
        return column.to_numpy(dtype=object, na_value=na_value)
    if na_value is _AS_PANDAS:
        na_value = column.dtype.na_value
    encoded = pc.dictionary_encode(data).combine_chunks()
    if not isinstance(encoded, pa.DictionaryArray):  # pragma: no cover - pyarrow gives one
        return column.to_numpy(dtype=object, na_value=na_value)
    texts = np.asarray([*encoded.dictionary.to_pylist(), na_value], dtype=object)
    indices = encoded.indices.fill_null(len(texts) - 1).to_numpy(zero_copy_only=False)
    return texts[indices]
