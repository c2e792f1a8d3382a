r"""Data-parallel training simulated in numpy: workers, shards, all-reduce, staleness.

Everything here runs in one process: the "workers" are loop iterations, so every message and
every delay can be counted and replayed exactly. :mod:`nnopt_lib.crosscheck.distributed`
runs the same synchronous training on real processes with ``torch.distributed`` and checks
that the parameters agree.

**Synchronous data parallelism.** A global minibatch of :math:`B` examples is split into
:math:`K` shards :math:`S_1,\dots,S_K`. Worker :math:`k` computes the mean gradient of its
shard, :math:`g_k = \frac1{|S_k|}\sum_{i\in S_k}\nabla\ell_i`; an all-reduce sums the
:math:`g_k` and every worker divides by :math:`K`. With equal shards,
:math:`\frac1K\sum_k g_k = \frac1B\sum_i\nabla\ell_i`: the full-batch gradient, exactly. With
unequal shards the plain mean over-weights the small shards; the weights
:math:`|S_k|/B` restore the full-batch gradient (:func:`average_gradients`).

**Ring all-reduce** (Patarasuk & Yuan 2009): each worker's vector is cut into :math:`K`
chunks. In :math:`K-1` *reduce-scatter* steps every worker passes one chunk to its right-hand
neighbour, which adds it to its own copy; afterwards worker :math:`k` holds the complete sum
of chunk :math:`k+1`. In :math:`K-1` *all-gather* steps the completed chunks travel once more
around the ring. Each worker sends :math:`2(K-1)` chunks of :math:`n/K` values,
:math:`2\frac{K-1}{K}n < 2n` whatever :math:`K`. A parameter server (one worker collects all
vectors, sums and sends the sum back, :func:`parameter_server_allreduce`) receives and sends
:math:`(K-1)n` values: its link is the bottleneck, and it grows with :math:`K`.

**Stale gradients.** Asynchronous SGD (Dean et al. 2012; Hogwild!, Recht et al. 2011) lets
workers update one shared model without waiting; a gradient computed at
:math:`\theta_{t-\tau}` is applied to :math:`\theta_t`:
:math:`\theta_{t+1} = \theta_t - \eta\,\nabla L(\theta_{t-\tau})`. On a quadratic of
curvature :math:`h` this is stable iff
:math:`0 < \eta h < 2\sin\frac{\pi}{2(2\tau+1)}` (:func:`max_stable_lr`), about
:math:`\pi/(2\tau+1)` for large delays instead of 2 without delay. **Local SGD** (Lin et al.
2020) is the middle ground: every worker takes :math:`H` SGD steps on its own data, then the
parameters are averaged (one all-reduce per :math:`H` steps instead of one per step).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from nnopt_lib.data import iterate_minibatches
from nnopt_lib.history import History

__all__ = [
    "Message",
    "async_sgd",
    "average_gradients",
    "data_parallel_step",
    "delayed_gradient_descent",
    "local_sgd",
    "max_stable_lr",
    "parameter_server_allreduce",
    "ring_allreduce",
    "shard",
    "shard_gradients",
    "traffic",
    "worker_batches",
]


class Message(NamedTuple):
    """One transfer of a simulated collective: ``size`` values from ``src`` to ``dst`` in
    ``phase`` (``"reduce-scatter"``/``"all-gather"`` or ``"push"``/``"pull"``) at ``step``;
    ``chunk`` is the ring chunk's index (``None`` for a whole vector)."""

    phase: str
    step: int
    src: int
    dst: int
    chunk: int | None
    size: int


def _check_workers(workers: Any) -> int:
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    return int(workers)


def shard(indices: Sequence[int] | np.ndarray, workers: int) -> list[np.ndarray]:
    """Split ``indices`` into ``workers`` contiguous shards whose sizes differ by at most one
    (``np.array_split``; torch's ``DistributedSampler`` deals indices round-robin instead,
    which gives the same sizes)."""
    return np.array_split(np.asarray(indices), _check_workers(workers))


def shard_gradients(model: Any, loss_fn: Any, X: np.ndarray, y: np.ndarray,
                    shards: Sequence[np.ndarray]) -> tuple[list[list[np.ndarray]], list[float]]:
    """Each worker's mean gradient and loss on its shard: ``(grads[k][j], losses[k])``.

    ``grads[k][j]`` is worker ``k``'s gradient of parameter ``j`` (a copy); the workers run
    one after another on the same ``model``, which is left with the last shard's gradients.
    """
    grads, values = [], []
    for idx in shards:
        values.append(float(loss_fn(model(X[idx]), y[idx])))
        model.backward(loss_fn.backward())
        grads.append([g.copy() for g in model.gradients()])
    return grads, values


