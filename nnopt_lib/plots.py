"""Static figures of the course: loss-surface contours, optimizer paths, loss curves.

Every function draws into an existing ``ax`` when given one (so the explorers in
:mod:`nnopt_lib.widgets` and the notebooks can compose panels) and otherwise makes a new
figure. Functions return the figure (``contour`` returns the axes, since it is mostly a
building block) and never call ``plt.show()``: the notebook decides when to show.

Conventions shared by the figures:

* The view is always the surface's plot window (``surface.xlim`` / ``surface.ylim``). A run
  that diverges leaves the window instead of stretching the axes to 1e12.
* Diverged runs are dashed and their legend entry says ``"diverged at step k"``.
* Surfaces whose values span many decades (``surface.log_contours``) get log-spaced contour
  levels; with evenly spaced levels, the valley floor of Rosenbrock would be one blank region.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = [
    "contour",
    "contour_levels",
    "finite_path",
    "legend_label",
    "surface_title",
    "loss_curves",
    "trajectories",
]

#: Line colours, in the order optimizers are listed (matplotlib's default cycle).
COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]

#: How far outside the plot window (in window widths) a drawn path is clamped; far enough to
#: leave the view in the right direction, near enough that the renderer never sees 1e300.
_CLAMP_WINDOWS = 10.0


def contour_levels(surface: Any, z: np.ndarray, levels: int = 30) -> np.ndarray:
    """Contour levels for the values ``z`` of ``surface`` on its plot window.

    Log-spaced above the known minimum when ``surface.log_contours`` (levels at
    ``f* + 10^k``), evenly spaced otherwise. Log levels start at the smallest positive
    ``f - f*`` on the grid but no lower than ``1e-6`` times the largest, so the levels are
    not wasted on a microscopic basin around the minimum.
    """
    finite = z[np.isfinite(z)]
    lo, hi = float(finite.min()), float(finite.max())
    if not surface.log_contours:
        return np.linspace(lo, hi, levels)
    floor = surface.min_value if np.isfinite(surface.min_value) else lo
    excess = finite - floor
    positive = excess[excess > 0]
    top = float(positive.max())
    bottom = max(float(positive.min()), top * 1e-6)
    return floor + np.geomspace(bottom, top, levels)


def contour(surface: Any, *, ax: Axes | None = None, levels: int = 30) -> Axes:
    """Contour lines of ``surface`` over its plot window, with its minima as stars.

    Levels come from :func:`contour_levels` (log-spaced when ``surface.log_contours``).
    Colours run from dark (low) to light (high) by level *index*, so log-spaced levels use
    the whole colour map. Returns the axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.5), layout="constrained")
    x, y, z = surface.grid()
    level_values = contour_levels(surface, z, levels)
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.95, len(level_values)))
    ax.contour(x, y, z, levels=level_values, colors=colors, linewidths=0.8)
    if surface.minima:
        mx, my = np.array(surface.minima, dtype=float).T
        label = "minimum" if len(surface.minima) == 1 else "minima"
        ax.plot(mx, my, linestyle="none", marker="*", markersize=14, color="gold",
                markeredgecolor="black", zorder=5, label=label)
    ax.set_xlim(surface.xlim)
    ax.set_ylim(surface.ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(surface_title(surface), fontsize="medium")
    return ax


def surface_title(surface: Any) -> str:
    """The surface's title on two lines, name then formula (formulas are long)."""
    return surface.title.replace("  ", "\n", 1)


def finite_path(surface: Any, points: np.ndarray) -> np.ndarray:
    """The drawable part of a path: finite points, clamped to a box around the plot window.

    A diverging run ends far away (up to the blow-up bound) or at NaN. Dropping non-finite
    points and clamping the rest to a box ``_CLAMP_WINDOWS`` window-sizes wide keeps the last
    segment pointing the right way off-screen while the renderer only sees modest numbers.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    points = points[np.all(np.isfinite(points), axis=1)]
    lo = np.array([surface.xlim[0], surface.ylim[0]], dtype=float)
    hi = np.array([surface.xlim[1], surface.ylim[1]], dtype=float)
    margin = _CLAMP_WINDOWS * (hi - lo)
    return np.clip(points, lo - margin, hi + margin)


def legend_label(name: str, run: Any) -> str:
    """``name``, plus ``" (diverged at step k)"`` when ``run.diverged_at`` is set."""
    diverged_at = getattr(run, "diverged_at", None)
    return name if diverged_at is None else f"{name} (diverged at step {diverged_at})"


def trajectories(
    surface: Any, trajs: Mapping[str, Any], *, ax: Axes | None = None
) -> Figure:
    """Paths of several optimizers over the contour plot of ``surface``.

    ``trajs`` maps a legend name to a :class:`nnopt_lib.trajectory.Trajectory`. Each path is
    a line from a hollow circle (its start) to a dot (where it stopped); a diverged run is
    dashed and labelled ``"name (diverged at step k)"``. The view stays on the surface's
    window. Returns the figure.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.8), layout="constrained")
    contour(surface, ax=ax)
    for i, (name, run) in enumerate(trajs.items()):
        color = COLORS[i % len(COLORS)]
        path = finite_path(surface, run.points)
        if len(path) == 0:
            continue
        style = "--" if run.diverged_at is not None else "-"
        ax.plot(path[:, 0], path[:, 1], linestyle=style, color=color, linewidth=1.6,
                marker="o", markevery=[len(path) - 1], markersize=5, label=legend_label(name, run))
        ax.plot(path[0, 0], path[0, 1], linestyle="none", marker="o", markersize=8,
                markerfacecolor="white", markeredgecolor=color, markeredgewidth=1.5, zorder=4)
    # One neutral legend entry for every start marker (each is drawn in its run's colour).
    ax.plot([], [], linestyle="none", marker="o", markersize=8, markerfacecolor="white",
            markeredgecolor="0.25", markeredgewidth=1.5, label="start")
    # contour() already set the window; plotting must not have widened it.
    ax.set_xlim(surface.xlim)
    ax.set_ylim(surface.ylim)
    ax.legend(loc="best", fontsize="small")
    ax.set_title(f"{surface_title(surface)}  ({len(trajs)} optimizer paths)", fontsize="medium")
    return ax.figure


