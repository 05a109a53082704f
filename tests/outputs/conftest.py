"""Fixtures of the tender-package tests: the small plan (tests/outputs/tender_plan.py) exported once."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo import io as geo_io
from geo.outputs import export as ex
from tests.outputs.tender_plan import plan_layers


@pytest.fixture(scope="session")
def plan_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "results.gpkg"
    geo_io.write_layers(path, plan_layers())
    return path


@pytest.fixture(scope="session")
def layers(plan_path) -> ex.PlanLayers:
    return ex.read_plan(plan_path)


@pytest.fixture(scope="session", params=["utf-8", "gbk"])
def package(request, layers, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp(f"out-{request.param}")
    ex.export_packages(layers, out, options=ex.PackageOptions(encoding=request.param, dpi=60))
    folder = out / "D0001_=cmd_' _C calc'_A0"
    assert folder.is_dir(), sorted(p.name for p in out.iterdir())
    return folder, request.param
