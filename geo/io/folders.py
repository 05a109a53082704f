"""Folder outputs written whole: a staging folder swapped in for the target, stale ones removed.

A command that writes a folder (the export's tender packages) builds it in a staging folder
beside the target (``.NAME.lianpian-PID-XXXX``) and swaps it in whole when complete
(:func:`swapped_folder`): files of an earlier run that the new one does not write are gone, and
an interrupted run leaves the previous folder untouched. Staging folders of processes that no
longer run are removed by the next run (:func:`remove_stale_staging`). Worker processes call
:func:`exit_with_parent` so they stop when the main process dies.
May import: geo.core, geo.io.output_guard, geo.io.writers and the standard library.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from geo.core.errors import OutputError
from geo.core.messages import msg
from geo.io.output_guard import check_output
from geo.io.writers import _process_alive

_STAGING = ".lianpian-"
_OLD = ".lianpian-old-"


def _pid_of(name: str, marker: str) -> int | None:
    text = name.split(marker, 1)[1].split("-", 1)[0] if marker in name else ""
    return int(text) if text.isdigit() else None


def remove_stale_staging(target: str | Path) -> list[Path]:
    """Remove staging folders of ``target`` left by dead processes; return what was removed.

    A swap interrupted between its two renames left the previous folder as
    ``.NAME.lianpian-old-PID``: it is put back when ``target`` is missing.
    """
    target = Path(target)
    removed: list[Path] = []
    if not target.parent.is_dir():
        return removed
    for entry in target.parent.iterdir():
        if not entry.name.startswith(f".{target.name}."):
            continue
        marker = _OLD if _OLD in entry.name else _STAGING
        pid = _pid_of(entry.name, marker)
        if pid is None or _process_alive(pid) or not entry.is_dir():
            continue
        if marker == _OLD and not target.exists():
            entry.rename(target)  # the previous output, put back
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


@contextlib.contextmanager
def swapped_folder(target: str | Path, *, marker: str) -> Iterator[Path]:
    """Yield a fresh staging folder; on success it replaces ``target`` whole.

    Parameters
    ----------
    target
        The output folder (created if missing).
    marker
        A file every earlier output of this kind has (the export's ``index.gpkg``): an existing,
        non-empty ``target`` without it holds someone's files and is refused, never replaced.

    Raises
    ------
    OutputError
        If ``target`` is (or holds) an input of the run, is a file, or is a non-empty folder
        that is not an earlier output.
    """
    link = Path(target)
    real = check_output(link, folder=True)
    if real.is_dir() and any(real.iterdir()) and not (real / marker).exists():
        raise OutputError(
            msg(
                "the output folder already holds other files (no {marker} of an earlier export): "
                "it would be replaced",
                marker=marker,
            ),
            source=str(link),
            fix="write to a new or empty folder",
        )
    real.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(real)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{real.name}{_STAGING}{os.getpid()}-", dir=real.parent)
    )
    try:
        yield staging
        old = real.with_name(f".{real.name}{_OLD}{os.getpid()}-{time.time_ns()}")
        try:
            if real.exists():
                real.rename(old)
            staging.rename(real)
        except OSError:  # a mount point or a folder that cannot move: swap its content instead
            if old.exists() and not real.exists():
                old.rename(real)
            _swap_content(staging, real)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap_content(staging: Path, target: Path) -> None:
    """Replace the entries of ``target`` (an earlier output, checked) by those of ``staging``."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in list(target.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for entry in list(staging.iterdir()):
        entry.rename(target / entry.name)


def exit_with_parent() -> None:
    """Make this (worker) process stop when the process that started it dies.

    On Linux the kernel sends SIGTERM (``PR_SET_PDEATHSIG``); elsewhere, and as a fallback, a
    daemon thread checks every second whether the parent changed and exits. Call it first thing
    in a worker (a ``ProcessPoolExecutor`` initializer).
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="lianpian-exit-with-parent", daemon=True).start()
