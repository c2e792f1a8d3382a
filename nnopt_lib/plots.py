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
* A surface may be given by name (``"rosenbrock"``), as to :func:`nnopt_lib.trajectory.run`.
* Bad arguments raise before anything is drawn: ``TypeError`` for a value of the wrong kind,
  ``ValueError`` for one out of range, each naming the argument.
* Contour panels have equal aspect (one unit is as long in x as in y), so a gradient is
  drawn perpendicular to its contour line, as it is.

Legible on a projector
----------------------
At 1024x768 with JupyterLab's file browser open (a common lecture-hall projector) the
notebook column is about 585 px wide; an image wider than that is scaled down to fit. A
figure ``W`` inches wide at 100 dpi is therefore shown at ``585 / (100 W)`` of its size, and a
font of ``p`` points at ``p * 100/72 * 585/(100 W)`` pixels. Text below 9 px cannot be read
from the back of a hall. The course keeps figures at most :data:`COLUMN_WIDTH_IN` = 7 in
wide (shown at 84 %) and text at least :data:`MIN_FONT_PT` = 9 pt (10.4 px on screen).
Importing this module applies :data:`COURSE_STYLE` (larger default fonts, a 7-in default
figure); :func:`fit_to_column` narrows a wider figure and raises smaller text (the explorers
call it on their figure), and :func:`smallest_text_px` measures the result.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

from nnopt_lib import surfaces
from nnopt_lib.history import History

__all__ = [
    "COLUMN_WIDTH_IN",
    "COURSE_STYLE",
    "MIN_FONT_PT",
    "contour",
    "contour_levels",
    "finite_path",
    "fit_to_column",
    "legend_label",
    "surface_title",
    "loss_curves",
    "smallest_text_px",
    "trajectories",
]

#: Line colours, in the order optimizers are listed (matplotlib's default cycle).
COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]

#: Widest figure, in inches, that a 1024x768 projector shows at >= 84 % (see module doc).
COLUMN_WIDTH_IN = 7.0
#: Smallest font, in points: 9 pt at 100 dpi is 12.5 px, 10.4 px once scaled to the column.
MIN_FONT_PT = 9.0
#: The course's matplotlib style, applied when this module is imported. Relative sizes
#: ("small" = 0.833 x 11 pt = 9.2 pt) stay at or above MIN_FONT_PT.
COURSE_STYLE = {
    "figure.figsize": (COLUMN_WIDTH_IN, 4.0),
    "font.size": 11.0,
    "axes.titlesize": "medium",
    "axes.labelsize": "medium",
    "xtick.labelsize": "small",
    "ytick.labelsize": "small",
    "legend.fontsize": "small",
    "figure.titlesize": "large",
    "lines.linewidth": 1.8,
}
plt.rcParams.update(COURSE_STYLE)


def _visible_texts(artist: Any) -> Iterator[Text]:
    """The non-empty texts under ``artist`` that are drawn: a hidden legend or axes hides
    its texts too (``findobj`` would still list them)."""
    if not artist.get_visible():
        return
    if isinstance(artist, Text) and artist.get_text().strip():
        yield artist
    for child in artist.get_children():
        yield from _visible_texts(child)


def smallest_text_px(fig: Figure, dpi: float | None = None) -> float | None:
    """The font size, in pixels of an image saved at ``dpi`` (default: the figure's), of
    the smallest visible text in ``fig``; ``None`` when it has no text.

    A font of ``p`` points is ``p * dpi / 72`` pixels tall (its em size, what CSS calls
    ``font-size``). Multiply by the scale at which the browser shows the image to get the
    size on screen.
    """
    sizes = [t.get_fontsize() for t in _visible_texts(fig)]
    if not sizes:
        return None
    return min(sizes) * (fig.dpi if dpi is None else dpi) / 72.0


def fit_to_column(fig: Figure, *, width: float = COLUMN_WIDTH_IN,
                  min_font: float = MIN_FONT_PT) -> Figure:
    """Make ``fig`` legible in a projector's notebook column; returns it.

    A figure wider than ``width`` inches is narrowed to ``width`` (its height is kept, so
    panels get narrower, not flatter); every text smaller than ``min_font`` points is raised
    to it. Call it before the figure is first drawn, so the layout engine (constrained or
    tight) places the larger text.
    """
    if width <= 0 or min_font <= 0:
        raise ValueError(f"fit_to_column needs width > 0 and min_font > 0, got width={width}, "
                         f"min_font={min_font}")
    current_width, height = fig.get_size_inches()
    if current_width > width:
        fig.set_size_inches(width, height, forward=False)
    for text in fig.findobj(Text):
        if text.get_fontsize() < min_font:
            text.set_fontsize(min_font)
    return fig