def average_gradients(worker_grads: Sequence[Sequence[np.ndarray]],
                      sizes: Sequence[int] | None = None) -> list[np.ndarray]:
    r"""The average over workers of per-worker gradient lists.

    ``sizes=None``: the plain mean :math:`\frac1K\sum_k g_k` (what DistributedDataParallel
    computes). With the shard sizes :math:`n_k`: :math:`\sum_k \frac{n_k}{\sum n} g_k`, the
    full-batch gradient also for unequal shards.
    """
    if not worker_grads:
        raise ValueError("average_gradients needs at least one worker")
    k = len(worker_grads)
    if sizes is None:
        weights = np.full(k, 1.0 / k)
    else:
        sizes = np.asarray(sizes, dtype=float)
        if sizes.shape != (k,) or np.any(sizes < 0) or sizes.sum() <= 0:
            raise ValueError(f"sizes must be {k} non-negative numbers with a positive sum, "
                             f"got {sizes.tolist()}")
        weights = sizes / sizes.sum()
    return [sum(w * g[j] for w, g in zip(weights, worker_grads, strict=True))
            for j in range(len(worker_grads[0]))]


def _check_arrays(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    arrays = [np.asarray(a) for a in arrays]
    if not arrays:
        raise ValueError("an all-reduce needs at least one worker's array")
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"every worker's array must have the same shape, got {sorted(shapes)}")
    return arrays


def ring_allreduce(arrays: Sequence[np.ndarray], *, log: list[Message] | None = None
                   ) -> list[np.ndarray]:
    """Sum worker ``k``'s ``arrays[k]`` over all workers with a ring; returns each worker's copy.

    Reduce-scatter, then all-gather, ``K - 1`` steps each, in ``K`` chunks
    (``np.array_split`` of the flattened arrays, so any size works, even fewer values than
    workers). In every step all workers send at once, so a worker adds what it received to
    values it had *before* the step. Every returned array is the same (bit for bit); it equals
    ``np.sum(arrays, axis=0)`` up to rounding, since the ring adds in a different order.
    Each transfer is appended to ``log`` (a list) as a :class:`Message`.
    """
    arrays = _check_arrays(arrays)
    k = len(arrays)
    shape = arrays[0].shape
    buffers = [a.ravel().copy() for a in arrays]
    edges = np.cumsum([0] + [len(c) for c in np.array_split(np.empty(buffers[0].size), k)])
    chunk = [slice(int(edges[c]), int(edges[c + 1])) for c in range(k)]
    for phase, first in (("reduce-scatter", 0), ("all-gather", 1)):
        for step in range(k - 1):
            # worker w sends chunk (w - step) while reducing, (w + 1 - step) while gathering
            sends = [(w, (w + 1) % k, (w + first - step) % k) for w in range(k)]
            payloads = [buffers[src][chunk[c]].copy() for src, _, c in sends]  # sent at once
            for (src, dst, c), payload in zip(sends, payloads, strict=True):
                if phase == "reduce-scatter":
                    buffers[dst][chunk[c]] += payload
                else:
                    buffers[dst][chunk[c]] = payload
                if log is not None:
                    log.append(Message(phase, step, src, dst, c, payload.size))
    return [b.reshape(shape) for b in buffers]


def parameter_server_allreduce(arrays: Sequence[np.ndarray], *,
                               log: list[Message] | None = None) -> list[np.ndarray]:
    """The naive all-reduce: worker 0 acts as the server. Every other worker pushes its whole
    array to it, the server sums, and pulls send the sum back to every worker. Same result
    and ``log`` format as :func:`ring_allreduce`."""
    arrays = _check_arrays(arrays)
    total = arrays[0].astype(np.result_type(*arrays), copy=True)
    for src, a in enumerate(arrays[1:], start=1):
        total += a
        if log is not None:
            log.append(Message("push", 0, src, 0, None, a.size))
    if log is not None:
        log.extend(Message("pull", 0, 0, dst, None, total.size) for dst in range(1, len(arrays)))
    return [total.copy() for _ in arrays]


def traffic(log: Sequence[Message], workers: int) -> tuple[np.ndarray, np.ndarray]:
    """``(sent, received)``: the number of values each worker sent and received in ``log``."""
    workers = _check_workers(workers)
    sent, received = np.zeros(workers, dtype=np.int64), np.zeros(workers, dtype=np.int64)
    for message in log:
        sent[message.src] += message.size
        received[message.dst] += message.size
    return sent, received


