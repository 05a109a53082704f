"""The planning run: one function, one result, used by both the CLI and the app.

``load_inputs`` reads files (through :mod:`geo.io`) into :class:`PlanInputs`; :func:`run_plan`
runs the pure steps in order (units, survey join, eligibility, adjacency, districts, priority)
and returns one :class:`PlanResult`. Steps do no file access and no printing: progress goes
through the ``progress`` callback the caller passes.
"""

from __future__ import annotations

from geo.pipeline.inputs import (
    barrier_layer,
    check_reference_offset,
    load_inputs,
    read_plan_overrides,
    read_plan_table,
)
from geo.pipeline.result import (
    DATA_DIR,
    DEMO_BOUNDARIES,
    DEMO_ESTATES,
    LayerReady,
    PlanInputs,
    PlanResult,
    Progress,
    attach_plan,
    note_progress,
)
from geo.pipeline.run import district_unit_column, finish_plan, prepare_estates, rescore, run_plan

__all__ = [
    "DATA_DIR",
    "DEMO_BOUNDARIES",
    "DEMO_ESTATES",
    "LayerReady",
    "PlanInputs",
    "PlanResult",
    "Progress",
    "attach_plan",
    "barrier_layer",
    "check_reference_offset",
    "district_unit_column",
    "finish_plan",
    "load_inputs",
    "note_progress",
    "prepare_estates",
    "read_plan_overrides",
    "read_plan_table",
    "rescore",
    "run_plan",
]
