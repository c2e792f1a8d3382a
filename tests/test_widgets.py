"""The slider explorers, driven from Python the way a browser drives them (no browser needed).

Setting ``explorer.controls[name].value`` fires the same traitlets callbacks as dragging the
slider in JupyterLab, so these tests check what the learner would see: the artists move, the
Output widget gets a new PNG, the status line reports divergence, and nothing warns.
"""

from __future__ import annotations

import base64
import io
import warnings

import ipywidgets
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from nnopt_lib import optim, plots, surfaces, widgets  # noqa: E402
from nnopt_lib.optim import presets  # noqa: E402
from nnopt_lib.widgets.controls import move_slider_window, readable_step  # noqa: E402

# Small runs keep the file fast; the behaviour does not depend on the length.
STEPS = 60


@pytest.fixture(autouse=True)
def no_warnings_and_no_leaked_figures():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a divergence must never surface as a warning
        yield
    plt.close("all")


def shown_png(explorer: widgets.Explorer) -> bytes:
    """The PNG currently displayed in the explorer's Output widget."""
    (output,) = explorer.output.outputs
    assert output["output_type"] == "display_data"
    return base64.b64decode(output["data"]["image/png"])


def simple_explorer(calls: list):
    fig, ax = plt.subplots()
    x = np.linspace(0, 5, 50)
    (line,) = ax.plot(x, np.exp(-0.1 * x))
    ax.set(xlabel="step", ylabel="loss", title="decay", ylim=(0, 1.1))

    def update(lr, beta):
        calls.append((lr, beta))
        line.set_ydata(beta * np.exp(-lr * x))
        return f"lr = {lr:.3g}"

    explorer = widgets.explore(
        fig, update,
        lr=widgets.log_slider(1e-3, 10, value=0.1, description="learning rate"),
        beta=widgets.slider(0, 1, step=0.05, value=1.0, description="β"))
    return explorer, line


# ---------------------------------------------------------------------------- explore


def test_explore_draws_once_and_redraws_in_place_on_change():
    calls = []
    explorer, line = simple_explorer(calls)
    assert calls == [(pytest.approx(0.1), 1.0)]
    assert explorer.status == "lr = 0.1"
    assert plt.get_fignums() == []  # closed for pyplot: no second copy under the cell
    assert "nnopt-explorer" in explorer.box._dom_classes
    assert explorer.output in explorer.box.children
    first_png, first_y = shown_png(explorer), line.get_ydata().copy()

    explorer.controls["lr"].value = 2.0
    assert calls[-1] == (pytest.approx(2.0), 1.0)
    assert explorer.status == "lr = 2"
    assert not np.allclose(line.get_ydata(), first_y)
    assert shown_png(explorer) != first_png
    assert list(explorer.figure.axes[0].lines) == [line]  # the same artist, updated, not a new one
    image = Image.open(io.BytesIO(shown_png(explorer)))
    assert image.size == tuple(int(v) for v in explorer.figure.bbox.size)
    assert repr(explorer) == "Explorer(lr=2.0, beta=1.0)"


def test_the_displayed_output_carries_a_static_image_of_the_current_figure():
    """Where widgets can't render (GitHub, nbviewer, a handout), the saved output still shows
    the figure: the display bundle has the widget view AND a PNG of the figure as it is now."""
    explorer, _ = simple_explorer([])
    data = explorer._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert "application/vnd.jupyter.widget-view+json" in data
    assert base64.b64decode(data["image/png"]) == shown_png(explorer)
    explorer.controls["lr"].value = 3.0
    data = explorer._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    assert base64.b64decode(data["image/png"]) == shown_png(explorer)  # the current figure
    assert data["text/plain"].startswith("Explorer(lr=3.0")


def test_hold_batches_several_changes_into_one_redraw():
    calls = []
    explorer, _ = simple_explorer(calls)
    with explorer.hold():
        explorer.controls["lr"].value = 0.5
        explorer.controls["beta"].value = 0.5
        assert len(calls) == 1  # nothing redrawn inside the block
    assert calls[1:] == [(pytest.approx(0.5), 0.5)]


