"""Schedules that multiply the base lr by a factor: a function of t, steps, milestones, γ^t."""

from __future__ import annotations

import copy
import types
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from nnopt_lib import optim
from nnopt_lib.optim.validation import (
    check_at_least_zero,
    check_integer_at_least,
    require_integer,
)
from nnopt_lib.schedules.base import LRScheduler, check_optimizer


class LambdaLR(LRScheduler):
    r"""``lr_t = base_lr · lr_lambda(t)``, with a function of the step count (one per group
    if a list is given).

    ``LambdaLR(optimizer, lr_lambda, last_epoch=-1)``; e.g. a linear warm-up is
    ``lr_lambda=lambda t: min(1.0, (t + 1) / 100)``.

    State dict as torch's: a plain function or lambda cannot be saved, so its entry in
    ``"lr_lambdas"`` is ``None``; for a callable object, its ``__dict__`` is saved and loaded.
    """

    def __init__(
        self,
        optimizer: optim.Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        check_optimizer(optimizer)
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda should be a function, but got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [
            base_lr * fn(self.last_epoch)
            for fn, base_lr in zip(self.lr_lambdas, self.base_lrs, strict=True)
        ]

    _not_state = frozenset({"optimizer", "lr_lambdas"})

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["lr_lambdas"] = [
            None if isinstance(fn, types.FunctionType) else copy.deepcopy(fn.__dict__)
            for fn in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        if len(saved) != len(self.lr_lambdas):
            raise ValueError(
                f"the state dict has {len(saved)} lr_lambdas, this scheduler {len(self.lr_lambdas)}"
            )
        super().load_state_dict(state)
        for fn, attributes in zip(self.lr_lambdas, saved, strict=True):
            if attributes is not None:
                fn.__dict__.update(copy.deepcopy(attributes))


class StepLR(LRScheduler):
    r"""Multiply the lr by ``gamma`` every ``step_size`` steps:
    :math:`\eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}`.

    ``StepLR(optimizer, step_size, gamma=0.1, last_epoch=-1)``; ``step_size`` a positive
    integer and ``gamma`` a finite number >= 0 (torch accepts 0, which fails at the first
    step, and negative or NaN values, which give garbage). The classic "divide by 10 every
    30 epochs" schedule (He et al., "Deep residual learning for image recognition", CVPR
    2016).
    """

    def __init__(
        self, optimizer: optim.Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        check_integer_at_least(step_size, "step_size", 1)
        check_at_least_zero(gamma, "gamma", "gamma value")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


def _checked_milestones(milestones: Any) -> Counter[int]:
    if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Iterable):
        raise TypeError(
            f"milestones must be a list of step counts, but got {milestones!r} "
            f"({type(milestones).__name__})"
        )
    milestones = list(milestones)
    for milestone in milestones:
        require_integer(milestone, "each milestone")
        if milestone < 0:
            raise ValueError(f"milestones must be step counts >= 0, but got {milestones}")
    return Counter(milestones)


class MultiStepLR(LRScheduler):
    r"""Multiply the lr by ``gamma`` at each milestone:
    :math:`\eta_t = \eta_0\,\gamma^{\#\{m \le t\}}`.

    ``MultiStepLR(optimizer, milestones, gamma=0.1, last_epoch=-1)``; a milestone listed
    twice multiplies by ``gamma**2``. Milestones are integers >= 0 and ``gamma`` a finite
    number >= 0 (torch accepts a str, whose characters become "milestones" never reached).
    """

    def __init__(
        self,
        optimizer: optim.Optimizer,
        milestones: Iterable[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.milestones = _checked_milestones(milestones)
        check_at_least_zero(gamma, "gamma", "gamma value")
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [lr * factor for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        passed = bisect_right(sorted(self.milestones.elements()), self.last_epoch)
        return [b * self.gamma**passed for b in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Multiply the lr by ``gamma`` every step: :math:`\eta_t = \eta_0\,\gamma^t`.

    ``ExponentialLR(optimizer, gamma, last_epoch=-1)``; ``gamma`` a finite number >= 0
    (above 1 the lr grows, as for a learning-rate range test).
    """

    def __init__(self, optimizer: optim.Optimizer, gamma: float, last_epoch: int = -1) -> None:
        check_at_least_zero(gamma, "gamma", "gamma value")
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:  # resuming must not apply one more factor
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _closed_form_lr(self) -> list[float]:
        return [b * self.gamma**self.last_epoch for b in self.base_lrs]
