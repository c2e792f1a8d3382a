r"""Exercises of notebook 21 (distributed training).

Notation: ``K`` workers; worker ``k`` holds ``arrays[k]`` (all of one shape) or the mean
gradient ``grads[k]`` of its shard of ``sizes[k]`` examples.

* ``ring_allreduce(arrays)``: the all-reduce result of every worker, a list of ``K`` arrays
  each equal to ``sum_k arrays[k]`` (same shape as the inputs). Build it as a ring:
  reduce-scatter (``K - 1`` steps; worker ``w`` sends chunk ``(w - s) mod K`` to worker
  ``w + 1``, which adds it) and all-gather (``K - 1`` steps; worker ``w`` sends chunk
  ``(w + 1 - s) mod K``, which the receiver copies). Cases include ``K = 1`` and arrays with
  fewer values than workers. Patarasuk & Yuan (2009).
* ``full_batch_gradient(grads, sizes)``: the gradient of the mean loss over all
  ``sum(sizes)`` examples from the shards' mean gradients: ``sum_k sizes[k] * grads[k] /
  sum(sizes)``. ``grads`` has shape ``(K, d)``; the cases have unequal shards and an empty one.
* ``allreduce_traffic(n, workers)``: the pair ``(ring, server)`` of how many values the
  busiest worker sends to all-reduce ``n`` values: ``2 (K - 1) n / K`` by every worker of a
  ring; ``(K - 1) n`` by the parameter server (worker 0, which receives ``n`` values from
  each of the ``K - 1`` others and sends the sum back to each; it also receives that much).
  Floats.
* ``delayed_gradient_descent(x0, curvature, lr, delay, steps)``: the iterates of gradient
  descent with stale gradients on ``f(x) = curvature / 2 * x**2``:
  ``x[t+1] = x[t] - lr * curvature * x[max(t - delay, 0)]``; an array of ``steps + 1``
  floats starting with ``x0``.
* ``max_stable_lr_with_delay(curvature, delay)``: the largest learning rate for which that
  iteration converges, ``2 / curvature * sin(pi / (2 (2 delay + 1)))`` (Levin & May 1976); ``delay =
  0`` gives ``2 / curvature``.
"""

from __future__ import annotations

import math

import numpy as np

from nnopt_lib import parallel
from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _ring_allreduce(arrays):
    return parallel.ring_allreduce(arrays)


def _full_batch_gradient(grads, sizes):
    sizes = np.asarray(sizes, dtype=float)
    return sizes @ np.asarray(grads) / sizes.sum()


def _allreduce_traffic(n, workers):
    # ring: one chunk of n / K per step, 2 (K - 1) steps; server: the sum to K - 1 workers
    return 2 * (workers - 1) * n / workers, float((workers - 1) * n)


def _delayed_gradient_descent(x0, curvature, lr, delay, steps):
    return parallel.delayed_gradient_descent(lambda x: curvature * x, x0, lr=lr, delay=delay,
                                             steps=steps, blowup=math.inf)


def _max_stable_lr(curvature, delay):
    return parallel.max_stable_lr(curvature, delay)


# --------------------------------------------------------------------------- cases


def _ring_cases(rng):
    cases = []
    for workers, shape in [(1, (4,)), (2, (6,)), (3, (7,)), (4, (2, 3)), (5, (3,)),
                           (3, (10,)), (6, (4, 5)), (4, (1,))]:
        cases.append(([rng.normal(size=shape) for _ in range(workers)],))
    return cases


def _gradient_cases(rng):
    cases = []
    for sizes in ([10, 10, 10], [5, 20], [1, 2, 3, 4], [7, 0, 3], [100]):
        cases.append((rng.normal(size=(len(sizes), 4)), sizes))
    return cases


def _traffic_cases(rng):
    return [(int(n), int(k)) for n, k in [(1000, 1), (1000, 2), (1000, 4), (10**6, 8),
                                          (12, 3), (5, 7)]]


def _delay_cases(rng):
    cases = []
    for delay in (0, 1, 2, 5):
        for lr in (0.1, 0.5):
            cases.append((float(rng.normal()), float(rng.uniform(0.5, 2.0)), lr, delay, 25))
    return cases


def _stable_cases(rng):
    return [(float(h), int(d)) for h, d in [(1.0, 0), (1.0, 1), (2.5, 3), (0.1, 10),
                                            (4.0, 31)]]


register(Exercise(
    name="ring_allreduce",
    reference=_ring_allreduce,
    cases=_ring_cases,
    hint="Copy and flatten every worker's array and cut it into K chunks "
         "(np.array_split of the indices). Reduce-scatter: for s = 0..K-2, worker w sends "
         "chunk (w - s) % K to worker (w + 1) % K, which adds it to its own chunk; take all "
         "the payloads before adding any (the sends happen at once). All-gather: the same "
         "with chunk (w + 1 - s) % K, copied instead of added. Return every worker's buffer, "
         "reshaped.",
    rtol=1e-12, atol=1e-12,
))

register(Exercise(
    name="full_batch_gradient",
    reference=_full_batch_gradient,
    cases=_gradient_cases,
    hint="Shard k's mean gradient times its size is the sum of its examples' gradients. Add "
         "those sums and divide by the total number of examples: a weighted average with "
         "weights sizes[k] / sum(sizes) (the plain mean is right only for equal shards).",
))

register(Exercise(
    name="allreduce_traffic",
    reference=_allreduce_traffic,
    cases=_traffic_cases,
    hint="Ring: 2 (K - 1) steps, in each one chunk of n / K values leaves every worker. "
         "Server: it sends the n summed values back to each of the other K - 1 workers. "
         "With one worker nothing moves.",
))

register(Exercise(
    name="delayed_gradient_descent",
    reference=_delayed_gradient_descent,
    cases=_delay_cases,
    hint="Keep the whole list of iterates x. The gradient of f at x is curvature * x; step t "
         "uses the iterate x[max(t - delay, 0)], not x[t]. Return np.array of the steps + 1 "
         "iterates.",
))

register(Exercise(
    name="max_stable_lr_with_delay",
    reference=_max_stable_lr,
    cases=_stable_cases,
    hint="The bound is on lr * curvature: 2 * sin(pi / (2 * (2 * delay + 1))). Divide by the "
         "curvature.",
))
