"""Weight initialisers, shaped like ``torch.nn.init`` but filling numpy arrays in place.

Why initialisation matters for optimisation: if every layer multiplies the variance of
its input by a factor ``c``, after ``L`` layers the signal (and, going backwards, the
gradient) is scaled by ``c**L`` -- it explodes or vanishes. The initialisers below pick the
weight variance so that ``c`` is about 1.

Fans. For a weight of shape ``(out, in)`` (a ``Linear`` layer) ``fan_in = in`` and
``fan_out = out``. For a convolution kernel ``(out, in, k1, k2, ...)`` both are multiplied
by the receptive field size ``k1*k2*...``, exactly as torch does.

Formulas (``gain`` from :func:`calculate_gain`):

* Xavier/Glorot (Glorot & Bengio 2010, "Understanding the difficulty of training deep
  feedforward neural networks"): keep the variance of activations *and* of gradients,
  ``Var(w) = gain^2 * 2 / (fan_in + fan_out)``.
  Uniform: ``U(-a, a)`` with ``a = gain * sqrt(6 / (fan_in + fan_out))``.
  Normal:  ``N(0, std^2)`` with ``std = gain * sqrt(2 / (fan_in + fan_out))``.
* Kaiming/He (He et al. 2015, "Delving Deep into Rectifiers"): a ReLU zeroes half of its
  input, so ``Var(w) = gain^2 / fan`` with ``gain = sqrt(2)`` for ReLU.
  Normal:  ``std = gain / sqrt(fan)`` (He normal for ReLU: ``sqrt(2 / fan_in)``).
  Uniform: ``U(-b, b)`` with ``b = sqrt(3) * gain / sqrt(fan)`` (same variance).

Note: He initialisation is *not* ``sqrt(2 / (n_in + n_out))`` -- that mixes the Xavier
denominator with the He numerator.

Every initialiser takes an explicit ``rng: numpy.random.Generator`` so that results are
reproducible, fills the array in place and returns it (like torch's trailing-underscore
functions).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "calculate_gain",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "zeros_",
]

_LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Recommended gain for a nonlinearity (torch's table).

    ============================  ==========================================
    linear, conv*, sigmoid        1
    tanh                          5/3
    relu                          sqrt(2)
    leaky_relu                    sqrt(2 / (1 + negative_slope^2)), slope = ``param`` or 0.01
    selu                          3/4
    ============================  ==========================================

    Raises ``ValueError`` for an unknown nonlinearity or a non-numeric ``param``.
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif isinstance(param, int | float) and not isinstance(param, bool):
            # bool is a subclass of int; torch rejects it, so do we
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        # Found empirically by the torch developers (pytorch PR 50664).
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(array: np.ndarray) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``."""
    if array.ndim < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive_field_size = math.prod(array.shape[2:])  # 1 for a 2-D weight
    return array.shape[1] * receptive_field_size, array.shape[0] * receptive_field_size


def _calculate_correct_fan(array: np.ndarray, mode: str) -> int:
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(array)
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(
    array: np.ndarray, gain: float = 1.0, *, rng: np.random.Generator
) -> np.ndarray:
    """Fill ``array`` with ``U(-a, a)``, ``a = gain * sqrt(6 / (fan_in + fan_out))``. In place."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(array)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    array[...] = rng.uniform(-a, a, size=array.shape)
    return array


def xavier_normal_(array: np.ndarray, gain: float = 1.0, *, rng: np.random.Generator) -> np.ndarray:
    """Fill ``array`` with ``N(0, std^2)``, ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(array)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    array[...] = rng.normal(0.0, std, size=array.shape)
    return array


def kaiming_uniform_(
    array: np.ndarray,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    rng: np.random.Generator,
) -> np.ndarray:
    """Fill ``array`` with ``U(-b, b)``, ``b = sqrt(3) * gain / sqrt(fan)``. In place.

    ``a`` is the negative slope of the leaky ReLU that follows (only used when
    ``nonlinearity="leaky_relu"``; ``a=0`` gives plain ReLU's ``gain = sqrt(2)``).
    ``mode="fan_in"`` preserves the forward variance, ``"fan_out"`` the backward one.
    torch's ``nn.Linear`` uses ``a=sqrt(5)``, i.e. ``b = 1 / sqrt(fan_in)``.
    """
    fan = _calculate_correct_fan(array, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std  # U(-b, b) has variance b^2 / 3
    array[...] = rng.uniform(-bound, bound, size=array.shape)
    return array


def kaiming_normal_(
    array: np.ndarray,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    rng: np.random.Generator,
) -> np.ndarray:
    """Fill ``array`` with ``N(0, std^2)``, ``std = gain / sqrt(fan)``. In place.

    He normal for ReLU (``a=0``, ``mode="fan_in"``): ``std = sqrt(2 / fan_in)``.
    """
    fan = _calculate_correct_fan(array, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    array[...] = rng.normal(0.0, std, size=array.shape)
    return array


def zeros_(array: np.ndarray) -> np.ndarray:
    """Fill ``array`` with zeros, in place (biases are usually started at zero)."""
    array[...] = 0.0
    return array
