"""Gradio components whose own checks name the field at fault.

Gradio checks a value against its component (a slider's range, a dropdown's choices) before the
handler runs, and by default reports only "Error". These subclasses report the same refusal as
`inputs.field_error` does: 'duration: expected a number from 1 to 10, got 60', titled with the
control's label. `name_fields` tells each control which handler parameter it feeds.

They are templates of the Gradio components they extend (same front end, same API types).
"""
from __future__ import annotations

import typing as tp

import gradio as gr

from .inputs import field_error

__all__ = ["CheckedSlider", "CheckedNumber", "CheckedDropdown", "CheckedCheckboxGroup", "ModelDropdown", "name_fields",
           "field_of"]


def field_of(component: gr.components.Component) -> str:
    """The handler parameter a control feeds (set by `name_fields`), else its label."""
    return getattr(component, "field", None) or str(component.label)


def name_fields(controls: tp.Mapping[str, gr.components.Component]) -> None:
    """Record on each control the name of the handler parameter it feeds."""
    for name, component in controls.items():
        component.field = name


def _checked(component, preprocess: tp.Callable, payload, expected: str):
    try:
        return preprocess(payload)
    except (gr.Error, TypeError, ValueError):
        raise field_error(field_of(component), f"expected {expected}, got {payload!r}") from None


def _whole_steps(component) -> bool:
    """A slider whose steps and lowest value are whole numbers takes whole numbers only."""
    step, low = getattr(component, "step", None), getattr(component, "minimum", None)
    return bool(step) and float(step).is_integer() and low is not None and float(low).is_integer()


class CheckedSlider(gr.Slider):
    """A slider that names its field when it refuses a value; a slider of whole steps (steps=1 from
    1) refuses 2.5 (the page's script rounds a typed 2.5 and says so)."""
    is_template = True

    def preprocess(self, payload):
        whole = _whole_steps(self)
        expected = f"{'a whole number' if whole else 'a number'} from {self.minimum:g} to {self.maximum:g}"
        if isinstance(payload, str):
            payload = _checked(self, float, payload, expected)
        value = _checked(self, super().preprocess, payload, expected)
        if whole and isinstance(value, float) and not value.is_integer():
            raise field_error(field_of(self), f"expected {expected}, got {payload!r}")
        return int(value) if whole and isinstance(value, float) else value


class CheckedNumber(gr.Number):
    is_template = True

    def preprocess(self, payload):
        span = f"from {self.minimum:g} to {self.maximum:g}" if self.minimum is not None and self.maximum is not None else ""
        expected = f"{'a whole number' if self.precision == 0 else 'a number'} {span}".strip()
        if isinstance(payload, str):
            payload = _checked(self, float, payload, expected)
        return _checked(self, super().preprocess, payload, expected)


class CheckedDropdown(gr.Dropdown):
    is_template = True

    def preprocess(self, payload):
        names = ", ".join(repr(value) for _, value in self.choices)
        return _checked(self, super().preprocess, payload, f"one of {names}")


class CheckedCheckboxGroup(gr.CheckboxGroup):
    is_template = True

    def preprocess(self, payload):
        names = ", ".join(repr(value) for _, value in self.choices)
        return _checked(self, super().preprocess, payload, f"a list of some of {names}")


class ModelDropdown(gr.Dropdown):  # a template of a core component: Gradio looks up the front end of the base
    """The model menu: it offers the models that can be chosen, and passes any model name on to
    the handler, which refuses an unavailable or unknown one saying why (`ModelMenu.use`). Gradio
    rebuilds a component from its page config when an event updates it (the menu after a switch),
    so what this needs lives on the class: its field is 'model'."""
    is_template = True
    field = "model"

    def preprocess(self, payload):
        if isinstance(payload, str):
            return payload
        names = ", ".join(repr(value) for _, value in self.choices)
        return _checked(self, super().preprocess, payload, f"one of {names}")