def test_error_in_update_goes_to_the_status_line_not_a_traceback():
    fig, ax = plt.subplots()

    def update(p):
        if p > 0.5:
            raise ZeroDivisionError("boom")
        return "fine"

    explorer = widgets.explore(fig, update, p=widgets.slider(0, 1, step=0.1, value=0.2,
                                                             description="p"))
    explorer.controls["p"].value = 0.9  # must not raise out of the widget callback
    assert explorer.status.startswith("error in update: ZeroDivisionError: boom")
    explorer.controls["p"].value = 0.1
    assert explorer.status == "fine"


def test_first_update_errors_surface_in_the_cell():
    fig, _ = plt.subplots()
    with pytest.raises(KeyError):
        widgets.explore(fig, lambda p: {}[p], p=widgets.slider(0, 1, step=0.1, value=0.2,
                                                               description="p"))


def test_explore_rejects_non_widgets():
    fig, _ = plt.subplots()
    with pytest.raises(TypeError, match="control 'lr'"):
        widgets.explore(fig, lambda lr: None, lr=0.1)


def test_a_figure_made_without_pyplot_works_too():
    fig = Figure()
    (line,) = fig.add_subplot().plot([0, 1], [0, 1])
    explorer = widgets.explore(fig, lambda a: line.set_ydata([0, a]),
                               a=widgets.slider(0, 2, step=0.5, value=1, description="a"))
    explorer.controls["a"].value = 2.0
    width, height = fig.get_size_inches() * fig.dpi
    assert Image.open(io.BytesIO(shown_png(explorer))).size == (round(width), round(height))


def test_ipympl_canvas_is_redrawn_with_draw_idle_not_png():
    class FakeIpymplCanvas(FigureCanvasAgg):
        """Stands in for ipympl's Canvas: only the module name and draw_idle matter."""

        draws = 0

        def draw_idle(self, *args, **kwargs):
            self.draws += 1

        def _repr_mimebundle_(self, **kwargs):
            return {"text/plain": "Canvas()"}

    FakeIpymplCanvas.__module__ = "ipympl.backend_nbagg"
    fig = Figure()
    canvas = FakeIpymplCanvas(fig)
    (line,) = fig.add_subplot().plot([0, 1], [0, 1])
    explorer = widgets.explore(fig, lambda a: line.set_ydata([0, a]),
                               a=widgets.slider(0, 2, step=0.5, value=1, description="a"))
    explorer.controls["a"].value = 2.0
    assert canvas.draws == 2
    assert explorer.output.outputs[0]["data"] == {"text/plain": "Canvas()"}
    assert list(line.get_ydata()) == [0, 2.0]


# ---------------------------------------------------------------------------- controls


def test_control_makers_build_the_right_widgets():
    s = widgets.slider(0, 1, step=0.1, value=0.3, description="β")
    assert isinstance(s, ipywidgets.FloatSlider) and (s.min, s.max, s.value) == (0, 1, 0.3)
    i = widgets.int_slider(10, 500, step=10, value=100, description="steps")
    assert isinstance(i, ipywidgets.IntSlider) and i.value == 100
    g = widgets.log_slider(1e-4, 1, value=0.01, description="lr")
    assert isinstance(g, ipywidgets.FloatLogSlider)
    assert (g.min, g.max, g.value) == (pytest.approx(-4), pytest.approx(0), pytest.approx(0.01))
    d = widgets.dropdown(["a", "b"], value="b", description="surface")
    assert isinstance(d, ipywidgets.Dropdown) and d.value == "b"
    for control in (s, i, g):
        assert control.continuous_update is False
    with pytest.raises(ValueError, match="lo=0"):
        widgets.log_slider(0, 1, value=0.5, description="lr")


def test_slider_readout_shows_the_digits_of_its_step():
    assert widgets.slider(0.9, 0.999, step=0.001, value=0.999,
                          description="β₂").readout_format == ".3f"
    assert widgets.slider(0, 1, step=0.25, value=0.5, description="p").readout_format == ".2f"
    assert widgets.slider(0, 10, step=1.0, value=2, description="k").readout_format == ".0f"
    assert widgets.slider(0, 1, step=0.05, value=0.5, description="β").readout_format == ".2f"


