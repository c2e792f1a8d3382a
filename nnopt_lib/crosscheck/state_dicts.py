"""State that survives: state dicts handed between nnopt_lib and torch, and copies.

Every round trip has one pattern: one side runs ``before`` steps, its state dict is converted
(numpy arrays <-> tensors) and loaded into a fresh twin on the other side, then both go on
for ``after`` steps with the same gradients. Compared, as items of one :class:`Comparison`:
the two state dicts right after the hand-over (entry by entry, under torch's key names), the
parameters (or learning rates) after every later step, and the two state dicts at the end.
:func:`compare_optimizer_state` also hands an optimizer over by ``copy.deepcopy`` or pickle,
on both sides, to check that a copy continues exactly like torch's copy.
"""

from __future__ import annotations

import copy
import pickle
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from nnopt_lib import nn, optim, schedules
from nnopt_lib.crosscheck.comparison import Comparison, _compare_items, _describe
from nnopt_lib.crosscheck.device import _default_dtype, _resolve_dtype, _torch, best_device
from nnopt_lib.crosscheck.layers import torch_twin
from nnopt_lib.crosscheck.optimizers import (
    TEACHING_EQUIVALENTS,
    _check_name,
    _torch_class_and_options,
)

#: Entries torch keeps and nnopt_lib drops when it loads a torch state dict: the param-group
#: switches that pick an implementation (``optim.base.TORCH_ONLY_GROUP_KEYS``) and the
#: schedulers' bookkeeping (``schedules.base``, ``schedules.plateau``).
TORCH_ONLY_KEYS = frozenset({"foreach", "fused", "capturable", "differentiable", "param_names",
                             "_get_lr_called_within_step", "mode_worse", "default_min_lr"})

#: How :func:`compare_optimizer_state` hands an optimizer over.
HANDOVERS = ("torch_to_nnopt", "nnopt_to_torch", "deepcopy", "pickle")
#: How the scheduler and module round trips hand over (state dicts only).
DIRECTIONS = ("torch_to_nnopt", "nnopt_to_torch")


def numpy_state_dict(state: Any) -> Any:
    """A torch state dict (or any nesting of dicts, lists and tuples) with every tensor
    replaced by a NumPy copy: what nnopt_lib's ``load_state_dict`` takes."""
    torch = _torch()
    if isinstance(state, torch.Tensor):
        return state.detach().cpu().clone().numpy()
    if isinstance(state, Mapping):
        return type(state)({key: numpy_state_dict(value) for key, value in state.items()})
    if isinstance(state, (list, tuple)):
        return type(state)(numpy_state_dict(value) for value in state)
    return state


def torch_state_dict(state: Any) -> Any:
    """An nnopt_lib state dict with every NumPy array replaced by a (CPU) tensor copy: what
    torch's ``load_state_dict`` takes (it moves the entries to its parameters' device)."""
    torch = _torch()
    if isinstance(state, np.ndarray):
        return torch.from_numpy(state.copy())
    if isinstance(state, Mapping):
        return type(state)({key: torch_state_dict(value) for key, value in state.items()})
    if isinstance(state, (list, tuple)):
        return type(state)(torch_state_dict(value) for value in state)
    return state


def _is_number(value: Any) -> bool:
    return isinstance(value, (bool, int, float, np.number, np.bool_))


def _leaves(state: Any, path: str = "") -> dict[str, Any]:
    """``{"state.0.exp_avg": array, "param_groups.1.lr": 0.05, ...}``: a nested state dict
    flattened to its entries; a list of numbers (``betas``, ``base_lrs``) is one entry."""
    if isinstance(state, Mapping):
        items: Sequence[tuple[Any, Any]] = list(state.items())
    elif isinstance(state, (list, tuple)) and not (state and all(map(_is_number, state))):
        items = list(enumerate(state))
    else:
        return {path: state}
    found: dict[str, Any] = {}
    for key, value in items:
        found.update(_leaves(value, f"{path}.{key}" if path else str(key)))
    return found


def _as_array(value: Any) -> np.ndarray | None:
    """A number, a list of numbers, an array or a tensor as a float64 array; else None."""
    torch = _torch()
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().double().numpy()
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.astype(np.float64)
    if _is_number(value) or (isinstance(value, (list, tuple)) and value):
        return np.asarray(value, dtype=np.float64)
    return None


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. an array against a list: not the same entry
        return False


