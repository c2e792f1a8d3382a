"""Exercises of notebook 18 (GPUs and parallelism: where the time goes).

* ``round_to_bfloat16(x)``: ``x`` is a float32 array; return the nearest bfloat16 values
  (ties to even) as a float32 array, by bit arithmetic on ``x.view(np.uint32)``: add
  ``0x7FFF + lsb`` where ``lsb = (u >> 16) & 1``, then keep the top 16 bits
  (``& 0xFFFF0000``). The cases hold ties (low half exactly ``0x8000``), subnormals,
  ±inf and values that round up to inf; no NaNs. Compared exactly.
* ``matmul_intensity(m, n, k, itemsize)``: arithmetic intensity, in FLOPs per byte, of
  ``C = A @ B`` with ``A`` of shape ``(m, k)`` and ``B`` of shape ``(k, n)``, when each of
  ``A``, ``B`` is read once and ``C`` written once: ``2 m n k / (itemsize (m k + k n + m n))``.
* ``roofline_time(flops, nbytes, peak, bandwidth)``: the least time of a kernel that does
  ``flops`` operations and moves ``nbytes`` bytes on a machine with ``peak`` FLOP/s and
  ``bandwidth`` bytes/s, when computing and moving overlap: ``max(flops / peak,
  nbytes / bandwidth)`` (Williams et al. 2009).
* ``amdahl(serial_fraction, workers)``: Amdahl's speed-up ``1 / (s + (1 - s) / N)``;
  ``workers`` may be an array.
* ``update_loss_scale(scale, tracker, found_inf, growth_factor, backoff_factor,
  growth_interval)``: one ``GradScaler.update`` as a pure function, returning
  ``(new_scale, new_tracker)``: on inf/NaN, ``(scale * backoff_factor, 0)``; otherwise the
  tracker counts up, and reaching ``growth_interval`` gives ``(scale * growth_factor, 0)``.
"""

from __future__ import annotations

import numpy as np

from nnopt_lib import hardware, precision
from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _round_to_bfloat16(x):
    return precision.to_bfloat16(x)


def _matmul_intensity(m, n, k, itemsize):
    return 2 * m * n * k / (itemsize * (m * k + k * n + m * n))


def _roofline_time(flops, nbytes, peak, bandwidth):
    return max(flops / peak, nbytes / bandwidth)


def _amdahl(serial_fraction, workers):
    return hardware.amdahl_speedup(serial_fraction, workers)


def _update_loss_scale(scale, tracker, found_inf, growth_factor, backoff_factor,
                       growth_interval):
    if found_inf:
        return scale * backoff_factor, 0
    if tracker + 1 == growth_interval:
        return scale * growth_factor, 0
    return scale, tracker + 1


# --------------------------------------------------------------------------- cases


def _bfloat16_cases(rng):
    cases = []
    for _ in range(8):
        bits = rng.integers(0, 0xFF80_0000, size=40, dtype=np.uint32)
        bits = bits[(bits & np.uint32(0x7F80_0000)) != np.uint32(0x7F80_0000)]  # no NaN/inf
        ties = (bits[:10] & np.uint32(0xFFFF_0000)) | np.uint32(0x8000)
        sub = rng.integers(1, 1 << 23, size=5, dtype=np.uint32)  # subnormals
        cases.append((np.concatenate([bits, ties, sub]).view(np.float32),))
    cases.append((np.array([0.0, -0.0, np.inf, -np.inf, 3.4028235e38, -3.4e38, 1.00390625,
                            1.01171875, 1e-40], dtype=np.float32),))
    return cases


def _exact(expected, got):
    got = np.asarray(got)
    return (got.dtype == np.float32 and got.shape == expected.shape
            and np.array_equal(got.view(np.uint32), expected.view(np.uint32)))


def _intensity_cases(rng):
    shapes = [(1, 1, 1), (64, 64, 64), (1024, 1024, 1024), (1, 4096, 4096), (4096, 1, 4096),
              (128, 10, 784), (8192, 8192, 8192)]
    cases = [(m, n, k, size) for m, n, k in shapes for size in (2, 4)]
    cases += [(int(rng.integers(1, 2000)), int(rng.integers(1, 2000)),
               int(rng.integers(1, 2000)), 8) for _ in range(5)]
    return cases


def _roofline_cases(rng):
    cases = [(2e12, 1e9, 1e14, 4e12), (1e6, 4e7, 1e12, 1e11), (7e10, 2.8e8, 5e10, 1e10)]
    for _ in range(10):
        cases.append((float(10 ** rng.uniform(6, 14)), float(10 ** rng.uniform(6, 11)),
                      float(10 ** rng.uniform(10, 15)), float(10 ** rng.uniform(9, 12.7))))
    return cases


def _amdahl_cases(rng):
    cases = [(0.0, 8), (1.0, 8), (0.05, 1), (0.05, np.array([1, 2, 4, 8, 16, 32, 64]))]
    cases += [(float(rng.uniform(0, 0.5)), rng.integers(1, 1000, size=6)) for _ in range(6)]
    return cases


def _scale_cases(rng):
    cases = []
    for _ in range(20):
        interval = int(rng.integers(1, 6))
        cases.append((float(2.0 ** rng.integers(-4, 20)), int(rng.integers(0, interval)),
                      bool(rng.random() < 0.4), float(rng.choice([2.0, 4.0, 1.5])),
                      float(rng.choice([0.5, 0.25, 0.9])), interval))
    cases.append((65536.0, 1999, False, 2.0, 0.5, 2000))  # growth at the default interval
    cases.append((65536.0, 1999, True, 2.0, 0.5, 2000))  # an overflow wins
    return cases


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="round_to_bfloat16",
    reference=_round_to_bfloat16,
    cases=_bfloat16_cases,
    compare=_exact,
    hint="u = x.view(np.uint32). The bit that survives last is lsb = (u >> 16) & 1. Adding "
         "0x7FFF + lsb to u carries into bit 16 exactly when the cut-off half is more than "
         "0x8000, or equal to it with an odd lsb (ties to even). Then u & 0xFFFF0000, and "
         ".view(np.float32). Use np.uint32 constants so nothing becomes int64.",
))

register(Exercise(
    name="matmul_intensity",
    reference=_matmul_intensity,
    cases=_intensity_cases,
    hint="FLOPs: each of the m·n outputs is a dot product of length k, k multiplies and k "
         "adds, so 2·m·n·k. Bytes: A has m·k numbers, B k·n, C m·n, each moved once, times "
         "the itemsize.",
))

register(Exercise(
    name="roofline_time",
    reference=_roofline_time,
    cases=_roofline_cases,
    hint="Computing alone needs flops / peak seconds, moving the data alone nbytes / "
         "bandwidth. If the two overlap perfectly, the slower of the two sets the time.",
))

register(Exercise(
    name="amdahl",
    reference=_amdahl,
    cases=_amdahl_cases,
    hint="The serial part s takes the same time whatever N; the parallel part 1 − s is "
         "divided among N workers. Speed-up = old time / new time = 1 / (s + (1 − s) / N); "
         "written with array arithmetic it works for an array of N too.",
))

register(Exercise(
    name="update_loss_scale",
    reference=_update_loss_scale,
    cases=_scale_cases,
    hint="An overflow (found_inf) backs off at once and resets the count of clean steps. "
         "A clean step adds one to the count; when the count reaches growth_interval, the "
         "scale grows and the count restarts at 0. Return the pair (scale, tracker).",
))
