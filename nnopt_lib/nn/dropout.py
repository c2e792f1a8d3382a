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
    needed at test time because it already happened during training. ``p = 1`` drops
    everything and gives zeros (torch's answer, where ``x * 0 / 0`` would be NaN).

    The keep mask ``m`` of the last training forward pass is :attr:`mask`, a boolean array of
    the input's shape (``None`` after an evaluation pass and at ``p = 0``, where nothing is
    dropped). ``forward(x, mask=keep)`` uses a given mask instead of drawing one: a lesson
    can replay the same mask, and the cross-check reads torch's mask off torch's output
    (``keep = y_torch != 0`` for an input without zeros) and gives it to this layer, so the
    two agree element by element. A given mask is used as it is, at every ``p`` (it is
    scaled by ``1 / (1 - p)``, or 0 at ``p = 1``); in evaluation mode, where the layer is
    the identity, giving one raises ``ValueError`` rather than being silently ignored.

    ``p`` must be a number in ``[0, 1]`` (``ValueError`` otherwise, NaN included: torch only
    notices a NaN at the first forward pass). Random masks are drawn from ``rng``, a
    ``numpy.random.Generator``; the scaled mask used by ``backward`` has the input's dtype.
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator):
        if not isinstance(p, numbers.Real):
            raise TypeError(f"dropout probability must be a number, got {type(p).__name__} {p!r}")
        if not 0 <= p <= 1:  # also false for NaN
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.rng = checks.generator(rng)
        self.mask: np.ndarray | None = None
        self._scale_mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """``x`` with dropped elements zeroed and the kept ones scaled by ``1 / (1 - p)``.

        ``mask``: a boolean array of ``x``'s shape, ``True`` where an element is kept, to
        use instead of a random draw (training mode only).
        """
        if mask is not None:
            mask = self._check_mask(mask, np.shape(x))
        if not self.training or (self.p == 0 and mask is None):
            self.mask = self._scale_mask = None
            return x
        keep = self.rng.random(np.shape(x)) >= self.p if mask is None else mask
        # p == 1 drops everything; torch returns zeros instead of 0 * inf = nan
        scale = 0.0 if self.p == 1 else 1.0 / (1.0 - self.p)
        self.mask = keep
        self._scale_mask = np.multiply(keep, scale, dtype=np.asarray(x).dtype)
        return x * self._scale_mask

    def _check_mask(self, mask: object, shape: tuple[int, ...]) -> np.ndarray:
        if not self.training:
            raise ValueError("Dropout: a mask was given in evaluation mode, where dropout is "
                             "the identity; call train() first to apply it")
        mask = np.asarray(mask)
        if mask.dtype != np.bool_:
            raise TypeError(f"Dropout: mask must be a boolean array (True = keep), got dtype "
                            f"{mask.dtype}")
        if mask.shape != tuple(shape):
            raise ValueError(f"Dropout: mask has shape {mask.shape} but the input has shape "
                             f"{tuple(shape)}")
        return mask.copy()  # the layer's record must not change with the caller's array

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out if self._scale_mask is None else grad_out * self._scale_mask

    def extra_repr(self) -> str:
        return f"p={self.p}"
