"""The optimizer base class: parameter groups, the ``step(grads)`` loop and state dicts."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from itertools import chain
from typing import Any

import numpy as np

from nnopt_lib.optim import inplace
from nnopt_lib.optim.param_state import ParamState

#: Group keys that learning-rate schedulers add (``initial_lr`` by every scheduler, the rest
#: by ``OneCycleLR``); a group or a loaded state dict may carry them.
SCHEDULER_GROUP_KEYS = frozenset(
    {"initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"}
)

#: Switches of torch's param groups that select an implementation, not the mathematics
#: (nnopt has one code path), and torch's optional parameter names: dropped when a torch
#: state dict is loaded.
TORCH_ONLY_GROUP_KEYS = frozenset(
    {"foreach", "fused", "capturable", "differentiable", "param_names"}
)

#: State entries that torch keeps as 0-d tensors whatever the parameter's shape; they are
#: Python floats in the live state and 0-d float64 arrays in a state dict.
SCALAR_STATE_KEYS = frozenset({"step", "mu_product"})


class Optimizer:
    """Base class: parameter groups, per-parameter state and the ``step(grads)`` loop.

    Parameters
    ----------
    params:
        A list of numpy float arrays, a single array, or a list of parameter-group dicts
        ``{"params": [...], "lr": ...}`` (any hyperparameter a group leaves out is taken
        from ``defaults``), exactly like ``torch.optim.Optimizer``.
    defaults:
        Hyperparameter name -> default value, under torch's names.

    Attributes
    ----------
    param_groups: list of dicts, each with ``"params"`` and every hyperparameter. Learning-rate
        schedulers read and write ``group["lr"]`` here, as in torch.
    defaults: the ``defaults`` dict.
    state: a :class:`~nnopt_lib.optim.param_state.ParamState`, parameter array -> its state
        dict under torch's key names: ``opt.state[p]["exp_avg"]``, as in torch.

    Subclasses set ``step_function``, their pure single-array update
    ``f(param, grad, state, **hyperparameters) -> (new_param, new_state)``, whose keyword
    names are exactly the keys of ``defaults``, and ``_check_hyperparameters``, which
    validates one group's hyperparameters (the constructor's, every added group's and every
    loaded group's) with torch's exception types.

    ``copy.deepcopy`` and ``pickle`` keep the state; ``state_dict()`` /
    ``load_state_dict()`` use torch's layout, so a torch optimizer's state dict (tensors
    converted with ``.numpy()``) loads here and the two continue identically, and back.
    """

    step_function: Callable[..., tuple[np.ndarray, dict[str, Any]]]
    #: The same update done in place, block by block (:mod:`~nnopt_lib.optim.inplace`):
    #: ``f(param, grad, state, **hyperparameters) -> state``, bit-for-bit equal to
    #: ``step_function``. Classes without one use the pure function.
    inplace_function: Callable[..., dict[str, Any]] | None = None

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        # torch validates the hyperparameters before it looks at the parameters
        self._check_hyperparameters(defaults)
        self.defaults = dict(defaults)
        self.state = ParamState()
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, np.ndarray):
            params = [params]  # torch refuses a bare tensor; for numpy we wrap it, as documented
        try:
            groups = list(params)
        except TypeError:
            raise TypeError(
                "params argument given to the optimizer should be an iterable of arrays or "
                f"dicts, but got {type(params).__name__}"
            ) from None
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    @staticmethod
    def _check_hyperparameters(hyperparameters: Mapping[str, Any]) -> None:
        """Raise for an invalid hyperparameter (subclasses: torch's checks, then ours)."""

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group ``{"params": [...], <hyperparameters>}``; missing keys come from defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        group = dict(param_group)  # don't modify the caller's dict
        params = group["params"]
        if isinstance(params, np.ndarray):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, "
                "but the ordering of arrays in sets will change between runs. "
                "Please use a list instead."
            )
        group["params"] = list(params)
        for p in group["params"]:
            if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
                raise TypeError(
                    "optimizer can only optimize numpy float arrays, but one of the params is "
                    f"{type(p).__name__}"
                    + (f" of dtype {p.dtype}" if isinstance(p, np.ndarray) else "")
                )
        unknown = set(group) - set(self.defaults) - {"params"} - SCHEDULER_GROUP_KEYS
        if unknown:
            # torch silently keeps unknown keys; a typo in a group should fail loudly instead
            raise TypeError(f"unknown hyperparameter(s) in param group: {sorted(unknown)}")
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_hyperparameters(group)

        seen = {id(p) for g in self.param_groups for p in g["params"]}
        ids = [id(p) for p in group["params"]]
        if len(set(ids)) != len(ids) or seen & set(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # ----------------------------------------------------------------------------------
    # Stepping
    # ----------------------------------------------------------------------------------

    def step(self, grads: Any) -> None:
        """Apply one update to every parameter, in place.

        ``grads`` is a list of arrays aligned with the parameters of all groups, in order
        (a single array is accepted when there is exactly one parameter). A ``None`` entry
        skips that parameter, like a tensor whose ``.grad`` is ``None`` in torch. Floating
        gradients are used in the parameter's dtype (torch requires ``grad.dtype ==
        param.dtype``).

        Every gradient and parameter is checked BEFORE anything changes: a wrong shape, a
        non-float gradient or a read-only parameter raises and leaves the parameters and the
        state exactly as they were.
        """
        updates = self._checked_updates(grads)
        for group, param, grad in updates:
            state = self.state.get(param, {})
            hyperparameters = {name: group[name] for name in self.defaults}
            if (self.inplace_function is not None and param.flags.c_contiguous
                    and param.size >= inplace.MIN_SIZE):
                new_state = self.inplace_function(param, grad, dict(state), **hyperparameters)
            else:
                # the inputs were checked already (step() and the constructor), so skip the
                # pure function's own checks (validation.checked_step) on this hot path
                update = getattr(self.step_function, "__wrapped__", self.step_function)
                new_param, new_state = update(param, grad, state, **hyperparameters)
                param[...] = new_param
            if new_state or param in self.state:  # no empty entries (torch's SGD keeps none)
                self.state[param] = new_state

    def _checked_updates(self, grads: Any) -> list[tuple[dict[str, Any], np.ndarray, np.ndarray]]:
        """(group, param, grad) for every parameter with a gradient, after checking them all."""
        if isinstance(grads, np.ndarray):
            grads = [grads]
        try:
            grads = list(grads)
        except TypeError:
            raise TypeError(
                "step() takes a list of gradient arrays, one per parameter (or a single array "
                f"for a single parameter), but got {type(grads).__name__}"
            ) from None
        n_params = sum(len(group["params"]) for group in self.param_groups)
        if len(grads) != n_params:
            raise ValueError(
                f"step() got {len(grads)} gradient(s) for {n_params} parameter(s); "
                "pass one gradient per parameter, in param_groups order"
            )
        pairs = ((group, param) for group in self.param_groups for param in group["params"])
        updates = []
        for i, ((group, param), grad) in enumerate(zip(pairs, grads, strict=True)):
            if grad is None:
                continue
            grad = np.asarray(grad)
            if grad.dtype.kind != "f":
                raise TypeError(
                    f"gradient {i} has dtype {grad.dtype}; gradients must be floating-point "
                    "arrays, like their parameters"
                )
            if grad.shape != param.shape:
                raise ValueError(
                    f"gradient {i} has shape {grad.shape} but its parameter has shape {param.shape}"
                )
            if not param.flags.writeable:
                raise ValueError(
                    f"parameter {i} is read-only (param.flags.writeable is False); the "
                    "optimizer updates its parameters in place"
                )
            updates.append((group, param, grad.astype(param.dtype, copy=False)))
        return updates

    # ----------------------------------------------------------------------------------
    # State dicts, in torch's layout
    # ----------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in torch's layout, as deep copies::

            {"state": {0: {"step": array(3.), "exp_avg": array([...]), ...}, ...},
             "param_groups": [{"lr": 0.001, ..., "params": [0, 1]}, ...]}

        Parameters are numbered by their position over all groups, in order; the
        parameters themselves are not saved. Where torch has a tensor there is a numpy
        array: ``"step"`` (and NAdam's ``"mu_product"``) are 0-d float64 arrays, as torch
        keeps 0-d tensors. Nothing in the returned dict changes when the optimizer steps on.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {key: copy.deepcopy(value) for key, value in group.items() if key != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for param, param_state in self.state.items():
            if id(param) not in index:
                raise KeyError(
                    f"optimizer.state holds an array of shape {param.shape} that is not one "
                    "of the optimizer's parameters"
                )
            state[index[id(param)]] = {
                key: None if value is None else np.array(value, copy=True)
                for key, value in param_state.items()
            }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a state dict from :meth:`state_dict` or from a torch optimizer of the same class.

        A torch state dict may be passed with its tensors converted by ``.numpy()`` (or as
        floats). As in torch: the number of groups and the size of every group must match
        (``ValueError``), the saved groups replace the hyperparameters (the parameters stay),
        and state arrays are cast to their parameter's dtype. ``"step"`` and
        ``"mu_product"`` may be 0-d arrays or numbers. Beyond torch: every value is copied
        (the loaded dict stays independent of the optimizer), arrays must have their
        parameter's shape, torch's implementation switches (``foreach``, ``fused``,
        ``capturable``, ``differentiable``) are dropped, hyperparameters this class does not
        have are refused, missing ones are taken from the defaults (as torch's
        ``__setstate__`` does), and the loaded hyperparameters are validated. Nothing
        changes unless the whole dict is valid.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"state_dict must be a dict, but got {type(state_dict).__name__}")
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise KeyError(
                    f"optimizer state dict has no {key!r} entry; expected torch's layout "
                    "{'state': {...}, 'param_groups': [...]}"
                )
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(
            len(saved["params"]) != len(group["params"])
            for saved, group in zip(saved_groups, self.param_groups, strict=True)
        ):
            raise ValueError(
                "loaded state dict contains a parameter group "
                "that doesn't match the size of optimizer's group"
            )
        param_at = dict(
            zip(
                chain.from_iterable(saved["params"] for saved in saved_groups),
                chain.from_iterable(group["params"] for group in self.param_groups),
                strict=True,
            )
        )
        new_groups = [self._loaded_group(saved, i) for i, saved in enumerate(saved_groups)]
        new_state = []
        for index, saved_state in state_dict["state"].items():
            if index not in param_at:
                raise ValueError(
                    f"loaded state dict has state for parameter {index!r}, but its param_groups "
                    f"number the parameters {sorted(param_at, key=repr)}"
                )
            param = param_at[index]
            loaded = {
                key: _loaded_value(key, value, param, index)
                for key, value in saved_state.items()
                if value is not None  # torch's "no buffer yet", e.g. an old SGD momentum_buffer
            }
            new_state.append((param, loaded))

        # everything is valid: commit
        for group, new in zip(self.param_groups, new_groups, strict=True):
            params = group["params"]
            group.clear()  # in place: code holding a group dict keeps seeing the optimizer's
            group.update(new)
            group["params"] = params
        self.state.clear()
        for param, loaded in new_state:
            self.state[param] = loaded

    def _loaded_group(self, saved: Mapping[str, Any], position: int) -> dict[str, Any]:
        group = {
            key: copy.deepcopy(value)
            for key, value in saved.items()
            if key != "params" and key not in TORCH_ONLY_GROUP_KEYS
        }
        unknown = set(group) - set(self.defaults) - SCHEDULER_GROUP_KEYS
        if unknown:
            raise ValueError(
                f"param group {position} of the loaded state dict has hyperparameter(s) "
                f"{sorted(unknown)} that {type(self).__name__} does not have; was it saved "
                "from another optimizer class?"
            )
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self._check_hyperparameters(group)
        return group

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _loaded_value(key: str, value: Any, param: np.ndarray, index: Any) -> Any:
    """One state entry as the live state holds it: a float for the scalar entries, else an
    array in the parameter's dtype and shape (a copy)."""
    if key in SCALAR_STATE_KEYS:
        scalar = np.asarray(value)
        if scalar.size != 1:
            raise ValueError(
                f"state[{index!r}][{key!r}] must be a number or a 0-d array, but has shape "
                f"{scalar.shape}"
            )
        return float(scalar.reshape(()))
    array = np.array(value, dtype=param.dtype, copy=True)  # torch casts to the param's dtype
    if array.shape != param.shape:
        raise ValueError(
            f"state[{index!r}][{key!r}] has shape {array.shape} but its parameter has shape "
            f"{param.shape}"
        )
    return array
