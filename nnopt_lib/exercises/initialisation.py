"""Exercises of notebook 10 (weight initialisation).

``fan_in_and_fan_out(shape) -> (fan_in, fan_out)``
    The fans of a weight of shape ``(out, in, k1, k2, ...)``, as ``torch.nn.init`` computes
    them: with the receptive field ``r = k1 * k2 * ...`` (1 for a 2-D ``Linear`` weight),
    ``fan_in = in * r`` and ``fan_out = out * r``. The cases include 3-, 4- and 5-D
    convolution kernels, so ``fan_in = shape[1]`` alone fails.

``xavier_uniform_bound(shape, gain) -> float``
    The bound ``a`` of Xavier/Glorot's uniform ``U(-a, a)``:
    ``a = gain * sqrt(6 / (fan_in + fan_out))``. (``U(-a, a)`` has variance ``a^2 / 3``, so
    this is the uniform with variance ``gain^2 * 2 / (fan_in + fan_out)``.)

``kaiming_normal_std(shape, a, mode) -> float``
    The standard deviation of He/Kaiming normal for a leaky ReLU of negative slope ``a``
    (``a = 0``: ReLU): ``gain / sqrt(fan)`` with ``gain = sqrt(2 / (1 + a^2))`` and
    ``fan = fan_in`` for ``mode="fan_in"`` (keeps the forward variance), ``fan_out`` for
    ``mode="fan_out"`` (keeps the backward variance). Not ``sqrt(2 / (fan_in + fan_out))``.

``propagated_variances(sizes, weight_stds, input_second_moment, activation) -> array (L,)``
    The variance of the pre-activations ``z_l = W_l h_{l-1}`` of each of the ``L`` layers of
    an MLP with widths ``sizes = [n_0, ..., n_L]``, zero biases and weights of layer ``l``
    i.i.d. with mean 0 and std ``weight_stds[l-1]``, predicted by the variance recursion::

        Var(z_1) = n_0 * s_1^2 * E[x^2]
        Var(z_l) = n_{l-1} * s_l^2 * kappa * Var(z_{l-1})     (l >= 2)

    with ``kappa = E[phi(z)^2] / Var(z)``: ``1/2`` for ``"relu"`` (z symmetric about 0) and
    ``1`` for ``"linear"`` (no activation).

``orthogonal_matrix(rows, cols, gain, rng) -> array (rows, cols)``
    A random (semi-)orthogonal matrix times ``gain`` (Saxe, McClelland & Ganguli 2014):
    orthonormal rows when ``rows <= cols`` (``W W^T = gain^2 I``), orthonormal columns when
    ``rows >= cols`` (``W^T W = gain^2 I``), drawn with ``rng``. Any such random matrix is
    accepted (the checker tests the property, not the numbers); a fixed one such as
    ``gain * np.eye(rows, cols)`` is not.

Papers: Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural
networks", AISTATS 2010; He, Zhang, Ren & Sun, "Delving Deep into Rectifiers", ICCV 2015;
Saxe, McClelland & Ganguli, "Exact solutions to the nonlinear dynamics of learning in deep
linear neural networks", ICLR 2014.
"""

from __future__ import annotations

import math

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _fan_in_and_fan_out(shape):
    receptive_field = math.prod(shape[2:])  # 1 for a Linear weight (out, in)
    return shape[1] * receptive_field, shape[0] * receptive_field


def _xavier_uniform_bound(shape, gain):
    fan_in, fan_out = _fan_in_and_fan_out(shape)
    return gain * math.sqrt(6.0 / (fan_in + fan_out))