def _losses(run: Any) -> np.ndarray:
    """Per-step losses of a Trajectory (``.losses``), a training History (``.loss``) or an array."""
    for attribute in ("losses", "loss"):
        values = getattr(run, attribute, None)
        if values is not None:
            return np.asarray(values, dtype=float)
    return np.asarray(run, dtype=float)


def loss_curves(
    trajs_or_histories: Mapping[str, Any], *, ax: Axes | None = None, log: bool = True
) -> Figure:
    """Loss against step for several runs, one line each.

    Values may be :class:`~nnopt_lib.trajectory.Trajectory` objects (``.losses``), training
    histories (``.loss``) or plain arrays. Diverged runs (``diverged_at`` set) are dashed with
    ``"diverged at step k"`` in the legend. The top of the y-axis is at most ten times the
    largest starting loss (log scale), so a blown-up run leaves the plot instead of squashing
    the others into the bottom pixel. With ``log=True`` and no positive loss at all (e.g. the
    saddle, whose loss runs to -inf), the axis falls back to linear; a linear axis reaches
    down to the lowest loss of the runs that did not diverge.
    Returns the figure.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    curves = {name: _losses(run) for name, run in trajs_or_histories.items()}
    finite = [c[np.isfinite(c)] for c in curves.values()]
    finite = [c for c in finite if c.size]
    use_log = log and any(np.any(c > 0) for c in finite)
    for i, (name, run) in enumerate(trajs_or_histories.items()):
        values = curves[name]
        style = "--" if getattr(run, "diverged_at", None) is not None else "-"
        # Masking non-finite (and, on a log axis, non-positive) values leaves gaps instead of
        # making matplotlib warn or draw to infinity.
        bad = ~np.isfinite(values) | ((values <= 0) if use_log else False)
        ax.plot(np.arange(len(values)), np.ma.masked_where(bad, values), linestyle=style,
                color=COLORS[i % len(COLORS)], linewidth=1.6, label=legend_label(name, run))
    if use_log:
        ax.set_yscale("log")
    if finite:
        starts = [c[0] for c in finite]
        if use_log:
            positive_starts = [s for s in starts if s > 0]
            if positive_starts:
                ax.set_ylim(top=10.0 * max(positive_starts))
        else:
            # bottom: the lowest value of a run that did not diverge (a diverged run on an
            # unbounded surface heads for -1e12); with none, ten units below the start
            settled = [curves[name][np.isfinite(curves[name])] for name, run in
                       trajs_or_histories.items() if getattr(run, "diverged_at", None) is None]
            settled = [c for c in settled if c.size]
            high = max(starts)
            low = (min(float(c.min()) for c in settled) if settled
                   else min(starts) - 10.0 * max(1.0, abs(high)))
            span = high - low + 1e-12
            ax.set_ylim(low - 0.05 * span, high + 0.1 * span)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (log scale)" if use_log else "loss")
    ax.set_title("Loss against step")
    if curves:
        ax.legend(loc="best", fontsize="small")
    return ax.figure
