"""Slider explorers for the notebooks: the only module of nnopt_lib that imports ipywidgets.

Two layers:

* :func:`explore` turns any matplotlib figure plus an ``update(**values)`` function into an
  :class:`Explorer`: the controls, the figure, and a status line. ``update`` changes the
  figure's artists IN PLACE (``line.set_data(...)``) and may return a status string::

      fig, ax = plt.subplots()
      line, = ax.plot(x, f(x, 0.01))
      def update(lr):
          line.set_ydata(f(x, lr))
          return f"lr = {lr:.3g}"
      widgets.explore(fig, update, lr=widgets.log_slider(1e-4, 1, value=0.01,
                                                         description="learning rate"))

* :class:`TrajectoryExplorer`, the ready-made one: optimizer paths over a loss surface plus
  their loss curves, with sliders for the learning rate, momentum/β₁, steps and start point.

How a redraw works, and why it is fast
--------------------------------------
``interact`` re-runs a whole plotting function per change: a new figure, new contours, all
trajectories, a layout pass and a PNG. Here the figure is built once and kept:

1. ``update`` (or the explorer) changes only what moved; trajectories are cached
   (:func:`functools.lru_cache`), so only runs whose settings changed are recomputed.
2. With the **inline** backend the figure image lives in an ``ipywidgets.Output``; a redraw
   renders the figure with Agg, encodes a PNG (fast zlib level) and replaces the Output's
   content in one step (clear + display, without flicker). The layout (constrained or tight)
   is computed at the first render and then frozen, because re-running it is the most
   expensive part of a matplotlib draw. The :class:`TrajectoryExplorer` also keeps a bitmap
   of the static part (contours, axes, ticks) and only paints the moving lines on top.
3. With **ipympl** (``%matplotlib widget``; create the figure inside ``with plt.ioff():``
   so it is not shown twice) the canvas is itself a widget and a redraw is just
   ``fig.canvas.draw_idle()``. Clicking on the contour panel then moves the start point.

Sliders redraw on release (``continuous_update=False``), so a slow kernel (Binder) is never
flooded with stale redraws while a slider is dragged.

The widget box carries the CSS class ``nnopt-explorer`` so browser tests can find it.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import io
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import traitlets
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image

from nnopt_lib import optim, plots, surfaces, trajectory

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

_STYLE = {"description_width": "initial"}


# ---------------------------------------------------------------------------------------
# Control makers
# ---------------------------------------------------------------------------------------


def slider(lo: float, hi: float, *, step: float, value: float, description: str
           ) -> ipywidgets.FloatSlider:
    """A float slider from ``lo`` to ``hi``."""
    return ipywidgets.FloatSlider(min=lo, max=hi, step=step, value=value,
                                  description=description, continuous_update=False,
                                  style=_STYLE)


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
            name: ipywidgets.Checkbox(value=name in value, description=str(name), indent=False,
                                      layout=ipywidgets.Layout(width="auto"))
            for name in self.options
        }
        label = ipywidgets.Label(description)
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


# ---------------------------------------------------------------------------------------
# Rendering helpers
# ---------------------------------------------------------------------------------------


def _is_ipympl(fig: Figure) -> bool:
    """True when the figure lives on an ipympl canvas (``%matplotlib widget``)."""
    return type(fig.canvas).__module__.startswith("ipympl")


def _encode_png(rgba: Any, colors: int | None = None) -> bytes:
    """PNG bytes of an RGBA buffer, tuned for speed.

    zlib level 1 with the run-length strategy: about 3x faster than matplotlib's default
    (level 6) for almost the same size on line art; the image is replaced at the next slider
    move anyway. With ``colors``, the image is first reduced to a palette of that many colours
    (no dithering): for line plots on white, indistinguishable, and 3-4x fewer bytes to send
    through the kernel's websocket (which is what a remote Binder user waits for).
    """
    image = Image.fromarray(np.asarray(rgba)).convert("RGB")
    if colors is not None:
        image = image.quantize(colors, method=Image.Quantize.FASTOCTREE,
                               dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    image.save(buffer, format="png", compress_level=1, compress_type=3)
    return buffer.getvalue()


def _png_output(png: bytes, fig: Figure) -> dict:
    """An nbformat display_data output showing ``png`` (what the inline backend would send)."""
    return {
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": repr(fig)},
        "metadata": {},
    }


# ---------------------------------------------------------------------------------------
# Generic explorer
# ---------------------------------------------------------------------------------------


class Explorer:
    """Controls + a persistent figure + a status line; redraws in place on every change.

    Attributes
    ----------
    controls: name -> ipywidget, in display order; ``update`` receives their values.
    figure: the matplotlib figure (kept, never re-created).
    status: the last status text returned by ``update`` (or ``None``).
    output: the ``ipywidgets.Output`` holding the figure image.
    box: the displayed ``VBox`` (CSS class ``nnopt-explorer``).

    Setting a control's ``value`` from code redraws, exactly as dragging it does; group
    several changes with ``with explorer.hold(): ...`` to redraw once.
    """

    def __init__(self, figure: Figure, update: Callable[..., str | None],
                 controls: Mapping[str, ipywidgets.Widget]) -> None:
        if not callable(update):
            raise TypeError(f"update must be callable, got {type(update).__name__}")
        for name, control in controls.items():
            if not isinstance(control, ipywidgets.Widget) or not control.has_trait("value"):
                raise TypeError(f"control {name!r} must be an ipywidget with a value, "
                                f"got {type(control).__name__}")
        self.figure = figure
        self.controls: dict[str, ipywidgets.Widget] = dict(controls)
        self.status: str | None = None
        self._update = update
        self._interactive = _is_ipympl(figure)
        self._held = 0
        self._pending = False
        self._layout_frozen = False
        self._background = None  # Agg bitmap of the static part (subclasses that blit)
        self._background_key: Any = None
        number = getattr(figure, "number", None)  # None for a Figure made without pyplot
        if not self._interactive and number is not None and plt.fignum_exists(number):
            # Drop it from pyplot so the inline backend does not show it a second time at
            # the end of the cell; the Figure object itself lives on in the explorer.
            plt.close(figure)

        self.output = ipywidgets.Output()
        self._status_html = ipywidgets.HTML()
        rows = ipywidgets.Box(list(self.controls.values()),
                              layout=ipywidgets.Layout(flex_flow="row wrap"))
        self.box = ipywidgets.VBox([rows, self.output, self._status_html])
        self.box.add_class("nnopt-explorer")
        if self._interactive:
            self.output.outputs = (self._canvas_output(),)

        for name, control in self.controls.items():
            control.observe(functools.partial(self._on_change, name), names="value")
        self.redraw()  # errors in the first call surface in the cell, where they belong

    # -- public ---------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """The current value of every control."""
        return {name: control.value for name, control in self.controls.items()}

    def redraw(self) -> None:
        """Call ``update`` with the control values, then re-render the figure."""
        self.status = self._update(**self.values())
        self._status_html.value = self._status_markup(self.status)
        self._render()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Batch changes: controls set inside the block cause one redraw at its end."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            if self._held == 0 and self._pending:
                self._pending = False
                self._redraw_from_widget()

    def render_png(self) -> bytes:
        """Render the figure as the PNG the notebook is sent (also used by the benchmark)."""
        canvas = self.figure.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            canvas = FigureCanvasAgg(self.figure)  # e.g. a plain Figure(); attaches itself
        dynamic = [a for a in self._dynamic_artists() if a.get_visible()]
        key = self._static_key()
        if (key is None or key != self._background_key or self._background is None
                or not self._layout_frozen):
            for artist in dynamic:
                artist.set_visible(False)
            canvas.draw()  # the first one also runs the layout engine (constrained, tight) ...
            for artist in dynamic:
                artist.set_visible(True)
            if not self._layout_frozen:
                if self.figure.get_layout_engine() is not None:
                    self.figure.set_layout_engine("none")  # ... whose result is then kept
                self._layout_frozen = True
            self._background = canvas.copy_from_bbox(self.figure.bbox) if dynamic else None
            self._background_key = key
        else:
            canvas.restore_region(self._background)
        self._paint(canvas, dynamic)
        return _encode_png(canvas.buffer_rgba(), self.png_colors)

    # -- subclass hooks -------------------------------------------------------------------

    #: Palette size of the PNG (``None``: lossless true colour); see :func:`_encode_png`.
    png_colors: int | None = None

    def _dynamic_artists(self) -> list:
        """Artists repainted over a cached background on every redraw (none: full draws)."""
        return []

    def _static_key(self) -> Any:
        """Hashable summary of everything outside ``_dynamic_artists``; ``None``: unknown."""
        return None

    def _paint(self, canvas: FigureCanvasAgg, artists: list) -> None:
        """Paint the dynamic artists over the restored background."""
        for artist in artists:
            self.figure.draw_artist(artist)

    # -- internals ------------------------------------------------------------------------

    def _on_change(self, name: str, change: dict) -> None:
        if self._held:
            self._pending = True
        else:
            self._redraw_from_widget()

    def _redraw_from_widget(self) -> None:
        # A widget callback has no cell to show a traceback in (it would land in the log
        # console), so a failing update is reported in the status line instead.
        try:
            self.redraw()
        except Exception as error:  # shown in the status line, not swallowed
            self.status = f"error in update: {type(error).__name__}: {error}"
            self._status_html.value = (
                f"<pre style='margin:0;color:#b00020'>{html.escape(self.status)}</pre>")

    @staticmethod
    def _status_markup(status: str | None) -> str:
        if not status:
            return ""
        return f"<pre style='margin:0;font-size:12px'>{html.escape(status)}</pre>"

    def _canvas_output(self) -> dict:
        return {"output_type": "display_data", "data": self.figure.canvas._repr_mimebundle_(),
                "metadata": {}}

    def _render(self) -> None:
        if self._interactive:
            self.figure.canvas.draw_idle()
        else:
            # One assignment = clear + display, so the image never flickers to empty.
            self.output.outputs = (_png_output(self.render_png(), self.figure),)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.box._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        # what a text-only front end (or a stored notebook's plain-text view) shows
        data["text/plain"] = repr(self) + (f"\n{self.status}" if self.status else "")
        return bundle

    def __repr__(self) -> str:
        names = ", ".join(f"{k}={v!r}" for k, v in self.values().items())
        return f"{type(self).__name__}({names})"


def explore(fig: Figure, update: Callable[..., str | None],
            **controls: ipywidgets.Widget) -> Explorer:
    """Show ``fig`` with ``controls`` and call ``update(**values)`` whenever one changes.

    ``update`` receives one keyword per control (the control's name here) and should change
    the figure's artists in place; it may return a status string shown under the figure.
    It is called once immediately. Returns the :class:`Explorer` (the last expression of a
    cell displays it).
    """
    return Explorer(fig, update, controls)


# ---------------------------------------------------------------------------------------
# Trajectory explorer
# ---------------------------------------------------------------------------------------


def _sgd(lr: float, beta: float) -> dict:
    return {"lr": lr}


def _momentum(lr: float, beta: float) -> dict:
    return {"lr": lr, "momentum": beta}


def _nesterov(lr: float, beta: float) -> dict:
    # torch (and optim.SGD) refuse nesterov=True without momentum; at β = 0 both are plain SGD.
    return {"lr": lr, "momentum": beta, "nesterov": beta > 0}


def _beta(lr: float, beta: float) -> dict:
    return {"lr": lr, "beta": beta}


def _lr_only(lr: float, beta: float) -> dict:
    return {"lr": lr}


def _adam_like(lr: float, beta: float) -> dict:
    return {"lr": lr, "betas": (beta, 0.999)}


#: Named optimizer presets of :class:`TrajectoryExplorer` (table in its docstring): name ->
#: (optimizer class name in :mod:`nnopt_lib.optim`, function ``(lr, beta) -> options``).
PRESETS: dict[str, tuple[str, Callable[[float, float], dict]]] = {
    "sgd": ("SGD", _sgd),
    "momentum": ("SGD", _momentum),
    "nesterov": ("SGD", _nesterov),
    "ema_momentum": ("EMAMomentum", _beta),
    "heavy_ball": ("HeavyBall", _beta),
    "adagrad": ("Adagrad", _lr_only),
    "rmsprop": ("RMSprop", _lr_only),
    "adam": ("Adam", _adam_like),
    "adamw": ("AdamW", _adam_like),
    "nadam": ("NAdam", _adam_like),
}

DEFAULT_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")
DEFAULT_SURFACES = ("rosenbrock", "beale", "quadratic", "himmelblau", "rastrigin", "saddle")


def _hashable(value: Any) -> Any:
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
    optimizers: preset names from :data:`PRESETS` (below), or a dict ``label -> (optimizer
        class, options)`` where ``options`` is a dict (the slider's ``lr`` is added unless it
        sets its own) or a function ``(lr, beta) -> dict``. One checkbox each, all ticked.
    lr: initial learning rate (log slider from ``lr_range``).
    beta: initial momentum / β₁ (slider 0 ... 0.99).
    steps: initial number of steps (slider 10 ... ``max_steps``).
    start: initial start point; ``None`` uses the surface's default. Changing the surface
        resets the start sliders to that surface's window and default start.

    The figure: the contour panel (paths, start circle, end dot, minima stars; dashed paths
    diverged) and the panel of f − f* against step on a log axis whose range is fixed per
    surface and start (so curves can be compared across slider moves). The status line
    lists each run's outcome, e.g. ``adam: diverged at step 17``.

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
            "x0": slider(*first.xlim, step=_step(first.xlim), value=start[0],
                         description="start x"),
            "y0": slider(*first.ylim, step=_step(first.ylim), value=start[1],
                         description="start y"),
        }
        # The cache lives on the instance so that explorers do not share (or pin) results.
        self._run_cached = functools.lru_cache(maxsize=1024)(self._run_uncached)
        with plt.ioff():  # under ipympl, do not auto-display the figure a second time
            # Fixed margins instead of a layout engine: the panels' contents have a known
            # size, and constrained layout would cost a third of the first draw.
            figure, (self._ax_path, self._ax_loss) = plt.subplots(
                1, 2, figsize=(11, 4.4), gridspec_kw={"width_ratios": [1.15, 1.0]})
            figure.subplots_adjust(left=0.065, right=0.985, bottom=0.11, top=0.88, wspace=0.22)
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
        (self._start_marker,) = self._ax_path.plot(
            [], [], linestyle="none", marker="o", markersize=9, markerfacecolor="white",
            markeredgecolor="black", markeredgewidth=1.5, zorder=4)
        self._legend = None
        self._legend_key: tuple | None = None
        self._legend_pixels = None  # Agg copy of the drawn legend, reused while unchanged
        self._loss_frame: tuple | None = None

        super().__init__(figure, self._update_figure, controls)
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

    # -- computing ------------------------------------------------------------------------

    def _run_uncached(self, surface_name: str, label: str, options: tuple,
                      start: tuple[float, float], steps: int) -> trajectory.Trajectory:
        cls = self._specs[label][0]
        return trajectory.run(self._surfaces[surface_name], cls, dict(options),
                              steps=steps, start=start)

    def trajectories(self) -> dict[str, trajectory.Trajectory]:
        """The runs for the current control values (ticked optimizers only), from the cache."""
        v = self.values()
        return self._runs(v["surface"], v["optimizers"], v["lr"], v["beta"], v["steps"],
                          (v["x0"], v["y0"]))

    def _runs(self, surface: str, labels: Sequence[str], lr: float, beta: float, steps: int,
              start: tuple[float, float]) -> dict[str, trajectory.Trajectory]:
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
            values = run.losses - surf.min_value if log else run.losses
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

        lines = [f"lr = {lr:.3g}, β = {beta:.2f}, {steps} steps from ({x0:.3g}, {y0:.3g})"]
        lines += [f"{name}: {run.status()}" for name, run in runs.items()]
        if not runs:
            lines.append("tick at least one optimizer")
        return "\n".join(lines)

    def _dynamic_artists(self) -> list:
        if self._interactive:
            return []  # ipympl redraws everything itself
        # painted in this order, which is their z-order: paths, start, minima stars on top
        stars = [a for a in self._contour_artists if isinstance(a, Line2D)]
        artists = [*self._paths.values(), self._start_marker, *stars, *self._curves.values()]
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
                _set_range(self.controls["x0"], surface.xlim, surface.start[0])
                _set_range(self.controls["y0"], surface.ylim, surface.start[1])
            return
        super()._on_change(name, change)

    def _on_click(self, event: Any) -> None:
        """ipympl only: a click on the contour panel moves the start point there."""
        if event.inaxes is not self._ax_path or event.xdata is None:
            return
        with self.hold():
            self.controls["x0"].value = float(event.xdata)
            self.controls["y0"].value = float(event.ydata)


def _step(window: tuple[float, float]) -> float:
    """Slider step: about 200 positions across the window, rounded to a readable number."""
    raw = (window[1] - window[0]) / 200
    return float(f"{raw:.1g}")


def _set_range(control: ipywidgets.FloatSlider, window: tuple[float, float], value: float
               ) -> None:
    """Move a slider to a new window and value without ever having min > max on the way."""
    control.min = min(control.min, window[0])
    control.max = max(control.max, window[1])
    control.step = _step(window)
    control.value = value
    control.min, control.max = window