def test_checkboxes_value_is_the_tuple_of_ticked_options():
    group = widgets.checkboxes(["sgd", "adam", "rmsprop"], value=["adam"], description="opt")
    seen = []
    group.observe(lambda change: seen.append(change["new"]), names="value")
    assert group.value == ("adam",)
    group._boxes["sgd"].value = True  # the learner ticks a box
    assert group.value == ("sgd", "adam") and seen[-1] == ("sgd", "adam")
    group.value = ("rmsprop",)  # code sets the value: the boxes follow
    assert [b.value for b in group._boxes.values()] == [False, False, True]
    with pytest.raises(ValueError, match="lbfgs"):
        widgets.checkboxes(["sgd"], value=["lbfgs"], description="opt")


def test_move_slider_window_moves_to_a_disjoint_window():
    """From (-2, 2) to (3, 5): setting min first would make min > max, which ipywidgets
    refuses; the helper widens first and narrows last."""
    control = widgets.slider(-2, 2, step=0.02, value=-1.0, description="start x")
    seen = []
    control.observe(lambda change: seen.append(change["new"]), names="value")
    move_slider_window(control, (3.0, 5.0), 4.0)
    assert (control.min, control.max, control.value) == (3.0, 5.0, 4.0)
    assert control.step == readable_step((3.0, 5.0)) == 0.01
    assert seen == [4.0]  # one value change: the slider never clamped on the way
    assert readable_step((-1.0, 4.5)) == 0.03  # 5.5 / 200 rounded to one significant digit


# ---------------------------------------------------------------------------- the package


def test_the_package_re_exports_its_public_names_from_one_module_each():
    assert widgets.PRESETS is presets.PRESETS  # the presets live with the optimizers
    homes = {"controls": ["CheckboxGroup", "checkboxes", "dropdown", "int_slider",
                          "log_slider", "slider"],
             "explorer": ["Explorer", "explore"],
             "trajectory_explorer": ["TrajectoryExplorer"]}
    for module, names in homes.items():
        for name in names:
            assert getattr(widgets, name).__module__ == f"nnopt_lib.widgets.{module}", name
    assert sorted(widgets.__all__) == sorted(["PRESETS", *sum(homes.values(), [])])


# ---------------------------------------------------------------------------- TrajectoryExplorer


@pytest.fixture
def explorer():
    return widgets.TrajectoryExplorer(surfaces=["rosenbrock", "beale"],
                                      optimizers=["sgd", "momentum", "adam"], lr=1e-3,
                                      steps=STEPS)


def test_trajectory_explorer_has_the_promised_controls(explorer):
    assert list(explorer.controls) == ["surface", "optimizers", "lr", "beta", "steps", "x0",
                                       "y0"]
    assert isinstance(explorer.controls["lr"], ipywidgets.FloatLogSlider)
    assert explorer.controls["optimizers"].value == ("sgd", "momentum", "adam")
    assert (explorer.controls["x0"].value, explorer.controls["y0"].value) == (-1.2, 1.0)
    assert "nnopt-explorer" in explorer.box._dom_classes
    path_ax, loss_ax = explorer.figure.axes
    assert path_ax.get_xlabel() and path_ax.get_ylabel() and path_ax.get_title()
    assert loss_ax.get_yscale() == "log" and loss_ax.get_xlabel() == "step"
    assert "Rosenbrock" in path_ax.get_title()
    assert explorer.status.count("reached f=") == 3


def test_moving_the_lr_slider_moves_the_lines(explorer):
    before = explorer._paths["sgd"].get_xydata().copy()
    before_png = shown_png(explorer)
    explorer.controls["lr"].value = 2e-3
    after = explorer._paths["sgd"].get_xydata()
    assert after.shape == (STEPS + 1, 2)
    assert not np.allclose(before, after)
    assert shown_png(explorer) != before_png
    np.testing.assert_allclose(explorer._paths["sgd"].get_xydata(),
                               explorer.trajectories()["sgd"].points)


def test_a_diverging_lr_is_reported_not_raised(explorer):
    explorer.controls["lr"].value = 0.05  # far past SGD's stability limit on Rosenbrock
    assert "sgd: diverged at step" in explorer.status
    runs = explorer.trajectories()
    assert runs["sgd"].diverged
    label = f"sgd (diverged at step {runs['sgd'].diverged_at})"
    assert label in [t.get_text() for t in explorer._legend.get_texts()]
    assert explorer._paths["sgd"].get_linestyle() == "--"
    # the view stays on the surface window even though the run left it
    assert explorer.figure.axes[0].get_xlim() == (-2.0, 2.0)
    assert np.all(np.isfinite(explorer._paths["sgd"].get_xydata()))
    explorer.controls["lr"].value = 1e-3
    assert "diverged" not in explorer.status


