"""Exercises of notebook 14 (batch normalisation).

Notation: ``x`` is a minibatch of shape ``(N, C)`` (N examples, C features); means and
variances are taken per feature over the batch (axis 0) for batch normalisation and per
example over the features (axis 1) for layer normalisation. Variances are the *biased*
ones, ``mean((x - mean(x))**2)``, unless stated otherwise.

* ``batchnorm_forward(x, gamma, beta, eps)``: the training-mode output
  ``gamma * (x - mu) / sqrt(var + eps) + beta`` with the batch mean ``mu`` and biased
  variance ``var`` of each column; ``gamma`` and ``beta`` have shape ``(C,)``.
* ``batchnorm_backward(grad_out, x, gamma, eps)``: the tuple ``(grad_x, grad_gamma,
  grad_beta)`` of the training-mode layer, for the upstream gradient ``g = dL/dy``. With
  ``xhat`` the normalised input and ``d = g * gamma``:
  ``grad_x = (d - mean(d) - xhat * mean(d * xhat)) / sqrt(var + eps)`` (means over the
  batch), ``grad_gamma = sum(g * xhat)``, ``grad_beta = sum(g)`` (sums over the batch). A
  gradient that treats ``mu`` and ``var`` as constants (``d / sqrt(var + eps)``) fails.
* ``update_running_stats(running_mean, running_var, x, momentum, batches_seen)``: the new
  ``(running_mean, running_var)`` after one training batch, as ``torch.nn.BatchNorm1d``
  updates them: ``new = (1 - f) * old + f * batch_statistic`` with the *unbiased* batch
  variance ``var * N / (N - 1)`` and ``f = momentum``, or, for ``momentum=None``, the
  cumulative average ``f = 1 / (batches_seen + 1)`` (``batches_seen`` batches came before
  this one). Using the biased variance fails; so does ``f = 1 - momentum`` (Keras's
  convention, the opposite of torch's).
* ``layernorm_forward(x, gamma, beta, eps)``: ``gamma * (x - mu) / sqrt(var + eps) + beta``
  with ``mu`` and ``var`` of each ROW (each example over its features). Batches of one
  example are among the cases.
* ``fold_batchnorm(weight, bias, gamma, beta, running_mean, running_var, eps)``: the
  ``(weight', bias')`` of one ``Linear`` layer equal to ``Linear(weight, bias)`` followed by
  an evaluation-mode BatchNorm: with ``s = gamma / sqrt(running_var + eps)``,
  ``weight' = s[:, None] * weight`` and ``bias' = s * (bias - running_mean) + beta``
  (``weight`` has torch's shape ``(out, in)``).

S. Ioffe, C. Szegedy, "Batch Normalization: Accelerating Deep Network Training by Reducing
Internal Covariate Shift", ICML 2015. J. L. Ba, J. R. Kiros, G. E. Hinton, "Layer
Normalization", arXiv:1607.06450, 2016.
"""

from __future__ import annotations

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _normalise(x, axis, eps):
    # biased variance: the one that makes each normalised column have variance exactly
    # var / (var + eps), i.e. 1 up to eps
    mu = x.mean(axis=axis, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axis, keepdims=True)
    return (x - mu) / np.sqrt(var + eps), var


def _batchnorm_forward(x, gamma, beta, eps):
    xhat, _ = _normalise(x, 0, eps)
    return gamma * xhat + beta


def _batchnorm_backward(grad_out, x, gamma, eps):
    xhat, var = _normalise(x, 0, eps)
    d = grad_out * gamma
    # mu and var depend on every row, hence the two correction terms
    grad_x = (d - d.mean(axis=0) - xhat * (d * xhat).mean(axis=0)) / np.sqrt(var + eps)
    return grad_x, (grad_out * xhat).sum(axis=0), grad_out.sum(axis=0)


def _update_running_stats(running_mean, running_var, x, momentum, batches_seen):
    n = len(x)
    factor = 1.0 / (batches_seen + 1) if momentum is None else momentum
    unbiased = x.var(axis=0) * n / (n - 1)  # the running estimate is of the population
    return ((1 - factor) * running_mean + factor * x.mean(axis=0),
            (1 - factor) * running_var + factor * unbiased)


def _layernorm_forward(x, gamma, beta, eps):
    xhat, _ = _normalise(x, 1, eps)
    return gamma * xhat + beta


def _fold_batchnorm(weight, bias, gamma, beta, running_mean, running_var, eps):
    # BN_eval(W x + b) = s * (W x + b - m) + beta with s = gamma / sqrt(v + eps):
    # one affine map, so one Linear layer
    scale = gamma / np.sqrt(running_var + eps)
    return scale[:, None] * weight, scale * (bias - running_mean) + beta


# --------------------------------------------------------------------------- cases


def _features(rng, n, c):
    # columns with different offsets and scales, so that normalising really changes them
    return rng.normal(size=(n, c)) * rng.uniform(0.2, 5.0, size=c) + rng.normal(0, 3, size=c)


