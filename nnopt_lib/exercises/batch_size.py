"""Exercises of notebook 09 (batch size and the learning rate).

* ``linear_scaling_lr(step, base_lr, base_batch, batch, warmup_steps)``: the learning rate of
  Goyal et al.'s recipe at update ``step`` (counting from 0). The target rate is
  ``k * base_lr`` with ``k = batch / base_batch`` (the linear scaling rule); during the first
  ``warmup_steps`` updates the rate climbs linearly from ``base_lr`` to it,
  ``base_lr + (k * base_lr - base_lr) * min(step, warmup_steps) / warmup_steps``, and stays
  there afterwards (``warmup_steps = 0``: no warm-up). This is what
  ``LinearLR(start_factor=1/k, total_iters=warmup_steps)`` on an optimizer with
  ``lr = k * base_lr`` gives.
* ``noise_without_replacement(sq_norms, grad_sq, batch, n)``: the expected squared error
  ``E||g_B - G||^2`` of a minibatch gradient when the ``batch`` examples are drawn WITHOUT
  replacement from ``n``, given every per-example squared gradient norm ``||g_i||^2``
  (``sq_norms``, shape ``(n,)``) and ``grad_sq = ||G||^2`` of the full gradient
  ``G = mean_i g_i``: ``tr(Sigma) / B * (n - B) / (n - 1)`` with
  ``tr(Sigma) = mean_i ||g_i||^2 - ||G||^2`` (notebook 03's finite-population correction).
* ``ema_noise_scale(small_sq, big_sq, batch_small, batch_big, beta)``: McCandlish et al.'s
  running estimate of ``B_simple``. Pair ``t`` gives the squared norms of two minibatch
  gradients, ``small_sq[t]`` (``batch_small`` examples) and ``big_sq[t]`` (``batch_big``).
  Each pair gives unbiased estimates of ``||G||^2`` and ``tr(Sigma)``; both are averaged
  with an exponential moving average (``m <- beta * m + (1 - beta) * x``, from ``m = 0``)
  and ``B_simple`` after pair ``t`` is the RATIO of the two averages. Returns the array of
  the ``T`` running estimates. (A bias correction ``1 / (1 - beta^t)`` would cancel in the
  ratio.)
* ``wall_clock_optimal_batch(b_crit, step_cost, example_cost)``: the batch size that reaches
  a target loss fastest on a machine where one update costs ``step_cost + example_cost * B``
  seconds, if the number of updates follows ``S = S_min (1 + b_crit / B)``. Minimising
  ``S * (step_cost + example_cost * B)`` over ``B`` gives
  ``sqrt(b_crit * step_cost / example_cost)`` (a real number; ``S_min`` drops out).

P. Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour",
arXiv:1706.02677, 2017. S. McCandlish, J. Kaplan, D. Amodei and the OpenAI Dota team,
"An Empirical Model of Large-Batch Training", arXiv:1812.06162, 2018.
"""

from __future__ import annotations

import math

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _linear_scaling_lr(step, base_lr, base_batch, batch, warmup_steps):
    target = base_lr * batch / base_batch  # the linear scaling rule
    if warmup_steps == 0:
        return target
    # Goyal et al.'s gradual warm-up: from the small-batch rate up to the scaled one
    return base_lr + (target - base_lr) * min(step, warmup_steps) / warmup_steps


def _noise_without_replacement(sq_norms, grad_sq, batch, n):
    # tr(Sigma) = mean ||g_i - G||^2 = mean ||g_i||^2 - ||G||^2 (expand the square)
    trace_sigma = float(np.mean(sq_norms)) - grad_sq
    return trace_sigma / batch * (n - batch) / (n - 1)


def _ema_noise_scale(small_sq, big_sq, batch_small, batch_big, beta):
    small_sq = np.asarray(small_sq, dtype=float)
    big_sq = np.asarray(big_sq, dtype=float)
    # E||g_B||^2 = ||G||^2 + tr(Sigma)/B at two batch sizes: two equations, two unknowns
    grad_sq = (batch_big * big_sq - batch_small * small_sq) / (batch_big - batch_small)
    trace = (small_sq - big_sq) / (1 / batch_small - 1 / batch_big)
    out = np.empty(len(small_sq))
    m_grad = m_trace = 0.0
    for t in range(len(small_sq)):
        # average numerator and denominator separately: one pair's ratio is far too noisy
        m_grad = beta * m_grad + (1 - beta) * grad_sq[t]
        m_trace = beta * m_trace + (1 - beta) * trace[t]
        out[t] = m_trace / m_grad
    return out


