"""Memos keyed by content, for steps the app repeats with the same data after a policy change.

Streamlit re-runs the plan after every policy change, and much of it comes back unchanged: the
corridors of districts whose members did not change, the walking network of the same roads. A
:class:`Memo` keeps such results in the process, keyed by a digest of everything the result
depends on (geometry as WKB, settings as text), never by object identity, so a hit is always the
value a fresh computation would return. Bounded (least recently used out) and thread-safe
(Streamlit serves sessions from threads). Off unless :func:`enable` is called: a single run (the
CLI, a benchmark, a dask worker) would only pay for the keys and hold the memory.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Generic, TypeVar

import geopandas as gpd
import pandas as pd
import shapely

T = TypeVar("T")

_enabled = False


def enable(on: bool = True) -> None:
    """Turn the memos of this process on (the app does; a one-off CLI run gains nothing)."""
    global _enabled
    _enabled = on


def enabled() -> bool:
    """Whether memos are on; callers skip computing keys when they are off."""
    return _enabled


class Memo(Generic[T]):
    """A bounded, thread-safe mapping from content digests (bytes) to results."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[bytes, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes) -> T | None:
        """Return the result stored under ``key``, or None (always None when memos are off)."""
        if not _enabled:
            return None
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
            return found

    def put(self, key: bytes, value: T) -> None:
        """Store ``value`` under ``key``, dropping the least recently used beyond the size."""
        if not _enabled:
            return
        with self._lock:
            self._data[key] = value
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def digest(*parts: object, layers: Iterable[gpd.GeoDataFrame | None] = (), columns=()) -> bytes:
    """A 20-byte digest of ``parts`` (as text or bytes) and of ``layers`` by value.

    A layer counts by its CRS, its geometry (WKB) and the values of those of ``columns`` it has.
    """
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        h.update(part if isinstance(part, bytes) else repr(part).encode("utf-8"))
        h.update(b"\x1f")
    for layer in layers:
        if layer is None or not len(layer):
            h.update(b"\x00empty")
            continue
        h.update(str(layer.crs).encode())
        h.update(b"".join(shapely.to_wkb(layer.geometry.to_numpy())))
        for column in columns:
            if column in layer:
                h.update(column.encode())
                h.update(
                    pd.util.hash_pandas_object(layer[column], index=False).to_numpy().tobytes()
                )
    return h.digest()
