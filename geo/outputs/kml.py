"""The KML of a package: the district in WGS-84 for Google Earth and Ovital (奥维).

May import: geo.core, geo.io, geo.outputs.bundle.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo import io as geo_io
from geo.core.crs import WGS84
from geo.outputs.bundle import DistrictBundle, _plain

# ----- KML


def _write_kml(b: DistrictBundle, path: Path) -> None:
    """Write the district as KML in WGS-84: folders 片区边界, 小区, 管线廊道, 养老设施."""

    def named(frame: gpd.GeoDataFrame, names: pd.Series, keep: Sequence[str]) -> gpd.GeoDataFrame:
        cols = {c: frame[c] for c in keep if c in frame}
        out = gpd.GeoDataFrame(
            {"Name": names.astype(str).values, **{c: v.values for c, v in cols.items()}},
            geometry=frame.geometry.values,
            crs=frame.crs,
        )
        out = out.to_crs(WGS84)
        geoms = out.geometry.values
        bad = ~shapely.is_valid(
            geoms
        )  # reprojection can make slivers self-intersect; LIBKML refuses
        if bad.any():
            polygonal = np.isin(shapely.get_type_id(geoms[bad]), [3, 6])
            fixed = shapely.make_valid(geoms[bad])
            fixed[polygonal] = geo_io._polygonal_part(fixed[polygonal])
            geoms = geoms.copy()
            geoms[bad] = fixed
            out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=WGS84))
        return _plain(out)

    est = b.estates
    estate_names = (
        est["name"].where(est["name"].notna(), est["estate_id"])
        if "name" in est
        else est["estate_id"]
    )
    layers = {
        "片区边界 district": named(
            b.outline, b.outline["district_id"], ["county", "estates", "households"]
        ),
        "小区 estates": named(
            est,
            estate_names,
            [
                "estate_id",
                "build_year",
                "households",
                "floor_area_m2",
                "status",
                "needs_basic",
                "needs_improvement",
                "needs_enhancement",
            ],
        ),
    }
    for key, label in (
        ("corridors", "管线廊道 corridors"),
        ("elderly_sites", "养老设施 elderly-care sites"),
    ):
        frame = getattr(b, key)
        if frame is not None:
            names = (
                frame["name"]
                if "name" in frame
                else pd.Series([f"{label} {i + 1}" for i in range(len(frame))])
            )
            layers[label] = named(frame, names.reset_index(drop=True), [])
    with geo_io.atomic_path(path) as tmp:
        for i, (name, frame) in enumerate(layers.items()):
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="LIBKML", append=i > 0)
