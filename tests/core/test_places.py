"""Region cells, county names and point columns of survey tables."""

import pytest

from geo.core.places import (
    county_stem,
    official_county,
    parse_coordinate,
    parse_coordinate_pair,
    point_columns,
    split_region,
)


@pytest.mark.parametrize(
    ("cell", "county", "circle"),
    [
        ("西湖 北山", "西湖", "北山"),
        ("西湖区", "西湖区", ""),
        ("江干-下沙 物美", "江干", "下沙 物美"),
        ("", "", ""),
        ("暂无数据", "", ""),
        (None, "", ""),
    ],
)
def test_split_region(cell, county, circle):
    assert split_region(cell) == (county, circle)


def test_county_stem_and_official_name():
    assert county_stem("西湖区") == county_stem("西湖") == "西湖"
    assert county_stem("淳安县") == "淳安"
    assert county_stem("建德市") == "建德"
    assert county_stem("城区") == "城区"  # one character would remain
    known = ["西湖区", "上城区", "淳安县"]
    assert official_county("西湖", known) == "西湖区"
    assert official_county("淳安", known) == "淳安县"
    assert official_county("下城", known) is None  # not among the counties: not guessed
    assert official_county("西湖", []) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["小区名称", "经度", "纬度"], {"longitude": "经度", "latitude": "纬度"}),
        (["name", "lng", "lat"], {"longitude": "lng", "latitude": "lat"}),
        (["name", "lon", "lat"], {"longitude": "lon", "latitude": "lat"}),
        (["name", "X", "Y"], {"longitude": "X", "latitude": "Y"}),
        (["名称", "坐标"], {"coordinates": "坐标"}),
        (["名称", "经度"], {}),  # half a pair
        (["名称", "地址"], {}),
    ],
)
def test_point_columns(headers, expected):
    assert point_columns(headers) == expected


def test_point_columns_user_mapping_wins():
    headers = ["名称", "东坐标", "北坐标", "经度", "纬度"]
    mapping = {"东坐标": "longitude", "北坐标": "latitude"}
    assert point_columns(headers, mapping) == {"longitude": "东坐标", "latitude": "北坐标"}


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("120.153", 120.153),
        (120.153, 120.153),
        ("E120.153", 120.153),
        ("120°9'0\"E", 120.15),
        ("30度15分", 30.25),
        ("-", None),
        ("暂无数据", None),
        ("abc", None),
    ],
)
def test_parse_coordinate(cell, value):
    parsed = parse_coordinate(cell)
    assert parsed == (pytest.approx(value) if value is not None else None)


@pytest.mark.parametrize(
    ("cell", "pair"),
    [
        ("120.15,30.27", (120.15, 30.27)),
        ("120.15，30.27", (120.15, 30.27)),
        ("120.15 30.27", (120.15, 30.27)),
        ("120.15", (None, None)),
        ("", (None, None)),
    ],
)
def test_parse_coordinate_pair(cell, pair):
    assert parse_coordinate_pair(cell) == pair
