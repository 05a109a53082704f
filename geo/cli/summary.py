"""What ``lianpian plan`` prints after a run, in the interface language.

Every line is a message template (:func:`geo.core.messages.msg`) with a Chinese entry in
``geo/core/strings/messages_zh.toml``; the language is :func:`geo.core.messages.interface_language`
(``LIANPIAN_LANG=zh`` or a zh_* locale gives Chinese, else English). Codes written in the layers
(match kinds such as ``matched_id``) stay codes, as the GeoPackage has them.

May import: geo.core, geo.planning, geo.pipeline, geo.outputs.labels.
"""

from __future__ import annotations

from pathlib import Path

from geo.core.messages import interface_language, msg
from geo.outputs.labels import STATUS_ZH
from geo.pipeline import PlanResult
from geo.planning.survey import survey_summary


def survey_lines(result: PlanResult, lang: str = "en") -> list[str]:
    """The summary lines of the survey join: rows by outcome, estates given a real build year.

    Parameters
    ----------
    result
        A plan; without a survey (``result.survey_join`` is None or has no table) no lines.
    lang
        ``"en"`` or ``"zh"``.

    Returns
    -------
    list of str
        Two lines: survey rows by match kind, and the estates whose build year came from the
        survey (share, by match kind, and how many still need a survey).
    """
    if result.survey_join is None or result.survey_join.table is None:
        return []
    figures = survey_summary(result.estates, result.survey_join)
    rows = figures["rows_by_match"]
    by_match = figures["build_year_by_match"]
    share = figures["build_year_from_survey"] / max(figures["estates"], 1)  # type: ignore[operator]
    sep = "，" if lang == "zh" else ", "
    return [
        msg(
            "survey rows: {rows} ({kinds}; layer survey_join)",
            rows=figures["rows"],
            kinds=sep.join(f"{kind} {n}" for kind, n in rows.items() if n),  # type: ignore[union-attr]
        ).text(lang),
        msg(
            "estates with a build year from the survey: {joined} of {estates} ({share:.1%}: "
            "{kinds}); still needs_survey: {needs}",
            joined=figures["build_year_from_survey"],
            estates=figures["estates"],
            share=share,
            kinds=sep.join(f"{kind} {n}" for kind, n in by_match.items()),  # type: ignore[union-attr]
            needs=figures["needs_survey"],
        ).text(lang),
    ]


def summary_lines(result: PlanResult, out: Path, seconds: float, lang: str = "en") -> list[str]:
    """The run's summary: estates by status, districts, investment, elderly care, corridors.

    Parameters
    ----------
    result
        The plan (:func:`geo.pipeline.run_plan`).
    out
        The GeoPackage written.
    seconds
        Wall time of the run.
    lang
        ``"en"`` or ``"zh"``.

    Returns
    -------
    list of str
        The lines, money in 万元 (10,000 yuan), lengths in km, areas in m².
    """
    s = result.summary()
    lines: list[str] = []
    if result.inputs.synthetic:
        lines.append(
            "数据：内置示例（合成数据，非真实小区）/ data: embedded demo (SYNTHETIC, not real estates)"
        )
    lines.append(msg("estates: {estates}", estates=s["estates"]).text(lang))
    for status, count in s["by_status"].items():  # type: ignore[union-attr]
        if lang == "zh":  # a Chinese character takes two columns of the terminal
            word = STATUS_ZH[status]
            lines.append(f"  {word}{' ' * (12 - 2 * len(word))}{count:>6}")
        else:
            lines.append(f"  {status:<13} {count:>6}  {STATUS_ZH[status]}")
    lines.append(
        msg(
            "districts: {districts} ({estates} estates, {households} households)",
            districts=s["districts"],
            estates=s["estates_in_districts"],
            households=s["households_in_districts"],
        ).text(lang)
    )
    lines.append(
        msg("standalone projects: {n}", n=s["standalone_projects"]).text(lang),
    )
    lines.append(
        msg(
            "estimated investment in districts: {wan:,.1f} 万元",
            wan=s["investment_in_districts_yuan"] / 1e4,  # type: ignore[operator]
        ).text(lang)
    )
    if "elderly_gap_m2" in s:
        lines.append(
            msg(
                "elderly care ({distance}): {households:,} households without 5-minute coverage; "
                "gap {gap:,.0f} m²; {sites} shared sites proposed ({area:,.0f} m², {method}, "
                "optimality gap {optimality:.2%})",
                distance=s["elderly_distance"],
                households=s["elderly_households_without_5min"],
                gap=s["elderly_gap_m2"],
                sites=s["elderly_sites_proposed"],
                area=s["elderly_site_floor_area_m2"],
                method=s["elderly_siting_method"] or "none",
                optimality=s["elderly_siting_gap"],
            ).text(lang)
        )
    if "corridor_length_m" in s:
        lines.append(
            msg(
                "shared corridors: {km:,.2f} km vs {separate_km:,.2f} km separate (saving "
                "{saving}%); cost {wan:,.1f} 万元 vs {separate_wan:,.1f} 万元 (saving "
                "{cost_saving}%)",
                km=s["corridor_length_m"] / 1000,  # type: ignore[operator]
                separate_km=s["separate_length_m"] / 1000,  # type: ignore[operator]
                saving=s["corridor_saving_pct"],
                wan=s["corridor_cost_yuan"] / 1e4,  # type: ignore[operator]
                separate_wan=s["separate_cost_yuan"] / 1e4,  # type: ignore[operator]
                cost_saving=s["corridor_cost_saving_pct"],
            ).text(lang)
        )
    lines.extend(survey_lines(result, lang))
    if len(result.quality):
        lines.append(
            msg(
                "data-quality notes: {n} (layer 'quality' in the output)", n=len(result.quality)
            ).text(lang)
        )
    lines.append(msg("written: {out} ({seconds:.1f} s)", out=out, seconds=seconds).text(lang))
    return lines


def print_summary(result: PlanResult, out: Path, seconds: float) -> None:
    """Print :func:`summary_lines` in the interface language (``LIANPIAN_LANG``, the locale)."""
    for line in summary_lines(result, out, seconds, interface_language()):
        print(line)
