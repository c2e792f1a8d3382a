"""Elementwise activations and LogSoftmax: no parameters, output in the input's dtype."""

from __future__ import annotations

import math
import numbers

import numpy as np

from nnopt_lib.nn.module import Module


def _real_number(value: object, name: str, owner: str) -> float:
    """``float(value)`` for a real number (numpy's included); ``TypeError`` naming ``name``
    for anything else, as torch's "argument 'alpha' must be Number" (``float("0.1")`` would
    quietly accept a string)."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__} "
                        f"{value!r}")
    return float(value)


class ReLU(Module):
    """``y = max(x, 0)``; ``dy/dx = 0 if x <= 0 else 1`` (0 at x = 0, like torch).

    A unit whose input is negative for every example gets no gradient at all: a "dead"
    unit. That, not vanishing gradients, is ReLU's failure mode.

    The test is written ``x <= 0``, as torch's ``threshold_backward``: a NaN input is not
    ``<= 0``, so its gradient passes through unchanged (slope 1), exactly as in torch.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._passes = ~(x <= 0)
        return np.maximum(x, 0.0)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self._passes


class LeakyReLU(Module):
    """``y = x if x > 0 else negative_slope * x``; ``dy/dx = 1 or negative_slope``.

    The small negative slope keeps a gradient flowing through units that would be dead
    under ReLU (Maas et al. 2013, "Rectifier nonlinearities improve neural network
    acoustic models"). A NaN input gets the slope ``negative_slope``, as in torch (whose
    backward tests ``x > 0``). ``negative_slope`` must be a real number (``TypeError``
    otherwise, as torch's).
    """

    def __init__(self, negative_slope: float = 0.01):
        # a Python float: a NumPy float64 scalar would turn float32 activations into float64
        self.negative_slope = _real_number(negative_slope, "negative_slope", "LeakyReLU")

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._positive = x > 0
        return np.where(self._positive, x, self.negative_slope * x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return np.where(self._positive, grad_out, self.negative_slope * grad_out)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """``y = x if x > 0 else alpha * (exp(x) - 1)``; ``dy/dx = 1 or alpha * exp(x)``.

    Clevert et al. 2016, "Fast and Accurate Deep Network Learning by Exponential Linear
    Units (ELUs)". Smooth for ``alpha = 1`` and saturates at ``-alpha`` for very negative x.

    The branch test is ``x <= 0``, as in torch's ``elu_backward``: a NaN input takes the
    ``x > 0`` branch, so its gradient is 1, as in torch. ``alpha`` must be a real number
    (``TypeError`` otherwise, as torch's).
    """

    def __init__(self, alpha: float = 1.0):
        # Python float: keeps the input's dtype (see LeakyReLU)
        self.alpha = _real_number(alpha, "alpha", "ELU")

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._negative = x <= 0
        # exp only of the non-positive part: exp(large x) would overflow and is unused
        negative_part = np.minimum(x, 0.0)
        self._exp = np.exp(negative_part)
        return np.where(self._negative, self.alpha * np.expm1(negative_part), x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return np.where(self._negative, grad_out * self.alpha * self._exp, grad_out)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


def _erf(x: np.ndarray) -> np.ndarray:
    """Elementwise error function via the C library's ``math.erf`` (full double accuracy).

    numpy has no erf and scipy is not a dependency; mapping the scalar function is a few
    times slower than a numpy ufunc, which is fine for a teaching layer. The result has
    ``x``'s dtype.
    """
    flat = np.fromiter(map(math.erf, x.ravel().tolist()), dtype=np.float64, count=x.size)
    return flat.reshape(x.shape).astype(x.dtype, copy=False)


class GELU(Module):
    """Gaussian Error Linear Unit, exact form: ``y = x * Phi(x)``.

    ``Phi(x) = (1 + erf(x / sqrt(2))) / 2`` is the standard normal CDF, and
    ``dy/dx = Phi(x) + x * phi(x)`` with the density ``phi(x) = exp(-x^2/2) / sqrt(2 pi)``.
    Hendrycks & Gimpel 2016, "Gaussian Error Linear Units (GELUs)".
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        self._cdf = 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))
        return x * self._cdf

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        pdf = np.exp(-0.5 * self._x**2) / math.sqrt(2.0 * math.pi)
        return grad_out * (self._cdf + self._x * pdf)


class Sigmoid(Module):
    """``y = 1 / (1 + exp(-x))``; ``dy/dx = y (1 - y) <= 1/4``.

    The derivative is at most 1/4 and tends to 0 for large ``|x|`` (saturation), so a
    product of many sigmoid derivatives vanishes: the vanishing-gradient problem.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        # (1 + tanh(x/2)) / 2 is the same function but cannot overflow for very negative x
        self._y = 0.5 * (1.0 + np.tanh(0.5 * x))
        return self._y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self._y * (1.0 - self._y)


class Tanh(Module):
    """``y = tanh(x)``; ``dy/dx = 1 - y^2`` (saturates like the sigmoid, at most 1)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._y = np.tanh(x)
        return self._y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * (1.0 - self._y**2)


class LogSoftmax(Module):
    """``y = x - logsumexp(x)`` along ``dim``: log-probabilities from logits.

    ``logsumexp(x) = m + log(sum(exp(x - m)))`` with ``m = max(x)``, so large logits neither
    overflow nor lose the answer. Backward: ``dL/dx = g - softmax(x) * sum(g)`` (sums along
    ``dim``). ``LogSoftmax`` followed by ``NLLLoss`` is ``CrossEntropyLoss``.

    The default ``dim=1`` is the class axis of ``(N, C)`` logits. torch's default is
    ``dim=None``, a deprecated implicit choice (with a warning) that also picks 1 for 2-D
    input; here the axis is always explicit. Errors as torch's: ``TypeError`` for a
    non-integer ``dim``, ``IndexError`` for one out of range, ``NotImplementedError`` for
    integer input.
    """

    def __init__(self, dim: int = 1):
        if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
            raise TypeError(f"LogSoftmax: dim must be an int, got {type(dim).__name__} {dim!r}")
        self.dim = int(dim)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype.kind != "f":
            raise NotImplementedError(f"LogSoftmax: not implemented for dtype {x.dtype} "
                                      "(use floating-point logits)")
        ndim = max(x.ndim, 1)  # torch treats a 0-D input as having one axis
        if not -ndim <= self.dim < ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{-ndim}, {ndim - 1}], but got {self.dim})")
        axis = self.dim if x.ndim else None
        # initial=-inf: an empty axis gives an empty output instead of a reduction error
        shifted = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)
        self._y = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        self._axis = axis
        return self._y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out - np.exp(self._y) * np.sum(grad_out, axis=self._axis, keepdims=True)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