def _wall_clock_optimal_batch(b_crit, step_cost, example_cost):
    # d/dB [(1 + b/B)(c0 + c1 B)] = c1 - b c0 / B^2 = 0
    return math.sqrt(b_crit * step_cost / example_cost)


# --------------------------------------------------------------------------- cases


def _scaling_cases(rng):
    cases = []
    for _ in range(16):
        base_batch = int(rng.choice([8, 16, 32, 256]))
        batch = base_batch * int(rng.choice([1, 2, 4, 8, 32]))
        warmup = int(rng.choice([0, 5, 20, 100]))
        step = int(rng.integers(0, 2 * warmup + 3))
        cases.append((step, float(rng.uniform(0.01, 0.5)), base_batch, batch, warmup))
    cases.append((0, 0.1, 256, 8192, 500))   # the very first step uses the small-batch rate
    cases.append((250, 0.1, 256, 8192, 500))  # halfway up the ramp
    cases.append((10**6, 0.1, 256, 8192, 500))  # long after the warm-up: 32 x 0.1
    return cases


def _variance_cases(rng):
    cases = []
    for _ in range(16):
        n = int(rng.integers(5, 60))
        d = int(rng.integers(1, 6))
        grads = rng.normal(size=(n, d)) * rng.uniform(0.1, 3.0) + rng.normal(size=d)
        mean = grads.mean(axis=0)
        batch = int(rng.integers(1, n + 1))
        cases.append((np.sum(grads**2, axis=1), float(mean @ mean), batch, n))
    return cases


def _ema_cases(rng):
    cases = []
    for _ in range(12):
        small, big = sorted(int(b) for b in rng.choice([4, 16, 32, 64, 256, 1024], 2,
                                                        replace=False))
        grad_sq, trace = float(rng.uniform(0.05, 2.0)), float(rng.uniform(1.0, 50.0))
        pairs = int(rng.integers(1, 12))
        # noisy squared norms around their expectations ||G||^2 + tr(Sigma)/B
        small_sq = (grad_sq + trace / small) * rng.uniform(0.5, 1.5, pairs)
        big_sq = (grad_sq + trace / big) * rng.uniform(0.8, 1.2, pairs)
        cases.append((small_sq, big_sq, small, big, float(rng.choice([0.0, 0.5, 0.9, 0.99]))))
    return cases


def _wall_clock_cases(rng):
    return [(float(rng.uniform(5.0, 5000.0)), float(10 ** rng.uniform(-5, -2)),
             float(10 ** rng.uniform(-7, -4))) for _ in range(16)]


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="linear_scaling_lr",
    reference=_linear_scaling_lr,
    cases=_scaling_cases,
    rtol=1e-10,
    hint="k = batch / base_batch; the rate after the warm-up is k·base_lr. During the "
         "warm-up it moves in a straight line from base_lr (step 0) to k·base_lr (step "
         "warmup_steps): base_lr + (k·base_lr − base_lr)·min(step, warmup_steps)/warmup_steps. "
         "With warmup_steps = 0 return k·base_lr at once.",
))

register(Exercise(
    name="noise_without_replacement",
    reference=_noise_without_replacement,
    cases=_variance_cases,
    rtol=1e-9,
    hint="First tr(Σ) = mean of ||g_i||² minus ||G||² (expand Σ_i ||g_i − G||²). Then the "
         "with-replacement value tr(Σ)/B, times notebook 03's correction (n − B)/(n − 1), "
         "which makes it exactly 0 at B = n.",
))

register(Exercise(
    name="ema_noise_scale",
    reference=_ema_noise_scale,
    cases=_ema_cases,
    rtol=1e-9,
    hint="For every pair: |G|²_est = (B_big·big − B_small·small)/(B_big − B_small) and "
         "trΣ_est = (small − big)/(1/B_small − 1/B_big). Keep two moving averages, both "
         "starting at 0 (m ← β·m + (1 − β)·x), and after each pair store m_trace / m_grad. "
         "Dividing per pair and averaging the ratios is a different (badly biased) estimate.",
))

register(Exercise(
    name="wall_clock_optimal_batch",
    reference=_wall_clock_optimal_batch,
    cases=_wall_clock_cases,
    rtol=1e-10,
    hint="Time to target ∝ (1 + b_crit/B)·(step_cost + example_cost·B). Set the derivative "
         "in B to zero: example_cost = b_crit·step_cost/B², so B = sqrt(b_crit·step_cost / "
         "example_cost).",
))
