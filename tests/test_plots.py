"""Static figures: labelled, titled, log contours where promised, divergence drawn honestly."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402

from nnopt_lib import optim, plots, surfaces, trajectory  # noqa: E402
from nnopt_lib.history import History  # noqa: E402


@pytest.fixture(autouse=True)
def no_warnings_and_no_leaked_figures():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    plt.close("all")


@pytest.fixture(scope="module")
def runs():
    """Rosenbrock runs: two that converge and one that diverges."""
    rosenbrock = surfaces.get("rosenbrock")
    return {
        "SGD": trajectory.run(rosenbrock, optim.SGD, {"lr": 1e-3}, steps=100),
        "Adam": trajectory.run(rosenbrock, optim.Adam, {"lr": 0.05}, steps=100),
        "SGD lr=0.05": trajectory.run(rosenbrock, optim.SGD, {"lr": 0.05}, steps=100),
    }


def contour_set(ax) -> ContourSet:
    (cs,) = [c for c in ax.get_children() if isinstance(c, ContourSet)]
    return cs


def test_contour_uses_log_levels_and_marks_minima():
    surface = surfaces.get("rosenbrock")
    ax = plots.contour(surface)
    levels = contour_set(ax).levels - surface.min_value
    ratios = levels[1:] / levels[:-1]
    np.testing.assert_allclose(ratios, ratios[0])  # geometric spacing
    assert ratios[0] > 1.2
    assert len(levels) == 30
    stars = [line for line in ax.lines if line.get_marker() == "*"]
    assert len(stars) == 1 and stars[0].get_xydata().tolist() == [[1.0, 1.0]]
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "y"
    assert "Rosenbrock" in ax.get_title()
    assert ax.get_xlim() == surface.xlim and ax.get_ylim() == surface.ylim


def test_contour_levels_are_linear_when_the_surface_says_so():
    surface = surfaces.get("rastrigin")
    assert not surface.log_contours
    levels = contour_set(plots.contour(surface, levels=12)).levels
    np.testing.assert_allclose(np.diff(levels), np.diff(levels)[0])
    assert len(levels) == 12


def test_contour_of_every_surface_draws_without_warnings():
    for name in surfaces.SURFACES:
        surface = surfaces.get(name)
        fig, ax = plt.subplots()
        assert plots.contour(surface, ax=ax) is ax
        stars = [line for line in ax.lines if line.get_marker() == "*"]
        assert len(stars) == (1 if surface.minima else 0)
        plt.close(fig)


def test_trajectories_dash_the_diverged_run_and_keep_the_window(runs):
    surface = surfaces.get("rosenbrock")
    assert runs["SGD lr=0.05"].diverged and not runs["SGD"].diverged
    fig = plots.trajectories(surface, runs)
    (ax,) = fig.axes
    labels = {line.get_label(): line for line in ax.lines}
    k = runs["SGD lr=0.05"].diverged_at
    diverged = labels[f"SGD lr=0.05 (diverged at step {k})"]
    assert diverged.get_linestyle() == "--"
    assert labels["SGD"].get_linestyle() == "-"
    assert "start" in labels
    # the diverged path leaves the window, but the view is still the window
    assert ax.get_xlim() == surface.xlim and ax.get_ylim() == surface.ylim
    assert np.all(np.isfinite(diverged.get_xydata()))
    legend_texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"SGD lr=0.05 (diverged at step {k})" in legend_texts
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    fig.canvas.draw()  # renders without warnings or overflow


def test_finite_path_drops_nan_and_clamps_far_points():
    surface = surfaces.get("rosenbrock")
    points = np.array([[0.0, 0.0], [1e200, -1e200], [np.nan, 1.0]])
    path = plots.finite_path(surface, points)
    assert path.shape == (2, 2)
    assert path[1, 0] == surface.xlim[1] + 10 * (surface.xlim[1] - surface.xlim[0])
    assert path[1, 1] == surface.ylim[0] - 10 * (surface.ylim[1] - surface.ylim[0])


def test_loss_curves_are_log_scaled_and_capped_above(runs):
    fig = plots.loss_curves(runs)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "step" and "loss" in ax.get_ylabel() and ax.get_title()
    start = max(run.loss[0] for run in runs.values())
    assert ax.get_ylim()[1] <= 10 * start * (1 + 1e-12)  # a blow-up does not stretch the axis
    k = runs["SGD lr=0.05"].diverged_at
    styles = {line.get_label(): line.get_linestyle() for line in ax.lines}
    assert styles[f"SGD lr=0.05 (diverged at step {k})"] == "--"
    fig.canvas.draw()


def test_loss_curves_accept_histories_and_arrays():
    fit_record = History(loss=np.array([1.0, 0.5, 0.25]), lr=np.full(3, 0.1),
                         grad_norm=np.ones(3), epoch_metrics={"train_loss": np.array([0.6])})
    fig = plots.loss_curves({"fit": fit_record, "array": [2.0, 1.0, 0.1]}, log=False)
    (ax,) = fig.axes
    assert ax.get_yscale() == "linear"
    assert [line.get_label() for line in ax.lines] == ["fit", "array"]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [1.0, 0.5, 0.25])
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [2.0, 1.0, 0.1])


def test_loss_curves_refuse_what_is_not_a_history_or_an_array():
    class LooksLikeAHistory:  # no more guessing at attribute names
        losses = np.array([1.0, 0.5])

    with pytest.raises(TypeError, match="History objects or 1-D arrays"):
        plots.loss_curves({"run": LooksLikeAHistory()})
    with pytest.raises(ValueError, match="1-D"):
        plots.loss_curves({"run": np.ones((3, 2))})


def test_loss_curves_need_a_mapping_and_leave_no_figure_when_refused():
    # a list used to fail with AttributeError: 'list' object has no attribute 'items'
    for bad in ([1.0, 2.0], np.array([1.0, 2.0]), None):
        with pytest.raises(TypeError, match="trajs_or_histories must be a dict"):
            plots.loss_curves(bad)
    with pytest.raises(TypeError, match="History objects or 1-D arrays"):
        plots.loss_curves({"a": object()})
    assert plt.get_fignums() == []


def test_trajectories_need_a_mapping_of_surface_runs(runs):
    rosenbrock = surfaces.get("rosenbrock")
    # each used to fail with AttributeError: '...' object has no attribute 'points'
    fit_history = History(loss=np.ones(3), lr=np.ones(3), grad_norm=np.ones(3))  # no points
    for bad in (object(), np.ones((5, 3)), np.ones((5, 2)), fit_history):
        with pytest.raises(TypeError, match=r"trajs\['a'\] must be the History of a "
                                            r"trajectory.run"):
            plots.trajectories(rosenbrock, {"a": bad})
    with pytest.raises(TypeError, match="trajs must be a dict"):
        plots.trajectories(rosenbrock, list(runs.values()))
    assert plt.get_fignums() == []


@pytest.mark.parametrize(("levels", "error"), [(0, ValueError), (-3, ValueError),
                                               (2.5, TypeError), ("30", TypeError),
                                               (True, TypeError), (None, TypeError)])
def test_contour_levels_must_be_a_positive_integer(levels, error):
    # levels=0 drew an empty plot; 2.5 and '30' failed inside np.linspace
    rosenbrock = surfaces.get("rosenbrock")
    with pytest.raises(error, match=r"levels must be an integer >= 1"):
        plots.contour(rosenbrock, levels=levels)
    with pytest.raises(error, match=r"levels must be an integer >= 1"):
        plots.contour_levels(rosenbrock, rosenbrock.grid()[2], levels)
    assert plt.get_fignums() == []


def test_contour_levels_accept_numpy_integers_and_one_level():
    rastrigin = surfaces.get("rastrigin")
    assert len(contour_set(plots.contour(rastrigin, levels=np.int64(7))).levels) == 7
    assert len(plots.contour_levels(rastrigin, rastrigin.grid()[2], 1)) == 1


def test_surfaces_may_be_given_by_name(runs):
    # contour("rosenbrock") used to fail with AttributeError: 'str' object has no attribute 'grid'
    by_name = contour_set(plots.contour("rosenbrock")).levels
    np.testing.assert_array_equal(by_name,
                                  contour_set(plots.contour(surfaces.get("rosenbrock"))).levels)
    fig = plots.trajectories("rosenbrock", runs)
    assert "Rosenbrock" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="Unknown surface"):
        plots.contour("banana")
    with pytest.raises(TypeError, match="surface must be a Surface"):
        plots.contour(3)


@pytest.mark.parametrize("log", [True, False])
@pytest.mark.parametrize(
    "values",
    [
        [1e300, 1e301],
        [1e308, 1.0],
        [1.0, 1e308, np.inf],
        [-1e300, 1e300],
        [1e300, -1e308, -np.inf],
        [1.0, np.nan, 0.5],
        [5.0, 5.0, 5.0],
        [np.nan, np.inf],
        [1e-320, 1e-310],
        [],
    ],
)
def test_loss_curves_never_warn(values, log):
    # the autouse fixture turns every warning (matplotlib's overflow ones too) into an error
    fig = plots.loss_curves({"run": np.array(values, dtype=float), "ok": [3.0, 1.0]}, log=log)
    fig.canvas.draw()
    low, high = fig.axes[0].get_ylim()
    assert np.isfinite(low) and np.isfinite(high) and low < high


@pytest.mark.parametrize("values", [[1e-320, 1e-321], [1e250, 1e-250], [1e308]])
def test_loss_curves_alone_never_warn(values):
    fig = plots.loss_curves({"run": values})
    fig.canvas.draw()
    low, high = fig.axes[0].get_ylim()
    assert 0 < low < high < np.inf


def test_a_blown_up_curve_leaves_the_view_upwards():
    fig = plots.loss_curves({"run": [1.0, 0.5, 1e200, np.inf], "other": [2.0, 1.0]})
    (ax,) = fig.axes
    high = ax.get_ylim()[1]
    assert high == 20.0
    drawn = ax.lines[0].get_ydata()
    assert np.all(drawn[2:] > high) and np.all(np.isfinite(drawn))


def test_loss_curves_fall_back_to_linear_without_positive_losses():
    saddle = surfaces.get("saddle")
    run = trajectory.run(saddle, optim.SGD, {"lr": 0.1}, steps=30, start=(0.0, 0.5))
    assert np.all(run.loss < 0)
    fig = plots.loss_curves({"SGD": run}, log=True)
    assert fig.axes[0].get_yscale() == "linear"
    fig.canvas.draw()


def test_plot_functions_draw_into_a_given_axes(runs):
    fig, (left, right) = plt.subplots(1, 2)
    assert plots.trajectories(surfaces.get("rosenbrock"), runs, ax=left) is fig
    assert plots.loss_curves(runs, ax=right) is fig
    assert len(fig.axes) == 2


def test_contour_panels_have_equal_aspect():
    ax = plots.contour("beale")
    assert ax.get_aspect() == 1.0  # gradients look perpendicular to the contours
    assert plots.contour("beale", equal_aspect=False).get_aspect() == "auto"


def test_fit_to_column_narrows_wide_figures_and_raises_small_text():
    fig, ax = plt.subplots(figsize=(14, 4.2))
    ax.plot([0, 1], label="x")
    ax.set_title("a title", fontsize=8)
    legend = ax.legend(fontsize=6)
    assert plots.smallest_text_px(fig) == pytest.approx(6 * fig.dpi / 72)
    assert plots.fit_to_column(fig) is fig
    assert tuple(fig.get_size_inches()) == (plots.COLUMN_WIDTH_IN, 4.2)  # height kept
    assert plots.smallest_text_px(fig) == pytest.approx(plots.MIN_FONT_PT * fig.dpi / 72)
    narrow, _ = plt.subplots(figsize=(4, 3))
    plots.fit_to_column(narrow)
    assert tuple(narrow.get_size_inches()) == (4, 3)  # narrower figures are left alone
    with pytest.raises(ValueError, match="width=0"):
        plots.fit_to_column(fig, width=0)
    legend.get_texts()[0].set_fontsize(5)
    legend.set_visible(False)  # hidden text is not measured
    assert plots.smallest_text_px(fig) == pytest.approx(plots.MIN_FONT_PT * fig.dpi / 72)


def test_the_course_style_keeps_every_default_font_legible():
    from matplotlib.font_manager import FontProperties

    for key in ("font.size", "axes.titlesize", "axes.labelsize", "xtick.labelsize",
                "ytick.labelsize", "legend.fontsize"):
        size = FontProperties(size=plt.rcParams[key]).get_size_in_points()
        assert size >= plots.MIN_FONT_PT, key
    assert plt.rcParams["figure.figsize"][0] <= plots.COLUMN_WIDTH_IN
