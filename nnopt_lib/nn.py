"""Tiny neural-network layers with hand-written backpropagation (numpy, float64).

Each module mirrors its ``torch.nn`` namesake (names, defaults, parameter shapes), so the
same weights give the same outputs and gradients -- ``tests/test_nn.py`` checks every
backward pass against ``torch.autograd``.

The protocol is deliberately small:

* ``forward(x)`` computes the output and caches what the backward pass needs;
  ``module(x)`` is the same call.
* ``backward(grad_out)`` takes ``dL/d(output)`` and returns ``dL/d(input)``; layers with
  parameters also store ``dL/d(parameter)``. Gradients are *overwritten* by each backward
  call (no accumulation, so there is no ``zero_grad``): ``forward`` -> ``backward`` ->
  ``gradients()`` always gives the gradient of the last minibatch loss.
* ``parameters()`` and ``gradients()`` return lists of arrays in the same order; an
  optimizer from :mod:`nnopt_lib.optim` updates the parameter arrays in place with
  ``optimizer.step(model.gradients())``.
* ``train()`` / ``eval()`` switch Dropout and BatchNorm between their two behaviours.

Notation in the docstrings: ``x`` is the input of shape ``(N, in)``, ``y`` the output,
``g = dL/dy`` the incoming gradient, and products are elementwise unless written ``@``.
"""

from __future__ import annotations

import math

import numpy as np

from nnopt_lib import init

__all__ = [
    "Module",
    "Linear",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "GELU",
    "Sigmoid",
    "Tanh",
    "Dropout",
    "BatchNorm1d",
    "Sequential",
    "CrossEntropyLoss",
    "MSELoss",
]


class Module:
    """Base class: no parameters, train/eval flag, ``module(x) == module.forward(x)``."""

    training: bool = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def parameters(self) -> list[np.ndarray]:
        return []

    def gradients(self) -> list[np.ndarray]:
        return []

    def train(self, mode: bool = True) -> Module:
        self.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


# --------------------------------------------------------------------------- layers


class Linear(Module):
    """Affine layer ``y = x @ W.T + b`` with ``W`` of shape ``(out_features, in_features)``.

    Backward (sums over the batch because every example uses the same ``W`` and ``b``)::

        dL/dx = g @ W          dL/dW = g.T @ x          dL/db = sum_n g[n]

    Initialisation is torch's default: ``kaiming_uniform_(W, a=sqrt(5))``, which is
    ``U(-1/sqrt(in), 1/sqrt(in))``, and ``b ~ U(-1/sqrt(in), 1/sqrt(in))``. Pass your own
    ``numpy.random.Generator`` as ``rng`` so that the weights are reproducible.
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, *, rng: np.random.Generator
    ):
        self.in_features = in_features
        self.out_features = out_features
        self.weight = np.empty((out_features, in_features))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        self.grad_weight = np.zeros_like(self.weight)
        if bias:
            bound = 1 / math.sqrt(in_features) if in_features > 0 else 0.0
            self.bias = rng.uniform(-bound, bound, size=out_features)
            self.grad_bias = np.zeros_like(self.bias)
        else:
            self.bias = None
            self.grad_bias = None
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.shape[-1] != self.in_features:
            raise RuntimeError(
                f"input has {x.shape[-1]} features but Linear expects {self.in_features}"
            )
        self._x = x
        y = x @ self.weight.T
        if self.bias is not None:
            y += self.bias  # in place: saves one temporary array per call
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        self.grad_weight = grad_out.T @ self._x
        if self.bias is not None:
            self.grad_bias = grad_out.sum(axis=0)
        return grad_out @ self.weight

    def parameters(self) -> list[np.ndarray]:
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def gradients(self) -> list[np.ndarray]:
        return [self.grad_weight] if self.bias is None else [self.grad_weight, self.grad_bias]

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class ReLU(Module):
    """``y = max(x, 0)``; ``dy/dx = 1 if x > 0 else 0`` (0 at x = 0, like torch).

    A unit whose input is negative for every example gets no gradient at all: a "dead"
    unit. That, not vanishing gradients, is ReLU's failure mode.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._positive = x > 0
        return np.maximum(x, 0.0)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self._positive


