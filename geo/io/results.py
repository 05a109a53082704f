"""Reading back a results GeoPackage written by ``lianpian plan`` (types restored).

May import: geo.core, geo.io.files, pyogrio, pandas.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pyogrio

from geo.core.errors import InputError
from geo.core.messages import msg
from geo.io.files import _id_text, _short


def read_results(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read the layers and tables of a results GeoPackage written by ``lianpian plan``.

    Returns ``{layer name: frame}`` (GeoDataFrames for spatial layers, in their stored CRS).

    Raises
    ------
    InputError
        If the file is missing or has no ``estates`` layer.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", source=str(path), fix="check the path")
    try:
        with warnings.catch_warnings():  # a results file has no quality report: one line on error
            warnings.simplefilter("ignore")
            names = [str(n) for n, _ in pyogrio.list_layers(path)]
            layers = {name: pyogrio.read_dataframe(path, layer=name) for name in names}
    except Exception as exc:  # GDAL raises several types for unreadable files
        raise InputError(
            msg("cannot read the results ({detail})", detail=_short(exc)),
            source=path.name,
            fix="give the GeoPackage written by lianpian plan",
        ) from exc
    if "estates" not in layers:
        raise InputError(
            "no 'estates' layer",
            source=path.name,
            fix="give the GeoPackage written by lianpian plan",
        )
    for frame in layers.values():
        _restore_types(frame)
    return layers


_INT_COLUMNS = {
    "build_year",
    "build_year_latest",
    "households",
    "buildings",
    "plan_year",
    "plan_row",
    "priority_rank",
    "estates",
}
_TEXT_COLUMNS = {"estate_id", "district_id", "name", "county", "status", "matched_estate_id"}


def _restore_types(frame: pd.DataFrame) -> None:
    """Undo what a GeoPackage does to pandas types (in place).

    Booleans come back as 'True'/'False' text, whole numbers with gaps as floats, ids as numbers.
    """
    for column in frame.columns:
        values = frame[column]
        if column in _TEXT_COLUMNS:
            frame[column] = values.map(
                lambda v: pd.NA if v is None or (isinstance(v, float) and v != v) else _id_text(v)
            ).astype("string")
            continue
        if column in _INT_COLUMNS and pd.api.types.is_numeric_dtype(values):
            frame[column] = values.astype("Float64").round(0).astype("Int64")
            continue
        if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            present = set(values.dropna().astype(str).unique())
            if present and present <= {"True", "False"}:
                frame[column] = values.map(
                    lambda v: pd.NA if v is None or pd.isna(v) else str(v) == "True"
                ).astype("boolean")
