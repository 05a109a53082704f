"""The Arrow read of a GeoPackage layer gives the very frame the plain (feature by feature) read gives."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from geo.core.errors import QualityReport
from geo.io import vector

BAD = Path(__file__).resolve().parent.parent / "data" / "bad"


def _both(monkeypatch: pytest.MonkeyPatch, path: Path, layer: str | None) -> tuple:
    """(Arrow read or None when not taken, plain read) of ``path``'s layer through read_vector."""
    arrow = vector._arrow_gives_the_same(str(path), layer)
    first = vector.read_vector(path, layer=layer, quality=QualityReport()) if arrow else None
    monkeypatch.setattr(vector, "_arrow_gives_the_same", lambda *_: False)
    plain = vector.read_vector(path, layer=layer, quality=QualityReport())
    monkeypatch.undo()
    return first, plain


def _assert_same(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    assert list(a.columns) == list(b.columns) and a.crs == b.crs
    name = a.geometry.name
    pd.testing.assert_frame_equal(a.drop(columns=name), b.drop(columns=name), check_exact=True)
    assert (
        shapely.to_wkb(np.asarray(a.geometry.values))
        == shapely.to_wkb(np.asarray(b.geometry.values))
    ).all()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(
    "name", ["layers.gpkg", "estates_3857.gpkg", "estates_wrong_zone.gpkg", "dense_outline.gpkg"]
)
def test_the_arrow_read_of_a_fixture_is_the_plain_read(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    path = BAD / name
    for layer, _ in pyogrio.list_layers(path):
        if not pyogrio.read_info(path, layer=layer)["features"]:
            continue
        arrow, plain = _both(monkeypatch, path, str(layer))
        assert arrow is not None  # plain text fields: read through Arrow
        _assert_same(arrow, plain)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_missing_values_read_the_same(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {
            "count": pd.array([1, None, 3], dtype="Int64"),
            "share": [1.5, None, np.nan],
            "text": ["甲", None, ""],
            "no_count": pd.array([None, None, None], dtype="Int64"),
            "big": [1, 2, 2**40],
        },
        geometry=[shapely.box(0, 0, 1, 1), None, shapely.Polygon()],
        crs=4549,
    )
    path = tmp_path / "nulls.gpkg"
    frame.to_file(path, layer="estates", driver="GPKG")
    arrow, plain = _both(monkeypatch, path, "estates")
    assert arrow is not None
    _assert_same(arrow, plain)
    # a text field with no value at all: the plain read's object column
    frame.assign(text=[None, None, None]).to_file(path, layer="empty_text", driver="GPKG")
    arrow, plain = _both(monkeypatch, path, "empty_text")
    _assert_same(arrow, plain)
    assert plain["text"].dtype == object


def test_other_formats_and_field_types_are_read_feature_by_feature(tmp_path: Path) -> None:
    assert not vector._arrow_gives_the_same(str(BAD / "base_estates.geojson"), None)
    frame = gpd.GeoDataFrame(
        {"when": pd.to_datetime(["2020-01-01"]), "flag": [True]},
        geometry=[shapely.box(0, 0, 1, 1)],
        crs=4549,
    )
    frame.to_file(tmp_path / "dates.gpkg", layer="estates", driver="GPKG")
    assert not vector._arrow_gives_the_same(str(tmp_path / "dates.gpkg"), "estates")


def test_a_layer_of_geometry_only_reads_the_same(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    frame = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)], crs=4549)
    path = tmp_path / "bare.gpkg"
    frame.to_file(path, layer="estates", driver="GPKG")
    arrow, plain = _both(monkeypatch, path, "estates")
    assert arrow is not None
    _assert_same(arrow, plain)


def test_text_that_is_not_utf8_is_refused_as_by_the_plain_read(tmp_path: Path) -> None:
    """A GeoPackage text cell of bytes that are not UTF-8: a clear error, not Arrow's."""
    import sqlite3

    from geo.core.errors import InputError

    path = tmp_path / "bad_text.gpkg"
    gpd.GeoDataFrame(
        {"estate_id": ["A1", "A2"], "name": ["甲小区", "乙小区"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)],
        crs=4549,
    ).to_file(path, layer="estates")
    connection = sqlite3.connect(path)
    for (trigger,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
        connection.execute(f'DROP TRIGGER "{trigger}"')  # GDAL's triggers need SpatiaLite
    connection.execute("UPDATE estates SET name = CAST(x'e794b2ff' AS TEXT) WHERE estate_id = 'A1'")
    connection.commit()
    connection.close()
    assert vector._arrow_gives_the_same(str(path), "estates")
    with pytest.raises(InputError, match="cannot read the layer"):
        vector.read_vector(path, layer="estates", quality=QualityReport())
