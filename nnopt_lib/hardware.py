"""Where the time of a training step goes: short NumPy measurements, and models that explain them.

Measurements (each takes well under a second; every timing is the best of a few repeats,
because on a shared machine the minimum is the least disturbed estimate):

* :func:`matmul_rate`: FLOP/s of an ``n x n`` by ``n x n`` product (``2 n^3`` floating-point
  operations), for growing ``n``.
* :func:`copy_bandwidth`: bytes per second of a large array copy, counting what is read and
  what is written (``2 x`` the array's size), the convention of the STREAM benchmark.
* :func:`optimizer_step_time`: one optimizer step on ``n`` float32 parameters, with the
  bytes it must move at least: Adam reads parameter, gradient, ``m``, ``v`` and writes
  parameter, ``m``, ``v`` (7 arrays); SGD with momentum reads parameter, gradient, buffer and
  writes parameter and buffer (5). Divided by the copy bandwidth that is the **bandwidth
  floor**: no implementation can be faster on this machine.
* :func:`call_overhead`: the time of one NumPy call on a tiny array, which is all overhead
  (Python, argument checks, allocation) and no arithmetic.
* :func:`step_breakdown`: one training step of an ``nn.mlp`` split into data, forward,
  backward and optimizer time.

Models:

* :func:`roofline` (Williams, Waterman & Patterson 2009): a kernel of arithmetic intensity
  ``I`` (FLOPs per byte moved) runs at most at ``min(peak, I x bandwidth)`` FLOP/s.
* :func:`amdahl_speedup` (Amdahl 1967): with a serial fraction ``s`` of the work,
  ``N`` workers give a speed-up of ``1 / (s + (1 - s) / N) < 1 / s``.
* :func:`pipeline_bubble` (Huang et al. 2019, GPipe): ``K`` pipeline stages and ``M``
  micro-batches leave a fraction ``(K - 1) / (M + K - 1)`` of the stage-time idle.

:func:`load_reference` reads the numbers the course team measured on an NVIDIA H200.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

from nnopt_lib.optim.inplace import in_blocks

__all__ = [
    "BYTES_PER_PARAM_STEP",
    "StepTimes",
    "amdahl_speedup",
    "best_time",
    "call_overhead",
    "copy_bandwidth",
    "format_rate",
    "load_reference",
    "matmul_rate",
    "optimizer_step_time",
    "pipeline_bubble",
    "reference_matmul",
    "roofline",
    "step_breakdown",
    "table",
]

#: Arrays an optimizer step must read or write per parameter (torch's Adam/SGD state, no
#: amsgrad, no weight decay); times the itemsize, the least traffic per parameter.
BYTES_PER_PARAM_STEP = {"adam": 7, "sgd_momentum": 5, "sgd": 3}


def best_time(fn: Callable[[], Any], *, repeats: int = 5, number: int = 1) -> float:
    """The smallest, over ``repeats``, of the mean time of ``number`` calls of ``fn``, in
    seconds. After one untimed warm-up call (caches, lazy allocation)."""
    fn()
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return float(best)


def matmul_rate(n: int, *, dtype: Any = np.float32, repeats: int = 3, seed: int = 0
                ) -> dict[str, float]:
    """Time ``A @ B`` for ``n x n`` matrices: ``{"n", "seconds", "flops"}`` with
    ``flops = 2 n^3 / seconds`` (each of the ``n^2`` outputs takes ``n`` multiply-adds)."""
    rng = np.random.default_rng(seed)
    a, b = rng.random((n, n), dtype=np.float64).astype(dtype), rng.random((n, n)).astype(dtype)
    out = np.empty((n, n), dtype=dtype)
    number = max(1, int(2e7 // n**3))  # small products: time several together
    seconds = best_time(lambda: np.matmul(a, b, out=out), repeats=repeats, number=number)
    return {"n": n, "seconds": seconds, "flops": 2 * n**3 / seconds}


def copy_bandwidth(nbytes: int = 64 * 2**20, *, repeats: int = 5) -> float:
    """Bytes per second of copying ``nbytes`` (read + written: ``2 nbytes``), split into blocks
    over every core the way the optimizer classes split a step (:func:`~nnopt_lib.optim.
    inplace.in_blocks`), so it bounds what they can reach.

    Use an array much larger than the last-level cache (tens of MB) to measure main memory.
    """
    src = np.ones(nbytes // 8)
    dst = np.empty_like(src)

    def copy() -> None:
        in_blocks(src.size, src.dtype, lambda block, _s, _w: np.copyto(dst[block], src[block]))

    seconds = best_time(copy, repeats=repeats)
    return 2 * src.nbytes / seconds


def optimizer_step_time(step: Callable[[], Any], n_params: int, kind: str, *,
                        itemsize: int = 4, repeats: int = 3) -> dict[str, float]:
    """Time ``step()`` (one optimizer step on ``n_params`` parameters) and relate it to memory.

    Returns ``{"seconds", "bytes", "bandwidth"}``: ``bytes`` is the least traffic
    ``BYTES_PER_PARAM_STEP[kind] * itemsize * n_params``, and ``bandwidth`` the rate at which
    the step would have to move them (``bytes / seconds``), comparable to
    :func:`copy_bandwidth`.
    """
    if kind not in BYTES_PER_PARAM_STEP:
        raise ValueError(f"unknown kind {kind!r}; choose one of {sorted(BYTES_PER_PARAM_STEP)}")
    seconds = best_time(step, repeats=repeats)
    nbytes = BYTES_PER_PARAM_STEP[kind] * itemsize * n_params
    return {"seconds": seconds, "bytes": nbytes, "bandwidth": nbytes / seconds}


def call_overhead(*, size: int = 8, number: int = 2000, repeats: int = 5) -> float:
    """Seconds per ``np.add(a, b, out=c)`` on arrays of ``size`` elements: at this size, pure
    overhead, whatever the arithmetic."""
    a, b = np.ones(size, np.float32), np.ones(size, np.float32)
    c = np.empty_like(a)
    return best_time(lambda: np.add(a, b, out=c), repeats=repeats, number=number)


def roofline(intensity: Any, peak: float, bandwidth: float) -> np.ndarray:
    """Attainable FLOP/s ``min(peak, intensity * bandwidth)``; ``intensity`` in FLOPs/byte.

    The ridge point ``peak / bandwidth`` separates memory-bound kernels (left) from
    compute-bound ones (right). Williams, Waterman & Patterson, "Roofline: an insightful
    visual performance model for multicore architectures", CACM 52(4), 2009.
    """
    return np.minimum(peak, np.asarray(intensity, dtype=float) * bandwidth)


def amdahl_speedup(serial_fraction: float, workers: Any) -> np.ndarray:
    """``1 / (s + (1 - s) / N)``: Amdahl's law for a serial fraction ``s`` and ``N`` workers.

    Amdahl, "Validity of the single processor approach to achieving large scale computing
    capabilities", AFIPS 1967.
    """
    if not 0 <= serial_fraction <= 1:
        raise ValueError(f"serial_fraction must be in [0, 1], got {serial_fraction}")
    workers = np.asarray(workers, dtype=float)
    return 1 / (serial_fraction + (1 - serial_fraction) / workers)


def pipeline_bubble(stages: int, microbatches: int) -> float:
    """Idle fraction ``(K - 1) / (M + K - 1)`` of a GPipe schedule with ``K`` stages and ``M``
    micro-batches: each stage works ``M`` slots out of the ``M + K - 1`` the batch takes.

    Huang et al., "GPipe: efficient training of giant neural networks using pipeline
    parallelism", NeurIPS 2019.
    """
    if stages < 1 or microbatches < 1:
        raise ValueError(f"need stages >= 1 and microbatches >= 1, got {stages}, {microbatches}")
    return (stages - 1) / (microbatches + stages - 1)


@dataclass(frozen=True)
class StepTimes:
    """Seconds per training step, by part (each part's smallest time over all the steps)."""

    data: float
    forward: float
    backward: float
    optimizer: float

    @property
    def total(self) -> float:
        return self.data + self.forward + self.backward + self.optimizer

    def fractions(self) -> dict[str, float]:
        """Each part's share of the total."""
        return {k: getattr(self, k) / self.total
                for k in ("data", "forward", "backward", "optimizer")}


def step_breakdown(model: Any, loss_fn: Any, optimizer: Any, X: np.ndarray, y: np.ndarray, *,
                   batch_size: int, steps: int = 20, repeats: int = 3, seed: int = 0
                   ) -> StepTimes:
    """Time ``repeats * steps`` training steps of ``model`` part by part.

    data: drawing a random minibatch (fancy indexing copies it); forward: model and loss;
    backward: ``model.backward(loss_fn.backward())``; optimizer: ``optimizer.step(grads)``.
    Each part's time is its smallest over all the steps, like :func:`best_time`: on a shared
    machine the least disturbed estimate, comparable with ``best_time`` of one part. The
    model is trained for real (pass a copy if it must stay as it is).
    """
    rng = np.random.default_rng(seed)
    best = np.full(4, np.inf)
    for _ in range(repeats):
        for _ in range(steps):
            t0 = time.perf_counter()
            index = rng.integers(0, len(X), size=batch_size)
            xb, yb = X[index], y[index]
            t1 = time.perf_counter()
            loss_fn.forward(model(xb), yb)
            t2 = time.perf_counter()
            model.backward(loss_fn.backward())
            grads = model.gradients()
            t3 = time.perf_counter()
            optimizer.step(grads)
            t4 = time.perf_counter()
            best = np.minimum(best, np.diff([t0, t1, t2, t3, t4]))
    return StepTimes(*map(float, best))


def load_reference() -> dict[str, Any]:
    """The course team's measurements on one NVIDIA H200 (``data_files/h200_reference.json``).

    Keys: ``device``, ``torch``, ``matmul`` (rows ``n``, ``dtype``, ``ms``, ``TFLOPs``),
    ``d2d_copy_GBs_read_plus_write``, ``h2d_pageable_GBs``, ``h2d_pinned_GBs``,
    ``d2h_pinned_GBs``, ``optimizer_step`` (rows ``optimizer``, ``mode``, ``params``, ``ms``,
    ``GBs_effective``), ``tiny_op_us`` (GPU) and ``tiny_op_cpu_us``.
    """
    path = resources.files("nnopt_lib").joinpath("data_files", "h200_reference.json")
    return json.loads(path.read_text())


def reference_matmul(reference: dict[str, Any], dtype: str) -> list[tuple[int, float]]:
    """``(n, FLOP/s)`` rows of one dtype of the reference's matrix products."""
    return [(row["n"], row["TFLOPs"] * 1e12) for row in reference["matmul"]
            if row["dtype"] == dtype]


def format_rate(value: float, unit: str) -> str:
    """``1.23e10, "FLOP/s"`` -> ``"12.3 GFLOP/s"`` (k, M, G, T prefixes)."""
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A plain-text table, columns right-aligned."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True))
                     for row in cells)
