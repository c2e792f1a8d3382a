"""Exercises of notebook 05 (adaptive learning rates: AdaGrad, RMSprop, Adadelta).

* ``adagrad_effective_lr(grads, lr, eps)``: the per-coordinate step size
  η / (√(Σ_t g_t²) + ε) that AdaGrad uses after seeing the gradients ``grads`` (shape (T, d)).
* ``rmsprop_update(param, grad, square_avg, lr, alpha, eps)``: one step of
  ``torch.optim.RMSprop`` (no momentum, not centered), returning ``(new_param, new_square_avg)``.
* ``adadelta_update(param, grad, square_avg, acc_delta, lr, rho, eps)``: one step of
  ``torch.optim.Adadelta``, returning ``(new_param, new_square_avg, new_acc_delta)``.
* ``diagonally_scaled_condition(A)``: the condition number of D^{-1/2} A D^{-1/2} with
  D = diag(A), the best a per-coordinate rescaling can do for a 2×2 quadratic.
"""

from __future__ import annotations

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _adagrad_effective_lr(grads, lr, eps):
    # Duchi et al. (2011), diagonal form as in torch: s = Σ_t g_t², step size η / (√s + ε).
    return lr / (np.sqrt(np.sum(np.square(grads), axis=0)) + eps)


def _rmsprop_update(param, grad, square_avg, lr, alpha, eps):
    # Tieleman & Hinton (2012); torch puts ε OUTSIDE the square root.
    new_square_avg = alpha * square_avg + (1 - alpha) * grad * grad
    return param - lr * grad / (np.sqrt(new_square_avg) + eps), new_square_avg


def _adadelta_update(param, grad, square_avg, acc_delta, lr, rho, eps):
    # Zeiler (2012); ε INSIDE both square roots; the update's own RMS sets its units.
    new_square_avg = rho * square_avg + (1 - rho) * grad * grad
    delta = np.sqrt(acc_delta + eps) / np.sqrt(new_square_avg + eps) * grad
    new_acc_delta = rho * acc_delta + (1 - rho) * delta * delta
    return param - lr * delta, new_square_avg, new_acc_delta


def _diagonally_scaled_condition(A):
    # Jacobi scaling: divide row i and column i by √A_ii, then λ_max / λ_min.
    d = 1.0 / np.sqrt(np.diag(A))
    eigenvalues = np.linalg.eigvalsh(d[:, None] * A * d[None, :])
    return float(eigenvalues[-1] / eigenvalues[0])


# --------------------------------------------------------------------------- cases


def _adagrad_cases(rng):
    cases = []
    for steps, dim in [(1, 2), (3, 2), (10, 3), (50, 1), (7, 4)] * 3:
        scales = 10.0 ** rng.uniform(-3, 2, size=dim)  # coordinates with very different scales
        grads = rng.normal(size=(steps, dim)) * scales
        cases.append(((grads,), {"lr": float(rng.uniform(0.001, 1.0)), "eps": 1e-10}))
    # a coordinate whose gradient was always zero gets lr / eps: ε is what keeps it finite
    cases.append(((np.array([[1.0, 0.0], [2.0, 0.0]]),), {"lr": 0.1, "eps": 1e-10}))
    return cases


def _rmsprop_cases(rng):
    cases = []
    for shape in [(2,), (3,), (2, 2), (5,)] * 4:
        square_avg = rng.uniform(0.0, 4.0, size=shape) * (rng.random() < 0.7)  # zero = 1st step
        cases.append(((rng.normal(size=shape), rng.normal(size=shape), square_avg),
                      {"lr": float(rng.uniform(0.001, 0.1)),
                       "alpha": float(rng.choice([0.9, 0.99, 0.5])), "eps": 1e-8}))
    # tiny gradient on the first step: the answer shows whether ε sits inside or outside √
    cases.append(((np.array([1.0, -1.0]), np.array([1e-6, 3e-7]), np.zeros(2)),
                  {"lr": 0.01, "alpha": 0.99, "eps": 1e-8}))
    return cases


def _adadelta_cases(rng):
    cases = []
    for shape in [(2,), (3,), (2, 2), (4,)] * 4:
        first = rng.random() < 0.3
        square_avg = np.zeros(shape) if first else rng.uniform(0.0, 4.0, size=shape)
        acc_delta = np.zeros(shape) if first else rng.uniform(0.0, 0.1, size=shape)
        cases.append(((rng.normal(size=shape), rng.normal(size=shape), square_avg, acc_delta),
                      {"lr": float(rng.choice([1.0, 0.5])),
                       "rho": float(rng.choice([0.9, 0.95])), "eps": 1e-6}))
    return cases


def _rotation(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s], [s, c]])


def _condition_cases(rng):
    cases = [(np.diag([1.0, 100.0]),), (np.array([[50.5, -49.5], [-49.5, 50.5]]),)]
    for _ in range(8):  # rotated 2×2 quadratics
        rot = _rotation(rng.uniform(0, np.pi))
        cases.append((rot @ np.diag([1.0, 10 ** rng.uniform(0, 3)]) @ rot.T,))
    for n in (3, 4, 5, 6):  # random SPD matrices with badly scaled rows and columns
        M = rng.normal(size=(n, n))
        scale = np.diag(10.0 ** rng.uniform(-2, 2, size=n))
        cases.append((scale @ (M @ M.T + n * np.eye(n)) @ scale,))
    return cases


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="adagrad_effective_lr",
    reference=_adagrad_effective_lr,
    cases=_adagrad_cases,
    hint="Sum the squared gradients over the steps (axis 0), one sum per coordinate; the "
         "step size is lr / (√sum + eps), with eps outside the square root as in torch. "
         "The result has one entry per coordinate (shape (d,)).",
))

register(Exercise(
    name="rmsprop_update",
    reference=_rmsprop_update,
    cases=_rmsprop_cases,
    hint="First the moving average v = α·v + (1 − α)·g², then θ − lr·g / (√v + eps): torch "
         "adds eps after the square root. Use the NEW v in the step. Return (new_param, new_v).",
))

register(Exercise(
    name="adadelta_update",
    reference=_adadelta_update,
    cases=_adadelta_cases,
    hint="v = ρv + (1 − ρ)g²; Δ = √(u + ε)/√(v + ε)·g uses the OLD u; then u = ρu + (1 − ρ)Δ²; "
         "θ − lr·Δ. Here ε goes inside both square roots. Return (new_param, new_v, new_u).",
))

register(Exercise(
    name="diagonally_scaled_condition",
    reference=_diagonally_scaled_condition,
    cases=_condition_cases,
    rtol=1e-6,
    hint="Let d = 1/√diag(A); the rescaled matrix has entries d_i·A_ij·d_j. Its condition "
         "number is its largest eigenvalue over its smallest (np.linalg.eigvalsh sorts them).",
))
