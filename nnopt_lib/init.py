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
functions). Bad input is refused as torch refuses it: an integer or boolean array cannot hold
random weights (``NotImplementedError``, where filling it would silently round every weight
to 0), the Kaiming initialisers warn that a zero-element array is left as it is, and a
``gain`` (or Kaiming ``a``) that makes the bound or the standard deviation NaN or negative
raises ``RuntimeError`` naming that argument (torch raises ``RuntimeError`` from its samplers).
"""

from __future__ import annotations

import math
import sys
import warnings

import numpy as np

from nnopt_lib import checks

__all__ = [
    "calculate_gain",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "zeros_",
]


def _require_float_array(array: object, function: str) -> np.ndarray:
    """``array`` if it is a floating-point numpy array that can take random weights.

    torch raises ``NotImplementedError`` for integer and boolean tensors; numpy would
    silently round every sample to 0 (or True), which is worse.
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{function}: expected a numpy array, got {type(array).__name__}")
    if array.dtype.kind != "f":
        raise NotImplementedError(
            f"{function}: cannot fill an array of dtype {array.dtype} with random weights "
            "(they would all round to 0); use a floating-point array, e.g. np.empty(shape)"
        )
    return array


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


#: The widest uniform bound: the interval's width, 2 * bound, must stay a finite float.
_LARGEST_BOUND = sys.float_info.max / 2


def _fill_uniform(array: np.ndarray, bound: float, rng: np.random.Generator, *,
                  function: str, argument: str, allowed: str) -> None:
    """``array[...] = U(-bound, bound)``, or ``RuntimeError`` when ``bound`` is NaN, negative
    or so large that the width of the interval overflows.

    torch's sampler refuses such a bound with a ``RuntimeError`` too; numpy's would raise
    ``OverflowError`` or "high - low < 0", which name neither the function nor the argument.
    The message names ``argument`` (e.g. ``"gain=-1.0"``), the caller's input that set the
    bound, and what it is ``allowed`` to be.
    """
    if not 0 <= bound <= _LARGEST_BOUND:  # also False for NaN
        raise RuntimeError(f"{function}: {argument} gives the uniform bound {bound}, but the "
                           f"bound must be in [0, {_LARGEST_BOUND:.3g}]; {allowed}")
    array[...] = rng.uniform(-bound, bound, size=array.shape)


def _fill_normal(array: np.ndarray, std: float, rng: np.random.Generator, *,
                 function: str, argument: str, allowed: str) -> None:
    """``array[...] = N(0, std^2)``, or ``RuntimeError`` when ``std`` is NaN or negative,
    like torch's "normal expects std >= 0.0" (numpy would fill NaN without a word)."""
    if not std >= 0:  # also catches NaN
        raise RuntimeError(f"{function}: {argument} gives the standard deviation {std}, but "
                           f"it must be >= 0; {allowed}")
    array[...] = rng.normal(0.0, std, size=array.shape)


#: What the message of a refused gain or negative slope says is allowed.
_GAIN_ALLOWED = "gain must be a finite number >= 0, usually calculate_gain(nonlinearity)"
_SLOPE_ALLOWED = "a (the negative slope of the leaky ReLU) must be a number, not NaN"


def _warn_if_empty(array: np.ndarray) -> bool:
    """True (after torch's warning) for a zero-element array, whose fan may be 0."""
    if array.size == 0:
        warnings.warn("Initializing zero-element arrays is a no-op", UserWarning, stacklevel=3)
        return True
    return False


def xavier_uniform_(
    array: np.ndarray, gain: float = 1.0, *, rng: np.random.Generator
) -> np.ndarray:
    """Fill ``array`` with ``U(-a, a)``, ``a = gain * sqrt(6 / (fan_in + fan_out))``. In place."""
    _require_float_array(array, "xavier_uniform_")
    checks.generator(rng)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(array)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    _fill_uniform(array, a, rng, function="xavier_uniform_", argument=f"gain={gain}",
                  allowed=_GAIN_ALLOWED)
    return array


def xavier_normal_(array: np.ndarray, gain: float = 1.0, *, rng: np.random.Generator) -> np.ndarray:
    """Fill ``array`` with ``N(0, std^2)``, ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    _require_float_array(array, "xavier_normal_")
    checks.generator(rng)
    fan_in, fan_out = _calculate_fan_in_and_fan_out(array)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    _fill_normal(array, std, rng, function="xavier_normal_", argument=f"gain={gain}",
                 allowed=_GAIN_ALLOWED)
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
    _require_float_array(array, "kaiming_uniform_")
    checks.generator(rng)
    if _warn_if_empty(array):
        return array
    fan = _calculate_correct_fan(array, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std  # U(-b, b) has variance b^2 / 3
    _fill_uniform(array, bound, rng, function="kaiming_uniform_", argument=f"a={a}",
                  allowed=_SLOPE_ALLOWED)
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
    _require_float_array(array, "kaiming_normal_")
    checks.generator(rng)
    if _warn_if_empty(array):
        return array
    fan = _calculate_correct_fan(array, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    _fill_normal(array, std, rng, function="kaiming_normal_", argument=f"a={a}",
                 allowed=_SLOPE_ALLOWED)
    return array


def zeros_(array: np.ndarray) -> np.ndarray:
    """Fill ``array`` with zeros, in place (biases are usually started at zero).

    Works for any dtype, integer arrays included (as torch's ``zeros_``).
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"zeros_: expected a numpy array, got {type(array).__name__}")
    array[...] = 0
    return array
