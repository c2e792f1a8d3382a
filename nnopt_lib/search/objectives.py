"""A cheap, realistic objective for hyperparameter search: train a small MLP, return its
validation loss.

:class:`MLPObjective` turns a hyperparameter dict into a trained :func:`nnopt_lib.nn.mlp`
(trained with :func:`nnopt_lib.training.fit`) and returns the cross-entropy on a validation set
that the caller split off -- the quantity every search method of :mod:`nnopt_lib.search`
minimises. On MNIST-1D with about a thousand training examples one 10-epoch training of a
width-64 network takes roughly a tenth of a second, so a lesson can afford hundreds of them.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nnopt_lib import nn, optim, training
from nnopt_lib.callbacks import Callback, TrainingState

__all__ = ["DEFAULTS", "MLPObjective"]

# What a config key means when it is missing. Chosen so that the defaults alone train well
# on MNIST-1D: Adam at 1e-3 is the usual safe start.
DEFAULTS: dict[str, Any] = {
    "lr": 1e-3,  # learning rate (search it on a log scale)
    "weight_decay": 0.0,  # L2 (sgd, adam) or decoupled (adamw) weight decay (log scale)
    "momentum": 0.9,  # heavy-ball momentum, used by "sgd" only
    "width": 64,  # units in each hidden layer
    "depth": 2,  # number of hidden layers (0: a linear softmax classifier)
    "optimizer": "adam",  # "sgd" | "adam" | "adamw"
    "activation": "relu",  # any name of nn.ACTIVATIONS
    "batch_norm": False,  # BatchNorm1d after each hidden Linear
    "dropout": 0.0,  # dropout probability after each hidden activation
    "batch_size": 64,  # minibatch size
}
OPTIMIZERS = ("sgd", "adam", "adamw")


class _Reporter(Callback):
    """Hands each epoch's validation loss to ``report(epoch, value)``; a True answer stops."""

    def __init__(self, report: Callable[[int, float], bool]) -> None:
        self.report = report

    def on_epoch_end(self, state: TrainingState) -> None:
        if self.report(state.epoch + 1, float(state.metrics["val_loss"])):
            state.stop_training = True


