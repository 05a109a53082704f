"""Writing outputs atomically: GeoPackage layers, XLSX and CSV tables, stale temporary files.

Every output goes through :func:`atomic_path` (temporary beside the target, fsync, rename).
May import: geo.core, geo.io.safe_text, geopandas, pandas, pyogrio, openpyxl.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from geo.core._machine import flush_standard_streams
from geo.core.errors import OutputError
from geo.core.messages import msg
from geo.io.output_guard import check_output, note_created
from geo.io.safe_text import neutralise_csv, neutralise_workbook

#: errno values of an output that cannot be written, with the fix to name.
_WRITE_ERRORS = {
    errno.ENOSPC: msg("free disk space, or write to another disk"),
    errno.EDQUOT: msg("free disk space (quota), or write to another disk"),
    errno.EROFS: msg("the disk is read-only: write to another folder"),
    errno.EACCES: msg("choose a folder you may write to"),
    errno.EPERM: msg("choose a folder you may write to"),
    errno.EISDIR: msg("give a file name, not a folder"),
    errno.ENOTDIR: msg("a part of the path is a file, not a folder: choose another path"),
    errno.ENAMETOOLONG: msg("choose a shorter file name"),
}


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it over ``target``.

    On any error (or interruption) the temporary file is removed and ``target`` is untouched, so
    a reader sees either the previous file or the complete new one, never a half-written one.
    The temporary name carries the process id (``.NAME.PID.XXXX.tmp.gpkg``); temporary files left
    by a process that was killed (``kill -9``, power cut) are removed by the next write of the
    same target. The new file is flushed to disk (``fsync``) before the rename.

    ``target`` is first checked by :func:`geo.io.output_guard.check_output` (never an input of the
    run, never a folder). A symbolic link as ``target`` stays a link: the file it points to is
    replaced.

    Raises
    ------
    OutputError
        If the guard refuses ``target``, or the disk is full, read-only or not writable (one
        line naming the path and the fix, instead of an OSError).
    """
    link = Path(target)
    target = _real_target(link)
    try:
        tmp_path = _temporary_beside(target)
        created = not target.exists()
        try:
            yield tmp_path
            if tmp_path.exists():
                with tmp_path.open("rb+") as handle:
                    os.fsync(handle.fileno())
            tmp_path.replace(target)
        finally:
            _remove_with_side_files(tmp_path)
    except OSError as exc:
        if exc.errno in _WRITE_ERRORS:
            raise OutputError(
                msg("cannot write the output ({or_exc})", or_exc=exc.strerror or exc),
                source=str(link),
                fix=_WRITE_ERRORS[exc.errno],
            ) from exc
        raise
    except Exception as exc:  # GDAL reports a full disk in its own words ("no such table" ...)
        if "No space left on device" in str(exc) or _disk_full(target.parent):
            raise OutputError(
                "cannot write the output (no space left on the device)",
                source=str(link),
                fix=_WRITE_ERRORS[errno.ENOSPC],
            ) from exc
        raise
    if created:
        note_created(target)


def _real_target(link: Path) -> Path:
    """``link`` checked by the output guard; the file it points to when it is a symbolic link."""
    real = check_output(link)
    return real if link.is_symlink() else link


