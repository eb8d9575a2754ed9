"""Components whose own checks name the field: what Gradio refuses is reported against the control."""
from __future__ import annotations

import gradio as gr
import pytest

from demo.components import CheckedCheckboxGroup, CheckedDropdown, CheckedNumber, CheckedSlider, field_of, name_fields


def refusal(component, payload) -> gr.Error:
    with pytest.raises(gr.Error) as info:
        component.preprocess(payload)
    return info.value


def test_values_in_range_pass_and_numeric_text_is_read():
    duration = CheckedSlider(1, 10, label="Duration (s)")
    seed = CheckedNumber(label="Seed", precision=0, minimum=0, maximum=100)
    assert duration.preprocess(5) == 5 and duration.preprocess("4.5") == 4.5
    assert seed.preprocess("7") == 7 and seed.preprocess(7.0) == 7
    assert CheckedDropdown(["euler", "dopri5"], label="Method").preprocess("dopri5") == "dopri5"
    assert CheckedCheckboxGroup(["Euler 4", "RK4 8"], label="Runs").preprocess(["RK4 8"]) == ["RK4 8"]


def test_refusals_name_the_handler_parameter_and_the_expected_form():
    controls = dict(duration=CheckedSlider(1, 10, label="Duration (s)"),
                    seed=CheckedNumber(label="Seed", precision=0, minimum=0, maximum=100),
                    solver=CheckedDropdown([("Euler", "euler"), ("dopri5", "dopri5")], label="Method"),
                    runs=CheckedCheckboxGroup(["Euler 4", "RK4 8"], label="Runs"))
    name_fields(controls)
    assert [field_of(c) for c in controls.values()] == list(controls)
    err = refusal(controls["duration"], 60)
    assert err.message == "duration: expected a number from 1 to 10, got 60"
    assert err.title == "Check \u201cDuration\u201d"  # the label of the field, as for the library's errors
    assert refusal(controls["duration"], "long").message == "duration: expected a number from 1 to 10, got 'long'"
    assert refusal(controls["seed"], "x").message == "seed: expected a whole number from 0 to 100, got 'x'"
    assert refusal(controls["solver"], "heun").message == "solver: expected one of 'euler', 'dopri5', got 'heun'"
    err = refusal(controls["runs"], ["Euler 5"])
    assert err.message == "runs: expected a list of some of 'Euler 4', 'RK4 8', got ['Euler 5']"
    assert err.title == "Check \u201cRuns to compare\u201d"


def test_a_control_without_a_field_is_named_by_its_label():
    err = refusal(CheckedSlider(0, 1, label="Mix"), 2)
    assert err.message == "Mix: expected a number from 0 to 1, got 2"


def test_checked_components_keep_the_gradio_front_end():
    assert CheckedSlider(0, 1).get_block_name() == "slider"
    assert CheckedCheckboxGroup(["a"]).get_block_name() == "checkboxgroup"
