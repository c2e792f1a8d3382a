"""Schedules in sequence: one schedule until a milestone, then the next (SequentialLR)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from typing import Any

from nnopt_lib import optim
from nnopt_lib.optim.validation import require_integer
from nnopt_lib.schedules.base import LRScheduler
from nnopt_lib.schedules.plateau import ReduceLROnPlateau


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` (restarted at its
    own step 0), and so on; e.g. a linear warm-up followed by cosine annealing::

        warmup = LinearLR(opt, start_factor=0.1, total_iters=10)
        decay = CosineAnnealingLR(opt, T_max=90)
        sched = SequentialLR(opt, schedulers=[warmup, decay], milestones=[10])

    ``SequentialLR(optimizer, schedulers, milestones, last_epoch=-1)``; the schedulers must
    belong to ``optimizer``, ``len(milestones) == len(schedulers) - 1`` and the milestones
    are increasing integers. Constructing it undoes the construction steps of the inner
    schedulers and restarts the first one. Its state dict nests the state dicts of the
    inner schedulers under ``"_schedulers"``, as torch's does.
    """

    _not_state = frozenset({"optimizer", "_schedulers"})

    def __init__(
        self,
        optimizer: optim.Optimizer,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ) -> None:
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler, but got no scheduler.")
        for i, scheduler in enumerate(schedulers):
            if not hasattr(scheduler, "optimizer"):
                raise TypeError(
                    f"SequentialLR at index {i} should have `optimizer` as its attribute."
                )
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(
                    "SequentialLR does not support `ReduceLROnPlateau` scheduler as it requires "
                    "a metric to be passed to `step`, but got one at index "
                    f"{i} in the given schedulers sequence."
                )
            if scheduler.optimizer is not optimizer:
                raise ValueError(
                    "SequentialLR expects all schedulers to belong to the same optimizer, but "
                    f"got scheduler {type(scheduler).__name__} at index {i} with a different "
                    "optimizer."
                )
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more "
                f"than the number of milestone points, but got number of schedulers "
                f"{len(schedulers)} and the number of milestones to be equal to {len(milestones)}"
            )
        # torch checks neither: a fractional milestone is never reached (no hand-over), and
        # unsorted ones hand over in the wrong order
        previous = 0
        for milestone in milestones:
            require_integer(milestone, "each milestone")
            if milestone <= previous:
                raise ValueError(
                    f"milestones must be increasing step counts > 0, but got {list(milestones)}"
                )
            previous = milestone
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1

        # Every inner scheduler already took its construction step; undo them: back to the
        # base lrs and one epoch earlier, then restart only the one that runs at step 0.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo_construction_step(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    @staticmethod
    def _undo_construction_step(scheduler: Any) -> None:
        if hasattr(scheduler, "_schedulers"):  # nested SequentialLR
            for inner in scheduler._schedulers:
                SequentialLR._undo_construction_step(inner)
        else:
            scheduler.last_epoch -= 1

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._restart()  # the next schedule begins at its own step 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        state = dict(state_dict)
        inner = state.pop("_schedulers", None)
        if inner is None or len(inner) != len(self._schedulers):
            raise ValueError(
                f"the state dict must hold the state of {len(self._schedulers)} inner "
                f"schedulers under '_schedulers', but has "
                f"{'none' if inner is None else len(inner)}"
            )
        checked = self._checked_state(state)
        backups = [scheduler.state_dict() for scheduler in self._schedulers]
        try:
            for scheduler, inner_state in zip(self._schedulers, inner, strict=True):
                scheduler.load_state_dict(inner_state)
        except Exception:
            # an inner state dict was invalid: put back the ones already loaded
            for scheduler, backup in zip(self._schedulers, backups, strict=True):
                scheduler.load_state_dict(backup)
            raise
        self.__dict__.update(checked)
