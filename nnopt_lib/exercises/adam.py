"""Exercises of notebook 06 (Adam and its family).

* ``adam_update(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps)``: one step of
  ``torch.optim.Adam`` (``step`` is the number of this step, 1 on the first), returning
  ``(new_param, new_exp_avg, new_exp_avg_sq)``.
* ``bias_corrected_moments(grads, beta1, beta2)``: run both moving averages over the
  gradients ``grads`` (shape (T, d)) from zero and return ``(m_hat, v_hat)`` after step T.
* ``adamw_update(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps,
  weight_decay)``: one step of ``torch.optim.AdamW`` (decoupled weight decay).
* ``amsgrad_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2,
  eps)``: one step of ``torch.optim.Adam(amsgrad=True)``, returning the parameter and the
  three state arrays.
"""

from __future__ import annotations

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _moments(grad, exp_avg, exp_avg_sq, beta1, beta2):
    return (beta1 * exp_avg + (1 - beta1) * grad,
            beta2 * exp_avg_sq + (1 - beta2) * grad * grad)


def _adam_update(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps):
    # Kingma & Ba (2015) with torch's ε placement: after bias correction, outside the root.
    m, v = _moments(grad, exp_avg, exp_avg_sq, beta1, beta2)
    m_hat = m / (1 - beta1**step)
    v_hat = v / (1 - beta2**step)
    return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def _bias_corrected_moments(grads, beta1, beta2):
    m = np.zeros(grads.shape[1:])
    v = np.zeros(grads.shape[1:])
    for g in grads:
        m, v = _moments(g, m, v, beta1, beta2)
    steps = len(grads)
    return m / (1 - beta1**steps), v / (1 - beta2**steps)


def _adamw_update(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay):
    # Loshchilov & Hutter (2019) as in torch: shrink θ by (1 − lr·λ) first; the moments never
    # see the decay term.
    shrunk = param * (1 - lr * weight_decay)
    return _adam_update(shrunk, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps)


def _amsgrad_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2,
                    eps):
    # Reddi et al. (2018) as in torch: keep the running maximum of the (uncorrected) v and use
    # it, bias-corrected, in the denominator.
    m, v = _moments(grad, exp_avg, exp_avg_sq, beta1, beta2)
    v_max = np.maximum(max_exp_avg_sq, v)
    denom = np.sqrt(v_max / (1 - beta2**step)) + eps
    return param - lr * (m / (1 - beta1**step)) / denom, m, v, v_max


# --------------------------------------------------------------------------- cases


def _state(rng, shape, step):
    """A plausible Adam state after ``step - 1`` steps (zeros before the first step)."""
    if step == 1:
        return np.zeros(shape), np.zeros(shape)
    return rng.normal(size=shape) * 0.5, rng.uniform(0.01, 2.0, size=shape)


def _hyper(rng):
    return {"lr": float(rng.choice([1e-3, 1e-2, 0.1])), "beta1": float(rng.choice([0.9, 0.8, 0.0])),
            "beta2": float(rng.choice([0.999, 0.99, 0.9])), "eps": 1e-8}


def _adam_cases(rng):
    cases = []
    for shape, step in zip([(2,), (3,), (2, 2), (5,)] * 4, [1, 2, 5, 10, 100, 1, 3, 1000] * 2,
                           strict=True):
        m, v = _state(rng, shape, step)
        cases.append(((rng.normal(size=shape), rng.normal(size=shape), m, v, step), _hyper(rng)))
    return cases


def _moment_cases(rng):
    cases = []
    for steps, dim in [(1, 2), (2, 3), (5, 2), (20, 4), (100, 1)] * 3:
        grads = rng.normal(loc=rng.normal(), size=(steps, dim))
        cases.append(((grads,), {"beta1": float(rng.choice([0.9, 0.5])),
                                 "beta2": float(rng.choice([0.999, 0.99]))}))
    return cases


def _adamw_cases(rng):
    cases = []
    for (args, hyper) in _adam_cases(rng):
        hyper["weight_decay"] = float(rng.choice([0.0, 0.01, 0.1, 1.0]))
        cases.append((args, hyper))
    return cases


def _amsgrad_cases(rng):
    cases = []
    for (param, grad, m, v, step), hyper in _adam_cases(rng):
        # the stored maximum is at least the stored v; sometimes much larger (an old big gradient)
        v_max = v if step == 1 else v * rng.choice([1.0, 1.5, 100.0])
        cases.append(((param, grad, m, v, v_max, step), hyper))
    return cases


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="adam_update",
    reference=_adam_update,
    cases=_adam_cases,
    hint="m = β1·m + (1 − β1)·g and v = β2·v + (1 − β2)·g²; divide m by (1 − β1^step) and v by "
         "(1 − β2^step); step θ − lr·m̂/(√v̂ + eps). Return the UNcorrected m and v as the new "
         "state: the correction is applied afresh at every step.",
))

register(Exercise(
    name="bias_corrected_moments",
    reference=_bias_corrected_moments,
    cases=_moment_cases,
    hint="Start m and v at zero (one entry per coordinate), update them once per row of grads, "
         "and divide by (1 − β^T) only at the end, with T = the number of rows.",
))

register(Exercise(
    name="adamw_update",
    reference=_adamw_update,
    cases=_adamw_cases,
    hint="First θ ← θ·(1 − lr·weight_decay); then an ordinary Adam step on the shrunk θ with "
         "the raw gradient g — the decay term never enters m or v (that is the 'decoupled').",
))

register(Exercise(
    name="amsgrad_update",
    reference=_amsgrad_update,
    cases=_amsgrad_cases,
    hint="Update m and v as in Adam, then v_max = max(v_max, v) elementwise (on the uncorrected "
         "v); the denominator is √(v_max/(1 − β2^step)) + eps. Return (θ, m, v, v_max).",
))
