"""Issue 16 guards in geo.io and geo.core.crs, one small hand-checkable case each.

No input overwritten (geo.io.output_guard), formulas stored as text (geo.io.safe_text), projected
CRS measured in true metres (geo.core.crs), bounded XLSX reading (geo.io.xlsx), the app's uploads
and tiles (long names, ``maxzoom "18.0"``, links out of a tile folder).
"""

from __future__ import annotations

import sqlite3
import time

import geopandas as gpd
import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import box

from geo import io
from geo.core import crs as crs_mod
from geo.core.errors import InputError, OutputError, QualityReport
from geo.io import safe_text
from geo.io.output_guard import check_output, guarded_run, input_files
from geo.io.tiles import TileSource

GK = "EPSG:4549"
X0, Y0 = 514_400.0, 3_349_800.0


def _squares(crs: str = GK) -> gpd.GeoDataFrame:
    geoms = [box(X0 + i * 110, Y0, X0 + i * 110 + 100, Y0 + 100) for i in range(4)]
    return gpd.GeoDataFrame({"编号": ["E1", "E2", "E3", "E4"]}, geometry=geoms, crs=crs)


# --------------------------------------------------------------------------- output guard


def test_output_that_is_an_input_is_refused(tmp_path):
    data = tmp_path / "s.csv"
    data.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(OutputError, match="would overwrite an input"):
        check_output(data, inputs=input_files([str(data)]))
    with guarded_run([str(data)]), pytest.raises(OutputError):
        io.write_csv(data, __import__("pandas").DataFrame({"a": [2]}))
    assert data.read_text(encoding="utf-8") == "a\n1\n"


def test_symlink_and_layer_suffix_resolve_to_the_input(tmp_path):
    data = tmp_path / "plan.gpkg"
    data.write_bytes(b"x")
    link = tmp_path / "link.gpkg"
    link.symlink_to(data)
    inputs = input_files([f"{link}::estates"])
    with pytest.raises(OutputError, match="the link points to"):
        check_output(link, inputs=inputs)
    with pytest.raises(OutputError, match="holds an input"):
        check_output(tmp_path, folder=True, inputs=inputs)


def test_shapefile_parts_are_inputs_too(tmp_path):
    for suffix in (".shp", ".shx", ".DBF", ".prj"):
        (tmp_path / f"a{suffix}").write_bytes(b"x")
    inputs = input_files([str(tmp_path / "a.shp")])
    with pytest.raises(OutputError):
        check_output(tmp_path / "a.DBF", inputs=inputs)


def test_folder_as_file_output_and_full_disk_are_one_line(tmp_path, monkeypatch):
    with pytest.raises(OutputError, match="is a folder, not a file"):
        check_output(tmp_path)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pandas.DataFrame.to_csv", full)
    with pytest.raises(OutputError, match=r"(?i)no space") as caught:
        io.write_csv(tmp_path / "x.csv", __import__("pandas").DataFrame({"a": [1]}))
    assert "Fix: free disk space" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- formulas


@given(st.text(st.characters(min_codepoint=32), min_size=1, max_size=20))
def test_neutralised_workbook_has_no_formula(text):
    book = openpyxl.Workbook()
    book.active.append([text, "=" + text, 5])
    safe_text.neutralise_workbook(book)
    for cell in book.active[1]:
        assert cell.data_type != "f"
        if isinstance(cell.value, str) and safe_text.is_formula_like(cell.value):
            assert cell.quotePrefix


