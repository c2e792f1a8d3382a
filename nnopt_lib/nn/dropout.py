"""Inverted dropout."""

from __future__ import annotations

import numbers

import numpy as np

from nnopt_lib import checks
from nnopt_lib.nn.module import Module


class Dropout(Module):
    """Inverted dropout (Srivastava et al. 2014, "Dropout: A Simple Way to Prevent Neural
    Networks from Overfitting").

    Training: each element is kept with probability ``1 - p`` and scaled by ``1 / (1 - p)``,
    ``y = x * m / (1 - p)`` with ``m ~ Bernoulli(1 - p)``, so ``E[y] = x``; then
    ``dL/dx = g * m / (1 - p)``. Evaluation: ``y = x`` (the identity) -- no rescaling is
    needed at test time because it already happened during training.

    ``p`` must be a number in ``[0, 1]`` (``ValueError`` otherwise, NaN included: torch only
    notices a NaN at the first forward pass). The masks are drawn from ``rng``, a
    ``numpy.random.Generator``, and have the input's dtype.
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator):
        if not isinstance(p, numbers.Real):
            raise TypeError(f"dropout probability must be a number, got {type(p).__name__} {p!r}")
        if not 0 <= p <= 1:  # also false for NaN
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.rng = checks.generator(rng)
        self._scale_mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0:
            self._scale_mask = None
            return x
        keep = self.rng.random(x.shape) >= self.p
        # p == 1 drops everything; torch returns zeros instead of 0 * inf = nan
        scale = 0.0 if self.p == 1 else 1.0 / (1.0 - self.p)
        self._scale_mask = np.multiply(keep, scale, dtype=x.dtype)
        return x * self._scale_mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out if self._scale_mask is None else grad_out * self._scale_mask

    def extra_repr(self) -> str:
        return f"p={self.p}"
