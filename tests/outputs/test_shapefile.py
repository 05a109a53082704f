"""The package Shapefiles read back with pyshp: encoding byte, .cpg, readable short field names."""

from __future__ import annotations

import pytest
import shapefile  # pyshp

from geo.outputs import shapefile as shp_out
from tests.outputs.tender_plan import NAMES


def _reader(folder, encoding: str, layer: str = "estates") -> shapefile.Reader:
    return shapefile.Reader(
        str(folder / "shp" / f"D0001_{layer}.shp"), encoding="gbk" if encoding == "gbk" else "utf-8"
    )


def test_language_driver_byte_and_cpg(package):
    folder, encoding = package
    for layer in ("outline", "estates", "corridors", "elderly_sites"):
        raw = (folder / "shp" / f"D0001_{layer}.dbf").read_bytes()
        assert raw[29] == (0x4D if encoding == "gbk" else 0x00), layer
        cpg = (folder / "shp" / f"D0001_{layer}.cpg").read_text()
        assert cpg == {"gbk": "GBK", "utf-8": "UTF-8"}[encoding]


def test_field_names_are_readable(package):
    folder, encoding = package
    with _reader(folder, encoding) as reader:
        names = [f[0] for f in reader.fields[1:]]
        records = reader.records()
    codec = "gbk" if encoding == "gbk" else "utf-8"
    assert all(len(n.encode(codec)) <= 10 for n in names)
    assert len({n.lower() for n in names}) == len(names)
    if encoding == "gbk":
        assert {"小区编号", "名称", "户数", "建筑面积", "资格", "基础类"} <= set(names)
        assert records[0]["名称"] == NAMES[0]
        assert records[0]["户数"] == 300
    else:
        assert {"estate_id", "name", "households", "floor_m2", "status", "nd_basic"} <= set(names)
        assert records[0]["name"] == NAMES[0]
    # no field name is an opaque cut (elderly__1, separate_1, cost_savin) or a position (f03)
    assert not any(n.startswith("f") and n[1:].isdigit() for n in names)


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_plan_columns_get_readable_names(encoding):
    columns = [
        "elderly_required_m2",
        "elderly_accessible_m2",
        "elderly_gap_m2",
        "elderly_pooled_gap_m2",
        "elderly_site_id",
        "separate_length_m",
        "separate_cost_yuan",
        "cost_saving_pct",
        "corridor_length_m",
    ]
    names = shp_out.shapefile_field_names(columns, encoding)
    codec = "gbk" if encoding == "gbk" else "utf-8"
    assert all(len(n.encode(codec)) <= 10 for n in names.values())
    assert len(set(names.values())) == len(columns)
    assert not any(n[-2:-1] == "_" and n[-1].isdigit() for n in names.values())  # no clash cuts


def test_chinese_column_names_are_kept_in_gbk():
    names = shp_out.shapefile_field_names(["备注", "非常长的中文列名称"], "gbk")
    assert names["备注"] == "备注"
    assert names["非常长的中文列名称"] == "非常长的中"  # 10 GBK bytes
    assert shp_out.shapefile_field_names(["备注"], "utf-8")["备注"] == "f01"
