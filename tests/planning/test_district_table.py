"""The vectorised district table equals a plain loop over districts (issue 17, speed).

``form_districts`` reduces flat member arrays and unions all outlines in one call; the reference
below is the per-district loop it replaced (outline: member footprints, then 2 m strips along
the gaps of the district's adjacency edges in sorted order, one ``union_all``). Every column and
every outline vertex must be the same, on a hand-checkable layout and on Hangzhou.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from geo.core.policy import load_policy
from geo.planning.adjacency import build_adjacency
from geo.planning.districts import estimate_investment, form_districts
from geo.planning.eligibility import assess_eligibility
from geo.planning.funding import FUNDING_COLUMNS
from geo.planning.investment import CLASS_COLUMNS
from tests.conftest import make_estates, shared_file


def _reference(estates, districts, graph, policy):
    """The district table's columns computed district by district, as before vectorising."""
    ids = estates["estate_id"].astype(str).tolist()
    rows = []
    for members in districts["members"]:
        group = members.split(",")
        at = [ids.index(e) for e in group]
        sub = estates.iloc[at]
        geoms = sub.geometry.to_numpy()
        by_id = dict(zip(group, geoms, strict=True))
        strips = []
        for a, b in sorted(tuple(sorted(e)) for e in graph.subgraph(group).edges()):
            line = shapely.shortest_line(by_id[a], by_id[b])
            if line.length > 0:
                strips.append(line.buffer(1.0, cap_style="flat"))
        outline = shapely.union_all([*geoms, *strips])
        hh = sub["households"].astype("Float64")
        rect = shapely.get_coordinates(shapely.minimum_rotated_rectangle(outline))
        sides = np.sqrt((np.diff(rect, axis=0) ** 2).sum(axis=1)) if len(rect) > 1 else [0.0]
        ready = sub["ready"].fillna(False).astype(bool)
        rows.append(
            {
                "estates": len(group),
                "households": int(hh.fillna(0).sum()),
                "households_unknown": int(hh.isna().sum()),
                "buildings": int(sub["buildings"].astype("Float64").fillna(0).sum()),
                "floor_area_m2": float(sub["floor_area_m2"].astype("Float64").fillna(0).sum()),
                "build_year_min": sub["build_year"].min(),
                "build_year_max": sub["build_year_latest"].max(),
                "extension_estates": int((sub["status"] == "extension").sum()),
                "investment_yuan": float(sub["investment_yuan"].astype(float).fillna(0).sum()),
                "investment_estimated": bool(sub["investment_estimated"].fillna(False).any()),
                **{
                    c: float(sub[c].astype(float).fillna(0).sum())
                    for c in (*CLASS_COLUMNS, *FUNDING_COLUMNS)
                    if c in sub
                },
                "polsby_popper": round(4 * np.pi * outline.area / outline.length**2, 3),
                "width_m": round(float(max(sides)), 1),
                "ready": bool(ready.all()),
                "members_not_ready": int((~ready).sum()),
                "outline": outline,
            }
        )
    return rows


def _check(estates, graph, policy, unit_column=None):
    membership, districts = form_districts(estates, graph, policy, unit_column=unit_column)
    assert len(districts), "the layout must make districts"
    for got, want in zip(
        districts.itertuples(index=False),
        _reference(estates, districts, graph, policy),
        strict=True,
    ):
        got = got._asdict()
        outline = want.pop("outline")
        assert shapely.equals_exact(got["geometry"], outline, tolerance=0.0), got["district_id"]
        for column, value in want.items():
            if pd.isna(value):
                assert pd.isna(got[column]), (got["district_id"], column)
            elif isinstance(value, float):
                # the same sums in the same order: equal to the last bit or within one rounding
                assert got[column] == pytest.approx(value, rel=1e-12, abs=1e-9), column
            else:
                assert got[column] == value, (got["district_id"], column, got[column], value)
    # membership agrees with the table
    for district in districts.itertuples():
        rows = membership["district_id"] == district.district_id
        assert sorted(estates.loc[rows, "estate_id"]) == district.members.split(",")
    return membership, districts


def test_table_equals_the_per_district_loop_on_a_grid():
    policy = load_policy().with_values({"districts.lot_max_households": 700})
    rows = []
    for i in range(5):
        for j in range(4):
            k = i * 4 + j
            rows.append(
                {
                    "estate_id": f"E{k:02d}",
                    # 6 m gaps in x, touching in y: strips join some pairs, not others
                    "geometry": box(i * 96, j * 90, i * 96 + 90, j * 90 + 90),
                    "households": [120, 340, None, 80][j] if k != 7 else 2000,
                    "buildings": [2, None, 4, 1][j],
                    "floor_area_m2": 7000.0 + 123.25 * k,
                    "build_year": None if k == 5 else 1985 + (k % 9),
                    "build_year_latest": None if k == 5 else 1986 + (k % 9),
                    "county": "West" if i < 3 else "East",
                    "consent_rate": 0.9 if k % 5 else 0.6,
                }
            )
    estates = assess_eligibility(make_estates(rows), policy)
    estates = pd.concat([estates, estimate_investment(estates, policy)], axis=1)
    graph, _ = build_adjacency(estates, tolerance_m=policy.adjacency.tolerance_m)
    _, districts = _check(estates, graph, policy, unit_column="county")
    assert set(districts["county"]) == {"West", "East"}
    assert (districts["lots"] > 1).any()  # the 2,000-household estate forces lots
    assert not districts["ready"].all()  # consent 0.6 on every fifth estate


def test_table_equals_the_per_district_loop_on_hangzhou():
    from geo.core.errors import QualityReport
    from geo.pipeline import load_inputs
    from geo.pipeline.inputs import barrier_layer
    from geo.pipeline.run import _adjacency, district_unit_column, prepare_estates

    data = shared_file("hangzhou/osm_landuse_residential.gpkg").parent
    policy = load_policy()
    inputs = load_inputs(
        str(data / "osm_landuse_residential.gpkg"),
        survey=str(data / "survey_illustrative.csv"),
        barriers=[str(data / "osm_water.gpkg")],
    )
    estates, crs, _ = prepare_estates(inputs, policy, QualityReport(), None)
    graph, _ = _adjacency(estates, barrier_layer(inputs, policy, crs), policy)
    assert isinstance(graph, nx.Graph)
    _, districts = _check(estates, graph, policy, district_unit_column(estates, policy))
    assert len(districts) > 100