def _temporary_beside(target: Path) -> Path:
    """A new temporary name beside ``target`` (not created: GDAL wants to create the file itself).

    Named ``.NAME.PID.XXXX.tmp.SUFFIX`` so that :func:`remove_stale_temporaries` finds it once its
    process is gone; the folder is created, and stale temporaries of ``target`` removed, first.

    Raises
    ------
    OSError
        If the folder cannot be created or written.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.stem}.{os.getpid()}.", suffix=f".tmp{target.suffix}", dir=target.parent
    )
    os.close(fd)
    Path(tmp).unlink()
    return Path(tmp)


def _remove_with_side_files(path: Path) -> None:
    """Remove ``path`` and what SQLite kept beside it (``-journal``, ``-wal``, ``-shm``), if there."""
    for leftover in path.parent.glob(f"{glob.escape(path.name)}*"):
        leftover.unlink(missing_ok=True)


def _disk_full(folder: Path) -> bool:
    """True if the disk of ``folder`` has less than 1 MB left for this user."""
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs on Windows
        return False
    return stats.f_bavail * stats.f_frsize < 1 << 20


def remove_stale_temporaries(target: str | Path) -> list[Path]:
    """Remove the temporary files of ``target`` left by processes that no longer run.

    Returns the paths removed. Files of a process that is still running are kept.
    """
    target = Path(target)
    removed = []
    for candidate in target.parent.glob(f".{target.stem}.*.tmp{target.suffix}*"):
        pid_text = candidate.name[len(target.stem) + 2 :].split(".", 1)[0]
        if not pid_text.isdigit() or _process_alive(int(pid_text)):
            continue
        candidate.unlink(missing_ok=True)
        removed.append(candidate)
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def write_layers(target: str | Path, layers: Mapping[str, pd.DataFrame]) -> Path:
    """Write layers (GeoDataFrames) and tables (DataFrames) to one GeoPackage, atomically.

    Each GeoDataFrame keeps its CRS (stated in the GeoPackage). Columns of pandas extension
    types are written as their plain equivalents. Returns the target path.
    """
    with GeoPackageWriter(target) as out:
        return out.write(layers)


class GeoPackageWriter:
    """One GeoPackage written atomically like :func:`write_layers`, its first layers ahead of the rest.

    :meth:`write_ahead` starts writing a layer as soon as the run has it final, while the run goes
    on: ``lianpian plan`` writes the estates layer, the largest, while the corridors are planned
    (issue 20). Where processes can be forked (Linux, macOS), the layer is written by a forked
    process of its own (:func:`_forked`): GDAL's Arrow writer holds Python's lock for
    the whole layer, which in a thread stalled the run (the corridors' worker processes waited
    for this process to take their results). :meth:`write` then writes the other layers after it and puts the file
    in place, atomically. The file is the one :func:`write_layers` makes of the same layers: the
    layers written ahead must be the first ones of :meth:`write`'s, the same frames (not modified
    since); otherwise they are written again in their place. Leaving the ``with`` block without
    :meth:`write` (the run failed) removes what was written ahead; the target is untouched.

    Examples
    --------
    >>> with GeoPackageWriter("plan.gpkg") as out:  # doctest: +SKIP
    ...     result = run_plan(inputs, layer_ready=out.write_ahead)
    ...     out.write(result.layers())
    """

    def __init__(self, target: str | Path) -> None:
        self.target = Path(target)
        self._file: Path | None = None
        self._ahead: list[tuple[str, pd.DataFrame, Future[None]]] = []
        self._thread: ThreadPoolExecutor | None = None

    def __enter__(self) -> GeoPackageWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._settle()
        self._discard()

    def write_ahead(self, name: str, frame: pd.DataFrame) -> None:
        """Start writing ``frame`` as layer ``name`` (after the layers started before).

        ``frame`` must not be modified until :meth:`write`. Errors in writing (a full disk) are
        raised by :meth:`write`; a temporary file that cannot be made beside the target leaves
        every layer to :meth:`write`, which then raises the :class:`~geo.core.errors.OutputError`.

        Raises
        ------
        OutputError
            If the output guard refuses the target (:func:`geo.io.output_guard.check_output`).
        """
        if self._thread is None:
            target = _real_target(self.target)
            try:
                self._file = _temporary_beside(target)
            except OSError:
                return
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="lianpian-write-ahead")
        assert self._file is not None
        forked = _forked(_write_unsynced, frame, self._file, name)
        if forked is not None:
            task = self._thread.submit(forked)
        else:
            task = self._thread.submit(_write_unsynced, frame, self._file, name)
        self._ahead.append((name, frame, task))

    def write(self, layers: Mapping[str, pd.DataFrame]) -> Path:
        """Write ``layers`` (those written ahead are kept) and put the file in place; the target.

        Raises
        ------
        OutputError
            As :func:`atomic_path` (the guard, a full, read-only or unwritable disk), also for a
            layer written ahead.
        """
        with atomic_path(self.target) as tmp:
            for _, _, task in self._ahead:
                task.result()
            self._settle()
            names = list(layers)
            kept = [name for name, _, _ in self._ahead]
            same = all(layers.get(n) is f for n, f, _ in self._ahead)
            if self._file is not None and names[: len(kept)] == kept and same:
                self._file.replace(tmp)
                self._file, names = None, names[len(kept) :]
            with _sqlite_unsynced():
                for name in names:
                    _write_layer(layers[name], tmp, name)
        self._discard()
        return self.target

    def _settle(self) -> None:
        """Wait for the thread (its errors are raised by :meth:`write`, if it is called)."""
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None

    def _discard(self) -> None:
        """Remove the file written ahead, if it was not put in place."""
        if self._file is not None:
            _remove_with_side_files(self._file)
            self._file = None
        self._ahead = []


def _forked(func: Callable[..., None], *args: object) -> Callable[[], None] | None:
    """Fork a process that runs ``func(*args)`` once told to; a function that tells it and waits.

    The process inherits ``args`` (nothing is copied or pickled; the frames must not change
    meanwhile) and works beside this one without Python's lock: GDAL's Arrow writer holds it for
    a whole layer (issue 20: 1.6-2 s for the estates of 220,000 tiled estates, while the
    corridors' worker processes waited for this process to take their results). The fork is
    made here, in the caller's thread, at a known point of the run; the returned function
    (called in another thread, in order after the previous layers) lets the process start,
    waits for it and raises its error: ``func``'s, as it raised it (an ``OSError`` keeps its
    ``errno``), or an :class:`~geo.core.errors.OutputError` when the process ended without a
    word (killed: by the system out of memory, say). Standard
    output is flushed before the fork, so the process does not print again what this one had
    not yet printed. None without the ``fork`` start method (Windows): run ``func`` yourself.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    context = multiprocessing.get_context("fork")
    start_receive, start_send = context.Pipe(duplex=False)
    receive, send = context.Pipe(duplex=False)
    flush_standard_streams()
    process = context.Process(
        target=_report_to,
        args=(start_receive, send, func, *args),
        name="lianpian-write-ahead",
        daemon=True,
    )
    try:
        process.start()
    finally:
        start_receive.close()
        send.close()

    def run() -> None:
        try:
            start_send.send(True)
            error = receive.recv()
        except (EOFError, BrokenPipeError):
            process.join()
            raise OutputError(
                msg(
                    "the process writing ahead ended without a result (exit code {code})",
                    code=process.exitcode,
                ),
                fix=msg(
                    "it was stopped from outside (a negative code is the signal: -9 is often "
                    "the system out of memory); free memory and run again"
                ),
            ) from None
        finally:
            start_send.close()
            receive.close()
        process.join()
        if error is not None:
            raise error

    return run


