"""Layers and losses: ``nnopt_lib.nn`` against ``torch.nn``, and the one nnopt -> torch mapping.

:data:`LAYER_TWINS` and :data:`LOSS_TWINS` are the only place that says which torch class
each nnopt class is. :func:`torch_twin`, :func:`compare_layer`, :data:`LAYERS` and the
cross-check matrix all derive from them, so adding a layer (or a loss) means writing it in
``nnopt_lib`` and adding one entry here: the torch module built from the nnopt instance's
settings, how a check builds an example, and the cases the matrix runs.

Weights are not part of the mapping: :func:`torch_twin` copies them with
``twin.load_state_dict(model.state_dict())``, which only works because nnopt's state dicts
use torch's key names (``"0.weight"``, ``"1.running_mean"``, ...). A key that differs fails
loudly there, so every twin also checks the naming.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from nnopt_lib import losses, nn
from nnopt_lib.crosscheck.comparison import Comparison, _compare_items, _describe
from nnopt_lib.crosscheck.device import _resolve_dtype, _torch, best_device

if TYPE_CHECKING:
    import torch

#: ``(options, variant)``: keyword arguments for the nnopt constructor, and, for a layer, its
#: mode ("train" or "eval"), for a loss, the kind of target (a key of its ``targets``).
Case = tuple[Mapping[str, Any], str]
_DEFAULT_CASES: tuple[Case, ...] = (({}, "train"),)


@dataclass(frozen=True)
class LayerTwin:
    """How one ``nnopt_lib.nn`` layer maps to ``torch.nn``, and how the checks exercise it.

    torch_module: ``(nnopt layer, torch.nn) -> torch module`` with the same settings; its
        weights and buffers are copied afterwards (from the nnopt layer's ``state_dict``).
    example: ``(options, features, out_features, rng) -> nnopt layer`` that takes a
        ``batch x features`` input, for :func:`compare_layer`; default ``cls(**options)``.
    cases: the ``(options, mode)`` pairs the matrix runs.
    forward: for a layer that draws random numbers, ``(nnopt layer, x, torch output) ->
        output``: the nnopt forward pass made to use the randomness torch used, read off
        torch's output (Dropout: the keep mask); default ``layer.forward(x)``.
    """

    torch_module: Callable[[Any, ModuleType], torch.nn.Module]
    example: Callable[[Mapping[str, Any], int, int, np.random.Generator], Any] | None = None
    cases: tuple[Case, ...] = _DEFAULT_CASES
    forward: Callable[[Any, np.ndarray, np.ndarray], np.ndarray] | None = None


@dataclass(frozen=True)
class LossTwin:
    """How one :mod:`nnopt_lib.losses` loss maps to ``torch.nn``, and how the checks use it.

    torch_module: ``(nnopt loss, torch.nn) -> torch loss`` with the same settings.
    targets: kind -> ``(nnopt loss, rng, input shape) -> target``; the first kind is the
        default (integer arrays become torch ``long`` tensors, float arrays the compared dtype).
    input: ``(rng, shape) -> input``: logits by default, log-probabilities where the loss
        expects them.
    cases: ``(options, target kind)`` pairs the matrix runs.
    """

    torch_module: Callable[[Any, ModuleType], torch.nn.Module]
    targets: Mapping[str, Callable[[Any, np.random.Generator, tuple[int, ...]], np.ndarray]]
    input: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray] = (
        lambda rng, shape: rng.normal(size=shape))  # logits
    cases: tuple[Case, ...] = ()


def _linear(options: Mapping[str, Any], features: int, out_features: int,
            rng: np.random.Generator) -> nn.Linear:
    return nn.Linear(features, out_features, rng=rng, **options)


def _dropout(options: Mapping[str, Any], features: int, out_features: int,
             rng: np.random.Generator) -> nn.Dropout:
    return nn.Dropout(rng=rng, **options)


def _dropout_forward(layer: nn.Dropout, x: np.ndarray, their_y: np.ndarray) -> np.ndarray:
    """Our Dropout with torch's keep mask: where torch kept an element of an input without
    zeros its output is not 0. (Where Dropout is the identity there is no mask to read.)"""
    if not layer.training or layer.p == 0:
        return layer.forward(x)
    if not np.all(x != 0):
        raise ValueError("compare_layer: Dropout's mask is read off torch's output, so the "
                         "input must have no zeros")
    return layer.forward(x, mask=their_y != 0)


def _batch_norm(options: Mapping[str, Any], features: int, out_features: int,
                rng: np.random.Generator) -> nn.BatchNorm1d:
    layer = nn.BatchNorm1d(features, **options)
    # non-trivial affine parameters and running statistics, so that they are really checked
    # (each draw is made whatever the switches, so every case sees the same numbers)
    weight, bias = rng.uniform(0.5, 1.5, features), rng.normal(size=features)
    mean, var = rng.normal(size=features), rng.uniform(0.5, 2.0, features)
    if layer.weight is not None:
        layer.weight[...] = weight
    if layer.bias is not None:
        layer.bias[...] = bias
    if layer.track_running_stats:
        layer.running_mean[...] = mean
        layer.running_var[...] = var
        layer.num_batches_tracked[...] = 3  # momentum=None then averages with weight 1/4
    return layer


def _layer_norm(options: Mapping[str, Any], features: int, out_features: int,
                rng: np.random.Generator) -> nn.LayerNorm:
    layer = nn.LayerNorm(features, **options)
    weight, bias = rng.uniform(0.5, 1.5, features), rng.normal(size=features)
    if layer.weight is not None:
        layer.weight[...] = weight
    if layer.bias is not None:
        layer.bias[...] = bias
    return layer


def _small_network(options: Mapping[str, Any], features: int, out_features: int,
                   rng: np.random.Generator) -> nn.Sequential:
    hidden = 8
    return nn.Sequential(nn.Linear(features, hidden, rng=rng), nn.Tanh(),
                         nn.Linear(hidden, hidden, rng=rng), nn.ReLU(),
                         nn.Linear(hidden, out_features, rng=rng), **options)  # none exist


def _batch_norm_bias(layer: nn.BatchNorm1d) -> dict[str, bool]:
    """``bias=False`` when the layer has none; nothing otherwise. BatchNorm's ``bias`` argument
    is new in torch 2.13, so leaving out the default keeps every other case buildable with an
    older torch (the GPU machines had 2.11)."""
    return {"bias": False} if layer.affine and layer.bias is None else {}


#: nnopt layer class -> its torch twin. The single nnopt -> torch mapping for layers.
LAYER_TWINS: dict[type, LayerTwin] = {
    nn.Linear: LayerTwin(
        lambda layer, tnn: tnn.Linear(layer.in_features, layer.out_features,
                                      bias=layer.bias is not None),
        example=_linear, cases=(({}, "train"), ({"bias": False}, "train"))),
    nn.ReLU: LayerTwin(lambda layer, tnn: tnn.ReLU()),
    nn.LeakyReLU: LayerTwin(lambda layer, tnn: tnn.LeakyReLU(layer.negative_slope),
                            cases=(({}, "train"), ({"negative_slope": 0.2}, "train"))),
    nn.ELU: LayerTwin(lambda layer, tnn: tnn.ELU(layer.alpha),
                      cases=(({}, "train"), ({"alpha": 0.5}, "train"))),
    nn.GELU: LayerTwin(lambda layer, tnn: tnn.GELU(approximate=layer.approximate),
                       cases=(({}, "train"), ({"approximate": "tanh"}, "train"))),
    nn.SiLU: LayerTwin(lambda layer, tnn: tnn.SiLU()),
    # the default input, N(0.5, 1.5^2), crosses beta * x = threshold for threshold=1
    nn.Softplus: LayerTwin(
        lambda layer, tnn: tnn.Softplus(beta=layer.beta, threshold=layer.threshold),
        cases=(({}, "train"), ({"beta": 2.0}, "train"), ({"threshold": 1.0}, "train"),
               ({"beta": 2.0, "threshold": 1.0}, "train"))),
    nn.Sigmoid: LayerTwin(lambda layer, tnn: tnn.Sigmoid()),
    nn.Tanh: LayerTwin(lambda layer, tnn: tnn.Tanh()),
    nn.LogSoftmax: LayerTwin(lambda layer, tnn: tnn.LogSoftmax(dim=layer.dim),
                             cases=(({}, "train"), ({"dim": 0}, "train"))),
    # torch draws its own masks: in training mode ours is given torch's (_dropout_forward)
    nn.Dropout: LayerTwin(lambda layer, tnn: tnn.Dropout(layer.p), example=_dropout,
                          forward=_dropout_forward,
                          cases=(({"p": 0.5}, "eval"), ({"p": 0.0}, "train"),
                                 ({"p": 0.5}, "train"), ({"p": 0.2}, "train"),
                                 ({"p": 1.0}, "train"))),
    nn.BatchNorm1d: LayerTwin(
        lambda layer, tnn: tnn.BatchNorm1d(layer.num_features, eps=layer.eps,
                                           momentum=layer.momentum, affine=layer.affine,
                                           track_running_stats=layer.track_running_stats,
                                           **_batch_norm_bias(layer)),
        example=_batch_norm,
        cases=(({}, "train"), ({}, "eval"), ({"eps": 1e-3, "momentum": 0.3}, "train"),
               *((switch, mode) for switch in ({"affine": False},
                                               {"track_running_stats": False},
                                               {"momentum": None})
                 for mode in ("train", "eval")),
               ({"bias": False}, "train"),
               ({"affine": False, "track_running_stats": False}, "eval"))),
    nn.LayerNorm: LayerTwin(
        lambda layer, tnn: tnn.LayerNorm(layer.normalized_shape, eps=layer.eps,
                                         elementwise_affine=layer.elementwise_affine,
                                         bias=layer.bias is not None),
        example=_layer_norm,
        cases=(({}, "train"), ({}, "eval"), ({"elementwise_affine": False}, "train"),
               ({"bias": False}, "train"), ({"eps": 1e-3}, "train"))),
    nn.Sequential: LayerTwin(
        lambda layer, tnn: tnn.Sequential(*(_torch_module(inner, tnn) for inner in layer.layers)),
        example=_small_network),
}


# ---------------------------------------------------------------------------- losses


def _log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _log_probabilities(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """The input of NLLLoss and KLDivLoss: log-probabilities, as a LogSoftmax gives them."""
    return _log_softmax(rng.normal(size=shape))


def _labels(loss: Any, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(0, shape[1], size=shape[0])


def _distribution(loss: Any, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Class probabilities (rows sum to 1), or their logarithms for ``log_target=True``."""
    log_q = _log_probabilities(rng, shape)
    return log_q if getattr(loss, "log_target", False) else np.exp(log_q)


def _bce(loss: losses.BCEWithLogitsLoss, tnn: ModuleType) -> torch.nn.Module:
    # the class weights are buffers of torch's loss: torch_twin moves them to its dtype
    def tensor(array: np.ndarray | None) -> torch.Tensor | None:
        return None if array is None else _torch().from_numpy(array)
    return tnn.BCEWithLogitsLoss(weight=tensor(loss.weight), reduction=loss.reduction,
                                 pos_weight=tensor(loss.pos_weight))


#: nnopt loss class -> its torch twin. The single nnopt -> torch mapping for losses.
LOSS_TWINS: dict[type, LossTwin] = {
    losses.CrossEntropyLoss: LossTwin(
        lambda loss, tnn: tnn.CrossEntropyLoss(ignore_index=loss.ignore_index,
                                               reduction=loss.reduction,
                                               label_smoothing=loss.label_smoothing),
        targets={"labels": _labels, "probabilities": _distribution},
        cases=(({}, "labels"), ({"label_smoothing": 0.1}, "labels"),
               ({"reduction": "sum"}, "labels"), ({"ignore_index": 1}, "labels"),
               ({}, "probabilities"), ({"label_smoothing": 0.2}, "probabilities"))),
    losses.NLLLoss: LossTwin(
        lambda loss, tnn: tnn.NLLLoss(ignore_index=loss.ignore_index, reduction=loss.reduction),
        targets={"labels": _labels}, input=_log_probabilities,
        cases=(({}, "labels"), ({"reduction": "sum"}, "labels"),
               ({"ignore_index": 1}, "labels"))),
    losses.MSELoss: LossTwin(
        lambda loss, tnn: tnn.MSELoss(reduction=loss.reduction),
        targets={"values": lambda loss, rng, shape: rng.normal(size=shape)},
        cases=(({}, "values"), ({"reduction": "sum"}, "values"))),
    losses.BCEWithLogitsLoss: LossTwin(
        _bce, targets={"probabilities": lambda loss, rng, shape: rng.uniform(size=shape)},
        cases=(({}, "probabilities"), ({"reduction": "sum"}, "probabilities"),
               ({"pos_weight": np.array([0.5, 2.0, 3.0, 1.0])}, "probabilities"),
               ({"weight": np.array([1.5, 0.5, 1.0, 2.0]), "reduction": "sum"},
                "probabilities"))),
    # reduction="mean" divides by the classes too and warns on both sides: not a matrix case
    losses.KLDivLoss: LossTwin(
        lambda loss, tnn: tnn.KLDivLoss(reduction=loss.reduction, log_target=loss.log_target),
        targets={"probabilities": _distribution}, input=_log_probabilities,
        cases=(({"reduction": "batchmean"}, "probabilities"),
               ({"reduction": "sum", "log_target": True}, "probabilities"))),
}

#: The names :func:`compare_layer` accepts: every layer, then every loss, with a twin.
LAYERS = tuple(cls.__name__ for cls in (*LAYER_TWINS, *LOSS_TWINS))

#: dtypes a twin can be built in (the comparisons themselves use float64 or float32).
TWIN_DTYPES = ("float64", "float32", "float16", "bfloat16")


def _twin_of(obj: Any) -> LayerTwin | LossTwin:
    """The twin entry of ``obj``'s class or its nearest mapped base class (isinstance rules)."""
    for cls in type(obj).__mro__:
        twin = LAYER_TWINS.get(cls) or LOSS_TWINS.get(cls)
        if twin is not None:
            return twin
    raise TypeError(f"torch_twin: no torch counterpart for {type(obj).__name__}; the mapped "
                    f"classes are {', '.join(LAYERS)}")


def _torch_module(obj: Any, tnn: ModuleType) -> torch.nn.Module:
    """The torch module with ``obj``'s settings and train/eval flag (weights not copied yet)."""
    module = _twin_of(obj).torch_module(obj, tnn)
    # per module, not module.train(), which would also overwrite the flags of its children
    module.training = getattr(obj, "training", True)
    return module


def torch_twin(model: Any, *, dtype: str = "float64", device: torch.device | None = None
               ) -> torch.nn.Module:
    """The torch module equal to the nnopt_lib ``model``, with a copy of every weight.

    Works for every layer of :data:`LAYER_TWINS` (and a ``Sequential`` of them) and every
    loss of :data:`LOSS_TWINS`, so a training loop can run both side by side from the same
    start. Parameters and buffers are copied by ``load_state_dict(model.state_dict())``. The
    twin is in ``dtype`` (``"float64"``, ``"float32"``, ``"float16"`` or ``"bfloat16"``) on
    ``device`` (default: CPU) and has each nnopt module's train/eval mode. ``TypeError`` for
    a class without a twin.
    """
    if dtype not in TWIN_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype!r} (choose one of {', '.join(TWIN_DTYPES)})")
    torch = _torch()
    twin = _torch_module(model, torch.nn).to(dtype=getattr(torch, dtype))
    if isinstance(_twin_of(model), LayerTwin):
        # as_tensor, not from_numpy: a 0-d counter may arrive as a NumPy scalar
        state = {key: torch.as_tensor(np.asarray(value))
                 for key, value in model.state_dict().items()}
        twin.load_state_dict(state)  # copies into twin's dtype; strict: the keys must agree
    return twin.to(device or torch.device("cpu"))


