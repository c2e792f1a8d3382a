"""Argument checks shared by the modules that have no torch counterpart to copy.

Each check returns the value in a plain Python type, or raises a clear error that names the
argument: ``TypeError`` for the wrong kind of value, ``ValueError`` for a value out of range,
worded like torch's own range errors (``Invalid n_samples: 0 (must be an integer >= 1)``).
NumPy scalars count as numbers (values computed with numpy must be accepted); booleans do not,
although they are ints (``n_samples=True`` is a slip, not a 1).

Hyperparameters of optimizers and schedulers follow torch's own checks and messages instead
(:mod:`nnopt_lib.optim.validation`).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["generator", "integer", "real"]


def real(name: str, value: object, *, nonnegative: bool = False) -> float:
    """``value`` as a finite float (and ``>= 0`` with ``nonnegative=True``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    try:
        value = float(value)
    except OverflowError:  # an int beyond the float range
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"Invalid {name}: {value} (must be finite)")
    if nonnegative and value < 0:
        raise ValueError(f"Invalid {name}: {value} (must be >= 0)")
    return value


def integer(name: str, value: object, *, minimum: int) -> int:
    """``value`` as a Python int ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"Invalid {name}: {value} (must be an integer >= {minimum})")
    return int(value)


def generator(value: object, name: str = "rng") -> np.random.Generator:
    """``value`` itself if it is a ``numpy.random.Generator``.

    A seed (``rng=0``) is refused rather than turned into a generator: sharing one generator
    between layers is what makes a whole model reproducible from one seed.
    """
    if not isinstance(value, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator, e.g. np.random.default_rng(0); "
            f"got {type(value).__name__} {value!r}"
        )
    return value
