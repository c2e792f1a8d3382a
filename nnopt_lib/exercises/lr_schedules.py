"""Exercises of notebook 08 (learning-rate schedules).

Closed forms of the learning rate at step ``t`` (counting from 0), equal to what the
corresponding ``torch.optim.lr_scheduler`` class sets after ``t`` calls of ``step()``:

* ``step_lr(t, base_lr, step_size, gamma)``: ``StepLR``, ``η₀ γ^⌊t/s⌋``.
* ``cosine_lr(t, base_lr, T_max, eta_min)``: ``CosineAnnealingLR``,
  ``η_min + (η₀ − η_min)(1 + cos(π t / T_max)) / 2``; for ``t > T_max`` the cosine goes on
  (the lr climbs back up), as torch's does.
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

import math

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _step_lr(t, base_lr, step_size, gamma):
    return base_lr * gamma ** (t // step_size)


def _cosine_lr(t, base_lr, T_max, eta_min):
    return eta_min + (base_lr - eta_min) * (1.0 + math.cos(math.pi * t / T_max)) / 2.0


def _warmup_cosine_lr(t, base_lr, warmup_steps, total_steps, start_factor):
    if t < warmup_steps:
        return base_lr * (start_factor + (1.0 - start_factor) * t / warmup_steps)
    # the cosine restarts at its own step 0 at the milestone, so it begins at base_lr
    return _cosine_lr(t - warmup_steps, base_lr, total_steps - warmup_steps, 0.0)


def _range_test_lrs(lr_start, lr_end, num_steps):
    ratio = (lr_end / lr_start) ** (1.0 / (num_steps - 1))
    return lr_start * ratio ** np.arange(num_steps)


# --------------------------------------------------------------------------- cases


def _step_cases(rng):
    cases = [(0, 0.1, 10, 0.1), (9, 0.1, 10, 0.1), (10, 0.1, 10, 0.1), (30, 0.1, 10, 0.5)]
    for _ in range(16):
        cases.append((int(rng.integers(0, 200)), float(10 ** rng.uniform(-3, 0)),
                      int(rng.integers(1, 40)), float(rng.uniform(0.05, 0.9))))
    return cases


def _cosine_cases(rng):
    cases = [(0, 0.1, 100, 0.0), (50, 0.1, 100, 0.0), (100, 0.1, 100, 0.0),
             (150, 0.1, 100, 0.001)]  # past T_max: back up
    for _ in range(16):
        T = int(rng.integers(5, 300))
        cases.append((int(rng.integers(0, T + 1)), float(10 ** rng.uniform(-3, 0)), T,
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
    name="step_lr",
    reference=_step_lr,
    cases=_step_cases,
    hint="The lr is multiplied by gamma once every step_size steps: base_lr · gamma ** (t // "
         "step_size). Integer division: steps 0 … step_size−1 all use base_lr.",
))

register(Exercise(
    name="cosine_lr",
    reference=_cosine_lr,
    cases=_cosine_cases,
    hint="eta_min + (base_lr − eta_min) · (1 + cos(π·t/T_max)) / 2. At t = 0 that is base_lr, "
         "at t = T_max it is eta_min; do not clamp t — past T_max the cosine climbs back up.",
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
