"""The Shapefile set of a package: field names of at most 10 characters, GBK or UTF-8 text.

Holds :data:`SHAPEFILE_ENCODINGS`, :data:`SHAPEFILE_FIELDS`, :func:`shapefile_field_names` and the
writer of one district's ``shp/`` folder (with ``field_names.csv``).

May import: geo.core, geo.io, geo.outputs.bundle, geo.outputs.cells.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
import warnings
from collections.abc import Iterable
from pathlib import Path

import pyogrio
from pyproj import CRS

from geo import io as geo_io
from geo.outputs.bundle import DistrictBundle, PackageFile, _crs_text, _plain
from geo.outputs.cells import _write_csv

#: Encodings of the Shapefile set (value written to the ``.cpg``).
SHAPEFILE_ENCODINGS = {"utf-8": "UTF-8", "gbk": "GBK"}


#: Shapefile field names (at most 10 characters) of the columns lianpian writes.
SHAPEFILE_FIELDS: dict[str, str] = {
    "estate_id": "estate_id",
    "build_year_raw": "byear_raw",
    "build_year": "byear",
    "build_year_latest": "byear_last",
    "households": "households",
    "households_unknown": "hh_unknown",
    "floor_area_m2": "floor_m2",
    "consent_rate": "consent",
    "elderly_share": "elderly",
    "already_renovated": "renovated",
    "shantytown_plan": "shantytown",
    "urban_village": "urb_villag",
    "illegal_structures_removed": "illeg_rmvd",
    "has_property_management": "prop_mgmt",
    "investment_yuan": "invest_yn",
    "investment_estimated": "invest_est",
    "district_id": "dist_id",
    "project_type": "proj_type",
    "priority_age": "pr_age",
    "priority_needs": "pr_needs",
    "priority_consent": "pr_consent",
    "priority_elderly": "pr_elderly",
    "priority_size": "pr_size",
    "priority_contiguity": "pr_contig",
    "priority_readiness": "pr_ready",
    "priority_score": "pr_score",
    "priority_rank": "pr_rank",
    "build_year_min": "byear_min",
    "build_year_max": "byear_max",
    "extension_estates": "ext_estate",
    "needs_basic": "nd_basic",
    "needs_improvement": "nd_improve",
    "needs_enhancement": "nd_enhance",
    "needs_other": "nd_other",
}


def shapefile_field_names(columns: Iterable[str]) -> dict[str, str]:
    """Map column names to unique Shapefile field names of at most 10 ASCII characters.

    The rule, in order: the fixed names of :data:`SHAPEFILE_FIELDS`; a name of at most 10 ASCII
    characters is kept; a longer ASCII name is cut to 10; a non-ASCII name becomes ``f`` plus its
    position (``f03``). A clash is resolved by cutting to 8 characters and adding ``_1``, ``_2``...
    Matching is case-insensitive, as in dBASE.

    Returns
    -------
    dict
        ``{column: field}`` in the order of ``columns``.
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for position, column in enumerate(columns, start=1):
        name = SHAPEFILE_FIELDS.get(column)
        if name is None:
            ascii_name = re.sub(r"[^A-Za-z0-9_]", "_", column)
            name = ascii_name[:10] if column.isascii() and ascii_name else f"f{position:02d}"
        candidate, n = name, 0
        while candidate.lower() in used:
            n += 1
            candidate = f"{name[: 10 - len(str(n)) - 1]}_{n}"
        used.add(candidate.lower())
        out[column] = candidate
    return out


def _fit_text(value: object, encoding: str, counter: dict[str, int]) -> object:
    """Make text fit a dBASE field: encodable (GBK: NFKC, else ``?``) and at most 254 bytes."""
    if not isinstance(value, str):
        return value
    text = value
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        text = unicodedata.normalize("NFKC", text)
        fixed = text.encode(encoding, errors="replace").decode(encoding)
        if fixed != text:
            counter["replaced"] = counter.get("replaced", 0) + 1
        text = fixed
    raw = text.encode(encoding)
    if len(raw) > 254:
        counter["truncated"] = counter.get("truncated", 0) + 1
        text = raw[:254].decode(encoding, errors="ignore")
    return text


def _write_shapefiles(
    b: DistrictBundle, folder: Path, encoding: str, warn: list[str]
) -> list[PackageFile]:
    """Write the Shapefile set of a district; returns the files (``.shp`` last per set)."""
    cpg = SHAPEFILE_ENCODINGS[encoding]
    folder.mkdir(parents=True, exist_ok=True)
    py_encoding = "gbk" if encoding == "gbk" else "utf-8"
    sets = {"outline": b.outline, "estates": b.estates}
    if b.corridors is not None:
        sets["corridors"] = b.corridors
    if b.elderly_sites is not None:
        sets["elderly_sites"] = b.elderly_sites
    files: list[PackageFile] = []
    mapping_rows: list[dict[str, str]] = []
    counter: dict[str, int] = {}
    staging = Path(tempfile.mkdtemp(prefix=".shp-", dir=folder.parent))
    try:
        for layer, frame in sets.items():
            plain = _plain(frame)
            names = shapefile_field_names([c for c in plain.columns if c != plain.geometry.name])
            for column, short in names.items():
                mapping_rows.append({"layer": layer, "shapefile_field": short, "column": column})
                if plain[column].dtype == object:
                    plain[column] = plain[column].map(lambda v: _fit_text(v, py_encoding, counter))
            plain = plain.rename(columns=names)
            stem = f"{b.district_id}_{layer}"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # field-width notes
                pyogrio.write_dataframe(
                    plain, staging / f"{stem}.shp", driver="ESRI Shapefile", encoding=cpg
                )
            parts = sorted(staging.glob(f"{stem}.*"), key=lambda p: p.suffix == ".shp")
            for part in parts:
                target = folder / part.name
                with geo_io.atomic_path(target) as tmp:
                    shutil.move(part, tmp)
                files.append(
                    PackageFile(
                        f"shp/{part.name}",
                        f"Shapefile {layer} ({part.suffix}; text {cpg})",
                        _crs_text(CRS.from_user_input(frame.crs)),
                    )
                )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    mapping_path = folder / "field_names.csv"
    _write_csv(
        mapping_path,
        ["layer", "shapefile_field", "column"],
        [[r["layer"], r["shapefile_field"], r["column"]] for r in mapping_rows],
    )
    files.append(
        PackageFile(
            "shp/field_names.csv",
            "Shapefile field (≤10 characters) -> full column name (rule: geo.outputs.export."
            "shapefile_field_names)",
        )
    )
    if counter.get("replaced"):
        warn.append(
            f"{b.district_id}: {counter['replaced']} text values had characters GBK cannot hold "
            "(replaced by their compatible form or '?'); the GeoPackage and XLSX keep them"
        )
    if counter.get("truncated"):
        warn.append(
            f"{b.district_id}: {counter['truncated']} text values longer than 254 bytes were cut "
            "in the Shapefile (dBASE limit); the GeoPackage and XLSX keep them whole"
        )
    return files
