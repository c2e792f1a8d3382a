r"""Look inside a network while it trains: per-layer statistics, dead units, update sizes and
the gradient noise scale.

* :func:`layer_statistics` -- for each layer of a ``Sequential``: the mean and std of its
  output and the fraction of exact zeros; with ``y`` and ``loss_fn`` also the std and norm
  of :math:`\partial L / \partial(\text{output})` and of the layer's weight gradient. The
  classic pictures of vanishing / exploding activations and gradients (Glorot & Bengio 2010)
  are these numbers plotted against depth.
* :func:`dead_units` -- the fraction of units of each ReLU-like layer that output
  :math:`\le 0` for every example of ``X``.
* :func:`update_ratios` -- :math:`\lVert \Delta w \rVert / \lVert w \rVert` per parameter
  between two state dicts (a common rule of thumb looks for about :math:`10^{-3}` per step).
* :func:`gradient_noise_scale` -- McCandlish et al. 2018's :math:`B_\text{simple}`, the batch
  size beyond which larger batches stop paying off, from gradients at two batch sizes.

The first two run the model on a DEEP COPY (``copy.deepcopy``): the model's parameters,
buffers (BatchNorm's running statistics), train/eval mode, forward caches, gradients and
dropout generators are exactly as they were before the call, so a diagnostic can sit
between any two training steps (e.g. in a callback) without changing the run.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnopt_lib import checks, nn

__all__ = [
    "LayerStats",
    "layer_statistics",
    "format_table",
    "dead_units",
    "DEAD_UNIT_LAYERS",
    "update_ratios",
    "gradient_noise_scale",
]

#: Layers whose output is <= 0 exactly where their input is <= 0, the ones :func:`dead_units`
#: looks at. For ReLU such a unit is dead (its gradient is 0 for every example); the leaky
#: and smooth variants still pass a small gradient there. (Softplus is always > 0; Sigmoid
#: and Tanh are not ReLU-like.)
DEAD_UNIT_LAYERS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU)

# BatchNorm's buffers: in a state dict, but not parameters (update_ratios leaves them out).
_BUFFER_NAMES = frozenset({"running_mean", "running_var", "num_batches_tracked"})


@dataclass(frozen=True)
class LayerStats:
    """What :func:`layer_statistics` measured at one layer (the arrays are the layer's
    output ``a`` and ``g = dL/da``; means, stds and zero fractions are over all entries).

    ``name``: the layer's name in the ``Sequential`` (``"0"``, ``"1"``, ... as in torch);
    ``kind``: its class name (``"Linear"``, ``"ReLU"``); ``shape``: the output's shape;
    ``mean``, ``std``: of the output (std with ``ddof=0``); ``zero_fraction``: the fraction of
    output entries that are exactly 0 (ReLU's inactive units, dropped entries);
    ``grad_std``, ``grad_norm``: std and Euclidean norm of ``dL/da`` (``None`` without
    ``y`` and ``loss_fn``); ``weight_grad_std``, ``weight_grad_norm``: of the layer's
    ``grad_weight`` (``None`` without a loss, or for a layer without a ``weight``).
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    mean: float
    std: float
    zero_fraction: float
    grad_std: float | None = None
    grad_norm: float | None = None
    weight_grad_std: float | None = None
    weight_grad_norm: float | None = None


def _check_sequential(model: Any) -> nn.Sequential:
    if not isinstance(model, nn.Sequential):
        raise TypeError(
            "model must be an nnopt_lib.nn.Sequential (e.g. from nn.mlp): the diagnostics run "
            f"it layer by layer; got {type(model).__name__}"
        )
    return model


def _check_inputs(X: Any) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(f"X must hold at least one example (one per row), got shape {X.shape}")
    return X


def _copy_in_mode(model: nn.Sequential, training: bool | None) -> nn.Sequential:
    """A deep copy of ``model`` (so nothing of the original changes), in the mode asked for
    (``None``: the model's own)."""
    if training is not None and not isinstance(training, bool):
        raise TypeError(f"training must be True, False or None, got {training!r}")
    twin = copy.deepcopy(model)
    if training is not None:
        twin.train(training)
    return twin


def _forward(model: nn.Sequential, X: np.ndarray) -> Iterator[tuple[str, nn.Module, np.ndarray]]:
    """Run ``model`` layer by layer: ``(name, layer, output)`` after each layer."""
    x = X
    for name, layer in model.named_children():
        x = layer.forward(x)
        yield name, layer, x


def _std_and_norm(array: np.ndarray) -> tuple[float, float]:
    array = np.asarray(array, dtype=np.float64)
    if array.size == 0:
        return math.nan, 0.0
    return float(array.std()), float(np.linalg.norm(array.ravel()))


def layer_statistics(
    model: nn.Sequential,
    X: np.ndarray,
    *,
    y: np.ndarray | None = None,
    loss_fn: Any = None,
    training: bool | None = None,
) -> list[LayerStats]:
    """One :class:`LayerStats` per layer of ``model`` (a ``Sequential``), in order.

    The forward pass runs layer by layer on ``X`` (every row at once, one batch), recording
    each layer's output. With ``y`` and ``loss_fn`` (e.g. ``losses.CrossEntropyLoss()``) it
    then computes the loss of the last output and runs the backward pass layer by layer,
    recording ``dL/d(output)`` of each layer -- the gradient that arrives at it from above
    -- and the gradient of its ``weight``. Without them, only the forward statistics are
    filled in.

    The model runs in its current mode (``training=None``) or the one given
    (``training=True`` / ``False``): in training mode BatchNorm uses the batch statistics of
    ``X`` and Dropout drops entries (and counts as zeros). Either way it runs on a deep copy
    of ``model`` and ``loss_fn``: the model's parameters, buffers, mode, caches, gradients
    and dropout generators are left exactly as they were.

    Show the result with :func:`format_table`, or plot ``[s.std for s in stats]`` against
    depth.
    """
    model = _check_sequential(model)
    X = _check_inputs(X)
    if (y is None) != (loss_fn is None):
        raise ValueError("pass both y and loss_fn for the gradient statistics, or neither")
    twin = _copy_in_mode(model, training)
    records = []
    layers = []
    output = X
    for name, layer, output in _forward(twin, X):
        out = np.asarray(output, dtype=np.float64)
        records.append({
            "name": name,
            "kind": type(layer).__name__,
            "shape": tuple(np.shape(output)),
            "mean": float(out.mean()) if out.size else math.nan,
            "std": float(out.std()) if out.size else math.nan,
            "zero_fraction": float(np.mean(out == 0)) if out.size else math.nan,
        })
        layers.append(layer)
    if loss_fn is not None:
        loss = copy.deepcopy(loss_fn)
        loss.forward(output, y)
        grad = loss.backward()
        for record, layer in zip(reversed(records), reversed(layers), strict=True):
            record["grad_std"], record["grad_norm"] = _std_and_norm(grad)
            grad = layer.backward(grad)
            weight_grad = getattr(layer, "grad_weight", None)
            if "weight" in layer._parameter_names and weight_grad is not None:
                record["weight_grad_std"], record["weight_grad_norm"] = _std_and_norm(
                    weight_grad)
    return [LayerStats(**record) for record in records]


def format_table(stats: list[LayerStats]) -> str:
    """The statistics as a fixed-width text table, one row per layer (for ``print``)."""
    columns = ("name", "kind", "mean", "std", "zero_fraction", "grad_std", "grad_norm",
               "weight_grad_norm")
    header = ("layer", "kind", "act mean", "act std", "zeros", "grad std", "grad norm",
              "W grad norm")

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.3g}"
        return str(value)

    rows = [header] + [tuple(cell(getattr(s, c)) for c in columns) for s in stats]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True))
                     for row in rows)


