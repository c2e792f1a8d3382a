"""Uniform (affine) quantization from scratch, with torch's arithmetic and torch's qparams.

A real number ``x`` is stored as an integer ``q`` in ``[quant_min, quant_max]`` with a
``scale`` s > 0 and an integer ``zero_point`` z (the integer that stands for 0.0)::

    quantize:    q = clamp(round(x / s) + z, quant_min, quant_max)
    dequantize:  x_hat = (q - z) * s
    fake quantize = dequantize(quantize(x))   (float in, float out: the rounding error only)

``round`` is round-half-to-even (``nearbyint``), and the arithmetic is torch's CPU kernel in
float32: ``x * (1.0f / s)``, rounded, plus z, clamped, then ``(q - z) * s``. NaN and -inf go
to ``quant_min``, +inf to ``quant_max`` (as torch's saturating cast). So
:func:`fake_quantize_per_tensor_affine` and :func:`fake_quantize_per_channel_affine` equal
``torch.fake_quantize_per_tensor_affine`` / ``torch.fake_quantize_per_channel_affine`` bit for
bit on float32 inputs (the cross-check group "compression" tests ties at .5 and values far
outside the range). Per channel, each slice along ``axis`` has its own s and z.

Choosing s and z from a range [lo, hi] (:func:`choose_qparams`, torch's
``MinMaxObserver.calculate_qparams``): the range is first widened to contain 0 (so that 0.0,
padding and ReLU zeros, is exact), then

* **affine** (asymmetric), ``b`` bits unsigned, q in [0, 2^b - 1]:
  ``s = (hi - lo) / (2^b - 1)``, ``z = clamp(quant_min - round(lo / s))``;
* **symmetric**, ``b`` bits signed, q in [-2^(b-1), 2^(b-1) - 1]:
  ``s = max(|lo|, |hi|) / ((2^b - 1) / 2)``, ``z = 0``;

with ``s`` at least float32's machine epsilon. The range comes from calibration data
(:func:`calibration_range`): the min and max (``percentile=100``), or a percentile, which
clips rare outliers so that the grid is finer for the bulk of the values.

Jacob et al., "Quantization and training of neural networks for efficient integer-arithmetic-
only inference", CVPR 2018; Nagel et al., "A white paper on neural network quantization",
arXiv:2106.08295, 2021.
"""

from __future__ import annotations

import copy
import numbers
from typing import Any

import numpy as np

__all__ = [
    "calibration_range",
    "choose_qparams",
    "dequantize",
    "fake_quantize_model",
    "fake_quantize_per_channel_affine",
    "fake_quantize_per_tensor_affine",
    "quant_range",
    "quantize",
]

_EPS32 = np.float32(np.finfo(np.float32).eps)


def quant_range(bits: int, *, symmetric: bool = False) -> tuple[int, int]:
    """``(quant_min, quant_max)`` of ``bits``-bit integers: unsigned ``[0, 2^b - 1]`` for
    affine quantization, signed ``[-2^(b-1), 2^(b-1) - 1]`` for symmetric."""
    if isinstance(bits, bool) or not isinstance(bits, numbers.Integral) or not 1 <= bits <= 16:
        raise ValueError(f"Invalid bits: {bits!r} (an integer from 1 to 16)")
    if symmetric:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def _check_range(quant_min: int, quant_max: int) -> None:
    if quant_min > quant_max:
        raise RuntimeError("`quant_min` should be less than or equal to `quant_max`, got "
                           f"quant_min={quant_min}, quant_max={quant_max}.")


