"""The location-and-name survey join on tiny hand-made layouts (metres, EPSG:4549)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import prcoords
import pytest
from shapely.geometry import Point, Polygon, box

from geo.core.errors import InputError, QualityReport
from geo.core.policy import Survey
from geo.core.schema import coerce_attributes, map_headers
from geo.planning.survey import join_survey
from geo.planning.survey_points import attach_points, check_point_system
from tests.conftest import GK, make_estates

UNKNOWN = {"build_year_raw": None, "build_year": pd.NA, "build_year_latest": pd.NA}


def estates_of(*rows: dict) -> gpd.GeoDataFrame:
    return make_estates([{**UNKNOWN, "households": pd.NA, **r} for r in rows])


def survey_of(*rows: dict, crs: str = GK) -> gpd.GeoDataFrame:
    """Canonical survey rows with a point each (``point``: (x, y) in ``crs`` or None)."""
    raw = pd.DataFrame([{k: v for k, v in r.items() if k != "point"} for r in rows])
    raw = raw.rename(columns=map_headers(list(raw.columns)))
    quality = QualityReport()
    canonical = coerce_attributes(raw, source="t.csv", quality=quality)
    canonical["estate_id"] = pd.array([pd.NA] * len(raw), dtype="string")
    canonical["survey_row"] = np.arange(2, len(raw) + 2)
    points = [Point(*r["point"]) if r.get("point") else None for r in rows]
    return gpd.GeoDataFrame(canonical, geometry=points, crs=crs)


def outcome(report, row: int) -> pd.Series:
    table = report.table
    return table.loc[table["survey_row"] == row].iloc[0]


def test_point_inside_joins_with_name_confirmed():
    estates = estates_of({"estate_id": "a", "name": "朝晖六小区", "geometry": box(0, 0, 100, 100)})
    survey = survey_of(
        {"name": "朝晖6小区", "建成年代": "1989年建成", "户数": "1597户", "point": (50, 50)}
    )
    out, report = join_survey(estates, survey)
    row = outcome(report, 2)
    assert row["match"] == "matched_location_name"
    assert row["estate_id"] == "a" and row["distance_m"] == 0 and row["name_score"] == 1.0
    estate = out.iloc[0]
    assert estate["build_year_latest"] == 1989 and estate["households"] == 1597
    assert estate["survey_match"] == "matched_location_name" and estate["survey_row"] == 2


def test_point_20_m_outside_joins_when_the_name_agrees_and_not_by_location_alone():
    estates = estates_of(
        {"estate_id": "a", "name": "文晖苑", "geometry": box(0, 0, 100, 100)},
        {"estate_id": "b", "name": "", "geometry": box(0, 300, 100, 400)},
    )
    survey = survey_of(
        {"name": "文晖苑", "建成年代": "1995", "point": (120, 50)},  # 20 m east of a
        {"name": "某某小区", "建成年代": "1996", "point": (50, 420)},  # 20 m north of b, unnamed
    )
    out, report = join_survey(estates, survey)
    first, second = outcome(report, 2), outcome(report, 3)
    assert first["match"] == "matched_location_name" and first["distance_m"] == pytest.approx(20)
    assert out.loc[out["estate_id"] == "a", "build_year_latest"].iloc[0] == 1995
    # a location alone joins only a point inside the polygon
    assert second["match"] == "unmatched"
    assert out.loc[out["estate_id"] == "b", "build_year_latest"].isna().all()


def test_tolerance_comes_from_the_policy():
    estates = estates_of({"estate_id": "a", "name": "文晖苑", "geometry": box(0, 0, 100, 100)})
    survey = survey_of({"name": "文晖苑", "建成年代": "1995", "point": (120, 50)})
    _, strict = join_survey(estates, survey, Survey(tolerance_m=10, name_search_m=0))
    assert outcome(strict, 2)["match"] == "unmatched"
    _, loose = join_survey(estates, survey, Survey(tolerance_m=10, name_search_m=100))
    assert outcome(loose, 2)["match"] == "matched_name"


def test_two_phases_on_one_polygon_are_aggregated():
    estates = estates_of({"estate_id": "a", "name": "天阳棕榈湾", "geometry": box(0, 0, 200, 100)})
    survey = survey_of(
        {"name": "天阳棕榈湾一期", "建成年代": "1998年建成", "户数": "300户", "栋数": "5栋",
         "point": (50, 50)},
        {"name": "天阳棕榈湾二期", "建成年代": "2004年建成", "户数": "200户", "栋数": "暂无数据",
         "point": (150, 50)},
    )  # fmt: skip
    out, report = join_survey(estates, survey)
    assert set(report.table["match"]) == {"matched_location_name"}
    estate = out.iloc[0]
    assert estate["households"] == 500  # summed
    assert estate["buildings"] == 5  # summed over the phases that give it
    assert (estate["build_year"], estate["build_year_latest"]) == (1998, 2004)  # the latest counts
    assert estate["build_year_raw"] == "1998年建成、2004年建成"
    assert estate["survey_rows"] == "2、3"


def test_the_same_listing_twice_is_not_summed():
    estates = estates_of({"estate_id": "a", "name": "文晖苑", "geometry": box(0, 0, 100, 100)})
    survey = survey_of(
        {"name": "文晖苑", "户数": "300", "point": (50, 50)},
        {"name": "文晖苑", "户数": "300", "point": (60, 50)},
    )
    out, _ = join_survey(estates, survey)
    assert out.iloc[0]["households"] == 300


def test_same_named_estates_in_different_counties():
    estates = estates_of(
        {"estate_id": "a", "name": "文晖苑", "county": "下城区", "geometry": box(0, 0, 100, 100)},
        {"estate_id": "b", "name": "文晖苑", "county": "西湖区", "geometry": box(130, 0, 230, 100)},
    )
    point = (115, 50)  # 15 m from both
    survey = survey_of(
        {"name": "文晖苑", "所属区域": "西湖 北山", "建成年代": "1991", "point": point},
        {"name": "文晖苑", "建成年代": "1992", "point": point},
    )
    out, report = join_survey(estates, survey)
    with_county, without = outcome(report, 2), outcome(report, 3)
    assert with_county["match"] == "matched_location_name" and with_county["estate_id"] == "b"
    assert with_county["survey_county"] == "西湖区"  # 西湖 -> the official name
    assert with_county["business_circle"] == "北山"
    assert without["match"] == "ambiguous"  # two equally good estates: reported, not guessed
    assert set(without["candidates"].split(";")) == {"a", "b"}
    assert out.loc[out["estate_id"] == "a", "build_year_latest"].isna().all()


def test_never_across_counties_when_both_know_theirs():
    estates = estates_of(
        {"estate_id": "a", "name": "文晖苑", "county": "下城区", "geometry": box(0, 0, 100, 100)},
    )
    survey = survey_of(
        {"name": "文晖苑", "所在区": "西湖区", "建成年代": "1991", "point": (50, 50)}
    )
    out, report = join_survey(estates, survey)
    assert outcome(report, 2)["match"] == "unmatched"
    assert out["build_year_latest"].isna().all()


def test_point_in_two_same_named_polygons_is_ambiguous():
    estates = estates_of(
        {"estate_id": "a", "name": "采荷新村", "geometry": box(0, 0, 100, 100)},
        {"estate_id": "b", "name": "采荷新村", "geometry": box(50, 0, 150, 100)},
    )
    survey = survey_of({"name": "采荷新村", "建成年代": "1985", "point": (75, 50)})
    out, report = join_survey(estates, survey)
    row = outcome(report, 2)
    assert row["match"] == "ambiguous" and row["distance_m"] == 0
    assert out["build_year_latest"].isna().all()
    assert report.ambiguous_rows == {2: ["a", "b"]}


def test_point_in_a_hole():
    ring = Polygon(
        [(0, 0), (100, 0), (100, 100), (0, 100)], [[(30, 30), (70, 30), (70, 70), (30, 70)]]
    )
    unnamed = estates_of({"estate_id": "a", "name": "", "geometry": ring})
    survey = survey_of({"name": "学校宿舍", "建成年代": "1980", "point": (50, 50)})
    out, report = join_survey(unnamed, survey)
    row = outcome(report, 2)
    assert row["match"] == "unmatched"  # the hole is not the estate
    assert out["build_year_latest"].isna().all()
    assert row["distance_m"] == pytest.approx(20)
    named = estates_of({"estate_id": "a", "name": "学校宿舍", "geometry": ring})
    _, report = join_survey(named, survey)
    row = outcome(report, 2)
    assert row["match"] == "matched_location_name" and row["distance_m"] == pytest.approx(20)


def test_point_inside_an_estate_of_another_name_is_not_joined_to_it():
    estates = estates_of(
        {"estate_id": "a", "name": "招商雍泽府", "geometry": box(0, 0, 100, 100)},
    )
    survey = survey_of({"name": "招商雍和府", "建成年代": "2016", "point": (50, 50)})
    out, report = join_survey(estates, survey)
    row = outcome(report, 2)
    assert row["match"] == "unmatched" and "another name" in row["note"]
    assert out["build_year_latest"].isna().all()


def test_point_inside_an_unnamed_polygon_joins_by_location():
    estates = estates_of({"estate_id": "a", "name": "", "geometry": box(0, 0, 100, 100)})
    survey = survey_of({"name": "红星小区", "建成年代": "1979", "point": (50, 50)})
    out, report = join_survey(estates, survey)
    assert outcome(report, 2)["match"] == "matched_location"
    assert out.iloc[0]["name"] == "红星小区"  # the survey name fills an empty one
    assert out.iloc[0]["build_year_latest"] == 1979


def test_rows_without_a_point_join_by_name_and_every_row_has_an_outcome():
    estates = estates_of(
        {"estate_id": "a", "name": "文晖苑", "geometry": box(0, 0, 100, 100)},
        {"estate_id": "b", "name": "朝晖一区", "geometry": box(0, 300, 100, 400)},
    )
    survey = survey_of(
        {"name": "朝晖一区", "建成年代": "1983", "point": None},
        {"name": "不存在", "建成年代": "1983", "point": None},
        {"name": "文晖苑", "建成年代": "1990", "point": (50, 50)},
    )
    out, report = join_survey(estates, survey)
    assert list(report.table["match"]) == ["matched_name", "unmatched", "matched_location_name"]
    assert report.counts()["matched_name"] == 1 and report.counts()["unmatched"] == 1
    assert out.loc[out["estate_id"] == "b", "build_year_latest"].iloc[0] == 1983


# --------------------------------------------------------------------------- points as read


def raw_table(rows: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = pd.DataFrame(rows, dtype=str)
    quality = QualityReport()
    mapping = map_headers(list(table.columns))
    survey = coerce_attributes(
        table.rename(columns=mapping)[list(mapping.values())], source="t.csv", quality=quality
    )
    survey["estate_id"] = pd.array([pd.NA] * len(table), dtype="string")
    survey["survey_row"] = np.arange(2, len(table) + 2)
    return table, survey


def test_attach_points_converts_bd09_and_reads_coordinate_cells():
    lat, lon = 30.27, 120.15
    bd = prcoords.wgs_bd((lat, lon))
    table, survey = raw_table(
        [
            {"小区名称": "甲", "建筑年代": "1990", "坐标": f"{bd.lon},{bd.lat}"},
            {"小区名称": "乙", "建筑年代": "1990", "坐标": "暂无数据"},
        ]
    )
    quality = QualityReport()
    out = attach_points(survey, table, declared="bd09", source="t.csv", quality=quality)
    point = out.geometry.iloc[0]
    assert point.x == pytest.approx(lon, abs=1e-6) and point.y == pytest.approx(lat, abs=1e-6)
    assert out.geometry.iloc[1] is None
    assert out.attrs["point_crs"] == "bd09"


def test_attach_points_swaps_latitude_first_columns_and_rejects_unknown_systems():
    table, survey = raw_table([{"小区名称": "甲", "经度": "30.27", "纬度": "120.15"}])
    quality = QualityReport()
    out = attach_points(survey, table, declared=None, source="t.csv", quality=quality)
    assert out.geometry.iloc[0].x == pytest.approx(120.15)
    assert any("swapped" in m for m in quality.to_frame()["message"])
    with pytest.raises(InputError, match="survey-crs"):
        attach_points(survey, table, declared="mars", source="t.csv", quality=quality)


def test_projected_points_need_a_declaration():
    table, survey = raw_table([{"小区名称": "甲", "x": "512000", "y": "3350000"}])
    with pytest.raises(InputError, match="not longitude/latitude"):
        attach_points(survey, table, declared=None, source="t.csv", quality=QualityReport())
    out = attach_points(
        survey, table, declared="EPSG:4549", source="t.csv", quality=QualityReport()
    )
    assert 120 < out.geometry.iloc[0].x < 121


def hangzhou_layout(system: str):
    """Twelve named 80 m estates in Hangzhou (WGS-84) and a table of their centres in ``system``."""
    shift = {"wgs84": None, "gcj02": prcoords.wgs_gcj, "bd09": prcoords.wgs_bd}[system]
    polygons, rows = [], []
    for i in range(12):
        lon, lat = 120.10 + 0.01 * (i % 4), 30.25 + 0.01 * (i // 4)
        d = 0.0004  # about 40 m
        polygons.append(box(lon - d, lat - d, lon + d, lat + d))
        point = shift((lat, lon)) if shift else prcoords.Coords(lat, lon)
        rows.append({"小区名称": f"测试{i}号小区", "经度": str(point.lon), "纬度": str(point.lat)})
    estates = gpd.GeoDataFrame(
        {"estate_id": [str(i) for i in range(12)], "name": [f"测试{i}号小区" for i in range(12)]},
        geometry=polygons,
        crs="EPSG:4326",
    )
    return estates, raw_table(rows)


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_undeclared_offset_table_gets_a_warning_naming_the_system(system):
    estates, (table, survey) = hangzhou_layout(system)
    quality = QualityReport()
    located = attach_points(survey, table, declared=None, source="t.csv", quality=quality)
    found = check_point_system(located, estates, source="t.csv", quality=quality)
    assert found is not None and found.likely == system
    messages = " ".join(quality.to_frame()["message"])
    assert ("BD-09" if system == "bd09" else "GCJ-02") in messages
    # and the join then withholds location-only joins
    metric = estates.to_crs(GK).assign(name="")
    _, report = join_survey(metric, located)
    assert (report.table["match"] == "unmatched").all()


def test_declared_system_that_fits_gives_no_warning():
    estates, (table, survey) = hangzhou_layout("bd09")
    quality = QualityReport()
    located = attach_points(survey, table, declared="bd09", source="t.csv", quality=quality)
    found = check_point_system(located, estates, source="t.csv", quality=quality)
    assert found is not None and found.likely == "bd09"
    assert quality.to_frame()["level"].eq("warning").sum() == 0
    _, report = join_survey(estates.to_crs(GK), located)
    assert (report.table["match"] == "matched_location_name").all()


def test_offset_check_without_names_uses_the_points_inside_estates():
    estates, (table, survey) = hangzhou_layout("bd09")
    survey["name"] = pd.array([pd.NA] * len(survey), dtype="string")
    quality = QualityReport()
    located = attach_points(survey, table, declared="wgs84", source="t.csv", quality=quality)
    found = check_point_system(located, estates, source="t.csv", quality=quality)
    assert found is not None and found.likely == "bd09"
    message = quality.to_frame()["message"].iloc[-1]
    assert "BD-09" in message and "inside such an estate" in message


def test_coordinates_as_written_are_floats_with_nan_where_unreadable() -> None:
    from geo.planning.survey_points import _coordinates

    table = pd.DataFrame(
        {
            "lng": ["120.1", "", None, "x"],
            "lat": ["30.2", "31", "", None],
            "坐标": ["120.1,30.2", "", None, "a"],
        }
    )
    x, y = _coordinates(table, {"longitude": "lng", "latitude": "lat"})
    assert x.dtype == y.dtype == float
    assert np.array_equal(x, [120.1, np.nan, np.nan, np.nan], equal_nan=True)
    assert np.array_equal(y, [30.2, 31.0, np.nan, np.nan], equal_nan=True)
    x, y = _coordinates(table, {"coordinates": "坐标"})
    assert np.array_equal(x, [120.1, np.nan, np.nan, np.nan], equal_nan=True)
    assert np.array_equal(y, [30.2, np.nan, np.nan, np.nan], equal_nan=True)
    x, y = _coordinates(table, {})  # no point columns
    assert x.dtype == float and np.isnan(x).all() and np.isnan(y).all() and len(x) == 4