def _affine(rng, c):
    return rng.uniform(0.5, 2.0, size=c), rng.normal(size=c)


def _forward_cases(rng):
    cases = []
    for n, c in [(8, 5), (4, 1), (2, 3), (16, 4), (64, 3), (5, 7)] * 2:
        gamma, beta = _affine(rng, c)
        cases.append((_features(rng, n, c), gamma, beta, float(rng.choice([1e-5, 1e-3, 0.1]))))
    return cases


def _backward_cases(rng):
    cases = []
    for n, c in [(6, 4), (3, 1), (2, 2), (16, 3), (32, 5), (7, 6)] * 2:
        gamma, _ = _affine(rng, c)
        cases.append((rng.normal(size=(n, c)), _features(rng, n, c), gamma,
                      float(rng.choice([1e-5, 1e-3, 0.1]))))
    return cases


def _running_cases(rng):
    cases = []
    for n, c in [(16, 4), (4, 2), (2, 3), (64, 3)] * 3:
        momentum = None if rng.random() < 0.35 else float(rng.choice([0.1, 0.3, 0.01, 1.0]))
        cases.append((rng.normal(size=c), rng.uniform(0.5, 2.0, size=c), _features(rng, n, c),
                      momentum, int(rng.integers(0, 20))))
    # the first batch with momentum=None replaces the start values (factor 1)
    cases.append((np.zeros(2), np.ones(2), _features(rng, 5, 2), None, 0))
    return cases


def _layernorm_cases(rng):
    cases = []
    for n, c in [(1, 4), (3, 5), (8, 2), (16, 6), (1, 10), (4, 3)] * 2:
        gamma, beta = _affine(rng, c)
        # rows with different offsets and scales (a layer's input, one example per row)
        x = rng.normal(size=(n, c)) * rng.uniform(0.2, 5.0, size=(n, 1)) + rng.normal(0, 3, (n, 1))
        cases.append((x, gamma, beta, float(rng.choice([1e-5, 1e-3]))))
    return cases


def _fold_cases(rng):
    cases = []
    for n_in, n_out in [(3, 2), (5, 4), (1, 3), (8, 8), (4, 1)] * 3:
        gamma, beta = _affine(rng, n_out)
        cases.append((rng.normal(size=(n_out, n_in)), rng.normal(size=n_out), gamma, beta,
                      rng.normal(size=n_out), rng.uniform(0.1, 4.0, size=n_out),
                      float(rng.choice([1e-5, 1e-3]))))
    return cases


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="batchnorm_forward",
    reference=_batchnorm_forward,
    cases=_forward_cases,
    hint="Per column (axis=0, keepdims or broadcasting): mu = mean, var = mean((x − mu)²) — "
         "the biased variance, not x.var(ddof=1) — then gamma · (x − mu) / sqrt(var + eps) "
         "+ beta. eps goes inside the square root.",
))

register(Exercise(
    name="batchnorm_backward",
    reference=_batchnorm_backward,
    cases=_backward_cases,
    rtol=1e-6,
    atol=1e-9,
    hint="Recompute xhat and var from x. With d = grad_out · gamma: grad_x = (d − mean(d) − "
         "xhat · mean(d · xhat)) / sqrt(var + eps), means over the batch (axis 0). The two "
         "subtracted terms come from mu and var depending on every row; leaving them out "
         "treats the statistics as constants. grad_gamma = Σ grad_out · xhat, grad_beta = "
         "Σ grad_out (sums over axis 0). Return the three as a tuple.",
))

register(Exercise(
    name="update_running_stats",
    reference=_update_running_stats,
    cases=_running_cases,
    hint="f = momentum, or 1 / (batches_seen + 1) when momentum is None (a plain average of "
         "all batches so far). new = (1 − f) · old + f · batch statistic, where the batch "
         "variance is the UNBIASED one, x.var(axis=0) · N / (N − 1). torch's momentum is the "
         "weight of the NEW batch (Keras uses the opposite convention). Return (mean, var).",
))

register(Exercise(
    name="layernorm_forward",
    reference=_layernorm_forward,
    cases=_layernorm_cases,
    hint="The same formula as batch norm, but each ROW is normalised over its features: "
         "mean and biased variance over axis=1 with keepdims=True, so that they broadcast "
         "against x. gamma and beta have one entry per feature. A batch of one example works.",
))

register(Exercise(
    name="fold_batchnorm",
    reference=_fold_batchnorm,
    cases=_fold_cases,
    hint="In eval mode BN is the affine map y ↦ s · (y − running_mean) + beta with "
         "s = gamma / sqrt(running_var + eps). Insert y = W x + b: the weight becomes "
         "s[:, None] · W (row i scaled by s_i; W has shape (out, in)) and the bias "
         "s · (b − running_mean) + beta. Return (new_weight, new_bias).",
))
