"""plan_corridors' ``meanwhile``: the caller's step started once the districts are being planned.

``lianpian plan`` writes the estates layer there (issue 20): after the corridors' preparation, and
after the worker processes are forked. Called once, whatever the path (workers, this process, the
memo, one core); its error is raised; the plan is the one made without it.
"""

from __future__ import annotations

import multiprocessing
import os

import pandas as pd
import pytest

import geo.core._machine
import geo.facilities.corridors as corridors
from geo.core import _memo
from geo.facilities.corridors import plan_corridors
from tests.facilities.test_corridors import _district_run, _street, estate_rows


@pytest.fixture
def eight(policy):
    """Eight districts (rows of three estates, 1 km apart) and a street along them."""
    estates, districts, edges = _district_run(estate_rows(8, 1000), policy)
    assert len(districts) == 8
    return estates, districts, edges, policy, _street(-20, -100, -20, 8000)


@pytest.fixture
def two_workers(monkeypatch):
    """Eight districts are enough for two worker processes."""
    monkeypatch.setattr(corridors, "MIN_DISTRICTS_PER_WORKER", 2)
    monkeypatch.setattr(corridors, "_CHUNK_DISTRICTS", 2)


def _same(one, two) -> None:
    for name in ("segments", "districts", "utilities"):
        pd.testing.assert_frame_equal(
            pd.DataFrame(getattr(one, name)), pd.DataFrame(getattr(two, name)), check_exact=True
        )


def test_with_workers_it_runs_once_here_after_they_are_forked(eight, two_workers):
    estates, districts, edges, policy, roads = eight
    calls = []

    def meanwhile():
        calls.append((os.getpid(), len(multiprocessing.active_children())))
        return "dropped"

    plain = plan_corridors(estates, districts, edges, policy, roads=roads, workers=2)
    plan = plan_corridors(
        estates, districts, edges, policy, roads=roads, workers=2, meanwhile=meanwhile
    )
    assert calls == [(os.getpid(), 2)]  # in this process, the two workers already started
    _same(plain, plan)


def test_in_this_process_it_runs_after_the_preparation_before_the_first_district(
    eight, monkeypatch
):
    estates, districts, edges, policy, roads = eight
    events = []
    for name in ("_district_tasks", "_plan_batch"):
        step = getattr(corridors, name)

        def recorded(*args, _step=step, _name=name, **kwargs):
            events.append(_name)
            return _step(*args, **kwargs)

        monkeypatch.setattr(corridors, name, recorded)
    plain = plan_corridors(estates, districts, edges, policy, roads=roads)
    events.clear()
    plan = plan_corridors(
        estates, districts, edges, policy, roads=roads, meanwhile=lambda: events.append("caller")
    )
    assert events == ["_district_tasks", "caller", "_plan_batch"]
    _same(plain, plan)


def test_on_one_core_it_runs_once(eight, monkeypatch):
    estates, districts, edges, policy, roads = eight
    monkeypatch.setattr(geo.core._machine, "cores", lambda: 1)  # buffers ahead in this thread
    calls = []
    plain = plan_corridors(estates, districts, edges, policy, roads=roads)
    plan = plan_corridors(
        estates, districts, edges, policy, roads=roads, meanwhile=lambda: calls.append(1)
    )
    assert calls == [1]
    _same(plain, plan)


def test_it_runs_when_every_district_comes_from_the_memo(eight):
    estates, districts, edges, policy, roads = eight
    was = _memo.enabled()
    _memo.enable()
    try:
        corridors._MEMO.clear()
        first = plan_corridors(estates, districts, edges, policy, roads=roads)
        calls = []
        again = plan_corridors(
            estates, districts, edges, policy, roads=roads, meanwhile=lambda: calls.append(1)
        )
    finally:
        _memo.enable(was)
        corridors._MEMO.clear()
    assert calls == [1]
    _same(first, again)


@pytest.mark.parametrize("workers", [1, 2])
def test_its_error_is_raised_and_no_worker_is_left(eight, two_workers, workers):
    estates, districts, edges, policy, roads = eight

    def meanwhile():
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        plan_corridors(
            estates, districts, edges, policy, roads=roads, workers=workers, meanwhile=meanwhile
        )
    assert multiprocessing.active_children() == []
    assert corridors._FORK_STATE is None
