"""Initialisers: ``nnopt_lib.init`` against ``torch.nn.init``, exactly where they must agree
exactly and in distribution where they draw random numbers.

A random initialiser cannot match torch draw for draw: the two libraries use different
random generators. What must agree is everything that is not random, and the distribution
of what is. :func:`compare_init` checks one of the two, by name:

* **Exact** (``check="exact"``): :func:`~nnopt_lib.init.calculate_gain` for every
  nonlinearity torch lists (leaky ReLU with several slopes, SELU), the fans of
  ``_calculate_fan_in_and_fan_out`` for 2-D to 5-D shapes, ``zeros_``, and the fact that
  defines ``orthogonal_``: ``W^T W = gain^2 I`` for a tall (or square) ``W`` and
  ``W W^T = gain^2 I`` for a wide one, ``W`` seen as ``shape[0] x (the rest)``. Judged like
  every exact check of the matrix: ``max |Δ| <= rtol * max(1, max |value|)`` with ``rtol``
  of :data:`~nnopt_lib.crosscheck.comparison.TOLERANCES` (gains and fans are Python
  numbers, always compared in float64; fans are integers, so this is equality).
* **In distribution** (``check="distribution"``, the default for the random initialisers):
  ``samples`` numbers are drawn from each library, both seeded with ``seed`` (numpy's
  ``default_rng(seed)``; a ``torch.Generator`` on :func:`best_device` seeded with
  ``manual_seed(seed)``, so torch's global random state is left alone). An array of the given
  ``shape`` is filled again and again until there are at least ``samples`` entries (the
  entries of one fill are independent, and the shape sets the fans). For ``orthogonal_`` the
  sample is entry ``[0, 0]`` of ``samples`` independent matrices: within one matrix the
  entries are dependent, and an ``orthogonal_`` that forgets the sign fix of its QR step
  (whose ``[0, 0]`` entry is then always negative) or returns ``gain * I`` passes the exact
  check but not this one.

The comparison in distribution has two items, each a test at the level ``alpha = 1e-3``:

0. The two-sample Kolmogorov--Smirnov statistic ``D = max_x |F(x) - G(x)|``, the largest
   gap between the empirical CDFs of our ``n`` and torch's ``m`` numbers; ``ours`` and
   ``theirs`` are the two CDFs at the ``x`` where they differ most. If both libraries draw
   from the same distribution, ``D`` exceeds ``c(alpha) * sqrt((n + m) / (n m))``, with
   ``c(alpha) = sqrt(-ln(alpha / 2) / 2) = 1.95``, with probability at most ``alpha``
   (Kolmogorov's limit law, Smirnov 1948). That critical value is the Comparison's
   ``tolerance``: about ``0.012`` for 50,000 numbers a side.
1. The sample standard deviation of *each* side against the exact one of the distribution
   torch documents (computed here from torch's own ``calculate_gain`` and fans): the
   quantity an initialiser exists to set, and one that KS tests only weakly (a standard
   deviation 3% off moves a normal's CDF by at most 0.007, below the tolerance above). The sample
   std ``s`` of ``n`` numbers has the relative standard error ``sqrt((kappa - 1) / (4 n))``,
   ``kappa`` the exact kurtosis (3 for a normal, 9/5 for a uniform, from its moments for a
   truncated normal), so ``|s / sigma - 1| <= z * sqrt((kappa - 1) / (4 n))`` with
   ``z = 3.29`` (two-sided normal quantile of ``alpha``) is the test; the item's label says
   that band, ``ours`` and ``theirs`` hold ``s / sigma`` of each side, and its ``per_step``
   entry is the worse side's ``|s / sigma - 1|`` rescaled so that its own bound equals the
   tolerance: it passes exactly when both sides are inside their bands.

So the printed line ``max |Δ| = ... (tolerance ...)`` compares the KS statistic (or the
rescaled std error) with the KS critical value. The seeds are fixed, so a passing case keeps
passing; ``alpha`` says how unlucky a seed would have to be to fail a correct initialiser
(at most ``1e-3`` per item), while a wrong one fails by a wide margin: 10% off in the std is
about ten times the tolerance at the default sample size.
"""

from __future__ import annotations

