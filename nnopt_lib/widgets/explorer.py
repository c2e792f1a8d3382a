"""The explorer core: controls + a persistent figure + a status line, redrawn in place.

:func:`explore` turns any matplotlib figure plus an ``update(**values)`` function into an
:class:`Explorer`. ``update`` changes the figure's artists IN PLACE (``line.set_data(...)``)
and may return a status string::

    fig, ax = plt.subplots()
    line, = ax.plot(x, f(x, 0.01))
    def update(lr):
        line.set_ydata(f(x, lr))
        return f"lr = {lr:.3g}"
    widgets.explore(fig, update, lr=widgets.log_slider(1e-4, 1, value=0.01,
                                                       description="learning rate"))

A ready-made explorer subclasses :class:`Explorer` (see ``trajectory_explorer.py``) and may
override the hooks ``png_colors``, ``_dynamic_artists``, ``_static_key`` and ``_paint``.

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

Legible on a projector
----------------------
The figure is passed through :func:`nnopt_lib.plots.fit_to_column` before its first render
(at most 7 in wide, no text under 9 pt), so at 1024x768 with the file browser open its
smallest text is at least 9 px on screen. The status line states the figure's smallest font
in PNG pixels (``data-min-text-px``), which the browser test multiplies by the displayed
scale. Controls keep a gap between them, and the status line wraps between words only.

The widget box carries the CSS class ``nnopt-explorer`` so browser tests can find it.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import io
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from nnopt_lib import plots

__all__ = ["Explorer", "explore"]

#: Space to the right of every control, so a checkbox label never touches the next slider.
_CONTROL_MARGIN = "2px 28px 2px 0"
#: The status line: line breaks kept, long lines wrapped between words (JupyterLab's default
#: for <pre> breaks anywhere, which split "in 120 steps" into "in 1" and "20 steps").
_STATUS_STYLE = ("margin:0;font-size:13px;white-space:pre-wrap;word-break:normal;"
                 "overflow-wrap:break-word")

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
        self._png: bytes | None = None  # the last image sent (inline backend), for fallbacks
        number = getattr(figure, "number", None)  # None for a Figure made without pyplot
        if not self._interactive and number is not None and plt.fignum_exists(number):
            # Drop it from pyplot so the inline backend does not show it a second time at
            # the end of the cell; the Figure object itself lives on in the explorer.
            plt.close(figure)

        plots.fit_to_column(figure)  # before the first draw, so the layout sees it
        self.output = ipywidgets.Output()
        self._status_html = ipywidgets.HTML()
        for control in self.controls.values():
            if not control.layout.margin:  # a gap, so a label never runs into its neighbour
                control.layout.margin = _CONTROL_MARGIN
        rows = ipywidgets.Box(list(self.controls.values()),
                              layout=ipywidgets.Layout(flex_flow="row wrap",
                                                       align_items="center"))
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
        plots.fit_to_column(self.figure)  # text that ``update`` added is raised too
        self._status_html.value = self._status_markup(self.status, self.smallest_text_px())
        self._render()

    def smallest_text_px(self) -> float | None:
        """Font size, in pixels of the PNG sent, of the smallest text in the figure."""
        return plots.smallest_text_px(self.figure)

    def show_control(self, name: str, shown: bool) -> None:
        """Show or hide a control (one that would change nothing should not be shown)."""
        self.controls[name].layout.display = None if shown else "none"

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
                f"<pre style='{_STATUS_STYLE};color:#b00020'>{html.escape(self.status)}</pre>")

    @staticmethod
    def _status_markup(status: str | None, text_px: float | None = None) -> str:
        size = "" if text_px is None else f" data-min-text-px='{text_px:.2f}'"
        text = html.escape(status or "")
        return f"<pre class='nnopt-status'{size} style='{_STATUS_STYLE}'>{text}</pre>"

    def _canvas_output(self) -> dict:
        return {"output_type": "display_data", "data": self.figure.canvas._repr_mimebundle_(),
                "metadata": {}}

    def _render(self) -> None:
        if self._interactive:
            self.figure.canvas.draw_idle()
        else:
            self._png = self.render_png()
            # One assignment = clear + display, so the image never flickers to empty.
            self.output.outputs = (_png_output(self._png, self.figure),)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.box._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        # Fallbacks for front ends without a live kernel or widget support (GitHub, nbviewer,
        # a stored notebook): the figure as it is now, and a line of text. JupyterLab ranks
        # the widget view above both, so a live notebook still shows the sliders.
        png = self._png if self._png is not None else self.render_png()
        data["image/png"] = base64.b64encode(png).decode("ascii")
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
