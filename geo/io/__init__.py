"""All file access of lianpian: reading layers and tables, writing results atomically (the facade).

Engine: pyogrio (GDAL) for every vector format (GeoPackage, Shapefile, GeoJSON, FlatGeobuf,
zipped Shapefile, OSM PBF); pandas/openpyxl for CSV/TSV/XLSX. Inputs are opened read-only and never
modified. Every output is written to a temporary file in the target folder and renamed over the
target (:func:`atomic_path`), so an interrupted run leaves the previous file or the complete new one.

Loaders return canonical frames (see :mod:`geo.core.schema`) in the data's CRS (WGS-84 after a
declared GCJ-02/BD-09 conversion); the pipeline projects them to the run's metric CRS.

This module only re-exports the public API, so ``from geo import io; io.read_estates(...)`` works;
the code lives in one module per concept:

- :mod:`geo.io.files`: input checks (size, suffixes, Shapefile parts and encodings)
- :mod:`geo.io.vector`: read_vector (Arrow or plain read), CRS settling
- :mod:`geo.io.shapes`: clean_polygons, lines/polygons (read, validity left running), boundaries
- :mod:`geo.io.estates`: read_estates, canonical_estates
- :mod:`geo.io.facility_layers`: elderly-care facilities and candidate sites
- :mod:`geo.io.tables`, :mod:`geo.io.xlsx`: read_table (CSV/TSV/XLSX), read_survey, read_survey_and_table
- :mod:`geo.io.output_guard`: no output overwrites an input (guarded_run, check_output)
- :mod:`geo.io.writers`: atomic_path, write_layers, GeoPackageWriter (first layers written ahead), write_xlsx, write_csv, stale temporaries
- :mod:`geo.io.uploads`: stage_upload(s), layer_names, unzipping
- :mod:`geo.io.results`: read_results
- :mod:`geo.io.safe_text`, :mod:`geo.io.workbook`, :mod:`geo.io.archives`, :mod:`geo.io.tiles`

May import: geo.core and its own submodules.
"""

from __future__ import annotations

from geo.io.estates import canonical_estates, read_estates
from geo.io.facility_layers import (
    FACILITY_TYPE_ALIASES,
    canonical_facilities,
    facility_type,
    read_candidate_sites,
    read_facilities,
)
from geo.io.files import (
    DEFAULT_MAX_INPUT_MB,
    TABLE_SUFFIXES,
    VECTOR_SUFFIXES,
    max_input_bytes,
)
from geo.io.output_guard import check_output, guarded_run
from geo.io.results import read_results
from geo.io.shapes import (
    LinesOrPolygons,
    _polygonal_part,
    clean_polygons,
    read_boundaries,
    read_lines_or_polygons,
    start_lines_or_polygons,
)
from geo.io.tables import read_survey, read_survey_and_table, read_table
from geo.io.uploads import (
    SHAPEFILE_SIDECARS,
    UNZIP_MAX_BYTES,
    UNZIP_MAX_MEMBERS,
    UNZIP_MAX_RATIO,
    UPLOAD_MAX_BYTES,
    layer_names,
    stage_upload,
    stage_uploads,
)
from geo.io.vector import read_vector
from geo.io.writers import (
    GeoPackageWriter,
    _plain,
    atomic_path,
    remove_stale_temporaries,
    write_csv,
    write_layers,
    write_xlsx,
)

__all__ = [
    "DEFAULT_MAX_INPUT_MB",
    "FACILITY_TYPE_ALIASES",
    "SHAPEFILE_SIDECARS",
    "TABLE_SUFFIXES",
    "UNZIP_MAX_BYTES",
    "UNZIP_MAX_MEMBERS",
    "UNZIP_MAX_RATIO",
    "UPLOAD_MAX_BYTES",
    "VECTOR_SUFFIXES",
    "GeoPackageWriter",
    "LinesOrPolygons",
    "_plain",
    "_polygonal_part",
    "atomic_path",
    "canonical_estates",
    "canonical_facilities",
    "check_output",
    "clean_polygons",
    "facility_type",
    "guarded_run",
    "layer_names",
    "max_input_bytes",
    "read_boundaries",
    "read_candidate_sites",
    "read_estates",
    "read_facilities",
    "read_lines_or_polygons",
    "read_results",
    "read_survey",
    "read_survey_and_table",
    "read_table",
    "read_vector",
    "remove_stale_temporaries",
    "stage_upload",
    "stage_uploads",
    "start_lines_or_polygons",
    "write_csv",
    "write_layers",
    "write_xlsx",
]
