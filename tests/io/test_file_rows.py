"""Reports name the row a planner sees in the spreadsheet: title rows, blank rows and totals.

A survey with a title above its header (某某区老旧小区调查表), a blank row and a 合计 row at the
end: a bad cell is reported at its own row number in Excel (or line of the CSV), and the total
row is left out with a note, not reported as an estate that matched nothing.
"""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from geo import io
from geo.core.errors import QualityReport
from geo.core.schema import FILE_ROW, file_rows

HEADER = ["小区名称", "建成年代", "户数"]


def _xlsx(path, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _where(quality: QualityReport, text: str) -> list[str]:
    frame = quality.to_frame()
    return list(frame.loc[frame["message"].str.contains(text, regex=False), "where"])


def test_xlsx_rows_are_numbered_as_excel_shows_them(tmp_path):
    path = _xlsx(
        tmp_path / "survey.xlsx",
        [
            ["某某区老旧小区改造摸底调查表"],  # row 1: a title
            ["填报单位：某街道"],  # row 2
            HEADER,  # row 3
            ["甲小区", "1990", "120"],  # row 4
            [None, None, None],  # row 5: blank
            ["乙小区", "1992", "很多"],  # row 6: a bad count
            ["合计", None, "120"],  # row 7: a total
        ],
    )
    quality = QualityReport()
    survey = io.read_survey(path, quality=quality)
    assert list(survey["name"]) == ["甲小区", "乙小区"]
    assert list(survey["survey_row"]) == [4, 6]
    assert _where(quality, "很多") == ["row 6"]
    assert _where(quality, "total row") == ["row 7"]
    assert _where(quality, "skipped as titles") == ["rows 1-3"]


def test_csv_records_are_numbered_with_title_and_blank_lines(tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text(
        "某某区老旧小区调查表\n"  # line 1
        "小区名称,建成年代,户数\n"  # line 2
        "甲小区,1990,120\n"  # line 3
        "\n"  # line 4: blank
        "乙小区,1992,很多\n"  # line 5
        "总 计,,120\n",  # line 6: a total, with a space inside
        encoding="utf-8",
    )
    quality = QualityReport()
    survey = io.read_survey(path, quality=quality)
    assert list(survey["survey_row"]) == [3, 5]
    assert _where(quality, "很多") == ["row 5"]
    assert _where(quality, "total row") == ["row 6"]


def test_a_table_read_by_geo_io_carries_its_file_rows(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("小区名称,户数\n甲,1\n乙,2\n", encoding="utf-8")
    table = io.read_table(path)
    assert table.index.name == FILE_ROW
    assert list(file_rows(table)) == [2, 3]


@pytest.mark.parametrize("rows", [0, 3])
def test_a_table_built_in_code_counts_from_row_two(rows):
    assert list(file_rows(pd.DataFrame({"a": range(rows)}))) == list(range(2, rows + 2))


def test_the_table_beside_the_survey_keeps_the_same_rows(tmp_path):
    # the point columns are read from the table row for row: a total row must leave both
    path = tmp_path / "survey.csv"
    path.write_text(
        "小区名称,建成年代,户数,经度,纬度\n"
        "甲小区,1990,120,120.15,30.28\n"
        "合计,,120,,\n"
        "乙小区,1992,80,120.16,30.29\n",
        encoding="utf-8",
    )
    survey, table = io.read_survey_and_table(path, quality=QualityReport())
    assert len(survey) == len(table) == 2
    assert list(table["经度"]) == ["120.15", "120.16"]
    assert list(survey["survey_row"]) == list(file_rows(table)) == [2, 4]
