"""Make the corpus of bad inputs under tests/data/bad/ and its catalogue cases.toml.

Every case is a small file (or a few) that planners' data or a hostile upload really produces,
with the outcome lianpian must give: ``error`` (exit code 2, one line naming the file, the row or
feature, and the fix; no output written), ``repair`` or ``warning`` (the run completes and the
``quality`` layer of the output lists it), or ``ok`` (read as documented; a value is checked).
``tests/test_bad_inputs.py`` runs every case through the CLI (and the app when it exists).

All geometry is made up around a point of Hangzhou (120.15°E, 30.27°N); no real estate is
described. Run from the repository root:

    python scripts/make_bad_inputs.py          # rewrites tests/data/bad/
"""

from __future__ import annotations

import json
import shutil
import stat
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pyogrio
import shapely
import shapely.affinity
from shapely.geometry import LineString, Point, Polygon, box

from geo.core.crs import wgs84_to_gcj02

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "bad"
GK = "EPSG:4549"  # CGCS2000 3-degree Gauss-Kruger CM 120E
X0, Y0 = 514_400.0, 3_349_800.0  # about 120.15E 30.27N

CASES: list[dict] = []


def case(id_: str, title: str, args: list[str], outcome: str, expect: str = "", **extra) -> None:
    CASES.append(
        {"id": id_, "title": title, "args": args, "outcome": outcome, "expect": expect, **extra}
    )


# --------------------------------------------------------------------------- writers


def squares(n: int = 4, size: float = 100.0, gap: float = 10.0) -> list[Polygon]:
    return [
        box(X0 + i * (size + gap), Y0, X0 + i * (size + gap) + size, Y0 + size) for i in range(n)
    ]


def to_wgs(geoms: list) -> list:
    return list(gpd.GeoSeries(geoms, crs=GK).to_crs(4326).values)


BASE_ATTRS = {
    "编号": ["E1", "E2", "E3", "E4"],
    "小区名称": ["朝晖一区", "朝晖二区", "朝晖三区", "朝晖四区"],
    "所在区": ["下城区"] * 4,
}


#: Shapefile headers fit the 10-byte .dbf limit in UTF-8 (名称 is an alias of the estate name).
SHP_ATTRS = {
    "编号": BASE_ATTRS["编号"],
    "名称": BASE_ATTRS["小区名称"],
    "所在区": BASE_ATTRS["所在区"],
}


def write_geojson(name: str, features: list[dict], crs_member: bool = False) -> None:
    """Write a GeoJSON by hand (full control over broken geometry); coordinates as given."""
    collection: dict = {"type": "FeatureCollection", "features": features}
    if crs_member:
        collection["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}}
    (OUT / name).write_text(json.dumps(collection, ensure_ascii=False, indent=1), encoding="utf-8")


def feature(props: dict, geom: object) -> dict:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": None if geom is None else shapely.geometry.mapping(geom),
    }


def rounded(geom: object, digits: int = 7) -> object:
    return shapely.transform(geom, lambda c: np.round(c, digits)) if geom is not None else None


def estate_features(geoms: list, attrs: dict | None = None) -> list[dict]:
    attrs = attrs or BASE_ATTRS
    return [feature({k: v[i] for k, v in attrs.items()}, g) for i, g in enumerate(geoms)]


def write_frame(name: str, gdf: gpd.GeoDataFrame, **kw) -> Path:
    path = OUT / name
    pyogrio.write_dataframe(gdf, path, **kw)
    return path


def survey_csv(name: str, rows: list[list[str]], encoding: str = "utf-8") -> None:
    header = ["编号", "小区名称", "所在区", "建成年代", "户数", "居民同意率"]
    text = "\n".join(",".join(r) for r in [header, *rows]) + "\n"
    (OUT / name).write_bytes(text.encode(encoding))


def good_rows() -> list[list[str]]:
    return [
        [f"E{i}", f"朝晖{'一二三四'[i - 1]}区", "下城区", "1990", "120", "0.9"] for i in range(1, 5)
    ]


def with_row2(column: int, value: str) -> list[list[str]]:
    rows = good_rows()
    rows[1][column] = value
    return rows


# --------------------------------------------------------------------------- cases


