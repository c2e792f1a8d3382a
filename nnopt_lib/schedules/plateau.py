"""Reduce the learning rate when a monitored metric stops improving (ReduceLROnPlateau)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nnopt_lib import optim
from nnopt_lib.optim.validation import check_at_least_zero, check_integer_at_least, require_real
from nnopt_lib.schedules.base import LRScheduler, check_learning_rates, check_optimizer


class ReduceLROnPlateau(LRScheduler):
    r"""Multiply the lr by ``factor`` when a monitored metric stops improving.

    ``step(metrics)`` is called with the metric (e.g. validation loss) after each epoch. A
    value is an improvement if it beats the best so far by more than the threshold: in
    ``mode="min"``, ``metric < best·(1 − threshold)`` (``threshold_mode="rel"``) or
    ``metric < best − threshold`` (``"abs"``); mirrored for ``"max"``. After more than
    ``patience`` epochs without improvement, every group's lr becomes
    ``max(lr·factor, min_lr)`` (skipped if that changes it by ``eps`` or less), and the next
    ``cooldown`` epochs are not counted.

    ``ReduceLROnPlateau(optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
    threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8)``. Unlike the other schedulers it
    does not set ``initial_lr`` and does not change the lr when constructed. Beyond torch's
    checks: ``factor`` in [0, 1), ``patience`` and ``cooldown`` integers >= 0, and
    ``threshold``, ``min_lr``, ``eps`` finite numbers >= 0 (torch accepts even a str for
    ``cooldown`` or ``min_lr``, and fails only when the lr is first reduced).

    Its state dict holds ``best``, ``num_bad_epochs``, ``cooldown_counter`` and the
    settings, under torch's names; torch's extra ``mode_worse`` and ``default_min_lr`` are
    ignored when a torch state dict is loaded (nnopt derives the first and has no use for the
    second).
    """

    _torch_only_keys = LRScheduler._torch_only_keys | {"mode_worse", "default_min_lr"}

    def __init__(
        self,
        optimizer: optim.Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0,
        eps: float = 1e-8,
    ) -> None:
        require_real(factor, "factor")
        if not factor < 1.0:  # torch's check; NaN, which torch accepts, fails it too
            raise ValueError(f"Factor should be < 1.0, but got {factor}.")
        if factor < 0:  # torch accepts it, and the lr turns negative at the first reduction
            raise ValueError(f"factor must be in [0, 1), but got factor={factor}")
        check_optimizer(optimizer)
        self.optimizer = optimizer
        self.factor = factor
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(min_lr)}")
            self.min_lrs = list(min_lr)
        else:
            self.min_lrs = [min_lr] * n
        check_learning_rates("min_lr", self.min_lrs)
        check_integer_at_least(patience, "patience", 0)
        check_integer_at_least(cooldown, "cooldown", 0)
        check_at_least_zero(threshold, "threshold", "threshold value")
        check_at_least_zero(eps, "eps", "eps value")
        _check_choice(mode, "mode", ("min", "max"))
        _check_choice(threshold_mode, "threshold mode", ("rel", "abs"))
        self.mode = mode
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = self._current_lrs()

    def _is_better(self, value: float) -> bool:
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return value < self.best * (1.0 - self.threshold)
            return value < self.best - self.threshold
        if self.threshold_mode == "rel":
            return value > self.best * (self.threshold + 1.0)
        return value > self.best + self.threshold

    def step(self, metrics: float) -> None:  # type: ignore[override]
        """Record one epoch's metric and reduce the lr if it has plateaued."""
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # epochs right after a reduction do not count
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                old_lr = float(group["lr"])
                new_lr = max(old_lr * self.factor, min_lr)
                if old_lr - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        state = self._checked_state(state_dict)
        _check_choice(state.get("mode", self.mode), "mode", ("min", "max"))
        _check_choice(
            state.get("threshold_mode", self.threshold_mode), "threshold mode", ("rel", "abs")
        )
        self.__dict__.update(state)


def _check_choice(value: Any, name: str, choices: tuple[str, ...]) -> None:
    """torch's types: a non-string is a TypeError, an unknown string a ValueError."""
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be one of {choices}, but got {value!r} ({type(value).__name__})"
        )
    if value not in choices:
        raise ValueError(f"{name} {value} is unknown!")