#: How far outside the plot window (in window widths) a drawn path is clamped; far enough to
#: leave the view in the right direction, near enough that the renderer never sees 1e300.
_CLAMP_WINDOWS = 10.0


def _surface(surface: Any) -> surfaces.Surface:
    """``surface`` itself, or the surface of that name (``surfaces.get``)."""
    if isinstance(surface, str):
        return surfaces.get(surface)
    if not isinstance(surface, surfaces.Surface):
        raise TypeError(f"surface must be a Surface or one of the names "
                        f"{sorted(surfaces.SURFACES)}, got {type(surface).__name__} {surface!r}")
    return surface


def _check_levels(levels: Any) -> int:
    """The number of contour lines: an integer >= 1 (numpy integers too, not a bool)."""
    if isinstance(levels, bool) or not isinstance(levels, numbers.Integral):
        raise TypeError(f"levels must be an integer >= 1 (the number of contour lines), got "
                        f"{type(levels).__name__} {levels!r}")
    if levels < 1:
        raise ValueError(f"levels must be an integer >= 1 (the number of contour lines), "
                         f"got {levels}")
    return int(levels)


def _check_mapping(value: Any, argument: str, function: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{function}: {argument} must be a dict mapping a legend name to a run, "
                        f"e.g. {{'Adam': history}}; got {type(value).__name__}")
    return value


def contour_levels(surface: Any, z: np.ndarray, levels: int = 30) -> np.ndarray:
    """Contour levels for the values ``z`` of ``surface`` on its plot window.

    Log-spaced above the known minimum when ``surface.log_contours`` (levels at
    ``f* + 10^k``), evenly spaced otherwise. Log levels start at the smallest positive
    ``f - f*`` on the grid but no lower than ``1e-6`` times the largest, so the levels are
    not wasted on a microscopic basin around the minimum. ``levels``: how many, an integer
    >= 1.
    """
    levels = _check_levels(levels)
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


