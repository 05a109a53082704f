"""The package drawings: A3 landscape PDF and PNG, scale true on paper, labels that never overlap."""

from __future__ import annotations

import re
import warnings

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from PIL import Image

from geo.outputs import bundle, drawings, sheet
from tests.outputs.tender_plan import CRS, X0, Y0

A3_PT = (420 / 25.4 * 72, 297 / 25.4 * 72)  # 1190.55 x 841.89 pt


def test_pdf_is_a3_landscape(package):
    folder, _ = package
    raw = next(folder.glob("*.pdf")).read_bytes()
    assert raw.startswith(b"%PDF")
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", raw)
    assert box, "no MediaBox"
    assert float(box[1]) == pytest.approx(A3_PT[0], abs=0.5)
    assert float(box[2]) == pytest.approx(A3_PT[1], abs=0.5)


def test_png_is_the_a3_sheet_at_its_dpi(package):
    folder, _ = package
    with Image.open(next(folder.glob("*.png"))) as image:
        width, height = image.size
        dpi = image.info["dpi"][0]
    assert dpi == pytest.approx(60, abs=0.01)  # the fixture exports at 60 dpi for speed
    assert width == pytest.approx(420 / 25.4 * 60, abs=1.5)
    assert height == pytest.approx(297 / 25.4 * 60, abs=1.5)


def test_scale_is_standard_and_true_on_paper(layers):
    b = bundle._bundle(layers, "D0001")
    with drawings._drawing_rc([]) as font:
        fig, _, scale, _ = drawings.compose(b, layers, font)
    assert scale in sheet.SCALES
    ax = fig.axes[0]
    (x0, x1), width_in = ax.get_xlim(), ax.get_position().width * fig.get_figwidth()
    metres_per_mm = (x1 - x0) / (width_in * 25.4)
    assert metres_per_mm == pytest.approx(scale / 1000, rel=1e-6)
    texts = " ".join(t.get_text() for t in fig.texts)
    assert f"1:{scale}" in texts and "EPSG:4549" in texts


def _crowded_plan(layers, names: list[str | None]) -> bundle.PlanLayers:
    """A row of narrow 12 m estates, long names: labels must give way to numbers."""
    n = len(names)
    boxes = [shapely.box(X0 + i * 13, Y0, X0 + i * 13 + 12, Y0 + 60) for i in range(n)]
    estates = gpd.GeoDataFrame(
        {
            "estate_id": [f"W{i}" for i in range(n)],
            "name": names,
            "status": ["eligible"] * n,
            "district_id": ["DX"] * n,
            "households": [100] * n,
        },
        geometry=boxes,
        crs=CRS,
    )
    districts = gpd.GeoDataFrame(
        {"district_id": ["DX"], "estates": [n]},
        geometry=[shapely.union_all(boxes).buffer(0.6).buffer(-0.5)],
        crs=CRS,
    )
    sites = gpd.GeoDataFrame(
        {"name": ["站"], "district_id": ["DX"]},
        geometry=[shapely.Point(X0 + 6.5, Y0 + 30)],
        crs=CRS,
    )
    return bundle.PlanLayers(
        estates=estates,
        districts=districts,
        elderly_sites=sites,
        run_info=layers.run_info,
        roads=layers.roads,
        water=layers.water,
    )


def test_labels_do_not_overlap_each_other_or_sites(layers):
    names = ["很长很长的小区名称第一号楼院"] * 14 + [None, "$x$ 花园"]
    plan = _crowded_plan(layers, names)
    b = bundle._bundle(plan, "DX")
    with drawings._drawing_rc([]) as font:
        if font is None:
            pytest.skip("no CJK font installed")
        fig, canvas, _, key = drawings.compose(b, plan, font)
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    labels = [t for t in ax.texts if t.get_zorder() == 9]
    assert len(labels) == len(names)
    boxes = [t.get_window_extent(renderer) for t in labels]
    for i, a in enumerate(boxes):
        for c in boxes[i + 1 :]:
            assert not a.overlaps(c), (a, c)
    site = ax.transData.transform((X0 + 6.5, Y0 + 30))
    for box in boxes:
        assert not box.contains(*site)
    # crowded names fall back to their number; the unnamed estate is numbered, never its id
    shown = {t.get_text() for t in labels}
    assert "15" in shown and "W14" not in shown
    assert any(line.startswith("15 = 无名小区") for line in key)
    assert all(re.match(r"^\d+ = ", line) for line in key)
    assert "$x$ 花园" in shown or any("$x$ 花园" in line for line in key)  # dollars as text


def test_dollar_names_are_not_math(layers, tmp_path):
    plan = bundle.PlanLayers(**{**layers.__dict__})
    estates = plan.estates.copy()
    estates.loc[estates["estate_id"] == "E1", "name"] = "$\\frac{1}{0}$ 花园"
    plan.estates = estates
    b = bundle._bundle(plan, "D0001")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a math parse error would warn or raise
        drawings._write_drawings(b, tmp_path / "d.pdf", tmp_path / "d.png", plan, 30, [])
    assert (tmp_path / "d.pdf").stat().st_size > 0
    assert pd.notna(estates["name"]).all()


def test_context_from_recorded_files_and_missing_ones(plan_path, tmp_path):
    """Roads/water come from the files the plan recorded; a missing one is a warning, not an error."""
    from geo import io as geo_io
    from geo.outputs import export as ex
    from tests.outputs.tender_plan import plan_layers

    source = plan_layers()
    roads_file = tmp_path / "roads.gpkg"
    geo_io.write_layers(roads_file, {"roads": source["roads"]})
    info = source["run_info"].copy()
    info = pd.concat(
        [
            info,
            pd.DataFrame(
                {"key": ["source_roads", "source_barriers"], "value": ["roads.gpkg", "gone.gpkg"]}
            ),
        ],
        ignore_index=True,
    )
    plan = tmp_path / "plan.gpkg"
    layers = {k: v for k, v in source.items() if k not in ("roads", "water")}
    geo_io.write_layers(plan, {**layers, "run_info": info})
    read = ex.read_plan(plan)  # roads.gpkg is found next to the plan file
    assert (
        read.roads is not None and len(read.roads) == 1 and read.roads["name"].iloc[0] == "文一路"
    )
    assert read.water is None
    assert any("gone.gpkg" in w and "--water" in w for w in read.context_warnings)
    result = ex.export_packages(read, tmp_path / "out", options=ex.PackageOptions(dpi=30))
    assert any("gone.gpkg" in w for w in result.warnings)
    given = ex.read_plan(plan, roads=[str(roads_file)], water=[])
    assert given.roads is not None and given.water is None and not given.context_warnings
