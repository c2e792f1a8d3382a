"""Checks of hyperparameters, shared by the optimizers and the learning-rate schedulers, and
of the inputs of the pure step functions (:func:`checked_step`).

The rule (issue 7, section 5): where torch raises for a bad value, raise the SAME exception
type (and, where torch's message is clear, the same message); where torch accepts garbage
silently (``SGD(lr=nan)``, ``Adam(lr=inf)``, ``maximize="no"``, a negative ``gamma``), raise
a clear error that names the argument and the allowed range.

Type errors are ``TypeError`` (as torch's comparisons raise for a str, None or list); values
out of range are ``ValueError``. NumPy scalars count as numbers (``np.float64``,
``np.int64``), and NumPy booleans as booleans: values computed with numpy must be accepted.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np


def require_real(value: Any, name: str) -> None:
    """``TypeError`` naming ``name`` unless ``value`` is a real number (Python or NumPy)."""
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, but got {value!r} ({type(value).__name__})")


def require_finite(value: float, name: str, allowed: str) -> None:
    """``ValueError`` for inf (torch accepts it for most hyperparameters; every step is then
    inf or NaN, or nothing moves)."""
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite ({allowed}), but got {name}={value}")


def check_at_least_zero(value: Any, name: str, invalid: str) -> None:
    """torch's ``if not 0.0 <= value: raise ValueError(f"Invalid {invalid}: {value}")``
    (so NaN is refused with torch's message too), after a type check and followed by a
    finiteness check that torch lacks."""
    require_real(value, name)
    if not 0.0 <= value:
        raise ValueError(f"Invalid {invalid}: {value}")
    require_finite(value, name, "a number >= 0")


def check_unit_interval(
    value: Any, name: str, invalid: str, *, include_one: bool, torch_checks: bool = False
) -> None:
    """A value in [0, 1] (or [0, 1) with ``include_one=False``); NaN fails the comparison and
    is refused too. The message is torch's ``Invalid {invalid}: {value}`` where torch makes
    the same check (``torch_checks=True``), with the allowed range added where it does not."""
    require_real(value, name)
    inside = 0.0 <= value <= 1.0 if include_one else 0.0 <= value < 1.0
    if not inside:
        allowed = (
            "" if torch_checks else f" ({name} must be in {'[0, 1]' if include_one else '[0, 1)'})"
        )
        raise ValueError(f"Invalid {invalid}: {value}{allowed}")


def check_flag(value: Any, name: str) -> None:
    """``TypeError`` unless ``value`` is a bool: torch takes any object's truth value, so
    ``maximize="no"`` silently MAXIMIZES."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, but got {value!r} ({type(value).__name__})")


def check_betas(betas: Any) -> None:
    """``betas = (beta1, beta2)``, each in [0, 1), with torch's messages.

    Exception types as torch's: a non-sequence is a ``TypeError``, a 1-tuple an
    ``IndexError`` (torch reads ``betas[1]``); a 3-tuple, which torch accepts and then fails
    on at the first step, is a ``ValueError`` here, at construction.
    """
    if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__"):
        raise TypeError(
            "betas must be a pair (beta1, beta2) of numbers in [0, 1), but got "
            f"{betas!r} ({type(betas).__name__})"
        )
    if len(betas) != 2:
        error = IndexError if len(betas) < 2 else ValueError
        raise error(f"betas must have two entries (beta1, beta2), but got {len(betas)}: {betas!r}")
    for index, beta in enumerate(betas):
        require_real(beta, f"betas[{index}]")
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {index}: {beta}")


def require_integer(value: Any, name: str) -> None:
    """``TypeError`` unless ``value`` is an integer (Python or NumPy; not a bool)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, but got {value!r} ({type(value).__name__})")


def check_integer_at_least(value: Any, name: str, minimum: int) -> None:
    """An integer ``>= minimum``; ``TypeError`` for other types, ``ValueError`` below."""
    require_integer(value, name)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, but got {name}={value}")


def checked_step(step_function: Callable[..., Any]) -> Callable[..., Any]:
    """Check the inputs of a pure step function, leaving its body the readable update.

    ``param`` and ``grad`` must be numeric (integer or float) arrays or numbers, ``state`` a
    dict (``{}`` on the first step), and ``lr`` a number or an array of numbers, each finite
    and >= 0 -- an array, because a notebook may sweep many learning rates in one vectorised
    call (e.g. ``lr=lr_grid[:, None]``). The other hyperparameters are the caller's business,
    as in the optimizer classes' validation. The optimizer classes validate once, at
    construction, and call the unchecked function (``step_function.__wrapped__``).
    """

    @functools.wraps(step_function)
    def checked(param: Any, grad: Any, state: Any, **hyperparameters: Any) -> Any:
        name = step_function.__name__
        for argument, value in (("param", param), ("grad", grad)):
            if not _is_numeric(value):
                raise TypeError(
                    f"{name}: {argument} must be a numeric array, but got {value!r} "
                    f"({type(value).__name__})"
                )
        if not isinstance(state, Mapping):
            raise TypeError(
                f"{name}: state must be a dict ({{}} on the first step), but got "
                f"{type(state).__name__}"
            )
        if "lr" in hyperparameters:
            lr = hyperparameters["lr"]
            if not _is_numeric(lr):
                raise TypeError(f"{name}: lr must be a number, but got {lr!r}")
            # a plain number is the common case; compare it without building an array
            valid = 0.0 <= lr < math.inf if isinstance(lr, numbers.Real) else _all_valid_lrs(lr)
            if not valid:
                raise ValueError(f"{name}: lr must be finite and >= 0, but got lr={lr}")
        return step_function(param, grad, state, **hyperparameters)

    return checked


def _is_numeric(value: Any) -> bool:
    """An integer or float array or number (not bool, complex, str or object)."""
    dtype = value.dtype if isinstance(value, np.ndarray) else np.asarray(value).dtype
    return dtype.kind in "iuf"


def _all_valid_lrs(lr: Any) -> bool:
    lr = np.asarray(lr)
    return bool(np.all(np.isfinite(lr) & (lr >= 0)))
