r"""Acquisition functions: where a Bayesian optimiser should evaluate next.

Expected improvement for MINIMISATION (Mockus 1975; Jones, Schonlau & Welch 1998, "Efficient Global
Optimization of Expensive Black-Box Functions"). With the surrogate's posterior
:math:`f(x) \sim \mathcal N(\mu, \sigma^2)` and the best value so far :math:`f^*`, the improvement
is :math:`\max(f^* - \xi - f(x), 0)` and its expectation has the closed form

.. math::

    \mathrm{EI}(x) = (f^* - \xi - \mu)\,\Phi(z) + \sigma\,\varphi(z), \qquad
    z = \frac{f^* - \xi - \mu}{\sigma},

with :math:`\Phi, \varphi` the standard normal CDF and density. The first term rewards a low mean
(exploitation), the second a large std (exploration); :math:`\xi \ge 0` demands a margin of
improvement and tilts the balance towards exploration.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr


def expected_improvement(mean, std, best: float, *, xi: float = 0.0) -> np.ndarray:
    r"""Expected improvement below ``best`` (closed form above), elementwise over ``mean``, ``std``.

    Where ``std == 0`` EI is 0 by convention. That happens at the evaluated points of a noise-free
    GP, whose mean there is an observed value (never below the best), so the limit
    :math:`\sigma \to 0`, :math:`\max(f^* - \xi - \mu, 0)`, is 0 there too. With :math:`z`
    clipped to :math:`[-40, 40]` (where :math:`\Phi, \varphi` are already 0 or 1) and the result
    clipped at 0, a tiny ``std`` (huge :math:`|z|`) gives neither overflow, NaN nor a negative
    value.
    """
    mean = np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    if np.any(std < 0):
        raise ValueError("std must be non-negative")
    if xi < 0:
        raise ValueError(f"xi must be non-negative, got {xi!r}")
    improvement = best - xi - mean
    positive = std > 0
    safe_std = np.where(positive, std, 1.0)
    with np.errstate(
        over="ignore"
    ):  # improvement / 1e-300 may overflow to inf; the clip handles it
        z = improvement / safe_std
    # Beyond |z| = 40, Phi is 0 or 1 and phi is 0 to double precision: clipping changes nothing
    # there and keeps z**2 from overflowing.
    z = np.clip(z, -40.0, 40.0)
    density = np.exp(-0.5 * z**2) / np.sqrt(2.0 * np.pi)
    ei = improvement * ndtr(z) + safe_std * density
    ei = np.where(positive, ei, 0.0)
    return np.maximum(ei, 0.0)