import math
import statistics
import typing
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from nnopt_lib import init
from nnopt_lib.crosscheck.comparison import (
    TOLERANCES,
    Comparison,
    _compare_items,
    _describe,
)
from nnopt_lib.crosscheck.device import _resolve_dtype, _torch, best_device

if TYPE_CHECKING:
    import torch

#: The names :func:`compare_init` takes: the functions of :mod:`nnopt_lib.init` and torch's
#: fan computation.
INITIALISERS = ("calculate_gain", "_calculate_fan_in_and_fan_out", "xavier_uniform_",
                "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
                "trunc_normal_", "zeros_")
_RANDOM = ("xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "trunc_normal_")
#: Which checks each name offers; the first is the default.
_CHECKS = {
    "calculate_gain": ("exact",),
    "_calculate_fan_in_and_fan_out": ("exact",),
    "zeros_": ("exact",),
    "orthogonal_": ("exact", "distribution"),
    **{name: ("distribution",) for name in _RANDOM},
}

#: Significance level of each statistical item (see the module docstring).
ALPHA = 1e-3
#: Default sample sizes: numbers per side, and independent matrices for ``orthogonal_``.
SAMPLES = 50_000
ORTHOGONAL_SAMPLES = 1_000

#: torch 2.13's list of nonlinearities (its ``_NonlinearityType``), used if torch stops
#: exporting that private name.
_NONLINEARITIES = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                   "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
                   "leaky_relu", "selu")
#: Slopes for the leaky ReLU's gain beyond the default: zero, typical, one (gain 1), an int
#: (torch takes int and float), and a param that every other nonlinearity ignores.
_EXTRA_GAINS = (("leaky_relu", 0), ("leaky_relu", 0.2), ("leaky_relu", 1.0), ("leaky_relu", 3),
                ("tanh", 0.5))


def ks_critical_value(n: int, m: int, alpha: float = ALPHA) -> float:
    """``c(alpha) * sqrt((n + m) / (n m))``, ``c(alpha) = sqrt(-ln(alpha / 2) / 2)``: the
    two-sample Kolmogorov--Smirnov statistic of two samples of one distribution exceeds it
    with probability at most ``alpha`` (asymptotically, and conservatively where values tie).
    """
    return math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n + m) / (n * m))


def gain_cases(torch: ModuleType) -> list[tuple[str, float | None]]:
    """``(nonlinearity, param)`` pairs compared by ``compare_init("calculate_gain")``: every
    nonlinearity torch lists (with its default param), then :data:`_EXTRA_GAINS`."""
    listed = typing.get_args(getattr(torch.nn.init, "_NonlinearityType", None))
    return [(name, None) for name in (listed or _NONLINEARITIES)] + list(_EXTRA_GAINS)


def _normal_pdf(z: float) -> float:
    return math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi) if math.isfinite(z) else 0.0


def _normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def truncated_normal_moments(mean: float, std: float, a: float, b: float
                             ) -> tuple[float, float, float]:
    """``(mean, std, kurtosis)`` of ``N(mean, std^2)`` truncated to ``[a, b]`` (absolute
    bounds), from the raw moments of the standard normal truncated to
    ``[alpha, beta] = [(a - mean) / std, (b - mean) / std]``::

        m_0 = 1,  m_1 = (phi(alpha) - phi(beta)) / P,
        m_k = (k - 1) m_(k-2) + (alpha^(k-1) phi(alpha) - beta^(k-1) phi(beta)) / P

    (integration by parts of ``z^(k-1) * z phi(z)``), ``P = Phi(beta) - Phi(alpha)`` taken
    from the tail that keeps its digits.
    """
    alpha, beta = (a - mean) / std, (b - mean) / std
    mass = (_normal_cdf(-alpha) - _normal_cdf(-beta) if alpha > 0
            else _normal_cdf(beta) - _normal_cdf(alpha))
    raw = [1.0, (_normal_pdf(alpha) - _normal_pdf(beta)) / mass]
    for k in range(2, 5):
        edge = ((alpha ** (k - 1) * _normal_pdf(alpha) if math.isfinite(alpha) else 0.0)
                - (beta ** (k - 1) * _normal_pdf(beta) if math.isfinite(beta) else 0.0))
        raw.append((k - 1) * raw[k - 2] + edge / mass)
    m1, m2, m3, m4 = raw[1:]
    variance = m2 - m1**2
    central4 = m4 - 4 * m1 * m3 + 6 * m1**2 * m2 - 3 * m1**4
    return mean + std * m1, std * math.sqrt(variance), central4 / variance**2