def _kaiming_normal_std(shape, a, mode):
    fan_in, fan_out = _fan_in_and_fan_out(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    gain = math.sqrt(2.0 / (1.0 + a * a))  # torch's calculate_gain("leaky_relu", a)
    return gain / math.sqrt(fan)


_KAPPA = {"relu": 0.5, "linear": 1.0}  # E[phi(z)^2] / Var(z) for z ~ N(0, v)


def _propagated_variances(sizes, weight_stds, input_second_moment, activation):
    sizes = list(sizes)
    variances = np.empty(len(sizes) - 1)
    second_moment = input_second_moment  # E[h_0^2] = E[x^2]: the input is not activated
    for layer in range(len(sizes) - 1):
        variances[layer] = sizes[layer] * weight_stds[layer] ** 2 * second_moment
        second_moment = _KAPPA[activation] * variances[layer]
    return variances


def _orthogonal_matrix(rows, cols, gain, rng):
    wide = rows < cols
    q, r = np.linalg.qr(rng.standard_normal((cols, rows) if wide else (rows, cols)))
    q = q * np.where(np.diag(r) < 0, -1.0, 1.0)  # sign fix: uniformly distributed q
    return gain * (q.T if wide else q)


def _is_random_orthogonal(expected, got):
    """``got`` has ``expected``'s shape, orthonormal rows or columns times the gain, and is
    not a fixed (signed) identity."""
    got = np.asarray(got, dtype=float)
    if got.shape != expected.shape or not np.all(np.isfinite(got)):
        return False
    rows, cols = got.shape
    gain_sq = float(np.sum(expected**2)) / min(rows, cols)
    gram = got @ got.T if rows <= cols else got.T @ got
    if not np.allclose(gram, gain_sq * np.eye(min(rows, cols)), rtol=0, atol=1e-8 * (1 + gain_sq)):
        return False
    return not np.allclose(np.abs(got), math.sqrt(gain_sq) * np.eye(rows, cols))


# --------------------------------------------------------------------------- cases

_SHAPES = [(10, 3), (3, 10), (64, 64), (128, 40), (8, 4, 5), (16, 3, 3, 3), (64, 32, 3, 3),
           (32, 16, 1, 1), (8, 4, 3, 3, 3), (5, 7, 2, 4)]


def _fan_cases(rng):
    extra = [tuple(int(n) for n in rng.integers(1, 9, size=int(rng.integers(2, 6))))
             for _ in range(6)]
    return [(shape,) for shape in _SHAPES + extra]


def _xavier_cases(rng):
    gains = [1.0, 5 / 3, math.sqrt(2.0), 0.5]
    return [(shape, gains[i % len(gains)]) for i, shape in enumerate(_SHAPES)] + [
        ((int(rng.integers(1, 50)), int(rng.integers(1, 50))), float(rng.uniform(0.1, 3.0)))
        for _ in range(4)]


def _kaiming_cases(rng):
    cases = []
    for i, shape in enumerate(_SHAPES):
        a = 0.0 if i % 3 == 0 else float(rng.choice([0.01, 0.1, 0.2, 1.0]))
        # fan_out on asymmetric shapes, so swapping the fans is caught
        cases.append((shape, a, "fan_out" if i % 2 else "fan_in"))
    return cases


def _variance_cases(rng):
    cases = []
    for depth in (1, 2, 3, 5, 10, 20):
        for activation in ("relu", "linear"):
            sizes = [int(n) for n in rng.integers(2, 300, size=depth + 1)]
            stds = [float(rng.uniform(0.5, 2.0)) / math.sqrt(n) for n in sizes[:-1]]
            cases.append((sizes, stds, float(rng.uniform(0.2, 3.0)), activation))
    return cases


def _orthogonal_cases(rng):
    shapes = [(4, 4), (3, 7), (7, 3), (1, 5), (5, 1), (16, 16), (10, 30), (30, 10)]
    return [(rows, cols, float(rng.choice([1.0, math.sqrt(2.0), 0.5, 5 / 3])),
             np.random.default_rng(int(rng.integers(2**31))))
            for rows, cols in shapes]


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="fan_in_and_fan_out",
    reference=_fan_in_and_fan_out,
    cases=_fan_cases,
    hint="A weight has shape (out, in, k1, k2, ...). Multiply the kernel sizes k1·k2·… (1 for "
         "a 2-D Linear weight, math.prod of shape[2:]); fan_in = in × that, fan_out = out × "
         "that. Return the pair (fan_in, fan_out).",
))

register(Exercise(
    name="xavier_uniform_bound",
    reference=_xavier_uniform_bound,
    cases=_xavier_cases,
    hint="Compute the two fans (with the receptive field of a kernel), then "
         "a = gain · sqrt(6 / (fan_in + fan_out)). The 6 is 3 × 2: U(−a, a) has variance "
         "a²/3, and Xavier wants the variance gain² · 2 / (fan_in + fan_out).",
))

register(Exercise(
    name="kaiming_normal_std",
    reference=_kaiming_normal_std,
    cases=_kaiming_cases,
    hint="gain = sqrt(2 / (1 + a²)) (a = 0: ReLU's sqrt 2); fan = fan_in for mode 'fan_in', "
         "fan_out for 'fan_out' (with the receptive field of a kernel); std = gain / sqrt(fan). "
         "He uses ONE fan, not fan_in + fan_out.",
))

register(Exercise(
    name="propagated_variances",
    reference=_propagated_variances,
    cases=_variance_cases,
    hint="Carry the second moment m of each layer's input: start with m = E[x²] (the input "
         "is not activated). For each layer l: Var(z_l) = n_{l−1} · s_l² · m, then "
         "m = κ · Var(z_l) with κ = ½ for relu and 1 for linear. Return the L variances.",
))

register(Exercise(
    name="orthogonal_matrix",
    reference=_orthogonal_matrix,
    cases=_orthogonal_cases,
    compare=_is_random_orthogonal,
    hint="The 'expected' matrix is one valid answer; yours needs W Wᵀ = gain² I (rows <= cols) "
         "or Wᵀ W = gain² I (rows >= cols) and must come from rng. Draw a standard normal "
         "matrix with rng, tall (transpose the shape when rows < cols), factor it with "
         "np.linalg.qr; Q has orthonormal columns. Multiply each column of Q by the sign of R's "
         "diagonal entry, transpose back if you transposed, times gain.",
))