def _state_items(prefix: str, ours: Any, theirs: Any
                 ) -> tuple[list[str], list[Any], list[Any]]:
    """The entries of two state dicts as aligned ``(labels, ours, theirs)`` items.

    Numbers and arrays are compared as values. Anything else (a mode name, ``None`` for a
    plain function's lambda) must be equal: equal entries give ``0`` on both sides, unequal
    ones ``NaN`` on torch's. An entry on one side only is ``NaN`` on the other, unless it is
    torch bookkeeping of :data:`TORCH_ONLY_KEYS`.
    """
    our_leaves, their_leaves = _leaves(ours), _leaves(theirs)
    keys = list(our_leaves) + [key for key in their_leaves if key not in our_leaves
                               and key.rsplit(".", 1)[-1] not in TORCH_ONLY_KEYS]
    labels, ours_items, theirs_items = [], [], []
    for key in keys:
        labels.append(f"{prefix}{key}")
        if key not in our_leaves or key not in their_leaves:
            ours_items.append(0.0 if key in our_leaves else np.nan)
            theirs_items.append(0.0 if key in their_leaves else np.nan)
            continue
        a, b = _as_array(our_leaves[key]), _as_array(their_leaves[key])
        if a is not None and b is not None:
            ours_items.append(a)
            theirs_items.append(b)
        else:
            ours_items.append(0.0)
            theirs_items.append(0.0 if _same(our_leaves[key], their_leaves[key]) else np.nan)
    return labels, ours_items, theirs_items


def compare_state_dicts(ours: Mapping[str, Any], theirs: Mapping[str, Any], *,
                        what: str = "state dicts", dtype: str = "float64",
                        device: str = "cpu") -> Comparison:
    """Compare an nnopt_lib state dict with a torch one, entry by entry (``unit="item"``).

    Works for optimizers (``state`` and ``param_groups``), schedulers and modules: the
    nested dicts are flattened to entries named like ``"state.1.exp_avg"``, and an entry
    missing on one side fails (torch's implementation switches and bookkeeping of
    :data:`TORCH_ONLY_KEYS` excepted). Non-numeric entries must be equal.
    """
    labels, ours_items, theirs_items = _state_items("", ours, theirs)
    return _compare_items(what, ours_items, theirs_items, device, dtype, labels=labels)


# ---------------------------------------------------------------------------- optimizers

