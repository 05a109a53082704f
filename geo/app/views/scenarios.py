"""The 方案 (scenarios) tab: name the current policy, compare two, export/import policy TOML.

Two scenarios are compared by their figures, the policy values that differ, and what changes per
estate (:mod:`geo.planning.scenario_changes`): counts by kind, a map coloured by the kind of
change (:func:`geo.outputs.map_colouring.change_colouring`) and the table of changed estates.

A scenario is the sidebar's policy values. Exported, it is the full policy TOML the command line
takes (``lianpian plan --policy scenario.toml``); imported, a policy TOML sets the sidebar (keys
the sidebar has no widget for are reported, not silently dropped). May import geo.app.state,
geo.app.mapview, geo.app.text, geo.core.policy, geo.outputs, geo.planning, pandas and streamlit.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, replace
from pathlib import Path

import pandas as pd
import streamlit as st

from geo.app.mapview import map_component_args, show_map
from geo.app.messages import show_error
from geo.app.state import POLICY_WIDGETS, WEIGHTS, cached_plan, policy_defaults
from geo.app.text import section
from geo.core.errors import LianpianError
from geo.core.policy import default_policy, load_policy
from geo.outputs import maps
from geo.outputs.map_colouring import WORDS as CHANGE_WORDS
from geo.outputs.map_colouring import change_colouring, state_label
from geo.planning.scenario_changes import change_counts, scenario_changes

#: Session key of the saved scenarios: {name: policy_items}.
SCENARIOS = "scenarios"
#: Key of the map of what changes between two scenarios (the main map is ``mapview.MAP_KEY``).
CHANGE_MAP_KEY = "scenario_map"


def policy_toml(policy_items: tuple, name: str) -> str:
    """The full policy TOML of the sidebar values ``policy_items`` (runs unchanged on the CLI)."""
    policy = default_policy().with_values(dict(policy_items))
    text = policy.to_toml()
    title = " ".join(name.split())  # one comment line, whatever was typed
    body = text.split("\n", 1)[1] if text.startswith("#") else text
    return f"# lianpian scenario: {title}\n" + body


def import_policy(name: str, data: bytes) -> tuple[tuple, list[str]]:
    """The sidebar values of a policy TOML, and the keys it sets that the sidebar cannot show.

    Raises ``PolicyError`` (one line naming the key) for an unreadable or invalid file.
    """
    with tempfile.TemporaryDirectory(prefix="lianpian-policy-") as folder:
        path = Path(folder) / "policy.toml"
        path.write_bytes(data)
        policy = load_policy(path).to_dict()
    defaults = default_policy().to_dict()
    widgets = set(policy_defaults())
    values = {k: policy[k.split(".")[0]][k.split(".")[1]] for k in widgets}
    hidden = [
        f"{section}.{key}"
        for section, items in policy.items()
        for key, value in items.items()
        if f"{section}.{key}" not in widgets and value != defaults[section][key]
    ]
    return tuple(sorted(values.items())), hidden


def _apply(values: tuple) -> None:
    for key, value in values:
        st.session_state[f"pol.{key}"] = value


def _figures(t: dict[str, str], lang: str, result) -> dict[str, str]:
    s = result.summary()
    out = {state_label(k, lang): f"{v:,}" for k, v in s["by_status"].items()}
    out[t["districts"]] = f"{s['districts']:,}"
    out[t["with_unit"].format(label=t["hh_in"], unit=t["unit_hh"])] = (
        f"{s['households_in_districts']:,}"
    )
    out[t["with_unit"].format(label=t["invest"], unit=t["unit_wan"])] = (
        f"{s['investment_in_districts_yuan'] / 1e4:,.0f}"
    )
    return out


@st.cache_data(show_spinner=False, max_entries=8)
def cached_changes(spec: tuple, items_a: tuple, items_b: tuple) -> pd.DataFrame:
    """:func:`~geo.planning.scenario_changes.scenario_changes` of two cached plans (B's index)."""
    return scenario_changes(cached_plan(spec, items_a).estates, cached_plan(spec, items_b).estates)


def _value_text(t: dict[str, str], key: str, value: object) -> str:
    """A policy value as the sidebar shows it: 是/否, years without separators, 3,000 户."""
    if isinstance(value, bool):
        return t["yes"] if value else t["no"]
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and "year" not in key:
        return f"{value:,}"
    return str(value)


@st.cache_resource(show_spinner=False, max_entries=8)
def _change_colouring(
    spec: tuple, items: tuple[tuple, tuple], names: tuple[str, str], lang: str
) -> maps.EstateColouring:
    """:func:`~geo.outputs.map_colouring.change_colouring` of two cached plans (cached)."""
    return change_colouring(cached_changes(spec, *items), lang, name_a=names[0], name_b=names[1])


def change_map(
    lang: str,
    spec: tuple,
    items: tuple[tuple, tuple],
    names: tuple[str, str],
    display_choices: dict,
) -> None:
    """The map of what changes from A to B: B's estates coloured by the kind of change.

    Drawn with the app's map (:func:`geo.app.mapview.map_component_args`, its own key and cache
    entry), B's districts outlined, adjacency and the plan layer left out; unchanged estates faint.
    """
    plan_b = cached_plan(spec, items[1])
    shown = replace(
        plan_b,
        estates=plan_b.estates.drop(columns=["plan_year"], errors="ignore"),
        extra_layers={},
    )
    colouring = _change_colouring(spec, items, names, lang)
    choices = {**display_choices, "colour_by": "status"}
    options = maps.MapOptions(language=lang, show_adjacency=False, **choices)
    args = map_component_args(
        spec,
        items[1],
        tuple(sorted(asdict(options).items())),
        shown,
        colouring_key=("changes", items[0], names),
        _colouring=colouring,
        map_key=CHANGE_MAP_KEY,
    )
    show_map(args, None, None)


def scenarios_tab(
    t: dict[str, str],
    lang: str,
    spec: tuple,
    policy_items: tuple,
    display_choices: dict | None = None,
) -> None:
    """Save, compare (figures, the map of what changes, the estates), export and import scenarios."""
    saved: dict[str, tuple] = st.session_state.setdefault(SCENARIOS, {})
    c1, c2 = st.columns([3, 1])
    name = c1.text_input(t["scenario_name"], key="scenario_name").strip()
    if c2.button(t["scenario_save"], key="scenario_save") and name:
        saved[name] = policy_items
    st.download_button(
        t["scenario_export"],
        data=policy_toml(policy_items, name or "current"),
        file_name="lianpian_policy.toml",
        mime="application/toml",
        key="scenario_export",
    )
    upload = st.file_uploader(t["scenario_import"], key="u_policy", help=".toml")
    if upload is not None:
        try:
            values, hidden = import_policy(upload.name, upload.getvalue())
        except LianpianError as exc:
            show_error(t, exc)
        else:
            saved.setdefault(Path(upload.name).stem, values)
            st.button(t["scenario_use"], on_click=_apply, args=(values,), key="scenario_use")
            if hidden:
                st.warning(t["scenario_hidden"].format(keys=", ".join(hidden)))
    if len(saved) < 1:
        st.caption(t["scenario_none"])
        return
    names = list(saved)
    a, b = st.columns(2)
    first = a.selectbox(t["scenario_a"], names, key="scenario_a")
    second = b.selectbox(t["scenario_b"], ["", *names], key="scenario_b")
    items_a, items_b = saved[first], saved[second] if second else policy_items
    plan_a, plan_b = cached_plan(spec, items_a), cached_plan(spec, items_b)
    label_b = second or t["scenario_current"]
    table = pd.DataFrame({first: _figures(t, lang, plan_a), label_b: _figures(t, lang, plan_b)})
    st.dataframe(table, width="stretch", key="scenario_compare")
    labels = {key: t[label] for key, _, label, *_ in POLICY_WIDGETS}
    weights = section(lang, "weight_labels")
    labels |= {f"priority.weight_{w}": f"{t['weights']}：{weights.get(w, w)}" for w in WEIGHTS}
    differ = [
        (labels.get(k, k), _value_text(t, k, v), _value_text(t, k, dict(items_b).get(k)))
        for k, v in items_a
        if dict(items_b).get(k) != v
    ]
    if differ:
        st.dataframe(
            pd.DataFrame(differ, columns=[t["scenario_key"], first, label_b]),
            hide_index=True,
            width="stretch",
            key="scenario_values",
        )
    changes = cached_changes(spec, items_a, items_b)
    counts = change_counts(changes)
    words = CHANGE_WORDS[lang]
    moved = {k: n for k, n in counts.items() if k != "unchanged"}
    st.caption(t["scenario_changes"].format(n=sum(moved.values())))
    for col, (kind, n) in zip(st.columns(len(moved)), moved.items(), strict=True):
        col.metric(words[kind], f"{n:,}")
    st.markdown(f"**{t['scenario_map']}**")
    st.caption(t["scenario_map_help"].format(a=first, b=label_b))
    if display_choices is not None:
        change_map(lang, spec, (items_a, items_b), (first, label_b), display_choices)
    changed = changes.loc[changes["change"] != "unchanged"]
    if len(changed):
        fields = section(lang, "fields")
        district = [t["scenario_no_district"] if pd.isna(v) else v for v in changed["district_a"]]
        shown = pd.DataFrame(
            {
                fields["estate_id"]: changed["estate_id"],
                fields["name"]: changed["name"].fillna("—"),
                t["scenario_change"]: [words[k] for k in changed["change"]],
                f"{fields['status']}（{first}）": [
                    state_label(s, lang) for s in changed["state_a"]
                ],
                f"{fields['status']}（{label_b}）": [
                    state_label(s, lang) for s in changed["state_b"]
                ],
                f"{fields['district_id']}（{first}）": district,
                f"{fields['district_id']}（{label_b}）": [
                    t["scenario_no_district"] if pd.isna(v) else v for v in changed["district_b"]
                ],
            }
        )
        st.dataframe(shown, hide_index=True, width="stretch", key="scenario_changed")
