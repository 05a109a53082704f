import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from geo import io
from geo.core.errors import InputError, QualityReport
from geo.planning.survey import join_survey
from tests.conftest import GK


def _write(gdf, path, **kw):
    gdf.to_file(path, engine="pyogrio", **kw)
    return path


def test_geofabrik_landuse_keeps_residential(tmp_path):
    gdf = gpd.GeoDataFrame(
        {
            "osm_id": ["1", "2"],
            "code": [7203, 7201],
            "fclass": ["residential", "forest"],
            "name": ["朝晖六小区", "林地"],
        },
        geometry=[box(0, 0, 100, 100), box(200, 0, 300, 100)],
        crs=GK,
    )
    quality = QualityReport()
    estates = io.read_estates(_write(gdf, tmp_path / "lu.gpkg"), quality=quality)
    assert estates["estate_id"].tolist() == ["1"]
    assert estates["osm_id"].tolist() == ["1"]  # input id column kept
    assert estates["name"].tolist() == ["朝晖六小区"]
    assert any("non-residential" in i.message for i in quality.issues)


@pytest.mark.parametrize("with_cpg", [True, False])
def test_gbk_shapefile(tmp_path, with_cpg):
    gdf = gpd.GeoDataFrame(
        {"NAME": ["朝晖六小区", "体委住宅楼"], "HH": [120, 30]},
        geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10)],
        crs=GK,
    )
    path = _write(gdf, tmp_path / "gbk.shp", encoding="GBK")
    cpg = path.with_suffix(".cpg")
    if not with_cpg and cpg.exists():
        cpg.unlink()
    quality = QualityReport()
    estates = io.read_estates(
        path, quality=quality, column_mapping={"NAME": "name", "HH": "households"}
    )
    assert estates["name"].tolist() == ["朝晖六小区", "体委住宅楼"]
    assert estates["households"].tolist() == [120, 30]


def test_no_crs_is_a_clear_error(tmp_path):
    path = _write(gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)]), tmp_path / "x.shp")
    path.with_suffix(".prj").unlink(missing_ok=True)
    with pytest.raises(InputError, match=r"x\.shp.*no CRS.*--source-crs"):
        io.read_estates(path, quality=QualityReport())
    estates = io.read_estates(path, quality=QualityReport(), source_crs="EPSG:4549")
    assert estates.crs.to_epsg() == 4549


def test_projected_coordinates_labelled_as_degrees(tmp_path):
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[box(500000, 3300000, 500100, 3300100)], crs=4326)
    with pytest.raises(InputError, match="do not fit the geographic CRS"):
        io.read_estates(_write(gdf, tmp_path / "p.gpkg"), quality=QualityReport())


def test_points_instead_of_polygons(tmp_path):
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(120, 30)], crs=4326)
    with pytest.raises(InputError, match="points, not polygons"):
        io.read_estates(_write(gdf, tmp_path / "pts.gpkg"), quality=QualityReport())


def test_invalid_polygon_is_repaired_and_reported(tmp_path):
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    gdf = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[bowtie, box(20, 0, 30, 10)], crs=GK)
    quality = QualityReport()
    estates = io.read_estates(_write(gdf, tmp_path / "bad.gpkg"), quality=quality)
    assert estates.is_valid.all() and len(estates) == 2
    assert estates.area.iloc[0] == pytest.approx(50)
    assert any(i.level == "repair" and i.where == "a" for i in quality.issues)


def test_gcj02_declared_is_converted(tmp_path):
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[box(120.15, 30.25, 120.151, 30.251)], crs=4326)
    estates = io.read_estates(
        _write(gdf, tmp_path / "amap.gpkg"), quality=QualityReport(), source_crs="gcj02"
    )
    shift = estates.to_crs(GK).centroid.distance(gdf.to_crs(GK).centroid).iloc[0]
    assert 300 < shift < 700


def test_input_is_not_modified(tmp_path):
    path = _write(
        gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)], crs=GK), tmp_path / "i.gpkg"
    )
    before = path.read_bytes()
    io.read_estates(path, quality=QualityReport())
    assert path.read_bytes() == before