#: Optimizer settings whose state round-trips with torch's, per optimizer with a torch
#: namesake: plain, then every state-changing switch on (momentum, nesterov, amsgrad,
#: centered, decoupled weight decay, maximize). Each names its lr; the second parameter
#: group runs at half of it.
OPTIMIZER_STATE_CASES: dict[str, list[dict[str, Any]]] = {
    "sgd": [{"lr": 0.05}, {"lr": 0.05, "momentum": 0.9},
            {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
            {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "maximize": True}],
    "adagrad": [{"lr": 0.1},
                {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.5,
                 "weight_decay": 0.1, "maximize": True}],
    "rmsprop": [{"lr": 0.01}, {"lr": 0.01, "momentum": 0.5}, {"lr": 0.01, "centered": True},
                {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1,
                 "maximize": True}],
    "adadelta": [{"lr": 1.0},
                 {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1, "maximize": True}],
    "adam": [{"lr": 0.01}, {"lr": 0.01, "amsgrad": True},
             {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True},
             {"lr": 0.01, "betas": (0.8, 0.99), "amsgrad": True, "maximize": True}],
    "adamw": [{"lr": 0.01},
              {"lr": 0.01, "amsgrad": True, "weight_decay": 0.05, "maximize": True}],
    "nadam": [{"lr": 0.01},
              {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True,
               "maximize": True},
              {"lr": 0.01, "momentum_decay": 0.01}],
}


def _copier(handover: str) -> Callable[[Any], Any]:
    if handover == "deepcopy":
        return copy.deepcopy
    return lambda obj: pickle.loads(pickle.dumps(obj))


def _check_choice(value: str, name: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"Invalid {name}: {value!r} (choose from {', '.join(choices)})")


def compare_optimizer_state(name: str, options: Mapping[str, Any], *,
                            handover: str = "torch_to_nnopt", before: int = 5, after: int = 7,
                            seed: int = 7, dtype: str = "float64") -> Comparison:
    """Hand an optimizer's state over between nnopt_lib and torch, then step both on.

    Three parameter arrays (seeded normal, shapes ``(2, 3)``, ``(3,)``, ``(1,)``) in two
    groups, the second at half the lr; the same seeded gradients on both sides. ``handover``:

    * ``"torch_to_nnopt"``: torch steps ``before`` times; its ``state_dict()``, converted to
      NumPy, loads into a fresh ``optim`` twin built with the default hyperparameters (the
      state dict must set them all) at torch's parameters;
    * ``"nnopt_to_torch"``: the reverse;
    * ``"deepcopy"`` / ``"pickle"``: both step ``before`` times, each side copies its own
      optimizer, and the copies go on.

    Compared: the two state dicts right after the hand-over, the parameters after each of
    ``after`` more steps, and the two state dicts at the end. ``final``: the two optimizers
    that went on. For optimizers with a torch namesake (the teaching variants keep another
    state than torch's SGD).
    """
    _check_name(name)
    if name in TEACHING_EQUIVALENTS:
        raise ValueError(f"{name} has no torch namesake whose state it could share")
    _check_choice(handover, "handover", HANDOVERS)
    torch = _torch()
    device = best_device()
    dtype, torch_dtype = _resolve_dtype(dtype, device)
    rng = np.random.default_rng(seed)
    start = [rng.normal(size=shape) for shape in ((2, 3), (3,), (1,))]
    grads = [[rng.normal(size=p.shape) for p in start] for _ in range(before + after)]
    torch_cls, torch_options = _torch_class_and_options(name, options)
    our_cls = optim.OPTIMIZERS[name]

    def groups(params: list, lr: float | None = None) -> list[dict]:
        second = {"params": params[1:]} if lr is None else {"params": params[1:], "lr": lr / 2}
        return [{"params": params[:1]}, second]

    def tensors(values: Sequence[np.ndarray]) -> list:
        return [torch.tensor(v, dtype=torch_dtype, device=device, requires_grad=True)
                for v in values]

    def step_torch(opt: Any, params: list, grad: list[np.ndarray]) -> None:
        for t, g in zip(params, grad, strict=True):
            t.grad = torch.as_tensor(g, dtype=torch_dtype, device=device)
        opt.step()

    def params_of(opt: Any) -> list:
        return [p for group in opt.param_groups for p in group["params"]]

    with _default_dtype(torch_dtype):  # torch keeps "step" in the default dtype
        ours = [p.copy() for p in start]
        our_opt = our_cls(groups(ours, options.get("lr")), **options)
        theirs = tensors(start)
        their_opt = torch_cls(groups(theirs, options.get("lr")), **torch_options, foreach=False)
        for grad in grads[:before]:
            if handover != "nnopt_to_torch":
                step_torch(their_opt, theirs, grad)
            if handover != "torch_to_nnopt":
                our_opt.step(grad)
        if handover == "torch_to_nnopt":
            ours = [t.detach().cpu().numpy().astype(np.float64) for t in theirs]
            our_opt = our_cls(groups(ours))
            our_opt.load_state_dict(numpy_state_dict(their_opt.state_dict()))
        elif handover == "nnopt_to_torch":
            theirs = tensors(ours)
            their_opt = torch_cls(groups(theirs), foreach=False)
            their_opt.load_state_dict(torch_state_dict(our_opt.state_dict()))
            for group in their_opt.param_groups:  # nnopt's dict has no implementation switch
                group["foreach"] = False
        else:
            copier = _copier(handover)
            our_opt, their_opt = copier(our_opt), copier(their_opt)
            ours, theirs = params_of(our_opt), params_of(their_opt)
        labels, ours_items, theirs_items = _state_items(
            "handed over: ", our_opt.state_dict(), their_opt.state_dict())
        for k, grad in enumerate(grads[before:], start=before + 1):
            our_opt.step(grad)
            step_torch(their_opt, theirs, grad)
            labels.append(f"step {k}: parameters")
            ours_items.append(np.concatenate([p.ravel() for p in ours]))
            theirs_items.append(torch.cat([t.detach().reshape(-1) for t in theirs]).cpu().numpy())
        final = _state_items("final: ", our_opt.state_dict(), their_opt.state_dict())
    what = f"{_describe(name, options)}: {handover.replace('_', ' ')} after {before} steps"
    return _compare_items(what, ours_items + final[1], theirs_items + final[2], str(device),
                          dtype, labels=labels + final[0], final=(our_opt, their_opt))


# ---------------------------------------------------------------------------- schedulers


class Warmup:
    """A callable object as ``lr_lambda``: its attributes are state (torch saves its
    ``__dict__`` in the scheduler's state dict, and so does nnopt_lib)."""

    def __init__(self, length: int):
        self.length = length
        self.calls = 0

    def __call__(self, t: int) -> float:
        self.calls += 1
        return min(1.0, (t + 1) / self.length)


def _inverse_time(t: int) -> float:
    return 1.0 / (1.0 + 0.1 * t)


#: Steps of a scheduler round trip (before, after) and the total OneCycleLR must cover.
STATE_BEFORE, STATE_AFTER = 5, 7
_TOTAL_STEPS = STATE_BEFORE + STATE_AFTER + 3
#: The metric ReduceLROnPlateau sees at each step of a round trip: it reduces more than once.
PLATEAU_STATE_METRICS = (1.0, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7,
                         0.7)

#: Scheduler round trips: name -> (optimizer, factory ``(library, optimizer)``). Every
#: scheduler class, with a callable-object lambda, nested sequences and both optimizers
#: OneCycleLR cycles the momentum of.
SCHEDULER_STATE_CASES: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "LambdaLR(function)": ("sgd", lambda m, o: m.LambdaLR(o, lr_lambda=_inverse_time)),
    "LambdaLR(objects)": ("sgd", lambda m, o: m.LambdaLR(o, lr_lambda=[Warmup(8), Warmup(4)])),
    "StepLR": ("sgd", lambda m, o: m.StepLR(o, step_size=3, gamma=0.5)),
    "MultiStepLR": ("sgd", lambda m, o: m.MultiStepLR(o, milestones=[2, 6, 6, 9], gamma=0.5)),
    "ConstantLR": ("sgd", lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=7)),
    "LinearLR": ("sgd", lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=9)),
    "ExponentialLR": ("sgd", lambda m, o: m.ExponentialLR(o, gamma=0.8)),
    "CosineAnnealingLR": ("sgd", lambda m, o: m.CosineAnnealingLR(o, T_max=4, eta_min=0.01)),
    "OneCycleLR": ("sgd", lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.5],
                                                    total_steps=_TOTAL_STEPS)),
    "OneCycleLR(adam, three phases)": ("adam", lambda m, o: m.OneCycleLR(
        o, max_lr=0.1, total_steps=_TOTAL_STEPS, three_phase=True, anneal_strategy="linear")),
    "SequentialLR": ("sgd", lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.2, total_iters=3), m.CosineAnnealingLR(o, T_max=10)],
        milestones=[4])),
    "SequentialLR(nested)": ("sgd", lambda m, o: m.SequentialLR(
        o, [m.SequentialLR(o, [m.ConstantLR(o, factor=0.5), m.ExponentialLR(o, gamma=0.9)],
                           milestones=[2]),
            m.StepLR(o, step_size=2)], milestones=[7])),
    "ReduceLROnPlateau": ("sgd", lambda m, o: m.ReduceLROnPlateau(o, patience=1, factor=0.5,
                                                                   cooldown=1)),
}