def _fans(torch: ModuleType, shape: tuple[int, ...]) -> tuple[int, int]:
    """torch's ``(fan_in, fan_out)`` of a weight of ``shape`` (a meta tensor: no memory)."""
    return torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape, device="meta"))


def exact_std_and_kurtosis(name: str, shape: tuple[int, ...], options: Mapping[str, Any],
                           torch: ModuleType) -> tuple[float, float]:
    """The standard deviation and kurtosis of the numbers initialiser ``name`` draws, from
    the formulas torch documents with torch's own gain and fans (for ``orthogonal_``: of
    entry ``[0, 0]``, a coordinate of a uniform unit vector in ``d = max(rows, cols)``
    dimensions, times ``gain``: variance ``gain^2 / d``, kurtosis ``3 d / (d + 2)``)."""
    uniform, normal = 9 / 5, 3.0
    if name.startswith("xavier"):
        fan_in, fan_out = _fans(torch, shape)
        std = options.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))
        return std, uniform if name == "xavier_uniform_" else normal  # U(-b, b): b^2 / 3
    if name.startswith("kaiming"):
        fan_in, fan_out = _fans(torch, shape)
        fan = fan_in if options.get("mode", "fan_in") == "fan_in" else fan_out
        gain = torch.nn.init.calculate_gain(options.get("nonlinearity", "leaky_relu"),
                                            options.get("a", 0))
        return gain / math.sqrt(fan), uniform if name == "kaiming_uniform_" else normal
    if name == "trunc_normal_":
        _, std, kurtosis = truncated_normal_moments(
            options.get("mean", 0.0), options.get("std", 1.0), options.get("a", -2.0),
            options.get("b", 2.0))
        return std, kurtosis
    if name == "orthogonal_":
        rows = shape[0]
        d = max(rows, math.prod(shape) // rows)
        return abs(options.get("gain", 1)) / math.sqrt(d), 3 * d / (d + 2)
    raise ValueError(f"{name} draws no random numbers")


def _draw(name: str, shape: tuple[int, ...], options: Mapping[str, Any], samples: int,
          seed: int, device: torch.device, torch_dtype: torch.dtype
          ) -> tuple[np.ndarray, np.ndarray]:
    """``samples``-or-more numbers from our initialiser and from torch's, flattened."""
    torch = _torch()
    ours_fn, theirs_fn = getattr(init, name), getattr(torch.nn.init, name)
    rng = np.random.default_rng(seed)
    generator = torch.Generator(device=device).manual_seed(seed)
    if name == "orthogonal_":  # entry [0, 0] of independent matrices
        fills = samples
    else:  # the entries of one fill are independent
        fills = -(-samples // max(1, math.prod(shape)))
    ours = np.empty((fills, *shape))
    theirs = torch.empty((fills, *shape), dtype=torch_dtype, device=device)
    for k in range(fills):
        ours_fn(ours[k], **options, rng=rng)
        theirs_fn(theirs[k], **options, generator=generator)
    theirs = theirs.cpu().numpy().astype(np.float64)
    if name == "orthogonal_":
        corner = (slice(None),) + (0,) * len(shape)
        return ours[corner], theirs[corner]
    return ours.ravel(), theirs.ravel()


def _in_distribution(name: str, shape: tuple[int, ...], options: Mapping[str, Any],
                     samples: int, seed: int, dtype: str) -> Comparison:
    torch = _torch()
    device = best_device()
    dtype, torch_dtype = _resolve_dtype(dtype, device)
    ours, theirs = _draw(name, shape, options, samples, seed, device, torch_dtype)
    n, m = len(ours), len(theirs)
    tolerance = ks_critical_value(n, m)

    # item 0: two-sample KS, the CDFs evaluated at every pooled number (exact D)
    pooled = np.concatenate([ours, theirs])
    cdf_ours = np.searchsorted(np.sort(ours), pooled, side="right") / n
    cdf_theirs = np.searchsorted(np.sort(theirs), pooled, side="right") / m
    k = int(np.argmax(np.abs(cdf_ours - cdf_theirs)))
    ks = abs(cdf_ours[k] - cdf_theirs[k])

    # item 1: each side's std against the exact one, at its own 1e-3 bound
    sigma, kurtosis = exact_std_and_kurtosis(name, shape, options, torch)
    if not sigma > 0:
        raise ValueError(f"{_describe(name, options)} on {shape} has standard deviation "
                         f"{sigma}: nothing random to compare in distribution")
    z = statistics.NormalDist().inv_cdf(1 - ALPHA / 2)
    ratios = np.array([np.std(ours) / sigma, np.std(theirs) / sigma])
    bands = z * np.sqrt(max(kurtosis - 1, 0.0) / (4 * np.array([n, m])))
    with np.errstate(divide="ignore", invalid="ignore"):  # a band of 0: kurtosis 1 (+-gain)
        scaled = np.where(np.abs(ratios - 1) <= 1e-12, 0.0, np.abs(ratios - 1) / bands)
    std_item = float(np.max(scaled)) * tolerance

    what = (f"{_describe(name, options)} on {shape}: in distribution, {n} + {m} "
            f"{'[0, 0] entries' if name == 'orthogonal_' else 'samples'}")
    labels = (f"CDF at x = {pooled[k]:.4g}, the largest gap (two-sample KS)",
              f"std / exact std {sigma:.4g}, each side; allowed 1 ± {bands.max():.2g}")
    return Comparison(what=what, max_abs_diff=max(ks, std_item),
                      per_step=np.array([ks, std_item]), device=str(device), dtype=dtype,
                      tolerance=tolerance,
                      ours=np.array([[cdf_ours[k]], [ratios[0]]]),
                      theirs=np.array([[cdf_theirs[k]], [ratios[1]]]),
                      unit="item", labels=labels, final=(ours, theirs))


def _orthogonal_exact(shape: tuple[int, ...], options: Mapping[str, Any], seed: int,
                      dtype: str) -> Comparison:
    torch = _torch()
    device = best_device()
    dtype, torch_dtype = _resolve_dtype(dtype, device)
    ours = init.orthogonal_(np.empty(shape), **options, rng=np.random.default_rng(seed))
    generator = torch.Generator(device=device).manual_seed(seed)
    theirs = torch.nn.init.orthogonal_(torch.empty(shape, dtype=torch_dtype, device=device),
                                       **options, generator=generator)
    theirs = theirs.cpu().numpy().astype(np.float64)
    gain = options.get("gain", 1)
    rows = shape[0]
    wide = rows < math.prod(shape) // rows

    def gram(w: np.ndarray) -> np.ndarray:
        matrix = w.reshape(rows, -1)  # torch's view: rows = shape[0], the rest flattened
        return matrix @ matrix.T if wide else matrix.T @ matrix

    exact = gain**2 * np.eye(min(rows, math.prod(shape) // rows))
    ours_gram, theirs_gram = gram(ours), gram(theirs)
    # each side against the exact gain^2 I (their difference would hide a shared error)
    per_step = np.array([max(np.max(np.abs(ours_gram - exact)),
                             np.max(np.abs(theirs_gram - exact)))])
    side = "W W^T" if wide else "W^T W"
    return Comparison(
        what=f"{_describe('orthogonal_', options)} on {shape}: {side} = gain^2 I, each side",
        max_abs_diff=float(per_step[0]) if np.isfinite(per_step).all() else math.nan,
        per_step=per_step, device=str(device), dtype=dtype,
        tolerance=TOLERANCES[dtype] * max(1.0, gain**2), ours=ours_gram[None],
        theirs=theirs_gram[None], unit="item", labels=(f"{side} (exact: {gain**2:g} I)",),
        final=(ours, theirs))


def compare_init(name: str, *, shape: tuple[int, ...] | None = None,
                 options: Mapping[str, Any] | None = None, samples: int | None = None,
                 seed: int = 0, dtype: str = "float64", check: str | None = None
                 ) -> Comparison:
    """Compare the initialiser (or helper) ``name`` of :mod:`nnopt_lib.init` with
    ``torch.nn.init``'s: exactly, or in distribution (see the module docstring).

    ``name`` is one of :data:`INITIALISERS`; ``options`` are its keyword arguments (e.g.
    ``{"a": 0.2, "mode": "fan_out"}``; for ``calculate_gain``, ``{"nonlinearity": ...,
    "param": ...}``, or none for every nonlinearity torch lists and several leaky-ReLU
    slopes). ``shape`` is the weight's shape, e.g. ``(out, in)`` or ``(out, in, kh, kw)``,
    needed by all but ``calculate_gain``. ``check`` is ``"exact"`` (gains, fans,
    ``zeros_``, ``orthogonal_``'s ``W^T W = gain^2 I``) or ``"distribution"`` (the random
    initialisers, and ``orthogonal_``'s entries); by default the first the name offers.
    ``samples`` numbers per side are compared in distribution (default :data:`SAMPLES`,
    :data:`ORTHOGONAL_SAMPLES` matrices for ``orthogonal_``); ``seed`` seeds both sides;
    ``dtype`` is torch's (ours draw in float64).

    ``final`` of the result holds what each side produced: the two samples (flat float64
    arrays, e.g. for a quantile plot) or the two weights.
    """
    if name not in INITIALISERS:
        raise ValueError(f"Unknown initialiser: {name!r}; choose from {INITIALISERS}")
    check = check or _CHECKS[name][0]
    if check not in _CHECKS[name]:
        raise ValueError(f"{name} can be compared {' or '.join(map(repr, _CHECKS[name]))}, "
                         f"not {check!r}")
    options = dict(options or {})
    if name == "calculate_gain":
        return _compare_gains(options)
    if shape is None:
        raise ValueError(f"compare_init({name!r}) needs the weight's shape, e.g. shape=(64, 32)")
    shape = tuple(int(size) for size in shape)
    if name == "_calculate_fan_in_and_fan_out":
        torch = _torch()
        ours = init._calculate_fan_in_and_fan_out(np.empty(shape))
        return _compare_items(f"_calculate_fan_in_and_fan_out on {shape}", ours,
                              _fans(torch, shape), "cpu", "float64",
                              labels=("fan_in", "fan_out"))
    if name == "zeros_":
        return _compare_zeros(shape, seed, dtype)
    if check == "exact":
        return _orthogonal_exact(shape, options, seed, dtype)
    if samples is None:
        samples = ORTHOGONAL_SAMPLES if name == "orthogonal_" else SAMPLES
    if samples < 2:
        raise ValueError(f"samples must be at least 2, got {samples}")
    return _in_distribution(name, shape, options, samples, seed, dtype)


def _compare_gains(options: Mapping[str, Any]) -> Comparison:
    torch = _torch()
    if options:
        cases = [(options["nonlinearity"], options.get("param"))]
        what = f"calculate_gain({options['nonlinearity']!r}, param={options.get('param')})"
    else:
        cases = gain_cases(torch)
        what = "calculate_gain: every nonlinearity torch lists, and leaky_relu's slopes"
    ours = [init.calculate_gain(n, p) for n, p in cases]
    theirs = [torch.nn.init.calculate_gain(n, p) for n, p in cases]
    labels = [n if p is None else f"{n}(param={p!r})" for n, p in cases]
    # Python numbers on both sides: always a float64 comparison
    return _compare_items(what, ours, theirs, "cpu", "float64", labels=labels)


def _compare_zeros(shape: tuple[int, ...], seed: int, dtype: str) -> Comparison:
    torch = _torch()
    device = best_device()
    dtype, torch_dtype = _resolve_dtype(dtype, device)
    rng = np.random.default_rng(seed)
    start = 1.0 + rng.random(shape)  # nothing zero to begin with
    ours = init.zeros_(start.copy())
    theirs = torch.nn.init.zeros_(torch.tensor(start, dtype=torch_dtype, device=device))
    return _compare_items(f"zeros_ on {shape}", [ours], [theirs.cpu().numpy()], str(device),
                          dtype, labels=("the array after zeros_",), final=(ours, theirs))