def _example(name: str, options: Mapping[str, Any], features: int, out_features: int,
             rng: np.random.Generator) -> Any:
    """The nnopt layer or loss called ``name``, built with ``options``."""
    for cls, twin in (*LAYER_TWINS.items(), *LOSS_TWINS.items()):
        if cls.__name__ == name:
            if isinstance(twin, LayerTwin) and twin.example is not None:
                return twin.example(options, features, out_features, rng)
            return cls(**options)
    raise ValueError(f"Unknown layer: {name!r}; choose from {LAYERS}")


def _loss_target(twin: LossTwin, loss: Any, target: str | np.ndarray | None,
                 rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[str, np.ndarray]:
    """``(kind, target)``: a target of the twin's named kind (default: its first), or the
    given array (kind ``"given"``)."""
    if target is not None and not isinstance(target, str):
        return "given", np.asarray(target)
    kind = next(iter(twin.targets)) if target is None else target
    if kind not in twin.targets:
        raise ValueError(f"Invalid target: {kind!r} for {type(loss).__name__} (choose "
                         f"{', '.join(twin.targets)}, or pass an array)")
    return kind, twin.targets[kind](loss, rng, shape)


def compare_layer(layer: str | Any, *, options: Mapping[str, Any] | None = None,
                  mode: str = "train", target: str | np.ndarray | None = None,
                  input: np.ndarray | None = None, batch: int = 16, features: int = 6,
                  out_features: int = 4, seed: int = 0, dtype: str = "float64") -> Comparison:
    """Compare an :mod:`nnopt_lib.nn` layer or a :mod:`nnopt_lib.losses` loss with
    ``torch.nn``'s, forward and backward.

    ``layer`` is one of :data:`LAYERS`, built with ``options`` (e.g.
    ``{"negative_slope": 0.2}``), or an nnopt layer, model or loss itself (e.g. an
    ``nn.mlp(...)``; it is used as it is, so a training-mode pass moves its BatchNorm
    statistics). :func:`torch_twin` builds the torch module from it, with nnopt's parameters.
    Both see the same input and the same upstream gradient. The input is ``input`` where
    given (any shape the layer takes), else seeded normal, ``batch x features``; for a loss,
    ``batch x out_features`` logits (log-probabilities for NLLLoss and KLDivLoss) and a
    ``target``: an array, or a kind of the twin's ``targets`` (``"labels"`` or
    ``"probabilities"`` for CrossEntropyLoss; default: the first).
    Compared items, in ``per_step`` order: the output (for a loss, the loss value), the input
    gradient, each parameter gradient, then each buffer after the forward pass (BatchNorm's
    running statistics: updated in training mode, untouched in eval mode). ``mode`` is
    ``"train"`` or ``"eval"``. A Dropout layer in training mode is given torch's keep mask,
    read off torch's output (the input must then have no zeros); a model with Dropout
    inside can only be compared in eval mode. ``final`` of the result holds the nnopt and
    the torch module.
    """
    if isinstance(layer, str) and layer not in LAYERS:
        raise ValueError(f"Unknown layer: {layer!r}; choose from {LAYERS}")
    if mode not in ("train", "eval"):
        raise ValueError(f"Invalid mode: {mode!r} (choose 'train' or 'eval')")
    options = dict(options or {})
    torch = _torch()
    device = best_device()
    dtype, torch_dtype = _resolve_dtype(dtype, device)
    rng = np.random.default_rng(seed)
    if isinstance(layer, str):
        ours, name = _example(layer, options, features, out_features, rng), layer
    elif options:
        raise ValueError("options build a layer by name; an nnopt module comes built")
    else:
        ours, name = layer, type(layer).__name__
    twin = _twin_of(ours)
    if isinstance(twin, LayerTwin):
        ours.train(mode == "train")  # before torch_twin, which copies each module's mode
    theirs = torch_twin(ours, dtype=dtype, device=device)

    def tensor(array: Any, grad: bool = False) -> torch.Tensor:
        array = np.asarray(array)
        if np.issubdtype(array.dtype, np.integer):  # class labels stay integers (torch long)
            return torch.as_tensor(array, dtype=torch.long, device=device)
        return torch.tensor(array, dtype=torch_dtype, device=device, requires_grad=grad)

    if isinstance(twin, LossTwin):
        logits = (twin.input(rng, (batch, out_features)) if input is None
                  else np.asarray(input, dtype=np.float64))
        kind, goal = _loss_target(twin, ours, target, rng, logits.shape)
        our_value = ours(logits, goal)
        ours_items = [[our_value], ours.backward()]
        x = tensor(logits, grad=True)
        their_value = theirs(x, tensor(goal))
        their_value.backward()
        their_items = [their_value, x.grad]
        what = f"{_describe(name, options)} with {kind} targets: value and gradient"
    else:
        x_np = (rng.normal(loc=0.5, scale=1.5, size=(batch, features)) if input is None
                else np.asarray(input, dtype=np.float64))
        # torch first: a random layer's nnopt twin replays what torch drew (twin.forward)
        x = tensor(x_np, grad=True)
        their_y = theirs(x)
        y = (ours.forward(x_np) if twin.forward is None
             else twin.forward(ours, x_np, their_y.detach().cpu().numpy()))
        grad_out = rng.normal(size=y.shape)
        grad_in = ours.backward(grad_out)
        their_y.backward(tensor(grad_out))
        ours_items = [y, grad_in, *ours.gradients()]
        their_items = [their_y, x.grad, *(p.grad for p in theirs.parameters())]
        # the buffers by name: torch_twin's strict load_state_dict has matched the names
        their_buffers = dict(theirs.named_buffers())
        for key, buffer in ours.named_buffers():
            ours_items.append(buffer)
            their_items.append(their_buffers[key])
        what = f"{_describe(name, options)} [{mode}] forward and backward"
    their_items = [item.detach().cpu().numpy() for item in their_items]
    return _compare_items(what, ours_items, their_items, str(device), dtype,
                          final=(ours, theirs))
