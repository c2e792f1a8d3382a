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

Two more, which fix something other than the variance:

* Orthogonal (Saxe, McClelland & Ganguli 2014, "Exact solutions to the nonlinear dynamics of
  learning in deep linear neural networks"): ``W`` with orthonormal rows or columns, times
  ``gain``. Every singular value is ``gain``, so a deep *linear* network of square such
  layers (gain 1) keeps the norm of every input direction exactly, where i.i.d. weights keep
  it only on average: the product of many random matrices has a few huge and many tiny
  singular values.
* Truncated normal: ``N(mean, std^2)`` restricted to ``[a, b]`` (no rare huge weights).
  In torch, as here, ``a`` and ``b`` are *absolute* bounds, not numbers of standard
  deviations: ``trunc_normal_(w, std=0.02)`` keeps the default ``[-2, 2]``, 100 standard
  deviations wide, which truncates nothing. Pass ``a=-2 * std, b=2 * std`` for the usual
  two-sigma cut.

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
    "orthogonal_",
    "trunc_normal_",
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


def orthogonal_(array: np.ndarray, gain: float = 1, *, rng: np.random.Generator) -> np.ndarray:
    """Fill ``array`` with a (semi-)orthogonal matrix times ``gain``, in place (Saxe et al.
    2014; torch's ``orthogonal_``).

    The array is seen as a ``rows x cols`` matrix with ``rows = array.shape[0]`` and the
    other axes flattened, as torch does for a convolution kernel. A matrix ``A`` of standard
    normal samples, transposed if it is wide, is factored ``A = Q R`` (QR decomposition) and
    each column of ``Q`` is multiplied by the sign of ``R``'s diagonal entry: without that
    fix the QR routine's sign convention would bias the result, with it ``Q`` is uniformly
    (Haar) distributed (Mezzadri 2007, "How to generate random matrices from the classical
    compact groups"). Then:

    * tall or square (``rows >= cols``): orthonormal columns, ``W^T W = gain^2 I``;
    * wide (``rows < cols``): orthonormal rows, ``W W^T = gain^2 I``.

    ``array`` needs at least two dimensions (``ValueError``, as torch); a zero-element array
    is left as it is. The factorisation runs in float64 and the result is rounded to the
    array's dtype (numpy has no float16 QR). ``gain`` must be a finite real number
    (``RuntimeError`` naming it otherwise; torch would fill NaN or inf without a word); a
    negative gain is accepted, as in torch: ``-Q`` is orthogonal too.
    """
    _require_float_array(array, "orthogonal_")
    checks.generator(rng)
    if array.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if array.size == 0:
        return array  # torch: a no-op, without a warning
    if not isinstance(gain, int | float | np.integer | np.floating) or isinstance(gain, bool):
        raise TypeError(f"orthogonal_: gain must be a number, got {type(gain).__name__} "
                        f"{gain!r}")
    if not math.isfinite(gain):
        raise RuntimeError(f"orthogonal_: gain={gain} is not finite; gain must be a finite "
                           "number, usually 1 or calculate_gain(nonlinearity)")
    rows = array.shape[0]
    cols = array.size // rows
    samples = rng.standard_normal((rows, cols))
    wide = rows < cols
    q, r = np.linalg.qr(samples.T if wide else samples)  # reduced: q is tall, r square
    # the sign fix; where(..., 1) rather than sign(): a zero on the diagonal (probability
    # zero) must not zero a whole column
    q *= np.where(np.diag(r) < 0, -1.0, 1.0)
    array[...] = (gain * (q.T if wide else q)).reshape(array.shape)
    return array


def _normal_cdf(z: float) -> float:
    """``Phi(z)``, the standard normal CDF; ``erfc`` keeps its accuracy in the lower tail."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _bounds_in_dtype(a: float, b: float, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """The smallest and largest numbers of ``dtype`` inside ``[a, b]``: a sample rounded to
    a low-precision dtype must not land just outside the bounds."""
    low, high = np.asarray(a, dtype=dtype), np.asarray(b, dtype=dtype)
    # float(): compared with a Python float, a float16 would round the float to float16 first
    if float(low) < a:
        low = np.nextafter(low, np.asarray(np.inf, dtype=dtype))
    if float(high) > b:
        high = np.nextafter(high, np.asarray(-np.inf, dtype=dtype))
    return low, high


def trunc_normal_(array: np.ndarray, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, *, rng: np.random.Generator) -> np.ndarray:
    """Fill ``array`` with samples of ``N(mean, std^2)`` truncated to ``[a, b]``, in place.

    The truncated normal has the density of ``N(mean, std^2)`` on ``[a, b]``, renormalised
    by ``P = Phi(beta) - Phi(alpha)`` with ``alpha = (a - mean) / std`` and
    ``beta = (b - mean) / std``, and zero outside. Its mean and variance, with the standard
    normal density ``phi``::

        mean + std * (phi(alpha) - phi(beta)) / P
        std^2 * (1 + (alpha phi(alpha) - beta phi(beta)) / P
                   - ((phi(alpha) - phi(beta)) / P)^2)

    ``a`` and ``b`` are *absolute* bounds, as in torch -- not multiples of ``std``.

    Sampling is exact rejection, as in torch 2.13: where ``[a, b]`` holds most of the normal
    (``P > 0.3``), draw from ``N(mean, std^2)`` and redraw what falls outside; otherwise
    propose uniformly on ``[a, b]`` and accept with probability
    ``density(x) / density(mode)``, ``mode`` being the point of ``[a, b]`` closest to
    ``mean``. Unlike torch, the uniform proposals are restricted to where that ratio is
    above ``exp(-40)``, which keeps a wide, far-out ``[a, b]`` fast (accepting a proposal
    beyond would take a uniform number below ``exp(-40)``: exactly 0, a one-in-2^53
    event); and no warning is given for a ``mean`` far from ``[a, b]``, where torch warns
    that the distribution "may be incorrect" (the method stays exact there).

    Checks: ``std`` a finite number > 0 and ``mean``, ``a``, ``b`` finite (``ValueError``;
    torch divides by ``std = 0``); ``a > b`` raises ``RuntimeError``, as torch's sampler
    does (``a == b`` fills ``a``). Samples are drawn in float64 and rounded to the array's
    dtype, staying within ``[a, b]`` after rounding.
    """
    _require_float_array(array, "trunc_normal_")
    checks.generator(rng)
    mean, std, a, b = (checks.real(name, value) for name, value in
                       (("mean", mean), ("std", std), ("a", a), ("b", b)))
    if not std > 0:
        raise ValueError(f"trunc_normal_: std must be > 0, got {std}")
    if a > b:
        raise RuntimeError(f"trunc_normal_: the bounds must satisfy a <= b, got a={a} > b={b}")
    if array.size == 0:
        return array
    alpha, beta = (a - mean) / std, (b - mean) / std
    # P from the tail that keeps its digits: Phi(-alpha) - Phi(-beta) when both are > 0
    mass = (_normal_cdf(-alpha) - _normal_cdf(-beta) if alpha > 0
            else _normal_cdf(beta) - _normal_cdf(alpha))
    n = array.size
    if mass > 0.3:
        samples = rng.normal(mean, std, size=n)
        outside = (samples < a) | (samples > b)
        while outside.any():  # each round keeps at least 30% of what is left: few rounds
            samples[outside] = rng.normal(mean, std, size=int(outside.sum()))
            outside = (samples < a) | (samples > b)
    else:
        mode = max(a, min(mean, b))
        z_mode = (mode - mean) / std
        # beyond this distance from the mean the density ratio is below exp(-40)
        reach = std * math.sqrt(z_mode**2 + 80.0)
        low, high = max(a, mean - reach), min(b, mean + reach)

        def propose(count: int) -> tuple[np.ndarray, np.ndarray]:
            x = rng.uniform(low, high, size=count)
            log_ratio = -0.5 * (((x - mean) / std) ** 2 - z_mode**2)
            return x, rng.random(count) < np.exp(log_ratio)

        samples, accepted = propose(n)
        while not accepted.all():
            pending = ~accepted
            x, ok = propose(int(pending.sum()))
            samples[np.flatnonzero(pending)[ok]] = x[ok]
            accepted[pending] = ok
    low_bound, high_bound = _bounds_in_dtype(a, b, array.dtype)
    array[...] = np.clip(samples.reshape(array.shape).astype(array.dtype), low_bound,
                         high_bound)
    return array


def zeros_(array: np.ndarray) -> np.ndarray:
    """Fill ``array`` with zeros, in place (biases are usually started at zero).

    Works for any dtype, integer arrays included (as torch's ``zeros_``).
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"zeros_: expected a numpy array, got {type(array).__name__}")
    array[...] = 0
    return array