def geometry_cases() -> None:
    wgs = [rounded(g) for g in to_wgs(squares())]
    write_geojson("base_estates.geojson", estate_features(wgs))
    base = ["--estates", "{dir}/base_estates.geojson"]
    case(
        "base_ok",
        "control: four valid estates",
        base,
        "ok",
        check={"estate_id": "E1", "column": "status", "value": "needs_survey"},
    )

    bowtie = to_wgs(
        [Polygon([(X0 + 330, Y0), (X0 + 430, Y0 + 100), (X0 + 430, Y0), (X0 + 330, Y0 + 100)])]
    )[0]
    write_geojson("self_intersecting.geojson", estate_features([*wgs[:3], rounded(bowtie)]))
    case(
        "self_intersecting",
        "a bow-tie polygon (self-intersection)",
        ["--estates", "{dir}/self_intersecting.geojson"],
        "repair",
        "repaired with make_valid",
        file="self_intersecting.geojson",
        where="E4",
    )

    feats = estate_features(wgs)
    feats[1]["geometry"] = {"type": "Polygon", "coordinates": []}
    feats[2]["geometry"] = None
    write_geojson("empty_polygons.geojson", feats)
    case(
        "empty_polygon",
        "an empty polygon",
        ["--estates", "{dir}/empty_polygons.geojson"],
        "dropped",
        "empty geometry",
        file="empty_polygons.geojson",
        where="E2",
    )
    case(
        "null_geometry",
        "a feature without geometry",
        ["--estates", "{dir}/empty_polygons.geojson"],
        "dropped",
        "empty geometry",
        file="empty_polygons.geojson",
        where="E3",
    )

    points = [rounded(g.centroid) for g in wgs]
    write_geojson("points.geojson", estate_features(points))
    case(
        "points_not_polygons",
        "estate centre points given as estates",
        ["--estates", "{dir}/points.geojson"],
        "error",
        "holds points, not polygons",
        file="points.geojson",
    )
    lines = [rounded(LineString(g.exterior.coords)) for g in wgs]
    write_geojson("lines.geojson", estate_features(lines))
    case(
        "lines_not_polygons",
        "estate outlines as lines",
        ["--estates", "{dir}/lines.geojson"],
        "error",
        "holds lines, not polygons",
        file="lines.geojson",
    )
    write_geojson("mixed_point.geojson", estate_features([*wgs[:3], points[3]]))
    case(
        "point_among_polygons",
        "one point among polygons",
        ["--estates", "{dir}/mixed_point.geojson"],
        "dropped",
        "not a polygon",
        file="mixed_point.geojson",
        where="E4",
    )

    gdf = gpd.GeoDataFrame(SHP_ATTRS, geometry=squares(), crs=GK)
    write_frame("no_prj.shp", gdf, encoding="UTF-8")
    (OUT / "no_prj.prj").unlink()
    case(
        "no_crs",
        "a Shapefile without its .prj",
        ["--estates", "{dir}/no_prj.shp"],
        "error",
        "no CRS (.prj missing?)",
        file="no_prj.shp",
    )

    write_geojson("projected_as_4326.geojson", estate_features([rounded(g, 2) for g in squares()]))
    case(
        "projected_as_4326",
        "Gauss-Krüger metres in a GeoJSON (read as EPSG:4326)",
        ["--estates", "{dir}/projected_as_4326.geojson"],
        "error",
        "do not fit the geographic CRS",
        file="projected_as_4326.geojson",
    )

    write_frame("gbk_no_cpg.shp", gdf, encoding="GBK")
    (OUT / "gbk_no_cpg.cpg").unlink(missing_ok=True)
    case(
        "gbk_dbf_without_cpg",
        "a GBK .dbf without .cpg",
        ["--estates", "{dir}/gbk_no_cpg.shp"],
        "repair",
        "read as GBK",
        file="gbk_no_cpg.shp",
        check={"estate_id": "E2", "column": "name", "value": "朝晖二区"},
    )

    write_frame("missing_shx.shp", gdf, encoding="UTF-8")
    (OUT / "missing_shx.shx").unlink()
    case(
        "shapefile_missing_shx",
        "a Shapefile whose .shx was not copied",
        ["--estates", "{dir}/missing_shx.shp"],
        "error",
        "has no .shx file",
        file="missing_shx.shp",
        where="missing_shx.shx",
    )

    three_d = [shapely.force_3d(g, 12.5) for g in wgs]
    write_geojson("three_d.geojson", estate_features(three_d))
    case(
        "three_d",
        "polygons with Z coordinates",
        ["--estates", "{dir}/three_d.geojson"],
        "repair",
        "3D coordinates",
        file="three_d.geojson",
    )

    # GeoPackage with several layers: valid, NaN/inf coordinates, all NaN, zero features
    nan_geoms = list(wgs)
    nan_geoms[1] = Polygon([(120.1, 30.2), (np.nan, np.nan), (120.2, 30.2), (120.1, 30.3)])
    nan_geoms[2] = Polygon([(120.1, 30.2), (np.inf, 30.2), (120.2, 30.3), (120.1, 30.3)])
    layers = OUT / "layers.gpkg"
    layers.unlink(missing_ok=True)
    pyogrio.write_dataframe(
        gpd.GeoDataFrame(BASE_ATTRS, geometry=wgs, crs=4326), layers, layer="estates_ok"
    )
    pyogrio.write_dataframe(
        gpd.GeoDataFrame(BASE_ATTRS, geometry=nan_geoms, crs=4326), layers, layer="nan_inf"
    )
    all_nan = [Polygon([(1, 1), (np.nan, np.nan), (2, 0), (1, 2)])] * 4
    pyogrio.write_dataframe(
        gpd.GeoDataFrame(BASE_ATTRS, geometry=all_nan, crs=4326), layers, layer="all_nan"
    )
    pyogrio.write_dataframe(
        gpd.GeoDataFrame({"编号": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326),
        layers,
        layer="zero_features",
        geometry_type="Polygon",
    )
    case(
        "nan_coordinates",
        "a polygon with NaN coordinates",
        ["--estates", "{dir}/layers.gpkg::nan_inf"],
        "dropped",
        "NaN or infinite coordinates",
        file="layers.gpkg",
        where="E2",
    )
    case(
        "inf_coordinates",
        "a polygon with an infinite coordinate",
        ["--estates", "{dir}/layers.gpkg::nan_inf"],
        "dropped",
        "NaN or infinite coordinates",
        file="layers.gpkg",
        where="E3",
    )
    case(
        "all_nan",
        "every polygon with NaN coordinates",
        ["--estates", "{dir}/layers.gpkg::all_nan"],
        "error",
        "no usable polygon",
        file="layers.gpkg",
    )
    case(
        "zero_features",
        "a layer with zero features",
        ["--estates", "{dir}/layers.gpkg::zero_features"],
        "error",
        "has no features",
        file="layers.gpkg",
    )
    case(
        "unknown_layer",
        "a layer name that does not exist",
        ["--estates", "{dir}/layers.gpkg::小区"],
        "error",
        "no layer '小区'",
        file="layers.gpkg",
    )
    case(
        "several_layers",
        "a GeoPackage of several layers, none named",
        ["--estates", "{dir}/layers.gpkg"],
        "warning",
        "the file has 4 layers",
        file="layers.gpkg",
    )

    data = layers.read_bytes()
    (OUT / "truncated.gpkg").write_bytes(data[: len(data) * 2 // 5])
    case(
        "truncated_gpkg",
        "a GeoPackage cut off in the middle (interrupted copy)",
        ["--estates", "{dir}/truncated.gpkg"],
        "error",
        "cannot",
        file="truncated.gpkg",
    )
    (OUT / "empty.geojson").write_bytes(b"")
    case(
        "empty_file",
        "a 0-byte file",
        ["--estates", "{dir}/empty.geojson"],
        "error",
        "empty (0 bytes)",
        file="empty.geojson",
    )
    write_geojson("zero_features.geojson", [])
    case(
        "zero_features_geojson",
        "a GeoJSON without features",
        ["--estates", "{dir}/zero_features.geojson"],
        "error",
        "no features",
        file="zero_features.geojson",
    )
    text = (OUT / "base_estates.geojson").read_text(encoding="utf-8")
    (OUT / "broken.geojson").write_text(text[: len(text) // 2], encoding="utf-8")
    case(
        "broken_geojson",
        "a GeoJSON cut off in the middle",
        ["--estates", "{dir}/broken.geojson"],
        "error",
        "cannot",
        file="broken.geojson",
    )
    case(
        "unknown_source_crs",
        "a --source-crs that does not exist",
        [*base, "--source-crs", "EPSG:999999"],
        "error",
        "unknown CRS",
        file="base_estates.geojson",
    )
    case(
        "out_is_input",
        "--out names the estates file",
        base,
        "error",
        "would overwrite an input",
        out_is_input=True,
    )
    case(
        "bad_column_option",
        "--column without '='",
        [*base, "--column", "楼盘名称"],
        "error",
        "is not HEADER=COLUMN",
    )


def gcj_case() -> None:
    """Estates digitised on AMap (GCJ-02) but labelled WGS-84, next to WGS-84 main roads."""
    xs = np.cumsum([0, 180, 210, 170, 240, 190, 240, 200, 230, 180, 210])
    ys = np.cumsum([0, 170, 210, 210, 170, 240, 190, 220, 200])
    roads = [LineString([(X0 + x, Y0 + ys[0] - 50), (X0 + x, Y0 + ys[-1] + 50)]) for x in xs]
    roads += [LineString([(X0 + xs[0] - 50, Y0 + y), (X0 + xs[-1] + 50, Y0 + y)]) for y in ys]
    road_gdf = gpd.GeoDataFrame(
        {"osm_id": [str(i) for i in range(len(roads))], "fclass": "secondary", "name": ""},
        geometry=roads,
        crs=GK,
    ).to_crs(4326)
    blocks = [
        box(X0 + xs[i] + 12, Y0 + ys[j] + 12, X0 + xs[i + 1] - 12, Y0 + ys[j + 1] - 12)
        for i in range(len(xs) - 1)
        for j in range(len(ys) - 1)
    ]
    ids = [f"G{k + 1:02d}" for k in range(len(blocks))]
    estates = gpd.GeoDataFrame({"编号": ids}, geometry=blocks, crs=GK).to_crs(4326)
    write_geojson(
        "gcj_roads_wgs84.geojson",
        [
            feature({"osm_id": r.osm_id, "fclass": r.fclass}, rounded(r.geometry))
            for r in road_gdf.itertuples()
        ],
    )
    write_geojson(
        "estates_wgs84.geojson",
        [feature({"编号": i}, rounded(g)) for i, g in zip(ids, estates.geometry, strict=True)],
    )
    shifted = wgs84_to_gcj02(estates)
    write_geojson(
        "estates_gcj02_as_wgs84.geojson",
        [feature({"编号": i}, rounded(g)) for i, g in zip(ids, shifted.geometry, strict=True)],
    )
    case(
        "gcj02_as_wgs84",
        "AMap (GCJ-02) estates labelled WGS-84 beside WGS-84 roads",
        [
            "--estates",
            "{dir}/estates_gcj02_as_wgs84.geojson",
            "--roads",
            "{dir}/gcj_roads_wgs84.geojson",
        ],
        "warning",
        "look like GCJ-02",
        file="estates_gcj02_as_wgs84.geojson",
    )
    case(
        "gcj02_declared",
        "the same estates declared with --source-crs gcj02 (no offset warning)",
        [
            "--estates",
            "{dir}/estates_gcj02_as_wgs84.geojson",
            "--roads",
            "{dir}/gcj_roads_wgs84.geojson",
            "--source-crs",
            "gcj02",
        ],
        "repair",
        "converted from GCJ02 to WGS-84",
        file="estates_gcj02_as_wgs84.geojson",
        absent="look like GCJ-02",
    )
    case(
        "wgs84_aligned",
        "control: WGS-84 estates beside WGS-84 roads (no offset warning)",
        ["--estates", "{dir}/estates_wgs84.geojson", "--roads", "{dir}/gcj_roads_wgs84.geojson"],
        "ok",
        absent="look like GCJ-02",
        check={"estate_id": "G01", "column": "estate_id", "value": "G01"},
    )


def attribute_cases() -> None:
    base = ["--estates", "{dir}/base_estates.geojson"]
    survey_csv("survey_ok.csv", good_rows())
    year = [
        (
            "build_year_phases",
            "1995/97",
            "repair",
            "read as phases 1995 to 1997",
            {"column": "build_year_latest", "value": 1997},
        ),
        (
            "build_year_chinese",
            "九五年",
            "repair",
            "read as 1995",
            {"column": "build_year", "value": 1995},
        ),
        (
            "build_year_future",
            "2035",
            "warning",
            "is outside 1900-",
            {"column": "status", "value": "needs_survey"},
        ),
        (
            "build_year_text",
            "abc",
            "warning",
            "is not a year",
            {"column": "status", "value": "needs_survey"},
        ),
    ]
    for id_, cell, outcome, expect, check in year:
        survey_csv(f"{id_}.csv", with_row2(3, cell))
        case(
            id_,
            f"build year {cell!r}",
            [*base, "--survey", f"{{dir}}/{id_}.csv"],
            outcome,
            expect,
            file=f"{id_}.csv",
            where="row 3",
            check={"estate_id": "E2", **check},
        )
    households = [
        ("households_negative", "-5", "is not a whole number of at least 0"),
        ("households_zero", "0", "0 households is not plausible"),
        ("households_text", "很多", "is not a number"),
    ]
    for id_, cell, expect in households:
        survey_csv(f"{id_}.csv", with_row2(4, cell))
        case(
            id_,
            f"households {cell!r}",
            [*base, "--survey", f"{{dir}}/{id_}.csv"],
            "warning",
            expect,
            file=f"{id_}.csv",
            where="row 3",
            check={"estate_id": "E2", "column": "households", "value": None},
        )
    consent = [
        ("consent_percent_sign", "85%", "ok", "", 0.85),
        ("consent_percent_number", "85", "repair", "read as a percentage", 0.85),
        ("consent_share", "0.85", "ok", "", 0.85),
        ("consent_over_one", "1.2", "warning", "over 1 in a column of shares", None),
    ]
    for id_, cell, outcome, expect, value in consent:
        survey_csv(f"{id_}.csv", with_row2(5, cell))
        extra = {"file": f"{id_}.csv", "where": "row 3"} if expect else {}
        case(
            id_,
            f"consent rate {cell!r}",
            [*base, "--survey", f"{{dir}}/{id_}.csv"],
            outcome,
            expect,
            check={"estate_id": "E2", "column": "consent_rate", "value": value},
            **extra,
        )

    wgs = [rounded(g) for g in to_wgs(squares())]
    dup = {**BASE_ATTRS, "编号": ["E1", "E2", "E2", "E4"]}
    write_geojson("duplicate_ids.geojson", estate_features(wgs, dup))
    case(
        "duplicate_ids",
        "two estates with the same id",
        ["--estates", "{dir}/duplicate_ids.geojson"],
        "repair",
        "duplicate id renamed E2-2",
        file="duplicate_ids.geojson",
        where="id E2",
        check={"estate_id": "E2-2", "column": "name", "value": "朝晖三区"},
    )

    same_names = {
        "编号": ["E1", "E2", "E3", "E4"],
        "小区名称": ["朝晖一区", "朝晖一区", "文晖苑", "文晖苑"],
        "所在区": ["下城区", "西湖区", "下城区", "西湖区"],
    }
    write_geojson("duplicate_names.geojson", estate_features(wgs, same_names))
    text = "小区名称,所在区,建成年代,户数\n朝晖一区,西湖区,1988,333\n文晖苑,,1992,90\n"
    (OUT / "survey_by_name.csv").write_text(text, encoding="utf-8")
    args = ["--estates", "{dir}/duplicate_names.geojson", "--survey", "{dir}/survey_by_name.csv"]
    case(
        "duplicate_names_with_county",
        "the same name in two counties; the row names its county",
        args,
        "ok",
        check={"estate_id": "E2", "column": "households", "value": 333},
    )
    case(
        "duplicate_names_without_county",
        "the same name in two counties; the row gives no county",
        args,
        "warning",
        "name matches several estates",
        file="survey_by_name.csv",
        where="row 3",
        check={"estate_id": "E3", "column": "households", "value": None},
    )

    html = {
        **BASE_ATTRS,
        "小区名称": [
            "<script>alert('x')</script>朝晖",
            "<img src=x onerror=alert(1)>",
            "朝晖三区",
            "朝晖四区",
        ],
    }
    write_geojson("html_names.geojson", estate_features(wgs, html))
    case(
        "html_in_names",
        "HTML and JavaScript in estate names",
        ["--estates", "{dir}/html_names.geojson"],
        "warning",
        "contains HTML/script markup",
        file="html_names.geojson",
        where="row E1",
        check={"estate_id": "E1", "column": "name", "value": "<script>alert('x')</script>朝晖"},
    )


def survey_cases() -> None:
    base = ["--estates", "{dir}/base_estates.geojson"]
    survey_csv("survey_gbk.csv", with_row2(4, "210"), encoding="gbk")
    case(
        "survey_gbk",
        "survey CSV saved in GBK (Excel's default on Chinese Windows)",
        [*base, "--survey", "{dir}/survey_gbk.csv"],
        "repair",
        "read as GBK",
        file="survey_gbk.csv",
        check={"estate_id": "E2", "column": "households", "value": 210},
    )

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "调查表"
    ws.append(["2024年老旧小区改造摸底调查表"])
    ws.merge_cells("A1:F1")
    ws.append(["基本情况", None, None, "改造条件", None, None])
    ws.merge_cells("A2:C2")
    ws.merge_cells("D2:F2")
    header = ["编号", "小区名称", "所在区", "建成年代", "户数", "居民同意率"]
    ws.append(header)
    for row in with_row2(4, "215"):
        ws.append(
            [
                int(v) if v.isdigit() else (float(v) if v.replace(".", "").isdigit() else v)
                for v in row
            ]
        )
    wb.save(OUT / "survey_merged_header.xlsx")
    case(
        "excel_merged_header",
        "XLSX with a merged title row and merged group headers",
        [*base, "--survey", "{dir}/survey_merged_header.xlsx"],
        "repair",
        "merged header cells",
        file="survey_merged_header.xlsx",
        check={"estate_id": "E2", "column": "households", "value": 215},
    )

    lines = ["2024年老旧小区改造摸底调查表,,,,,", ",,,,,", ",".join(header)]
    lines += [",".join(r) for r in with_row2(4, "216")]
    (OUT / "survey_title_rows.csv").write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    case(
        "csv_title_rows",
        "survey CSV (GBK) with a title line and an empty line above the header",
        [*base, "--survey", "{dir}/survey_title_rows.csv"],
        "repair",
        "skipped as titles",
        file="survey_title_rows.csv",
        check={"estate_id": "E2", "column": "households", "value": 216},
    )

    (OUT / "survey_no_keys.csv").write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    case(
        "survey_without_id_or_name",
        "survey without an id or a name column",
        [*base, "--survey", "{dir}/survey_no_keys.csv"],
        "error",
        "neither an id column nor a name column",
        file="survey_no_keys.csv",
    )
    (OUT / "survey_header_only.csv").write_text("编号,小区名称,户数\n", encoding="utf-8")
    case(
        "survey_header_only",
        "survey with a header and no rows",
        [*base, "--survey", "{dir}/survey_header_only.csv"],
        "error",
        "no rows",
        file="survey_header_only.csv",
    )
    (OUT / "survey_garbage.xlsx").write_bytes(bytes(range(256)) * 8)
    case(
        "survey_not_xlsx",
        "a .xlsx that is not a workbook",
        [*base, "--survey", "{dir}/survey_garbage.xlsx"],
        "error",
        "cannot read the table",
        file="survey_garbage.xlsx",
    )
    (OUT / "survey_binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64))
    case(
        "survey_binary",
        "a picture renamed .csv",
        [*base, "--survey", "{dir}/survey_binary.csv"],
        "error",
        "binary file, not a text table",
        file="survey_binary.csv",
    )
    case(
        "survey_as_estates",
        "a survey table given as --estates",
        ["--estates", "{dir}/survey_ok.csv"],
        "error",
        "no geometry",
        file="survey_ok.csv",
    )


def zip_cases() -> None:
    gdf = gpd.GeoDataFrame(SHP_ATTRS, geometry=squares(), crs=GK)
    tmp = OUT / "_tmp_shp"
    tmp.mkdir(exist_ok=True)
    pyogrio.write_dataframe(gdf, tmp / "estates.shp", encoding="UTF-8")
    parts = sorted(tmp.iterdir())

    def archive(name: str, extra: list[tuple[zipfile.ZipInfo | str, bytes]]) -> None:
        with zipfile.ZipFile(OUT / name, "w", zipfile.ZIP_DEFLATED) as zf:
            for part in parts:
                zf.write(part, part.name)
            for info, data in extra:
                zf.writestr(info, data)

    archive("zip_ok.zip", [])
    case(
        "zip_ok",
        "control: a zipped Shapefile",
        ["--estates", "{dir}/zip_ok.zip"],
        "ok",
        check={"estate_id": "E3", "column": "name", "value": "朝晖三区"},
    )
    archive("zip_slip.zip", [("../../outside.txt", b"escaped")])
    case(
        "zip_slip",
        "a zip entry named ../../outside.txt",
        ["--estates", "{dir}/zip_slip.zip"],
        "error",
        "zip slip",
        file="zip_slip.zip",
        where="../../outside.txt",
    )
    archive("zip_absolute.zip", [("/tmp/lianpian_absolute.txt", b"absolute")])
    case(
        "zip_absolute_path",
        "a zip entry with an absolute path",
        ["--estates", "{dir}/zip_absolute.zip"],
        "error",
        "absolute path",
        file="zip_absolute.zip",
    )
    link = zipfile.ZipInfo("readme.txt")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive("zip_symlink.zip", [(link, b"/etc/passwd")])
    case(
        "zip_symlink",
        "a zip entry that is a symbolic link to /etc/passwd",
        ["--estates", "{dir}/zip_symlink.zip"],
        "error",
        "symbolic link",
        file="zip_symlink.zip",
        where="readme.txt",
    )
    with zipfile.ZipFile(OUT / "zip_bomb.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for part in parts:
            zf.write(part, part.name)
        info = zipfile.ZipInfo("padding.dbf")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as handle:
            block = bytes(1024 * 1024)
            for _ in range(120):
                handle.write(block)
    case(
        "zip_bomb",
        "a zip that expands 120 MB of zeros from about 120 kB",
        ["--estates", "{dir}/zip_bomb.zip"],
        "error",
        "zip bomb",
        file="zip_bomb.zip",
    )
    shutil.rmtree(tmp)
    case(
        "over_size_limit",
        "a file over the input size limit (limit lowered to 1 kB)",
        ["--estates", "{dir}/base_estates.geojson"],
        "error",
        "over the input limit",
        file="base_estates.geojson",
        env={"LIANPIAN_MAX_INPUT_MB": "0.001"},
    )


def other_layer_cases() -> None:
    base = ["--estates", "{dir}/base_estates.geojson"]
    write_geojson("barrier_points.geojson", [feature({"name": "井"}, Point(120.15, 30.27))])
    case(
        "barriers_are_points",
        "a barrier layer of points",
        [*base, "--barriers", "{dir}/barrier_points.geojson"],
        "error",
        "no lines or polygons",
        file="barrier_points.geojson",
    )
    area = rounded(to_wgs([box(X0 - 500, Y0 - 500, X0 + 1000, Y0 + 600)])[0])
    write_geojson("boundaries_no_level.geojson", [feature({"name": "下城区"}, area)])
    case(
        "boundaries_without_level",
        "administrative units without a level column",
        [*base, "--boundaries", "{dir}/boundaries_no_level.geojson"],
        "error",
        "no 'level' column",
        file="boundaries_no_level.geojson",
    )


# --------------------------------------------------------------------------- issue 16: trust
#
# Cases of other commands than `plan` name it (command = "schedule" ...) and give every argument;
# {plan} is a results GeoPackage the test makes beside the corpus (in {plandir}), {out} a fresh
# output folder. The test hashes every input before and after each case and scans every XLSX/CSV
# written for live formulas.


def survey_xlsx(name: str, rows: list[list[object]], *, title: str = "调查表") -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    ws.append(["编号", "小区名称", "所在区", "建成年代", "户数", "居民同意率"])
    for row in rows:
        ws.append(row)
    wb.save(OUT / name)
    return wb


def typed_rows() -> list[list[object]]:
    return [[r[0], r[1], r[2], int(r[3]), int(r[4]), float(r[5])] for r in good_rows()]


def guard_cases() -> None:
    """No input is ever overwritten, whatever the command (one guard: geo.io.output_guard)."""
    base = ["--estates", "{dir}/base_estates.geojson"]
    plan_rows = ["年份,小区名称,所在区,户数"]
    plan_rows += [f"{2021 + i},朝晖{'一二三四'[i]}区,下城区,120" for i in range(4)]
    (OUT / "plan_table.csv").write_text("\n".join(plan_rows) + "\n", encoding="utf-8")
    wb = openpyxl.Workbook()
    for line in plan_rows:
        wb.active.append([int(v) if v.isdigit() else v for v in line.split(",")])
    wb.save(OUT / "annual_plan.xlsx")
    case(
        "out_is_folder",
        "--out names a folder (the corpus folder)",
        base,
        "error",
        "the output is a folder, not a file",
        out="{dir}",
    )
    case(
        "plan_review_is_survey",
        "--plan-review names the survey (the review CSV would replace it)",
        [
            *base,
            "--survey",
            "{dir}/survey_ok.csv",
            "--plan",
            "{dir}/plan_table.csv",
            "--plan-review",
            "{dir}/survey_ok.csv",
        ],
        "error",
        "would overwrite an input",
        file="survey_ok.csv",
    )
    case(
        "plan_review_is_plan",
        "--plan-review names the plan table itself",
        [*base, "--plan", "{dir}/plan_table.csv", "--plan-review", "{dir}/plan_table.csv"],
        "error",
        "would overwrite an input",
        file="plan_table.csv",
    )
    case(
        "schedule_out_is_results",
        "lianpian schedule r.gpkg --out r.gpkg (the plan would become an XLSX)",
        ["{plan}", "--out", "{plan}"],
        "error",
        "would overwrite an input",
        command="schedule",
    )
    case(
        "tables_out_holds_plan",
        "lianpian tables --plan D/annual_plan.xlsx --out D",
        ["--plan", "{dir}/annual_plan.xlsx", "--out", "{dir}"],
        "error",
        "would overwrite an input",
        file="annual_plan.xlsx",
        command="tables",
    )
    case(
        "export_into_results_folder",
        "lianpian export D/plan.gpkg --all --out D (the folder would be replaced)",
        ["{plan}", "--all", "--out", "{plandir}"],
        "error",
        "holds an input of this run",
        command="export",
    )
    case(
        "schedule_negative_cap",
        "schedule --households-per-year -5",
        ["{plan}", "--out", "{out}/s.xlsx", "--households-per-year", "-5"],
        "error",
        "schedule.households_per_year = -5 is out of range",
        command="schedule",
    )
    (OUT / "policy_nan.toml").write_text(
        "[eligibility]\nconsent_threshold = nan\n", encoding="utf-8"
    )
    case(
        "policy_nan",
        "a policy value nan",
        [*base, "--policy", "{dir}/policy_nan.toml"],
        "error",
        "eligibility.consent_threshold = nan is not a finite number",
        file="policy_nan.toml",
    )
    (OUT / "policy_inf.toml").write_text(
        "[schedule]\nhouseholds_per_year = inf\n", encoding="utf-8"
    )
    case(
        "policy_inf",
        "a policy cap inf",
        [*base, "--policy", "{dir}/policy_inf.toml"],
        "error",
        "schedule.households_per_year",
        file="policy_inf.toml",
    )


def crs_cases() -> None:
    """Projected inputs measured in true metres; wrong zones and swapped axes named."""
    gdf = gpd.GeoDataFrame(BASE_ATTRS, geometry=squares(), crs=GK)
    write_frame("estates_3857.gpkg", gdf.to_crs(3857), layer="estates")
    case(
        "web_mercator",
        "estates in EPSG:3857 (Web Mercator: +15 % distances, +33 % areas at 30°N)",
        ["--estates", "{dir}/estates_3857.gpkg"],
        "repair",
        "does not measure true metres",
        file="estates_3857.gpkg",
    )
    write_frame("estates_wrong_zone.gpkg", gdf.set_crs("EPSG:4548", allow_override=True))
    river = LineString([(X0 - 300, Y0 - 200), (X0 + 800, Y0 - 200)])
    write_geojson(
        "river_near_estates.geojson", [feature({"name": "河"}, rounded(to_wgs([river])[0]))]
    )
    case(
        "wrong_gk_zone",
        "GK CM 120E coordinates labelled EPSG:4548 (CM 117E), beside a WGS-84 river",
        [
            "--estates",
            "{dir}/estates_wrong_zone.gpkg",
            "--barriers",
            "{dir}/river_near_estates.geojson",
        ],
        "warning",
        "fit EPSG:4549",
        file="estates_wrong_zone.gpkg",
    )
    wgs = [rounded(g) for g in to_wgs(squares())]
    swapped = [shapely.transform(g, lambda c: c[:, ::-1]) for g in wgs]
    write_geojson("latlon_swapped.geojson", estate_features(swapped))
    case(
        "latlon_swapped",
        "latitude and longitude swapped (y = 120.15)",
        ["--estates", "{dir}/latlon_swapped.geojson"],
        "error",
        "latitude and longitude look swapped",
        file="latlon_swapped.geojson",
    )
    polar = [shapely.affinity.translate(g, 0, 89.5 - 30.27) for g in wgs]
    write_geojson("polar.geojson", estate_features(polar))
    case(
        "polar",
        "estates at latitude 89.5 (axes or CRS wrong)",
        ["--estates", "{dir}/polar.geojson"],
        "error",
        "near the pole",
        file="polar.geojson",
    )


def excel_cases() -> None:
    """Workbooks as offices write them: dates, hidden sheets, formulas, far cells, many sheets."""
    import datetime as dt

    base = ["--estates", "{dir}/base_estates.geojson"]
    rows = typed_rows()
    rows[1][3] = dt.datetime(2000, 5, 20)
    wb = survey_xlsx("survey_year_dates.xlsx", rows)
    wb.active["D3"].number_format = "yyyy-mm-dd"
    wb.save(OUT / "survey_year_dates.xlsx")
    case(
        "excel_date_in_year_column",
        "建成年代 typed as a date (2000-05-20) in Excel",
        [*base, "--survey", "{dir}/survey_year_dates.xlsx"],
        "repair",
        "date cell(s) in a year column read as their year",
        file="survey_year_dates.xlsx",
        check={"estate_id": "E2", "column": "build_year", "value": 2000},
    )
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "说明"
    notes.append(["填表说明：本表由街道填写"])
    notes.sheet_state = "hidden"
    survey = wb.create_sheet("调查表")
    survey.append(["编号", "小区名称", "所在区", "建成年代", "户数", "居民同意率"])
    for row in with_row2(4, "217"):
        survey.append([int(v) if v.isdigit() else v for v in row])
    wb.active = 1
    wb.save(OUT / "survey_hidden_first.xlsx")
    case(
        "excel_hidden_first_sheet",
        "the first sheet is hidden; the table is on the second",
        [*base, "--survey", "{dir}/survey_hidden_first.xlsx"],
        "warning",
        "are hidden: read the first visible sheet",
        file="survey_hidden_first.xlsx",
        check={"estate_id": "E2", "column": "households", "value": 217},
    )
    rows = typed_rows()
    rows[1][4] = "=100+20"
    survey_xlsx("survey_formula_no_value.xlsx", rows)
    case(
        "excel_formula_without_value",
        "households as a formula never calculated (written by a script, not Excel)",
        [*base, "--survey", "{dir}/survey_formula_no_value.xlsx"],
        "warning",
        "formula cell(s) have no saved value",
        file="survey_formula_no_value.xlsx",
        where="E3",
    )
    wb = survey_xlsx("survey_two_sheets.xlsx", typed_rows(), title="第一批")
    second = wb.create_sheet("第二批")
    second.append(["编号", "小区名称", "所在区", "建成年代", "户数", "居民同意率"])
    rows = typed_rows()
    rows[1][4] = 333
    for row in rows:
        second.append(row)
    wb.save(OUT / "survey_two_sheets.xlsx")
    case(
        "excel_several_sheets",
        "a workbook with two visible sheets (first and second batch)",
        [*base, "--survey", "{dir}/survey_two_sheets.xlsx"],
        "warning",
        "visible sheets (第一批, 第二批)",
        file="survey_two_sheets.xlsx",
        check={"estate_id": "E2", "column": "households", "value": 120},
    )
    case(
        "excel_sheet_named",
        "--survey file.xlsx::第二批 reads the second sheet",
        [*base, "--survey", "{dir}/survey_two_sheets.xlsx::第二批"],
        "ok",
        check={"estate_id": "E2", "column": "households", "value": 333},
    )
    rows = typed_rows()
    rows[1][4] = 218
    wb = survey_xlsx("survey_far_cell.xlsx", rows)
    wb.active["XFD1048576"] = "x"
    wb.save(OUT / "survey_far_cell.xlsx")
    case(
        "excel_far_cell",
        "a stray cell at XFD1048576 (1.8 GB and 21 s before; now the real cells only)",
        [*base, "--survey", "{dir}/survey_far_cell.xlsx"],
        "ok",
        check={"estate_id": "E2", "column": "households", "value": 218},
    )
    case(
        "excel_cell_cap",
        "a sheet over the cell cap (LIANPIAN_MAX_TABLE_CELLS=20)",
        [*base, "--survey", "{dir}/survey_far_cell.xlsx"],
        "error",
        "the sheet has more than 20 cells",
        file="survey_far_cell.xlsx",
        env={"LIANPIAN_MAX_TABLE_CELLS": "20"},
    )


def count_cases() -> None:
    """Counts that cannot be true, and duplicates, reported with their rows."""
    base = ["--estates", "{dir}/base_estates.geojson"]
    survey_csv("households_huge.csv", with_row2(4, "1000000000000"))
    case(
        "households_huge",
        "households 1e12 (a total, or 万 read as units)",
        [*base, "--survey", "{dir}/households_huge.csv"],
        "warning",
        "is more than one estate can have",
        file="households_huge.csv",
        where="row 3",
        check={"estate_id": "E2", "column": "households", "value": None},
    )
    rows = good_rows()
    survey_csv("survey_duplicate_rows.csv", [*rows, rows[1]])
    case(
        "survey_duplicate_rows",
        "the same survey row twice",
        [*base, "--survey", "{dir}/survey_duplicate_rows.csv"],
        "warning",
        "2 identical rows in the survey",
        file="survey_duplicate_rows.csv",
        where="rows 3, 6",
    )
    rows = good_rows()
    again = list(rows[1])
    again[4] = "999"
    survey_csv("survey_duplicate_ids.csv", [*rows, again])
    case(
        "survey_duplicate_ids",
        "two survey rows with one estate id and different households",
        [*base, "--survey", "{dir}/survey_duplicate_ids.csv"],
        "warning",
        "rows with the same estate id",
        file="survey_duplicate_ids.csv",
        where="rows 3, 6",
    )
    rows = good_rows()
    rows[0][1] = "朝晖二区"  # id E1, but the name of E2
    survey_csv("survey_id_of_another_name.csv", rows)
    case(
        "survey_id_of_another_name",
        "a survey row whose id is one estate's and whose name is another's",
        [*base, "--survey", "{dir}/survey_id_of_another_name.csv"],
        "warning",
        "but its name is that of estate E2",
        file="survey_id_of_another_name.csv",
        where="row 2",
    )
    wgs = [rounded(g) for g in to_wgs(squares())]
    wgs[1] = wgs[0]
    write_geojson("duplicate_footprints.geojson", estate_features(wgs))
    case(
        "duplicate_footprints",
        "two estates with the identical footprint",
        ["--estates", "{dir}/duplicate_footprints.geojson"],
        "warning",
        "have the identical footprint",
        file="duplicate_footprints.geojson",
        where="estates E1, E2",
    )
    tmp = OUT / "_tmp_short"
    tmp.mkdir(exist_ok=True)
    gdf = gpd.GeoDataFrame(SHP_ATTRS, geometry=squares(), crs=GK)
    pyogrio.write_dataframe(gdf, OUT / "shapes_beyond_dbf.shp", encoding="UTF-8")
    pyogrio.write_dataframe(gdf.iloc[:2], tmp / "short.shp", encoding="UTF-8")
    shutil.copyfile(tmp / "short.dbf", OUT / "shapes_beyond_dbf.dbf")
    shutil.rmtree(tmp)
    case(
        "shp_more_shapes_than_rows",
        "a Shapefile whose .dbf has 2 rows for 4 shapes",
        ["--estates", "{dir}/shapes_beyond_dbf.shp"],
        "warning",
        "the .shp has 4 shapes but the .dbf 2 rows",
        file="shapes_beyond_dbf.shp",
    )


def formula_cases() -> None:
    """Names that a spreadsheet would run, and a name with $...$ (matplotlib math text)."""
    wgs = [rounded(g) for g in to_wgs(squares())]
    names = {
        **BASE_ATTRS,
        "小区名称": [
            '=HYPERLINK("http://example.invalid","点击")',
            "+1+1",
            "@SUM(1)",
            "$x^2$ 小区",
        ],
        "所在区": ["-2+3", "下城区", "下城区", "下城区"],
    }
    write_geojson("formula_names.geojson", estate_features(wgs, names))
    case(
        "formula_names",
        "estate names starting = + @ and a county starting - (OWASP CSV injection), $...$",
        ["--estates", "{dir}/formula_names.geojson"],
        "ok",
        check={"estate_id": "E1", "column": "name", "value": names["小区名称"][0]},
    )


def bounded_cases() -> None:
    """Inputs that would take unbounded time or memory: each within a bound or one clear line."""
    import sqlite3

    gdf = gpd.GeoDataFrame(BASE_ATTRS, geometry=squares(), crs=GK)
    pyogrio.write_dataframe(gdf, OUT / "view_layer.gpkg", layer="base")
    with sqlite3.connect(OUT / "view_layer.gpkg") as db:
        db.execute(
            'CREATE VIEW estates AS SELECT a.fid AS fid, a.geom AS geom, a."编号" AS "编号" '
            "FROM base a, base b, base c, base d"
        )
        db.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
            "VALUES ('estates', 'features', 'estates', 4549)"
        )
        db.execute(
            "INSERT INTO gpkg_geometry_columns VALUES ('estates', 'geom', 'POLYGON', 4549, 0, 0)"
        )
    db.close()
    case(
        "gpkg_sql_view",
        "a GeoPackage layer that is an SQL view (its query runs on every read)",
        ["--estates", "{dir}/view_layer.gpkg::estates"],
        "error",
        "is an SQL view, not a table",
        file="view_layer.gpkg",
    )
    angles = np.linspace(0, 2 * np.pi, 2500, endpoint=False)
    radius = 50 + 2 * np.sin(angles * 200)
    ring = np.column_stack([X0 + 50 + radius * np.cos(angles), Y0 + 50 + radius * np.sin(angles)])
    geoms = [Polygon(ring), *squares()[1:]]
    dense = gpd.GeoDataFrame(BASE_ATTRS, geometry=geoms, crs=GK)
    pyogrio.write_dataframe(dense, OUT / "dense_outline.gpkg", layer="estates")
    case(
        "dense_outline",
        "an estate outline of 2,500 vertices (a densified export; the cap is 2,000)",
        ["--estates", "{dir}/dense_outline.gpkg"],
        "repair",
        "outline of 2,501 vertices simplified",
        file="dense_outline.gpkg",
        where="E1",
    )
    case(
        "too_many_estates",
        "more estates than one run plans (LIANPIAN_MAX_ESTATES=3)",
        ["--estates", "{dir}/base_estates.geojson"],
        "error",
        "more than the 3 estates one run plans",
        file="base_estates.geojson",
        env={"LIANPIAN_MAX_ESTATES": "3"},
    )


def trust_cases() -> None:
    guard_cases()
    crs_cases()
    excel_cases()
    count_cases()
    formula_cases()
    bounded_cases()


def write_catalogue() -> None:
    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return (
                "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items() if x is not None) + " }"
            )
        return json.dumps(v, ensure_ascii=False)

    lines = [
        "# The corpus of bad inputs: made by scripts/make_bad_inputs.py (do not edit by hand).",
        "# outcome: error (exit 2, one line on stderr containing `expect`, the `file` and `where`;",
        "#   no output written) | repair / warning / dropped (exit 0, a row of that level in the",
        "#   output's `quality` layer whose message contains `expect`) | ok (exit 0).",
        "# check: the output estate `estate_id` has `value` in `column` (no value = missing).",
        "# absent: a fragment that must not appear in the quality layer. {dir} is this folder.",
        "",
    ]
    for c in CASES:
        lines.append("[[case]]")
        for key, v in c.items():
            if v is None or (v == "" and key == "expect"):
                continue
            if key == "check" and v.get("value") is None:
                v = {k: x for k, x in v.items() if k != "value"}
            lines.append(f"{key} = {value(v)}")
        lines.append("")
    (OUT / "cases.toml").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    geometry_cases()
    gcj_case()
    attribute_cases()
    survey_cases()
    zip_cases()
    other_layer_cases()
    trust_cases()
    write_catalogue()
    size = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"{len(CASES)} cases, {len(list(OUT.iterdir()))} files, {size / 1e6:.2f} MB in {OUT}")


if __name__ == "__main__":
    main()
