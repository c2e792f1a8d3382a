"""Normalisation layers: batch normalisation of ``(N, C)`` inputs and layer normalisation."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from nnopt_lib.nn.module import Module, _check_float_dtype, _check_input_dtype, _check_size


def _check_eps(eps: object, owner: str) -> float:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not (
            eps > 0 and math.isfinite(eps)):
        raise ValueError(f"{owner}: eps must be a finite number > 0, got {eps!r}")
    return eps


def _check_switch(value: object, name: str, owner: str) -> bool:
    """A yes/no argument: a bool (numpy's included). torch takes anything truthy, but
    ``affine="False"`` (a non-empty string, so true) is a slip worth an error."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{owner}: {name} must be True or False, got {type(value).__name__} "
                        f"{value!r}")
    return bool(value)


def _normalised_gradient(d: np.ndarray, xhat: np.ndarray, inv_std: np.ndarray,
                         axis: int | tuple[int, ...]) -> np.ndarray:
    """``dL/dx`` of ``xhat = (x - mean(x)) / sqrt(var(x) + eps)`` given ``d = dL/dxhat``.

    The mean and the (biased) variance are taken over ``axis`` and depend on every ``x`` they
    average, hence the two correction terms::

        dL/dx = (d - mean(d) - xhat * mean(d * xhat)) / sqrt(var + eps)

    BatchNorm averages over the batch (axis 0), LayerNorm over the features of one example.
    """
    return inv_std * (d - d.mean(axis=axis, keepdims=True)
                      - xhat * np.mean(d * xhat, axis=axis, keepdims=True))


