"""Tender packages: every exported file is read back and compared with the source plan."""

from __future__ import annotations

import json
import unicodedata
import zipfile
from pathlib import Path

import ezdxf
import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from geo import io as geo_io
from geo.core.errors import InputError
from geo.io import safe_text
from geo.outputs import drawings
from geo.outputs import dxf as dxf_out
from geo.outputs import export as ex
from tests.outputs.tender_plan import CRS, NAMES, X0, Y0  # noqa: F401
from tests.outputs.tender_plan import plan_layers as _plan_layers

SHARE_RTOL = 0.001  # areas within 0.1 %


def _source_members() -> gpd.GeoDataFrame:
    estates = _plan_layers()["estates"]
    return estates.loc[estates["district_id"] == "D0001"].set_index("estate_id")


def _assert_areas(read: dict[str, float]) -> None:
    source = _source_members().geometry.area
    assert set(read) == set(source.index)
    for estate_id, area in read.items():
        assert area == pytest.approx(source[estate_id], rel=SHARE_RTOL), estate_id


# --------------------------------------------------------------------------- round trips


def test_geopackage_round_trip(package):
    folder, _ = package
    gpkg = next(folder.glob("*.gpkg"))
    layer_names = {str(n) for n, _ in pyogrio.list_layers(gpkg)}
    assert {"district_outline", "estates", "corridors", "elderly_sites", "content_items"} <= (
        layer_names
    )
    estates = pyogrio.read_dataframe(gpkg, layer="estates")
    assert estates.crs.to_epsg() == 4549
    assert list(estates["name"]) == NAMES[:2]
    _assert_areas(dict(zip(estates["estate_id"], estates.geometry.area, strict=True)))
    # all attributes kept, plus the needs split into the content classes
    assert {"consent_rate", "priority_score", "osm_id", "needs_basic"} <= set(estates.columns)
    assert estates.loc[0, "needs_basic"] == "供水"
    assert estates.loc[0, "needs_improvement"] == "加装电梯"
    assert estates.loc[0, "needs_enhancement"] == "服务设施"
    assert estates.loc[0, "needs_other"] == "奇怪项目"
    assert len(pyogrio.read_dataframe(gpkg, layer="corridors")) == 1
    assert len(pyogrio.read_dataframe(gpkg, layer="elderly_sites")) == 1
    assert len(pyogrio.read_dataframe(gpkg, layer="content_items", read_geometry=False)) == 25


def test_shapefile_round_trip_in_both_encodings(package):
    folder, encoding = package
    shp = folder / "shp" / "D0001_estates.shp"
    assert (folder / "shp" / "D0001_estates.cpg").read_text() == ex.SHAPEFILE_ENCODINGS[encoding]
    estates = pyogrio.read_dataframe(shp)
    assert all(len(c) <= 10 for c in estates.columns)
    expected = [unicodedata.normalize("NFKC", n) if encoding == "gbk" else n for n in NAMES[:2]]
    assert list(estates["name"]) == expected
    _assert_areas(dict(zip(estates["estate_id"], estates.geometry.area, strict=True)))
    raw = (folder / "shp" / "D0001_estates.dbf").read_bytes()
    assert "朝晖一小区".encode("gbk" if encoding == "gbk" else "utf-8") in raw
    mapping = pd.read_csv(folder / "shp" / "field_names.csv", encoding="utf-8-sig")
    est_map = mapping.loc[mapping["layer"] == "estates"]
    assert (
        dict(zip(est_map["column"], est_map["shapefile_field"], strict=True))["floor_area_m2"]
        == "floor_m2"
    )
    assert set(est_map["shapefile_field"]) == set(estates.columns) - {"geometry"}


def test_dxf_round_trip(package):
    folder, _ = package
    doc = ezdxf.readfile(next(folder.glob("*.dxf")))
    msp = doc.modelspace()
    layer_names = {layer.dxf.name for layer in doc.layers}
    assert {"LP_DISTRICT", "LP_ESTATE", "LP_ESTATE_NAME", "LP_CORRIDOR", "LP_ELDERLY"} <= (
        layer_names
    )
    areas: dict[str, float] = {}
    for pline in msp.query('LWPOLYLINE[layer=="LP_ESTATE"]'):
        estate_id, role = (value for _, value in pline.get_xdata(dxf_out._DXF_APPID))
        area = shapely.Polygon([p[:2] for p in pline.get_points()]).area
        areas[estate_id] = areas.get(estate_id, 0.0) + (area if role == "outer" else -area)
    _assert_areas(areas)
    texts = {t.dxf.text for t in msp.query('TEXT[layer=="LP_ESTATE_NAME"]')}
    assert texts == set(NAMES[:2])
    assert all(t.dxf.style == dxf_out.DXF_STYLE for t in msp.query('TEXT[layer=="LP_ESTATE_NAME"]'))
    info = " ".join(m.dxf.text for m in msp.query('TEXT[layer=="LP_INFO"]'))
    assert "EPSG:4549" in info
    assert len(msp.query('LWPOLYLINE[layer=="LP_CORRIDOR"]')) == 1