def scheduler_pair(kind: str, library: Any) -> Any:
    """The optimizer of a scheduler round trip: ``"sgd"`` (momentum 0.9) or ``"adam"``, over
    two one-element parameters in groups with lr 0.1 and 0.05; ``library`` is
    ``nnopt_lib.optim`` or ``torch.optim``."""
    if library is optim:
        params = [np.zeros(1), np.zeros(1)]
    else:
        torch = _torch()
        params = [torch.zeros(1, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, (0.1, 0.05), strict=True)]
    return library.SGD(groups, momentum=0.9) if kind == "sgd" else library.Adam(groups)


def _momentum(group: dict) -> float:
    return group["betas"][0] if "betas" in group else group["momentum"]


def advance_scheduler(opt: Any, scheduler: Any, start: int, stop: int) -> list[list[float]]:
    """Step an (optimizer, scheduler) pair from step ``start`` to ``stop`` (without
    gradients: the parameters stay); the lr and momentum of every group after each step."""
    seen = []
    for k in range(start, stop):
        if isinstance(opt, optim.Optimizer):
            opt.step([None] * sum(len(g["params"]) for g in opt.param_groups))
        else:
            opt.step()
        schedules.step_scheduler(scheduler, PLATEAU_STATE_METRICS[k])
        seen.append([value for g in opt.param_groups for value in (g["lr"], _momentum(g))])
    return seen


