"""TrajectoryExplorer: optimizer paths over a loss surface and their loss curves, under sliders.

The ready-made explorer of Part I: sliders for the learning rate, momentum/β₁, steps and the
start point; a dropdown of surfaces; a checkbox per optimizer. It is an :class:`Explorer`
that caches runs and repaints only the moving lines over a cached bitmap of the contours
(see ``explorer.py`` for how a redraw works).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.lines import Line2D

from nnopt_lib import optim, plots, surfaces, trajectory
from nnopt_lib.history import History
from nnopt_lib.optim.presets import PRESETS
from nnopt_lib.widgets.controls import (
    checkboxes,
    dropdown,
    int_slider,
    log_slider,
    move_slider_window,
    readable_step,
    slider,
)
from nnopt_lib.widgets.explorer import Explorer

__all__ = ["DEFAULT_OPTIMIZERS", "DEFAULT_SURFACES", "TrajectoryExplorer"]

DEFAULT_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
DEFAULT_SURFACES = ("rosenbrock", "beale", "quadratic", "himmelblau", "rastrigin", "saddle")


def _hashable(value: Any) -> Any:
    """``value`` as part of a run's cache key: lists (``betas``) become tuples, numpy
    scalars Python numbers, so equal options always hit the same cache entry."""
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


class TrajectoryExplorer(Explorer):
    """Optimizer paths on a loss surface, with their loss curves, under sliders.

    Parameters (all keyword-only)
    -----------------------------
    surfaces: names from :data:`nnopt_lib.surfaces.SURFACES` (or ``Surface`` objects) for
        the surface dropdown; the first is shown first.
    optimizers: preset names from :data:`nnopt_lib.optim.presets.PRESETS` (table below), or
        a dict ``label -> (optimizer class, options)`` where ``options`` is a dict (the
        slider's ``lr`` is added unless it sets its own) or a function ``(lr, beta) -> dict``.
        One checkbox each, all ticked.
    lr: initial learning rate (log slider from ``lr_range``).
    beta: initial momentum / β₁ (slider 0 ... 0.99).
    steps: initial number of steps (slider 10 ... ``max_steps``).
    start: initial start point; ``None`` uses the surface's default. Changing the surface
        resets the start sliders to that surface's window and default start.

    The figure (7 in wide, legible at 1024x768): the equal-aspect contour panel (paths,
    start circle, end dot, minima stars; dashed paths diverged) and the panel of f − f*
    against step on a log axis whose range is fixed per surface and start (so curves can be
    compared across slider moves). A run that diverges leaves that panel within a few steps,
    so the panel says so in red ("sgd: diverged at step 17"). The status line lists each
    run's outcome.

    Only controls that change something are shown: the β slider is hidden while no ticked
    optimizer reads β (e.g. SGD alone), the learning-rate slider while none reads the
    learning rate (e.g. Adadelta with a fixed lr), the surface dropdown when there is one
    surface and the checkboxes when there is one optimizer.

    Presets (η = the lr slider, β = the momentum / β₁ slider):

    ================  ============================================================
    ``sgd``           ``SGD(lr=η)``; β unused
    ``momentum``      ``SGD(lr=η, momentum=β)``: PyTorch's form b = βb + g
    ``nesterov``      ``SGD(lr=η, momentum=β, nesterov=True)``; plain SGD at β = 0
    ``ema_momentum``  ``EMAMomentum(lr=η, beta=β)``: v = βv + (1−β)g
    ``heavy_ball``    ``HeavyBall(lr=η, beta=β)``: θ − η∇f + β(θ − θ_prev)
    ``adagrad``       ``Adagrad(lr=η)``; β unused
    ``rmsprop``       ``RMSprop(lr=η)``; β unused (α = 0.99)
    ``adam``          ``Adam(lr=η, betas=(β, 0.999))``
    ``adamw``         ``AdamW(lr=η, betas=(β, 0.999))``; weight_decay 0.01
    ``nadam``         ``NAdam(lr=η, betas=(β, 0.999))``
    ================  ============================================================
    """

    png_colors = 256  # line art on white: a palette PNG looks the same and is 3-4x smaller

    def __init__(
        self,
        *,
        surfaces: Sequence[str | surfaces.Surface] = DEFAULT_SURFACES,
        optimizers: Sequence[str] | Mapping[str, tuple[type, Any]] = DEFAULT_OPTIMIZERS,
        lr: float = 1e-3,
        beta: float = 0.9,
        steps: int = 300,
        start: tuple[float, float] | None = None,
        lr_range: tuple[float, float] = (1e-5, 1.0),
        max_steps: int = 1000,
    ) -> None:
        self._surfaces = self._resolve_surfaces(surfaces)
        self._specs = self._resolve_optimizers(optimizers)
        first = next(iter(self._surfaces.values()))
        start = first.start if start is None else (float(start[0]), float(start[1]))

        controls = {
            "surface": dropdown(list(self._surfaces), value=first.name, description="surface"),
            "optimizers": checkboxes(list(self._specs), value=list(self._specs),
                                     description="optimizers"),
            "lr": log_slider(*lr_range, value=lr, description="learning rate"),
            "beta": slider(0.0, 0.99, step=0.01, value=beta, description="momentum / β₁"),
            "steps": int_slider(10, max_steps, step=10, value=steps, description="steps"),
            "x0": slider(*first.xlim, step=readable_step(first.xlim), value=start[0],
                         description="start x"),
            "y0": slider(*first.ylim, step=readable_step(first.ylim), value=start[1],
                         description="start y"),
        }
        # The cache lives on the instance so that explorers do not share (or pin) results.
        self._run_cached = functools.lru_cache(maxsize=1024)(self._run_uncached)
        with plt.ioff():  # under ipympl, do not auto-display the figure a second time
            # Fixed margins instead of a layout engine: the panels' contents have a known
            # size, and constrained layout would cost a third of the first draw.
            figure, (self._ax_path, self._ax_loss) = plt.subplots(
                1, 2, figsize=(plots.COLUMN_WIDTH_IN, 3.8),
                gridspec_kw={"width_ratios": [1.0, 1.0]})
            figure.subplots_adjust(left=0.085, right=0.985, bottom=0.13, top=0.84, wspace=0.36)
        self._contour_surface: str | None = None
        self._contour_artists: list = []
        self._paths: dict[str, Any] = {}
        self._curves: dict[str, Any] = {}
        for i, label in enumerate(self._specs):
            color = plots.COLORS[i % len(plots.COLORS)]
            (self._paths[label],) = self._ax_path.plot(
                [], [], color=color, linewidth=1.6, marker="o", markevery=[-1], markersize=5,
                zorder=3)
            (self._curves[label],) = self._ax_loss.plot([], [], color=color, linewidth=1.6,
                                                        label=label)
        # Says in the loss panel which runs diverged: their curves leave it at once.
        self._diverged_note = self._ax_loss.text(
            0.97, 0.97, "", transform=self._ax_loss.transAxes, ha="right", va="top",
            color="#b00020", fontsize="small", zorder=5)
        (self._start_marker,) = self._ax_path.plot(
            [], [], linestyle="none", marker="o", markersize=9, markerfacecolor="white",
            markeredgecolor="black", markeredgewidth=1.5, zorder=4)
        self._legend = None
        self._legend_key: tuple | None = None
        self._legend_pixels = None  # Agg copy of the drawn legend, reused while unchanged
        self._loss_frame: tuple | None = None

        super().__init__(figure, self._update_figure, controls)
        self.show_control("surface", len(self._surfaces) > 1)
        self.show_control("optimizers", len(self._specs) > 1)
        if self._interactive:
            figure.canvas.mpl_connect("button_press_event", self._on_click)

    # -- construction helpers -------------------------------------------------------------

    @staticmethod
    def _resolve_surfaces(items: Sequence[Any]) -> dict[str, surfaces.Surface]:
        if isinstance(items, (str, surfaces.Surface)):
            items = [items]
        resolved = {}
        for item in items:
            surface = surfaces.get(item) if isinstance(item, str) else item
            if not isinstance(surface, surfaces.Surface):
                raise TypeError(f"surfaces must be names or Surface objects, got {item!r}")
            if surface.name in resolved:
                # the dropdown shows names: two surfaces called "quadratic" would shadow each other
                raise ValueError(
                    f"two surfaces are named {surface.name!r}; give each its own name, e.g. "
                    f"dataclasses.replace(surface, name={surface.name + ' 45°'!r})"
                )
            resolved[surface.name] = surface
        if not resolved:
            raise ValueError("TrajectoryExplorer needs at least one surface")
        return resolved

    @staticmethod
    def _resolve_optimizers(items: Any) -> dict[str, tuple[type, Callable]]:
        if isinstance(items, str):
            items = [items]
        specs: dict[str, tuple[type, Callable]] = {}
        if isinstance(items, Mapping):
            for label, (cls, options) in items.items():
                if callable(options):
                    specs[str(label)] = (cls, options)
                else:
                    fixed = dict(options)
                    specs[str(label)] = (cls, lambda lr, beta, fixed=fixed: {"lr": lr, **fixed})
        else:
            for name in items:
                if name not in PRESETS:
                    raise ValueError(f"Unknown optimizer preset: {name!r}; "
                                     f"choose from {sorted(PRESETS)}")
                class_name, options = PRESETS[name]
                specs[name] = (getattr(optim, class_name), options)
        if not specs:
            raise ValueError("TrajectoryExplorer needs at least one optimizer")
        return specs

    def _reads(self, label: str, setting: str) -> bool:
        """Does optimizer ``label`` read the ``"lr"`` or ``"beta"`` slider? Probed by
        building its options at two values of that slider."""
        options = self._specs[label][1]
        if setting == "lr":
            return options(1e-3, 0.5) != options(2e-3, 0.5)
        return options(1e-3, 0.3) != options(1e-3, 0.6)

    # -- computing ------------------------------------------------------------------------

    def _run_uncached(self, surface_name: str, label: str, options: tuple,
                      start: tuple[float, float], steps: int) -> History:
        cls = self._specs[label][0]
        return trajectory.run(self._surfaces[surface_name], cls, dict(options),
                              steps=steps, start=start)

    def trajectories(self) -> dict[str, History]:
        """The runs for the current control values (ticked optimizers only), from the cache."""
        v = self.values()
        return self._runs(v["surface"], v["optimizers"], v["lr"], v["beta"], v["steps"],
                          (v["x0"], v["y0"]))

    def _runs(self, surface: str, labels: Sequence[str], lr: float, beta: float, steps: int,
              start: tuple[float, float]) -> dict[str, History]:
        start = (float(start[0]), float(start[1]))
        runs = {}
        for label in labels:
            options = self._specs[label][1](float(lr), float(beta))
            key = tuple(sorted((k, _hashable(o)) for k, o in options.items()))
            runs[label] = self._run_cached(surface, label, key, start, int(steps))
        return runs

    # -- drawing --------------------------------------------------------------------------

    def _draw_contour(self, surface: surfaces.Surface) -> None:
        """Re-draw the contour panel's background; only ever on a change of surface."""
        ax = self._ax_path
        for artist in self._contour_artists:
            artist.remove()
        before = set(ax.get_children())
        plots.contour(surface, ax=ax)
        self._contour_artists = [a for a in ax.get_children() if a not in before]
        self._contour_surface = surface.name

    def _loss_axis(self, surface: surfaces.Surface, start: tuple[float, float], steps: int
                   ) -> tuple[bool, float, float]:
        """Scale and fixed y-range of the loss panel for this surface and start."""
        f0 = float(surface.value(start))
        if np.isfinite(surface.min_value):
            gap = max(f0 - surface.min_value, 1e-12)
            top = 10.0 * gap
            return True, top * 1e-14, top
        # unbounded below (saddle): linear axis over the values seen in the window
        _, _, z = surface.grid(60)
        low, high = float(np.min(z)), max(float(np.max(z)), f0)
        pad = 0.05 * (high - low)
        return False, low - pad, high + pad

    def _update_figure(self, *, surface: str, optimizers: tuple, lr: float, beta: float,
                       steps: int, x0: float, y0: float) -> str:
        surf = self._surfaces[surface]
        start = (float(x0), float(y0))
        if self._contour_surface != surface:
            self._draw_contour(surf)
        runs = self._runs(surface, optimizers, lr, beta, steps, start)

        log, low, high = self._loss_axis(surf, start, steps)
        frame = (surface, log, low, high, steps)
        if frame != self._loss_frame:
            ax = self._ax_loss
            ax.set_yscale("log" if log else "linear")
            ax.set_ylim(low, high)
            ax.set_xlim(0, steps)
            ax.set_xlabel("step")
            ax.set_ylabel("f(θ) − f*  (log scale)" if log else "f(θ)")
            ax.set_title("Loss against step")
            self._loss_frame = frame
        self._start_marker.set_data([start[0]], [start[1]])

        labels, handles = [], []
        for name, path_line in self._paths.items():
            curve = self._curves[name]
            run = runs.get(name)
            visible = run is not None
            path_line.set_visible(visible)
            curve.set_visible(visible)
            if not visible:
                continue
            path = plots.finite_path(surf, run.points)
            style = "--" if run.diverged else "-"
            path_line.set_data(path[:, 0], path[:, 1])
            path_line.set_linestyle(style)
            path_line.set_markevery([len(path) - 1] if len(path) else None)
            values = run.loss - surf.min_value if log else run.loss
            # Off-scale (blown-up, NaN) values are pinned just outside the fixed y-range:
            # the curve leaves the panel instead of producing a warning or a gap.
            values = np.nan_to_num(values, nan=high * 10, posinf=high * 10, neginf=low / 10
                                   if log else low - (high - low))
            if log:
                values = np.clip(values, low / 10, high * 10)
            curve.set_data(np.arange(len(values)), values)
            curve.set_linestyle(style)
            handles.append(curve)
            labels.append(plots.legend_label(name, run))
        legend_key = tuple((label, h.get_linestyle())
                           for label, h in zip(labels, handles, strict=True))
        if legend_key != self._legend_key:
            if self._legend is not None:
                self._legend.remove()
            # Opaque, square and without an edge line, so the pixels inside its box do not
            # depend on what is behind it and can be pasted from a cache (see _paint).
            self._legend = self._ax_loss.legend(
                handles, labels, loc="lower left", fontsize="small", framealpha=1.0,
                fancybox=False, edgecolor="none") if handles else None
            self._legend_key = legend_key
            self._legend_pixels = None

        diverged = [f"{name}: diverged at step {run.diverged_at}"
                    for name, run in runs.items() if run.diverged_at is not None]
        self._diverged_note.set_text("\n".join(diverged))

        uses_lr = any(self._reads(name, "lr") for name in optimizers)
        uses_beta = any(self._reads(name, "beta") for name in optimizers)
        self.show_control("lr", uses_lr or not optimizers)
        self.show_control("beta", uses_beta)
        settings = ([f"lr = {lr:.3g}"] if uses_lr else []) + (
            [f"β = {beta:.2f}"] if uses_beta else [])
        lines = [", ".join([*settings, f"{steps} steps from ({x0:.3g}, {y0:.3g})"])]
        lines += [f"{name}: {run.status()}" for name, run in runs.items()]
        if not runs:
            lines.append("tick at least one optimizer")
        return "\n".join(lines)

    def _dynamic_artists(self) -> list:
        if self._interactive:
            return []  # ipympl redraws everything itself
        # painted in this order, which is their z-order: paths, start, minima stars on top
        stars = [a for a in self._contour_artists if isinstance(a, Line2D)]
        artists = [*self._paths.values(), self._start_marker, *stars, *self._curves.values(),
                   self._diverged_note]
        if self._legend is not None:
            artists.append(self._legend)
        return artists

    def _static_key(self) -> Any:
        # Everything not repainted per redraw: the contour (surface) and the loss frame.
        return (self._contour_surface, self._loss_frame)

    def _paint(self, canvas: FigureCanvasAgg, artists: list) -> None:
        # Drawing a legend lays out and renders its text (~20 ms); while its labels are
        # unchanged, paste the pixels of the last drawing instead.
        for artist in artists:
            if artist is not self._legend:
                self.figure.draw_artist(artist)
        if self._legend is None or self._legend not in artists:
            return
        if self._legend_pixels is None:
            self.figure.draw_artist(self._legend)
            # one pixel inside the box: the rim is blended with whatever lay behind it
            inside = self._legend.get_window_extent().padded(-1)
            self._legend_pixels = canvas.copy_from_bbox(inside)
        else:
            canvas.restore_region(self._legend_pixels)

    # -- reacting -------------------------------------------------------------------------

    def _on_change(self, name: str, change: dict) -> None:
        if name == "surface":
            # New surface: move the start sliders to its window and default start, and
            # redraw once for all three changes.
            surface = self._surfaces[change["new"]]
            with self.hold():
                self._pending = True
                move_slider_window(self.controls["x0"], surface.xlim, surface.start[0])
                move_slider_window(self.controls["y0"], surface.ylim, surface.start[1])
            return
        super()._on_change(name, change)

    def _on_click(self, event: Any) -> None:
        """ipympl only: a click on the contour panel moves the start point there."""
        if event.inaxes is not self._ax_path or event.xdata is None:
            return
        with self.hold():
            self.controls["x0"].value = float(event.xdata)
            self.controls["y0"].value = float(event.ydata)
