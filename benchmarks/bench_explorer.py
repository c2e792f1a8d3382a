"""How long a slider move takes to redraw: TrajectoryExplorer vs an `interact`-style redraw.

Scenario: 6 optimizers x 300 steps on Rosenbrock, the learning-rate slider moved 15 times
to 15 different values (so every trajectory really is recomputed: the lr is part of every
run's cache key). For each value we time

* the explorer: ``explorer.controls["lr"].value = lr``, i.e. the widget callback, the
  recomputed runs, the in-place artist updates, the PNG and the Output widget update --
  everything up to the bytes the kernel would send;
* the naive way ``ipywidgets.interact`` works: a new figure, the contour, all runs, a
  freshly laid-out figure, and the PNG the inline backend makes
  (``IPython.core.pylabtools.print_figure``, ``bbox_inches="tight"``).

The two are interleaved (explorer, naive, explorer, ...) so that background load on a shared
machine hits both alike. Printed: median wall time and median CPU time (``process_time``,
less sensitive to other processes) of each, their ratio, and the PNG sizes. Targets: ratio
<= 0.5 and explorer median < 100 ms. This is a benchmark, not a test: it prints, it does
not assert.

    .venv/bin/python benchmarks/bench_explorer.py
"""

from __future__ import annotations

import statistics
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from IPython.core.pylabtools import print_figure  # noqa: E402

from nnopt_lib import optim, plots, surfaces, trajectory, widgets  # noqa: E402
from nnopt_lib.optim import presets  # noqa: E402

OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam")
STEPS = 300
BETA = 0.9
CHANGES = 15


def naive_redraw(lr: float, figsize: tuple[float, float]) -> bytes:
    """What an ``interact``-decorated plotting function does on every slider move (on a
    figure of the explorer's size, so that both render as many pixels)."""
    surface = surfaces.get("rosenbrock")
    runs = {}
    for name in OPTIMIZERS:
        class_name, options = presets.PRESETS[name]
        cls = getattr(optim, class_name)
        runs[name] = trajectory.run(surface, cls, options(lr, BETA), steps=STEPS)
    fig, (ax_path, ax_loss) = plt.subplots(1, 2, figsize=figsize)
    plots.trajectories(surface, runs, ax=ax_path)
    plots.loss_curves(runs, ax=ax_loss)
    png = print_figure(fig, "png")  # the inline backend's own function and defaults
    plt.close(fig)
    return png


def timed(action) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    explorer = widgets.TrajectoryExplorer(surfaces=["rosenbrock"], optimizers=OPTIMIZERS,
                                          lr=1e-3, beta=BETA, steps=STEPS)
    figsize = tuple(explorer.figure.get_size_inches())
    naive_redraw(1e-3, figsize)  # warm both paths up (imports, font cache, first layout)
    rng = np.random.default_rng(0)
    lrs = rng.permutation(np.geomspace(2e-4, 4e-3, CHANGES))  # spans convergence & divergence

    def move(lr: float) -> bytes:
        explorer.controls["lr"].value = float(lr)
        return explorer.output.outputs[0]["data"]["image/png"]

    ours_wall, ours_cpu, naive_wall, naive_cpu = [], [], [], []
    ours_bytes, naive_bytes, diverged = [], [], 0
    for lr in lrs:
        wall, cpu, png = timed(lambda lr=lr: move(lr))
        ours_wall.append(wall)
        ours_cpu.append(cpu)
        ours_bytes.append(len(png) * 3 // 4)  # base64 -> bytes
        diverged += "diverged at step" in (explorer.status or "")
        wall, cpu, png = timed(lambda lr=lr: naive_redraw(lr, figsize))
        naive_wall.append(wall)
        naive_cpu.append(cpu)
        naive_bytes.append(len(png))

    def ms(values: list[float]) -> float:
        return 1000 * statistics.median(values)

    print(f"TrajectoryExplorer redraw benchmark: {len(OPTIMIZERS)} optimizers x {STEPS} steps "
          f"on Rosenbrock, {CHANGES} lr changes ({lrs.min():.1e} .. {lrs.max():.1e}; "
          f"{diverged} with a diverged run)")
    print(f"{'':26}{'median wall':>12}{'median CPU':>12}{'PNG size':>11}")
    print(f"{'explorer (in place)':26}{ms(ours_wall):>9.1f} ms{ms(ours_cpu):>9.1f} ms"
          f"{statistics.median(ours_bytes) / 1024:>8.0f} kB")
    print(f"{'interact-style re-render':26}{ms(naive_wall):>9.1f} ms{ms(naive_cpu):>9.1f} ms"
          f"{statistics.median(naive_bytes) / 1024:>8.0f} kB")
    ratio_wall = ms(ours_wall) / ms(naive_wall)
    ratio_cpu = ms(ours_cpu) / ms(naive_cpu)
    print(f"ratio explorer / naive: {ratio_wall:.2f} (wall), {ratio_cpu:.2f} (CPU)   "
          f"[targets: ratio <= 0.5, explorer median < 100 ms]")
    met = ratio_wall <= 0.5 and ms(ours_wall) < 100
    print("targets met" if met else "targets NOT met (wall clock; compare the CPU column)")


if __name__ == "__main__":
    main()
