"""Staging browser uploads: safe names, type and size checks, unpacking zips; layer names of a file.

Holds :func:`stage_upload`, :func:`stage_uploads` and :func:`layer_names` (used by the app).
May import: geo.core, geo.io.files, geo.io.archives, pyogrio and the standard library.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyogrio

from geo.core.errors import InputError
from geo.core.messages import msg
from geo.io import archives as _archive
from geo.io.files import TABLE_SUFFIXES, VECTOR_SUFFIXES, _check_input_file, _short

#: Limits for an uploaded archive (a zipped Shapefile of a whole city is tens of MB).
UPLOAD_MAX_BYTES = 200 * 1024 * 1024
UNZIP_MAX_BYTES = 1024 * 1024 * 1024
UNZIP_MAX_MEMBERS = 2000
UNZIP_MAX_RATIO = 200  # uncompressed / compressed size of one member; more is a zip bomb
_DATASET_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".kml", ".gml")


#: Longest upload name kept, in bytes (UTF-8): file systems allow 255, and GDAL adds suffixes.
_MAX_NAME_BYTES = 180


def _safe_upload_name(name: str) -> str:
    base = Path(str(name).replace("\\", "/")).name.strip()
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    if not base or base in (".", ".."):
        raise InputError("the upload has no file name", source=str(name)[:120], fix="upload a file")
    if len(base.encode("utf-8")) > _MAX_NAME_BYTES:  # shortened alike for a Shapefile's parts
        stem, dot, suffix = base.partition(".")
        rest = (dot + suffix).encode("utf-8")[:40].decode("utf-8", "ignore")
        room = _MAX_NAME_BYTES - len(rest.encode("utf-8"))
        base = stem.encode("utf-8")[:room].decode("utf-8", "ignore") + rest
    return base


def stage_upload(
    name: str,
    data: bytes,
    dest_dir: str | Path,
    *,
    max_bytes: int = UPLOAD_MAX_BYTES,
    max_unpacked_bytes: int = UNZIP_MAX_BYTES,
    max_members: int = UNZIP_MAX_MEMBERS,
    allow_sidecars: bool = False,
) -> Path:
    """Save an uploaded file into ``dest_dir`` safely and return the path to read it from.

    The file name is reduced to its last component (no folders, no ``..``). A ``.zip`` is
    unpacked into its own sub-folder with protection against path traversal (zip slip: absolute
    names, ``..``), symbolic links, too many members and zip bombs (total size and per-member
    compression ratio checked while copying, not trusted from the header); the path returned is
    the one dataset inside (``.shp``, ``.gpkg``, ``.geojson``, ...; the first ``.shp`` when there
    are several).

    Parameters
    ----------
    name
        The upload's file name as the browser sent it (untrusted).
    data
        The file's bytes.
    dest_dir
        An existing folder owned by the caller (e.g. a ``tempfile.TemporaryDirectory``).
    allow_sidecars
        Accept the parts of a Shapefile other than ``.shp`` (``.shx``, ``.dbf``, ``.prj``,
        ``.cpg``, ...): see :func:`stage_uploads`.

    Raises
    ------
    InputError
        For an unsupported type, an empty or too large file, a corrupt or unsafe archive, or an
        archive with no dataset.
    """
    safe = _safe_upload_name(name)
    suffix = Path(safe).suffix.lower()
    allowed = VECTOR_SUFFIXES + TABLE_SUFFIXES + (SHAPEFILE_SIDECARS if allow_sidecars else ())
    if suffix not in allowed:
        raise InputError(
            msg("unsupported file type {suffix!r}", suffix=suffix)
            if suffix
            else msg("unsupported file type (no extension)"),
            source=safe,
            fix="upload a zipped Shapefile (.zip), GeoPackage (.gpkg), GeoJSON, or a CSV/XLSX table",
        )
    if not data:
        raise InputError("the file is empty (0 bytes)", source=safe, fix="export it again")
    if len(data) > max_bytes:
        raise InputError(
            msg("the file is larger than {max_bytes} MB", max_bytes=max_bytes // (1024 * 1024)),
            source=safe,
            fix="clip it to the study area",
        )
    dest = Path(dest_dir)
    target = dest / safe
    with target.open("xb") as handle:  # exclusive: never follows or overwrites an existing file
        handle.write(data)
    if suffix != ".zip":
        return target
    return _unpack_zip(
        target, dest / f"{Path(safe).stem}_unzipped", max_unpacked_bytes, max_members
    )


#: The parts of a Shapefile besides ``.shp`` that a planner may select with it in the browser.
SHAPEFILE_SIDECARS = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml")


def stage_uploads(
    files: Sequence[tuple[str, bytes]],
    dest_dir: str | Path,
    *,
    max_bytes: int = UPLOAD_MAX_BYTES,
) -> list[Path]:
    """Save several uploaded files into ``dest_dir`` and return the datasets to read.

    The planner may select the parts of a Shapefile together (``a.shp``, ``a.shx``, ``a.dbf``,
    ``a.prj``, ``a.cpg``) as well as single-file datasets (GeoPackage, GeoJSON, zipped Shapefile,
    CSV/XLSX). Each file goes through :func:`stage_upload` (name, type, size and archive checks);
    ``max_bytes`` bounds each file and their total.

    Returns
    -------
    list of Path
        One path per dataset, in upload order (a Shapefile once, by its ``.shp``).

    Raises
    ------
    InputError
        Everything :func:`stage_upload` raises; two files of the same name; Shapefile parts
        without their ``.shp``; nothing but Shapefile parts.
    """
    total = sum(len(data) for _, data in files)
    if total > max_bytes:
        raise InputError(
            msg(
                "the files are larger than {max_bytes} MB together",
                max_bytes=max_bytes // (1024 * 1024),
            ),
            source=", ".join(name for name, _ in files)[:120],
            fix="clip them to the study area",
        )
    names = [_safe_upload_name(name) for name, _ in files]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(
            "the same file name was uploaded twice",
            source=repeated[0],
            fix="upload each file once",
        )
    datasets: list[Path] = []
    sidecars: list[Path] = []
    for name, data in files:
        path = stage_upload(name, data, dest_dir, max_bytes=max_bytes, allow_sidecars=True)
        (sidecars if path.suffix.lower() in SHAPEFILE_SIDECARS else datasets).append(path)
    shp_stems = {p.stem.lower() for p in datasets if p.suffix.lower() == ".shp"}
    for part in sidecars:
        stem = part.name.lower().split(".")[0]
        if stem not in shp_stems:
            raise InputError(
                msg(
                    "a Shapefile part ({suffix}) was uploaded without its .shp", suffix=part.suffix
                ),
                source=part.name,
                fix="select all parts of the Shapefile together (.shp, .shx, .dbf, .prj, .cpg) "
                "or upload them as one .zip",
            )
    if not datasets:
        raise InputError("no file was uploaded", fix="choose a file")
    return datasets


def layer_names(path: str | Path) -> list[str]:
    """Return the names of the layers in a vector file (a GeoPackage may hold several).

    Raises
    ------
    InputError
        If the file cannot be opened as a vector dataset.
    """
    path = Path(str(path).split("::")[0])
    _check_input_file(path)
    gdal_path = f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)
    try:
        return [str(name) for name, _ in pyogrio.list_layers(gdal_path)]
    except Exception as exc:  # GDAL raises several types for unreadable files
        raise InputError(
            msg("cannot open the file ({detail})", detail=_short(exc)),
            source=path.name,
            fix="check that it is a complete GeoPackage, Shapefile or GeoJSON file",
        ) from exc


def _unpack_zip(archive: Path, folder: Path, max_total: int, max_members: int) -> Path:
    import zipfile

    source = archive.name
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(
            "not a readable zip archive", source=source, fix="zip the Shapefile's files again"
        ) from exc
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        # the same checks as reading a zip in place (names, links, sizes from the directory) ...
        _archive.check_members(
            [_archive.member_of(m) for m in zf.infolist()],
            source=source,
            archive_bytes=archive.stat().st_size,
            max_expanded_bytes=max_total,
        )
        if len(members) > max_members:
            raise InputError(
                msg(
                    "the archive has {n_members} files (at most {max_members})",
                    n_members=len(members),
                    max_members=max_members,
                ),
                source=source,
                fix="zip only the layer's files",
            )
        folder.mkdir()
        root = folder.resolve()
        total = 0
        written: list[Path] = []
        for member in members:
            # ... and, as the directory may lie, sizes counted and paths resolved while copying
            parts = Path(member.filename.replace("\\", "/")).parts
            out = (root / Path(*parts)).resolve()
            if not out.is_relative_to(root):
                raise InputError(
                    "an entry would be written outside the upload folder",
                    source=source,
                    where=msg("entry {filename!r}", filename=member.filename),
                    fix="zip only the Shapefile's own files, side by side, without folders or links",
                )
            if "__MACOSX" in parts:
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            limit = max(member.compress_size, 1) * UNZIP_MAX_RATIO
            size = 0
            try:
                with zf.open(member) as src, out.open("xb") as dst:
                    while chunk := src.read(1 << 20):
                        size += len(chunk)
                        total += len(chunk)
                        if total > max_total or (size > limit and size > 1 << 20):
                            raise InputError(
                                "the archive unpacks to too much data (zip bomb?)",
                                source=source,
                                fix=msg(
                                    "keep the unpacked layer under {max_total} MB",
                                    max_total=max_total // (1 << 20),
                                ),
                            )
                        dst.write(chunk)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise InputError(
                    msg(
                        "corrupt archive member {filename!r} ({detail})",
                        filename=member.filename,
                        detail=_short(exc),
                    ),
                    source=source,
                    fix="zip the files again",
                ) from exc
            written.append(out)
    datasets = [p for p in written if p.suffix.lower() in _DATASET_SUFFIXES]
    datasets.sort(key=lambda p: (p.suffix.lower() != ".shp", len(p.parts), str(p)))
    if not datasets:
        raise InputError(
            "the archive holds no .shp, .gpkg or .geojson",
            source=source,
            fix="zip the Shapefile's .shp, .shx, .dbf and .prj together",
        )
    return datasets[0]
