import datetime

import pandas as pd
import pytest

from geo.core.errors import InputError, QualityReport
from geo.core.schema import (
    BuildYear,
    coerce_attributes,
    map_headers,
    parse_area,
    parse_bool,
    parse_build_year,
    parse_count,
    parse_share,
    split_needs,
)


@pytest.mark.parametrize(
    ("cell", "first", "latest"),
    [
        ("1995", 1995, 1995),
        (1995, 1995, 1995),
        (1995.0, 1995, 1995),
        ("1995年", 1995, 1995),
        ("1995、1997", 1995, 1997),
        ("1995/97", 1995, 1997),
        ("1995-1997", 1995, 1997),
        ("90年代", 1990, 1999),
        ("80年代末", 1980, 1989),
        ("九五年", 1995, 1995),
        ("１９９８", 1998, 1998),
        # a spreadsheet's date cell, as text or as a date (was read as phases 1900-1995)
        ("1995-01-01 00:00:00", 1995, 1995),
        ("1995-06-30T12:30", 1995, 1995),
        (datetime.datetime(1995, 1, 1), 1995, 1995),
        (pd.Timestamp("1996-03-01"), 1996, 1996),
        (datetime.date(1997, 5, 1), 1997, 1997),
        # decades written with the century or in Chinese numerals
        ("上世纪80年代", 1980, 1989),
        ("20世纪80年代末", 1980, 1989),
        ("九十年代", 1990, 1999),
        ("二十世纪七十年代", 1970, 1979),
    ],
)
def test_build_year_forms(cell, first, latest):
    year = parse_build_year(cell, current_year=2026)
    assert (year.first, year.latest) == (first, latest)


@pytest.mark.parametrize("cell", ["", None, float("nan"), "不详"])
def test_build_year_unknown_is_not_guessed(cell):
    assert parse_build_year(cell, current_year=2026) == BuildYear(None, None, "")


@pytest.mark.parametrize("cell", ["2035", "abc", "1850"])
def test_build_year_bad_cells_are_reported(cell):
    year = parse_build_year(cell, current_year=2026)
    assert year.first is None and year.latest is None and year.note


@pytest.mark.parametrize(
    ("value", "share", "repaired"),
    [
        (0.85, 0.85, False),
        ("85%", 0.85, False),
        (85, 0.85, True),
        ("0.85", 0.85, False),
        (1.2, 0.012, True),
        (120, None, False),
        (-0.1, None, False),
        ("abc", None, False),
    ],
)
def test_share(value, share, repaired):
    got, note = parse_share(value)
    assert got == pytest.approx(share) if share is not None else got is None
    assert bool(note) == (repaired or share is None)


@pytest.mark.parametrize(
    ("cell", "count", "noted"),
    [
        ("1 234", 1234, False),
        ("共1234户", 1234, False),
        ("1234（户）", 1234, False),
        ("1.2万户", 12000, False),
        ("1200户左右", 1200, False),
        ("1200余户", 1200, True),  # a lower bound: read, and said so
        ("1200多户", 1200, True),
        ("1200户以上", 1200, True),
        ("1200-1300", None, True),  # a range is not a count
        ("-5", None, True),
    ],
)
def test_count_forms(cell, count, noted):
    got, note = parse_count(cell)
    assert got == count
    assert bool(note) == noted


@pytest.mark.parametrize(
    ("cell", "share"),
    [("85%以上", 0.85), ("≥85%", 0.85), ("不低于85%", 0.85), ("8成", 0.8), ("2/3", 2 / 3)],
)
def test_share_bounds_tenths_and_fractions_are_read_and_noted(cell, share):
    got, note = parse_share(cell)
    assert got == pytest.approx(share)
    assert note  # reported as a repair, so the planner sees how the cell was read


@pytest.mark.parametrize("cell", ["120%以上", "3/2", "0/0", "百分之八十五"])
def test_impossible_shares_stay_unknown(cell):
    got, note = parse_share(cell)
    assert got is None and note


def test_count_rejects_negative_and_text():
    assert parse_count("120")[0] == 120
    assert parse_count("1,200户")[0] == 1200
    assert parse_count(-3)[0] is None
    assert parse_count("abc")[0] is None
    assert parse_count("12.5")[0] is None


def test_bool_cells():
    assert parse_bool("是") == (True, "")
    assert parse_bool("否") == (False, "")
    assert parse_bool("") == (None, "")
    assert parse_bool("maybe")[0] is None


def test_split_needs():
    assert split_needs("供水；供气；绿化美化") == ["供水", "供气", "绿化美化"]
    assert split_needs("供水;供气、加装电梯") == ["供水", "供气", "加装电梯"]
    assert split_needs(None) == []


def test_map_headers_chinese_and_english():
    mapping = map_headers(["osm_id", "小区名称", "户数", "建筑面积m2", "consent", "other"])
    assert mapping == {
        "osm_id": "estate_id",
        "小区名称": "name",
        "户数": "households",
        "建筑面积m2": "floor_area_m2",
        "consent": "consent_rate",
    }


