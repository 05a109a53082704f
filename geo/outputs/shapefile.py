"""The Shapefile set of a package: readable field names of at most 10 bytes, GBK or UTF-8 text.

Many offices open Shapefiles in ArcMap or an older QGIS that ignore the ``.cpg`` file, so the
encoding is a choice (``lianpian export --encoding gbk|utf-8``; UTF-8 by default):

- ``gbk``: text and field names in GBK, the ``.cpg`` says ``GBK`` and the dBASE header's
  language driver byte (LDID, offset 29) is 0x4D (77, "Chinese GBK (PRC)", code page 936), which
  ArcMap reads when there is no ``.cpg``. Field names are short Chinese names
  (:data:`SHAPEFILE_FIELDS_ZH`: at most 5 characters = 10 GBK bytes, the dBASE limit).
- ``utf-8``: text in UTF-8 (``.cpg`` ``UTF-8``; dBASE has no LDID for UTF-8, the byte stays 0);
  field names readable ASCII (:data:`SHAPEFILE_FIELDS`), since a Chinese name would leave room
  for only three characters.

``shp/field_names.csv`` maps every field back to its full column name.

Holds :data:`SHAPEFILE_ENCODINGS`, :data:`SHAPEFILE_FIELDS`, :data:`SHAPEFILE_FIELDS_ZH`,
:func:`shapefile_field_names` and the writer of one district's ``shp/`` folder.

May import: geo.core, geo.io, geo.outputs.bundle, geo.outputs.cells.
"""

from __future__ import annotations

import contextlib
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
#: dBASE language driver id (header byte 29) per encoding: 0x4D = 77 = Chinese GBK (PRC), CP936.
DBF_LANGUAGE_DRIVER = {"utf-8": 0x00, "gbk": 0x4D}


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
    "management_model_agreed": "mgmt_model",
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
    "elderly_required_m2": "eld_req_m2",
    "elderly_accessible_m2": "eld_acc_m2",
    "elderly_gap_m2": "eld_gap_m2",
    "elderly_pooled_gap_m2": "eld_pool_m",
    "elderly_site_id": "eld_site",
    "elderly_site_m2": "eld_sit_m2",
    "elderly_covered_5min": "eld_cov_5m",
    "elderly_households_without_5min": "eld_hh_no5",
    "separate_length_m": "sep_len_m",
    "separate_cost_yuan": "sep_cost",
    "separate_connections": "sep_conn",
    "cost_saving_pct": "cost_sav_p",
    "saving_pct": "len_sav_p",
    "corridor_basis": "corr_basis",
    "corridor_method": "corr_meth",
    "corridor_length_m": "corr_len_m",
    "clearance_conflicts": "clear_conf",
    "households_served": "hh_served",
    "estates_served": "est_served",
    "gap_covered_m2": "gap_cov_m2",
    "reason_zh": "reason_zh",
    "reason_en": "reason_en",
}