def test_xlsx_round_trip(package):
    folder, _ = package
    wb = openpyxl.load_workbook(next(folder.glob("*.xlsx")))
    assert {"小区清单", "片区汇总", "改造内容", "管线廊道", "养老设施", "投资估算"} <= set(
        wb.sheetnames
    )
    table = pd.read_excel(next(folder.glob("*.xlsx")), sheet_name="小区清单")
    assert list(table["小区名称 name"]) == NAMES[:2]
    assert list(table["建筑面积(m²) floor area"]) == [30000, 20000]
    assert list(table["户数(户) households"]) == [300, 200]
    assert table.loc[1, "基础类需求 basic needs"] == "屋面防水"
    assert table.loc[1, "提升类需求 enhancement needs"] == "协商机制"
    cost = pd.read_excel(next(folder.glob("*.xlsx")), sheet_name="投资估算")
    total = cost.loc[cost["小区编号 estate id"] == "合计 total", "估算投资(万元) investment"]
    assert float(total.iloc[0]) == pytest.approx(50000 * 242 / 1e4)


def test_kml_round_trip_in_wgs84(package):
    folder, _ = package
    kml = next(folder.glob("*.kml"))
    estates = pyogrio.read_dataframe(kml, layer="小区 estates")
    assert estates.crs.to_epsg() == 4326
    assert list(estates["Name"]) == NAMES[:2]
    metric = estates.to_crs(CRS)
    _assert_areas(dict(zip(metric["estate_id"], metric.geometry.area, strict=True)))