def test_map_headers_user_mapping_wins():
    mapping = map_headers(["名称", "楼盘名"], {"楼盘名": "name"})
    assert mapping == {"楼盘名": "name"}


def test_map_headers_unknown_target():
    with pytest.raises(InputError, match="not an estate column"):
        map_headers(["a"], {"a": "nonsense"})


def test_coerce_attributes_reports_repairs_and_keeps_raw_year():
    quality = QualityReport()
    table = pd.DataFrame(
        {
            "build_year_raw": ["1995、1997", "2035"],
            "households": ["120", "-5"],
            "consent_rate": ["85", "0.9"],
        }
    )
    out = coerce_attributes(table, source="s.csv", quality=quality)
    assert list(out["build_year_raw"]) == ["1995、1997", "2035"]
    assert out["build_year_latest"].tolist()[0] == 1997
    assert pd.isna(out["build_year_latest"].iloc[1])
    assert out["households"].iloc[0] == 120 and pd.isna(out["households"].iloc[1])
    assert out["consent_rate"].iloc[0] == pytest.approx(0.85)
    messages = " | ".join(i.message for i in quality.issues)
    assert "2035" in messages and "-5" in messages and "percentage" in messages
    assert table["households"].tolist() == ["120", "-5"]  # input untouched


@pytest.mark.parametrize(
    ("cell", "year"),
    [("1989年建成", 1989), ("2018-06-30", 2018), ("2018年6月", 2018), ("2018.06", 2018)],
)
def test_listing_site_build_years(cell, year):
    parsed = parse_build_year(cell)
    assert (parsed.first, parsed.latest, parsed.note) == (year, year, "")


@pytest.mark.parametrize("cell", ["暂无数据", "暂无资料", "--", "—", "不详"])
def test_listing_site_empty_cells_are_unknown_without_a_note(cell):
    assert parse_build_year(cell) == BuildYear(None, None, "")
    assert parse_count(cell) == (None, "")
    assert parse_area(cell) == (None, "")


def test_listing_site_counts_and_areas():
    assert parse_count("1597户") == (1597, "")
    assert parse_count("38栋") == (38, "")
    assert parse_area("70000平方米") == (70000.0, "")
    assert parse_area("7万平方米") == (70000.0, "")
    assert parse_area("1,234.5㎡") == (1234.5, "")


def test_listing_site_headers_and_region_split():
    headers = [
        "小区名称",
        "所属区域",
        "建筑年代",
        "房屋总数",
        "楼栋总数",
        "建筑面积",
        "经度",
        "纬度",
    ]
    mapping = map_headers(headers)
    assert mapping == {
        "小区名称": "name",
        "所属区域": "county",
        "建筑年代": "build_year_raw",
        "房屋总数": "households",
        "楼栋总数": "buildings",
        "建筑面积": "floor_area_m2",
    }
    table = pd.DataFrame(
        {"county": ["西湖 北山", "西湖区", None], "households": ["1597户", "暂无数据", "--"]}
    )
    out = coerce_attributes(table, source="t.csv", quality=QualityReport())
    assert out["county"].tolist()[:2] == ["西湖", "西湖区"]
    assert out["business_circle"].tolist()[:2] == ["北山", ""]
    assert out["households"].tolist()[0] == 1597


def test_map_headers_accepts_point_columns_in_a_user_mapping():
    assert map_headers(["东坐标"], {"东坐标": "longitude"}) == {"东坐标": "longitude"}


def test_text_columns_parse_per_distinct_cell_as_cell_by_cell():
    """A column of text (parsed once per distinct value) gives the values and notes, in row
    order, that the same cells in an object column (parsed cell by cell) give."""
    from geo.core.errors import QualityReport
    from geo.core.schema import coerce_attributes

    cells = {
        "households": ["120户", "0", "x", None, "120户", "7.5"],
        "consent_rate": ["95%", "0.8", "80", None, "abc", "95%"],
        "build_year_raw": ["1995年", "90年代", "1995、1997", "", None, "1995年"],
        "already_renovated": ["是", "否", "maybe", None, "是", "有"],
        "name": ["<b>A</b>", "B", "B", None, "C", "<b>A</b>"],
        "needs": ["加装电梯；管网改造", "", None, "加装电梯、屋面防水", "x", "y"],
    }
    labels = pd.Series([f"E{i}" for i in range(6)])
    results = []
    for dtype in ("str", object):
        quality = QualityReport()
        table = pd.DataFrame({c: pd.Series(v, dtype=dtype) for c, v in cells.items()})
        frame = coerce_attributes(table, source="t", quality=quality, row_labels=labels)
        results.append((frame, quality.to_frame()))
    pd.testing.assert_frame_equal(results[0][0], results[1][0])
    pd.testing.assert_frame_equal(results[0][1], results[1][1])
    notes = results[0][1]
    assert notes["message"].iloc[0].startswith("households") and notes["where"].iloc[0] == "row E1"
    assert (notes["where"] == "row E2").any()