def test_a_diverged_run_is_named_in_the_loss_panel(explorer):
    assert explorer._diverged_note.get_text() == ""
    explorer.controls["lr"].value = 0.05
    runs = explorer.trajectories()
    assert f"sgd: diverged at step {runs['sgd'].diverged_at}" in explorer._diverged_note.get_text()
    assert explorer._diverged_note.axes is explorer.figure.axes[1]


def test_controls_that_change_nothing_are_hidden():
    sgd_only = widgets.TrajectoryExplorer(surfaces=["rosenbrock"], optimizers=["sgd"],
                                          steps=STEPS)
    hidden = {n for n, c in sgd_only.controls.items() if c.layout.display == "none"}
    assert hidden == {"surface", "optimizers", "beta"}  # one surface, one optimizer, no β
    assert "β" not in sgd_only.status
    both = widgets.TrajectoryExplorer(surfaces=["rosenbrock", "beale"],
                                      optimizers=["sgd", "momentum"], steps=STEPS)
    assert all(c.layout.display is None for c in both.controls.values())
    both.controls["optimizers"].value = ("sgd",)  # unticking momentum: β has no reader
    assert both.controls["beta"].layout.display == "none"
    both.controls["optimizers"].value = ("sgd", "momentum")
    assert both.controls["beta"].layout.display is None
    fixed_lr = widgets.TrajectoryExplorer(
        surfaces=["rosenbrock"], optimizers={"Adadelta": (optim.Adadelta, {"lr": 1.0}),
                                             "RMSprop": (optim.RMSprop, {})}, steps=STEPS)
    assert fixed_lr.controls["beta"].layout.display == "none"
    assert fixed_lr.controls["lr"].layout.display is None  # RMSprop reads it
    fixed_lr.controls["optimizers"].value = ("Adadelta",)
    assert fixed_lr.controls["lr"].layout.display == "none"


def test_explorers_are_legible_in_a_projector_column():
    # A notebook's wide figure with 8-pt legends: narrowed to the column, text raised.
    fig, ax = plt.subplots(figsize=(14, 4.2))
    (line,) = ax.plot([0, 1], [0, 1], label="a line")
    ax.legend(fontsize=7)
    explorer = widgets.explore(fig, lambda a: line.set_ydata([0, a]),
                               a=widgets.slider(0, 2, step=0.5, value=1, description="a"))
    assert fig.get_size_inches()[0] == plots.COLUMN_WIDTH_IN
    assert explorer.smallest_text_px() >= plots.MIN_FONT_PT * fig.dpi / 72 - 1e-9
    markup = explorer._status_html.value
    assert f"data-min-text-px='{explorer.smallest_text_px():.2f}'" in markup
    assert "word-break:normal" in markup  # "in 120 steps" is never split inside a word
    trajectory = widgets.TrajectoryExplorer(surfaces=["beale"], optimizers=["adam"],
                                            steps=STEPS)
    assert trajectory.figure.get_size_inches()[0] <= plots.COLUMN_WIDTH_IN
    assert trajectory.smallest_text_px() >= plots.MIN_FONT_PT * trajectory.figure.dpi / 72
    # on a 1024x768 projector with the file browser open the column is ~585 px wide
    scale = min(1.0, 585 / (trajectory.figure.get_size_inches()[0] * trajectory.figure.dpi))
    assert trajectory.smallest_text_px() * scale >= 9.0


def test_every_control_keeps_a_gap_to_the_next():
    explorer = widgets.TrajectoryExplorer(surfaces=["beale"], optimizers=["sgd", "adam"],
                                          steps=STEPS)
    assert all(c.layout.margin for c in explorer.controls.values())
    boxes = explorer.controls["optimizers"].children[1:]
    assert all(box.layout.margin for box in boxes)


def test_redraw_recomputes_only_the_runs_whose_settings_changed(explorer):
    info = explorer._run_cached.cache_info
    misses = info().misses
    explorer.controls["beta"].value = 0.5  # sgd ignores β: only momentum and adam rerun
    assert info().misses == misses + 2
    explorer.controls["beta"].value = 0.9  # back to cached values: nothing reruns
    assert info().misses == misses + 2
    explorer.controls["lr"].value = 3e-3  # lr is in every key
    assert info().misses == misses + 5


