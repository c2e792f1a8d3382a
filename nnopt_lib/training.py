"""A minimal, divergence-safe minibatch training loop for :mod:`nnopt_lib.nn` models.

One step of :func:`fit` is the loop every course notebook writes by hand::

    out  = model(X[idx])                      # forward, caches what backward needs
    loss = loss_fn(out, y[idx])               # mean minibatch loss
    model.backward(loss_fn.backward())        # gradients of that loss
    grads = model.gradients()
    clip_grad_norm_(grads, clip_norm)         # optional
    optimizer.step(grads)                     # nnopt_lib.optim updates the arrays in place

:func:`fit` adds the bookkeeping: a new shuffled minibatch order every epoch (reproducible
from ``seed``), learning-rate schedulers, a :class:`~nnopt_lib.history.History` of per-step
and per-epoch numbers, a ``tqdm`` progress bar, a clean stop when the loss becomes
non-finite, and callbacks (:mod:`nnopt_lib.callbacks`) for everything else: early stopping,
weight penalties, gradient accumulation, or your own.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from nnopt_lib import clip, schedules
from nnopt_lib.callbacks import (
    Callback,
    EarlyStopping,
    GradientAccumulation,
    TrainingState,
    WeightPenalty,
)
from nnopt_lib.clip import clip_grad_norm_
from nnopt_lib.data import default_rng, iterate_minibatches
from nnopt_lib.history import History

__all__ = [
    "Callback",
    "EarlyStopping",
    "GradientAccumulation",
    "History",
    "TrainingState",
    "WeightPenalty",
    "accuracy",
    "evaluate",
    "fit",
    "global_grad_norm",
]


def accuracy(output: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows of ``output`` (shape ``(N, C)``: logits, probabilities or
    log-probabilities) whose largest entry is at the class label ``y`` (shape ``(N,)``).

    Labels of another shape, e.g. ``(N, 1)``, raise ``ValueError`` instead of broadcasting
    to a meaningless number. An empty batch (``N = 0``) has no accuracy: the result is NaN,
    without a warning, as torch's ``(output.argmax(1) == y).float().mean()`` gives."""
    output, y = np.asarray(output), np.asarray(y)
    if output.ndim != 2 or y.shape != output.shape[:1]:
        raise ValueError(
            f"accuracy needs an output of shape (N, C) and labels of shape (N,); got output "
            f"{output.shape} and labels {y.shape}"
            + (" (flatten the labels: y.ravel())" if y.shape == output.shape[:1] + (1,) else "")
        )
    if len(y) == 0:
        return math.nan  # np.mean would warn "Mean of empty slice"
    return float(np.mean(np.argmax(output, axis=1) == y))


def global_grad_norm(grads: list[np.ndarray]) -> float:
    """``sqrt(sum_i ||g_i||^2)`` over all gradient arrays: the norm clipping looks at."""
    return math.sqrt(sum(float(np.vdot(g, g)) for g in grads))


def _are_class_labels(y: np.ndarray) -> bool:
    """Accuracy is measured when the targets are integer class labels of shape (N,)."""
    return y.ndim == 1 and np.issubdtype(y.dtype, np.integer)


#: What fit needs of its first three arguments: the methods (and attributes) it calls, and an
#: example for the error message.
_PROTOCOLS = {
    "model": (("forward", "backward", "gradients", "train", "eval"), ("training",),
              "an nnopt_lib.nn module, e.g. nn.mlp([2, 16, 2], rng=rng)"),
    "loss_fn": (("forward", "backward"), (),
                "a loss with forward(output, target) and backward(), e.g. "
                "losses.CrossEntropyLoss()"),
    "optimizer": (("step",), ("param_groups",),
                  "an nnopt_lib.optim optimizer on model.parameters(), e.g. "
                  "optim.SGD(model.parameters(), lr=0.1)"),
}


