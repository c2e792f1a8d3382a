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
    """Elementwise error function, in ``x``'s dtype.

    numpy has no erf; scipy's ufunc computes it to full double accuracy, vectorised (a
    Python loop over ``math.erf`` made a deep GELU network's explorer redraw take seconds).
    scipy is imported here, on first use, so importing the layers stays light.
    """
    from scipy.special import erf

    return erf(x.astype(np.float64, copy=False)).astype(x.dtype, copy=False)


#: sqrt(2 / pi) and the cubic coefficient of GELU's tanh approximation (torch's kBeta, kKappa).
_GELU_TANH_SCALE = math.sqrt(2.0 / math.pi)
_GELU_TANH_CUBIC = 0.044715


class GELU(Module):
    """Gaussian Error Linear Unit (Hendrycks & Gimpel 2016, "Gaussian Error Linear Units
    (GELUs)"): each input is weighted by the probability that a standard normal variable
    lies below it.

    ``approximate="none"`` (torch's default), the exact form::

        y = x * Phi(x),   Phi(x) = (1 + erf(x / sqrt(2))) / 2   (the standard normal CDF)
        dy/dx = Phi(x) + x * phi(x),   phi(x) = exp(-x^2 / 2) / sqrt(2 pi)

    ``approximate="tanh"``, the paper's cheaper approximation (BERT and GPT-2 used it)::

        u = sqrt(2 / pi) * (x + 0.044715 x^3),   y = x * (1 + tanh(u)) / 2
        dy/dx = (1 + tanh(u)) / 2 + x / 2 * (1 - tanh(u)^2) * sqrt(2 / pi) * (1 + 3 * 0.044715 x^2)

    The two differ by less than 5e-4 everywhere, and they are different functions: a
    checkpoint trained with one gives slightly different outputs with the other. Unlike ReLU,
    GELU is smooth and lets a small negative output through (minimum about -0.17 at
    x = -0.75), so a unit is never dead for good.

    ``approximate`` must be ``"none"`` or ``"tanh"``: anything else raises ``RuntimeError``
    with torch's message (torch raises it at the first forward pass, here at construction).
    """

    def __init__(self, approximate: str = "none"):
        if approximate not in ("none", "tanh"):
            raise RuntimeError("approximate argument must be either none or tanh.")
        self.approximate = approximate

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        if self.approximate == "tanh":
            self._tanh = np.tanh(_GELU_TANH_SCALE * (x + _GELU_TANH_CUBIC * x**3))
            return 0.5 * x * (1.0 + self._tanh)
        self._cdf = 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))
        return x * self._cdf

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        x = self._x
        if self.approximate == "tanh":
            # the product rule on x/2 * (1 + tanh(u)), in the order torch's kernel computes it
            inner_slope = _GELU_TANH_SCALE * (1.0 + 3.0 * _GELU_TANH_CUBIC * x**2)
            slope = (0.5 * (1.0 + self._tanh)
                     + 0.5 * x * (1.0 - self._tanh**2) * inner_slope)
            return grad_out * slope
        pdf = np.exp(-0.5 * x**2) / math.sqrt(2.0 * math.pi)
        return grad_out * (self._cdf + x * pdf)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """Sigmoid Linear Unit, also called Swish: ``y = x * sigmoid(x)``.

    Proposed as the SiLU by Elfwing et al. 2018 ("Sigmoid-Weighted Linear Units for Neural
    Network Function Approximation in Reinforcement Learning") and found again by an
    automated search as Swish (Ramachandran et al. 2017, "Searching for Activation
    Functions", whose Swish-beta has a slope ``beta`` inside the sigmoid; beta = 1 is SiLU).
    With ``s = sigmoid(x)``::

        dy/dx = s + x * s * (1 - s) = s * (1 + x * (1 - s))

    Like GELU, which it resembles, it is smooth, not monotonic (minimum about -0.28 at
    x = -1.28) and passes a small gradient for negative inputs.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        # (1 + tanh(x/2)) / 2 is the sigmoid without overflow for very negative x
        self._sigmoid = 0.5 * (1.0 + np.tanh(0.5 * x))
        return x * self._sigmoid

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        s = self._sigmoid
        return grad_out * s * (1.0 + self._x * (1.0 - s))


class Softplus(Module):
    """``y = log(1 + exp(beta * x)) / beta``, a smooth ReLU; ``dy/dx = sigmoid(beta * x)``.

    Larger ``beta`` bends it closer to ReLU (``beta -> inf`` gives ``max(x, 0)``); at
    ``x = 0`` it is ``log(2) / beta`` rather than 0. For ``beta * x > threshold`` the layer
    returns ``x`` itself, as torch does: there ``log(1 + exp(beta x)) / beta`` equals ``x``
    up to ``exp(-threshold)`` (2e-9 at the default 20), and ``exp`` would overflow for large
    inputs. The switch makes the function jump by ``log(1 + exp(-threshold)) / beta`` (about
    ``exp(-threshold) / beta``) at the threshold, which a small ``threshold`` (say 1) makes
    visible: the layer is then exactly the identity above it, with slope 1, and has slope
    ``sigmoid(threshold)`` just below it.

    ``beta`` and ``threshold`` must be real numbers (``TypeError`` otherwise, as torch's);
    like torch, ``beta = 0`` is accepted and gives ``inf``.
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        # Python floats: keep the input's dtype (see LeakyReLU)
        self.beta = _real_number(beta, "beta", "Softplus")
        self.threshold = _real_number(threshold, "threshold", "Softplus")

    def forward(self, x: np.ndarray) -> np.ndarray:
        scaled = x * self.beta
        # torch's test: beta x > threshold takes the linear branch (a NaN does not)
        self._linear = scaled > self.threshold
        # exp only where it is used (and below the threshold): no overflow warnings
        self._exp = np.exp(np.where(self._linear, 0.0, scaled))
        with np.errstate(divide="ignore"):  # beta = 0: inf, as torch
            return np.where(self._linear, x, np.log1p(self._exp) / self.beta)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        # exp(bx) / (exp(bx) + 1) = sigmoid(bx), computed as torch's softplus_backward does
        return np.where(self._linear, grad_out, grad_out * self._exp / (self._exp + 1.0))

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


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