def test_unticking_an_optimizer_hides_its_lines(explorer):
    explorer.controls["optimizers"].value = ("adam",)
    assert not explorer._paths["sgd"].get_visible()
    assert explorer._paths["adam"].get_visible()
    assert [t.get_text() for t in explorer._legend.get_texts()] == ["adam"]
    assert "sgd" not in explorer.status


def test_changing_surface_resets_start_and_redraws_once(explorer):
    calls = []
    original = explorer._update
    explorer._update = lambda **values: calls.append(values) or original(**values)
    explorer.controls["surface"].value = "beale"
    assert len(calls) == 1
    assert (calls[0]["x0"], calls[0]["y0"]) == (1.0, 1.5)  # Beale's default start
    assert (explorer.controls["x0"].min, explorer.controls["x0"].max) == (-1.0, 4.5)
    assert "Beale" in explorer.figure.axes[0].get_title()
    assert explorer.figure.axes[0].get_xlim() == (-1.0, 4.5)


def test_start_sliders_move_the_start(explorer):
    with explorer.hold():
        explorer.controls["x0"].value = 0.5
        explorer.controls["y0"].value = -0.5
    assert explorer.trajectories()["adam"].points[0].tolist() == [0.5, -0.5]
    assert explorer._start_marker.get_xydata().tolist() == [[0.5, -0.5]]


def test_fast_redraw_matches_a_full_draw(explorer):
    """The cached-background shortcut must show the same picture as drawing from scratch."""
    explorer.controls["lr"].value = 5e-3  # includes a diverged run and a changed legend
    rgba = np.asarray(Image.open(io.BytesIO(explorer.render_png())).convert("RGB"), int)
    explorer.figure.canvas.draw()
    full = np.asarray(explorer.figure.canvas.buffer_rgba())[..., :3].astype(int)
    differs = np.abs(rgba - full).max(axis=2) > 48  # the palette PNG rounds colours a little
    # only spine pixels may differ (a spine is drawn over the lines in a full draw)
    assert differs.mean() < 0.002


def test_custom_optimizers_dict_gets_the_slider_lr():
    explorer = widgets.TrajectoryExplorer(
        surfaces=["quadratic"], steps=STEPS, lr=0.01,
        optimizers={"heavy ball": (optim.HeavyBall, {"beta": 0.5}),
                    "fixed-lr SGD": (optim.SGD, {"lr": 0.1}),
                    "ema": (optim.EMAMomentum, lambda lr, beta: {"lr": 10 * lr, "beta": beta})})
    runs = explorer.trajectories()
    assert runs["heavy ball"].lr[0] == 0.01
    assert runs["fixed-lr SGD"].lr[0] == 0.1  # a fixed lr in the options wins
    assert runs["ema"].lr[0] == pytest.approx(0.1)


def test_bad_arguments_fail_loudly():
    with pytest.raises(ValueError, match="lbfgs"):
        widgets.TrajectoryExplorer(optimizers=["lbfgs"])
    with pytest.raises(ValueError, match="nowhere"):
        widgets.TrajectoryExplorer(surfaces=["nowhere"])


def test_presets_are_documented_and_build_their_optimizers():
    for name, (class_name, options) in widgets.PRESETS.items():
        assert f"``{name}``" in widgets.TrajectoryExplorer.__doc__
        cls = getattr(optim, class_name)
        assert f"{class_name}(lr=η" in widgets.TrajectoryExplorer.__doc__
        cls([np.zeros(2)], **options(1e-3, 0.9))  # every preset builds its optimizer
        cls([np.zeros(2)], **options(1e-3, 0.0))  # including at β = 0 (nesterov!)
    assert widgets.PRESETS["nesterov"][1](0.1, 0.9) == {"lr": 0.1, "momentum": 0.9,
                                                        "nesterov": True}
    assert widgets.PRESETS["adam"][1](0.1, 0.8) == {"lr": 0.1, "betas": (0.8, 0.999)}


def test_two_surfaces_with_one_name_are_refused():
    with pytest.raises(ValueError, match="two surfaces are named 'quadratic'"):
        widgets.TrajectoryExplorer(
            surfaces=[surfaces.quadratic(), surfaces.quadratic(angle_deg=45.0)], optimizers=["sgd"]
        )
