"""Exercises of notebook 04 (momentum and Nesterov).

* ``heavy_ball_update(theta, theta_prev, grad, lr, beta)``: Polyak's heavy-ball step
  θ_{t+1} = θ_t − η∇f(θ_t) + β(θ_t − θ_{t−1}).
* ``pytorch_nesterov_step(param, buf, grad, lr, momentum)``: one step of
  ``torch.optim.SGD(momentum=β, nesterov=True)``, returning ``(new_param, new_buf)``.
* ``polyak_parameters(mu, L)``: the learning rate and momentum that make heavy ball fastest on
  a quadratic with Hessian eigenvalues in [μ, L].
* ``momentum_rate(lr, beta, eigenvalues)``: the asymptotic convergence rate of heavy ball on
  that quadratic -- the largest |root| of z² − (1 + β − ηλ)z + β over the eigenvalues λ.
"""

from __future__ import annotations

import math

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _heavy_ball_update(theta, theta_prev, grad, lr, beta):
    # Polyak (1964): a gradient step plus β times the previous displacement.
    return theta - lr * grad + beta * (theta - theta_prev)


def _pytorch_nesterov_step(param, buf, grad, lr, momentum):
    # torch.optim.SGD(nesterov=True): b ← βb + g (b ← g on the first step, buf=None);
    # θ ← θ − η(g + βb).  The gradient is taken at θ itself, which plays the look-ahead point.
    new_buf = np.array(grad, copy=True) if buf is None else momentum * buf + grad
    return param - lr * (grad + momentum * new_buf), new_buf


def _polyak_parameters(mu, L):
    # Polyak (1964): η* = 4/(√L + √μ)², β* = ((√κ − 1)/(√κ + 1))² with κ = L/μ.
    root_kappa = math.sqrt(L / mu)
    lr = 4.0 / (math.sqrt(L) + math.sqrt(mu)) ** 2
    beta = ((root_kappa - 1.0) / (root_kappa + 1.0)) ** 2
    return lr, beta


def _momentum_rate(lr, beta, eigenvalues):
    # Along an eigenvector with eigenvalue λ, heavy ball is x_{t+1} = (1 + β − ηλ)x_t − βx_{t−1};
    # its error shrinks like |z|^t for the larger root z of z² − (1 + β − ηλ)z + β = 0.
    a = 1.0 + beta - lr * np.atleast_1d(np.asarray(eigenvalues, dtype=float))
    root = np.sqrt((a * a - 4.0 * beta).astype(complex))  # complex: the roots may be a pair
    return float(np.max(np.maximum(np.abs(a + root), np.abs(a - root)) / 2.0))


# --------------------------------------------------------------------------- cases


def _heavy_ball_cases(rng):
    cases = []
    for shape in [(2,), (3,), (2, 3), (5,)] * 4:
        cases.append((rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape),
                      float(rng.uniform(0.001, 0.5)), float(rng.uniform(0.0, 0.99))))
    return cases


def _nesterov_cases(rng):
    cases = []
    for shape in [(2,), (4,), (2, 2)] * 4:
        buf = None if rng.random() < 0.3 else rng.normal(size=shape)
        cases.append((rng.normal(size=shape), buf, rng.normal(size=shape),
                      float(rng.uniform(0.001, 0.5)), float(rng.uniform(0.1, 0.99))))
    # first step (no buffer yet) always among the cases
    cases.append((np.array([1.0, -2.0]), None, np.array([0.5, 0.25]), 0.1, 0.9))
    return cases


def _polyak_cases(rng):
    cases = [(1.0, 100.0), (1.0, 1.0), (0.5, 20.0)]
    for _ in range(12):
        mu = float(rng.uniform(0.01, 2.0))
        cases.append((mu, mu * float(10 ** rng.uniform(0.0, 4.0))))
    return cases


def _rate_cases(rng):
    cases = [(0.01, 0.0, np.array([1.0, 100.0])), (0.0396, 0.669, np.array([1.0, 100.0])),
             (0.5, 0.9, np.array([1.0, 10.0])), (0.3, 0.0, np.array([1.0, 10.0]))]
    for _ in range(12):
        eig = np.sort(rng.uniform(0.1, 20.0, size=int(rng.integers(1, 5))))
        cases.append((float(rng.uniform(0.001, 0.3)), float(rng.uniform(0.0, 0.99)), eig))
    return cases


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="heavy_ball_update",
    reference=_heavy_ball_update,
    cases=_heavy_ball_cases,
    hint="θ_{t+1} = θ_t − η·∇f(θ_t) + β·(θ_t − θ_{t−1}): the momentum term is the last "
         "displacement, not the gradient. Return a new array.",
))

register(Exercise(
    name="pytorch_nesterov_step",
    reference=_pytorch_nesterov_step,
    cases=_nesterov_cases,
    hint="First update the buffer: b = g if buf is None else β·b + g, with β = momentum "
         "(no (1 − β) factor). Then step along g + β·b, not along b. "
         "Return (new_param, new_buf).",
))

register(Exercise(
    name="polyak_parameters",
    reference=_polyak_parameters,
    cases=_polyak_cases,
    hint="Polyak's setting puts the extreme eigenvalues on the two double roots: "
         "√(ημ) = 1 − √β and √(ηL) = 1 + √β. Adding them gives √η = 2/(√L + √μ); subtracting "
         "them gives √β. Return (η, β) — the squares — as the pair (lr, beta).",
))

register(Exercise(
    name="momentum_rate",
    reference=_momentum_rate,
    cases=_rate_cases,
    rtol=1e-6,  # np.roots is only accurate to ~1e-8 at a double root (critical damping)
    hint="For each eigenvalue λ solve z² − (1 + β − ηλ)z + β = 0 (np.roots or the quadratic "
         "formula with complex numbers) and keep the largest |z|; the rate is the maximum "
         "over all λ. With β = 0 it reduces to max |1 − ηλ|.",
))
