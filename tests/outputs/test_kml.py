"""The package KML read back with lxml against the OGC KML 2.2 schema (shipped by fastkml)."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
import shapely
from lxml import etree

from geo.outputs import bundle
from geo.outputs import kml as kml_out

NS = {"k": "http://www.opengis.net/kml/2.2"}


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    fastkml = pytest.importorskip("fastkml")
    path = Path(fastkml.__file__).parent / "schema" / "ogckml22.xsd"
    return etree.XMLSchema(etree.parse(str(path)))


@pytest.fixture(scope="module")
def tree(package):
    folder, _ = package
    return etree.parse(str(next(folder.glob("*.kml"))))


def test_kml_is_valid_kml_2_2(tree, schema):
    assert schema.validate(tree), schema.error_log


def test_kml_styles(tree):
    styles = {s.get("id"): s for s in tree.iterfind(".//k:Style", NS)}
    assert {"district", "estate_eligible", "estate_extension", "corridor", "site"} <= set(styles)
    district = styles["district"]
    assert district.findtext("k:PolyStyle/k:fill", namespaces=NS) == "0"  # outline only
    for key in ("estate_eligible", "estate_extension"):
        colour = styles[key].findtext("k:PolyStyle/k:color", namespaces=NS)
        assert 0x10 <= int(colour[:2], 16) < 0xFF  # translucent fill (aabbggrr)
    assert styles["corridor"].find("k:LineStyle/k:color", NS) is not None
    assert styles["site"].findtext("k:IconStyle/k:Icon/k:href", namespaces=NS)


def test_kml_site_icon_is_a_file_beside_it(tree, package):
    """Offline viewers resolve a relative link: the icon is in the package, not on the web."""
    folder, _ = package
    href = tree.findtext(".//k:Style[@id='site']/k:IconStyle/k:Icon/k:href", namespaces=NS)
    assert "://" not in href
    icon = folder / href
    assert icon.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    manifest = (folder / "manifest.json").read_text(encoding="utf-8")
    assert href in manifest
    by_name = {
        p.findtext("k:name", namespaces=NS): p.findtext("k:styleUrl", namespaces=NS)
        for p in tree.iterfind(".//k:Placemark", NS)
    }
    assert by_name["朝晖一小区"] == "#estate_eligible"
    assert by_name["=SUM(1,2)"] == "#estate_extension"  # E2 is an extension estate
    assert by_name["D0001"] == "#district"
    assert by_name["社区养老服务站"] == "#site"


def test_kml_descriptions_are_escaped_tables(tree):
    marks = list(tree.iterfind(".//k:Placemark", NS))
    assert all(m.findtext("k:description", namespaces=NS).startswith("<table") for m in marks)
    e1 = next(m for m in marks if m.findtext("k:name", namespaces=NS) == "朝晖一小区")
    desc = e1.findtext("k:description", namespaces=NS)
    assert "符合条件" in desc and "户数(户) households" in desc and "300" in desc
    county = next(m for m in marks if m.findtext("k:name", namespaces=NS) == "D0001")
    data = {
        d.get("name"): d.findtext("k:value", namespaces=NS)
        for d in county.iterfind("k:ExtendedData/k:Data", NS)
    }
    assert data["county"] == "=cmd|' /C calc'!A0"  # kept as text
    assert html.escape("=cmd|' /C calc'!A0") in county.findtext("k:description", namespaces=NS)


def test_kml_markup_in_names_stays_text(layers, tmp_path):
    plan = bundle.PlanLayers(**{**layers.__dict__})
    estates = plan.estates.copy()
    evil = "<b>x</b>&<script>alert(1)</script>"
    estates.loc[estates["estate_id"] == "E1", "name"] = evil
    estates.loc[estates["estate_id"] == "E1", "needs"] = "</td></tr></table><img src=x onerror=1>"
    plan.estates = estates
    path = tmp_path / "d.kml"
    kml_out._write_kml(bundle._bundle(plan, "D0001"), path)
    tree = etree.parse(str(path))
    names = [p.findtext("k:name", namespaces=NS) for p in tree.iterfind(".//k:Placemark", NS)]
    assert evil in names  # the name element holds the text, escaped in the file
    for mark in tree.iterfind(".//k:Placemark", NS):
        desc = etree.HTML(mark.findtext("k:description", namespaces=NS))
        assert not desc.xpath("//script|//img|//b")  # no element from the data
    assert b"<script>" not in path.read_bytes()


def test_kml_coordinates_match_the_plan(tree, layers):
    """Estate outlines in WGS-84 to 9 decimals: back in the plan CRS within a millimetre."""
    import geopandas as gpd

    est = layers.estates.set_index("estate_id")
    for mark in tree.iterfind(".//k:Placemark", NS):
        ids = [
            d.findtext("k:value", namespaces=NS)
            for d in mark.iterfind("k:ExtendedData/k:Data[@name='estate_id']", NS)
        ]
        if not ids:
            continue
        rings = [
            [tuple(map(float, xy.split(","))) for xy in c.text.split()]
            for c in mark.iterfind(".//k:coordinates", NS)
        ]
        poly = shapely.Polygon(rings[0], rings[1:])
        back = gpd.GeoSeries([poly], crs=4326).to_crs(layers.crs).iloc[0]
        source = est.geometry[ids[0]]
        assert back.symmetric_difference(source).area < source.length * 0.001  # a 1 mm band
