"""The affine layer ``y = x @ W.T + b``."""

from __future__ import annotations

import math

import numpy as np

from nnopt_lib import checks, init
from nnopt_lib.nn.module import Module, _check_float_dtype, _check_input_dtype, _check_size


class Linear(Module):
    """Affine layer ``y = x @ W.T + b`` with ``W`` of shape ``(out_features, in_features)``.

    The input may have any leading dimensions, ``(*, in_features)``, like torch's (a single
    example ``(in_features,)`` included). Backward, where sums run over every leading
    position because each one uses the same ``W`` and ``b``::

        dL/dx = g @ W          dL/dW = sum_n g[n]^T x[n]          dL/db = sum_n g[n]

    Initialisation is torch's default: ``kaiming_uniform_(W, a=sqrt(5))``, which is
    ``U(-1/sqrt(in), 1/sqrt(in))``, and ``b ~ U(-1/sqrt(in), 1/sqrt(in))`` (``b = 0`` when
    ``in_features = 0``). ``rng`` must be a ``numpy.random.Generator`` so that the weights
    are reproducible.

    ``dtype`` (default ``np.float64``; ``np.float32`` and ``np.float16`` work too) is the
    dtype of the weights, the output and every gradient. The input must already have that
    dtype: a mismatch raises ``RuntimeError``, as in torch, instead of silently computing in
    the wider type (which would hand the optimizer gradients of the wrong precision).
    """

    _parameter_names = ("weight", "bias")

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 rng: np.random.Generator, dtype: np.dtype | type | str = np.float64):
        self.in_features = _check_size(in_features, "in_features", "Linear")
        self.out_features = _check_size(out_features, "out_features", "Linear")
        dtype = _check_float_dtype(dtype, "Linear")
        checks.generator(rng)
        self.weight = np.empty((self.out_features, self.in_features), dtype=dtype)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), rng=rng)
        self.grad_weight = np.zeros_like(self.weight)
        if bias:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            self.bias = rng.uniform(-bound, bound, size=self.out_features).astype(dtype)
            self.grad_bias = np.zeros_like(self.bias)
        else:
            self.bias = None
            self.grad_bias = None
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim == 0:
            raise RuntimeError("Linear: the input must be at least 1-D, (*, in_features); got a "
                               "0-D array")
        if x.shape[-1] != self.in_features:
            raise RuntimeError(
                f"input has {x.shape[-1]} features but Linear expects {self.in_features}"
            )
        _check_input_dtype(x, self.weight.dtype, "Linear")
        self._x = x
        y = x @ self.weight.T
        if self.bias is not None:
            y += self.bias  # in place: saves one temporary array per call
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_out = np.asarray(grad_out, dtype=self.weight.dtype)
        # (N, *, out) -> (positions, out): a view for the usual 2-D case, no copy. The count
        # is explicit because reshape(-1, 0) is ambiguous for a zero-width layer.
        positions = math.prod(self._x.shape[:-1])
        flat_grad = grad_out.reshape(positions, self.out_features)
        self.grad_weight = flat_grad.T @ self._x.reshape(positions, self.in_features)
        if self.bias is not None:
            self.grad_bias = flat_grad.sum(axis=0)
        return grad_out @ self.weight

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
