"""run_plan hands the caller each layer it has final before the run ends (the CLI writes it ahead)."""

from __future__ import annotations

import geo.facilities.corridors
import geo.pipeline
import geo.pipeline.run


def test_the_estates_layer_is_handed_over_final_before_the_corridors(monkeypatch):
    events: list[str] = []
    handed = {}

    def layer_ready(name, frame):
        events.append(f"ready {name}")
        handed[name] = frame

    plan_corridors = geo.facilities.corridors.plan_corridors

    def corridors(*args, **kwargs):
        events.append("corridors")
        return plan_corridors(*args, **kwargs)

    monkeypatch.setattr(geo.pipeline.run, "plan_corridors", corridors)
    result = geo.pipeline.run_plan(geo.pipeline.load_inputs(), layer_ready=layer_ready)
    assert events == ["ready estates", "corridors"]
    assert handed["estates"] is result.estates  # the layer written is the one of the result
    assert next(iter(result.layers())) == "estates"  # the first layer of the file


def test_without_a_caller_the_run_is_the_same():
    inputs = geo.pipeline.load_inputs()
    handed = []
    with_caller = geo.pipeline.run_plan(inputs, layer_ready=lambda n, f: handed.append(n))
    plain = geo.pipeline.run_plan(inputs)
    assert handed == ["estates"]
    assert with_caller.estates.equals(plain.estates)
    assert with_caller.districts.equals(plain.districts)