def test_write_xlsx_and_csv_store_formulas_as_text(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"name": ["=1+1", "@A1", "o\x01k"], "n": [-1, 2, 3]})
    io.write_xlsx(tmp_path / "t.xlsx", {"t": frame})
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx")["t"]
    assert sheet["A2"].data_type == "s" and sheet["A2"].value == "=1+1"
    assert sheet["B2"].value == -1  # numbers stay numbers
    assert sheet["A4"].value == "ok"  # control characters Excel refuses are dropped
    io.write_csv(tmp_path / "t.csv", frame)
    lines = (tmp_path / "t.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[1] == "'=1+1,-1" and lines[2] == "'@A1,2"


# --------------------------------------------------------------------------- CRS


def test_web_mercator_is_measured_in_the_gk_zone():
    mercator = _squares().to_crs(3857)
    assert mercator.area.iloc[0] == pytest.approx(13_300, rel=0.02)  # +33 % at 30°N
    metric = crs_mod.metric_crs_for(mercator)
    assert metric.to_epsg() == 4549
    assert mercator.to_crs(metric).area.iloc[0] == pytest.approx(10_000, rel=1e-3)


def test_local_zones_are_kept_and_far_ones_replaced():
    assert crs_mod.metric_crs_for(_squares()).to_epsg() == 4549
    assert crs_mod.metric_crs_for(_squares().to_crs(32650)).to_epsg() == 32650  # UTM 50N, CM 117
    far = _squares().to_crs(4526)  # GK CM 114E: 6° away
    assert crs_mod.metric_crs_for(far).to_epsg() == 4549


def test_wrong_gk_zone_is_named():
    roads = _squares().to_crs(4326)
    mislabelled = _squares().set_crs("EPSG:4548", allow_override=True)
    found = crs_mod.likely_gk_zone(mislabelled, roads)
    assert found is not None and found[0] == 4549 and 250 < found[1] < 330
    assert crs_mod.likely_gk_zone(_squares(), roads) is None


def test_swapped_lat_lon_is_one_clear_line(tmp_path):
    swapped = _squares().to_crs(4326)
    swapped.geometry = swapped.geometry.map(
        lambda g: __import__("shapely").transform(g, lambda c: c[:, ::-1])
    )
    swapped.to_file(tmp_path / "s.geojson", engine="pyogrio")
    with pytest.raises(InputError, match="latitude and longitude look swapped"):
        io.read_estates(tmp_path / "s.geojson", quality=QualityReport())


# --------------------------------------------------------------------------- XLSX


def test_far_cell_workbook_is_read_from_its_real_cells(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["编号", "户数"])
    book.active.append(["E1", 120])
    book.active["XFD1048576"] = "x"
    book.save(tmp_path / "far.xlsx")
    started = time.perf_counter()
    table = io.read_table(tmp_path / "far.xlsx")
    assert time.perf_counter() - started < 5
    assert table.iloc[0].tolist()[:2] == ["E1", "120"]


def test_dates_in_year_columns_hidden_and_named_sheets(tmp_path):
    import datetime as dt

    book = openpyxl.Workbook()
    hidden = book.active
    hidden.title = "notes"
    hidden.sheet_state = "hidden"
    first = book.create_sheet("A")
    first.append(["小区名称", "建成年代", "签约日期"])
    first.append(["朝晖一区", dt.datetime(2000, 5, 20), dt.datetime(2021, 3, 1)])
    second = book.create_sheet("B")
    second.append(["小区名称", "建成年代"])
    second.append(["朝晖二区", 1990])
    book.save(tmp_path / "w.xlsx")
    quality = QualityReport()
    table = io.read_table(tmp_path / "w.xlsx", quality=quality)
    assert table.iloc[0].tolist() == ["朝晖一区", "2000", "2021-03-01"]
    messages = " ".join(quality.to_frame()["message"])
    assert "are hidden" in messages and "2 visible sheets (A, B)" in messages
    assert "read as their year" in messages
    assert io.read_table(f"{tmp_path / 'w.xlsx'}::B").iloc[0].tolist() == ["朝晖二区", "1990"]


# --------------------------------------------------------------------------- uploads and tiles


def test_upload_name_over_255_bytes_is_shortened(tmp_path):
    name = "小区" * 100 + ".csv"
    assert len(name.encode()) > 255
    path = io.stage_upload(name, b"a,b\n1,2\n", tmp_path)
    assert path.suffix == ".csv" and len(path.name.encode()) <= 180


def test_mbtiles_zoom_as_decimal_text(tmp_path):
    path = tmp_path / "t.mbtiles"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE metadata (name text, value text)")
        db.execute(
            "CREATE TABLE tiles (zoom_level int, tile_column int, tile_row int, tile_data blob)"
        )
        db.executemany(
            "INSERT INTO metadata VALUES (?, ?)",
            [("format", "png"), ("minzoom", "3.0"), ("maxzoom", "18.0")],
        )
        db.execute("INSERT INTO tiles VALUES (3, 0, 0, x'89')")
    db.close()
    source = TileSource.open(path)
    assert (source.min_zoom, source.max_zoom) == (3, 18)


def test_tile_folder_with_links_outside_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("x", encoding="utf-8")
    folder = tmp_path / "tiles" / "3" / "0"
    folder.mkdir(parents=True)
    (folder / "0.png").symlink_to(secret)
    with pytest.raises(InputError, match="links pointing outside"):
        TileSource.open(tmp_path / "tiles")


_ORPHANS = """
import concurrent.futures, os, sys, time
from geo.io.folders import exit_with_parent

def work(_):
    time.sleep(60)
    return os.getpid()

if __name__ == "__main__":
    with concurrent.futures.ProcessPoolExecutor(2, initializer=exit_with_parent) as pool:
        futures = [pool.submit(work, i) for i in range(2)]
        time.sleep(1.5)
        print(" ".join(str(p) for p in pool._processes), flush=True)
        time.sleep(60)
"""


def test_workers_exit_when_the_parent_dies(tmp_path):
    """An export killed with -9 leaves no worker writing on (PR_SET_PDEATHSIG, parent watch)."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "orphans.py"
    script.write_text(_ORPHANS, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env
    )
    workers = [int(p) for p in parent.stdout.readline().split()]
    assert len(workers) == 2
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    deadline = time.time() + 10
    alive = workers
    while alive and time.time() < deadline:
        time.sleep(0.2)
        alive = [p for p in workers if _alive(p)]
    assert not alive


def _alive(pid: int) -> bool:
    import os
    from pathlib import Path

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by init) counts as gone
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
        return stat.split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