#: Short Chinese field names (at most 5 characters: 10 bytes in GBK) for ``--encoding gbk``.
SHAPEFILE_FIELDS_ZH: dict[str, str] = {
    "estate_id": "小区编号",
    "name": "名称",
    "county": "区县",
    "build_year_raw": "建成年代",
    "build_year": "建成年份",
    "build_year_latest": "最晚年份",
    "households": "户数",
    "households_unknown": "户数不详",
    "buildings": "栋数",
    "floor_area_m2": "建筑面积",
    "consent_rate": "同意率",
    "elderly_share": "老年占比",
    "already_renovated": "已改造",
    "shantytown_plan": "棚改计划",
    "urban_village": "城中村",
    "illegal_structures_removed": "违建已拆",
    "has_property_management": "有物业",
    "management_model_agreed": "管理模式",
    "needs": "改造需求",
    "status": "资格",
    "reason_zh": "原因",
    "reason_en": "原因英文",
    "consent_ok": "同意达标",
    "investment_yuan": "投资元",
    "investment_estimated": "投资估算",
    "district_id": "片区编号",
    "project_type": "项目类型",
    "priority_age": "优先年代",
    "priority_needs": "优先需求",
    "priority_consent": "优先同意",
    "priority_elderly": "优先老龄",
    "priority_size": "优先规模",
    "priority_contiguity": "优先连片",
    "priority_readiness": "优先条件",
    "priority_score": "优先得分",
    "priority_rank": "优先排名",
    "build_year_min": "最早建成",
    "build_year_max": "最晚建成",
    "extension_estates": "延伸小区",
    "estates": "小区数",
    "members": "成员小区",
    "needs_basic": "基础类",
    "needs_improvement": "完善类",
    "needs_enhancement": "提升类",
    "needs_other": "其他需求",
    "survey_row": "调查行号",
    "utilities": "管线",
    "kind": "类型",
    "length_m": "长度米",
    "cost_yuan": "造价元",
    "clearance_m": "净距米",
    "clearance_ok": "净距满足",
    "separate_length_m": "分设长度",
    "separate_cost_yuan": "分设造价",
    "connections": "接驳点",
    "separate_connections": "分设接驳",
    "saving_pct": "节约长度",
    "cost_saving_pct": "节约造价",
    "corridor_basis": "廊道依据",
    "corridor_method": "廊道方法",
    "corridor_length_m": "廊道长度",
    "clearance_conflicts": "净距冲突",
    "elderly_required_m2": "养老需求",
    "elderly_accessible_m2": "养老可达",
    "elderly_gap_m2": "养老缺口",
    "elderly_pooled_gap_m2": "合并缺口",
    "elderly_site_id": "养老设施",
    "elderly_site_m2": "设施面积",
    "elderly_covered_5min": "五分钟覆盖",
    "elderly_households_without_5min": "未覆盖户",
    "site_id": "设施编号",
    "site_name": "设施名称",
    "source": "来源",
    "households_served": "服务户数",
    "estates_served": "服务小区",
    "gap_covered_m2": "弥补缺口",
    "area_m2": "面积",
}


def shapefile_field_names(columns: Iterable[str], encoding: str = "utf-8") -> dict[str, str]:
    """Map column names to unique Shapefile field names of at most 10 bytes.

    With ``encoding="gbk"`` a column of :data:`SHAPEFILE_FIELDS_ZH` gets its Chinese name, and
    another name GBK can hold is kept, cut to 10 GBK bytes. Otherwise, in order: the fixed
    names of :data:`SHAPEFILE_FIELDS`; a name of at most 10 ASCII characters is kept; a longer
    ASCII name is cut to 10; a non-ASCII name becomes ``f`` plus its position (``f03``). A clash
    is resolved by cutting to 8 characters and adding ``_1``, ``_2``... Matching is
    case-insensitive, as in dBASE.

    Returns
    -------
    dict
        ``{column: field}`` in the order of ``columns``.
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for position, column in enumerate(columns, start=1):
        name = SHAPEFILE_FIELDS_ZH.get(column) if encoding == "gbk" else None
        if name is None and encoding == "gbk" and not column.isascii():
            with contextlib.suppress(UnicodeEncodeError):
                column.encode("gbk")
                name = _cut(column, 10, encoding)  # a Chinese name cut to 10 GBK bytes
        name = name or SHAPEFILE_FIELDS.get(column)
        if name is None:
            ascii_name = re.sub(r"[^A-Za-z0-9_]", "_", column)
            name = ascii_name[:10] if column.isascii() and ascii_name else f"f{position:02d}"
        candidate, n = name, 0
        while candidate.lower() in used:
            n += 1
            candidate = _cut(name, 10 - len(str(n)) - 1, encoding) + f"_{n}"
        used.add(candidate.lower())
        out[column] = candidate
    return out


def _cut(name: str, limit: int, encoding: str) -> str:
    """The longest prefix of ``name`` within ``limit`` bytes in the dBASE encoding."""
    codec = "gbk" if encoding == "gbk" else "utf-8"
    out = name
    while len(out.encode(codec, errors="replace")) > limit:
        out = out[:-1]
    return out


def _set_language_driver(dbf: Path, ldid: int) -> None:
    """Write the dBASE language driver byte (offset 29) of a freshly written ``.dbf``."""
    with dbf.open("r+b") as fh:
        fh.seek(29)
        fh.write(bytes([ldid]))


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
            names = shapefile_field_names(
                [c for c in plain.columns if c != plain.geometry.name], encoding
            )
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
            _set_language_driver(staging / f"{stem}.dbf", DBF_LANGUAGE_DRIVER[encoding])
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
            "Shapefile field (≤10 bytes) -> full column name (rule: geo.outputs.shapefile."
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