def dead_units(model: nn.Sequential, X: np.ndarray, *, training: bool | None = None
               ) -> dict[str, float]:
    """``{layer name: fraction of dead units}`` for every ReLU-like layer of ``model``.

    A unit (an output column; for higher-dimensional outputs, each entry but the batch axis)
    is dead on ``X`` when its output is ``<= 0`` for EVERY row of ``X``. For ReLU that means
    a zero output and a zero gradient for every example: nothing can bring it back by
    gradient descent on this data (Lu et al. 2020, "Dying ReLU and Initialization"). For the
    other :data:`DEAD_UNIT_LAYERS` (LeakyReLU, ELU, GELU, SiLU) the same units sit on the
    negative side but still receive a small gradient -- which is the point of those
    activations. Layers are named as in the ``Sequential`` (``"1"``, ``"3"``, ...).

    Runs like :func:`layer_statistics` (a deep copy; the model's mode unless ``training`` is
    given: call it with ``training=False`` to leave Dropout out of the picture).
    """
    model = _check_sequential(model)
    X = _check_inputs(X)
    result = {}
    for name, layer, output in _forward(_copy_in_mode(model, training), X):
        if isinstance(layer, DEAD_UNIT_LAYERS):
            out = np.asarray(output).reshape(len(X), -1)
            result[name] = float(np.mean(np.all(out <= 0, axis=0))) if out.shape[1] else 0.0
    return result


