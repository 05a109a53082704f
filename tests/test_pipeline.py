"""The end-to-end planning run through the CLI: demo data, and the real Hangzhou data."""

import os
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import pyogrio
import pytest
import shapely

from geo.cli import main, run
from geo.core.policy import load_policy
from geo.pipeline import load_inputs, run_plan

from .conftest import shared_file


def _summary_counts(text: str) -> dict[str, int]:
    counts = {s: int(n) for s, n in re.findall(r"^\s+(\w+)\s+(\d+)\s", text, re.M)}
    m = re.search(r"districts: (\d+) \((\d+) estates, (\d+) households\)", text)
    counts |= {"districts": int(m[1]), "in_districts": int(m[2]), "households": int(m[3])}
    return counts


def check_output(path, printed: str, policy, *, water=None, roads=None):
    """The acceptance checks of the planning run on a written GeoPackage."""
    estates = gpd.read_file(path, layer="estates")
    districts = gpd.read_file(path, layer="districts")
    adjacency = gpd.read_file(path, layer="adjacency")
    counts = _summary_counts(printed)
    for status in ("eligible", "extension", "ineligible", "excluded", "needs_survey"):
        assert counts[status] == int((estates["status"] == status).sum())
    assert counts["districts"] == len(districts)
    assert counts["in_districts"] == int(estates["district_id"].notna().sum())
    assert counts["households"] == int(districts["households"].sum())
    graph = nx.Graph()
    open_edges = adjacency.loc[~adjacency["blocked"].astype(bool)]
    graph.add_edges_from(
        zip(open_edges["source_id"].astype(str), open_edges["target_id"].astype(str), strict=True)
    )
    by_id = estates.set_index(estates["estate_id"].astype(str))
    caps = policy.districts
    barrier_roads = None
    if roads is not None:
        barrier_roads = roads.loc[roads["fclass"].isin(policy.adjacency.barrier_road_classes)]
        barrier_roads = barrier_roads.to_crs(estates.crs).geometry.to_numpy()
    water_geoms = water.to_crs(estates.crs).geometry.to_numpy() if water is not None else None
    for _, d in districts.iterrows():
        ids = d["members"].split(",")
        assert set(by_id.loc[ids, "district_id"]) == {d["district_id"]}
        assert set(by_id.loc[ids, "status"]) <= {"eligible", "extension"}
        assert nx.is_connected(graph.subgraph(ids)), d["district_id"]
        assert d["households"] <= caps.max_households and d["estates"] <= caps.max_estates
        gaps = [
            shapely.shortest_line(by_id.loc[a, "geometry"], by_id.loc[b, "geometry"])
            for a, b in graph.subgraph(ids).edges()
        ]
        gaps = [g for g in gaps if g.length > 0.01]
        if water_geoms is not None and gaps:
            tree = shapely.STRtree(water_geoms)
            gi, wi = tree.query(gaps, predicate="intersects")
            crossing = (
                shapely.length(shapely.intersection([gaps[i] for i in gi], water_geoms[wi]))
                if len(gi)
                else []
            )
            assert all(c < policy.adjacency.min_barrier_crossing_m for c in crossing)
        if barrier_roads is not None and gaps:
            tree = shapely.STRtree(barrier_roads)
            assert len(tree.query(gaps, predicate="intersects")[0]) == 0, d["district_id"]
    return estates, districts


