"""The location-and-name join on the real Hangzhou listing-site table (BD-09) and OSM polygons.

The expected pairs are derived independently here: the CSV read with pandas, points converted
with prcoords directly, containment with geopandas, names compared with a plain rule, cells parsed
with regular expressions. Skipped when ../shared/data is absent.
"""

from __future__ import annotations

import re
import warnings

import geopandas as gpd
import pandas as pd
import prcoords
import pytest

from geo.core.crs import metric_crs_for
from geo.core.policy import load_policy
from geo.pipeline import load_inputs
from geo.planning.survey import join_survey
from tests.conftest import shared_file

ESTATES = "hangzhou/osm_landuse_residential.gpkg"
TABLE = "hangzhou/fang_estates_2019_bd09.csv"


def plain_name(name: object) -> str:
    if not isinstance(name, str):
        return ""
    text = re.sub(r"[\s·•()（）]", "", name)
    return text[:-2] if text.endswith("小区") and len(text) > 3 else text


def first_number(cell: object, unit: str) -> float:
    found = re.fullmatch(rf"(\d+){unit}", str(cell).strip()) if isinstance(cell, str) else None
    return float(found.group(1)) if found else float("nan")


@pytest.fixture(scope="module")
def expected_pairs() -> pd.DataFrame:
    """Rows whose BD-09 point, converted, lies inside exactly one polygon of the same name."""
    table = pd.read_csv(shared_file(TABLE), dtype=str)
    table["survey_row"] = range(2, len(table) + 2)
    table = table.dropna(subset=["经度", "纬度"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wgs = [
            prcoords.bd_wgs_bored((float(lat), float(lon)))
            for lon, lat in zip(table["经度"], table["纬度"], strict=True)
        ]
    points = gpd.GeoDataFrame(
        table,
        geometry=gpd.points_from_xy([c.lon for c in wgs], [c.lat for c in wgs]),
        crs="EPSG:4326",
    )
    polygons = gpd.read_file(shared_file(ESTATES), layer="landuse")[["osm_id", "name", "geometry"]]
    inside = gpd.sjoin(points, polygons, predicate="within", how="inner")
    # rows near a polygon (within the policy's 50 m) are candidates for it too: "alone" polygons
    # have no other row's point that close
    metric = "EPSG:4549"
    zone = polygons.to_crs(metric).assign(geometry=lambda g: g.buffer(50.0))
    near = gpd.sjoin(points.to_crs(metric), zone, predicate="within", how="inner")
    points_near = near.groupby("osm_id")["survey_row"].size()
    same = inside.loc[inside["小区名称"].map(plain_name) == inside["name"].map(plain_name)]
    same = same.loc[same["name"].map(plain_name) != ""]
    same = same.loc[~same["survey_row"].duplicated(keep=False)]  # one same-named polygon only
    same = same.assign(
        alone=same["osm_id"].map(points_near).eq(1),
        year=same["建筑年代"].map(lambda c: first_number(c, "年建成")),
        households=same["房屋总数"].map(lambda c: first_number(c, "户")),
    )
    return same.assign(osm_id=same["osm_id"].astype(str))


@pytest.fixture(scope="module")
def joined():
    inputs = load_inputs(
        str(shared_file(ESTATES)), survey=str(shared_file(TABLE)), survey_crs="bd09"
    )
    estates = inputs.estates.to_crs(metric_crs_for(inputs.estates))
    out, report = join_survey(estates, inputs.survey, load_policy().survey)
    return out, report


def test_same_named_pairs_are_joined_without_mistake(expected_pairs, joined):
    out, report = joined
    assert len(expected_pairs) > 250  # the independent derivation found the pairs
    table = report.table.set_index("survey_row")
    rows = table.loc[expected_pairs["survey_row"]]
    assert (rows["match"] == "matched_location_name").all()
    assert (rows["estate_id"].to_numpy() == expected_pairs["osm_id"].to_numpy()).all()
    estates = out.set_index("estate_id")
    alone = expected_pairs.loc[expected_pairs["alone"]]
    assert len(alone) > 200
    got = estates.loc[alone["osm_id"]]
    year_known = alone["year"].notna().to_numpy()
    assert year_known.sum() > 100
    assert (got["build_year_latest"].to_numpy()[year_known] == alone["year"][year_known]).all()
    households_known = alone["households"].notna().to_numpy()
    assert (
        got["households"].to_numpy()[households_known]
        == alone["households"].to_numpy()[households_known]
    ).all()
    # a polygon holding several rows keeps each row's year among its phases
    several = expected_pairs.loc[~expected_pairs["alone"] & expected_pairs["year"].notna()]
    got = estates.loc[several["osm_id"]]
    assert (got["build_year"].to_numpy() <= several["year"].to_numpy()).all()
    assert (got["build_year_latest"].to_numpy() >= several["year"].to_numpy()).all()


def test_a_real_build_year_for_at_least_15_percent_of_estates(joined):
    out, report = joined
    real = out["survey_match"].notna() & out["build_year_latest"].notna()
    assert len(out) == 2112
    assert real.sum() >= 0.15 * len(out)
    counts = report.counts()
    assert sum(counts.values()) == 2835  # every row has an outcome
    assert counts["matched_location_name"] > counts["matched_location"] > 0


def test_declared_wrongly_warns_naming_bd09_and_joins_little():
    inputs = load_inputs(
        str(shared_file(ESTATES)), survey=str(shared_file(TABLE)), survey_crs="wgs84"
    )
    messages = inputs.quality.to_frame()
    warning = messages.loc[messages["message"].str.contains("BD-09")]
    assert len(warning) == 1 and "--survey-crs bd09" in warning["fix"].iloc[0]
    estates = inputs.estates.to_crs(metric_crs_for(inputs.estates))
    out, report = join_survey(estates, inputs.survey, load_policy().survey)
    counts = report.counts()
    assert counts["matched_location"] == 0  # location alone is not trusted
    assert counts["matched_location_name"] < 20
    assert counts["unmatched"] > 2700
    assert (out["survey_match"].notna() & out["build_year_latest"].notna()).sum() < 50