class MLPObjective:
    """``objective(config, budget=None) -> validation loss`` of an MLP trained from ``config``.

    Args:
        X_train, y_train, X_val, y_val: the data, split by the caller (integer class labels).
        epochs: the full training length, used when ``budget`` is ``None``.
        seed: fixes the initial weights, the dropout masks and the minibatch order; the same
            ``(config, budget, seed)`` always gives the same value.
        diverged_value: what a run whose loss became non-finite returns (see below).

    ``config`` keys (missing ones take :data:`DEFAULTS`): ``lr``, ``weight_decay``,
    ``momentum`` (sgd only), ``width``, ``depth`` (hidden layers), ``optimizer``
    (``"sgd"`` | ``"adam"`` | ``"adamw"``), ``activation``, ``batch_norm``, ``dropout``,
    ``batch_size``. An unknown key raises ``ValueError`` (a typo would otherwise be searched
    over silently).

    ``budget`` (epochs) trains for that many epochs instead of ``epochs`` -- the
    fidelity knob of successive halving and Hyperband. Each call trains from scratch, so its
    cost is the number of epochs trained; ``epochs_trained`` adds them all up and
    ``calls`` counts the calls. Nothing depends on the budget but the length (no learning-rate
    schedule, the same seed), so the value at budget ``b`` is exactly the validation loss
    after epoch ``b`` of the full run: a short run is a prefix of the long one's curve.
    ``last_history`` is the :class:`~nnopt_lib.history.History` of the latest training and
    ``last_val_acc`` its final validation accuracy (for accuracy-vs-size plots).

    ``report``: an optional ``report(epoch, val_loss) -> bool`` called after every epoch
    (epoch counted from 1); returning ``True`` stops the training there and the loss of that
    epoch is returned. The Optuna bridge uses it to let a pruner stop a trial.

    Divergence: when the training loss becomes NaN or infinite (too large a learning rate),
    ``fit`` stops and the objective returns ``diverged_value`` (default 10.0, over four times
    the 2.30 of a uniform guess over 10 classes). A finite value keeps every method working:
    random search and evolution rank it last, halving never promotes it, and the Gaussian
    process of Bayesian optimisation can fit it (an infinity would break its linear algebra).
    """

    def __init__(self, *, X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray,
                 y_val: np.ndarray, epochs: int, seed: int = 0,
                 diverged_value: float = 10.0) -> None:
        self.X_train, self.y_train = _check_data("X_train", X_train, "y_train", y_train)
        self.X_val, self.y_val = _check_data("X_val", X_val, "y_val", y_val)
        if self.X_train.shape[1] != self.X_val.shape[1]:
            raise ValueError(f"MLPObjective: X_train has {self.X_train.shape[1]} features but "
                             f"X_val has {self.X_val.shape[1]}")
        self.epochs = _check_epochs("epochs", epochs)
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"MLPObjective: seed must be an integer >= 0, got {seed!r}")
        self.seed = int(seed)
        if not isinstance(diverged_value, numbers.Real) or not math.isfinite(diverged_value):
            raise ValueError(f"MLPObjective: diverged_value must be a finite number, got "
                             f"{diverged_value!r}")
        self.diverged_value = float(diverged_value)
        self.n_classes = int(max(self.y_train.max(), self.y_val.max())) + 1
        self.calls = 0
        self.epochs_trained = 0
        self.last_history = None
        self.last_val_acc = float("nan")

    def config(self, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``config`` completed with :data:`DEFAULTS` and checked (ValueError names a bad key)."""
        config = {} if config is None else dict(config)
        unknown = sorted(set(config) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"MLPObjective: unknown config keys {unknown}; known: "
                             f"{sorted(DEFAULTS)}")
        full = {**DEFAULTS, **config}
        for key in ("lr", "weight_decay", "momentum", "dropout"):
            value = full[key]
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or value < 0:
                raise ValueError(f"MLPObjective: config[{key!r}] must be a number >= 0, got "
                                 f"{value!r}")
            full[key] = float(value)
        for key, minimum in (("width", 1), ("depth", 0), ("batch_size", 1)):
            value = full[key]
            # search spaces may hand over integral floats (a unit-cube round trip)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != int(
                    value) or value < minimum:
                raise ValueError(f"MLPObjective: config[{key!r}] must be an integer >= "
                                 f"{minimum}, got {value!r}")
            full[key] = int(value)
        if full["optimizer"] not in OPTIMIZERS:
            raise ValueError(f"MLPObjective: config['optimizer'] must be one of {OPTIMIZERS}, "
                             f"got {full['optimizer']!r}")
        if full["activation"] not in nn.ACTIVATIONS:
            raise ValueError(f"MLPObjective: config['activation'] must be one of "
                             f"{sorted(nn.ACTIVATIONS)}, got {full['activation']!r}")
        full["batch_norm"] = bool(full["batch_norm"])
        if full["dropout"] > 1:
            raise ValueError(f"MLPObjective: config['dropout'] must be in [0, 1], got "
                             f"{full['dropout']!r}")
        return full

    def build(self, config: Mapping[str, Any] | None = None,
              rng: np.random.Generator | None = None) -> nn.Sequential:
        """The untrained network of ``config`` (weights drawn from ``rng``, default the seed)."""
        full = self.config(config)
        rng = np.random.default_rng(self.seed) if rng is None else rng
        sizes = [self.X_train.shape[1], *[full["width"]] * full["depth"], self.n_classes]
        return nn.mlp(sizes, full["activation"], rng=rng, batch_norm=full["batch_norm"],
                      dropout=full["dropout"])

    def parameter_count(self, config: Mapping[str, Any] | None = None) -> int:
        """Number of trainable parameters (weights, biases, BatchNorm scales and shifts)."""
        return int(sum(p.size for p in self.build(config).parameters()))

    def __call__(self, config: Mapping[str, Any] | None = None, budget: int | None = None, *,
                 report: Callable[[int, float], bool] | None = None) -> float:
        full = self.config(config)
        epochs = self.epochs if budget is None else _check_epochs("budget", budget)
        rng = np.random.default_rng(self.seed)
        model = self.build(full, rng)
        params = model.parameters()
        if full["optimizer"] == "sgd":
            optimizer = optim.SGD(params, lr=full["lr"], momentum=full["momentum"],
                                  weight_decay=full["weight_decay"])
        elif full["optimizer"] == "adam":
            optimizer = optim.Adam(params, lr=full["lr"], weight_decay=full["weight_decay"])
        else:
            optimizer = optim.AdamW(params, lr=full["lr"], weight_decay=full["weight_decay"])
        callbacks = [] if report is None else [_Reporter(report)]
        history = training.fit(model, nn.CrossEntropyLoss(), optimizer, self.X_train,
                               self.y_train, epochs=epochs, batch_size=full["batch_size"],
                               X_val=self.X_val, y_val=self.y_val, callbacks=callbacks,
                               seed=self.seed, progress=False)
        self.calls += 1
        val_losses = list(history.epoch_metrics["val_loss"])
        # a diverged run stops mid-epoch; count the epochs it started
        trained = len(val_losses) + (history.diverged_at is not None)
        self.epochs_trained += min(trained, epochs)
        self.last_history = history
        val_acc = history.epoch_metrics.get("val_acc", [])
        self.last_val_acc = float(val_acc[-1]) if len(val_acc) else float("nan")
        if history.diverged_at is not None or not val_losses:
            return self.diverged_value
        value = float(val_losses[-1])
        return value if math.isfinite(value) else self.diverged_value

    def __repr__(self) -> str:
        return (f"MLPObjective(n_train={len(self.X_train)}, n_val={len(self.X_val)}, "
                f"epochs={self.epochs}, seed={self.seed}, calls={self.calls}, "
                f"epochs_trained={self.epochs_trained})")


def _check_epochs(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != int(
            value) or value < 1:
        raise ValueError(f"MLPObjective: {name} must be a whole number of epochs >= 1, got "
                         f"{value!r}")
    return int(value)


def _check_data(name_X: str, X: Any, name_y: str, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"MLPObjective: {name_X} must be 2-D (examples, features), got shape "
                         f"{X.shape}")
    if y.ndim != 1 or len(y) != len(X) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"MLPObjective: {name_y} must be integer class labels, one per row "
                         f"of {name_X} ({len(X)}), got shape {y.shape} dtype {y.dtype}")
    if len(X) == 0 or y.min() < 0:
        raise ValueError(f"MLPObjective: {name_y} must be non-empty labels >= 0")
    return X, y