def _check_protocol(name: str, value: Any) -> None:
    """``TypeError`` naming ``name`` unless ``value`` has what fit calls on it (an
    ``AttributeError`` from deep inside the loop would not say which argument was wrong)."""
    methods, attributes, example = _PROTOCOLS[name]
    missing = [m for m in methods if not callable(getattr(value, m, None))]
    missing += [a for a in attributes if not hasattr(value, a)]
    if missing:
        raise TypeError(f"{name} must be {example}; got {type(value).__name__} {value!r}, "
                        f"which has no {', '.join(missing)}")


def evaluate(model: Any, loss_fn: Any, X: np.ndarray, y: np.ndarray) -> tuple[float, float | None]:
    """``(loss, accuracy)`` of ``model`` on ``(X, y)`` in eval mode. The accuracy is ``None``
    unless ``y`` holds integer class labels of shape ``(N,)`` and the output has shape
    ``(N, C)`` (cross-entropy, NLL, any classifier). The model's train/eval mode is restored.
    A model on its way to diverging gives an inf or NaN loss here, never a warning (as in
    :func:`fit`)."""
    _check_protocol("model", model)
    _check_protocol("loss_fn", loss_fn)
    was_training = model.training
    model.eval()
    try:
        with np.errstate(all="ignore"):
            out = model.forward(X)
            loss = float(loss_fn.forward(out, y))
        y = np.asarray(y)
        acc = accuracy(out, y) if _are_class_labels(y) and np.ndim(out) == 2 else None
    finally:
        model.train(was_training)
    return loss, acc


def _check_arguments(
    model: Any, loss_fn: Any, optimizer: Any, scheduler: Any, scheduler_interval: Any,
    batch_size: Any, epochs: Any, X: Any, y: Any, X_val: Any, y_val: Any, clip_norm: Any,
    callbacks: Any,
) -> list[Callback]:  # fmt: skip
    """fit's argument checks: a clear error naming the argument, torch's where it has one.
    Returns the callbacks as a list."""
    for name, value in (("model", model), ("loss_fn", loss_fn), ("optimizer", optimizer)):
        _check_protocol(name, value)
    if scheduler is not None and not callable(getattr(scheduler, "step", None)):
        # else it would fail only at the end of the first epoch
        raise TypeError(
            "scheduler must be an nnopt_lib.schedules scheduler built on the optimizer, e.g. "
            f"schedules.StepLR(optimizer, step_size=10), or None; got {scheduler!r}"
        )
    if clip_norm is not None:
        # checked here, not at the first update, so that the message names fit's argument
        clip.check_threshold("clip_norm", clip_norm)
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(
            f"scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}"
        )
    # torch's DataLoader accepts any integer, numpy's included, and gives this error otherwise
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or (
        batch_size <= 0
    ):
        raise ValueError(
            f"batch_size should be a positive integer value, but got batch_size={batch_size}"
        )
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral):
        raise TypeError(f"epochs must be an integer >= 0, got {epochs!r}")
    if epochs < 0:
        raise ValueError(f"epochs must be non-negative, got {epochs}")
    _check_data("X", X, "y", y)
    if (X_val is None) != (y_val is None):
        raise ValueError("pass both X_val and y_val, or neither")
    if X_val is not None:
        _check_data("X_val", X_val, "y_val", y_val)
    if isinstance(callbacks, Iterable) and not isinstance(callbacks, Callback):
        callbacks = list(callbacks)
        if all(isinstance(c, Callback) for c in callbacks):
            return callbacks
    raise TypeError(
        "callbacks must be a list of Callback objects, e.g. [EarlyStopping(patience=3)]; "
        f"got {callbacks!r}"
    )


def _check_data(name_X: str, X: Any, name_y: str, y: Any) -> None:
    if len(X) == 0:
        raise ValueError(f"{name_X} is empty: fit needs at least one example")
    if len(X) != len(y):
        raise ValueError(f"{name_X} has {len(X)} rows but {name_y} has {len(y)}")


