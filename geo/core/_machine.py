"""Facts about the machine a run uses, array work spread over its cores, and the collector."""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

import numpy as np

P = ParamSpec("P")
R = TypeVar("R")


def cores() -> int:
    """Cores this process may run on (its CPU affinity on Linux, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def in_threads(
    func: Callable[..., np.ndarray], *arrays: np.ndarray, min_per_thread: int
) -> np.ndarray:
    """Return ``func(*arrays)`` computed in chunks (along the first axis) on all cores.

    ``func`` is an element-wise (or row-wise) vectorised function of equal-length arrays that
    releases the GIL (shapely's GEOS functions do), so threads run in parallel and the result
    is the same array as one call gives. At least ``min_per_thread`` rows go to a thread
    (fewer: one call, no thread).
    """
    n = len(arrays[0])
    workers = min(cores(), n // min_per_thread)
    if workers <= 1:
        return func(*arrays)
    cuts = np.linspace(0, n, 4 * workers + 1).astype(int)
    with ThreadPoolExecutor(workers) as pool:
        parts = list(
            pool.map(lambda c: func(*(a[c[0] : c[1]] for a in arrays)), itertools.pairwise(cuts))
        )
    return np.concatenate(parts)


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
