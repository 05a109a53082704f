"""Shared fixtures: tiny hand-checkable layouts in a projected CRS, and the real data in ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from geo.core.policy import load_policy
from geo.planning.eligibility import assess_eligibility

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
GK = "EPSG:4549"  # CGCS2000 / 3-degree Gauss-Kruger CM 120E


def shared_file(relative: str) -> Path:
    """Return a file of ../shared/data, or skip the test (fail on CI) when it is absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        if os.environ.get("CI") == "true" and SHARED_DATA.exists():
            pytest.fail(f"{path} missing on CI")
        pytest.skip(f"real data not available: {path} is absent (needs ../shared/data)")
    return path


@pytest.fixture
def policy():
    return load_policy()


def make_estates(rows: list[dict], crs: str = GK) -> gpd.GeoDataFrame:
    """Canonical estates from a list of dicts with at least estate_id and geometry."""
    defaults = {
        "name": "",
        "county": pd.NA,
        "build_year_raw": "1990",
        "build_year": 1990,
        "build_year_latest": 1990,
        "households": 100,
        "buildings": 2,
        "floor_area_m2": 8000.0,
        "consent_rate": 0.9,
        "elderly_share": 0.2,
        "already_renovated": False,
        "shantytown_plan": False,
        "urban_village": False,
        "illegal_structures_removed": True,
        "has_property_management": True,
        "needs": "供水；排水",
    }
    frame = pd.DataFrame([{**defaults, **r} for r in rows])
    for col, dtype in (
        ("build_year", "Int64"),
        ("build_year_latest", "Int64"),
        ("households", "Int64"),
        ("buildings", "Int64"),
        ("floor_area_m2", "Float64"),
        ("consent_rate", "Float64"),
        ("elderly_share", "Float64"),
        ("county", "string"),
        ("name", "string"),
        ("needs", "string"),
        ("build_year_raw", "string"),
    ):
        frame[col] = frame[col].astype(dtype)
    for col in (
        "already_renovated",
        "shantytown_plan",
        "urban_village",
        "illegal_structures_removed",
        "has_property_management",
    ):
        frame[col] = frame[col].astype("boolean")
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=crs)


def squares_in_a_row(
    n: int, *, size: float = 100.0, gap: float = 10.0, **attrs
) -> gpd.GeoDataFrame:
    """n squares of ``size`` m in a row along x, ``gap`` m apart, ids A, B, C..."""
    rows = [
        {
            "estate_id": chr(65 + i),
            "geometry": box(i * (size + gap), 0, i * (size + gap) + size, size),
            **attrs,
        }
        for i in range(n)
    ]
    return make_estates(rows)


@pytest.fixture
def eligible_row(policy):
    def build(n: int, **kw):
        return assess_eligibility(squares_in_a_row(n, **kw), policy)

    return build
