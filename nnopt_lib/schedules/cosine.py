"""Cosine-shaped schedules: cosine annealing, and the 1cycle policy (OneCycleLR)."""

from __future__ import annotations

import math
from typing import Any

from nnopt_lib import optim
from nnopt_lib.optim.validation import (
    check_at_least_zero,
    check_flag,
    check_integer_at_least,
    require_finite,
    require_integer,
    require_real,
)
from nnopt_lib.schedules.base import LRScheduler, check_learning_rates, check_optimizer, per_group


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from the base lr down to ``eta_min`` over ``T_max`` steps:

    .. math::
        \eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\big(1 + \cos(\pi t / T_{\max})\big)

    Past ``T_max`` the cosine continues, so the lr climbs back up (period ``2 T_max``); there
    are no warm restarts. Computed, as in torch, by the recursion

    .. math:: \eta_t = \eta_{\min} + (\eta_{t-1} - \eta_{\min})
              \frac{1 + \cos(\pi t / T_{\max})}{1 + \cos(\pi (t-1) / T_{\max})}

    (with an additive step where the denominator would be 0). ``CosineAnnealingLR(optimizer,
    T_max, eta_min=0.0, last_epoch=-1)``; ``T_max`` a positive integer and ``eta_min`` a finite
    number >= 0 (torch accepts ``T_max=0``, which fails at the first step, and a negative or
    NaN ``eta_min``). I. Loshchilov and F. Hutter, "SGDR: Stochastic
    gradient descent with warm restarts", ICLR 2017.
    """

    def __init__(
        self, optimizer: optim.Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        check_integer_at_least(T_max, "T_max", 1)
        check_at_least_zero(eta_min, "eta_min", "eta_min value")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if (t - 1 - T) % (2 * T) == 0:
            # the step up from the bottom of the cosine, where the ratio below would be 0/0
            return [
                lr + (b - eta_min) * (1 - math.cos(math.pi / T)) / 2
                for lr, b in zip(self._current_lrs(), self.base_lrs, strict=True)
            ]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        cosine = 1 + math.cos(math.pi * self.last_epoch / self.T_max)
        return [self.eta_min + (b - self.eta_min) * cosine / 2 for b in self.base_lrs]


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy: the lr rises from ``max_lr/div_factor`` to ``max_lr`` during the
    first ``pct_start`` of the run, then anneals to ``initial_lr/final_div_factor``; momentum
    (or Adam's :math:`\beta_1`) moves the opposite way between ``max_momentum`` and
    ``base_momentum``.

    ``OneCycleLR(optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
    pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
    max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
    last_epoch=-1)``. Each phase interpolates with
    :math:`\text{end} + \tfrac12(\text{start}-\text{end})(1+\cos\pi p)` ("cos") or linearly,
    :math:`p` the fraction of the phase done. Stepping more than ``total_steps`` times is an
    error. Beyond torch's checks: ``max_lr`` and the momenta must be finite numbers >= 0,
    the divisors finite and > 0, ``pct_start`` not NaN and the flags booleans.
    L. N. Smith and N. Topin, "Super-convergence: very fast training of neural networks
    using large learning rates", 2017 (two phases follow fastai; ``three_phase`` follows the
    paper).
    """

    def __init__(
        self,
        optimizer: optim.Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        check_optimizer(optimizer)
        self.optimizer = optimizer
        self.total_steps = _total_steps(total_steps, epochs, steps_per_epoch)
        require_real(pct_start, "pct_start")  # a TypeError, as torch's comparison raises
        if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if math.isnan(pct_start):  # torch accepts NaN, and every lr is then NaN
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self._anneal_func_type = anneal_strategy
        check_flag(three_phase, "three_phase")
        check_flag(cycle_momentum, "cycle_momentum")
        _check_divisor(div_factor, "div_factor")
        _check_divisor(final_div_factor, "final_div_factor")
        max_lrs = per_group("max_lr", optimizer, max_lr)
        check_learning_rates("max_lr", max_lrs)

        # Each phase runs up to its end step, annealing the lr between two group entries
        # (named by key) and the momentum between two others; torch's layout, which is
        # also what the state dict saves.
        warmup_end = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                _phase(warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(
                    float(2 * pct_start * self.total_steps) - 2,
                    "max_lr",
                    "initial_lr",
                    "base_momentum",
                    "max_momentum",
                ),
                _phase(
                    self.total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"
                ),
            ]
        else:
            self._schedule_phases = [
                _phase(warmup_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                _phase(self.total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]

        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs, strict=True):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor

        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    "optimizer must support momentum or beta1 with `cycle_momentum` option "
                    f"enabled; {type(optimizer).__name__} has neither"
                )
            self.use_beta1 = "betas" in optimizer.defaults
            max_momenta = per_group("max_momentum", optimizer, max_momentum)
            base_momenta = per_group("base_momentum", optimizer, base_momentum)
            # torch accepts any number here (NaN, negative): the optimizer would run on it
            check_learning_rates("max_momentum", max_momenta)
            check_learning_rates("base_momentum", base_momenta)
            if last_epoch == -1:
                for group, top, low in zip(
                    optimizer.param_groups, max_momenta, base_momenta, strict=True
                ):
                    self._set_momentum(group, top)
                    group["max_momentum"] = top
                    group["base_momentum"] = low
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict[str, Any], momentum: float) -> None:
        if self.use_beta1:
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(
                f"Tried to step {t} times. The specified number of total steps is "
                f"{self.total_steps}"
            )
        lrs = []
        for group in self.optimizer.param_groups:
            phase_start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                phase_end = phase["end_step"]
                if t <= phase_end or i == len(self._schedule_phases) - 1:
                    pct = (t - phase_start) / (phase_end - phase_start)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        momentum = self._anneal(
                            group[phase["start_momentum"]], group[phase["end_momentum"]], pct
                        )
                        self._set_momentum(group, momentum)
                    break
                phase_start = phase_end
        return lrs


def _phase(
    end_step: float, start_lr: str, end_lr: str, start_momentum: str, end_momentum: str
) -> dict[str, Any]:
    return {
        "end_step": end_step,
        "start_lr": start_lr,
        "end_lr": end_lr,
        "start_momentum": start_momentum,
        "end_momentum": end_momentum,
    }


def _total_steps(total_steps: Any, epochs: Any, steps_per_epoch: Any) -> int:
    """torch's checks and messages; NumPy integers are accepted too (torch refuses them)."""
    if total_steps is not None:
        require_real(total_steps, "total_steps")  # a TypeError, as torch's comparison raises
        if total_steps <= 0 or not _is_int(total_steps):
            raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
        return int(total_steps)
    if epochs is not None and steps_per_epoch is not None:
        if not _is_int(epochs) or epochs <= 0:
            raise ValueError(f"Expected positive integer epochs, but got {epochs}")
        if not _is_int(steps_per_epoch) or steps_per_epoch <= 0:
            raise ValueError(
                f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}"
            )
        return int(epochs) * int(steps_per_epoch)
    raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")


def _is_int(value: Any) -> bool:
    try:
        require_integer(value, "value")
    except TypeError:
        return False
    return True


def _check_divisor(value: Any, name: str) -> None:
    """A finite number > 0. Zero raises ZeroDivisionError, as torch's division does; torch
    accepts negative, NaN and inf divisors, which give negative, NaN or zero rates."""
    require_real(value, name)
    if value == 0:
        raise ZeroDivisionError(f"{name} must be > 0 (the lr is divided by it), but got 0")
    if not value > 0:
        raise ValueError(f"{name} must be a finite number > 0, but got {name}={value}")
    require_finite(value, name, "a number > 0")
