"""The callback protocol of :func:`nnopt_lib.training.fit`, and ready-made callbacks.

A callback is a :class:`Callback` subclass that overrides some of its hooks. ``fit`` calls
them, in the order the callbacks were given, with one :class:`TrainingState`::

    on_train_begin(state)
    for each epoch:
        on_epoch_begin(state)
        for each minibatch:
            forward, loss, backward -> state.loss, state.grads
            on_after_backward(state)     # may change state.loss / state.grads,
                                         # or set state.take_step = False
            if state.take_step: clip, optimizer.step(state.grads), scheduler (per step)
                on_step_end(state)
        evaluate -> state.metrics
        on_epoch_end(state)              # may read / add state.metrics
    on_train_end(state)                  # also after an early stop or a divergence

Any hook may set ``state.stop_training = True``; ``fit`` stops after that minibatch (an
unfinished epoch records no epoch metrics, as after a divergence).

Ready-made: :class:`EarlyStopping` (Keras / Lightning semantics, restores the best weights
with ``model.state_dict()``), :class:`WeightPenalty` (L1 / L2 penalties on chosen
parameters) and :class:`GradientAccumulation` (one update per k minibatches).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnopt_lib import checks, regularization
from nnopt_lib.history import History

__all__ = [
    "Callback",
    "EarlyStopping",
    "GradientAccumulation",
    "TrainingState",
    "WeightPenalty",
]


@dataclass(eq=False)
class TrainingState:
    """What a callback can see and change during :func:`nnopt_lib.training.fit`.

    Fixed for the run: ``model``, ``loss_fn``, ``optimizer``, ``scheduler`` (or ``None``),
    ``epochs`` (requested) and ``batches_per_epoch``.

    Counters: ``epoch`` (0-based index of the current epoch), ``batch`` (0-based index of the
    minibatch in the epoch), ``step`` (updates taken so far).

    The current minibatch (from ``on_after_backward`` on): ``inputs``, ``targets``, ``output``
    (the model's output), ``loss`` (its loss, a float) and ``grads`` (the list of gradients
    aligned with ``model.parameters()``). In ``on_after_backward`` a callback may add to
    ``loss`` (what is recorded) and replace entries of ``grads`` (what the optimizer gets),
    and may set ``take_step = False`` to skip the update for this minibatch.

    ``metrics``: in ``on_epoch_end``, the epoch's metrics (``"train_loss"``, and as available
    ``"train_acc"``, ``"val_loss"``, ``"val_acc"``); a callback may add entries, which are
    recorded in ``History.epoch_metrics``. ``history``: the :class:`~nnopt_lib.history.History`
    so far (a snapshot; in ``on_epoch_end`` without the current epoch, which is in
    ``metrics``). ``stop_training``: set it to stop.
    """

    model: Any
    loss_fn: Any
    optimizer: Any
    scheduler: Any
    epochs: int
    batches_per_epoch: int
    history_so_far: Callable[[], History] = field(repr=False)
    epoch: int = 0
    batch: int = 0
    step: int = 0
    inputs: np.ndarray | None = field(default=None, repr=False)
    targets: np.ndarray | None = field(default=None, repr=False)
    output: np.ndarray | None = field(default=None, repr=False)
    loss: float = math.nan
    grads: list[np.ndarray] = field(default_factory=list, repr=False)
    take_step: bool = True
    stop_training: bool = False
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def history(self) -> History:
        return self.history_so_far()


class Callback:
    """Base class of :func:`~nnopt_lib.training.fit` callbacks: every hook does nothing.

    Override the hooks you need; each receives the :class:`TrainingState`. The order of the
    calls is in the module docstring.
    """

    def on_train_begin(self, state: TrainingState) -> None:
        """Before the first epoch."""

    def on_epoch_begin(self, state: TrainingState) -> None:
        """Before the first minibatch of each epoch."""

    def on_after_backward(self, state: TrainingState) -> None:
        """After each minibatch's backward pass, before the divergence check, clipping and
        the update: change ``state.loss`` / ``state.grads`` or set ``state.take_step``."""

    def on_step_end(self, state: TrainingState) -> None:
        """After each update (and the per-step scheduler); ``state.step`` counts it."""

    def on_epoch_end(self, state: TrainingState) -> None:
        """After each completed epoch, with its metrics in ``state.metrics``."""

    def on_train_end(self, state: TrainingState) -> None:
        """After the last epoch, an early stop or a divergence."""


class EarlyStopping(Callback):
    """Stop when the monitored epoch metric has stopped improving; restore the best weights.

    ``EarlyStopping(*, monitor="val_loss", min_delta=0.0, patience=0, mode="min",
    restore_best_weights=True)``, with the semantics of Keras' and Lightning's callbacks:

    * an epoch *improves* when its ``monitor`` value is better than the best so far by MORE
      than ``min_delta`` (``value < best - min_delta`` with ``mode="min"``,
      ``value > best + min_delta`` with ``mode="max"``; the first finite value always does);
    * training stops after ``patience`` epochs in a row without improvement (``patience=0``:
      at the first one);
    * at the end of training -- early stop, last epoch or divergence -- the weights of the best
      epoch are loaded back with ``model.load_state_dict`` (unless ``restore_best_weights``
      is false). Unlike Keras, the default restores: that is what early stopping is for.

    ``monitor`` is a key of the epoch metrics (``"val_loss"``, ``"val_acc"``, ``"train_loss"``,
    ...); ``ValueError`` if ``fit`` does not compute it (e.g. ``"val_loss"`` without
    ``X_val``). After training: ``best_score``, ``best_epoch`` (0-based, so
    ``history.val_loss[best_epoch] == best_score``) and ``stopped_epoch`` (the epoch after
    which training stopped, ``None`` if it ran to the end).
    """

    def __init__(
        self,
        *,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        mode: str = "min",
        restore_best_weights: bool = True,
    ) -> None:
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be the name of an epoch metric, got {monitor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.monitor = monitor
        self.min_delta = checks.real("min_delta", min_delta, nonnegative=True)
        self.patience = checks.integer("patience", patience, minimum=0)
        self.mode = mode
        self.restore_best_weights = bool(restore_best_weights)
        self._reset()

    def _reset(self) -> None:
        self.best_score = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.wait = 0
        self._best_state: dict[str, np.ndarray] | None = None

    def _improves(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best_score - self.min_delta
        return value > self.best_score + self.min_delta

    def on_train_begin(self, state: TrainingState) -> None:
        self._reset()  # the same callback may serve several fits

    def on_epoch_end(self, state: TrainingState) -> None:
        if self.monitor not in state.metrics:
            hint = " (pass X_val and y_val to fit)" if self.monitor.startswith("val_") else ""
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r}, which this fit does not compute"
                f"{hint}; available: {sorted(state.metrics)}"
            )
        value = float(state.metrics[self.monitor])
        if self._improves(value):  # NaN never improves
            self.best_score, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best_weights:
                self._best_state = state.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = state.epoch
            state.stop_training = True

    def on_train_end(self, state: TrainingState) -> None:
        if self._best_state is not None:
            state.model.load_state_dict(self._best_state)

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, min_delta={self.min_delta}, "
            f"patience={self.patience}, mode={self.mode!r}, "
            f"restore_best_weights={self.restore_best_weights})"
        )


class WeightPenalty(Callback):
    r"""L1 and L2 penalties on chosen parameters, added to the loss and its gradient.

    .. math::
        \text{penalty} = \lambda_1 \sum |w| + \frac{\lambda_2}{2} \sum w^2, \qquad
        g \leftarrow g + \lambda_1 \operatorname{sign}(w) + \lambda_2 w

    for every ``w`` in ``params`` (default: all of ``model.parameters()``), computed by
    :mod:`nnopt_lib.regularization` (``l1_penalty``, ``l2_penalty`` and their gradients;
    ``regularization.decay_flags`` tells which parameters practitioners spare). The gradient term
    goes in before clipping and the update; the penalty is added to the recorded loss (the
    validation loss stays the plain ``loss_fn``). With ``l2`` only, plain SGD gives exactly
    ``SGD(weight_decay=l2)`` -- which is why the L2 term carries the ½. To spare the biases:
    ``params=[p for name, p in model.named_parameters() if name.endswith("weight")]``.
    """

    def __init__(
        self, *, l1: float = 0.0, l2: float = 0.0, params: Sequence[np.ndarray] | None = None
    ) -> None:
        self.l1 = checks.real("l1", l1, nonnegative=True)
        self.l2 = checks.real("l2", l2, nonnegative=True)
        self.params = None if params is None else list(params)
        self._indices: list[int] = []

    def on_train_begin(self, state: TrainingState) -> None:
        model_params = state.model.parameters()
        if self.params is None:
            self._indices = list(range(len(model_params)))
            return
        self._indices = []
        for p in self.params:
            # identity, not equality: two parameters may hold the same numbers
            matches = [i for i, q in enumerate(model_params) if q is p]
            if not matches:
                raise ValueError(
                    "WeightPenalty params must be arrays of model.parameters() (the same "
                    f"objects, not copies); got one of shape {np.shape(p)} that is not"
                )
            self._indices.append(matches[0])

    def on_after_backward(self, state: TrainingState) -> None:
        params = state.model.parameters()
        penalty = 0.0
        for i in self._indices:
            w = params[i]
            grad = state.grads[i]
            if self.l1:
                penalty += self.l1 * regularization.l1_penalty(w)
                grad = grad + self.l1 * regularization.l1_penalty_grad(w)[0]
            if self.l2:
                penalty += self.l2 * regularization.l2_penalty(w)
                grad = grad + self.l2 * regularization.l2_penalty_grad(w)[0]
            state.grads[i] = grad
        state.loss += penalty

    def __repr__(self) -> str:
        which = "all" if self.params is None else f"{len(self.params)} arrays"
        return f"WeightPenalty(l1={self.l1}, l2={self.l2}, params={which})"


class GradientAccumulation(Callback):
    """One optimizer update per ``batches`` minibatches, with their mean gradient.

    The gradients of ``batches`` consecutive minibatches are averaged and the update is taken
    on the last of them (also on the last minibatch of an epoch, with however many came
    before it, as Lightning's ``accumulate_grad_batches`` does). For a mean loss and equal
    batch sizes, one update equals one update on the concatenated, ``batches`` times larger
    batch -- a large effective batch at the memory cost of a small one. Schedulers stepped
    per step, ``History.loss`` and ``History.lr`` count updates, not minibatches.
    Put it after callbacks that change the gradients of each minibatch (e.g.
    :class:`WeightPenalty`).
    """

    def __init__(self, *, batches: int) -> None:
        self.batches = checks.integer("batches", batches, minimum=1)
        self._sum: list[np.ndarray] | None = None
        self._count = 0

    def on_epoch_begin(self, state: TrainingState) -> None:
        self._sum, self._count = None, 0

    def on_after_backward(self, state: TrainingState) -> None:
        if self._sum is None:
            self._sum = [np.array(g, copy=True) for g in state.grads]
        else:
            for total, g in zip(self._sum, state.grads, strict=True):
                total += g
        self._count += 1
        last_of_epoch = state.batch == state.batches_per_epoch - 1
        if self._count < self.batches and not last_of_epoch:
            state.take_step = False
            return
        state.grads = [total / self._count for total in self._sum]
        self._sum, self._count = None, 0

    def __repr__(self) -> str:
        return f"GradientAccumulation(batches={self.batches})"
