"""A step run alongside the caller's (geo.core._machine.alongside) and the shared collector pause."""

from __future__ import annotations

import gc
import threading

import pytest

from geo.core import _machine
from geo.core._machine import alongside, collector_paused


@pytest.fixture(params=[2, 1], ids=["two cores", "one core"])
def machine_cores(request, monkeypatch):
    monkeypatch.setattr(_machine, "cores", lambda: request.param)
    return request.param


def test_the_result_comes_back_to_the_caller(machine_cores):
    with alongside(sum, [1, 2, 3], start=10) as future:
        mine = 4 * 5
    assert (future.result(), mine) == (16, 20)


def test_the_steps_own_error_is_raised_by_result_in_the_caller(machine_cores):
    def fail() -> None:
        raise ValueError("no estate_id")

    with alongside(fail) as future:
        pass  # the block itself runs on
    with pytest.raises(ValueError, match="no estate_id"):
        future.result()


def test_the_blocks_error_wins_and_the_step_has_ended_when_it_is_raised(machine_cores):
    ended = threading.Event()

    def step() -> None:
        ended.wait(0.2)
        ended.set()
        raise ValueError("the step's")

    with pytest.raises(KeyError, match="the block's"), alongside(step):
        raise KeyError("the block's")
    assert ended.is_set()  # leaving the block waited for the step


def test_the_step_runs_in_another_thread_on_two_cores_and_first_on_one(machine_cores):
    order: list[str] = []
    with alongside(lambda: order.append(threading.current_thread().name)) as future:
        future.result()
        order.append("block, after the result")
    if machine_cores == 1:
        assert order == [threading.current_thread().name, "block, after the result"]
    else:
        assert order[0].startswith("lianpian-alongside")


def test_the_collector_stays_paused_while_any_thread_is_inside_a_pause():
    assert gc.isenabled()
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with collector_paused():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    with collector_paused():
        thread.start()
        inside.wait(5)
    assert not gc.isenabled()  # this thread left, the other is still inside
    leave.set()
    thread.join()
    assert gc.isenabled()


def test_a_pause_keeps_a_collector_that_was_off_off():
    gc.disable()
    try:
        with collector_paused(), collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_free_memory_is_given_back_through_the_c_library_where_it_can(monkeypatch):
    asked: list[int] = []
    monkeypatch.setattr(_machine, "_malloc_trim", lambda: asked.append)
    _machine.release_free_memory()
    assert asked == [0]  # malloc_trim(0): every arena, no pad kept
    monkeypatch.setattr(_machine, "_malloc_trim", lambda: None)  # no such function here
    _machine.release_free_memory()
    assert asked == [0]
