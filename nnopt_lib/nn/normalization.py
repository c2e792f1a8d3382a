"""Batch normalisation of ``(N, C)`` inputs."""

from __future__ import annotations

import math
import numbers

import numpy as np

from nnopt_lib.nn.module import Module, _check_float_dtype, _check_input_dtype, _check_size


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

    State dict keys, as torch's: ``weight``, ``bias`` (parameters), ``running_mean``,
    ``running_var`` and ``num_batches_tracked`` (buffers; the counter is a 0-d int64 array).

    ``dtype`` (default ``np.float64``) is the dtype of the parameters, buffers, output and
    gradients; the input must have it (``RuntimeError`` otherwise, as in torch). float16
    statistics are computed in float32 and rounded back, as torch does on the CPU: a
    float16 sum over a batch loses too many digits.

    Checks: ``num_features`` an integer >= 0; ``eps`` a finite number > 0 and ``momentum``
    ``None`` or in ``[0, 1]`` (``ValueError``). torch accepts a bad ``eps`` until the first
    forward pass and any ``momentum``, which turns the running statistics into nonsense.
    """

    _parameter_names = ("weight", "bias")
    _buffer_names = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, *,
                 dtype: np.dtype | type | str = np.float64):
        self.num_features = _check_size(num_features, "num_features", "BatchNorm1d")
        if not isinstance(eps, numbers.Real) or not (eps > 0 and math.isfinite(eps)):
            raise ValueError(f"BatchNorm1d: eps must be a finite number > 0, got {eps!r}")
        if momentum is not None and (not isinstance(momentum, numbers.Real)
                                     or not 0 <= momentum <= 1):
            raise ValueError(f"BatchNorm1d: momentum must be None or a number in [0, 1], "
                             f"got {momentum!r}")
        dtype = _check_float_dtype(dtype, "BatchNorm1d")
        self.eps = eps
        self.momentum = momentum
        self.weight = np.ones(self.num_features, dtype=dtype)
        self.bias = np.zeros(self.num_features, dtype=dtype)
        self.grad_weight = np.zeros_like(self.weight)
        self.grad_bias = np.zeros_like(self.bias)
        self.running_mean = np.zeros(self.num_features, dtype=dtype)
        self.running_var = np.ones(self.num_features, dtype=dtype)
        # a 0-d array, not an int: load_state_dict copies into it in place, like the others
        self.num_batches_tracked = np.array(0, dtype=np.int64)
        # float16 statistics are accumulated in float32 (see the class docstring)
        self._compute_dtype = np.promote_types(dtype, np.float32)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(f"expected 2D input (got {x.ndim}D input)")
        if x.shape[1] != self.num_features:
            raise RuntimeError(f"running_mean should contain {x.shape[1]} elements not "
                               f"{self.num_features}")
        _check_input_dtype(x, self.weight.dtype, "BatchNorm1d")
        dtype = self.weight.dtype
        x = x.astype(self._compute_dtype, copy=False)
        n = x.shape[0]
        self._normalised_in_training = self.training
        if self.training and n == 0:
            # torch: an empty batch counts as a batch but leaves the statistics alone
            self.num_batches_tracked += 1
            self._xhat = x
            return x.astype(dtype)
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
            var = self.running_var.astype(self._compute_dtype, copy=False)
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self._xhat = centred * self._inv_std
        return (self._xhat * self.weight + self.bias).astype(dtype, copy=False)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        dtype = self.weight.dtype
        grad_out = np.asarray(grad_out).astype(self._compute_dtype, copy=False)
        self.grad_weight = np.sum(grad_out * self._xhat, axis=0).astype(dtype, copy=False)
        self.grad_bias = grad_out.sum(axis=0).astype(dtype, copy=False)
        if len(grad_out) == 0:
            return grad_out.astype(dtype)
        d = grad_out * self.weight
        if not self._normalised_in_training:
            grad_in = d * self._inv_std
        else:
            grad_in = self._inv_std * (
                d - d.mean(axis=0) - self._xhat * np.mean(d * self._xhat, axis=0))
        return grad_in.astype(dtype, copy=False)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