def contour(surface: Any, *, ax: Axes | None = None, levels: int = 30,
            equal_aspect: bool = True) -> Axes:
    """Contour lines of ``surface`` (a Surface or its name) over its plot window, with its
    minima as stars.

    ``levels`` (an integer >= 1) lines come from :func:`contour_levels` (log-spaced when
    ``surface.log_contours``). Colours run from dark (low) to light (high) by level *index*,
    so log-spaced levels use the whole colour map. With ``equal_aspect`` (the default) one
    unit has the same length along x and y, so gradients look perpendicular to the contour
    lines (the axes box shrinks to fit; it is not stretched). Returns the axes.
    """
    surface = _surface(surface)
    _check_levels(levels)  # before a figure is made
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.5), layout="constrained")
    if equal_aspect:
        ax.set_aspect("equal", adjustable="box")
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

    ``surface`` is a Surface or its name. ``trajs`` maps a legend name to the
    :class:`~nnopt_lib.history.History` of a :func:`nnopt_lib.trajectory.run` (anything else,
    a bare array of points included, raises ``TypeError``). Each path is
    a line from a hollow circle (its start) to a dot (where it stopped); a diverged run is
    dashed and labelled ``"name (diverged at step k)"``. The view stays on the surface's
    window. Returns the figure.
    """
    surface = _surface(surface)
    _check_mapping(trajs, "trajs", "trajectories")
    for name, run in trajs.items():
        if not isinstance(run, History) or run.points is None:
            raise TypeError(f"trajectories: trajs[{name!r}] must be the History of a "
                            f"trajectory.run (with points), got {type(run).__name__}")
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


#: Loss values are drawn no larger than this: matplotlib's scale and margin arithmetic
#: overflows (with a RuntimeWarning) for data and ticks near the float64 maximum, ~1.8e308.
_LARGEST_DRAWN = 1e250


def _loss_values(run: Any) -> np.ndarray:
    """The per-step losses of a :class:`~nnopt_lib.history.History` or of a 1-D array."""
    if isinstance(run, History):
        return np.asarray(run.loss, dtype=float)
    try:
        values = np.asarray(run, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            f"loss_curves takes History objects or 1-D arrays of losses, got {type(run).__name__}"
        ) from None
    if values.ndim != 1:
        raise ValueError(f"a loss curve must be 1-D, got an array of shape {values.shape}")
    return values


def _diverged(run: Any) -> bool:
    return isinstance(run, History) and run.diverged


def loss_curves(
    trajs_or_histories: Mapping[str, Any], *, ax: Axes | None = None, log: bool = True
) -> Figure:
    """Loss against step for several runs, one line each.

    ``trajs_or_histories`` is a dict from legend name to run (``TypeError`` otherwise); the
    runs may be :class:`~nnopt_lib.history.History` objects (from ``trajectory.run`` or
    ``training.fit``; their ``loss``) or plain 1-D arrays. Diverged runs (``diverged_at`` set)
    are dashed with ``"diverged at step k"`` in the legend. The top of the y-axis is at most
    ten times the largest starting loss (log scale), so a blown-up run leaves the plot instead
    of squashing the others into the bottom pixel; values beyond the view (inf included) are
    drawn just outside it, NaN leaves a gap. With ``log=True`` and no positive loss at all
    (e.g. the saddle, whose loss runs to -inf), the axis falls back to linear; a linear axis
    reaches down to the lowest loss of the runs that did not diverge. No input, however
    large, makes matplotlib warn. Returns the figure.
    """
    _check_mapping(trajs_or_histories, "trajs_or_histories", "loss_curves")
    curves = {name: _loss_values(run) for name, run in trajs_or_histories.items()}
    if ax is None:  # after the checks: a refused input leaves no empty figure behind
        _, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    # every limit below is computed from finite values of modest size
    finite = {name: np.clip(c[np.isfinite(c)], -_LARGEST_DRAWN, _LARGEST_DRAWN)
              for name, c in curves.items()}
    use_log = log and any(np.any(c > 0) for c in finite.values())
    if use_log:
        low, high = _log_limits(list(finite.values()))
    elif any(c.size for c in finite.values()):
        settled = [finite[name] for name, run in trajs_or_histories.items()
                   if not _diverged(run)]
        low, high = _linear_limits(list(finite.values()), settled)
    else:
        low, high = 0.0, 1.0  # nothing finite to draw
    # off-scale values (inf too) are pinned just outside the view, so a blow-up visibly leaves
    # the plot; on a log axis non-positive values cannot be drawn and are masked like NaN
    pin_low, pin_high = (low / 10, high * 10) if use_log else (low - (high - low),
                                                               high + (high - low))
    # limits first: with them fixed, matplotlib does not autoscale over the pinned values
    if use_log:
        ax.set_yscale("log")
    ax.set_ylim(low, high)
    for i, (name, run) in enumerate(trajs_or_histories.items()):
        values = curves[name]
        bad = np.isnan(values) | ((values <= 0) if use_log else False)
        drawn = np.clip(values, pin_low, pin_high)
        style = "--" if _diverged(run) else "-"
        ax.plot(np.arange(len(values)), np.ma.masked_where(bad, drawn), linestyle=style,
                color=COLORS[i % len(COLORS)], linewidth=1.6, label=legend_label(name, run))
    ax.set_xlabel("step")
    ax.set_ylabel("loss (log scale)" if use_log else "loss")
    ax.set_title("Loss against step")
    if curves:
        ax.legend(loc="best", fontsize="small")
    return ax.figure


def _log_limits(finite: list[np.ndarray]) -> tuple[float, float]:
    """Top: ten times the largest positive starting loss (or the largest loss, when no run
    starts positive); bottom: a little under the smallest positive loss."""
    positive = [c[c > 0] for c in finite if np.any(c > 0)]
    starts = [float(c[0]) for c in finite if c.size and c[0] > 0]
    high = min(10.0 * max(starts or [float(c.max()) for c in positive]), _LARGEST_DRAWN)
    smallest = min(float(c.min()) for c in positive)
    return max(smallest / 2.0, high * 1e-300), high  # at most 300 decades


def _linear_limits(finite: list[np.ndarray], settled: list[np.ndarray]) -> tuple[float, float]:
    """Top: a little over the largest starting loss; bottom: a little under the lowest loss of
    a run that did not diverge (a diverged run on an unbounded surface heads for -1e12), or
    ten units below the start when every run diverged."""
    starts = [float(c[0]) for c in finite if c.size]
    high = max(starts)
    settled = [c for c in settled if c.size]
    low = (min(float(c.min()) for c in settled) if settled
           else min(starts) - 10.0 * max(1.0, abs(high)))
    # a flat curve still gets a visible range: at least a millionth of its size, or 1e-12
    span = max(high - low, 1e-6 * max(abs(high), abs(low)), 1e-12)
    return low - 0.05 * span, high + 0.1 * span
