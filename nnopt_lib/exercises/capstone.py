r"""Exercises of notebook 22 (capstone: tuning a network end to end).

* ``log_uniform(low, high, u)``: map uniform numbers ``u`` in :math:`[0, 1]` to a log-uniform
  draw in :math:`[a, b]`: :math:`x = \exp\big(\log a + u(\log b - \log a)\big) = a (b/a)^u`.
  Learning rates and weight decays are searched this way (Bergstra & Bengio 2012): every decade
  gets the same share of the trials.
* ``warmup_cosine_lrs(base_lr, start_factor, warmup_steps, total_steps)``: the learning rate at
  each of the ``total_steps`` steps :math:`t = 0, \dots, T-1` of a linear warm-up followed by
  cosine decay: :math:`\eta_t = \eta_0\,(f + (1 - f)\,t/W)` for :math:`t < W` and
  :math:`\eta_t = \tfrac12\eta_0\big(1 + \cos(\pi (t - W)/(T - W))\big)` for :math:`t \ge W`
  -- what ``SequentialLR([LinearLR(start_factor=f, total_iters=W), CosineAnnealingLR(T_max=T - W)],
  milestones=[W])`` produces (Goyal et al. 2017; Loshchilov & Hutter 2017).
* ``mean_and_spread(values)``: ``(mean, std, sem)`` of results over seeds: the sample standard
  deviation (``ddof=1``, the spread of one run) and the standard error of the mean
  :math:`s/\sqrt n` (the uncertainty of the average).
* ``running_best(values)``: the best (lowest) value found after each trial of a search,
  :math:`b_k = \min_{i \le k} v_i`; a diverged trial (NaN) never counts as best.
* ``curve_summary(train_loss, val_loss)``: reading the curves of one run:
  ``(best_epoch, final_gap, rise)`` = the 0-based epoch of the lowest validation loss, the
  generalisation gap at the last epoch ``val_loss[-1] - train_loss[-1]``, and how far the
  validation loss has climbed back from its minimum ``val_loss[-1] - min(val_loss)`` (> 0: the
  run trained past its best epoch, a sign of overfitting).

V. Godbole, G. E. Dahl, J. Gilmer, C. J. Shallue, Z. Nado, "Deep Learning Tuning Playbook", 2023;
J. Bergstra, Y. Bengio, "Random search for hyper-parameter optimization", JMLR 2012.
"""

from __future__ import annotations

import math

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _log_uniform(low, high, u):
    return np.exp(np.log(low) + u * (np.log(high) - np.log(low)))


def _warmup_cosine_lrs(base_lr, start_factor, warmup_steps, total_steps):
    t = np.arange(total_steps, dtype=float)
    warm = base_lr * (start_factor + (1.0 - start_factor) * t / warmup_steps)
    # the cosine restarts its own clock at the milestone W, as SequentialLR does
    phase = math.pi * (t - warmup_steps) / (total_steps - warmup_steps)
    cos = 0.5 * base_lr * (1.0 + np.cos(phase))
    return np.where(t < warmup_steps, warm, cos)


def _mean_and_spread(values):
    values = np.asarray(values, dtype=float)
    std = float(values.std(ddof=1))  # ddof=1: unbiased variance from a handful of seeds
    return float(values.mean()), std, std / math.sqrt(len(values))


def _running_best(values):
    values = np.asarray(values, dtype=float)
    return np.minimum.accumulate(np.where(np.isnan(values), np.inf, values))


def _curve_summary(train_loss, val_loss):
    best_epoch = int(np.argmin(val_loss))
    return best_epoch, float(val_loss[-1] - train_loss[-1]), float(val_loss[-1] - np.min(val_loss))


# --------------------------------------------------------------------------- cases


def _log_uniform_cases(rng):
    cases = []
    for _ in range(20):
        low = float(10 ** rng.uniform(-6, -1))
        high = low * float(10 ** rng.uniform(0.5, 5))
        u = rng.random(int(rng.integers(1, 10)))
        cases.append((low, high, u))
    cases.append((1e-4, 1e-1, np.array([0.0, 1.0 / 3, 2.0 / 3, 1.0])))  # the decade ends
    return cases


def _warmup_cases(rng):
    cases = [(0.01, 0.01, 10, 100), (1.0, 0.5, 1, 5), (3e-3, 1.0 / 3, 4, 12)]
    for _ in range(15):
        total = int(rng.integers(3, 200))
        warm = int(rng.integers(1, total))
        cases.append((float(10 ** rng.uniform(-4, 0)), float(rng.uniform(0.01, 1.0)), warm, total))
    return cases


def _spread_cases(rng):
    cases = [(np.array([1.0, 2.0, 3.0]),), (np.array([0.5, 0.5]),)]
    for _ in range(15):
        n = int(rng.integers(2, 12))
        cases.append((rng.normal(loc=1.5, scale=rng.uniform(0.01, 0.3), size=n),))
    return cases


def _running_best_cases(rng):
    cases = [(np.array([3.0, 1.0, 2.0, 0.5, 4.0]),), (np.array([np.nan, 2.0, np.nan, 1.0]),)]
    for _ in range(15):
        values = rng.uniform(1.0, 3.0, size=int(rng.integers(1, 30)))
        values[rng.random(values.size) < 0.1] = np.nan  # diverged trials
        cases.append((values,))
    return cases


def _curve_cases(rng):
    cases = []
    for _ in range(20):
        epochs = np.arange(int(rng.integers(2, 40)))
        train = 2.0 * np.exp(-epochs / rng.uniform(2, 10)) + 0.1
        val = train + 0.01 * rng.uniform(0, 1) * epochs + rng.normal(scale=0.02, size=epochs.size)
        cases.append((train, val))
    return cases


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="log_uniform",
    reference=_log_uniform,
    cases=_log_uniform_cases,
    rtol=1e-9,
    hint="Work in log space: np.exp(np.log(low) + u * (np.log(high) - np.log(low))), which is "
         "low * (high / low) ** u. u = 0 gives low, u = 1 gives high.",
))

register(Exercise(
    name="warmup_cosine_lrs",
    reference=_warmup_cosine_lrs,
    cases=_warmup_cases,
    rtol=1e-9,
    hint="t = np.arange(total_steps). Warm-up (t < W): base_lr * (f + (1 - f) * t / W). After it: "
         "0.5 * base_lr * (1 + cos(pi * (t - W) / (T - W))) -- the cosine's clock starts at W. "
         "Combine the two with np.where(t < W, ..., ...).",
))

register(Exercise(
    name="mean_and_spread",
    reference=_mean_and_spread,
    cases=_spread_cases,
    rtol=1e-9,
    hint="Return (mean, std, sem) with std = values.std(ddof=1) (the sample standard deviation) "
         "and sem = std / sqrt(n).",
))

register(Exercise(
    name="running_best",
    reference=_running_best,
    cases=_running_best_cases,
    hint="Replace NaN by np.inf (np.where(np.isnan(v), np.inf, v)), then "
         "np.minimum.accumulate gives the running minimum.",
))

register(Exercise(
    name="curve_summary",
    reference=_curve_summary,
    cases=_curve_cases,
    rtol=1e-9,
    hint="best_epoch = int(np.argmin(val_loss)); final_gap = val_loss[-1] - train_loss[-1]; "
         "rise = val_loss[-1] - val_loss.min(). Return the three as a tuple.",
))
