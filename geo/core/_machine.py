"""Facts about the machine a run uses, work spread over its cores, and the collector.

Array work split over threads (:func:`in_threads`), one step run alongside the caller's
(:func:`alongside`), the cyclic garbage collector paused for steps that make many
short-lived objects (:func:`collector_paused`, shared by every thread of the process), and the
memory threads freed given back (:func:`release_free_memory`).

May import: the standard library and numpy only.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import itertools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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


#: The collector's pauses in progress, in any thread, and whether it ran before the first.
_pauses = {"count": 0, "was_enabled": False}
_pauses_lock = threading.Lock()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector inside the block (then leave it as it was).

    For steps that make many short-lived objects and no reference cycles (shapely geometries of
    every pair, graph dicts): each few hundred new objects the collector walks the young ones
    and, every so often, all the others (at 220,000 estates, hundreds of thousands of geometries
    and rows), which is work with nothing to free. Reference counting still frees every object
    as soon as it is unused; a cycle would wait for the collector's return.

    The collector is the process's, not a thread's: it stays paused while any thread is inside
    such a block (a step run :func:`alongside` another pauses it for both) and runs again when
    the last one leaves, if it ran when the first entered. Nested use keeps the outer state.
    """
    with _pauses_lock:
        if _pauses["count"] == 0:
            _pauses["was_enabled"] = gc.isenabled()
            gc.disable()
        _pauses["count"] += 1
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses["count"] -= 1
            if _pauses["count"] == 0 and _pauses["was_enabled"]:
                gc.enable()


def without_collector(func: Callable[P, R]) -> Callable[P, R]:
    """``func`` run inside :func:`collector_paused` (a decorator)."""

    @functools.wraps(func)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        with collector_paused():
            return func(*args, **kwargs)

    return paused


@contextlib.contextmanager
def alongside(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> Iterator[Future[R]]:
    """Run ``func(*args, **kwargs)`` in a thread while the block runs; yield its future.

    For a step whose inputs are ready before the caller's next steps, which it does not depend
    on, and whose result the caller takes later (``future.result()``). Where ``func`` spends its
    time in calls that release the GIL (shapely's GEOS functions, numpy), it runs on the core
    the caller leaves idle. ``func`` must not share mutable objects with the block.

    Errors surface as if the steps ran one after the other: an exception in ``func`` is raised
    by ``future.result()``, in the caller's thread, unchanged. Leaving the block waits for
    ``func`` to end, so no work outlives it; an exception of the block itself is raised after
    that wait (``func``'s result or error, never asked for, is dropped). On a single core
    (:func:`cores`), ``func`` runs at the start of the block instead, in this thread (threads
    would only take turns), and its future is already done.
    """
    if cores() < 2:
        done: Future[R] = Future()
        try:
            done.set_result(func(*args, **kwargs))
        except Exception as error:  # raised by done.result(), where the caller asks for it
            done.set_exception(error)
        yield done
        return
    with ThreadPoolExecutor(1, thread_name_prefix="lianpian-alongside") as pool:
        yield pool.submit(func, *args, **kwargs)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """The C library's ``malloc_trim`` (glibc), or None where it has none (macOS, Windows, musl)."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_memory() -> None:
    """Give the memory this process has freed back to the system, where the C library can.

    Each thread allocates from an arena of its own in the C library's heap, and what is freed
    there stays reserved to it: after a step run in threads (:func:`alongside`,
    :func:`in_threads`), the others cannot reuse it, and the process keeps it resident. glibc's
    ``malloc_trim(0)`` returns the free pages of every arena (issue 20: at 220,000 tiled
    estates, 26 ms after the adjacency, and 300 MB off the plan's peak resident memory).
    Elsewhere it does nothing. Never changes a value.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def flush_standard_streams() -> None:
    """Flush standard output and error, ignoring a stream that is closed, full or a broken pipe.

    Before the process is forked (the child would print again what was not yet written) or
    ended without Python's own finalisation (``os._exit``, which would drop it).
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # closed, full, a broken pipe, or an odd object
            stream.flush()
