"""Slider explorers for the notebooks: the only package of nnopt_lib that imports ipywidgets.

One module per job, one file per explorer:

* :mod:`~nnopt_lib.widgets.controls`: the control makers (:func:`slider`, :func:`log_slider`,
  :func:`int_slider`, :func:`dropdown`, :func:`checkboxes`).
* :mod:`~nnopt_lib.widgets.explorer`: :func:`explore` turns any matplotlib figure plus an
  ``update(**values)`` function into an :class:`Explorer` (controls, the figure, a status
  line) that redraws in place; its docstring explains how a redraw works and why it is fast.
* :mod:`~nnopt_lib.widgets.trajectory_explorer`: :class:`TrajectoryExplorer`, optimizer paths
  over a loss surface plus their loss curves, with sliders for the learning rate,
  momentum/β₁, steps and start point.

Every explorer is legible on a 1024x768 projector: its figure is fitted to the notebook
column (:func:`nnopt_lib.plots.fit_to_column`: at most 7 in wide, no text under 9 pt), its
controls keep a gap between them, and a control that would change nothing is hidden
(:meth:`Explorer.show_control`). ``tests/test_browser_explorers.py`` checks all of it in
JupyterLab.

A new explorer goes in a file of its own that subclasses :class:`Explorer`, and its public
names are re-exported here, so notebooks keep writing ``widgets.X``.

``PRESETS`` (the trajectory explorer's named optimizers) lives with the optimizers, in
:mod:`nnopt_lib.optim.presets`; it is re-exported here for the notebooks that used it from
this module.
"""

from nnopt_lib.optim.presets import PRESETS
from nnopt_lib.widgets.controls import (
    CheckboxGroup,
    checkboxes,
    dropdown,
    int_slider,
    log_slider,
    slider,
)
from nnopt_lib.widgets.explorer import Explorer, explore
from nnopt_lib.widgets.trajectory_explorer import TrajectoryExplorer

__all__ = [
    "PRESETS",
    "CheckboxGroup",
    "Explorer",
    "TrajectoryExplorer",
    "checkboxes",
    "dropdown",
    "explore",
    "int_slider",
    "log_slider",
    "slider",
]
