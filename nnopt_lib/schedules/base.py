"""The scheduler base class: base learning rates, the step counter and state dicts."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from nnopt_lib import optim
from nnopt_lib.optim.validation import check_at_least_zero, require_integer


def check_optimizer(optimizer: Any) -> None:
    if not isinstance(optimizer, optim.Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def per_group(name: str, optimizer: optim.Optimizer, value: Any) -> list[Any]:
    """A scalar broadcast to every param group, or a list/tuple with one value per group."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(value)} values, param_groups has {n}."
            )
        return list(value)
    return [value] * n


def check_learning_rates(name: str, values: Iterable[Any]) -> None:
    """Each value a finite number >= 0 (torch accepts negative, NaN and inf learning rates
    from a scheduler's arguments, which then drive every step)."""
    for value in values:
        check_at_least_zero(value, name, f"{name} value")


class LRScheduler:
    """Base class: keeps ``base_lrs`` and ``last_epoch`` and writes ``group["lr"]``.

    Subclasses implement :meth:`get_lr`, the learning rates for the new ``last_epoch``
    (usually computed from the current ``group["lr"]``, as torch does).

    ``last_epoch=-1`` (default) starts a new schedule; a larger value resumes one and then
    needs ``group["initial_lr"]`` to be present already.

    State dicts: as in torch, ``state_dict()`` is the scheduler's ``__dict__`` without the
    optimizer (here deep-copied, so it does not change as the scheduler steps on), and
    ``load_state_dict()`` writes such a dict back. Every scheduler's attributes carry
    torch's names, so a torch scheduler's state dict loads here and ours into torch. The
    optimizer's own state (its ``group["lr"]``, ``initial_lr``, ...) travels in the
    optimizer's state dict, as in torch: save and load both.
    """

    #: keys in torch's state dicts that nnopt's schedulers have no use for (torch's guard
    #: against calling ``get_lr`` by hand); ignored when such a dict is loaded
    _torch_only_keys: frozenset[str] = frozenset({"_get_lr_called_within_step"})
    #: attributes that are not saved by ``state_dict`` (subclasses add what they save
    #: their own way)
    _not_state: frozenset[str] = frozenset({"optimizer"})

    def __init__(self, optimizer: optim.Optimizer, last_epoch: int = -1) -> None:
        check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                # setdefault: a second scheduler on the same optimizer sees the same base lr
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when "
                        f"resuming scheduler with last_epoch={last_epoch} >= 0"
                    )
            # torch accepts any last_epoch here (after the KeyError above)
            require_integer(last_epoch, "last_epoch")
            if last_epoch < -1:
                raise ValueError(f"last_epoch must be -1 or a step count >= 0, got {last_epoch}")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """The constructor's step to ``last_epoch = 0`` (``_is_initial`` lets a schedule tell
        it apart from a real step, as torch's does)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """Learning rates of every group at the (already incremented) ``last_epoch``."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one step (call it after ``optimizer.step``)."""
        self._step_count += 1
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def get_last_lr(self) -> list[float]:
        """The learning rate of every param group, as last set by this scheduler."""
        return list(self._last_lr)

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def _set_lrs(self, lrs: Iterable[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = self._current_lrs()

    def _restart(self) -> None:
        """Jump to ``last_epoch = 0`` using the closed form (torch's ``_update_lr(0)``);
        :class:`SequentialLR` does this when it hands over at a milestone."""
        self.last_epoch = 0
        closed_form = getattr(self, "_closed_form_lr", None)
        self._set_lrs(closed_form() if closed_form is not None else self.get_lr())

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer, deep-copied (torch's keys and values)."""
        return {
            key: copy.deepcopy(value)
            for key, value in vars(self).items()
            if key not in self._not_state
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the attributes from a state dict of this scheduler class (nnopt's or
        torch's). Keys this class does not have raise ``ValueError`` (torch would set them
        silently), except torch's own bookkeeping keys; missing keys keep their values, as
        in torch. The dict is copied, not referenced."""
        self.__dict__.update(self._checked_state(state_dict))

    def _checked_state(self, state_dict: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a dict, but got {type(state_dict).__name__}")
        known = set(vars(self)) - self._not_state
        unknown = set(state_dict) - known - self._torch_only_keys
        if unknown:
            raise ValueError(
                f"unexpected key(s) {sorted(unknown)} in the state dict of "
                f"{type(self).__name__}; was it saved from another scheduler class?"
            )
        return {key: copy.deepcopy(value) for key, value in state_dict.items() if key in known}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.get_last_lr()})"
