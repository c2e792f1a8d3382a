"""The optimizer classes' fast path: SGD and Adam/AdamW updated in place, block by block.

The pure step functions (:func:`~nnopt_lib.optim.sgd.sgd_step`,
:func:`~nnopt_lib.optim.adam.adam_step`) are the teaching code: each line is one formula, and
each line makes a new array the size of the parameter. On a large parameter that costs twice:
allocating the temporaries, and streaming every one of them through main memory. Adam is
about ten elementwise operations, so the pure function reads and writes the parameter's
worth of memory some twenty times, where the update needs only seven (read θ, g, m, v; write
θ, m, v) -- lesson 18 measures this against the machine's bandwidth.

The functions here compute exactly the same operations, in the same order and with the same
rounding (``tests/test_optim.py`` checks the results bit for bit), but with ``out=`` into two
scratch blocks, one block of :data:`BLOCK` elements at a time. A block of every array fits
in a core's L2 cache, so the ten operations run from cache and main memory sees each array
about once per step. They update ``param`` and the state's arrays in place, as torch's
optimizers do, and return the state dict.

The classes use this path when they can: :meth:`Optimizer.step
<nnopt_lib.optim.base.Optimizer.step>` calls a class's ``inplace_function`` for a
C-contiguous parameter, and the pure function otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

#: Elements per block. Seven float32 blocks (θ, g, m, v and three temporaries) take about
#: 900 KB, inside a typical 1-2 MB L2 cache; float64 blocks are twice that and still fit in
#: most. Larger blocks fall out of cache, smaller ones pay numpy's per-call overhead (~1 µs
#: for each of ~10 calls per block).
BLOCK = 1 << 15


def _blocks(n: int) -> Iterator[slice]:
    for start in range(0, n, BLOCK):
        yield slice(start, min(start + BLOCK, n))


def _buffer(state: dict[str, Any], key: str, param: np.ndarray) -> np.ndarray:
    """``state[key]`` as a writable contiguous array like ``param``: zeros if the state has
    none, a copy if it has one the in-place update must not write into."""
    buffer = state.get(key)
    if not (
        isinstance(buffer, np.ndarray)
        and buffer.dtype == param.dtype
        and buffer.shape == param.shape
        and buffer.flags.c_contiguous
        and buffer.flags.writeable
        and not np.may_share_memory(buffer, param)
    ):
        buffer = np.zeros_like(param) if buffer is None else np.array(buffer, dtype=param.dtype)
        state[key] = buffer
    return buffer


def _signed_decayed_gradient(g: np.ndarray, p: np.ndarray, out: np.ndarray, spare: np.ndarray,
                             *, maximize: bool, weight_decay: float) -> np.ndarray:
    """The block of ``±grad (+ weight_decay·param)``, formed as the pure functions form it
    (into ``out``, using ``spare``; the gradient itself is never written)."""
    if maximize:
        g = np.negative(g, out=out)
    if weight_decay != 0:
        g = np.add(g, np.multiply(p, weight_decay, out=spare), out=out)
    return g


def sgd_inplace(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
) -> dict[str, Any]:
    """:func:`~nnopt_lib.optim.sgd.sgd_step`, in place (``param`` and the momentum buffer)."""
    p, g = param.reshape(-1), np.ascontiguousarray(grad).reshape(-1)
    first = momentum != 0 and state.get("momentum_buffer") is None
    buf = _buffer(state, "momentum_buffer", param).reshape(-1) if momentum != 0 else None
    scratch, step = np.empty(BLOCK, param.dtype), np.empty(BLOCK, param.dtype)
    for block in _blocks(p.size):
        n = block.stop - block.start
        s, d = scratch[:n], step[:n]
        gb = _signed_decayed_gradient(g[block], p[block], s, d, maximize=maximize,
                                      weight_decay=weight_decay)
        if buf is None:
            direction = gb
        else:
            b = buf[block]
            if first:
                b[...] = gb  # torch starts the buffer at g itself, undampened
            else:
                b *= momentum
                b += np.multiply(gb, 1 - dampening, out=d)
            direction = b
            if nesterov:
                direction = np.add(gb, np.multiply(b, momentum, out=d), out=d)
        p[block] -= np.multiply(direction, lr, out=d)
    return state if momentum != 0 else {}


def adam_inplace(
    param: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    maximize: bool,
    decoupled_weight_decay: bool,
) -> dict[str, Any]:
    """:func:`~nnopt_lib.optim.adam.adam_step` (and AdamW's), in place (``param``, ``exp_avg``,
    ``exp_avg_sq``, ``max_exp_avg_sq``)."""
    beta1, beta2 = betas
    step = state.get("step", 0.0) + 1.0
    state["step"] = step
    p, g = param.reshape(-1), np.ascontiguousarray(grad).reshape(-1)
    exp_avg = _buffer(state, "exp_avg", param).reshape(-1)
    exp_avg_sq = _buffer(state, "exp_avg_sq", param).reshape(-1)
    max_sq = _buffer(state, "max_exp_avg_sq", param).reshape(-1) if amsgrad else None
    step_size = lr / (1 - beta1**step)
    sqrt_bias_correction2 = math.sqrt(1 - beta2**step)
    l2 = 0.0 if decoupled_weight_decay else weight_decay
    scratch, work = np.empty(BLOCK, param.dtype), np.empty(BLOCK, param.dtype)
    for block in _blocks(p.size):
        n = block.stop - block.start
        s, w = scratch[:n], work[:n]
        pb, m, v = p[block], exp_avg[block], exp_avg_sq[block]
        if decoupled_weight_decay and weight_decay != 0:
            pb *= 1 - lr * weight_decay
        gb = _signed_decayed_gradient(g[block], pb, s, w, maximize=maximize, weight_decay=l2)
        m += np.multiply(np.subtract(gb, m, out=w), 1 - beta1, out=w)
        v *= beta2
        v += np.multiply(np.multiply(gb, 1 - beta2, out=w), gb, out=w)
        second_moment = v
        if max_sq is not None:
            second_moment = np.maximum(max_sq[block], v, out=max_sq[block])
        denom = np.add(np.divide(np.sqrt(second_moment, out=w), sqrt_bias_correction2, out=w),
                       eps, out=w)
        pb -= np.multiply(np.divide(m, denom, out=w), step_size, out=w)
    return state