def _report_to(
    start: Connection, send: Connection, func: Callable[..., None], *args: object
) -> None:
    """In the forked process: once told to start, run ``func(*args)``; send None or its error."""
    try:
        start.recv()
    except EOFError:  # the caller ended before telling it to start
        return
    try:
        func(*args)
    except BaseException as error:  # sent back to be raised in the caller
        try:
            send.send(error)
        except Exception:  # an error that cannot be pickled: its text
            send.send(RuntimeError(f"{type(error).__name__}: {error}"))
        return
    send.send(None)


def _write_unsynced(frame: pd.DataFrame, path: Path, name: str) -> None:
    with _sqlite_unsynced():
        _write_layer(frame, path, name)


@contextlib.contextmanager
def _sqlite_unsynced() -> Iterator[None]:
    """GDAL's SQLite writers do not wait for the disk after each layer (``PRAGMA synchronous=OFF``).

    For temporary files of :func:`atomic_path` only: the whole file is flushed to disk once
    before it replaces the target, so a crash leaves the previous file, as before. Each layer
    of a plan waited for the disk on its own otherwise (issue 20: 2.4 -> 1.1 s wall for the
    layers of 50,000 tiled estates, the same CPU time).
    """
    option = "OGR_SQLITE_SYNCHRONOUS"
    before = pyogrio.get_gdal_config_option(option)
    pyogrio.set_gdal_config_options({option: "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({option: before})


def _write_layer(frame: pd.DataFrame, path: Path, name: str) -> None:
    """Write one layer or table into a GeoPackage, through GDAL's Arrow writer when it can.

    The Arrow writer takes the columns whole (issue 20: 1.34 -> 0.95 s CPU for the layers of
    50,000 tiled estates, text columns handed over as they are held). The layer is the one
    pyogrio's feature-by-feature writer makes of :func:`_plain`'s frame: text stays text, a
    boolean column with gaps and an object column's other values are written as their ``str()``
    (``True``/``False``), numbers and booleans keep their types; the table contents, schema and
    spatial index are the same. Frames with other column types (dates, categories) are written
    feature by feature.
    """
    columns: dict[object, object] = {}
    for column in frame.columns:
        values = frame[column]
        dtype = values.dtype
        if isinstance(dtype, pd.Int64Dtype | pd.Float64Dtype):
            columns[column] = _plain(frame[[column]])[column]
        elif isinstance(dtype, pd.BooleanDtype):
            text = np.where(values.to_numpy(dtype=bool, na_value=False), "True", "False")
            columns[column] = pd.Series(text, index=frame.index, dtype="string").mask(values.isna())
        elif isinstance(dtype, gpd.array.GeometryDtype | pd.StringDtype) or (
            isinstance(dtype, np.dtype) and dtype.kind in "fib"
        ):
            continue
        elif dtype is np.dtype(object):
            if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
                columns[column] = [
                    None if missing else str(v)
                    for v, missing in zip(values.tolist(), values.isna().tolist(), strict=True)
                ]
        else:
            pyogrio.write_dataframe(_plain(frame), path, layer=name, driver="GPKG")
            return
    if columns:
        frame = frame.copy(deep=False)
        for column, values in columns.items():
            frame[column] = values
    pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG", use_arrow=True)


def write_xlsx(target: str | Path, tables: Mapping[str, pd.DataFrame]) -> Path:
    """Write tables (geometry columns dropped) to one XLSX workbook, one sheet each, atomically.

    Sheet names are cut to Excel's 31 characters; extension types are written as plain values;
    formula-like text is stored as text (:func:`geo.io.safe_text.neutralise_workbook`).
    Returns the target path.
    """
    target = Path(target)
    with atomic_path(target) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        for name, frame in tables.items():
            plain = _plain(pd.DataFrame(frame))
            geometry = [
                c for c in plain.columns if isinstance(plain[c].dtype, gpd.array.GeometryDtype)
            ]
            plain = plain.drop(columns=geometry)
            for column in plain.columns:  # characters Excel refuses (control codes) are dropped
                if plain[column].dtype == object:
                    plain[column] = plain[column].map(_excel_text)
            plain.to_excel(writer, sheet_name=str(name)[:31], index=False)
        neutralise_workbook(writer.book)  # text from data never becomes a formula
    return target


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, gpd.array.GeometryDtype):
            continue
        dtype = out[column].dtype
        if isinstance(dtype, pd.BooleanDtype | pd.StringDtype) or dtype is np.dtype(object):
            out[column] = out[column].astype(object).where(out[column].notna(), None)
        elif isinstance(dtype, pd.Int64Dtype | pd.Float64Dtype):
            out[column] = (
                out[column].astype("float64")
                if isinstance(dtype, pd.Float64Dtype) or out[column].isna().any()
                else out[column].astype("int64")
            )
    return out


def write_csv(target: str | Path, frame: pd.DataFrame) -> Path:
    """Write ``frame`` as UTF-8 CSV with a BOM (so Excel shows Chinese text), atomically.

    Text cells that a spreadsheet would read as a formula get a leading ``'``
    (:func:`geo.io.safe_text.neutralise_csv`).
    """
    target = Path(target)
    safe = frame.copy()
    safe.columns = [neutralise_csv(str(c)) for c in safe.columns]
    for column in safe.columns:
        if pd.api.types.is_object_dtype(safe[column]) or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise_csv)
    with atomic_path(target) as tmp:
        safe.to_csv(tmp, index=False, encoding="utf-8-sig")
    return target


def _excel_text(value: object) -> object:
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value