def test_png_and_manifest(package):
    folder, _ = package
    png = next(folder.glob("*.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    licences = " ".join(s["licence"] for s in manifest["sources"])
    assert "OpenStreetMap contributors" in licences and "ODbL" in licences
    assert manifest["data"].startswith("ILLUSTRATIVE")
    assert manifest["policy"]["source"] == "defaults"
    assert (folder / "policy.toml").exists()
    by_path = {f["path"]: f for f in manifest["files"]}
    dxf = next(p for p in by_path if p.endswith(".dxf"))
    assert by_path[dxf]["crs"].startswith("EPSG:4549")
    for path, entry in by_path.items():  # every file listed exists with its size
        assert (folder / path).stat().st_size == entry["bytes"], path
    assert "README_说明.txt" in {p.name for p in folder.iterdir()}


# --------------------------------------------------------------------------- safety


def test_formula_text_is_never_a_formula_in_xlsx(package):
    folder, _ = package
    wb = openpyxl.load_workbook(next(folder.glob("*.xlsx")))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    formula = next(c for c in cells if c.value == NAMES[1])
    assert formula.data_type == "s"
    assert formula.quotePrefix


def test_formula_text_is_neutralised_in_csv(package):
    out = package[0].parent
    text = (out / "index.csv").read_text(encoding="utf-8-sig")
    assert "'=cmd" in text
    assert ",=cmd" not in text
    assert safe_text.neutralise_csv("@x") == "'@x"
    assert safe_text.neutralise_csv("-1") == "'-1"
    assert safe_text.neutralise_csv("朝晖") == "朝晖"
    assert safe_text.neutralise_csv(5) == 5


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("朝晖/一小区", "朝晖_一小区"),
        ("a!b", "a_b"),
        ('a<b>:"c|d?*', "a_b___c_d__"),
        ("CON", "_CON"),
        ("lpt1.txt", "_lpt1.txt"),
        ("小区. ", "小区"),
        ("", "_"),
        ("D0001_西湖区", "D0001_西湖区"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_text.safe_filename(name) == expected


@given(st.text(max_size=120))
def test_safe_filename_is_always_safe(name):
    safe = safe_text.safe_filename(name)
    assert safe and len(safe) <= 81
    assert not any(ch in safe for ch in '<>:"/\\|?*') and all(ord(ch) >= 32 for ch in safe)
    assert not safe.endswith((".", " "))
    assert safe.split(".")[0].upper().strip() not in safe_text._WINDOWS_RESERVED


@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=40, unique=True))
def test_shapefile_field_names_are_short_and_unique(columns):
    mapping = ex.shapefile_field_names(columns)
    fields = list(mapping.values())
    assert all(1 <= len(f) <= 10 and f.isascii() for f in fields)
    assert len({f.lower() for f in fields}) == len(fields)


def test_interrupted_zip_leaves_no_half_file(layers, tmp_path, monkeypatch):
    calls = {"n": 0}
    original = zipfile.ZipFile.write

    def failing_write(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full (simulated)")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "write", failing_write)
    with pytest.raises(OSError, match="simulated"):
        ex.export_packages(layers, tmp_path, as_zip=True, options=ex.PackageOptions(dpi=40))
    assert calls["n"] == 3
    assert list(tmp_path.iterdir()) == []  # no zip, no temporary file, no staging folder


def test_interrupted_xlsx_leaves_no_half_file(layers, tmp_path, monkeypatch):
    def failing_save(self, filename):
        Path(filename).write_bytes(b"PK\x03\x04 half a workbook")
        raise OSError("killed mid-write (simulated)")

    monkeypatch.setattr(openpyxl.Workbook, "save", failing_save)
    with pytest.raises(OSError, match="simulated"):
        ex.export_packages(layers, tmp_path, options=ex.PackageOptions(dpi=40))
    written = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert not [n for n in written if n.endswith(".xlsx") or ".tmp" in n], written


def test_no_cjk_font_gives_a_clear_warning(layers, tmp_path, monkeypatch):
    monkeypatch.setattr(drawings, "find_cjk_font", lambda: None)
    with pytest.warns(UserWarning) as caught:
        result = ex.export_packages(layers, tmp_path, options=ex.PackageOptions(dpi=40))
    messages = [str(w.message) for w in caught]
    assert any("no CJK font found" in m for m in messages)
    assert not [m for m in messages if "missing from font" in m]  # never silent boxes
    assert any("no CJK font" in w for w in result.warnings)
    manifest = json.loads(next(tmp_path.glob("*/manifest.json")).read_text(encoding="utf-8"))
    assert any("no CJK font" in w for w in manifest["warnings"])


# --------------------------------------------------------------------------- API and errors


def test_zip_bytes_for_the_app(layers):
    data = ex.package_zip_bytes(layers, ["D0001"], options=ex.PackageOptions(dpi=40))
    import io

    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "manifest.json" in names and "shp/D0001_estates.shp" in names
    assert any(n.endswith(".dxf") for n in names) and any(n.endswith(".kml") for n in names)


def test_unknown_district_is_an_input_error(layers, tmp_path):
    with pytest.raises(InputError, match="no district 'D9999'"):
        ex.export_packages(layers, tmp_path, district_ids=["D9999"])
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_plan_is_an_input_error(tmp_path):
    path = tmp_path / "other.gpkg"
    geo_io.write_layers(path, {"roads": _plan_layers()["corridors"]})
    with pytest.raises(InputError, match="not a lianpian plan"):
        ex.read_plan(path)


def test_cli_export_zip(plan_path, tmp_path, capsys):
    from geo.cli import main

    assert main(["export", str(plan_path), "--all", "--zip", "--out", str(tmp_path)]) == 0
    assert "1 district packages" in capsys.readouterr().out
    assert {p.name for p in tmp_path.iterdir()} >= {"index.xlsx", "index.csv", "manifest.json"}
    assert len(list(tmp_path.glob("D0001*.zip"))) == 1
    assert main(["export", str(plan_path), "--district", "X", "--out", str(tmp_path)]) == 2


# --------------------------------------------------------------------------- real data

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hangzhou"


@pytest.mark.realdata
def test_hangzhou_district_package_round_trip(tmp_path):
    if not DATA.exists():
        pytest.skip(f"real data folder {DATA} is absent")
    from geo.pipeline import PlanResult, load_inputs, run_plan

    inputs = load_inputs(
        DATA / "osm_landuse_residential.gpkg",
        survey=DATA / "survey_illustrative.csv",
        barriers=[DATA / "osm_water.gpkg"],
    )
    result: PlanResult = run_plan(inputs)
    layers = ex.PlanLayers.from_result(result)
    biggest = result.districts.sort_values("estates").iloc[-1]
    ex.export_packages(layers, tmp_path, district_ids=[biggest["district_id"]])
    folder = next(p for p in tmp_path.iterdir() if p.is_dir())
    members = result.estates.loc[result.estates["district_id"] == biggest["district_id"]]
    shp = pyogrio.read_dataframe(folder / "shp" / f"{biggest['district_id']}_estates.shp")
    kml = pyogrio.read_dataframe(next(folder.glob("*.kml")), layer="小区 estates")
    assert len(shp) == len(kml) == len(members) == biggest["estates"]
    assert shp.geometry.area.sum() == pytest.approx(members.area.sum(), rel=SHARE_RTOL)
    assert kml.to_crs(result.crs).area.sum() == pytest.approx(members.area.sum(), rel=SHARE_RTOL)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["data"].startswith("ILLUSTRATIVE")