def compare_scheduler_state(name: str, *, handover: str = "torch_to_nnopt") -> Comparison:
    """Hand a scheduler (and its optimizer) over between nnopt_lib and torch, then go on.

    ``name`` is a key of :data:`SCHEDULER_STATE_CASES`. The source side steps
    :data:`STATE_BEFORE` times; a fresh twin on the other side builds its scheduler first,
    then loads the scheduler's state dict and the optimizer's (converted), in torch's order.
    Compared: the two scheduler state dicts and ``get_last_lr()`` right after loading, the lr
    and momentum of each group after each of :data:`STATE_AFTER` more steps, and the state
    dicts at the end (a callable object's attributes included). Python floats on both
    sides: float64 on the CPU.
    """
    if name not in SCHEDULER_STATE_CASES:
        raise ValueError(f"Unknown scheduler case: {name!r}; "
                         f"choose from {sorted(SCHEDULER_STATE_CASES)}")
    _check_choice(handover, "handover", DIRECTIONS)
    torch = _torch()
    kind, factory = SCHEDULER_STATE_CASES[name]
    from_torch = handover == "torch_to_nnopt"
    source_libs = (torch.optim, torch.optim.lr_scheduler) if from_torch else (optim, schedules)
    target_libs = (optim, schedules) if from_torch else (torch.optim, torch.optim.lr_scheduler)
    with warnings.catch_warnings():
        # a nested SequentialLR steps its inner schedulers at construction, which torch
        # mistakes for a call before optimizer.step(); the order here is the right one
        warnings.filterwarnings("ignore", message="Detected call of", category=UserWarning)
        source_opt = scheduler_pair(kind, source_libs[0])
        source = factory(source_libs[1], source_opt)
        advance_scheduler(source_opt, source, 0, STATE_BEFORE)
        target_opt = scheduler_pair(kind, target_libs[0])
        target = factory(target_libs[1], target_opt)
        target.load_state_dict(copy.deepcopy(source.state_dict()))
        convert = numpy_state_dict if from_torch else torch_state_dict
        target_opt.load_state_dict(convert(source_opt.state_dict()))
        ours, theirs = (target, source) if from_torch else (source, target)
        our_opt, their_opt = (target_opt, source_opt) if from_torch else (source_opt, target_opt)
        labels, ours_items, theirs_items = _state_items("handed over: ", ours.state_dict(),
                                                        theirs.state_dict())
        labels.append("handed over: get_last_lr()")
        ours_items.append(ours.get_last_lr())
        theirs_items.append(theirs.get_last_lr())
        stop = STATE_BEFORE + STATE_AFTER
        for k, (a, b) in enumerate(zip(advance_scheduler(our_opt, ours, STATE_BEFORE, stop),
                                       advance_scheduler(their_opt, theirs, STATE_BEFORE, stop),
                                       strict=True), start=STATE_BEFORE + 1):
            labels.append(f"step {k}: lr and momentum of each group")
            ours_items.append(a)
            theirs_items.append(b)
        final = _state_items("final: ", ours.state_dict(), theirs.state_dict())
    what = f"{name} ({kind}): {handover.replace('_', ' ')} after {STATE_BEFORE} steps"
    return _compare_items(what, ours_items + final[1], theirs_items + final[2], "cpu",
                          "float64", labels=labels + final[0], final=(ours, theirs))


# ---------------------------------------------------------------------------- modules

