"""The small hand-checkable plan the tender-package tests export (tests/outputs).

Three 100 m squares in a row in EPSG:4549 (CGCS2000 GK, CM 120E); the first two form district
D0001 (the first with a 20 x 20 m courtyard hole), the third is alone. Names hold CJK, a formula
and a character GBK lacks; the district's county is formula-like text. A road runs south of the
row and a pond lies north of it (context of the drawings); the adjacency pair and a quality
note about E2's survey row are in the plan as ``lianpian plan`` writes them.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from geo.core.policy import load_policy

CRS = "EPSG:4549"  # CGCS2000 / 3-degree GK CM 120E
X0, Y0 = 500_000.0, 3_330_000.0  # about 120.0E, 30.1N

NAMES = ["朝晖一小区", "=SUM(1,2)", "建面²新村"]  # CJK, a formula, a character GBK lacks


def plan_layers() -> dict[str, pd.DataFrame]:
    """Three 100 m squares in a row; the first two form district D0001, the third is alone.

    The first estate has a courtyard hole (20 x 20 m) so holes are checked too.
    """
    squares = [shapely.box(X0 + i * 110, Y0, X0 + i * 110 + 100, Y0 + 100) for i in range(3)]
    squares[0] = squares[0].difference(shapely.box(X0 + 40, Y0 + 40, X0 + 60, Y0 + 60))
    estates = gpd.GeoDataFrame(
        {
            "estate_id": ["E1", "E2", "E3"],
            "name": NAMES,
            "county": ["拱墅区"] * 3,
            "build_year_raw": ["1990", "1995年", "2010"],
            "build_year": [1990.0, 1995.0, 2010.0],
            "households": [300, 200, 100],
            "buildings": [10, 8, 4],
            "floor_area_m2": [30000.0, 20000.0, 10000.0],
            "consent_rate": [0.9, 0.85, 0.7],
            "needs": ["供水；加装电梯；服务设施；奇怪项目", "屋面防水；协商机制", ""],
            "status": ["eligible", "extension", "ineligible"],
            "investment_yuan": [30000 * 242.0, 20000 * 242.0, 10000 * 242.0],
            "investment_estimated": [False, False, False],
            "district_id": ["D0001", "D0001", None],
            "project_type": ["district", "district", None],
            "priority_score": [80.0, 70.0, 10.0],
            "osm_id": [11, 12, 13],
            "survey_row": [1, 2, 3],
        },
        geometry=squares,
        crs=CRS,
    )
    districts = gpd.GeoDataFrame(
        {
            "district_id": ["D0001"],
            "county": ["=cmd|' /C calc'!A0"],  # formula-like text reaches the index CSV/XLSX
            "members": ["E1,E2"],
            "estates": [2],
            "households": [500],
            "buildings": [18],
            "floor_area_m2": [50000.0],
            "investment_yuan": [50000 * 242.0],
            "priority_rank": [1],
        },
        geometry=[shapely.union_all(squares[:2]).buffer(5).buffer(-5)],
        crs=CRS,
    )
    corridors = gpd.GeoDataFrame(
        {"district_id": ["D0001"], "kind": ["给水"], "length_m": [110.0]},
        geometry=[shapely.LineString([(X0 + 50, Y0 + 105), (X0 + 160, Y0 + 105)])],
        crs=CRS,
    )
    sites = gpd.GeoDataFrame(
        {"name": ["社区养老服务站"], "area_m2": [300.0]},
        geometry=[shapely.Point(X0 + 150, Y0 + 50)],
        crs=CRS,
    )
    run_info = pd.DataFrame(
        {
            "key": [
                "software_version",
                "synthetic",
                "policy_source",
                "policy_toml",
                "source_estates",
                "source_survey",
            ],
            "value": [
                "lianpian test",
                "false",
                "defaults",
                # a city without item rates: its investment is the flat rate the estates carry
                load_policy().with_values({"cost.item_rates": ()}).to_toml(),
                "/data/osm_landuse_residential.gpkg",
                "/data/survey_illustrative.csv",
            ],
        }
    )
    return {
        "estates": estates,
        "districts": districts,
        "corridors": corridors,
        "elderly_sites": sites,
        "run_info": run_info,
        "adjacency": gpd.GeoDataFrame(
            {
                "source_id": ["E1"],
                "target_id": ["E2"],
                "gap_m": [10.0],
                "shared_boundary_m": [100.0],
                "blocked": [False],
                "blocked_by": [""],
            },
            geometry=[shapely.LineString([(X0 + 50, Y0 + 50), (X0 + 160, Y0 + 50)])],
            crs=CRS,
        ),
        "quality": pd.DataFrame(
            {
                "level": ["repair", "repair"],
                "source": ["survey_illustrative.csv", "survey_illustrative.csv"],
                "where": ["row 2", "row 7"],
                "message": ["build year '1995年' read as 1995", "a note about another estate"],
                "fix": ["check the reading", ""],
            }
        ),
        "roads": gpd.GeoDataFrame(
            {"fclass": ["secondary"], "name": ["文一路"]},
            geometry=[shapely.LineString([(X0 - 300, Y0 - 20), (X0 + 600, Y0 - 20)])],
            crs=CRS,
        ),
        "water": gpd.GeoDataFrame(
            {"fclass": ["water"], "name": ["池塘"]},
            geometry=[shapely.box(X0 + 20, Y0 + 140, X0 + 120, Y0 + 180)],
            crs=CRS,
        ),
    }
