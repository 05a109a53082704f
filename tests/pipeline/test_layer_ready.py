"""run_plan hands the caller each layer it has final before the run ends (the CLI writes it ahead)."""

from __future__ import annotations

import geo.facilities.corridors
import geo.pipeline
import geo.pipeline.run
from geo.core.policy import load_policy


def test_the_estates_layer_is_handed_over_final_once_the_corridors_are_prepared(monkeypatch):
    """Handed over from inside the corridors, after their preparation, before their districts."""
    events: list[str] = []
    handed = {}

    def layer_ready(name, frame):
        events.append(f"ready {name}")
        handed[name] = frame

    corridors = geo.facilities.corridors
    plan_corridors, tasks, batch = (
        corridors.plan_corridors, corridors._district_tasks, corridors._plan_batch
    )  # fmt: skip

    def planned(*args, **kwargs):
        events.append("corridors")
        plan = plan_corridors(*args, **kwargs)
        events.append("corridors done")
        return plan

    def prepared(*args, **kwargs):
        events.append("prepared")
        return tasks(*args, **kwargs)

    def districts(*args, **kwargs):
        events.append("districts")
        return batch(*args, **kwargs)

    monkeypatch.setattr(geo.pipeline.run, "plan_corridors", planned)
    monkeypatch.setattr(corridors, "_district_tasks", prepared)
    monkeypatch.setattr(corridors, "_plan_batch", districts)
    result = geo.pipeline.run_plan(geo.pipeline.load_inputs(), layer_ready=layer_ready)
    assert events[:4] == ["corridors", "prepared", "ready estates", "districts"]
    assert events[-1] == "corridors done"
    assert events.count("ready estates") == 1
    assert handed["estates"] is result.estates  # the layer written is the one of the result
    assert next(iter(result.layers())) == "estates"  # the first layer of the file


def test_without_corridors_the_estates_layer_is_handed_over_once():
    inputs = geo.pipeline.load_inputs()
    policy = load_policy().with_values({"corridors.enabled": False})
    handed = []
    result = geo.pipeline.run_plan(inputs, policy, layer_ready=lambda n, f: handed.append((n, f)))
    assert [name for name, _ in handed] == ["estates"]
    assert handed[0][1] is result.estates
    assert "corridors" not in result.layers()


def test_without_a_caller_the_run_is_the_same():
    inputs = geo.pipeline.load_inputs()
    handed = []
    with_caller = geo.pipeline.run_plan(inputs, layer_ready=lambda n, f: handed.append(n))
    plain = geo.pipeline.run_plan(inputs)
    assert handed == ["estates"]
    assert with_caller.estates.equals(plain.estates)
    assert with_caller.districts.equals(plain.districts)
