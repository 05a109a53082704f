"""The corpus of bad inputs (tests/data/bad, cases.toml) through the CLI and the app.

Every case must end in its catalogued outcome: an error (exit code 2, one line naming the file,
the row or feature, and the fix; no output written) or a completed run whose ``quality`` layer
lists the repair or warning. Never a traceback. Inputs are never modified; outputs are atomic:
a run killed at any point leaves the previous output or the complete new one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from geo import io
from geo.cli import main

REPO = Path(__file__).resolve().parent.parent
BAD = REPO / "tests" / "data" / "bad"
CASES = tomllib.loads((BAD / "cases.toml").read_text(encoding="utf-8"))["case"]
ERROR_CASES = [c for c in CASES if c["outcome"] == "error"]


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A copy of the corpus (so a bug cannot damage the committed files), with its hashes."""
    folder = tmp_path_factory.mktemp("bad") / "bad"
    shutil.copytree(BAD, folder)
    return folder, _hashes(folder)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    """A results GeoPackage (``{plan}`` of the cases of schedule, tables and export)."""
    path = tmp_path_factory.mktemp("plan") / "plan.gpkg"
    argv = ["plan", "--estates", str(BAD / "base_estates.geojson")]
    argv += ["--survey", str(BAD / "survey_ok.csv"), "--out", str(path)]
    code = main(argv)
    assert code == 0
    return path


def _argv(case: dict, folder: Path, out: Path, plan: Path | None = None) -> list[str]:
    def fill(text: str) -> str:
        text = text.replace("{dir}", str(folder)).replace("{out}", str(out.parent))
        if plan is not None:
            text = text.replace("{plandir}", str(plan.parent)).replace("{plan}", str(plan))
        return text

    args = [fill(a) for a in case["args"]]
    command = case.get("command", "plan")
    if command != "plan":
        return [command, *args]
    if case.get("out_is_input"):
        out = Path(args[args.index("--estates") + 1].split("::")[0])
    elif case.get("out"):
        out = Path(fill(case["out"]))
    return ["plan", *args, "--out", str(out)]


def _inputs_hash(folder: Path, plan: Path) -> dict[str, str]:
    return {**_hashes(folder), **{f"plan/{k}": v for k, v in _hashes(plan.parent).items()}}


def live_formulas(folder: Path) -> list[str]:
    """Every XLSX cell stored as a formula, or as formula-like text without Excel's quote prefix,
    and every CSV cell that a spreadsheet would run (``= + - @``, tab, CR; numbers aside).
    """
    import csv

    import openpyxl

    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() == ".xlsx":
            book = openpyxl.load_workbook(path)
            for sheet in book.worksheets:
                for row in sheet.iter_rows():
                    for cell in row:
                        value = cell.value
                        if cell.data_type == "f" or (
                            isinstance(value, str)
                            and value[:1] in ("=", "+", "-", "@", "\t", "\r")
                            and not cell.quotePrefix
                            and not _is_number(value)
                        ):
                            found.append(f"{path.name}!{sheet.title}!{cell.coordinate}: {value!r}")
        elif path.suffix.lower() == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as handle:
                for n, row in enumerate(csv.reader(handle), start=1):
                    for value in row:
                        if value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(value):
                            found.append(f"{path.name} line {n}: {value!r}")
    return found


def _is_number(text: str) -> bool:
    if text in ("-", "+"):  # a lone sign is text to a spreadsheet (the review CSV's rejection)
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def _estate_value(estates: pd.DataFrame, check: dict) -> object:
    row = estates.loc[estates["estate_id"].astype(str) == check["estate_id"]]
    assert len(row) == 1, f"estate {check['estate_id']} not in the output"
    return row.iloc[0][check["column"]]