class LeakyReLU(Module):
    """``y = x if x > 0 else negative_slope * x``; ``dy/dx = 1 or negative_slope``.

    The small negative slope keeps a gradient flowing through units that would be dead
    under ReLU (Maas et al. 2013, "Rectifier nonlinearities improve neural network
    acoustic models").
    """

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = negative_slope

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
    """

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._positive = x > 0
        # exp only of the non-positive part: exp(large x) would overflow and is unused
        negative_part = np.minimum(x, 0.0)
        self._exp = np.exp(negative_part)
        return np.where(self._positive, x, self.alpha * np.expm1(negative_part))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return np.where(self._positive, grad_out, grad_out * self.alpha * self._exp)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


def _erf(x: np.ndarray) -> np.ndarray:
    """Elementwise error function via the C library's ``math.erf`` (full double accuracy).

    numpy has no erf and scipy is not a dependency; mapping the scalar function is a few
    times slower than a numpy ufunc, which is fine for a teaching layer.
    """
    flat = np.fromiter(map(math.erf, x.ravel().tolist()), dtype=np.float64, count=x.size)
    return flat.reshape(x.shape)


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


class Dropout(Module):
    """Inverted dropout (Srivastava et al. 2014, "Dropout: A Simple Way to Prevent Neural
    Networks from Overfitting").

    Training: each element is kept with probability ``1 - p`` and scaled by ``1 / (1 - p)``,
    ``y = x * m / (1 - p)`` with ``m ~ Bernoulli(1 - p)``, so ``E[y] = x``; then
    ``dL/dx = g * m / (1 - p)``. Evaluation: ``y = x`` (the identity) -- no rescaling is
    needed at test time because it already happened during training.
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator):
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.rng = rng
        self._scale_mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0:
            self._scale_mask = None
            return x
        keep = self.rng.random(x.shape) >= self.p
        # p == 1 drops everything; torch returns zeros instead of 0 * inf = nan
        scale = 0.0 if self.p == 1 else 1.0 / (1.0 - self.p)
        self._scale_mask = keep * scale
        return x * self._scale_mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out if self._scale_mask is None else grad_out * self._scale_mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm1d(Module):
    """Batch normalisation over the batch axis of ``(N, C)`` inputs (Ioffe & Szegedy 2015,
    "Batch Normalization: Accelerating Deep Network Training by Reducing Internal
    Covariate Shift").

    Training, per feature: ``mu = mean(x)``, ``var = mean((x - mu)^2)`` (biased),
    ``xhat = (x - mu) / sqrt(var + eps)``, ``y = weight * xhat + bias``. The running
    statistics are exponential moving averages, with the *unbiased* variance like torch::

        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var  = (1 - momentum) * running_var  + momentum * var * N / (N - 1)

    (``momentum=None`` uses the cumulative average ``1 / num_batches_tracked`` instead.)
    Evaluation normalises with the running statistics, so the output of one example no
    longer depends on the rest of the batch.

    Backward in training mode, with ``d = g * weight`` and means over the batch: because
    ``mu`` and ``var`` depend on every ``x[n]``,
    ``dL/dx = (d - mean(d) - xhat * mean(d * xhat)) / sqrt(var + eps)``;
    ``dL/dweight = sum(g * xhat)``, ``dL/dbias = sum(g)``. In evaluation mode the
    statistics are constants and ``dL/dx = d / sqrt(running_var + eps)``.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1):
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = np.ones(num_features)
        self.bias = np.zeros(num_features)
        self.grad_weight = np.zeros(num_features)
        self.grad_bias = np.zeros(num_features)
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        self.num_batches_tracked = 0

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2:
            raise ValueError(f"expected 2D input (got {x.ndim}D input)")
        n = x.shape[0]
        if self.training:
            if n < 2:
                raise ValueError(
                    "Expected more than 1 value per channel when training, "
                    f"got input size {x.shape}"
                )
            mean = x.mean(axis=0)
            centred = x - mean
            var = np.mean(centred**2, axis=0)
            self.num_batches_tracked += 1
            factor = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
            self.running_mean[...] = (1 - factor) * self.running_mean + factor * mean
            self.running_var[...] = (1 - factor) * self.running_var + factor * var * n / (n - 1)
        else:
            centred = x - self.running_mean
            var = self.running_var
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self._xhat = centred * self._inv_std
        self._normalised_in_training = self.training
        return self._xhat * self.weight + self.bias

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        self.grad_weight = np.sum(grad_out * self._xhat, axis=0)
        self.grad_bias = grad_out.sum(axis=0)
        d = grad_out * self.weight
        if not self._normalised_in_training:
            return d * self._inv_std
        return self._inv_std * (d - d.mean(axis=0) - self._xhat * np.mean(d * self._xhat, axis=0))

    def parameters(self) -> list[np.ndarray]:
        return [self.weight, self.bias]

    def gradients(self) -> list[np.ndarray]:
        return [self.grad_weight, self.grad_bias]

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class Sequential(Module):
    """Chain of modules: forward runs them in order, backward in reverse (the chain rule).

    ``parameters()`` / ``gradients()`` concatenate the layers' lists in layer order.
    """

    def __init__(self, *layers: Module):
        self.layers = list(layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def parameters(self) -> list[np.ndarray]:
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self) -> list[np.ndarray]:
        return [g for layer in self.layers for g in layer.gradients()]

    def train(self, mode: bool = True) -> Sequential:
        self.training = mode
        for layer in self.layers:
            layer.train(mode)
        return self

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        lines = [f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"


# --------------------------------------------------------------------------- losses


class CrossEntropyLoss:
    """Softmax cross-entropy from logits with integer labels, averaged over the batch.

    ``L = mean_n [ logsumexp(z[n]) - z[n, y[n]] ]``. The log-sum-exp is computed after
    subtracting the row maximum, ``logsumexp(z) = m + log(sum(exp(z - m)))``, so logits of
    size 1e4 neither overflow nor lose the answer. Gradient:
    ``dL/dz = (softmax(z) - onehot(y)) / N``.
    """

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        target = np.asarray(target)
        if not np.issubdtype(target.dtype, np.integer):
            raise RuntimeError(
                f"expected target dtype to be an integer type (class labels), but got "
                f"{target.dtype}"
            )
        n, num_classes = logits.shape
        if target.shape != (n,):
            raise ValueError(f"Expected target of shape ({n},), got {target.shape}")
        if target.min() < 0 or target.max() >= num_classes:
            bad = target[(target < 0) | (target >= num_classes)][0]
            raise IndexError(f"Target {bad} is out of bounds.")
        rows = np.arange(n)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sum_exp = exp.sum(axis=1)
        self._probs = exp / sum_exp[:, None]
        self._rows, self._target = rows, target
        return float(np.mean(np.log(sum_exp) - shifted[rows, target]))

    def backward(self) -> np.ndarray:
        grad = self._probs.copy()
        grad[self._rows, self._target] -= 1.0
        grad /= len(self._target)
        return grad

    __call__ = forward

    def __repr__(self) -> str:
        return "CrossEntropyLoss()"


class MSELoss:
    """Mean squared error ``L = mean((pred - target)^2)``; ``dL/dpred = 2 (pred - target) / size``.

    Unlike torch, which only warns, a shape mismatch raises ``ValueError``: broadcasting a
    ``(N, 1)`` prediction against an ``(N,)`` target silently builds an ``(N, N)`` matrix
    and trains on the wrong loss.
    """

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        target = np.asarray(target)
        if pred.shape != target.shape:
            raise ValueError(
                f"target shape {target.shape} differs from prediction shape {pred.shape}; "
                "reshape one of them (e.g. y[:, None]) so they match"
            )
        self._diff = pred - target
        return float(np.mean(self._diff**2))

    def backward(self) -> np.ndarray:
        return (2.0 / self._diff.size) * self._diff

    __call__ = forward

    def __repr__(self) -> str:
        return "MSELoss()"
