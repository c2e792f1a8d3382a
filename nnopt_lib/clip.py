r"""Gradient clipping on numpy arrays, with the semantics of ``torch.nn.utils``.

Clipping changes the *gradient*, never the parameters, and it happens between computing the
gradient and the optimizer step::

    grads = model_gradients(...)
    total = clip_grad_norm_(grads, max_norm=1.0)   # rescales grads in place
    optimizer.step(grads)

Two kinds:

* **by value** (:func:`clip_grad_value_`): clamp every coordinate to ``[-c, c]``. Cheap, but it
  changes the gradient's direction whenever only some coordinates are clamped.
* **by global norm** (:func:`clip_grad_norm_`): treat all gradients as one long vector
  :math:`g` and rescale it to :math:`g \cdot \min(1, c / \lVert g \rVert)`; the direction is
  kept and only the length is capped. R. Pascanu, T. Mikolov and Y. Bengio, "On the
  difficulty of training recurrent neural networks", ICML 2013.

A common error is to write clipping as ``theta - lr * min(grad, c)``: the elementwise ``min``
bounds the gradient from above only, so a large *negative* gradient passes untouched.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["check_threshold", "clip_grad_norm_", "clip_grad_value_"]


def _grad_list(grads: Any, *, kinds: str, function: str) -> list[np.ndarray]:
    """A list of the gradient arrays to clip; ``None`` entries are skipped like a missing
    ``.grad`` in torch.

    They must be writable numpy arrays (clipping works in place) whose dtype kind is in
    ``kinds`` (``"f"``: real floating point; ``"fc"``: complex too). Everything is checked
    before any gradient is touched, so a bad entry never leaves the others half clipped.
    An integer or bool gradient raises ``RuntimeError``, the type torch raises for one.
    """
    if isinstance(grads, np.ndarray):
        grads = [grads]
    out = []
    for i, g in enumerate(grads):
        if g is None:
            continue
        if not isinstance(g, np.ndarray):
            raise TypeError(
                "gradients must be numpy arrays (they are clipped in place), "
                f"got {type(g).__name__} at index {i}"
            )
        if g.dtype.kind not in kinds:
            raise RuntimeError(
                f"{function}: gradient {i} has dtype {g.dtype}; gradients must be floating "
                "point (torch refuses integer and bool gradients too)"
            )
        if not g.flags.writeable:
            raise ValueError(
                f"{function}: gradient {i} is read-only and cannot be clipped in place"
            )
        out.append(g)
    return out


def check_threshold(name: str, value: Any) -> float:
    """``float(value)`` (torch's conversion, with its TypeError/ValueError), which must not
    be NaN or negative. torch accepts both and silently returns garbage: a NaN bound turns
    every gradient into NaN, a negative ``max_norm`` flips the gradient's direction and a
    negative ``clip_value`` sets every coordinate to that value. Training loops check their
    ``clip_norm`` / ``clip_value`` with it, so that the error names their own argument."""
    value = float(value)
    if not value >= 0.0:
        raise ValueError(f"Invalid {name}: {value} (must be >= 0; inf means no clipping)")
    return value


def clip_grad_value_(grads: Any, clip_value: float) -> None:
    r"""Clamp every gradient coordinate to :math:`[-c, c]`, in place.

    .. math:: g_i \leftarrow \min(\max(g_i, -c), c)

    ``grads`` is a list of arrays (or a single array). Same semantics as
    ``torch.nn.utils.clip_grad_value_``: ``clip_value`` is converted with ``float()``, NaN
    gradient entries stay NaN and integer gradients raise ``RuntimeError``. One deliberate
    difference: a NaN or negative ``clip_value`` raises ``ValueError`` (torch would set every
    coordinate to NaN or to the negative ``clip_value``).
    """
    c = check_threshold("clip_value", clip_value)
    grads = _grad_list(grads, kinds="f", function="clip_grad_value_")
    for g in grads:
        np.maximum(g, -c, out=g)
        np.minimum(g, c, out=g)


def _vector_norm(a: np.ndarray, p: float) -> float:
    r"""The :math:`p`-norm of the flattened array, as ``torch.linalg.vector_norm``:
    :math:`(\sum_i |a_i|^p)^{1/p}`; ``inf``: max :math:`|a_i|`; ``-inf``: min :math:`|a_i|`;
    ``0``: number of non-zero entries."""
    a = np.abs(np.ravel(a))
    if a.size == 0:
        if p < 0 or math.isinf(p):
            # max/min of nothing is undefined; torch raises the same error
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {p:g} norm on an empty tensor "
                "because the operation does not have an identity"
            )
        return 0.0
    if p == 2:
        return math.sqrt(np.add.reduce(a * a))
    if p == math.inf:
        return float(np.max(a))
    if p == -math.inf:
        return float(np.min(a))
    if p == 0:
        return float(np.count_nonzero(a))
    if p == 1:
        return float(np.add.reduce(a))
    if p < 0:
        # a zero entry gives |0|^p = inf and the norm 0, as in torch (without a warning)
        with np.errstate(divide="ignore"):
            return float(np.add.reduce(a**p) ** (1.0 / p))
    return float(np.add.reduce(a**p) ** (1.0 / p))


def clip_grad_norm_(
    grads: Any,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    r"""Rescale all gradients together so that their global norm is at most ``max_norm``.

    .. math::
        N = \big\lVert (\lVert g_1 \rVert_p, \dots, \lVert g_n \rVert_p) \big\rVert_p,
        \qquad g_j \leftarrow g_j \cdot \min\Big(1, \frac{c}{N + 10^{-6}}\Big)

    The global norm :math:`N` is the norm of all gradients concatenated into one vector
    (computed, as in torch, as the norm of the per-array norms). The :math:`10^{-6}` guards
    against dividing by zero. ``norm_type`` may be any float, ``inf`` or ``"inf"``.

    Returns the total norm *before* clipping, as a float. Same semantics as
    ``torch.nn.utils.clip_grad_norm_``: gradients are always multiplied by the coefficient
    (by exactly 1.0 when the norm is small); a non-finite norm raises ``RuntimeError`` when
    ``error_if_nonfinite`` is true, and otherwise turns the gradients into NaN/0 silently;
    integer gradients raise ``RuntimeError``. An empty list returns 0.0.

    Deliberate differences: a NaN or negative ``max_norm`` and a NaN ``norm_type`` raise
    ``ValueError`` (torch accepts them and returns NaN gradients or flips their sign).
    """
    max_norm = check_threshold("max_norm", max_norm)
    p = float(norm_type)
    if math.isnan(p):
        raise ValueError(f"Invalid norm_type: {norm_type!r} (a number or inf, not NaN)")
    grads = _grad_list(grads, kinds="fc", function="clip_grad_norm_")
    if len(grads) == 0:
        return 0.0
    total = _vector_norm(np.array([_vector_norm(g, p) for g in grads]), p)
    finite = math.isfinite(total)
    if error_if_nonfinite and not finite:
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by "
            "the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    # torch evaluates float / tensor as tensor.reciprocal() * float; same rounding here
    coef = (1.0 / (total + 1e-6)) * max_norm
    if coef > 1.0:  # clamp from above only; a NaN coefficient stays NaN, as in torch
        coef = 1.0
    if finite:
        for g in grads:
            g *= coef
    else:
        with np.errstate(invalid="ignore"):  # inf * 0 gives NaN, as in torch, without a warning
            for g in grads:
                g *= coef
    return total
