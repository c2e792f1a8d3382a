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
    start = max(run.losses[0] for run in runs.values())
    assert ax.get_ylim()[1] <= 10 * start * (1 + 1e-12)  # a blow-up does not stretch the axis
    k = runs["SGD lr=0.05"].diverged_at
    styles = {line.get_label(): line.get_linestyle() for line in ax.lines}
    assert styles[f"SGD lr=0.05 (diverged at step {k})"] == "--"
    fig.canvas.draw()


def test_loss_curves_accept_histories_and_arrays():
    class History:  # what training.fit returns: per-step losses under .loss
        loss = np.array([1.0, 0.5, 0.25])

    fig = plots.loss_curves({"fit": History(), "array": [2.0, 1.0, 0.1]}, log=False)
    (ax,) = fig.axes
    assert ax.get_yscale() == "linear"
    assert [line.get_label() for line in ax.lines] == ["fit", "array"]
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [2.0, 1.0, 0.1])


def test_loss_curves_fall_back_to_linear_without_positive_losses():
    saddle = surfaces.get("saddle")
    run = trajectory.run(saddle, optim.SGD, {"lr": 0.1}, steps=30, start=(0.0, 0.5))
    assert np.all(run.losses < 0)
    fig = plots.loss_curves({"SGD": run}, log=True)
    assert fig.axes[0].get_yscale() == "linear"
    fig.canvas.draw()


def test_plot_functions_draw_into_a_given_axes(runs):
    fig, (left, right) = plt.subplots(1, 2)
    assert plots.trajectories(surfaces.get("rosenbrock"), runs, ax=left) is fig
    assert plots.loss_curves(runs, ax=right) is fig
    assert len(fig.axes) == 2