def test_survey_csv_in_gbk_and_utf8(tmp_path):
    table = pd.DataFrame({"小区名称": ["朝晖六小区"], "建成年代": ["1995、1997"], "户数": ["120"]})
    for enc in ("gbk", "utf-8-sig"):
        path = tmp_path / f"s_{enc}.csv"
        table.to_csv(path, index=False, encoding=enc)
        survey = io.read_survey(path, quality=QualityReport())
        assert survey["name"].iloc[0] == "朝晖六小区"
        assert survey["build_year_latest"].iloc[0] == 1997
        assert survey["survey_row"].iloc[0] == 2


def test_survey_join_by_id_then_name_within_county():
    estates = gpd.GeoDataFrame(
        {
            "estate_id": ["1", "2", "3"],
            "name": ["朝晖六小区", "体委住宅楼", "体委住宅楼"],
            "county": ["拱墅区", "西湖区", "上城区"],
            "households": pd.array([None] * 3, dtype="Int64"),
        },
        geometry=[box(0, 0, 1, 1), box(2, 0, 3, 1), box(4, 0, 5, 1)],
        crs=GK,
    )
    survey = pd.DataFrame(
        {
            "estate_id": pd.array(["1", pd.NA, pd.NA, pd.NA], dtype="string"),
            "name": ["x", "体委住宅楼", "体委住宅楼", "不存在小区"],
            "county": ["", "上城区", "", ""],
            "households": pd.array([10, 30, 40, 50], dtype="Int64"),
            "survey_row": [2, 3, 4, 5],
        }
    )
    out, report = join_survey(estates, survey)
    assert out["households"].tolist()[0] == 10  # by id
    assert out["households"].tolist()[2] == 30  # by name, in the named county only
    assert report.matched_by_id == 1 and report.matched_by_name == 2
    assert report.unmatched_rows == [5]
    assert report.estates_without_survey == []


def test_survey_name_ambiguous_is_not_joined():
    estates = gpd.GeoDataFrame(
        {
            "estate_id": ["1", "2"],
            "name": ["体委住宅楼", "体委住宅楼"],
            "county": ["", ""],
            "households": pd.array([None, None], dtype="Int64"),
        },
        geometry=[box(0, 0, 1, 1), box(2, 0, 3, 1)],
        crs=GK,
    )
    survey = pd.DataFrame(
        {
            "estate_id": pd.array([pd.NA], dtype="string"),
            "name": ["体委住宅楼"],
            "households": pd.array([30], dtype="Int64"),
            "survey_row": [2],
        }
    )
    out, report = join_survey(estates, survey)
    assert out["households"].isna().all()
    assert report.ambiguous_rows == {2: ["1", "2"]}


def test_atomic_write_keeps_previous_file_on_failure(tmp_path):
    target = tmp_path / "out.gpkg"
    good = gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)], crs=GK)
    io.write_layers(target, {"x": good})
    before = target.read_bytes()

    with pytest.raises(Exception):  # noqa: B017
        io.write_layers(target, {"x": good, "y": "not a frame"})  # type: ignore[dict-item]
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.gpkg"]


def test_barrier_layer_lines(tmp_path):
    gdf = gpd.GeoDataFrame({"fclass": ["rail"]}, geometry=[LineString([(0, 0), (1, 1)])], crs=GK)
    out = io.read_lines_or_polygons(_write(gdf, tmp_path / "rail.gpkg"), quality=QualityReport())
    assert len(out) == 1


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_polygons_with_nan_or_infinite_vertices_are_dropped_and_reported():
    from shapely.geometry import Polygon

    from geo.io.shapes import clean_polygons

    good = Polygon([(0, 0), (10, 0), (10, 10)])
    nan = Polygon([(0, 0), (float("nan"), 0), (10, 10)])
    inf = Polygon([(20, 0), (30, 0), (30, float("inf"))])
    gdf = gpd.GeoDataFrame(
        {"estate_id": ["a", "b", "c", "d", "e"]},
        geometry=[good, nan, None, inf, good],
        crs=GK,
    )
    quality = QualityReport()
    out = clean_polygons(gdf, source="x.gpkg", quality=quality, id_column="estate_id")
    assert list(out["estate_id"]) == ["a", "e"]
    dropped = {(i.where, i.message) for i in quality.issues}
    assert ("b", "NaN or infinite coordinates") in dropped
    assert ("d", "NaN or infinite coordinates") in dropped
    assert ("c", "empty geometry") in dropped


