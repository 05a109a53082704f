"""Facts about the machine a run uses, and array work spread over its cores (one place for them)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def cores() -> int:
    """Cores this process may run on (its CPU affinity on Linux, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def in_threads(
    func: Callable[..., np.ndarray], *arrays: np.ndarray, min_per_thread: int = 2000
) -> np.ndarray:
    """Return ``func(*arrays)`` computed in chunks on all cores (:func:`cores`).

    ``func`` is an element-wise vectorised shapely function of equal-length arrays (each result
    element depends on the same elements of the inputs only); GEOS releases the GIL, so threads
    run in parallel and the result is the same array as one call gives. Fewer than
    ``min_per_thread`` elements per core: one call, in this thread.
    """
    n = len(arrays[0])
    workers = min(cores(), n // max(1, min_per_thread))
    if workers <= 1:
        return func(*arrays)
    cuts = np.linspace(0, n, 4 * workers + 1).astype(int)
    with ThreadPoolExecutor(workers) as pool:
        parts = list(
            pool.map(lambda c: func(*(a[c[0] : c[1]] for a in arrays)), itertools.pairwise(cuts))
        )
    return np.concatenate(parts)
