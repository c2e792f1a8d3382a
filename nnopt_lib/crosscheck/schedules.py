"""Schedules: the learning rate (and momentum) ``nnopt_lib.schedules`` and
``torch.optim.lr_scheduler`` set at each step.

A schedule is written once for both libraries, as a factory ``(library, optimizer) ->
scheduler`` called with ``nnopt_lib.schedules`` and with ``torch.optim.lr_scheduler``: the
two have the same class names and keywords.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nnopt_lib import optim, schedules
from nnopt_lib.crosscheck.comparison import Comparison, _compare, _describe
from nnopt_lib.crosscheck.device import _torch

ScheduleFactory = Callable[[Any, Any], Any]


def _inverse_time(t: int) -> float:
    return 1.0 / (1.0 + 0.1 * t)


def _setting(cls_name: str, **options: Any) -> tuple[str, ScheduleFactory]:
    """``("StepLR(step_size=30)", factory)``: a named setting of one scheduler class."""
    def factory(lib: Any, opt: Any) -> Any:
        return getattr(lib, cls_name)(opt, **options)
    return _describe(cls_name, options), factory


def _warmup_then_cosine(lib: Any, opt: Any) -> Any:
    return lib.SequentialLR(opt, [lib.LinearLR(opt, start_factor=0.1, total_iters=8),
                                  lib.CosineAnnealingLR(opt, T_max=30)], milestones=[8])


def _three_phases(lib: Any, opt: Any) -> Any:
    return lib.SequentialLR(opt, [lib.ConstantLR(opt, factor=0.5, total_iters=20),
                                  lib.ExponentialLR(opt, gamma=0.98),
                                  lib.StepLR(opt, step_size=10, gamma=0.5)],
                            milestones=[20, 100])


def _nested(lib: Any, opt: Any) -> Any:
    inner = lib.SequentialLR(opt, [lib.LinearLR(opt, start_factor=0.2, total_iters=5),
                                   lib.ExponentialLR(opt, gamma=0.9)], milestones=[5])
    return lib.SequentialLR(opt, [inner, lib.CosineAnnealingLR(opt, T_max=50)], milestones=[30])


#: Named schedules for :func:`compare_schedule`: name -> factory ``(library, optimizer)``.
#: One short name per class (a typical setting), then more settings of each: defaults,
#: edge values, several milestones, each anneal strategy, nested sequences. The matrix runs
#: every one (300 steps), and ``tests/test_schedules.py`` reuses them.
SCHEDULES: dict[str, ScheduleFactory] = {
    "LambdaLR": lambda lib, opt: lib.LambdaLR(opt, lr_lambda=_inverse_time),
    "StepLR": lambda lib, opt: lib.StepLR(opt, step_size=7, gamma=0.5),
    "MultiStepLR": lambda lib, opt: lib.MultiStepLR(opt, milestones=[5, 12, 30], gamma=0.3),
    "ConstantLR": lambda lib, opt: lib.ConstantLR(opt, factor=0.25, total_iters=9),
    "ExponentialLR": lambda lib, opt: lib.ExponentialLR(opt, gamma=0.93),
    "CosineAnnealingLR": lambda lib, opt: lib.CosineAnnealingLR(opt, T_max=17, eta_min=1e-3),
    "LinearLR": lambda lib, opt: lib.LinearLR(opt, start_factor=0.1, end_factor=1.0,
                                              total_iters=13),
    "OneCycleLR": lambda lib, opt: lib.OneCycleLR(opt, max_lr=1.0, total_steps=300),
    "OneCycleLR(linear)": lambda lib, opt: lib.OneCycleLR(
        opt, max_lr=0.5, total_steps=301, pct_start=0.25, anneal_strategy="linear",
        three_phase=True),
    "SequentialLR": _warmup_then_cosine,
    "ReduceLROnPlateau": lambda lib, opt: lib.ReduceLROnPlateau(opt, factor=0.5, patience=3),
    # one lr_lambda or max_lr per group: these two need two groups (lr=(0.1, 0.03))
    "LambdaLR(two groups)": lambda lib, opt: lib.LambdaLR(
        opt, lr_lambda=[_inverse_time, lambda t: 0.97**t]),
    "OneCycleLR(two groups)": lambda lib, opt: lib.OneCycleLR(
        opt, max_lr=[0.1, 0.02], total_steps=300, base_momentum=[0.8, 0.85]),
    **dict([
        _setting("StepLR", step_size=30),
        _setting("MultiStepLR", milestones=[30, 80, 80, 150], gamma=0.3),
        _setting("MultiStepLR", milestones=[200, 50]),
        _setting("ConstantLR"),
        _setting("LinearLR"),
        _setting("LinearLR", start_factor=0.01, total_iters=50),
        _setting("LinearLR", start_factor=1.0, end_factor=0.0, total_iters=300),
        _setting("LinearLR", start_factor=0.7, end_factor=0.2, total_iters=123),
        _setting("ExponentialLR", gamma=0.99),
        _setting("CosineAnnealingLR", T_max=100),
        _setting("CosineAnnealingLR", T_max=300, eta_min=1e-3),
        _setting("CosineAnnealingLR", T_max=50, eta_min=1e-3),
        _setting("OneCycleLR", max_lr=2.0, epochs=10, steps_per_epoch=30, div_factor=10.0,
                 final_div_factor=100.0, base_momentum=0.8, max_momentum=0.99),
        _setting("OneCycleLR", max_lr=0.01, total_steps=300),
        _setting("OneCycleLR", max_lr=0.3, total_steps=400, cycle_momentum=False),
        _setting("ReduceLROnPlateau"),
        _setting("ReduceLROnPlateau", patience=0),
        _setting("ReduceLROnPlateau", patience=3, factor=0.5, cooldown=5),
        _setting("ReduceLROnPlateau", threshold=0.01, threshold_mode="abs", patience=2),
        _setting("ReduceLROnPlateau", mode="max", patience=4, factor=0.7),
        _setting("ReduceLROnPlateau", mode="max", threshold_mode="abs", threshold=0.001,
                 patience=1),
        _setting("ReduceLROnPlateau", patience=1, factor=0.5, min_lr=0.02),
        _setting("ReduceLROnPlateau", patience=1, factor=0.9, eps=0.02),
    ]),
    "SequentialLR(three phases)": _three_phases,
    "SequentialLR(nested)": _nested,
}


def plateau_metrics(steps: int, *, seed: int = 0) -> np.ndarray:
    """A validation-loss-like sequence for ReduceLROnPlateau: progress, a noisy plateau, a
    slow drop, another plateau (2% multiplicative noise, seeded)."""
    t = np.arange(steps)
    level = np.select([t < 60, t < 150, t < 220],
                      [1.0 / (1.0 + 0.15 * t), 0.1, 0.1 - 0.0007 * (t - 150)], 0.05)
    return level * (1.0 + 0.02 * np.random.default_rng(seed).standard_normal(steps))


def _momentum(group: dict) -> float:
    """SGD's ``momentum``, or Adam's ``beta1`` (what OneCycleLR cycles)."""
    return group["betas"][0] if "betas" in group else group.get("momentum", 0.0)


def _run_schedule(lib: Any, opt: Any, factory: ScheduleFactory, steps: int,
                  metrics: np.ndarray, step_optimizer: Callable[[Any], None]
                  ) -> tuple[np.ndarray, Any]:
    """One row before each of ``steps`` steps: per parameter group, the lr, the momentum and
    ``get_last_lr()``.

    ``schedules.step_scheduler`` steps nnopt's and torch's schedulers alike: with the metric
    for a ``ReduceLROnPlateau``, without it for every other one.
    """
    scheduler = factory(lib, opt)
    record = []
    for t in range(steps):
        record.append([value for group, last in zip(opt.param_groups, scheduler.get_last_lr(),
                                                    strict=True)
                       for value in (group["lr"], _momentum(group), last)])
        step_optimizer(opt)
        schedules.step_scheduler(scheduler, float(metrics[t]))
    return np.array(record, dtype=np.float64), scheduler


def compare_schedule(name_or_factory: str | ScheduleFactory, *,
                     lr: float | Sequence[float] = 0.1, steps: int = 60,
                     metrics: Sequence[float] | None = None, optimizer: str = "sgd"
                     ) -> Comparison:
    """Compare the learning rate (and momentum) a scheduler sets at each of ``steps`` steps.

    ``name_or_factory`` is a key of :data:`SCHEDULES` or a function ``(library, optimizer)
    -> scheduler`` written once for both libraries, e.g.
    ``lambda lib, opt: lib.CosineAnnealingLR(opt, T_max=100)``. Both drive an ``optimizer``:
    ``"sgd"`` (momentum 0.9, so OneCycleLR's momentum cycling is checked too) or ``"adam"``
    (OneCycleLR cycles its ``beta1``), with one parameter group per value of ``lr``. The
    optimizer steps before the scheduler, as torch requires. ReduceLROnPlateau is stepped
    with ``metrics`` (default: :func:`plateau_metrics`). Compared before every step, per
    group: the lr, the momentum and ``get_last_lr()``. Learning rates are Python floats on
    both sides, so the comparison is float64 on the CPU. ``final``: the two schedulers.
    """
    if isinstance(name_or_factory, str):
        if name_or_factory not in SCHEDULES:
            raise ValueError(f"Unknown schedule: {name_or_factory!r}; "
                             f"choose from {sorted(SCHEDULES)}")
        name, factory = name_or_factory, SCHEDULES[name_or_factory]
    else:
        name, factory = getattr(name_or_factory, "__name__", "schedule"), name_or_factory
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"Invalid optimizer: {optimizer!r} (choose 'sgd' or 'adam')")
    lrs = [lr] if np.isscalar(lr) else list(lr)
    metrics = plateau_metrics(steps) if metrics is None else np.asarray(metrics, dtype=float)
    if len(metrics) < steps:
        raise ValueError(f"metrics has {len(metrics)} values for {steps} steps")
    torch = _torch()

    def make(lib: Any, param: Callable[[], Any]) -> Any:
        groups = [{"params": [param()], "lr": value} for value in lrs]
        return lib.SGD(groups, momentum=0.9) if optimizer == "sgd" else lib.Adam(groups)

    zeros = [np.zeros(1) for _ in lrs]
    ours, our_scheduler = _run_schedule(schedules, make(optim, lambda: np.zeros(1)), factory,
                                        steps, metrics, lambda opt: opt.step(zeros))

    def torch_step(opt: Any) -> None:
        for group in opt.param_groups:
            group["params"][0].grad = torch.zeros(1, dtype=torch.float64)
        opt.step()

    their_opt = make(torch.optim, lambda: torch.zeros(1, dtype=torch.float64,
                                                      requires_grad=True))
    with warnings.catch_warnings():
        # a nested SequentialLR steps its inner schedulers at construction, which torch
        # mistakes for a call before optimizer.step(); the order here is the right one
        warnings.filterwarnings("ignore", message="Detected call of", category=UserWarning)
        theirs, their_scheduler = _run_schedule(torch.optim.lr_scheduler, their_opt, factory,
                                                steps, metrics, torch_step)
    groups = f", {len(lrs)} groups" if len(lrs) > 1 else ""
    what = f"{name}({optimizer}, lr={lr}{groups}): lr, momentum, last lr"
    return _compare(what, ours, theirs, "cpu", "float64",
                    final=(our_scheduler, their_scheduler))
