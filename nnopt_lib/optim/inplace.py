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
in the cache, so the ten operations run from cache and main memory sees each array about
once per step. A large parameter is split into one span of blocks per core, updated by
threads (numpy releases the GIL inside its loops), as torch's CPU kernels use every core. They
update ``param`` and the state's arrays in place, as torch's optimizers do, and return the
state dict.

The classes use this path when it pays: :meth:`Optimizer.step
<nnopt_lib.optim.base.Optimizer.step>` calls a class's ``inplace_function`` for a
C-contiguous parameter of at least :data:`MIN_SIZE` elements, and the pure function otherwise.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

#: Elements per block: a trade between cache and interpreter. Every block costs ~5-10 numpy
#: calls of ~1 µs each, with the GIL held, so small blocks drown in overhead (on 10 M float32
#: parameters, 2**13 elements made Adam 3.4x slower than 2**17); large ones fall out of cache
#: (seven float32 blocks of 2**17 elements, θ, g, m, v and three temporaries, are 3.5 MB:
#: beyond a core's L2 but inside a typical L3). Measured with benchmarks/bench_optimizer_step.py.
BLOCK = 1 << 17
#: Threads share a parameter only when each gets at least this many blocks (256 K elements):
#: below that, handing the work over costs more than it saves.
MIN_BLOCKS_PER_THREAD = 2
#: Parameters with fewer elements take the pure function: its few whole-array calls cost less
#: than the block loop's setup (measured crossover: 4 K-16 K elements for Adam and SGD).
MIN_SIZE = 8192
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    # one pool per process id: a forked child must not inherit its parent's (threadless) pool
    pid = os.getpid()
    if pid not in _POOLS:
        _POOLS[pid] = ThreadPoolExecutor(max_workers=_CORES, thread_name_prefix="nnopt-optim")
    return _POOLS[pid]


def in_blocks(size: int, dtype: np.dtype,
               update_block: Callable[[slice, np.ndarray, np.ndarray], None]) -> None:
    """Call ``update_block(block, scratch, spare)`` over ``[0, size)``, :data:`BLOCK` elements
    at a time, with two scratch arrays of the block's length.

    A large parameter is cut into one contiguous span per core, updated by threads: numpy
    releases the GIL inside its loops, so the spans run in parallel (torch's CPU kernels use
    every core too), and as every element is updated on its own the result is the same bit
    for bit."""
    def span(start: int, stop: int) -> None:
        length = min(BLOCK, stop - start)  # small parameters: small scratch arrays
        scratch, spare = np.empty(length, dtype), np.empty(length, dtype)
        for begin in range(start, stop, BLOCK):
            end = min(begin + BLOCK, stop)
            update_block(slice(begin, end), scratch[:end - begin], spare[:end - begin])

    blocks = -(-size // BLOCK)
    threads = min(_CORES, blocks // MIN_BLOCKS_PER_THREAD)
    if threads <= 1:
        span(0, size)
        return
    edges = [min(size, BLOCK * (blocks * i // threads)) for i in range(threads + 1)]
    for done in _pool().map(span, edges[:-1], edges[1:]):
        del done  # map() re-raises a thread's exception here


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

    def update_block(block: slice, s: np.ndarray, d: np.ndarray) -> None:
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
                b += gb if dampening == 0 else np.multiply(gb, 1 - dampening, out=d)
            direction = b
            if nesterov:
                direction = np.add(gb, np.multiply(b, momentum, out=d), out=d)
        p[block] -= np.multiply(direction, lr, out=d)

    in_blocks(p.size, param.dtype, update_block)
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

    def update_block(block: slice, s: np.ndarray, w: np.ndarray) -> None:
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

    in_blocks(p.size, param.dtype, update_block)
    return state
