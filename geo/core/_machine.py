"""Facts about the machine a run uses (one place for them), and how a step uses the interpreter."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def cores() -> int:
    """Cores this process may run on (its CPU affinity on Linux, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector inside the block (then leave it as it was).

    For steps that make many short-lived objects and no reference cycles (shapely geometries of
    every pair, graph dicts): each few hundred new objects the collector walks the young ones
    and, every so often, all the others (at 220,000 estates, hundreds of thousands of geometries
    and rows), which is work with nothing to free. Reference counting still frees every object
    as soon as it is unused; a cycle would wait for the collector's return. Nested use keeps
    the outer state.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def without_collector(func: Callable[P, R]) -> Callable[P, R]:
    """``func`` run inside :func:`collector_paused` (a decorator)."""

    @functools.wraps(func)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        with collector_paused():
            return func(*args, **kwargs)

    return paused
