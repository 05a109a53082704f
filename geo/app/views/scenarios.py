"""The 方案 (scenarios) tab: name the current policy, compare two, export/import policy TOML.

A scenario is the sidebar's policy values. Exported, it is the full policy TOML the command line
takes (``lianpian plan --policy scenario.toml``); imported, a policy TOML sets the sidebar (keys
the sidebar has no widget for are reported, not silently dropped). May import geo.app.state,
geo.app.text, geo.core.policy, geo.outputs.maps, pandas and streamlit.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from geo.app.messages import show_error
from geo.app.state import cached_plan, policy_defaults
from geo.app.text import section
from geo.core.errors import LianpianError
from geo.core.policy import default_policy, load_policy
from geo.outputs import maps

#: Session key of the saved scenarios: {name: policy_items}.
SCENARIOS = "scenarios"


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
    out = {maps.status_label(k, lang): f"{v:,}" for k, v in s["by_status"].items()}
    out[t["districts"]] = f"{s['districts']:,}"
    out[t["with_unit"].format(label=t["hh_in"], unit=t["unit_hh"])] = (
        f"{s['households_in_districts']:,}"
    )
    out[t["with_unit"].format(label=t["invest"], unit=t["unit_wan"])] = (
        f"{s['investment_in_districts_yuan'] / 1e4:,.0f}"
    )
    return out


def changed_estates(a, b) -> pd.DataFrame:
    """Estates whose status or district differ between two plans of the same data."""
    left = a.estates.set_index("estate_id")[["name", "status", "district_id"]]
    right = b.estates.set_index("estate_id")[["status", "district_id"]].add_suffix("_b")
    both = left.join(right, how="inner")
    moved = (both["status"].astype(str) != both["status_b"].astype(str)) | (
        both["district_id"].astype(str) != both["district_id_b"].astype(str)
    )
    return both.loc[moved].reset_index()


def scenarios_tab(t: dict[str, str], lang: str, spec: tuple, policy_items: tuple) -> None:
    """Save, compare, export and import scenarios."""
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
    plan_a = cached_plan(spec, saved[first])
    plan_b = cached_plan(spec, saved[second] if second else policy_items)
    label_b = second or t["scenario_current"]
    table = pd.DataFrame({first: _figures(t, lang, plan_a), label_b: _figures(t, lang, plan_b)})
    st.dataframe(table, width="stretch", key="scenario_compare")
    changes = changed_estates(plan_a, plan_b)
    st.caption(t["scenario_changes"].format(n=len(changes)))
    if len(changes):
        labels = section(lang, "fields")
        shown = pd.DataFrame(
            {
                labels["estate_id"]: changes["estate_id"],
                labels["name"]: changes["name"],
                f"{labels['status']} A": [
                    maps.status_label(str(v), lang) for v in changes["status"]
                ],
                f"{labels['status']} B": [
                    maps.status_label(str(v), lang) for v in changes["status_b"]
                ],
                f"{labels['district_id']} A": changes["district_id"].astype("string").fillna("—"),
                f"{labels['district_id']} B": changes["district_id_b"].astype("string").fillna("—"),
            }
        )
        st.dataframe(shown, hide_index=True, width="stretch", key="scenario_changed")
    differ = [
        (k, v, dict(plan_b_items)[k])
        for plan_b_items in [saved[second] if second else policy_items]
        for k, v in saved[first]
        if dict(plan_b_items).get(k) != v
    ]
    if differ:
        st.dataframe(
            pd.DataFrame(differ, columns=[t["scenario_key"], first, label_b]),
            hide_index=True,
            width="stretch",
        )
