"""The whole cross-check matrix, and ``python -m nnopt_lib.crosscheck`` that runs it.

Every optimizer with every option switched on and off, on three surfaces, and with two
parameter groups on a least-squares problem; every schedule; clipping; every layer and loss
case of :data:`~nnopt_lib.crosscheck.layers.LAYER_TWINS` and
:data:`~nnopt_lib.crosscheck.layers.LOSS_TWINS`; state dicts handed between the libraries;
the weight initialisers, exactly or in distribution (:data:`INIT_CASES`).
:func:`main` prints one line per group and returns 1 on any mismatch. A new family of
checks is one more ``_..._group`` function listed in :func:`_groups`. The unit tests
parametrise over these cases (``tests/test_optim.py``, ``test_schedules.py``, ...), so a
case added here is checked by ``pytest`` too.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from nnopt_lib import optim, surfaces
from nnopt_lib.crosscheck.clipping import compare_clip
from nnopt_lib.crosscheck.comparison import TOLERANCES, Comparison
from nnopt_lib.crosscheck.compress import compression_group
from nnopt_lib.crosscheck.device import device_report, import_torch
from nnopt_lib.crosscheck.distillation import distillation_group
from nnopt_lib.crosscheck.distributed import ddp_group
from nnopt_lib.crosscheck.initialisers import compare_init
from nnopt_lib.crosscheck.layers import LAYER_TWINS, LOSS_TWINS, compare_layer
from nnopt_lib.crosscheck.optimizers import TEACHING_EQUIVALENTS, compare_optimizer
from nnopt_lib.crosscheck.precision import precision_group
from nnopt_lib.crosscheck.schedules import SCHEDULES, compare_schedule, plateau_metrics
from nnopt_lib.crosscheck.state_dicts import (
    DIRECTIONS,
    HANDOVERS,
    MODULE_STATE_CASES,
    OPTIMIZER_STATE_CASES,
    SCHEDULER_STATE_CASES,
    compare_module_state,
    compare_optimizer_state,
    compare_scheduler_state,
)

Group = tuple[str, list[Callable[[], Comparison]]]

#: Option sets per optimizer: defaults, then every switch flipped and every
#: hyperparameter moved off its default at least once. The learning rate comes from
#: :data:`MATRIX_LR` (per surface).
OPTION_CASES: dict[str, list[dict[str, Any]]] = {
    "sgd": [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True},
            {"momentum": 0.9, "dampening": 0.5}, {"weight_decay": 0.1},
            {"momentum": 0.9, "maximize": True}],
    "adagrad": [{}, {"lr_decay": 0.01}, {"weight_decay": 0.1},
                {"initial_accumulator_value": 0.1, "eps": 1e-6}, {"maximize": True}],
    "rmsprop": [{}, {"alpha": 0.9}, {"momentum": 0.9}, {"centered": True},
                {"centered": True, "momentum": 0.5, "weight_decay": 0.1, "eps": 1e-6},
                {"maximize": True}],
    "adadelta": [{}, {"rho": 0.5}, {"weight_decay": 0.1, "eps": 1e-4}, {"maximize": True}],
    "adam": [{}, {"amsgrad": True}, {"betas": (0.8, 0.99), "eps": 1e-6},
             {"weight_decay": 0.1}, {"weight_decay": 0.1, "decoupled_weight_decay": True},
             {"amsgrad": True, "maximize": True}],
    "adamw": [{}, {"amsgrad": True}, {"weight_decay": 0.1, "betas": (0.8, 0.99)},
              {"maximize": True}],
    "nadam": [{}, {"momentum_decay": 0.01}, {"weight_decay": 0.1},
              {"weight_decay": 0.1, "decoupled_weight_decay": True}, {"maximize": True}],
    "ema_momentum": [{}, {"beta": 0.5}],
    "heavy_ball": [{}, {"beta": 0.5}],
}

#: Learning rate per (kind of optimizer, problem): small enough that no case diverges (a
#: diverged run compares NaN with NaN, which is no check at all) and that no run is chaotic.
#: (RMSprop(alpha=0.9) at lr=1e-2 on Rosenbrock is: moving the start by 1e-15 moves step 100
#: by 3e-2, so any rounding difference, even a legitimate one, would be amplified the same way.)
MATRIX_LR = {
    "plain": {"rosenbrock": 5e-4, "beale": 1e-3, "quadratic": 0.02, "least_squares": 0.05},
    "adaptive": {"rosenbrock": 3e-3, "beale": 1e-2, "quadratic": 0.05, "least_squares": 0.05},
    "adadelta": {"rosenbrock": 1.0, "beale": 1.0, "quadratic": 1.0, "least_squares": 1.0},
}
_PLAIN = {"sgd", "ema_momentum", "heavy_ball"}

MATRIX_STEPS = 100
#: float32 carries ~7 digits and some cases (Adadelta on Rosenbrock) amplify rounding
#: 1e5-fold after ~60 steps, so the float32 matrix stops at 50 steps.
MATRIX_STEPS_FLOAT32 = 50

#: ``(method, keyword arguments)`` for :func:`compare_clip`: small and large gradients for
#: every kind of norm (2, 1, a general p above and below 1, inf as a number and as torch's
#: string, -inf, 0), gradients of rank 0 and empty ones, then clipping by value.
CLIP_CASES: list[tuple[str, dict[str, Any]]] = [
    *[("norm", {"norm_type": p, "scale": s}) for p in (2.0, 1.0, math.inf, 3.0)
      for s in (0.05, 3.0)],
    *[("norm", {"norm_type": p}) for p in (0.5, "inf", -math.inf, 0.0)],
    ("norm", {"shapes": ((), (0,), (3, 2))}),
    *[("value", {"clip_value": 0.5, "scale": s}) for s in (0.1, 3.0)],
    ("value", {"clip_value": 0.5, "shapes": ((), (0,), (3, 2))}),
]

#: ``(schedule name, keyword arguments)`` for :func:`compare_schedule`: every schedule of
#: :data:`SCHEDULES` over 300 steps, those with one setting per group on two groups, the
#: rising metric for ``mode="max"``, and a few more on Adam (OneCycleLR cycles its beta1)
#: and on two groups.
SCHEDULE_STEPS = 300
_TWO_GROUPS = (0.1, 0.03)
_PLATEAU_GROUPS = (0.1, 0.5)
_SCHEDULE_SETTINGS: dict[str, dict[str, Any]] = {
    "LambdaLR(two groups)": {"lr": _TWO_GROUPS},
    "OneCycleLR(two groups)": {"lr": _TWO_GROUPS, "optimizer": "adam"},
    "OneCycleLR(max_lr=0.01, total_steps=300)": {"optimizer": "adam"},
    **{name: {"lr": _PLATEAU_GROUPS,
              "metrics": 2.0 - plateau_metrics(SCHEDULE_STEPS) if "max" in name else None}
       for name in SCHEDULES if name.startswith("ReduceLROnPlateau")},
}
SCHEDULE_CASES: list[tuple[str, dict[str, Any]]] = [
    *[(name, {"steps": SCHEDULE_STEPS, **_SCHEDULE_SETTINGS.get(name, {})})
      for name in SCHEDULES],
    ("CosineAnnealingLR(T_max=50, eta_min=0.001)", {"steps": 200, "lr": _TWO_GROUPS}),
    ("SequentialLR", {"steps": 100, "lr": _TWO_GROUPS}),
    ("LinearLR", {"steps": 100, "optimizer": "adam"}),
]

#: ``(name, options, variant)`` for :func:`compare_layer`: the cases listed with each twin.
#: The variant is a layer's mode ("train" or "eval"), or a loss's kind of target.
LAYER_CASES: list[tuple[str, dict[str, Any], str]] = [
    (cls.__name__, dict(options), variant)
    for cls, twin in (*LAYER_TWINS.items(), *LOSS_TWINS.items())
    for options, variant in twin.cases
]


#: ``(name, keyword arguments)`` for :func:`compare_init`. Exact: the gain table, the fans
#: of 2-D to 5-D shapes, ``zeros_``, and ``orthogonal_``'s ``W^T W = gain^2 I`` (tall, wide,
#: conv-shaped). In distribution: every random initialiser with its defaults on a Linear
#: weight, Kaiming's mode, nonlinearity and slope moved off their defaults (torch's
#: ``nn.Linear`` default ``a = sqrt(5)`` too), conv-shaped weights, ``orthogonal_``'s entries,
#: and ``trunc_normal_``'s absolute bounds: the default [-2, 2] with ``std=0.02`` (which
#: truncates nothing), the two-sigma cut, an asymmetric window off the mean, a window in
#: the tail and one beyond the mean (the last two take the other sampling method).
INIT_LINEAR = (64, 32)
INIT_CONV = (16, 8, 3, 3)
INIT_CASES: list[tuple[str, dict[str, Any]]] = [
    ("calculate_gain", {}),
    *[("_calculate_fan_in_and_fan_out", {"shape": shape})
      for shape in ((5, 3), (4, 3, 5), INIT_CONV, (2, 3, 4, 5, 6))],
    ("zeros_", {"shape": INIT_LINEAR}),
    ("orthogonal_", {"shape": (6, 6)}),
    *[("orthogonal_", {"shape": shape, "options": {"gain": 2.0}})
      for shape in ((8, 4), (4, 8), INIT_CONV)],
    *[(name, {"shape": INIT_LINEAR}) for name in
      ("xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
       "trunc_normal_")],
    *[(name, {"shape": INIT_LINEAR, "options": options})
      for name in ("kaiming_uniform_", "kaiming_normal_")
      for options in ({"mode": "fan_out"}, {"nonlinearity": "relu"},
                      {"a": 0.2, "nonlinearity": "leaky_relu"},
                      {"a": 0.2, "mode": "fan_out", "nonlinearity": "leaky_relu"})],
    ("kaiming_uniform_", {"shape": INIT_LINEAR, "options": {"a": math.sqrt(5)}}),
    ("kaiming_normal_", {"shape": INIT_CONV, "options": {"mode": "fan_out",
                                                         "nonlinearity": "relu"}}),
    ("kaiming_uniform_", {"shape": INIT_CONV}),
    ("xavier_uniform_", {"shape": INIT_CONV, "options": {"gain": 5 / 3}}),
    ("xavier_normal_", {"shape": INIT_CONV}),
    ("orthogonal_", {"shape": (4, 3), "check": "distribution"}),
    ("orthogonal_", {"shape": (3, 2, 2, 2), "options": {"gain": 2.0}, "check": "distribution"}),
    *[("trunc_normal_", {"shape": INIT_LINEAR, "options": options})
      for options in ({"std": 0.02}, {"std": 0.02, "a": -0.04, "b": 0.04},
                      {"mean": 1.0, "std": 0.5, "a": 0.25, "b": 2.0},
                      {"a": 1.5, "b": 3.0}, {"mean": 0.5, "std": 2.0, "a": -1.0, "b": 0.0})],
]


def matrix_surfaces() -> list[surfaces.Surface]:
    """Rosenbrock, Beale, and an ill-conditioned quadratic rotated by 30 degrees."""
    return [surfaces.rosenbrock(), surfaces.beale(),
            surfaces.quadratic(condition=10.0, angle_deg=30.0)]


def _group_options(name: str, lr: float) -> list[dict[str, Any]]:
    """Two parameter groups: the defaults, and half the lr (plus weight decay where the
    optimizer has it)."""
    second: dict[str, Any] = {"lr": lr / 2}
    if name not in TEACHING_EQUIVALENTS:
        second["weight_decay"] = 0.05
    return [{}, second]


def optimizer_cases(name: str, dtype: str = "float64") -> list[dict[str, Any]]:
    """The matrix's cases of optimizer ``name``: keyword arguments of
    :func:`compare_optimizer` (``options`` included), every option set on each surface, then
    two parameter groups on the least-squares problem."""
    kind = "adadelta" if name == "adadelta" else "plain" if name in _PLAIN else "adaptive"
    steps = MATRIX_STEPS if dtype == "float64" else MATRIX_STEPS_FLOAT32
    cases: list[dict[str, Any]] = [
        {"options": {"lr": MATRIX_LR[kind][surf.name], **options}, "surface": surf,
         "steps": steps}
        for options in OPTION_CASES.get(name, [{}]) for surf in matrix_surfaces()]
    lr = MATRIX_LR[kind]["least_squares"]
    cases.append({"options": {"lr": lr}, "problem": "least_squares", "steps": steps,
                  "param_groups": _group_options(name, lr)})
    return cases


#: ``(family, name, options, handover)`` of every state-dict round trip: each optimizer
#: setting handed over both ways and copied (deepcopy, pickle), each scheduler and model
#: both ways.
STATE_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    *[("optimizer", name, options, handover) for name, settings in OPTIMIZER_STATE_CASES.items()
      for options in settings for handover in HANDOVERS],
    *[("scheduler", name, {}, handover) for name in SCHEDULER_STATE_CASES
      for handover in DIRECTIONS],
    *[("module", name, {}, handover) for name in MODULE_STATE_CASES for handover in DIRECTIONS],
]


def compare_layer_case(name: str, options: dict[str, Any], variant: str, *,
                       dtype: str = "float64") -> Comparison:
    """Run one case of :data:`LAYER_CASES` (the variant is a mode, or a loss's target kind)."""
    if any(cls.__name__ == name for cls in LOSS_TWINS):
        return compare_layer(name, options=options, target=variant, dtype=dtype)
    return compare_layer(name, options=options, mode=variant, dtype=dtype)


def compare_state_case(family: str, name: str, options: dict[str, Any], handover: str, *,
                       dtype: str = "float64") -> Comparison:
    """Run one case of :data:`STATE_CASES`."""
    if family == "optimizer":
        return compare_optimizer_state(name, options, handover=handover, dtype=dtype)
    if family == "scheduler":  # Python floats: always float64
        return compare_scheduler_state(name, handover=handover)
    return compare_module_state(name, handover=handover, dtype=dtype)


def _optimizer_groups(dtype: str) -> list[Group]:
    return [(f"optimizer {name}",
             [lambda n=name, c=case: compare_optimizer(n, **c, dtype=dtype)
              for case in optimizer_cases(name, dtype)])
            for name in optim.OPTIMIZERS]


def _schedule_group(dtype: str) -> Group:
    # learning rates are Python floats on both sides: always a float64 comparison
    return "schedules", [lambda n=n, k=k: compare_schedule(n, **k) for n, k in SCHEDULE_CASES]


def _clip_group(dtype: str) -> Group:
    return "clipping", [lambda m=m, o=o: compare_clip(m, **o, dtype=dtype)
                        for m, o in CLIP_CASES]


def _layer_group(dtype: str) -> Group:
    return "layers", [lambda c=case: compare_layer_case(*c, dtype=dtype) for case in LAYER_CASES]


def _state_dict_group(dtype: str) -> Group:
    return "state dicts", [lambda c=case: compare_state_case(*c, dtype=dtype)
                           for case in STATE_CASES]


def _init_group(dtype: str) -> Group:
    return "initialisers", [lambda n=n, k=k: compare_init(n, **k, dtype=dtype)
                            for n, k in INIT_CASES]


def _groups(dtype: str) -> list[Group]:
    """Every group of the matrix, in the order :func:`main` prints them."""
    return [*_optimizer_groups(dtype), _schedule_group(dtype), _clip_group(dtype),
            _layer_group(dtype), _state_dict_group(dtype), _init_group(dtype),
            precision_group(dtype), compression_group(dtype),
            distillation_group(dtype), ddp_group(dtype)]


def _closeness_to_failing(result: Comparison) -> float:
    """How near a case came to failing: |Δ| / tolerance (an exact comparison, tolerance 0,
    counts 0 when equal), infinity once failed. The group's line reports the largest."""
    if not result.passed:
        return math.inf
    return result.max_abs_diff / result.tolerance if result.tolerance else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    """Run every comparison, print one line per group, return 1 on any mismatch.

    Without torch it prints why and how to install it, and returns 1: nothing was checked.
    """
    parser = argparse.ArgumentParser(
        prog="python -m nnopt_lib.crosscheck",
        description="Run the same thing in nnopt_lib and in PyTorch, and compare step by step.")
    parser.add_argument("--dtype", choices=sorted(TOLERANCES), default="float64",
                        help="torch dtype of the comparisons (default float64)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = parser.parse_args(argv)
    if import_torch() is None:
        return 1

    print(device_report(dtype=args.dtype))
    print(f"{'group':<24}{'cases':>6}  {'worst |Δ|':>10}  {'tolerance':>9}  result")
    failures: list[str] = []
    total = 0
    began = time.perf_counter()
    for group, cases in _groups(args.dtype):
        results: list[Comparison] = []
        crashed = 0
        for case in cases:
            total += 1
            try:
                result = case()
            except Exception as error:  # a crash is a failed case, not the end of the matrix
                crashed += 1
                failures.append(f"{group}: {type(error).__name__}: {error}")
                continue
            results.append(result)
            if args.verbose:
                print(f"    {result!r}")
            if not result.passed:
                failures.append(repr(result))
        bad = crashed + sum(not r.passed for r in results)
        worst = max(results, key=_closeness_to_failing, default=None)
        diff = f"{worst.max_abs_diff:>10.2e}  {worst.tolerance:>9.1e}" if worst else " " * 21
        status = "ok" if bad == 0 else f"{bad} FAILED"
        print(f"{group:<24}{len(cases):>6}  {diff}  {status}")
    seconds = time.perf_counter() - began
    if failures:
        print(f"\n{len(failures)} of {total} comparisons FAILED ({seconds:.1f} s):")
        for line in failures:
            print(f"  {line}")
        return 1
    print(f"all {total} comparisons passed ({seconds:.1f} s)")
    return 0