def data_parallel_step(model: Any, loss_fn: Any, optimizer: Any, X: np.ndarray, y: np.ndarray,
                       *, workers: int) -> float:
    """One synchronous data-parallel update on the global batch ``(X, y)``, as DDP does it.

    The batch is cut into ``workers`` shards (:func:`shard`); each worker's gradients are
    flattened into one vector (DDP's "bucket"), the vectors are summed by
    :func:`ring_allreduce` and divided by ``workers``, and ``optimizer.step`` applies the
    result. Returns the mean of the workers' losses (the batch loss, for equal shards).
    """
    grads, values = shard_gradients(model, loss_fn, X, y, shard(np.arange(len(X)), workers))
    flat = [np.concatenate([g.ravel() for g in worker]) for worker in grads]
    mean = ring_allreduce(flat)[0] / len(flat)
    sizes = np.cumsum([g.size for g in grads[0]])[:-1]
    optimizer.step([m.reshape(g.shape) for m, g in zip(np.split(mean, sizes), grads[0],
                                                           strict=True)])
    return float(np.mean(values))


def max_stable_lr(curvature: float, delay: int) -> float:
    r"""The largest stable learning rate of gradient descent with delay ``delay`` on
    :math:`f(x)=\frac h2 x^2`: :math:`\eta_{\max} = \frac2h\sin\frac{\pi}{2(2\tau+1)}`.

    The iteration :math:`x_{t+1} = x_t - \eta h\,x_{t-\tau}` converges for every start iff
    :math:`0<\eta h<2\sin\frac{\pi}{2(2\tau+1)}` (Levin & May 1976, "A note on
    difference-delay equations"); ``delay=0`` gives the familiar :math:`2/h`.
    """
    if not curvature > 0:
        raise ValueError(f"curvature must be positive, got {curvature!r}")
    if isinstance(delay, bool) or not isinstance(delay, (int, np.integer)) or delay < 0:
        raise ValueError(f"delay must be a non-negative integer, got {delay!r}")
    return 2.0 / curvature * math.sin(math.pi / (2 * (2 * delay + 1)))


def delayed_gradient_descent(grad_fn: Callable[[np.ndarray], np.ndarray], x0: Any, *,
                             lr: float, delay: int, steps: int, blowup: float = 1e8
                             ) -> np.ndarray:
    r"""Gradient descent with stale gradients: :math:`x_{t+1} = x_t - \eta\,\nabla
    f(x_{\max(t-\tau,0)})`.

    Before step :math:`\tau` no older point exists, so the start's gradient is used (a worker
    that began with everybody else). Returns the iterates, shape ``(steps + 1, *x0.shape)``;
    a run whose iterate becomes non-finite or larger than ``blowup`` in norm stops there, so
    the array is shorter and its last row is the first bad iterate.
    """
    if isinstance(delay, bool) or not isinstance(delay, (int, np.integer)) or delay < 0:
        raise ValueError(f"delay must be a non-negative integer, got {delay!r}")
    xs = [np.array(x0, dtype=float)]
    for t in range(steps):
        x = xs[-1] - lr * np.asarray(grad_fn(xs[max(t - delay, 0)]))
        xs.append(x)
        if not np.all(np.isfinite(x)) or np.linalg.norm(x) > blowup:
            break
    return np.array(xs)


def _batch_stream(indices: np.ndarray, batch_size: int, rng: np.random.Generator
                  ) -> Iterator[np.ndarray]:
    while True:  # one shuffled pass after another, each without its incomplete last batch
        for idx in iterate_minibatches(len(indices), batch_size=batch_size, seed=rng):
            if len(idx) == batch_size:
                yield indices[idx]


