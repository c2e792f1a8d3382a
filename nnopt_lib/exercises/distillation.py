"""Exercises of notebook 20 (knowledge distillation).

Notation: ``s`` the student's logits and ``t`` the teacher's, both ``(N, C)``; ``y`` the
labels ``(N,)``; ``T > 0`` the temperature; ``alpha`` in ``[0, 1]`` the weight of the soft
(teacher) term; ``p_T(z) = softmax(z / T)`` row by row.

* ``softened_softmax(logits, temperature)``: ``p_T`` along the last axis. Some cases have
  logits in the hundreds and ``T`` down to 0.1, so the row maximum must be subtracted before
  ``exp``.
* ``distillation_loss(s, t, y, temperature, alpha)``: Hinton et al.'s loss as a float,
  ``alpha * T^2 * mean_n KL(p_T(t_n) || p_T(s_n)) + (1 - alpha) * mean_n CE(s_n, y_n)``,
  with ``KL(q || p) = sum_c q_c (log q_c - log p_c)`` (``0 log 0 = 0``) and
  ``CE(s_n, y_n) = -log softmax(s_n)[y_n]``. Equal to PyTorch's
  ``alpha * T**2 * KLDivLoss(reduction="batchmean")(log_softmax(s/T), softmax(t/T))
  + (1 - alpha) * CrossEntropyLoss()(s, y)``.
* ``distillation_gradient(s, t, y, temperature, alpha)``: its gradient with respect to
  ``s``, ``(alpha * T * (p_T(s) - p_T(t)) + (1 - alpha) * (softmax(s) - onehot(y))) / N``.
* ``high_temperature_gradient(s, t, temperature)``: Hinton et al.'s approximation, for large
  ``T``, of the gradient of the soft term WITHOUT the ``T^2`` factor,
  ``mean_n KL(p_T(t_n) || p_T(s_n))``: with ``e^x ~ 1 + x``,
  ``(p_T(s) - p_T(t)) / T ~ ((s - mean_c s) - (t - mean_c t)) / (C T^2)``, divided by ``N``
  for the batch mean. It shrinks like ``1 / T^2``, which is why the loss multiplies the
  soft term by ``T^2``.

G. Hinton, O. Vinyals, J. Dean, "Distilling the knowledge in a neural network",
arXiv:1503.02531, 2015 (section 2, equations 2-4).
"""

from __future__ import annotations

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _softened_softmax(logits, temperature):
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    e = np.exp(scaled - scaled.max(axis=-1, keepdims=True))  # no overflow at small T
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(z):
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _distillation_loss(s, t, y, temperature, alpha):
    q = _softened_softmax(t, temperature)
    log_q = _log_softmax(t / temperature)
    kl = np.sum(np.where(q > 0, q * (log_q - _log_softmax(s / temperature)), 0.0)) / len(s)
    ce = -np.mean(_log_softmax(s)[np.arange(len(y)), y])
    return float(alpha * temperature**2 * kl + (1 - alpha) * ce)


def _distillation_gradient(s, t, y, temperature, alpha):
    soft = temperature * (_softened_softmax(s, temperature) - _softened_softmax(t, temperature))
    hard = _softened_softmax(s, 1.0)
    hard[np.arange(len(y)), y] -= 1.0
    return (alpha * soft + (1 - alpha) * hard) / len(s)


def _high_temperature_gradient(s, t, temperature):
    centred = (s - s.mean(axis=1, keepdims=True)) - (t - t.mean(axis=1, keepdims=True))
    return centred / (s.shape[1] * temperature**2 * len(s))


# --------------------------------------------------------------------------- cases


def _softmax_cases(rng):
    cases = []
    for shape, temperature in [((5,), 1.0), ((4, 6), 2.0), ((3, 10), 5.0), ((2, 3), 0.5),
                               ((6, 4), 20.0), ((2, 2, 5), 3.0), ((3, 7), 1.0)]:
        cases.append((rng.normal(size=shape) * 3, temperature))
    cases.append((np.array([[300.0, 0.0, -300.0], [1000.0, 999.0, 0.0]]), 0.1))  # overflow
    cases.append((rng.normal(size=(4, 5)) * 200, 1.0))
    return cases


def _loss_cases(rng):
    cases = []
    for n, c, temperature, alpha, scale in [(8, 10, 4.0, 0.9, 3.0), (5, 3, 1.0, 0.5, 1.0),
                                            (6, 4, 2.0, 0.0, 2.0), (4, 5, 8.0, 1.0, 3.0),
                                            (10, 10, 20.0, 0.3, 5.0), (3, 6, 0.5, 0.7, 2.0),
                                            (7, 10, 1.0, 0.9, 40.0)]:
        cases.append((rng.normal(size=(n, c)) * 2, rng.normal(size=(n, c)) * scale,
                      rng.integers(0, c, size=n), temperature, alpha))
    return cases


def _high_temperature_cases(rng):
    return [(rng.normal(size=(n, c)), rng.normal(size=(n, c)) * 2, temperature)
            for n, c, temperature in [(4, 10, 10.0), (6, 3, 50.0), (2, 5, 1.0), (8, 7, 4.0)]]


register(Exercise(
    name="softened_softmax",
    reference=_softened_softmax,
    cases=_softmax_cases,
    hint="Divide the logits by T first, then softmax along the LAST axis "
         "(axis=-1, keepdims=True). Subtract the row maximum of z/T before exp, or "
         "exp(3000) overflows to inf.",
))

register(Exercise(
    name="distillation_loss",
    reference=_distillation_loss,
    cases=_loss_cases,
    hint="KL(q || p) = sum q (log q - log p) with q = softmax(t/T), log p = "
         "log_softmax(s/T); sum over classes, divide by the batch size N (batchmean), "
         "multiply by T^2 and alpha. The hard part is the mean cross-entropy of the "
         "UNSOFTENED student logits. Use log-softmax, not log(softmax), for large logits.",
))

register(Exercise(
    name="distillation_gradient",
    reference=_distillation_gradient,
    cases=_loss_cases,
    hint="d/ds of KL(q || softmax(s/T)) is (softmax(s/T) - q) / T; times alpha T^2 that is "
         "alpha T (p_T(s) - q). Cross-entropy adds (1 - alpha)(softmax(s) - onehot(y)). "
         "Divide everything by N.",
))

register(Exercise(
    name="high_temperature_gradient",
    reference=_high_temperature_gradient,
    cases=_high_temperature_cases,
    hint="Centre each row of s and of t (subtract its mean over the classes), take the "
         "difference, and divide by C * T^2 * N (C classes, N examples).",
))