def test_corpus_is_large_enough():
    assert len(CASES) >= 30
    assert len({c["id"] for c in CASES}) == len(CASES)
    for c in CASES:
        assert c["outcome"] in {"error", "repair", "warning", "dropped", "ok"}, c["id"]
        if c["outcome"] != "ok":
            assert c.get("expect"), c["id"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_through_cli(case, corpus, results, tmp_path, monkeypatch, capsys):
    folder, _ = corpus
    for key, value in case.get("env", {}).items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "plan.gpkg"
    before = _inputs_hash(folder, results)
    code = main(_argv(case, folder, out, results))
    captured = capsys.readouterr()
    assert _inputs_hash(folder, results) == before  # no input is ever modified or replaced
    assert not live_formulas(tmp_path)
    assert "Traceback" not in captured.err + captured.out
    if case["outcome"] == "error":
        assert code == 2, captured.err
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, captured.err
        line = lines[0]
        assert line.startswith("lianpian: error: ")
        assert case["expect"] in line
        assert case.get("file", "") in line
        assert case.get("where", "") in line
        assert "Fix: " in line
        assert not out.exists()
        assert not list(tmp_path.iterdir())  # no temporary file either
        return
    assert code == 0, captured.err
    if case.get("command", "plan") != "plan":
        return
    quality = pyogrio.read_dataframe(out, layer="quality")
    if case.get("expect"):
        hits = quality.loc[
            (quality["level"] == case["outcome"])
            & quality["message"].str.contains(case["expect"], regex=False)
        ]
        assert len(hits), quality.to_string()
        if "file" in case:
            assert (hits["source"] == case["file"]).any(), hits.to_string()
        if "where" in case:
            assert hits["where"].str.contains(case["where"], regex=False).any(), hits.to_string()
    if "absent" in case:
        assert not quality["message"].str.contains(case["absent"], regex=False).any()
    if "check" in case:
        estates = pyogrio.read_dataframe(out, layer="estates", read_geometry=False)
        value = _estate_value(estates, case["check"])
        expected = case["check"].get("value")
        if expected is None:
            assert pd.isna(value)
        elif isinstance(expected, float):
            assert value == pytest.approx(expected)
        else:
            assert value == expected


def test_inputs_never_modified(corpus, results):
    """Runs after the cases: every input byte and the list of files are as copied."""
    folder, before = corpus
    for case in CASES:  # cases with no output check have run too; run each once more here
        if case["outcome"] == "error" and not case.get("env"):
            main(_argv(case, folder, folder.parent / "out.gpkg", results))
    assert _hashes(folder) == before
    assert _hashes(folder) == _hashes(BAD)


@pytest.mark.parametrize("case_id", ["zip_bomb", "truncated_gpkg", "over_size_limit", "all_nan"])
def test_error_through_the_console_script(case_id, corpus, tmp_path):
    """End to end in a fresh interpreter: exit code 2, one line, no traceback."""
    folder, _ = corpus
    case = next(c for c in CASES if c["id"] == case_id)
    env = {**os.environ, "PYTHONPATH": str(REPO), **case.get("env", {})}
    out = tmp_path / "plan.gpkg"
    done = subprocess.run(
        [sys.executable, "-m", "geo.cli", *_argv(case, folder, out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert case["expect"] in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()


# --------------------------------------------------------------------------- atomic outputs

_KILLER = """
import os, signal, sys
from pathlib import Path
import pyogrio
from geo.cli import main

mode, at = sys.argv[1], int(sys.argv[2])
calls = {"n": 0}
write = pyogrio.write_dataframe
RUN = os.getpid()  # the run; the estates layer is written ahead in a forked process

def write_then_die(*args, **kwargs):
    calls["n"] += 1
    if mode in ("layer", "writer") and calls["n"] == at:
        if mode == "layer":
            os.kill(RUN, signal.SIGKILL)  # the whole run ...
        os.kill(os.getpid(), signal.SIGKILL)  # ... or the process writing this layer
    return write(*args, **kwargs)

pyogrio.write_dataframe = write_then_die
replace = Path.replace

def die_before_rename(self, target):
    if mode == "rename":
        os.kill(os.getpid(), signal.SIGKILL)
    return replace(self, target)

Path.replace = die_before_rename
sys.exit(main(sys.argv[3:]))
"""


def _plan_args(out: Path) -> list[str]:
    return [
        "plan",
        "--estates",
        str(BAD / "base_estates.geojson"),
        "--survey",
        str(BAD / "survey_ok.csv"),
        "--out",
        str(out),
    ]


def test_killed_run_leaves_previous_output(tmp_path, capsys):
    """SIGKILL while writing the 1st or 3rd layer, or just before the rename: old file intact."""
    out = tmp_path / "plan.gpkg"
    assert main(_plan_args(out)) == 0
    previous = hashlib.sha256(out.read_bytes()).hexdigest()
    script = tmp_path / "killer.py"
    script.write_text(_KILLER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for mode, at in (("layer", 1), ("layer", 3), ("rename", 0)):
        done = subprocess.run(
            [sys.executable, str(script), mode, str(at), *_plan_args(out)],
            capture_output=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == -signal.SIGKILL, done.stderr
        assert hashlib.sha256(out.read_bytes()).hexdigest() == previous
        pyogrio.read_dataframe(out, layer="estates")  # still a readable GeoPackage
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".plan.")]
    assert left  # a killed process cannot clean up; the next write of the target does:
    # only the process writing the estates layer ahead killed (the system out of memory): the
    # run ends with one line, the previous file intact, and no temporary file left (its own,
    # and those of the killed runs, removed as by any later write of the target)
    done = subprocess.run(
        [sys.executable, str(script), "writer", "1", *_plan_args(out)],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.decode().count("\n") == 1 and b"exit code -9" in done.stderr
    assert hashlib.sha256(out.read_bytes()).hexdigest() == previous
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".plan.")]
    assert main(_plan_args(out)) == 0
    capsys.readouterr()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["killer.py", "plan.gpkg"]
    assert set(pyogrio.list_layers(out)[:, 0]) >= {"estates", "districts", "adjacency", "quality"}


def test_failure_mid_write_keeps_previous_output(tmp_path, monkeypatch, capsys):
    out = tmp_path / "plan.gpkg"
    assert main(_plan_args(out)) == 0
    previous = out.read_bytes()
    calls = {"n": 0}
    write = pyogrio.write_dataframe

    def fail_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        return write(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", fail_on_second)
    code = main(_plan_args(out))
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "No space left" in err
    assert len(err.strip().splitlines()) == 1 and "Fix: free disk space" in err
    assert out.read_bytes() == previous
    assert [p.name for p in tmp_path.iterdir()] == ["plan.gpkg"]


def test_stale_temporaries_of_live_processes_are_kept(tmp_path):
    target = tmp_path / "plan.gpkg"
    mine = tmp_path / f".plan.{os.getpid()}.abc.tmp.gpkg"
    dead = tmp_path / ".plan.999999999.abc.tmp.gpkg"
    other = tmp_path / ".other.1.abc.tmp.gpkg"
    for path in (mine, dead, other):
        path.write_bytes(b"x")
    assert io.remove_stale_temporaries(target) == [dead]
    assert mine.exists() and other.exists() and not dead.exists()


# --------------------------------------------------------------------------- the app

APP = REPO / "app.py"
#: command-line flag -> the app's uploader key
UPLOAD_KEYS = {
    "--estates": "u_estates",
    "--survey": "u_survey",
    "--barriers": "u_barriers",
    "--roads": "u_roads",
    "--boundaries": "u_boundaries",
    "--facilities": "u_facilities",
}
CLI_ONLY = {
    "out_is_input": "--out has no counterpart in the app (downloads are new files)",
    "bad_column_option": "--column has no counterpart in the app",
    "unknown_source_crs": "the app offers a fixed list of CRS; an unknown one cannot be chosen",
    "unknown_layer": "the app lists the file's layers; a missing one cannot be chosen",
    "out_is_folder": "--out has no counterpart in the app",
    "plan_review_is_survey": "--plan-review has no counterpart in the app",
    "plan_review_is_plan": "--plan-review has no counterpart in the app",
    "policy_nan": "the app sets policy values with bounded widgets, not a TOML file",
    "policy_inf": "the app sets policy values with bounded widgets, not a TOML file",
    "excel_sheet_named": "FILE::SHEET is the command line's way to name a sheet",
}


def _upload_files(item: str, folder: Path) -> tuple[list[tuple[str, bytes, str]], str | None]:
    """The files a planner selects for ``item`` (a Shapefile with its parts) and its layer."""
    text, _, layer = item.replace("{dir}", str(folder)).partition("::")
    path = Path(text)
    files = [path]
    if path.suffix == ".shp":
        files += sorted(p for p in path.parent.glob(f"{path.stem}.*") if p != path)
    return [(p.name, p.read_bytes(), "application/octet-stream") for p in files], layer or None


def _run_case_in_app(case: dict, folder: Path):
    """Upload the case's files into the app the way a planner would; return the AppTest."""
    from streamlit.testing.v1 import AppTest

    args = case["args"]
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    # the catalogued texts are English: the app speaks it (tests/test_app_messages.py: Chinese)
    at.sidebar.radio(key="lang").set_value("en").run()
    at.radio(key="data_mode").set_value("upload").run()
    if "--source-crs" in args:
        at.selectbox(key="source_crs").set_value(args[args.index("--source-crs") + 1]).run()
    for flag, key in UPLOAD_KEYS.items():
        if flag not in args:
            continue
        files, layer = _upload_files(args[args.index(flag) + 1], folder)
        at.file_uploader(key=key).set_value(files)
        at.run()
        if layer is not None:
            at.selectbox(key=f"{key}_layer_0").set_value(layer).run()
    return at


def _shown_text(at) -> str:
    shown = [e.value for e in (*at.error, *at.warning, *at.info, *at.markdown, *at.caption)]
    shown += [df.value.to_string() for df in at.dataframe]
    return "\n".join(str(s) for s in shown)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_through_app(case, corpus, monkeypatch):
    """Upload each case's files into the app: no exception, and the expected message shown.

    Errors appear as one ``st.error`` line with the catalogued text; repairs, warnings and
    dropped features appear in the data-quality table, and the plan is drawn.
    """
    folder, _ = corpus
    if case["id"] in CLI_ONLY:
        pytest.skip(CLI_ONLY[case["id"]])
    if case.get("command", "plan") != "plan":
        pytest.skip(f"lianpian {case['command']} runs from the command line")
    for key, value in case.get("env", {}).items():
        monkeypatch.setenv(key, value)
    at = _run_case_in_app(case, folder)
    assert not at.exception, at.exception
    text = _shown_text(at)
    assert "Traceback" not in text
    errors = [str(e.value) for e in at.error]
    if case["outcome"] == "error":
        assert any(case["expect"] in e for e in errors), errors
        if case.get("file"):
            assert any(case["file"] in e for e in errors), errors
        return
    assert not errors, errors
    assert at.session_state["spec"][0][1] is not None  # the uploaded data were planned
    assert "/lianpian-upload-" in at.session_state["spec"][0][1]
    if case.get("expect"):
        # the app's data-quality tab: columns and levels labelled in the interface language
        from geo.app.text import section

        level = section("en", "quality_levels")[case["outcome"]]
        quality = next(
            df.value for df in at.dataframe if {"Level", "Note"} <= set(df.value.columns)
        )
        hits = quality.loc[
            (quality["Level"] == level) & quality["Note"].str.contains(case["expect"], regex=False)
        ]
        assert len(hits), quality.to_string()
    if "absent" in case:
        assert case["absent"] not in text


# --------------------------------------------------------------------------- GCJ-02 offset


@pytest.mark.realdata
def test_gcj02_offset_on_hangzhou():
    """Real OSM estates and roads agree; the same estates moved to GCJ-02 are ~520 m off."""
    import geopandas as gpd

    from geo.core.crs import detect_gcj02_offset, wgs84_to_gcj02

    from .conftest import shared_file

    estates = gpd.read_file(
        shared_file("hangzhou/osm_landuse_residential.gpkg"), layer="landuse", engine="pyogrio"
    )
    estates = estates.loc[estates["fclass"] == "residential"]
    roads = gpd.read_file(shared_file("hangzhou/osm_roads.gpkg"), layer="roads", engine="pyogrio")
    assert detect_gcj02_offset(estates, roads) is None
    found = detect_gcj02_offset(wgs84_to_gcj02(estates), roads)
    assert found is not None and found.hypothesis == "estates_gcj02"
    assert 300 <= found.offset_m <= 600
    assert found.crossing_shifted < 0.2 * found.crossing_as_is


def test_gcj02_offset_reference_in_gcj02():
    """A GCJ-02 road layer beside WGS-84 estates is named as the shifted one."""
    import geopandas as gpd

    from geo.core.crs import detect_gcj02_offset, wgs84_to_gcj02

    estates = gpd.read_file(BAD / "estates_wgs84.geojson", engine="pyogrio")
    roads = gpd.read_file(BAD / "gcj_roads_wgs84.geojson", engine="pyogrio")
    assert detect_gcj02_offset(estates, roads) is None
    found = detect_gcj02_offset(estates, wgs84_to_gcj02(roads))
    assert found is not None and found.hypothesis == "reference_gcj02"
    assert 300 <= found.offset_m <= 600


# --------------------------------------------------------------------------- no live formula


def test_no_live_formula_in_any_output(corpus, tmp_path, capsys):
    """Names starting ``= + - @`` (and ``$...$``) through every command: text in every XLSX/CSV.

    plan (with the review CSV), schedule, tables, export (XLSX, CSV, PNG with math text off),
    and the app's XLSX download writer (geo.io.write_xlsx).
    """
    folder, _ = corpus
    plan = tmp_path / "plan.gpkg"
    estates = ["--estates", str(folder / "formula_names.geojson")]
    estates += ["--survey", str(folder / "survey_ok.csv")]
    review = ["--plan", str(folder / "plan_table.csv"), "--plan-review", str(tmp_path / "r.csv")]
    assert main(["plan", *estates, *review, "--out", str(plan)]) == 0
    assert main(["schedule", str(plan), "--out", str(tmp_path / "schedule.xlsx")]) == 0
    assert main(["tables", "--plan", str(folder / "plan_table.csv"), "--out", str(tmp_path)]) == 0
    export = ["export", str(plan), "--all", "--jobs", "1", "--out", str(tmp_path / "pkg")]
    assert main(export) == 0, capsys.readouterr().err
    layers = io.read_results(plan)
    io.write_xlsx(tmp_path / "download.xlsx", {k: v for k, v in layers.items() if k != "adjacency"})
    written = {p.suffix for p in tmp_path.rglob("*")}
    assert {".xlsx", ".csv", ".png"} <= written
    assert not live_formulas(tmp_path)
    import openpyxl

    book = openpyxl.load_workbook(tmp_path / "download.xlsx")
    texts = {c.value for row in book["estates"].iter_rows() for c in row}
    assert '=HYPERLINK("http://example.invalid","点击")' in texts  # kept as typed, as text


def test_symlinked_out_stays_a_link(tmp_path, capsys):
    """A symlinked --out keeps being a link to the updated file, never silently replaced."""
    real = tmp_path / "real.gpkg"
    link = tmp_path / "link.gpkg"
    assert main(_plan_args(real)) == 0
    link.symlink_to(real)
    before = real.stat().st_mtime_ns
    assert main(_plan_args(link)) == 0
    assert link.is_symlink() and link.resolve() == real
    assert real.stat().st_mtime_ns >= before
    pyogrio.read_dataframe(link, layer="estates")


def test_failed_run_removes_what_it_wrote(corpus, tmp_path, monkeypatch, capsys):
    """--plan-review is written before the GeoPackage: a failing write removes it again."""
    folder, _ = corpus
    review = tmp_path / "review.csv"

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pyogrio, "write_dataframe", fail)
    argv = ["plan", "--estates", str(folder / "base_estates.geojson")]
    argv += ["--plan", str(folder / "plan_table.csv"), "--plan-review", str(review)]
    code = main([*argv, "--out", str(tmp_path / "plan.gpkg")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []
