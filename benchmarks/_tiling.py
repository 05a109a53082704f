"""Large inputs for the benchmarks, made by tiling the real Hangzhou data side by side.

The 2,112 real OSM residential polygons of Hangzhou (with their water, arterial roads and the
illustrative survey) are copied onto a grid of tiles, each shifted by the extent of the city plus a
2 km margin, in the CGCS2000 3-degree Gauss-Kruger CRS of the city (EPSG:4549, metres). Shapes,
gaps and neighbourhoods are the real ones; tile ``k`` gets ids ``k * 10**10 + osm_id``, names and
counties suffixed with the tile number (so a survey row matched by name still finds exactly one
estate), and counties are per tile (``拱墅区3``: no separator, which would split the cell into
county and business circle), so a 220,000-estate run has about 1,300 counties.

Files are written once into a cache folder (``LIANPIAN_BENCH_CACHE``, default
``/tmp/lianpian-bench``) and reused: ``tiled_inputs(n)`` returns their paths.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.core.crs import gk_zone_epsg  # noqa: E402
from geo.core.policy import load_policy  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
HANGZHOU = DATA / "hangzhou"
BOUNDARIES = DATA / "boundaries" / "admin_cnmaps.gpkg"
CACHE = Path(os.environ.get("LIANPIAN_BENCH_CACHE", "/tmp/lianpian-bench"))
MARGIN_M = 2000.0
TILE_ID_STEP = 10**10
#: Version of the tiled files (in the cache folder's name): 2 = counties suffixed "拱墅区3".
LAYOUT = 2


def require_data() -> None:
    """Exit with a clear message when ``../shared/data`` is absent."""
    if not (HANGZHOU / "osm_landuse_residential.gpkg").exists():
        raise SystemExit(
            f"benchmark data not found: {HANGZHOU} (the real Hangzhou OSM extract; see "
            "docs/benchmarks.md). Nothing was measured."
        )


@dataclass(frozen=True)
class TiledInputs:
    """Paths of one tiled input set (``FILE::LAYER`` strings for the CLI)."""

    estates: str
    water: str
    roads: str
    survey: str
    n_estates: int
    tiles: int


def _offset(geoms: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Return copies of ``geoms[i]`` shifted by ``(dx[i], dy[i])`` (vectorised)."""
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    coords = coords + np.column_stack([dx[index], dy[index]])
    return shapely.set_coordinates(np.array(geoms, dtype=object, copy=True), coords)


def _grid(tiles: int, width: float, height: float) -> tuple[np.ndarray, np.ndarray]:
    columns = math.ceil(math.sqrt(tiles * height / width))
    k = np.arange(tiles)
    return (k % columns) * width, (k // columns) * height


def hangzhou_metric() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    """Return the real Hangzhou estates, water, barrier roads (EPSG:4549) and the survey table."""
    require_data()
    estates = gpd.read_file(HANGZHOU / "osm_landuse_residential.gpkg")
    epsg = gk_zone_epsg(float(estates.geometry.union_all().centroid.x))
    estates = estates.to_crs(epsg)
    water = gpd.read_file(HANGZHOU / "osm_water.gpkg").to_crs(epsg)
    roads = gpd.read_file(HANGZHOU / "osm_roads.gpkg")
    classes = set(load_policy().adjacency.barrier_road_classes)
    roads = roads.loc[roads["fclass"].isin(classes), ["osm_id", "fclass", "geometry"]].to_crs(epsg)
    survey = pd.read_csv(HANGZHOU / "survey_illustrative.csv", dtype={"osm_id": "Int64"})
    return estates, water, roads, survey


def tile_frames(
    n_estates: int,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame, int]:
    """Return estates (exactly ``n_estates``), water, roads and survey tiled on a grid."""
    estates, water, roads, survey = hangzhou_metric()
    base = len(estates)
    tiles = math.ceil(n_estates / base)
    x0, y0, x1, y1 = estates.total_bounds
    dx, dy = _grid(tiles, x1 - x0 + MARGIN_M, y1 - y0 + MARGIN_M)

    def repeat(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, np.ndarray]:
        tile = np.repeat(np.arange(tiles), len(frame))
        out = frame.iloc[np.tile(np.arange(len(frame)), tiles)].reset_index(drop=True)
        geoms = _offset(out.geometry.to_numpy(), dx[tile], dy[tile])
        return gpd.GeoDataFrame(out.drop(columns="geometry"), geometry=geoms, crs=frame.crs), tile

    big, tile = repeat(estates)
    big["osm_id"] = tile.astype(np.int64) * TILE_ID_STEP + big["osm_id"].astype(np.int64)
    big["name"] = big["name"].where(big["name"].isna(), big["name"] + "·" + (tile + 1).astype(str))
    big = big.iloc[:n_estates]
    big_water, _ = repeat(water)
    big_roads, _ = repeat(roads)
    s_tile = np.repeat(np.arange(tiles), len(survey))
    big_survey = survey.iloc[np.tile(np.arange(len(survey)), tiles)].reset_index(drop=True)
    big_survey["osm_id"] = (
        pd.Series(s_tile, dtype="Int64") * TILE_ID_STEP + big_survey["osm_id"]
    ).astype("Int64")
    suffix = "·" + pd.Series(s_tile + 1).astype(str)
    big_survey["小区名称"] = big_survey["小区名称"] + suffix
    # the county without a separator: "拱墅区·3" would be read as county 拱墅区 and business
    # circle 3 (a listing site's region cell), and every tile's counties would be one
    big_survey["所在区"] = big_survey["所在区"] + pd.Series(s_tile + 1).astype(str)
    kept = set(big["osm_id"])
    keep = big_survey["osm_id"].isin(kept).fillna(False) | (
        big_survey["osm_id"].isna() & (s_tile < math.ceil(n_estates / base))
    )
    return big, big_water, big_roads, big_survey.loc[keep], tiles


def tiled_inputs(n_estates: int) -> TiledInputs:
    """Write (once) and return the tiled inputs of ``n_estates`` estates."""
    folder = CACHE / f"tiled_{n_estates}_v{LAYOUT}"
    gpkg = folder / "inputs.gpkg"
    survey_path = folder / "survey.csv"
    done = folder / "done"
    tiles = math.ceil(n_estates / 2112)
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        estates, water, roads, survey, tiles = tile_frames(n_estates)
        if gpkg.exists():
            gpkg.unlink()
        pyogrio.write_dataframe(estates, gpkg, layer="landuse", driver="GPKG")
        pyogrio.write_dataframe(water, gpkg, layer="water", driver="GPKG")
        pyogrio.write_dataframe(roads, gpkg, layer="roads", driver="GPKG")
        survey.to_csv(survey_path, index=False)
        done.write_text(str(tiles))
    return TiledInputs(
        estates=f"{gpkg}::landuse",
        water=f"{gpkg}::water",
        roads=f"{gpkg}::roads",
        survey=str(survey_path),
        n_estates=n_estates,
        tiles=int(done.read_text()),
    )


if __name__ == "__main__":
    for n in [int(a) for a in sys.argv[1:]] or [50_000]:
        print(tiled_inputs(n))
