"""Control makers for the explorers: sliders, a dropdown and a row of checkboxes.

Every slider redraws on release (``continuous_update=False``), so a slow kernel (Binder) is
never flooded with stale redraws while a slider is dragged. Descriptions get their full width
(``description_width: initial``) because the course's labels ("learning rate", "momentum / β₁")
are longer than ipywidgets' default label column.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Sequence
from typing import Any

import ipywidgets
import traitlets

__all__ = [
    "CheckboxGroup",
    "checkboxes",
    "dropdown",
    "int_slider",
    "log_slider",
    "move_slider_window",
    "readable_step",
    "slider",
]

_STYLE = {"description_width": "initial"}


def _decimals(number: float) -> int:
    """Digits after the decimal point in the shortest repr of ``number`` (0.25 -> 2)."""
    exponent = decimal.Decimal(repr(float(number))).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def slider(lo: float, hi: float, *, step: float, value: float, description: str
           ) -> ipywidgets.FloatSlider:
    """A float slider from ``lo`` to ``hi``.

    The readout shows as many decimals as the step and the ends have, so β₂ = 0.999 on a
    0.001 grid reads "0.999", not ipywidgets' default "1.00".
    """
    places = max(_decimals(step), _decimals(lo), _decimals(hi))
    return ipywidgets.FloatSlider(min=lo, max=hi, step=step, value=value,
                                  description=description, readout_format=f".{places}f",
                                  continuous_update=False, style=_STYLE)


def int_slider(lo: int, hi: int, *, step: int = 1, value: int, description: str
               ) -> ipywidgets.IntSlider:
    """An integer slider from ``lo`` to ``hi``."""
    return ipywidgets.IntSlider(min=lo, max=hi, step=step, value=value,
                                description=description, continuous_update=False,
                                style=_STYLE)


def log_slider(lo: float, hi: float, *, value: float, description: str
               ) -> ipywidgets.FloatLogSlider:
    """A slider whose position is log10 of the value (for learning rates, ε, ...).

    Twenty positions per decade; the readout is editable (type ``0.5`` and press Enter).
    """
    if not 0 < lo < hi:
        raise ValueError(f"log_slider needs 0 < lo < hi, got lo={lo}, hi={hi}")
    return ipywidgets.FloatLogSlider(base=10, min=math.log10(lo), max=math.log10(hi),
                                     step=0.05, value=value, description=description,
                                     readout_format=".3g", continuous_update=False,
                                     style=_STYLE)


def dropdown(options: Sequence[Any], *, value: Any, description: str) -> ipywidgets.Dropdown:
    """Choose one of ``options``."""
    return ipywidgets.Dropdown(options=list(options), value=value, description=description,
                               style=_STYLE)


class CheckboxGroup(ipywidgets.HBox):
    """A row of checkboxes whose ``value`` is the tuple of ticked options (in option order).

    A multi-select list needs Ctrl-click, which learners rarely discover; checkboxes do not.
    ``value`` is a traitlet, so ``observe(..., names="value")`` works as for any control.
    """

    value = traitlets.Tuple()

    def __init__(self, options: Sequence[str], *, value: Sequence[str], description: str):
        self.options = tuple(options)
        unknown = [v for v in value if v not in self.options]
        if unknown:
            raise ValueError(f"checkboxes: value {unknown} not among options {self.options}")
        self.description = description
        self._boxes = {
            # a gap after each label, so "☑ sgd" and "☑ momentum" read as two boxes
            name: ipywidgets.Checkbox(value=name in value, description=str(name), indent=False,
                                      layout=ipywidgets.Layout(width="auto",
                                                               margin="0 14px 0 0"))
            for name in self.options
        }
        label = ipywidgets.Label(description, layout=ipywidgets.Layout(margin="0 10px 0 0"))
        super().__init__([label, *self._boxes.values()],
                         layout=ipywidgets.Layout(flex_flow="row wrap", align_items="center"))
        self.value = tuple(name for name in self.options if name in value)
        for box in self._boxes.values():
            box.observe(self._box_changed, names="value")

    def _box_changed(self, change: dict) -> None:
        self.value = tuple(name for name, box in self._boxes.items() if box.value)

    @traitlets.observe("value")
    def _value_changed(self, change: dict) -> None:
        ticked = set(change["new"])
        unknown = ticked - set(self.options)
        if unknown:
            raise ValueError(f"checkboxes: {sorted(unknown)} not among options {self.options}")
        for name, box in self._boxes.items():
            box.value = name in ticked  # no-op (no event) where it already agrees


def checkboxes(options: Sequence[str], *, value: Sequence[str], description: str
               ) -> CheckboxGroup:
    """Tick any subset of ``options``; the control's value is the tuple of ticked ones."""
    return CheckboxGroup(options, value=value, description=description)


def readable_step(window: tuple[float, float]) -> float:
    """Slider step: about 200 positions across the window, rounded to a readable number."""
    raw = (window[1] - window[0]) / 200
    return float(f"{raw:.1g}")


def move_slider_window(control: ipywidgets.FloatSlider, window: tuple[float, float],
                       value: float) -> None:
    """Move a slider to a new window and value without ever having min > max on the way.

    ipywidgets validates ``min``/``max``/``value`` one assignment at a time, so moving from
    (-2, 2) to (3, 5) by setting ``min`` first would be refused; widen, set, then narrow.
    """
    control.min = min(control.min, window[0])
    control.max = max(control.max, window[1])
    control.step = readable_step(window)
    control.value = value
    control.min, control.max = window
