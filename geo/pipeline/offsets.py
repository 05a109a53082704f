"""The estates against their reference layers: a wrong Gauss-Krüger zone, or GCJ-02 for WGS-84.

:func:`check_reference_offset` (one warning for the first disagreement, in the order of the
layers) and :class:`ReferenceOffsets` (a layer's two checks, run once, possibly ahead in a
thread: issue 20). Split from :mod:`geo.pipeline.inputs`, which runs them.
May import: geo.core, geopandas, pyproj.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import geopandas as gpd
from pyproj import CRS

from geo.core.crs import OffsetCheck, detect_gcj02_offset, likely_gk_zone
from geo.core.errors import QualityReport
from geo.core.messages import msg


def check_reference_offset(
    estates: gpd.GeoDataFrame,
    references: Sequence[tuple[object, gpd.GeoDataFrame | None]],
    estates_source: str,
    quality: QualityReport,
    *,
    ahead: Sequence[ReferenceOffsets | None] = (),
) -> None:
    """Warn when the estates and a reference layer are ~300-600 m apart (GCJ-02 vs WGS-84).

    Tries each reference layer (roads, boundaries, barriers) with
    :func:`geo.core.crs.detect_gcj02_offset` and records the first disagreement in ``quality``.
    ``ahead``: per reference (by position), its checks as run ahead in a thread
    (:meth:`ReferenceOffsets.ahead`), or None where they are run here.
    """
    ahead = list(ahead) + [None] * (len(references) - len(ahead))
    offsets = [
        given or ReferenceOffsets(estates, frame)
        for given, (_, frame) in zip(ahead, references, strict=True)
    ]
    for (name, _), checks in zip(references, offsets, strict=True):
        # issue 16: a Gauss-Krüger layer labelled with the wrong zone
        zone = checks.zone()
        if zone is not None:
            label = CRS.from_user_input(estates.crs).to_string()
            quality.add(
                "warning",
                Path(estates_source.split("::")[0]).name,
                "CRS",
                msg(
                    "the estates lie {zone:,.0f} km from {name}: their coordinates fit EPSG:{zone2}, "
                    "not the labelled {label} (wrong zone?)",
                    zone=zone[1],
                    name=Path(str(name).split("::")[0]).name,
                    zone2=zone[0],
                    label=label,
                ),
                msg(
                    "rerun with --source-crs EPSG:{zone} if that is the zone the data were drawn in",
                    zone=zone[0],
                ),
            )
            return
    for (name, _), checks in zip(references, offsets, strict=True):
        found = checks.gcj02()
        if found is None:
            continue
        reference = Path(str(name).split("::")[0]).name
        if found.hypothesis == "estates_gcj02":
            quality.add(
                "warning",
                Path(estates_source.split("::")[0]).name,
                "all estates",
                msg(
                    "the estates sit about {offset_m:.0f} m off {reference}: they look like GCJ-02 "
                    "(AMap/Tencent) coordinates labelled as WGS-84 (main lines crossing estates: "
                    "{crossing_as_is:.2f} m per m of outline as given, {crossing_shifted:.2f} after "
                    "conversion)",
                    offset_m=found.offset_m,
                    reference=reference,
                    crossing_as_is=found.crossing_as_is,
                    crossing_shifted=found.crossing_shifted,
                ),
                "rerun with --source-crs gcj02 (bd09 for Baidu data)",
            )
        else:
            quality.add(
                "warning",
                reference,
                "all features",
                msg(
                    "{reference} sits about {offset_m:.0f} m off the estates: it looks like GCJ-02 "
                    "(AMap/Tencent) coordinates labelled as WGS-84",
                    reference=reference,
                    offset_m=found.offset_m,
                ),
                "convert that layer from GCJ-02 to WGS-84 before planning",
            )
        return


class ReferenceOffsets:
    """The two offset checks of the estates against one reference layer, each run once.

    :meth:`zone` (:func:`geo.core.crs.likely_gk_zone`) and :meth:`gcj02`
    (:func:`geo.core.crs.detect_gcj02_offset`), None for a missing layer. Both are pure: run
    ahead (:meth:`ahead`), a check keeps its verdict or its error, raised where
    :func:`check_reference_offset` takes it in order, as if it ran there.
    """

    def __init__(self, estates: gpd.GeoDataFrame, frame: gpd.GeoDataFrame | None):
        self._estates, self._frame = estates, frame
        self._done: dict[str, tuple[object, BaseException | None]] = {}

    @classmethod
    def ahead(cls, estates: gpd.GeoDataFrame, frame: gpd.GeoDataFrame | None) -> ReferenceOffsets:
        """Both checks run now (in the caller's thread), their verdicts or errors kept."""
        checks = cls(estates, frame)
        for name in ("zone", "gcj02"):
            try:
                getattr(checks, name)()
            except Exception:  # kept, raised when the check is taken in order
                continue
        return checks

    def _once(self, name: str, check: Callable[..., object]) -> object:
        if name not in self._done:
            try:
                self._done[name] = (check(self._estates, self._frame), None)
            except Exception as error:
                self._done[name] = (None, error)
        value, error = self._done[name]
        if error is not None:
            raise error
        return value

    def zone(self) -> tuple[int, float] | None:
        """:func:`geo.core.crs.likely_gk_zone` of the estates against the layer."""
        if self._frame is None:
            return None
        return self._once("zone", likely_gk_zone)

    def gcj02(self) -> OffsetCheck | None:
        """:func:`geo.core.crs.detect_gcj02_offset` of the estates against the layer."""
        if self._frame is None or self._frame.empty:
            return None
        return self._once("gcj02", detect_gcj02_offset)
