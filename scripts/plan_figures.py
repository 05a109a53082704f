"""Print the figures of a plan GeoPackage a planner signs off (issue 17).

District sizes (estates, households against the GB 50180-2018 life-circle bands), compactness
(Polsby-Popper median and minimum, widest district), standalone estates and why, ready districts
and the mobilisation list, investment by content class and by funding source (万元), and the
proposed elderly-care sites (smallest, merged, dropped). Reads the layers ``estates``,
``districts``, ``mobilisation``, ``funding``, ``elderly_sites`` and ``elderly_sites_dropped`` of
``lianpian plan --out``. Run from the repository root:

    python scripts/plan_figures.py /tmp/hz17.gpkg
"""

from __future__ import annotations

import sys

import pandas as pd
import pyogrio

_BANDS = [0, 300, 1000, 1500, 4000, 5000, 8000, float("inf")]


def _bool(values: pd.Series) -> pd.Series:
    """GeoPackage booleans come back as text or numbers (1 == True): True/False."""
    return (
        values.astype(object)
        .map({"True": True, "False": False, True: True, False: False})
        .fillna(False)
        .astype(bool)
    )


def _layer(path: str, name: str) -> pd.DataFrame | None:
    names = {row[0] for row in pyogrio.list_layers(path)}
    return pyogrio.read_dataframe(path, layer=name) if name in names else None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    path = argv[0]
    estates = pyogrio.read_dataframe(path, layer="estates")
    districts = pyogrio.read_dataframe(path, layer="districts")
    print(f"districts: {len(districts)} holding {int(districts['estates'].sum())} estates")
    sizes = districts["estates"].value_counts().sort_index()
    print("estates per district:", ", ".join(f"{k}: {v}" for k, v in sizes.items()))
    hh = districts["households"]
    print(f"households per district: min {hh.min():,}, median {hh.median():,.0f}, max {hh.max():,}")
    bands = pd.cut(hh, _BANDS, right=True).value_counts().sort_index()
    print("households bands:", "; ".join(f"{b}: {n}" for b, n in bands.items()))
    pp = districts["polsby_popper"]
    widest = districts.loc[districts["width_m"].idxmax()]
    print(
        f"Polsby-Popper median {pp.median():.3f}, min {pp.min():.3f} "
        f"({districts.loc[pp.idxmin(), 'district_id']}); width median "
        f"{districts['width_m'].median():.0f} m; widest {widest['district_id']} "
        f"{widest['width_m']:.0f} m ({widest['estates']} estates, walk to centre max "
        f"{widest['walk_max_m']:.0f} m)"
    )
    print("partition:", districts["partition_method"].value_counts().to_dict())
    lots = districts.loc[districts["lots"] > 1]
    print(f"districts split into tender lots: {len(lots)} (lots: {lots['lots'].sum()})")
    ready = _bool(districts["ready"])
    print(
        f"ready districts: {int(ready.sum())} of {len(districts)}; members not ready "
        f"{int(districts['members_not_ready'].sum())}; households to persuade "
        f"{int(districts['households_to_persuade'].sum()):,}"
    )
    alone = estates.loc[estates["project_type"] == "standalone"]
    why = alone["standalone_reason"].fillna("").str.replace(r" \(.*", "", regex=True)
    print(f"standalone estates: {len(alone)}:", why.value_counts().to_dict())
    waiting = _layer(path, "mobilisation")
    if waiting is not None:
        print(
            f"mobilisation list: {len(waiting)} estates "
            f"({int(waiting['district_id'].notna().sum())} in districts), "
            f"{int(waiting['households_to_persuade'].sum()):,} households to persuade"
        )
    programme = estates.loc[estates["status"].isin(["eligible", "extension"])]
    classes = ["basic", "improvement", "enhancement", "unclassified"]
    by_class = {c: programme[f"investment_{c}_yuan"].sum() / 1e4 for c in classes}
    print(
        f"investment of the {len(programme)} programme estates: "
        f"{programme['investment_yuan'].sum() / 1e4:,.1f} 万元 = "
        + " + ".join(f"{c} {v:,.1f}" for c, v in by_class.items())
        + f"; {int(_bool(programme['investment_estimated']).sum())} estates estimated"
    )
    funding = _layer(path, "funding")
    if funding is not None:
        total = funding.loc[funding["level"] == "total"]
        print(
            "funding (万元): "
            + "; ".join(f"{r.source} {r.wan_yuan:,.1f} ({r.share:.1%})" for r in total.itertuples())
        )
    sites = _layer(path, "elderly_sites")
    if sites is not None and len(sites):
        small = sites.loc[sites["floor_area_m2"].idxmin()]
        merged = sites["site_note"].fillna("").str.count("merged").sum()
        print(
            f"elderly-care sites: {len(sites)}, smallest {small['site_id']} "
            f"{small['floor_area_m2']:.0f} m²; {merged} small sites merged into others"
        )
    dropped = _layer(path, "elderly_sites_dropped")
    if dropped is not None:
        print(
            f"elderly-care sites dropped below the minimum: {len(dropped)} "
            f"({dropped['floor_area_m2'].sum():,.0f} m² of gap left to pool)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