def test_demo_run(tmp_path, capsys):
    out = tmp_path / "demo.gpkg"
    assert main(["plan", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "SYNTHETIC" in printed
    names = [n for n, _ in pyogrio.list_layers(out)]
    assert {"estates", "districts", "adjacency", "quality"} <= set(names)
    estates, districts = check_output(out, printed, load_policy())
    assert len(districts) >= 2
    assert estates["street"].notna().all()  # units from the demo boundaries


def test_the_console_script_ends_after_a_plan_without_freeing_it(tmp_path, capsys):
    """``python -m geo.cli plan`` (geo.cli.run): the same file and summary as main(), exit 0."""
    ours = tmp_path / "ours.gpkg"
    done = subprocess.run(
        [sys.executable, "-m", "geo.cli", "plan", "--out", str(tmp_path / "script.gpkg")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert main(["plan", "--out", str(ours)]) == 0
    # everything printed reached the pipe before the process ended (flushed), the file is whole
    assert done.stdout.rstrip().splitlines()[-1].startswith("written: ")
    assert _summary_counts(done.stdout) == _summary_counts(capsys.readouterr().out)
    assert (
        pyogrio.list_layers(tmp_path / "script.gpkg").tolist() == pyogrio.list_layers(ours).tolist()
    )
    for layer in ("estates", "districts", "corridors"):
        a = gpd.read_file(ours, layer=layer)
        b = gpd.read_file(tmp_path / "script.gpkg", layer=layer)
        pd.testing.assert_frame_equal(a, b)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_summary_that_cannot_be_printed_keeps_the_plan(tmp_path):
    """Standard output on a full device: one line on stderr, exit 2, the written plan kept."""
    out = tmp_path / "plan.gpkg"
    with Path("/dev/full").open("w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "geo.cli", "plan", "--out", str(out)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
            timeout=300,
        )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "summary could not be printed" in done.stderr
    assert "Traceback" not in done.stderr
    assert "estates" in pyogrio.list_layers(out)[:, 0]


def test_the_console_script_exits_as_usual_when_nothing_was_kept(tmp_path, capsys):
    """A failed plan keeps nothing: ``sys.exit`` with its code, after ``when_done`` saw it."""
    seen = []
    out = tmp_path / "x.gpkg"
    with pytest.raises(SystemExit) as exited:
        run(["plan", "--estates", str(tmp_path / "missing.gpkg"), "--out", str(out)],
            when_done=seen.append)  # fmt: skip
    assert exited.value.code == 2 and seen == [2]
    assert "file not found" in capsys.readouterr().err
    assert not out.exists()


def test_the_summary_follows_the_interface_language(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LIANPIAN_LANG", "zh")
    out = tmp_path / "demo.gpkg"
    assert main(["plan", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    result = run_plan(load_inputs(), load_policy())
    s = result.summary()
    assert f"小区：{s['estates']} 个" in printed
    assert f"片区：{s['districts']} 个（{s['estates_in_districts']} 个小区" in printed
    # one status line per status, its count in the same column (a Chinese word is 2 columns wide)
    status_lines = [line for line in printed.splitlines() if line.startswith("  ")]
    assert len(status_lines) == len(s["by_status"])
    assert {
        len(line.rstrip()) + sum(1 for ch in line if ord(ch) > 0x2E7F) for line in status_lines
    } == {20}
    assert "estates:" not in printed and "written:" not in printed
    assert "已写出：" in printed


def test_policy_change_changes_the_run():
    inputs = load_inputs()
    base = run_plan(inputs, load_policy())
    strict = run_plan(
        inputs,
        load_policy().with_values(
            {"eligibility.cutoff_year": 1990, "eligibility.extension_enabled": False}
        ),
    )
    assert strict.summary()["by_status"]["eligible"] < base.summary()["by_status"]["eligible"]


def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "x.gpkg"
    code = main(["plan", "--estates", str(tmp_path / "missing.gpkg"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "file not found" in err
    assert not out.exists()


def test_bad_policy_exits_2(tmp_path, capsys):
    bad = tmp_path / "p.toml"
    bad.write_text("[districts]\nmax_estates = 0\n", "utf-8")
    assert main(["plan", "--policy", str(bad), "--out", str(tmp_path / "o.gpkg")]) == 2
    assert "districts.max_estates" in capsys.readouterr().err


@pytest.mark.realdata
@pytest.mark.parametrize("with_roads", [False, True], ids=["water", "water+roads"])
def test_hangzhou_acceptance(tmp_path, capsys, with_roads):
    estates = shared_file("hangzhou/osm_landuse_residential.gpkg")
    survey = shared_file("hangzhou/survey_illustrative.csv")
    water = shared_file("hangzhou/osm_water.gpkg")
    out = tmp_path / "hz.gpkg"
    args = [
        "plan",
        "--estates",
        str(estates),
        "--survey",
        str(survey),
        "--barriers",
        str(water),
        "--out",
        str(out),
    ]
    roads = None
    if with_roads:
        roads_path = shared_file("hangzhou/osm_roads.gpkg")
        args += ["--roads", str(roads_path)]
        roads = gpd.read_file(roads_path)
    assert main(args) == 0
    printed = capsys.readouterr().out
    result_estates, districts = check_output(
        out, printed, load_policy(), water=gpd.read_file(water), roads=roads
    )
    assert len(result_estates) == 2112
    assert len(districts) > 50


def test_user_column_mapping(tmp_path, capsys):
    src = gpd.read_file(load_inputs().sources["estates"], layer="estates")
    renamed = src.rename(columns={"小区名称": "楼盘", "建成年代": "year built"})
    path = tmp_path / "renamed.gpkg"
    renamed.to_file(path, engine="pyogrio")
    out = tmp_path / "o.gpkg"
    args = [
        "plan",
        "--estates",
        str(path),
        "--column",
        "楼盘=name",
        "--column",
        "year built=build_year",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    estates = gpd.read_file(out, layer="estates")
    assert estates["name"].tolist() == src["小区名称"].tolist()
    assert estates["build_year_raw"].fillna("").tolist() == src["建成年代"].fillna("").tolist()
    assert main(["plan", "--column", "nonsense", "--out", str(out)]) == 2


def test_rescore_equals_a_full_run_under_new_weights():
    from geo.core.policy import default_policy
    from geo.pipeline import rescore

    inputs = load_inputs()
    base = run_plan(inputs)
    weights = {"priority.weight_age": 0.05, "priority.weight_contiguity": 0.9}
    policy = default_policy().with_values(weights)
    full = run_plan(inputs, policy)
    quick = rescore(base, policy)
    assert quick.policy == policy
    pd.testing.assert_frame_equal(
        pd.DataFrame(quick.estates.drop(columns="geometry")),
        pd.DataFrame(full.estates.drop(columns="geometry")),
    )
    pd.testing.assert_frame_equal(
        pd.DataFrame(quick.districts.drop(columns="geometry")),
        pd.DataFrame(full.districts.drop(columns="geometry")),
    )
    assert not quick.districts["priority_rank"].equals(base.districts["priority_rank"]) or not (
        quick.estates["priority_score"].equals(base.estates["priority_score"])
    )
    assert base.policy != policy  # the base result is untouched
    with pytest.raises(ValueError, match="eligibility"):
        rescore(base, default_policy().with_values({"eligibility.cutoff_year": 1995}))


def test_memoised_replan_equals_a_fresh_run():
    """With the app's memos on, a re-plan after a policy change (adjacency, prepared corridor
    layers, walking network and its distances, unchanged districts' corridors reused) gives the
    same layers as a run without memos."""
    from geo.core import _memo
    from geo.core.policy import default_policy
    from geo.facilities import corridors, elderly

    inputs = load_inputs()  # the demo town: water, roads, elderly-care facilities
    changed = default_policy().with_values({"eligibility.cutoff_year": 1995})
    was = _memo.enabled()
    try:
        _memo.enable()
        run_plan(inputs)
        assert len(corridors._CONTEXTS) and len(elderly._NETWORKS)
        network = next(iter(elderly._NETWORKS._data.values()))
        assert len(network._asked)  # distances kept for the re-plan
        memoised = run_plan(inputs, changed)
        _memo.enable(False)
        fresh = run_plan(inputs, changed)
    finally:
        _memo.enable(was)
    layers, expected = memoised.layers(), fresh.layers()
    assert layers.keys() == expected.keys()
    for name, frame in expected.items():
        if name == "run_info":
            continue
        got, want = pd.DataFrame(layers[name]), pd.DataFrame(frame)
        if name == "elderly_summary":  # the solver's time differs from run to run
            got, want = (f.loc[f["figure"] != "siting_seconds"] for f in (got, want))
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=name)