def _normalised_network(rng: np.random.Generator) -> nn.Sequential:
    """LayerNorm (parameters, no buffers) and a BatchNorm1d that tracks nothing (so in eval
    mode it still normalises with the batch) in one model, with the newer activations."""
    return nn.Sequential(nn.Linear(4, 6, rng=rng), nn.LayerNorm(6), nn.GELU(approximate="tanh"),
                         nn.Linear(6, 5, rng=rng), nn.BatchNorm1d(5, track_running_stats=False),
                         nn.SiLU(), nn.Linear(5, 3, rng=rng))


#: Module round trips: name -> a function ``rng -> model`` (a ``Sequential`` starting with a
#: ``Linear``). With BatchNorm, so that the buffers and the ``num_batches_tracked`` counter
#: travel too, and with LayerNorm and an untracked BatchNorm, whose state has no buffers.
MODULE_STATE_CASES: dict[str, Callable[[np.random.Generator], nn.Sequential]] = {
    "mlp(batch_norm)": lambda rng: nn.mlp([4, 6, 5, 3], batch_norm=True, rng=rng),
    "mlp(tanh, batch_norm, bias=False)": lambda rng: nn.mlp([4, 6, 3], "tanh", batch_norm=True,
                                                            bias=False, rng=rng),
    "LayerNorm, BatchNorm1d(track_running_stats=False)": _normalised_network,
}


def compare_module_state(name: str, *, handover: str = "torch_to_nnopt", seed: int = 0,
                         dtype: str = "float64") -> Comparison:
    """Hand a model's state dict over between nnopt_lib and torch; the two must then agree.

    ``name`` is a key of :data:`MODULE_STATE_CASES`. The source (a torch twin of the case's
    model, or the model itself) takes three SGD steps on ``sum(output^2) / batch``, which
    moves its weights and BatchNorm statistics; its state dict, converted, loads into a
    differently initialised model on the other side. Compared: the two state dicts after
    loading, the outputs on a new batch in eval mode, then in training mode, and the state
    dicts after that training-mode pass (running statistics, counter). ``final``: the nnopt
    and the torch model.
    """
    if name not in MODULE_STATE_CASES:
        raise ValueError(f"Unknown module case: {name!r}; "
                         f"choose from {sorted(MODULE_STATE_CASES)}")
    _check_choice(handover, "handover", DIRECTIONS)
    torch = _torch()
    device = best_device()
    dtype, torch_dtype = _resolve_dtype(dtype, device)
    factory = MODULE_STATE_CASES[name]

    def build(offset: int) -> nn.Sequential:
        return factory(np.random.default_rng(seed + offset))

    rng = np.random.default_rng(seed)
    width = build(0)[0].in_features
    batches = [rng.normal(size=(8, width)) for _ in range(4)]

    def tensor(x: np.ndarray) -> Any:
        return torch.tensor(x, dtype=torch_dtype, device=device)

    if handover == "torch_to_nnopt":
        theirs = torch_twin(build(1), dtype=dtype, device=device)
        their_opt = torch.optim.SGD(theirs.parameters(), lr=0.1)
        for x in batches[:3]:
            their_opt.zero_grad()
            (theirs(tensor(x)).pow(2).sum() / len(x)).backward()
            their_opt.step()
        ours = build(2)
        ours.load_state_dict(numpy_state_dict(theirs.state_dict()))
    else:
        ours = build(1)
        our_opt = optim.SGD(ours.parameters(), lr=0.1)
        for x in batches[:3]:
            ours.backward(2 * ours(x) / len(x))
            our_opt.step(ours.gradients())
        theirs = torch_twin(build(2), dtype=dtype, device=device)
        theirs.load_state_dict(torch_state_dict(ours.state_dict()))
    labels, ours_items, theirs_items = _state_items("loaded: ", ours.state_dict(),
                                                    theirs.state_dict())
    for mode in ("eval", "train"):
        ours.train(mode == "train")
        theirs.train(mode == "train")
        labels.append(f"output in {mode} mode")
        ours_items.append(ours(batches[3]))
        with torch.no_grad():
            theirs_items.append(theirs(tensor(batches[3])).cpu().numpy())
    final = _state_items("after a training-mode pass: ", ours.state_dict(), theirs.state_dict())
    what = f"{name}: {handover.replace('_', ' ')} state dict"
    return _compare_items(what, ours_items + final[1], theirs_items + final[2], str(device),
                          dtype, labels=labels + final[0], final=(ours, theirs))