def test_identical_footprints_reported_not_same_extent():
    """Only outlines identical vertex for vertex are reported; one with the same extent is not."""
    from geo.io.estates import canonical_estates

    square = box(0, 0, 100, 100)
    raw = gpd.GeoDataFrame(
        {"osm_id": ["a", "b", "c", "d", "e"]},
        geometry=[
            square,
            Polygon([(0, 0), (100, 0), (100, 100), (0, 100)]),  # same extent, other outline
            box(300, 0, 400, 100),
            square,
            box(300, 0, 400, 100),
        ],
        crs=GK,
    )
    quality = QualityReport()
    canonical_estates(raw, source="e.gpkg", quality=quality)
    found = [i.where for i in quality.issues if "identical footprint" in i.message]
    assert found == ["estates a, d", "estates c, e"]


def test_survey_identical_rows_and_repeated_ids_reported(tmp_path):
    """Rows repeating another whole are one note; rows sharing only an id another; a shared name alone none."""
    path = tmp_path / "survey.csv"
    path.write_text(
        "编号,小区名称,户数\n"
        "1,甲小区,100\n"
        "2,乙小区,50\n"
        "1,甲小区,100\n"  # the first row again
        "3,乙小区,60\n"  # same name as row 3 only
        "4,丙小区,70\n"
        "4,丁小区,80\n",  # id 4 again, other cells
        encoding="utf-8",
    )
    quality = QualityReport()
    io.read_survey(path, quality=quality)
    notes = sorted((i.where, i.message) for i in quality.issues if "in the survey" in i.message)
    assert notes == [
        ("rows 2, 4", "2 identical rows in the survey: check which one is right"),
        ("rows 6, 7", "2 rows with the same estate id in the survey: check which one is right"),
    ]


def test_estate_ids_repeated_are_renamed_in_order_and_unique_ones_kept() -> None:
    from geo.io.estates import _unique_ids

    quality = QualityReport()
    ids = pd.Series(["a", "b", "a", "c", "a", "b"], index=range(10, 16))
    renamed = _unique_ids(ids, "x.gpkg", quality)
    assert renamed.tolist() == ["a", "b", "a-2", "c", "a-3", "b-2"]
    assert renamed.index.tolist() == list(range(10, 16))
    assert len(quality) == 3
    quality = QualityReport()
    unique = pd.Series(["a", "b", "c"], index=[3, 1, 2])
    kept = _unique_ids(unique, "x.gpkg", quality)
    pd.testing.assert_series_equal(kept, unique)
    assert not len(quality)


@pytest.mark.parametrize(
    ("crs", "noted"), [("EPSG:3857", True), ("EPSG:4549", False), ("EPSG:4547", True)]
)
def test_a_projection_is_judged_on_the_extent_of_the_features_present(crs, noted) -> None:
    from geo.io.vector import _note_projection

    # Hangzhou (120.2E) in Web Mercator, its own zone (CM 120E) and a far zone (CM 114E),
    # with a missing and an empty feature, whose bounds are NaN
    centre = gpd.GeoSeries([Point(120.2, 30.25)], crs=4326).to_crs(crs).iloc[0]
    frame = gpd.GeoDataFrame(geometry=[None, Polygon(), centre.buffer(500)], crs=crs)
    quality = QualityReport()
    _note_projection(frame, "x.gpkg", quality)
    assert (len(quality) == 1) == noted
    quality = QualityReport()
    _note_projection(gpd.GeoDataFrame(geometry=[None, Polygon()], crs=crs), "x.gpkg", quality)
    assert not len(quality)  # nothing present: nothing to judge
