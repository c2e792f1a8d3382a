"""The base class of every layer: parameters, buffers and state dicts with torch's names.

A module names its own arrays in two class attributes, as torch keeps them in
``_parameters`` and ``_buffers``:

* ``_parameter_names``: trainable arrays (``"weight"``, ``"bias"``). Each has a gradient
  attribute named ``"grad_" + name`` that ``backward`` overwrites.
* ``_buffer_names``: state that is not trained but belongs to the model
  (``"running_mean"``, ``"running_var"``, ``"num_batches_tracked"``).

A container lists its sub-modules in :meth:`Module.named_children`; names are joined with
dots, so a ``Sequential`` gives ``"0.weight"``, ``"1.running_mean"``, ... -- exactly the keys
of the equivalent ``torch.nn.Sequential``. That is what lets a state dict travel between the
two libraries (``{k: v.numpy() for k, v in torch_model.state_dict().items()}`` loads here, and
``{k: torch.from_numpy(v) for k, v in model.state_dict().items()}`` loads there).
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` returns (torch's ``_IncompatibleKeys``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")


class Module:
    """Base class: forward/backward, named parameters and buffers, state dicts, train/eval.

    ``module(x)`` is ``module.forward(x)``. Subclasses set ``_parameter_names`` /
    ``_buffer_names`` (an attribute that is ``None``, like a ``Linear`` without bias, is
    skipped) and containers override :meth:`named_children`; everything else here is
    generic.

    ``backward`` uses what ``forward`` saved, so calling it on a module whose ``forward`` has
    never run raises ``RuntimeError`` ("backward() called before forward()"). Every subclass
    gets that check here, in :meth:`__init_subclass__`, rather than an ``AttributeError``
    about a missing cache from each layer.
    """

    training: bool = True
    _parameter_names: tuple[str, ...] = ()
    _buffer_names: tuple[str, ...] = ()
    _forward_ran: bool = False  # set on the instance by its first successful forward

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Only the methods this class defines itself; inherited ones are wrapped already.
        if "forward" in cls.__dict__:
            cls.forward = _marks_forward_ran(cls.__dict__["forward"])
        if "backward" in cls.__dict__:
            cls.backward = _needs_forward_first(cls.__dict__["backward"])

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # ------------------------------------------------------------------ tree of modules

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules with their names (none for a plain layer)."""
        return iter(())

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def _named_arrays(self, kind: str, prefix: str, recurse: bool
                      ) -> Iterator[tuple[str, np.ndarray]]:
        # Own arrays first, then each child's: torch's order in state_dict and
        # named_parameters alike.
        names = self._parameter_names if kind == "parameters" else self._buffer_names
        for name in names:
            value = getattr(self, name)
            if value is not None:
                yield prefix + name, value
        if recurse:
            for child_name, child in self.named_children():
                yield from child._named_arrays(kind, f"{prefix}{child_name}.", recurse)

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, np.ndarray]]:
        """``(name, array)`` for every trainable array, with torch's names (``"0.weight"``)."""
        return self._named_arrays("parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> list[np.ndarray]:
        """The trainable arrays themselves (not copies), in the order of :meth:`gradients`.

        An optimizer from :mod:`nnopt_lib.optim` updates these arrays in place.
        """
        return [array for _, array in self.named_parameters(recurse=recurse)]

    def named_buffers(self, prefix: str = "", recurse: bool = True
                      ) -> Iterator[tuple[str, np.ndarray]]:
        """``(name, array)`` for every non-trained state array (BatchNorm's running statistics)."""
        return self._named_arrays("buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> list[np.ndarray]:
        return [array for _, array in self.named_buffers(recurse=recurse)]

    def gradients(self) -> list[np.ndarray]:
        """``dL/dp`` of the last backward pass, one per entry of :meth:`parameters`."""
        grads = [getattr(self, "grad_" + name) for name in self._parameter_names
                 if getattr(self, name) is not None]
        for child in self.children():
            grads.extend(child.gradients())
        return grads

    # ------------------------------------------------------------------ state dicts

    def _state_items(self) -> Iterator[tuple[str, np.ndarray]]:
        """Parameters, then buffers, per module, depth first: the key order of torch."""
        yield from self._named_arrays("parameters", "", recurse=False)
        yield from self._named_arrays("buffers", "", recurse=False)
        for child_name, child in self.named_children():
            for key, value in child._state_items():
                yield f"{child_name}.{key}", value

    def state_dict(self) -> dict[str, np.ndarray]:
        """``{name: copy of the array}`` for every parameter and buffer, with torch's keys.

        Copies, so the dict is a snapshot (what early stopping keeps as "the best weights"):
        training on afterwards does not change it. ``num_batches_tracked`` is a 0-d int64
        array, as torch's is a 0-d int64 tensor.
        """
        return {key: np.array(value, copy=True) for key, value in self._state_items()}

    def load_state_dict(self, state_dict: Mapping[str, object], strict: bool = True
                        ) -> IncompatibleKeys:
        """Copy the values of ``state_dict`` into this module's arrays, in place.

        In place (``array[...] = value``, cast to the array's dtype), so an optimizer that holds
        ``model.parameters()`` keeps working on the loaded values. Values may be numpy arrays,
        anything ``np.asarray`` accepts, or CPU torch tensors.

        Errors are torch's: ``TypeError`` if ``state_dict`` is not a mapping; ``RuntimeError``
        listing missing and unexpected keys (only when ``strict``) and every shape mismatch
        (always). Unlike torch, which copies the matching entries before it raises, nothing
        is copied when anything is wrong: a failed load leaves the model as it was.
        Returns ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        targets = dict(self._state_items())
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        errors = []
        if strict and missing:
            errors.append("Missing key(s) in state_dict: "
                          + ", ".join(f'"{key}"' for key in missing) + ". ")
        if strict and unexpected:
            errors.append("Unexpected key(s) in state_dict: "
                          + ", ".join(f'"{key}"' for key in unexpected) + ". ")
        values = {}
        for key, target in targets.items():
            if key not in state_dict:
                continue
            value = np.asarray(state_dict[key])
            if value.dtype.kind not in "biuf":
                errors.append(f'While copying the parameter named "{key}", expected a numeric '
                              f"array from checkpoint but received {type(state_dict[key])}")
            elif value.shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{value.shape} from checkpoint, the shape in current model is "
                              f"{target.shape}.")
            values[key] = value
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        for key, value in values.items():
            targets[key][...] = value
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ modes and repr

    def train(self, mode: bool = True) -> Module:
        """Training mode (``mode=True``) or evaluation mode, for this module and its children."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = [f"  ({name}): " + repr(child).replace("\n", "\n  ")
                    for name, child in self.named_children()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n" + "\n".join(children) + "\n)"


# ---------------------------------------------------------------------- forward before backward


# The wrappers pass any arguments through unchanged: they only add the order check, whatever
# a subclass's forward or backward takes.
def _marks_forward_ran(forward: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(forward)
    def wrapper(self: Module, *args: Any, **kwargs: Any) -> Any:
        output = forward(self, *args, **kwargs)
        self._forward_ran = True
        return output

    return wrapper


def _needs_forward_first(backward: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(backward)
    def wrapper(self: Module, *args: Any, **kwargs: Any) -> Any:
        if not self._forward_ran:
            name = type(self).__name__
            raise RuntimeError(f"{name}.backward() called before forward(): backward uses what "
                               f"the forward pass saved, so run {name}.forward(x) first")
        return backward(self, *args, **kwargs)

    return wrapper


# ---------------------------------------------------------------------- argument checks


def _check_size(value: object, name: str, owner: str) -> int:
    """A layer size as torch accepts it: any integer >= 0 (0 builds an empty layer)."""
    if not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be an integer, got {type(value).__name__} "
                        f"{value!r}")
    if value < 0:
        # torch: "Trying to create tensor with negative dimension", a RuntimeError
        raise RuntimeError(f"{owner}: {name} must be >= 0, got {value}")
    return int(value)


def _check_float_dtype(dtype: object, owner: str) -> np.dtype:
    """``np.dtype(dtype)`` if it is a floating-point type (float16, float32, float64, ...).

    torch refuses integer parameters with a ``RuntimeError`` (they cannot have gradients).
    """
    resolved = np.dtype(dtype)
    if resolved.kind != "f":
        raise RuntimeError(f"{owner}: dtype must be a floating-point type such as np.float64, "
                           f"np.float32 or np.float16, got {resolved}")
    return resolved


def _check_input_dtype(x: np.ndarray, dtype: np.dtype, owner: str) -> None:
    """torch's rule: the input must have the layer's dtype (it raises ``RuntimeError``)."""
    if x.dtype != dtype:
        raise RuntimeError(
            f"{owner}: input dtype {x.dtype} differs from the layer's dtype {dtype}; cast the "
            f"input with x.astype(np.{dtype}) (the layer's dtype is set by its dtype= argument)"
        )
