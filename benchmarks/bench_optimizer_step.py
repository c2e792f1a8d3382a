"""One optimizer step on 10 M float32 parameters: nnopt_lib against torch, and the memory floor.

For Adam, AdamW and SGD with momentum this times, in one process and alternating between
them (medians of ``--repeats`` rounds after warm-up, so machine noise hits every side alike):

* ``nnopt class``: ``optim.Adam([p]).step([g])``, the classes' in-place block path
  (``nnopt_lib/optim/inplace.py``);
* ``nnopt pure``: the teaching step function plus the copy back into the parameter, which is
  what the classes did before the in-place path;
* torch's three CPU implementations: ``single`` (``foreach=False``), ``foreach`` and ``fused``,
  with torch's default number of threads (printed);
* the bandwidth floor: the bytes the update must move (Adam and AdamW read θ, g, m, v and
  write θ, m, v: 7 arrays; SGD with momentum reads θ, g, b and writes θ, b: 5) divided by the
  bandwidth of ``x += y`` (3 arrays, in place, on every core) measured in the same rounds.

It prints each time and the ratios nnopt class / torch foreach (the target in issue 11 is
≤ 1.2) and nnopt class / floor. Run: ``.venv/bin/python benchmarks/bench_optimizer_step.py``
(``--size``, ``--repeats``; about half a minute). The classes split a large parameter among
threads, one per core, as torch does. The floor is numpy's own bandwidth: torch's fused
kernels, which do the whole update in one vectorised pass, can beat it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from nnopt_lib import optim
from nnopt_lib.optim import inplace

#: name -> (nnopt class, pure step function, options, arrays the update must move)
CASES = {
    "Adam": (optim.Adam, optim.adam_step, {"lr": 1e-3}, 7),
    "AdamW": (optim.AdamW, optim.adamw_step, {"lr": 1e-3, "weight_decay": 1e-2}, 7),
    "SGD momentum": (optim.SGD, optim.sgd_step, {"lr": 1e-3, "momentum": 0.9}, 5),
}
TORCH_CLASSES = {"Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW,
                 "SGD momentum": torch.optim.SGD}
TORCH_MODES = {"single": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def timers(name: str, size: int) -> dict[str, Callable[[], None]]:
    """Label -> a function doing one step, all on the same starting values."""
    cls, step_fn, options, _ = CASES[name]
    rng = np.random.default_rng(0)
    start = rng.standard_normal(size, dtype=np.float32)
    grad = rng.standard_normal(size, dtype=np.float32)

    param = start.copy()
    opt = cls([param], **options)
    pure_param, pure_state = start.copy(), {}

    def pure_step() -> None:
        nonlocal pure_state
        new, pure_state = step_fn(pure_param, grad, pure_state, **options)
        pure_param[...] = new

    result = {"nnopt class": lambda: opt.step([grad]), "nnopt pure": pure_step}
    for mode, switch in TORCH_MODES.items():
        tensor = torch.from_numpy(start.copy()).requires_grad_()
        tensor.grad = torch.from_numpy(grad.copy())
        result[f"torch {mode}"] = TORCH_CLASSES[name]([tensor], **options, **switch).step
    return result


def median_times(steps: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Median seconds per call, the sides interleaved round by round."""
    for step in steps.values():  # warm-up: first-touch page faults, state allocation
        step()
        step()
    times: dict[str, list[float]] = {label: [] for label in steps}
    for _ in range(repeats):
        for label, step in steps.items():
            # one untimed call first: the previous side's leftovers (torch's worker threads
            # still spinning, its arrays in the cache) must not be charged to this one
            step()
            began = time.perf_counter()
            step()
            times[label].append(time.perf_counter() - began)
    return {label: statistics.median(values) for label, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000_000, help="parameters (float32)")
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds")
    args = parser.parse_args()

    # The floor's yardstick: x += y, which reads two arrays and writes one, in place like an
    # optimizer step, on every core (the same block-and-thread split the classes use).
    x, y = np.ones(args.size, np.float32), np.ones(args.size, np.float32)

    def add_in_place() -> None:
        inplace.in_blocks(args.size, x.dtype, lambda block, _s, _w: np.add(x[block], y[block],
                                                                            out=x[block]))

    print(f"{args.size:,} float32 parameters; torch {torch.__version__} with "
          f"{torch.get_num_threads()} thread(s); numpy {np.__version__}; medians of "
          f"{args.repeats} interleaved rounds\n")
    header = (f"{'optimizer':<14}{'nnopt class':>12}{'nnopt pure':>12}{'torch single':>13}"
              f"{'foreach':>9}{'fused':>8}{'floor':>8}   class/foreach  class/floor")
    print(header)
    for name, (_, _, _, arrays) in CASES.items():
        steps = timers(name, args.size)
        steps["x += y"] = add_in_place
        ms = {label: 1e3 * t for label, t in median_times(steps, args.repeats).items()}
        # x += y moves 3 arrays; the update moves `arrays` of them at the same bandwidth
        floor = ms["x += y"] * arrays / 3
        print(f"{name:<14}{ms['nnopt class']:>10.1f}ms{ms['nnopt pure']:>10.1f}ms"
              f"{ms['torch single']:>11.1f}ms{ms['torch foreach']:>7.1f}ms"
              f"{ms['torch fused']:>6.1f}ms{floor:>6.1f}ms"
              f"   {ms['nnopt class'] / ms['torch foreach']:>13.2f}"
              f"  {ms['nnopt class'] / floor:>11.2f}")
    print("\nfloor = the bytes the update must move (Adam/AdamW 7 arrays, SGD momentum 5) at "
          "the bandwidth of x += y on every core.")


if __name__ == "__main__":
    main()