def fit(
    model: Any,
    loss_fn: Any,
    optimizer: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    scheduler: schedules.LRScheduler | None = None,
    scheduler_interval: str = "epoch",
    clip_norm: float | None = None,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    callbacks: Sequence[Callback] = (),
    seed: int = 0,
    progress: bool = True,
) -> History:
    """Train ``model`` by minibatch gradient descent and return a :class:`History`.

    ``model`` is an :mod:`nnopt_lib.nn` module (``forward``, ``backward``, ``parameters``,
    ``gradients``, ``train``/``eval``); ``loss_fn`` any loss with ``forward(output, target)``
    returning a float and ``backward()`` returning ``dL/d(output)`` (:mod:`nnopt_lib.losses`,
    or your own, e.g. a distillation loss). ``y`` may be integer class labels ``(N,)`` or
    float targets of any shape (regression values, class probabilities ``(N, C)`` for soft
    targets); the accuracy is recorded when ``y`` holds integer labels and the model's
    output has shape ``(N, C)``.

    Each epoch visits every example once in a new random order drawn from
    ``numpy.random.default_rng(seed)`` (``seed``: an integer >= 0, ``None`` or a
    ``Generator``, checked by :func:`nnopt_lib.data.default_rng`; the same order as
    ``iterate_minibatches(len(X), batch_size=batch_size, seed=rng)`` with one generator
    ``rng`` shared by all epochs); the last batch may be smaller.

    ``optimizer`` is an :mod:`nnopt_lib.optim` optimizer built on ``model.parameters()``.
    ``scheduler`` (an :mod:`nnopt_lib.schedules` scheduler on that optimizer) is stepped
    once per epoch, or once per update with ``scheduler_interval="step"``, through
    :func:`~nnopt_lib.schedules.step_scheduler`: a scheduler that watches a metric
    (``ReduceLROnPlateau``) gets the validation loss (the training loss without a validation
    set; the update's minibatch loss when stepped per update). ``clip_norm`` (a number >= 0,
    or ``None`` for no clipping) clips the global gradient norm with
    :func:`nnopt_lib.clip.clip_grad_norm_` before each update.
    ``callbacks``: :class:`~nnopt_lib.callbacks.Callback` objects, called in order (the
    protocol is in :mod:`nnopt_lib.callbacks`), e.g. ``[EarlyStopping(patience=5)]``.

    Bad arguments raise before any training, naming the argument: ``TypeError`` for a
    ``model``, ``loss_fn`` or ``optimizer`` without the methods above, or a ``scheduler`` or
    callback of the wrong kind; ``ValueError`` for an out-of-range number or mismatched data.

    Divergence: the arithmetic runs under ``numpy.errstate(all="ignore")`` and training
    stops, without warnings, before the first update whose loss or gradient norm is
    non-finite; ``History.diverged_at`` records that step. ``History`` documents every field.
    """
    callbacks = _check_arguments(
        model, loss_fn, optimizer, scheduler, scheduler_interval, batch_size, epochs, X, y,
        X_val, y_val, clip_norm, callbacks,
    )  # fmt: skip
    rng = default_rng(seed)  # before any work: a bad seed raises an error that names it
    has_val = X_val is not None
    X, y = np.asarray(X), np.asarray(y)
    labels = _are_class_labels(y)
    track_acc: bool | None = None  # decided on the first output: (N, C) with labels

    n = len(X)
    batches_per_epoch = math.ceil(n / batch_size)
    losses: list[float] = []
    lrs: list[float] = []
    grad_norms: list[float] = []
    epoch_values: dict[str, list[float]] = {"train_loss": []}
    if has_val:
        epoch_values["val_loss"] = []
    diverged_at = None

    def history() -> History:
        return History(
            loss=np.asarray(losses, dtype=np.float64),
            lr=np.asarray(lrs, dtype=np.float64),
            grad_norm=np.asarray(grad_norms, dtype=np.float64),
            diverged_at=diverged_at,
            epoch_metrics={k: np.asarray(v, dtype=np.float64) for k, v in epoch_values.items()},
            batches_per_epoch=batches_per_epoch,
        )

    state = TrainingState(
        model=model, loss_fn=loss_fn, optimizer=optimizer, scheduler=scheduler,
        epochs=int(epochs), batches_per_epoch=batches_per_epoch, history_so_far=history,
    )  # fmt: skip

    def call(hook: str) -> None:
        for callback in callbacks:
            getattr(callback, hook)(state)

    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress)
    # Overflow on the way to divergence is expected; it is reported via diverged_at.
    with np.errstate(all="ignore"):
        call("on_train_begin")
        for epoch in bar:
            if state.stop_training:
                break
            state.epoch = epoch
            model.train()
            call("on_epoch_begin")
            loss_sum = correct = 0.0
            pending_loss, pending_batches = 0.0, 0  # minibatches since the last update
            for batch, idx in enumerate(iterate_minibatches(n, batch_size=batch_size, seed=rng)):
                state.batch, state.inputs, state.targets = batch, X[idx], y[idx]
                state.take_step = True
                state.output = out = model.forward(state.inputs)
                state.loss = float(loss_fn.forward(out, state.targets))
                model.backward(loss_fn.backward())
                state.grads = list(model.gradients())
                call("on_after_backward")
                if track_acc is None:
                    track_acc = labels and np.ndim(out) == 2
                    if track_acc:
                        epoch_values["train_acc"] = []
                        if has_val:
                            epoch_values["val_acc"] = []
                if state.take_step and clip_norm is not None:
                    norm = float(clip_grad_norm_(state.grads, clip_norm))
                else:
                    norm = global_grad_norm(state.grads)
                if not (math.isfinite(state.loss) and math.isfinite(norm)):
                    diverged_at = state.step
                    break
                loss_sum += state.loss * len(idx)
                if track_acc:
                    correct += float(np.sum(np.argmax(out, axis=1) == state.targets))
                pending_loss += state.loss
                pending_batches += 1
                if state.take_step:
                    losses.append(pending_loss / pending_batches)
                    lrs.append(optimizer.param_groups[0]["lr"])
                    grad_norms.append(norm)
                    pending_loss, pending_batches = 0.0, 0
                    optimizer.step(state.grads)
                    if scheduler is not None and scheduler_interval == "step":
                        schedules.step_scheduler(scheduler, losses[-1])
                    state.step += 1
                    call("on_step_end")
                if state.stop_training:
                    break
            if diverged_at is not None or state.stop_training:
                break

            state.metrics = {"train_loss": loss_sum / n}
            if track_acc:
                state.metrics["train_acc"] = correct / n
            if has_val:
                val_loss, val_acc = evaluate(model, loss_fn, X_val, y_val)
                state.metrics["val_loss"] = val_loss
                if val_acc is not None:
                    state.metrics["val_acc"] = val_acc
            if scheduler is not None and scheduler_interval == "epoch":
                metric = state.metrics["val_loss" if has_val else "train_loss"]
                schedules.step_scheduler(scheduler, metric)
            call("on_epoch_end")
            _append_epoch(epoch_values, state.metrics, completed=epoch)
            postfix = {"loss": f"{state.metrics['train_loss']:.4g}"}
            if "val_acc" in state.metrics:
                postfix["val_acc"] = f"{state.metrics['val_acc']:.3f}"
            bar.set_postfix(postfix, refresh=False)
        call("on_train_end")
    bar.close()
    return history()


def _append_epoch(
    epoch_values: dict[str, list[float]], metrics: dict[str, float], *, completed: int
) -> None:
    """Append one epoch's metrics; a metric first seen now, or missing now, gets NaN for the
    epochs without it, so every array has one entry per completed epoch."""
    for name in metrics:
        epoch_values.setdefault(name, [math.nan] * completed)
    for name, values in epoch_values.items():
        values.append(float(metrics.get(name, math.nan)))