def update_ratios(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, float]:
    r"""``{name: ||after - before|| / ||before||}`` for every parameter of two state dicts.

    The relative size of one update (or of any stretch of training) per parameter:
    :math:`\lVert \Delta w \rVert_2 / \lVert w \rVert_2` with ``w`` the *before* value.
    Far below :math:`10^{-3}` per step the layer barely learns; near 1 it is rewritten every
    step (Karpathy's rule of thumb from CS231n is about :math:`10^{-3}`). Take the two dicts
    with ``model.state_dict()`` (it returns copies) before and after ``optimizer.step``.

    BatchNorm's buffers (``running_mean``, ``running_var``, ``num_batches_tracked``) are not
    parameters and are left out. A parameter that was all zeros (a bias at the start) gives
    ``inf`` if it changed and ``0.0`` if it did not. ``ValueError`` if the two dicts have
    different keys or shapes (not the same model).
    """
    for label, state in (("before", before), ("after", after)):
        if not isinstance(state, Mapping):
            raise TypeError(f"{label} must be a state dict (a mapping name -> array), "
                            f"got {type(state).__name__}")
    if set(before) != set(after):
        raise ValueError(
            "before and after must come from the same model; keys only in before: "
            f"{sorted(set(before) - set(after))}, only in after: {sorted(set(after) - set(before))}"
        )
    ratios = {}
    for name, old in before.items():
        if name.rpartition(".")[2] in _BUFFER_NAMES:
            continue
        old = np.asarray(old, dtype=np.float64)
        new = np.asarray(after[name], dtype=np.float64)
        if old.shape != new.shape:
            raise ValueError(f"{name}: shape {old.shape} before but {new.shape} after")
        change = float(np.linalg.norm((new - old).ravel()))
        size = float(np.linalg.norm(old.ravel()))
        if size > 0:
            ratios[name] = change / size
        else:
            ratios[name] = math.inf if change > 0 else 0.0
    return ratios


def _squared_norm(grad: Any, name: str) -> tuple[float, tuple[tuple[int, ...], ...]]:
    """``sum ||g||^2`` over an array or a list of arrays, and their shapes."""
    arrays = [grad] if isinstance(grad, np.ndarray) else list(grad)
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    if not arrays:
        raise ValueError(f"{name} is empty: pass the gradient as an array or a list of arrays")
    total = float(sum(np.vdot(a, a) for a in arrays))
    if not math.isfinite(total):
        raise ValueError(f"{name} is not finite")
    return total, tuple(a.shape for a in arrays)


def gradient_noise_scale(
    grad_small: Any, grad_big: Any, batch_small: int, batch_big: int
) -> tuple[float, float, float]:
    r"""The simple gradient noise scale from gradients at two batch sizes (McCandlish et
    al. 2018, "An Empirical Model of Large-Batch Training", Appendix A).

    ``grad_small`` and ``grad_big`` are gradients of the *mean* loss over minibatches of
    ``batch_small`` and ``batch_big`` examples (an array or a list of arrays, e.g.
    ``model.gradients()``), at the same weights. If the per-example gradients have mean
    :math:`G` and covariance :math:`\Sigma`, then :math:`E\lVert G_B\rVert^2 = \lVert G
    \rVert^2 + \operatorname{tr}\Sigma / B`; two batch sizes give two equations, whose
    solution is an unbiased estimate of each:

    .. math::
        \lVert G \rVert^2 \approx \frac{B_\text{big}\lVert G_\text{big}\rVert^2
            - B_\text{small}\lVert G_\text{small}\rVert^2}{B_\text{big} - B_\text{small}},
        \qquad
        \operatorname{tr}\Sigma \approx \frac{\lVert G_\text{small}\rVert^2
            - \lVert G_\text{big}\rVert^2}{1/B_\text{small} - 1/B_\text{big}},
        \qquad
        B_\text{simple} = \frac{\operatorname{tr}\Sigma}{\lVert G \rVert^2}.

    Returns ``(trace_sigma, grad_sq, b_simple)``. :math:`B_\text{simple}` is the batch size
    at which the noise in a minibatch gradient is about as large as the gradient itself:
    below it, doubling the batch nearly halves the steps needed; far above it, a larger
    batch buys little. One pair of gradients gives a very noisy estimate (``grad_sq`` can
    even come out negative): the paper averages ``trace_sigma`` and ``grad_sq`` over many
    pairs (exponential moving averages) and only then divides -- do the same with the first
    two values returned. ``b_simple`` is ``inf`` when ``grad_sq`` is 0 (and ``nan`` if both
    are).
    """
    small = checks.integer("batch_small", batch_small, minimum=1)
    big = checks.integer("batch_big", batch_big, minimum=1)
    if big <= small:
        raise ValueError(f"batch_big must be larger than batch_small, got {big} <= {small}")
    small_sq, small_shapes = _squared_norm(grad_small, "grad_small")
    big_sq, big_shapes = _squared_norm(grad_big, "grad_big")
    if small_shapes != big_shapes:
        raise ValueError(f"grad_small and grad_big differ in shape: {small_shapes} vs "
                         f"{big_shapes} (they must be gradients of the same parameters)")
    grad_sq = (big * big_sq - small * small_sq) / (big - small)
    trace_sigma = (small_sq - big_sq) / (1.0 / small - 1.0 / big)
    if grad_sq != 0:
        b_simple = trace_sigma / grad_sq
    else:
        b_simple = math.nan if trace_sigma == 0 else math.copysign(math.inf, trace_sigma)
    return float(trace_sigma), float(grad_sq), float(b_simple)