def _check_zero_point(zero_point: np.ndarray, quant_min: int, quant_max: int) -> None:
    if np.any(zero_point < quant_min) or np.any(zero_point > quant_max):
        raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`, got "
                           f"zero_point={zero_point.tolist()} for [{quant_min}, {quant_max}].")


def _check_scale(scale: np.ndarray) -> None:
    # torch does not check; a zero or negative scale gives meaningless numbers there
    if not np.all(scale > 0) or not np.all(np.isfinite(scale)):
        raise ValueError(f"scale must be positive and finite, got scale={scale.tolist()}")


def _broadcast(values: Any, x: np.ndarray, axis: int | None, dtype: type) -> np.ndarray:
    """Per-tensor: a scalar; per-channel: a 1-D array along ``axis``, shaped to broadcast."""
    values = np.asarray(values, dtype=dtype)
    if axis is None:
        return values
    shape = [1] * x.ndim
    shape[axis] = -1
    return values.reshape(shape)


def _check_axis(x: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, axis: int) -> None:
    """torch's checks of fake_quantize_per_channel_affine, with its exception types."""
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"axis must be an int, got {axis!r}")
    if not -x.ndim <= axis < x.ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-x.ndim}, {x.ndim - 1}], but got {axis})")
    if axis < 0:
        raise RuntimeError(f"`axis` must be between 0 and number of dimensions of input, "
                           f"got axis={axis}")
    if scale.shape != (x.shape[axis],) or zero_point.shape != (x.shape[axis],):
        raise RuntimeError("dimensions of scale and zero-point are not consistent with input "
                           f"tensor: scale {scale.shape}, zero_point {zero_point.shape}, "
                           f"input {x.shape} along axis {axis}")


def quantize(x: np.ndarray, scale: Any, zero_point: Any, quant_min: int, quant_max: int, *,
             axis: int | None = None) -> np.ndarray:
    """The integers ``q = clamp(round(x / scale) + zero_point, quant_min, quant_max)``
    (int64), computed as torch does in float32 (see the module docstring). Per tensor,
    ``scale`` and ``zero_point`` are numbers; with ``axis``, 1-D arrays along that axis."""
    _check_range(quant_min, quant_max)
    x = np.asarray(x, dtype=np.float32)
    s = _broadcast(scale, x, axis, np.float32)
    z = _broadcast(zero_point, x, axis, np.int64)
    _check_scale(s)
    _check_zero_point(z, quant_min, quant_max)
    inv_scale = np.float32(1.0) / s  # torch multiplies by the float32 reciprocal
    with np.errstate(invalid="ignore", over="ignore"):
        q = np.rint(x * inv_scale) + z.astype(np.float32)  # rint: halves to even
        q = np.where(np.isnan(q), quant_min, np.clip(q, quant_min, quant_max))
    return q.astype(np.int64)


def dequantize(q: np.ndarray, scale: Any, zero_point: Any, *,
               axis: int | None = None) -> np.ndarray:
    """``(q - zero_point) * scale`` in float32 (per channel along ``axis``, as :func:`quantize`)."""
    q = np.asarray(q, dtype=np.int64)
    s = _broadcast(scale, q, axis, np.float32)
    z = _broadcast(zero_point, q, axis, np.int64)
    return (q - z).astype(np.float32) * s


def fake_quantize_per_tensor_affine(x: np.ndarray, scale: float, zero_point: int,
                                    quant_min: int, quant_max: int) -> np.ndarray:
    """``torch.fake_quantize_per_tensor_affine``: quantize then dequantize, float32 out.

    Raises like torch: ``RuntimeError`` if ``quant_min > quant_max`` or ``zero_point`` is
    outside ``[quant_min, quant_max]``; and ``ValueError`` for a scale that is not positive
    (torch does not check it).
    """
    x = np.asarray(x)
    _check_range(quant_min, quant_max)
    return dequantize(quantize(x, scale, zero_point, quant_min, quant_max), scale, zero_point)


def fake_quantize_per_channel_affine(x: np.ndarray, scale: np.ndarray, zero_point: np.ndarray,
                                     axis: int, quant_min: int, quant_max: int) -> np.ndarray:
    """``torch.fake_quantize_per_channel_affine``: each slice ``x[..., i, ...]`` along
    ``axis`` with its own ``scale[i]`` and integer ``zero_point[i]``; float32 out.

    Raises like torch: ``IndexError`` for an axis outside ``[-ndim, ndim)``, ``RuntimeError``
    for a negative axis (torch accepts only 0 .. ndim-1), for scale / zero_point lengths that
    differ from ``x.shape[axis]``, for ``quant_min > quant_max`` and for a zero point out of
    range. Integer zero points only (torch also takes float ones, with other semantics).
    """
    x = np.asarray(x)
    scale, zero_point = np.asarray(scale), np.asarray(zero_point)
    _check_range(quant_min, quant_max)
    _check_axis(x, scale, zero_point, axis)
    q = quantize(x, scale, zero_point, quant_min, quant_max, axis=axis)
    return dequantize(q, scale, zero_point, axis=axis)


def calibration_range(x: np.ndarray, *, percentile: float = 100.0,
                      axis: int | None = None) -> tuple[Any, Any]:
    """The range ``(lo, hi)`` to quantize ``x`` into: the ``100 - percentile`` and
    ``percentile`` percentiles (``percentile=100``: the min and the max, torch's
    ``MinMaxObserver``). With ``axis``, one range per slice along that axis (arrays)."""
    if not 50.0 < percentile <= 100.0:
        raise ValueError(f"Invalid percentile: {percentile} (in (50, 100])")
    x = np.asarray(x, dtype=np.float64)
    if axis is not None:
        x = np.moveaxis(x, axis, 0).reshape(x.shape[axis], -1)
    over = None if axis is None else 1
    if percentile == 100.0:
        return x.min(axis=over), x.max(axis=over)
    return np.percentile(x, 100.0 - percentile, axis=over), np.percentile(x, percentile, axis=over)


def choose_qparams(lo: Any, hi: Any, *, bits: int = 8,
                   symmetric: bool = False) -> tuple[Any, Any, int, int]:
    """``(scale, zero_point, quant_min, quant_max)`` for the range ``[lo, hi]`` at ``bits``
    bits: torch's ``MinMaxObserver.calculate_qparams`` (float32 arithmetic; see the module
    docstring for the formulas). ``lo`` and ``hi`` may be arrays (one range per channel);
    then scale (float32) and zero_point (int64) are arrays too."""
    quant_min, quant_max = quant_range(bits, symmetric=symmetric)
    lo, hi = np.asarray(lo, dtype=np.float32), np.asarray(hi, dtype=np.float32)
    if np.any(lo > hi):
        raise ValueError(f"Invalid range: lo={lo.tolist()} > hi={hi.tolist()}")
    lo, hi = np.minimum(lo, np.float32(0)), np.maximum(hi, np.float32(0))  # 0.0 stays exact
    if symmetric:
        scale = np.maximum(np.maximum(-lo, hi) / np.float32((quant_max - quant_min) / 2), _EPS32)
        zero_point = np.zeros(scale.shape, dtype=np.int64)
    else:
        scale = np.maximum((hi - lo) / np.float32(quant_max - quant_min), _EPS32)
        zero_point = np.clip(quant_min - np.rint(lo / scale).astype(np.int64),
                             quant_min, quant_max)
    if scale.ndim == 0:
        return np.float32(scale), int(zero_point), quant_min, quant_max
    return scale.astype(np.float32), zero_point, quant_min, quant_max


def fake_quantize_model(model: Any, *, bits: int, symmetric: bool = False,
                        per_channel: bool = False, percentile: float = 100.0) -> Any:
    """A copy of ``model`` with every weight matrix (2-D parameter) fake-quantized:
    post-training quantization of the weights, biases left in float (as
    ``torch.ao.quantization.quantize_dynamic`` does). Per channel means one range per output
    unit (axis 0 of a Linear weight). The model itself is unchanged."""
    quantized = copy.deepcopy(model)
    for param in quantized.parameters():
        if param.ndim != 2:
            continue
        axis = 0 if per_channel else None
        lo, hi = calibration_range(param, percentile=percentile, axis=axis)
        scale, zp, qmin, qmax = choose_qparams(lo, hi, bits=bits, symmetric=symmetric)
        if per_channel:
            fq = fake_quantize_per_channel_affine(param, scale, zp, 0, qmin, qmax)
        else:
            fq = fake_quantize_per_tensor_affine(param, scale, zp, qmin, qmax)
        param[...] = fq
    return quantized