class BatchNorm1d(Module):
    """Batch normalisation over the batch axis of ``(N, C)`` inputs (Ioffe & Szegedy 2015,
    "Batch Normalization: Accelerating Deep Network Training by Reducing Internal
    Covariate Shift").

    Training, per feature: ``mu = mean(x)``, ``var = mean((x - mu)^2)`` (biased),
    ``xhat = (x - mu) / sqrt(var + eps)``, ``y = weight * xhat + bias``. The running
    statistics are exponential moving averages, with the *unbiased* variance like torch::

        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var  = (1 - momentum) * running_var  + momentum * var * N / (N - 1)

    (``momentum=None`` uses the cumulative average ``1 / num_batches_tracked`` instead: after
    ``k`` batches the running statistics are the plain means of the ``k`` batch statistics.)
    Evaluation normalises with the running statistics, so the output of one example no
    longer depends on the rest of the batch.

    Backward in training mode, with ``d = g * weight`` and means over the batch: because
    ``mu`` and ``var`` depend on every ``x[n]``,
    ``dL/dx = (d - mean(d) - xhat * mean(d * xhat)) / sqrt(var + eps)``;
    ``dL/dweight = sum(g * xhat)``, ``dL/dbias = sum(g)``. In evaluation mode the
    statistics are constants and ``dL/dx = d / sqrt(running_var + eps)``.

    Switches, as torch's:

    * ``affine=False``: no ``weight`` and ``bias`` (``y = xhat``; both attributes are
      ``None``, and the layer has no parameters). ``bias=False`` (keyword-only, new in torch
      2.13): a ``weight`` but no ``bias``.
    * ``track_running_stats=False``: no running statistics at all (``running_mean``,
      ``running_var`` and ``num_batches_tracked`` are ``None``), and the layer normalises
      with the statistics of the batch in evaluation mode too -- so it then needs more than
      one example per batch in both modes.

    State dict keys, as torch's: ``weight``, ``bias`` (parameters), ``running_mean``,
    ``running_var`` and ``num_batches_tracked`` (buffers; the counter is a 0-d int64 array),
    each only where the switches keep it.

    ``dtype`` (default ``np.float64``) is the dtype of the parameters, buffers, output and
    gradients; the input must have it (``RuntimeError`` otherwise, as in torch). float16
    statistics are computed in float32 and rounded back, as torch does on the CPU: a
    float16 sum over a batch loses too many digits.

    Checks: ``num_features`` an integer >= 0; ``eps`` a finite number > 0 and ``momentum``
    ``None`` or in ``[0, 1]`` (``ValueError``); the switches ``True`` or ``False``
    (``TypeError``). torch accepts a bad ``eps`` until the first forward pass and any
    ``momentum``, which turns the running statistics into nonsense.
    """

    _parameter_names = ("weight", "bias")
    _buffer_names = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *, bias: bool = True,
                 dtype: np.dtype | type | str = np.float64):
        owner = "BatchNorm1d"
        self.num_features = _check_size(num_features, "num_features", owner)
        self.eps = _check_eps(eps, owner)
        if momentum is not None and (isinstance(momentum, bool)
                                     or not isinstance(momentum, numbers.Real)
                                     or not 0 <= momentum <= 1):
            raise ValueError(f"BatchNorm1d: momentum must be None or a number in [0, 1], "
                             f"got {momentum!r}")
        self.momentum = momentum
        self.affine = _check_switch(affine, "affine", owner)
        self.track_running_stats = _check_switch(track_running_stats, "track_running_stats",
                                                 owner)
        bias = _check_switch(bias, "bias", owner)
        dtype = _check_float_dtype(dtype, owner)
        self._dtype = dtype
        self.weight = np.ones(self.num_features, dtype=dtype) if self.affine else None
        self.bias = np.zeros(self.num_features, dtype=dtype) if self.affine and bias else None
        self.grad_weight = None if self.weight is None else np.zeros_like(self.weight)
        self.grad_bias = None if self.bias is None else np.zeros_like(self.bias)
        if self.track_running_stats:
            self.running_mean = np.zeros(self.num_features, dtype=dtype)
            self.running_var = np.ones(self.num_features, dtype=dtype)
            # a 0-d array, not an int: load_state_dict copies into it in place, like the others
            self.num_batches_tracked = np.array(0, dtype=np.int64)
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None
        # float16 statistics are accumulated in float32 (see the class docstring)
        self._compute_dtype = np.promote_types(dtype, np.float32)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(f"expected 2D input (got {x.ndim}D input)")
        if x.shape[1] != self.num_features:
            raise RuntimeError(f"running_mean should contain {x.shape[1]} elements not "
                               f"{self.num_features}")
        dtype = self._dtype
        _check_input_dtype(x, dtype, "BatchNorm1d")
        x = x.astype(self._compute_dtype, copy=False)
        n = x.shape[0]
        # torch: batch statistics in training, and in evaluation when nothing was tracked
        batch_stats = self.training or not self.track_running_stats
        update = self.training and self.track_running_stats
        self._normalised_with_batch = batch_stats
        if batch_stats and n == 0:
            # torch: an empty batch counts as a batch but leaves the statistics alone
            if update:
                self.num_batches_tracked += 1
            self._xhat = x
            return x.astype(dtype)
        if batch_stats:
            if n < 2:
                raise ValueError(
                    "Expected more than 1 value per channel when training, "
                    f"got input size {x.shape}"
                )
            mean = x.mean(axis=0)
            centred = x - mean
            var = np.mean(centred**2, axis=0)
            if update:
                self.num_batches_tracked += 1
                factor = (1.0 / self.num_batches_tracked if self.momentum is None
                          else self.momentum)
                self.running_mean[...] = (1 - factor) * self.running_mean + factor * mean
                self.running_var[...] = ((1 - factor) * self.running_var
                                         + factor * var * n / (n - 1))
        else:
            centred = x - self.running_mean
            var = self.running_var.astype(self._compute_dtype, copy=False)
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self._xhat = centred * self._inv_std
        y = self._xhat if self.weight is None else self._xhat * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y.astype(dtype, copy=False)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        dtype = self._dtype
        grad_out = np.asarray(grad_out).astype(self._compute_dtype, copy=False)
        if self.weight is not None:
            self.grad_weight = np.sum(grad_out * self._xhat, axis=0).astype(dtype, copy=False)
        if self.bias is not None:
            self.grad_bias = grad_out.sum(axis=0).astype(dtype, copy=False)
        if len(grad_out) == 0:
            return grad_out.astype(dtype)
        d = grad_out if self.weight is None else grad_out * self.weight
        if self._normalised_with_batch:
            grad_in = _normalised_gradient(d, self._xhat, self._inv_std, axis=0)
        else:
            grad_in = d * self._inv_std
        return grad_in.astype(dtype, copy=False)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class LayerNorm(Module):
    """Layer normalisation (Ba, Kiros & Hinton 2016, "Layer Normalization"): each example is
    normalised over its own features, the last ``len(normalized_shape)`` axes.

    For an input of shape ``(*, *normalized_shape)``, with means over the normalised axes of
    one example (``M`` numbers)::

        mu = mean(x),  var = mean((x - mu)^2)  (biased),  xhat = (x - mu) / sqrt(var + eps)
        y = weight * xhat + bias              (weight, bias of shape normalized_shape)

    Backward, with ``d = g * weight``: ``dL/dx = (d - mean(d) - xhat * mean(d * xhat)) /
    sqrt(var + eps)`` (the BatchNorm formula, with the means taken over the features instead
    of the batch); ``dL/dweight`` and ``dL/dbias`` sum ``g * xhat`` and ``g`` over every
    leading position.

    The contrast with :class:`BatchNorm1d`: no statistic is shared between examples, so
    the layer is the same function in training and evaluation mode, works for a batch of
    one, keeps no running statistics and has no buffers. Transformers use it for that reason.

    ``normalized_shape`` is an int or a tuple of ints (torch's); ``elementwise_affine=False``
    gives no parameters (``weight`` and ``bias`` are ``None``), ``bias=False`` a ``weight``
    only. State dict keys as torch's: ``weight``, ``bias``, where they exist. ``dtype`` as
    for :class:`BatchNorm1d` (float16 is normalised in float32). An input whose trailing
    shape is not ``normalized_shape`` raises torch's ``RuntimeError``. ``eps`` must be a
    finite number > 0 (``ValueError``; torch takes any float and returns NaN for a constant
    row when ``eps <= 0``).
    """

    _parameter_names = ("weight", "bias")

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, *,
                 dtype: np.dtype | type | str = np.float64):
        owner = "LayerNorm"
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        if isinstance(normalized_shape, str | bytes) or not isinstance(
                normalized_shape, Sequence | np.ndarray):
            raise TypeError(f"LayerNorm: normalized_shape must be an int or a tuple of ints, "
                            f"got {type(normalized_shape).__name__} {normalized_shape!r}")
        self.normalized_shape = tuple(_check_size(size, "normalized_shape", owner)
                                      for size in normalized_shape)
        self.eps = _check_eps(eps, owner)
        self.elementwise_affine = _check_switch(elementwise_affine, "elementwise_affine", owner)
        bias = _check_switch(bias, "bias", owner)
        dtype = _check_float_dtype(dtype, owner)
        self._dtype = dtype
        affine = self.elementwise_affine
        self.weight = np.ones(self.normalized_shape, dtype=dtype) if affine else None
        self.bias = np.zeros(self.normalized_shape, dtype=dtype) if affine and bias else None
        self.grad_weight = None if self.weight is None else np.zeros_like(self.weight)
        self.grad_bias = None if self.bias is None else np.zeros_like(self.bias)
        self._compute_dtype = np.promote_types(dtype, np.float32)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k:] != self.normalized_shape:
            expected = ", ".join(map(str, self.normalized_shape))
            raise RuntimeError(
                f"Given normalized_shape=[{expected}], expected input with shape "
                f"[*, {expected}], but got input of size{list(x.shape)}")
        _check_input_dtype(x, self._dtype, "LayerNorm")
        x = x.astype(self._compute_dtype, copy=False)
        self._axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(axis=self._axes, keepdims=True)
        centred = x - mean
        var = np.mean(centred**2, axis=self._axes, keepdims=True)
        self._inv_std = 1.0 / np.sqrt(var + self.eps)
        self._xhat = centred * self._inv_std
        y = self._xhat if self.weight is None else self._xhat * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y.astype(self._dtype, copy=False)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        dtype = self._dtype
        grad_out = np.asarray(grad_out).astype(self._compute_dtype, copy=False)
        leading = tuple(range(grad_out.ndim - len(self.normalized_shape)))
        if self.weight is not None:
            self.grad_weight = np.sum(grad_out * self._xhat, axis=leading).astype(dtype)
        if self.bias is not None:
            self.grad_bias = grad_out.sum(axis=leading).astype(dtype)
        if grad_out.size == 0:
            return grad_out.astype(dtype)
        d = grad_out if self.weight is None else grad_out * self.weight
        return _normalised_gradient(d, self._xhat, self._inv_std, self._axes).astype(dtype)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")
