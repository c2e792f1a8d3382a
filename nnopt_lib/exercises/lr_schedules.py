"""Exercises of notebook 08 (learning-rate schedules).

Closed forms of the learning rate at step ``t`` (counting from 0), equal to what the
corresponding ``torch.optim.lr_scheduler`` class sets after ``t`` calls of ``step()``:

* ``multistep_lr(t, base_lr, milestones, gamma)``: ``MultiStepLR``, ``η₀ γ^m`` with ``m`` the
  number of milestones ``≤ t``. Milestones may be unsorted and may repeat; torch counts a
  repeated milestone once per occurrence (``γ²`` for a milestone listed twice).
* ``cosine_restarts_lr(t, base_lr, T_0, T_mult, eta_min)``: ``CosineAnnealingWarmRestarts``
  (SGDR): cosine cycles from ``η₀`` to ``η_min``, the first ``T_0`` steps long, each next one
  ``T_mult`` times longer; at the start of every cycle the lr jumps back to ``η₀``.
* ``warmup_cosine_lr(t, base_lr, warmup_steps, total_steps, start_factor)``:
  ``SequentialLR([LinearLR(start_factor, total_iters=W), CosineAnnealingLR(T_max=T − W)],
  milestones=[W])``: linear from ``start_factor·η₀`` towards ``η₀`` for ``t < W``, then a
  cosine from ``η₀`` to 0 over the remaining ``T − W`` steps.
* ``range_test_lrs(lr_start, lr_end, num_steps)``: the learning rates of an LR range test
  (Smith 2017), growing geometrically from ``lr_start`` to ``lr_end`` in ``num_steps``
  values: ``lr_k = lr_start · q^k`` with ``q = (lr_end / lr_start)^(1/(num_steps − 1))``.

I. Loshchilov & F. Hutter, "SGDR: Stochastic gradient descent with warm restarts", ICLR 2017;
P. Goyal et al., "Accurate, large minibatch SGD: training ImageNet in 1 hour", 2017;
L. N. Smith, "Cyclical learning rates for training neural networks", WACV 2017.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _multistep_lr(t, base_lr, milestones, gamma):
    # the number of milestones already reached, repeats included (torch's closed form)
    return base_lr * gamma ** bisect.bisect_right(sorted(milestones), t)


def _cosine_lr(t, base_lr, T_max, eta_min):
    return eta_min + (base_lr - eta_min) * (1.0 + math.cos(math.pi * t / T_max)) / 2.0


def _cosine_restarts_lr(t, base_lr, T_0, T_mult, eta_min):
    # walk through the finished cycles; what is left is the position in the current one
    T_i, T_cur = T_0, t
    while T_cur >= T_i:
        T_cur -= T_i
        T_i *= T_mult
    return _cosine_lr(T_cur, base_lr, T_i, eta_min)


def _warmup_cosine_lr(t, base_lr, warmup_steps, total_steps, start_factor):
    if t < warmup_steps:
        return base_lr * (start_factor + (1.0 - start_factor) * t / warmup_steps)
    # the cosine restarts at its own step 0 at the milestone, so it begins at base_lr
    return _cosine_lr(t - warmup_steps, base_lr, total_steps - warmup_steps, 0.0)


def _range_test_lrs(lr_start, lr_end, num_steps):
    ratio = (lr_end / lr_start) ** (1.0 / (num_steps - 1))
    return lr_start * ratio ** np.arange(num_steps)


# --------------------------------------------------------------------------- cases


def _multistep_cases(rng):
    cases = [(29, 0.1, [30, 80], 0.1), (30, 0.1, [30, 80], 0.1),  # a milestone counts from t on
             (100, 0.1, [80, 30], 0.5),  # unsorted
             (80, 0.1, [30, 80, 80, 150], 0.3)]  # repeated: γ² at t = 80
    for _ in range(16):
        milestones = [int(m) for m in rng.integers(1, 200, size=int(rng.integers(1, 5)))]
        if rng.random() < 0.3:
            milestones.append(milestones[0])  # a repeat
        cases.append((int(rng.integers(0, 220)), float(10 ** rng.uniform(-3, 0)), milestones,
                      float(rng.uniform(0.05, 0.9))))
    return cases


def _restart_cases(rng):
    cases = [(9, 0.1, 10, 1, 0.0), (10, 0.1, 10, 1, 0.0),  # the first restart: back to 0.1
             (25, 0.1, 10, 1, 0.0),
             (29, 0.1, 10, 2, 0.001), (30, 0.1, 10, 2, 0.001),  # cycles 10, 20: restart at 30
             (69, 0.1, 10, 2, 0.0), (70, 0.1, 10, 2, 0.0)]  # next cycle 40: restart at 70
    for _ in range(13):
        cases.append((int(rng.integers(0, 300)), float(10 ** rng.uniform(-3, 0)),
                      int(rng.integers(1, 40)), int(rng.choice([1, 2, 3])),
                      float(rng.choice([0.0, 1e-4, 1e-3]))))
    return cases


def _warmup_cosine_cases(rng):
    cases = [(0, 0.1, 10, 100, 0.1), (9, 0.1, 10, 100, 0.1), (10, 0.1, 10, 100, 0.1),
             (55, 0.1, 10, 100, 0.1), (99, 0.1, 10, 100, 0.1)]
    for _ in range(15):
        total = int(rng.integers(20, 400))
        warmup = int(rng.integers(1, total // 2))
        cases.append((int(rng.integers(0, total)), float(10 ** rng.uniform(-3, 0)), warmup, total,
                      float(rng.uniform(0.01, 1.0))))
    return cases


def _range_cases(rng):
    cases = [(1e-5, 10.0, 100), (1e-4, 1.0, 5), (0.001, 0.1, 2)]
    for _ in range(9):
        start = float(10 ** rng.uniform(-6, -2))
        cases.append((start, start * float(10 ** rng.uniform(1, 6)), int(rng.integers(2, 400))))
    return cases


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="multistep_lr",
    reference=_multistep_lr,
    cases=_multistep_cases,
    hint="Count the milestones m with m <= t (every occurrence of a repeated milestone counts) "
         "and return base_lr · gamma ** count. Step t = m already uses the reduced rate; the "
         "order of the list does not matter.",
))

register(Exercise(
    name="cosine_restarts_lr",
    reference=_cosine_restarts_lr,
    cases=_restart_cases,
    hint="Find the position in the current cycle: start with T_i = T_0 and T_cur = t; while "
         "T_cur >= T_i, subtract T_i from T_cur and multiply T_i by T_mult. Then the cosine "
         "eta_min + (base_lr − eta_min) · (1 + cos(π·T_cur/T_i)) / 2.",
))

register(Exercise(
    name="warmup_cosine_lr",
    reference=_warmup_cosine_lr,
    cases=_warmup_cosine_cases,
    hint="Two pieces. For t < warmup_steps: base_lr · (start_factor + (1 − start_factor)·t/"
         "warmup_steps). From t = warmup_steps on, a cosine that starts again at ITS step 0: "
         "use t − warmup_steps and T_max = total_steps − warmup_steps, eta_min = 0.",
))

register(Exercise(
    name="range_test_lrs",
    reference=_range_test_lrs,
    cases=_range_cases,
    hint="A geometric sequence: lr_k = lr_start · q**k for k = 0 … num_steps−1, with "
         "q = (lr_end/lr_start) ** (1/(num_steps − 1)), so the last value is lr_end. Return "
         "a numpy array (np.geomspace does the same).",
))
