"""Driving a scheduler: one step with or without a metric, and the lr curve of a schedule."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nnopt_lib import optim
from nnopt_lib.optim.validation import check_at_least_zero, check_integer_at_least
from nnopt_lib.schedules.base import LRScheduler
from nnopt_lib.schedules.plateau import ReduceLROnPlateau


def watches_metric(scheduler: Any) -> bool:
    """Whether ``scheduler.step`` needs the monitored metric: nnopt's or torch's
    ``ReduceLROnPlateau`` (or a subclass). torch's is recognised by its class name, so that
    this module needs no torch import."""
    return isinstance(scheduler, ReduceLROnPlateau) or any(
        cls.__name__ == "ReduceLROnPlateau" for cls in type(scheduler).__mro__
    )


def step_scheduler(scheduler: Any, metric: float | None = None) -> None:
    """Step any scheduler once: ``scheduler.step(metric)`` for one that watches a metric
    (``ReduceLROnPlateau``), ``scheduler.step()`` for every other (``metric`` is then unused).

    Training loops call this after each optimizer step (or epoch) with the value they
    monitor, e.g. the validation loss, and need not know which kind of scheduler they hold.
    It accepts torch's schedulers too, so a cross-check can step both sides the same way.
    A scheduler that watches a metric raises ``ValueError`` when ``metric`` is None.
    """
    if not callable(getattr(scheduler, "step", None)):
        raise TypeError(
            "step_scheduler needs a learning-rate scheduler (an object with a step method), "
            f"but got {type(scheduler).__name__}"
        )
    if watches_metric(scheduler):
        if metric is None:
            raise ValueError(
                f"{type(scheduler).__name__} watches a metric: pass it as "
                "step_scheduler(scheduler, metric), e.g. the validation loss; metric is None"
            )
        scheduler.step(metric)
    else:
        scheduler.step()


def lr_curve(
    make_scheduler: Callable[[optim.Optimizer], LRScheduler],
    *,
    lr: float,
    steps: int,
    metrics: Sequence[float] | None = None,
) -> np.ndarray:
    """The learning rate in force at each of ``steps`` steps, for plotting a schedule.

    Builds a throwaway one-parameter ``optim.SGD(lr=lr)``, calls ``make_scheduler(opt)``
    (e.g. ``lambda o: CosineAnnealingLR(o, T_max=100)``) and records ``group["lr"]`` before
    each step, stepping the scheduler in between. A :class:`ReduceLROnPlateau` needs
    ``metrics``: ``metrics[k]`` is the value observed after step ``k`` (at least ``steps - 1``
    of them).
    """
    check_at_least_zero(lr, "lr", "learning rate")
    check_integer_at_least(steps, "steps", 1)
    opt = optim.SGD([np.zeros(1)], lr=lr)
    scheduler = make_scheduler(opt)
    plateau = watches_metric(scheduler)
    if plateau and (metrics is None or len(metrics) < steps - 1):
        raise ValueError(
            f"ReduceLROnPlateau needs at least steps - 1 = {steps - 1} metrics, got "
            f"{None if metrics is None else len(metrics)}"
        )
    if not plateau and metrics is not None:
        raise ValueError(
            f"metrics are only used by ReduceLROnPlateau, not {type(scheduler).__name__}"
        )
    lrs = np.empty(steps)
    for k in range(steps):
        lrs[k] = opt.param_groups[0]["lr"]
        if k < steps - 1:
            step_scheduler(scheduler, None if metrics is None else metrics[k])
    return lrs