def worker_batches(n: int, *, workers: int, batch_size: int, steps: int, seed: int = 0
                   ) -> list[list[np.ndarray]]:
    """The minibatches of :func:`local_sgd` and :func:`async_sgd`: ``batches[t][k]`` is
    worker ``k``'s index array at step ``t``.

    The ``n`` examples are shuffled with ``seed`` and cut into ``workers`` shards (each
    worker owns its data, as on separate machines); each worker then draws minibatches of
    ``batch_size`` from its shard, reshuffling after every pass (``drop_last``: every
    minibatch is full, so a step weighs all workers equally).
    """
    workers = _check_workers(workers)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or not (
            1 <= batch_size <= n // workers):
        raise ValueError(f"batch_size must be an integer from 1 to the shard size "
                         f"{n // workers}, got {batch_size!r}")
    rng = np.random.default_rng(seed)
    shards = shard(rng.permutation(n), workers)
    streams = [_batch_stream(s, batch_size, np.random.default_rng([seed, k]))
               for k, s in enumerate(shards)]
    return [[next(stream) for stream in streams] for _ in range(steps)]


def _flat(model: Any) -> np.ndarray:
    return np.concatenate([p.ravel() for p in model.parameters()])


def _load_flat(model: Any, flat: np.ndarray) -> None:
    start = 0
    for p in model.parameters():
        p[...] = flat[start:start + p.size].reshape(p.shape)
        start += p.size


def _gradient(model: Any, loss_fn: Any, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    value = float(loss_fn(model(X), y))
    model.backward(loss_fn.backward())
    return value, np.concatenate([g.ravel() for g in model.gradients()])


def async_sgd(model: Any, loss_fn: Any, X: np.ndarray, y: np.ndarray, *, lr: float,
              delay: int, batch_size: int, steps: int, seed: int = 0,
              blowup: float = math.inf) -> History:
    r"""Asynchronous SGD with a fixed staleness: ``delay + 1`` workers take turns, and the
    gradient applied at update :math:`t` was computed at :math:`\theta_{t-\tau}`.

    :math:`\theta_{t+1} = \theta_t - \eta\,g_t(\theta_{\max(t-\tau,0)})`, plain SGD on one
    shared parameter vector (Dean et al. 2012's Downpour SGD with round-robin workers; the
    bounded-delay model of Hogwild!). Worker ``t mod (delay+1)`` computes ``g_t`` on its next
    minibatch of its own shard (:func:`worker_batches`). ``delay=0`` is ordinary SGD.
    ``model`` is updated in place; the History records the workers' minibatch losses and
    gradient norms, and stops at the first non-finite one, or the first loss above
    ``blowup`` (``diverged_at``).
    """
    if isinstance(delay, bool) or not isinstance(delay, (int, np.integer)) or delay < 0:
        raise ValueError(f"delay must be a non-negative integer, got {delay!r}")
    batches = worker_batches(len(X), workers=delay + 1, batch_size=batch_size, steps=steps,
                             seed=seed)
    worker = copy.deepcopy(model)  # evaluates gradients at old parameters
    snapshots = [_flat(model)]  # theta_0, theta_1, ...
    values, norms, diverged_at = [], [], None
    for t in range(steps):
        _load_flat(worker, snapshots[max(t - delay, 0)])
        idx = batches[t // (delay + 1)][t % (delay + 1)]
        with np.errstate(all="ignore"):  # a diverging run ends with a status, not warnings
            value, grad = _gradient(worker, loss_fn, X[idx], y[idx])
            if not (value <= blowup and np.all(np.isfinite(grad))):  # False for NaN too
                diverged_at = t
                break
            values.append(value)
            norms.append(float(np.linalg.norm(grad)))
            snapshots.append(snapshots[-1] - lr * grad)
    _load_flat(model, snapshots[-1])
    return History(loss=np.array(values), lr=np.full(len(values), lr),
                   grad_norm=np.array(norms), diverged_at=diverged_at)


def local_sgd(model: Any, loss_fn: Any, X: np.ndarray, y: np.ndarray, *, workers: int,
              period: int, lr: float, batch_size: int, steps: int, seed: int = 0,
              blowup: float = math.inf) -> History:
    r"""Local SGD (Lin et al. 2020): ``workers`` replicas each take SGD steps on their own
    minibatches (:func:`worker_batches`) and average their parameters every ``period`` steps.

    Replica :math:`k`: :math:`\theta^k \leftarrow \theta^k - \eta\,g_k(\theta^k)`; after
    steps :math:`H, 2H, \dots` (and after the last step) every :math:`\theta^k` becomes
    :math:`\frac1K\sum_j\theta^j`, one all-reduce each. With ``period=1`` this is
    synchronous data-parallel SGD on the global batch of ``workers * batch_size``
    examples. ``model`` ends with the averaged parameters; the History records the
    replicas' mean minibatch loss per step and stops like :func:`async_sgd`'s.
    """
    workers = _check_workers(workers)
    if isinstance(period, bool) or not isinstance(period, (int, np.integer)) or period < 1:
        raise ValueError(f"period must be a positive integer, got {period!r}")
    batches = worker_batches(len(X), workers=workers, batch_size=batch_size, steps=steps,
                             seed=seed)
    replica = copy.deepcopy(model)
    thetas = [_flat(model) for _ in range(workers)]
    values, norms, diverged_at = [], [], None
    with np.errstate(all="ignore"):
        for t in range(steps):
            step_values, step_norms = [], []
            for k in range(workers):
                _load_flat(replica, thetas[k])
                value, grad = _gradient(replica, loss_fn, X[batches[t][k]], y[batches[t][k]])
                step_values.append(value)
                step_norms.append(np.linalg.norm(grad))
                thetas[k] = thetas[k] - lr * grad
            if not (np.all(np.isfinite(step_norms)) and max(step_values) <= blowup):
                diverged_at = t
                break
            values.append(float(np.mean(step_values)))
            norms.append(float(np.mean(step_norms)))
            if (t + 1) % period == 0 or t + 1 == steps:
                thetas = [np.mean(thetas, axis=0)] * workers
    _load_flat(model, np.mean(thetas, axis=0))
    return History(loss=np.array(values), lr=np.full(len(values), lr),
                   grad_norm=np.array(norms), diverged_at=diverged_at)
