r"""Exercises of notebook 17 (architecture search).

* ``kendall_tau(x, y)``: Kendall's rank correlation for values without ties,
  :math:`\tau = (C - D) / \binom{n}{2}`, where :math:`C` counts the pairs :math:`i < j` that
  both arrays order the same way (concordant) and :math:`D` those they order oppositely
  (discordant). Without ties it equals ``scipy.stats.kendalltau``. The cases have no ties.
* ``top_k_recall(full, proxy, k)``: the fraction of the ``k`` designs with the lowest ``full``
  values that are also among the ``k`` lowest ``proxy`` values -- how much of the true top ``k``
  a proxy would keep. The cases have no ties.
* ``hypervolume_2d(cost, loss, ref)``: the area of the region dominated by the points and bounded
  by the reference point ``ref = (ref_cost, ref_loss)``: the union of the rectangles
  :math:`[c_i, c_{ref}] \times [\ell_i, \ell_{ref}]` over the points with :math:`c_i < c_{ref}`
  and :math:`\ell_i < \ell_{ref}` (others add nothing; no point: 0.0). A larger hypervolume is a
  better Pareto front (Zitzler & Thiele 1998).
* ``mlp_parameter_count(sizes, batch_norm)``: the number of trainable parameters of
  ``nn.mlp(sizes, ...)``: every ``Linear(a, b)`` has :math:`ab + b`; with ``batch_norm`` every
  hidden layer (all but the last ``Linear``) adds a BatchNorm1d with :math:`2b` (its running
  statistics are buffers, not parameters).

M. G. Kendall, "A new measure of rank correlation", Biometrika 1938; E. Zitzler, L. Thiele,
"Multiobjective optimization using evolutionary algorithms -- a comparative case study",
PPSN 1998; E. Real et al., "Regularized evolution for image classifier architecture search",
AAAI 2019.
"""

from __future__ import annotations

import numpy as np

from nnopt_lib.exercises.core import Exercise, register

# --------------------------------------------------------------------------- references


def _kendall_tau(x, y):
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    i, j = np.triu_indices(len(x), k=1)
    # a pair is concordant when both differences have the same sign
    signs = np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
    return float(signs.sum() / len(i))


def _top_k_recall(full, proxy, k):
    best_full = set(np.argsort(full)[:k].tolist())
    best_proxy = set(np.argsort(proxy)[:k].tolist())
    return len(best_full & best_proxy) / k


def _hypervolume_2d(cost, loss, ref):
    ref_cost, ref_loss = ref
    points = sorted((float(c), float(v)) for c, v in zip(cost, loss, strict=True)
                    if c < ref_cost and v < ref_loss)
    if not points:
        return 0.0
    area, lowest = 0.0, ref_loss
    edges = [c for c, _ in points[1:]] + [ref_cost]
    # sweep left to right: between two costs the covered height is set by the lowest loss so far
    for (c, v), right in zip(points, edges, strict=True):
        lowest = min(lowest, v)
        area += (right - c) * (ref_loss - lowest)
    return area


def _mlp_parameter_count(sizes, batch_norm):
    count = 0
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        count += a * b + b
        if batch_norm and i < len(sizes) - 2:
            count += 2 * b
    return int(count)


# --------------------------------------------------------------------------- cases


def _kendall_cases(rng):
    cases = []
    for _ in range(20):
        n = int(rng.integers(2, 20))
        x = rng.normal(size=n)
        cases.append((x, x + rng.normal(scale=rng.uniform(0.1, 3.0), size=n)))
    cases.append((np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])))
    return cases


def _recall_cases(rng):
    cases = []
    for _ in range(20):
        n = int(rng.integers(3, 30))
        full = rng.normal(size=n)
        cases.append((full, full + rng.normal(scale=rng.uniform(0.1, 2.0), size=n),
                      int(rng.integers(1, n + 1))))
    return cases


def _hypervolume_cases(rng):
    cases = []
    for _ in range(20):
        n = int(rng.integers(1, 15))
        cost = rng.uniform(0.0, 10.0, size=n)
        loss = rng.uniform(0.0, 3.0, size=n)
        cases.append((cost, loss, (float(rng.uniform(5.0, 11.0)), float(rng.uniform(1.5, 3.5)))))
    cases.append((np.array([1.0, 2.0]), np.array([2.0, 1.0]), (3.0, 3.0)))  # area 3
    cases.append((np.array([4.0]), np.array([1.0]), (3.0, 3.0)))  # outside: 0
    return cases


def _count_cases(rng):
    cases = []
    for _ in range(20):
        depth = int(rng.integers(1, 5))
        sizes = [int(rng.integers(1, 100)) for _ in range(depth + 1)]
        cases.append((sizes, bool(rng.random() < 0.5)))
    cases.append(([40, 10], True))
    return cases


# --------------------------------------------------------------------------- registration

register(Exercise(
    name="kendall_tau",
    reference=_kendall_tau,
    cases=_kendall_cases,
    rtol=1e-9,
    hint="Loop over all pairs i < j (or use np.triu_indices); a pair adds +1 when "
         "sign(x_i − x_j) equals sign(y_i − y_j), −1 otherwise. Divide by n(n − 1)/2.",
))

register(Exercise(
    name="top_k_recall",
    reference=_top_k_recall,
    cases=_recall_cases,
    hint="np.argsort(values)[:k] gives the indices of the k lowest values; count the indices "
         "the two top-k sets share and divide by k.",
))

register(Exercise(
    name="hypervolume_2d",
    reference=_hypervolume_2d,
    cases=_hypervolume_cases,
    rtol=1e-9,
    hint="Keep the points inside the reference box, sort them by cost, and sweep left to right: "
         "from each point's cost to the next one's (the last: to ref_cost) the covered height "
         "is ref_loss minus the lowest loss seen so far.",
))

register(Exercise(
    name="mlp_parameter_count",
    reference=_mlp_parameter_count,
    cases=_count_cases,
    hint="Sum a·b + b over consecutive pairs (a, b) of sizes; with batch_norm add 2·b for every "
         "pair but the last (the output layer has no BatchNorm).",
))
