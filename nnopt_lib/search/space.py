r"""Search spaces: what each hyperparameter may be, and maps to and from the unit cube.

A space is a plain dict ``name -> dimension``, for example::

    space = {"lr": Real(1e-4, 1e-1, log=True), "width": Integer(16, 256, log=True),
             "optimizer": Categorical(["sgd", "adam"])}

Every search method works in the unit cube :math:`[0, 1]^d`, one coordinate per dimension, in the
dict's order (:func:`to_unit`, :func:`from_unit`), and the space turns cube points into configs:

* ``Real(low, high)``: :math:`x = a + u (b - a)`; with ``log=True`` the same in :math:`\log x`,
  so a uniform :math:`u` gives a log-uniform :math:`x` -- a learning rate is as likely to fall in
  :math:`[10^{-4}, 10^{-3}]` as in :math:`[10^{-2}, 10^{-1}]` (as Bergstra & Bengio 2012 sample).
* ``Integer(low, high)``: the real interval :math:`[low - \tfrac12, high + \tfrac12]` (log: its
  log), rounded, so every integer owns an equal slice of the cube (log: of log-space).
* ``Categorical(choices)``: ONE coordinate, index :math:`i = \lfloor u k \rfloor` of the ``k``
  choices; :func:`to_unit` puts choice ``i`` at the middle of its slice, :math:`(i + \tfrac12)/k`.
  This index coding keeps the cube's dimension equal to the number of hyperparameters (simple to
  plot and sample) at the price of an arbitrary order between choices that a Gaussian process will
  read as distance; one-hot coding avoids that with one coordinate per choice.

:func:`sample` draws a uniform cube point and maps it, so random search and the random candidates of
Bayesian optimisation use the same distribution.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Real:
    """A real hyperparameter in ``[low, high]``; ``log=True`` samples it uniformly in log-space."""

    low: float
    high: float
    log: bool = False

    def __init__(self, low: float, high: float, *, log: bool = False) -> None:
        _check_bounds("Real", low, high, log)
        object.__setattr__(self, "low", float(low))
        object.__setattr__(self, "high", float(high))
        object.__setattr__(self, "log", bool(log))

    def from_unit(self, u: float) -> float:
        if u <= 0.0 or u >= 1.0:
            return (
                self.low if u <= 0.0 else self.high
            )  # exact ends: exp(log(low)) may differ by an ulp
        a, b = _warp(self.low, self.log), _warp(self.high, self.log)
        x = _unwarp(a + float(u) * (b - a), self.log)
        return float(min(max(x, self.low), self.high))

    def to_unit(self, value: Any) -> float:
        a, b = _warp(self.low, self.log), _warp(self.high, self.log)
        return (_warp(float(value), self.log) - a) / (b - a)

    def grid(self, points: int) -> list[float]:
        if points == 1:
            return [self.from_unit(0.5)]
        return [self.from_unit(u) for u in np.linspace(0.0, 1.0, points)]


@dataclass(frozen=True)
class Integer:
    """An integer hyperparameter in ``[low, high]`` (both included); ``log=True`` for sizes."""

    low: int
    high: int
    log: bool = False

    def __init__(self, low: int, high: int, *, log: bool = False) -> None:
        if int(low) != low or int(high) != high:
            raise ValueError(
                f"Integer: low and high must be whole numbers, got low={low!r}, high={high!r}"
            )
        _check_bounds("Integer", low, high, log)
        object.__setattr__(self, "low", int(low))
        object.__setattr__(self, "high", int(high))
        object.__setattr__(self, "log", bool(log))

    def _ends(self) -> tuple[float, float]:
        # Half an integer beyond each end, so the end values own full slices of the cube.
        return _warp(self.low - 0.5, self.log), _warp(self.high + 0.5, self.log)

    def from_unit(self, u: float) -> int:
        a, b = self._ends()
        x = _unwarp(a + float(u) * (b - a), self.log)
        return int(min(max(round(x), self.low), self.high))

    def to_unit(self, value: Any) -> float:
        a, b = self._ends()
        return (_warp(float(value), self.log) - a) / (b - a)

    def grid(self, points: int) -> list[int]:
        # Evenly spaced (log-spaced) values, rounded; duplicates from rounding are dropped.
        if points == 1:
            values = [self.from_unit(0.5)]
        else:
            a, b = _warp(self.low, self.log), _warp(self.high, self.log)
            values = [int(round(_unwarp(t, self.log))) for t in np.linspace(a, b, points)]
        return sorted(set(min(max(v, self.low), self.high) for v in values))


@dataclass(frozen=True)
class Categorical:
    """A choice among a fixed list of values (strings, booleans, numbers)."""

    choices: tuple[Any, ...]

    def __init__(self, choices: Sequence[Any]) -> None:
        if isinstance(choices, str) or not isinstance(choices, Sequence):
            raise TypeError(f"Categorical: choices must be a list or tuple, got {choices!r}")
        if len(choices) == 0:
            raise ValueError("Categorical: choices must not be empty")
        object.__setattr__(self, "choices", tuple(choices))

    def from_unit(self, u: float) -> Any:
        k = len(self.choices)
        return self.choices[min(int(math.floor(float(u) * k)), k - 1)]

    def to_unit(self, value: Any) -> float:
        if value not in self.choices:
            raise ValueError(f"Categorical: {value!r} is not one of the choices {self.choices}")
        return (self.choices.index(value) + 0.5) / len(self.choices)

    def grid(self, points: int) -> list[Any]:
        return list(self.choices)


Dimension = Real | Integer | Categorical


def _check_bounds(kind: str, low: float, high: float, log: bool) -> None:
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{kind}: low and high must be finite, got low={low!r}, high={high!r}")
    if not low < high:
        raise ValueError(f"{kind}: low must be below high, got low={low!r}, high={high!r}")
    if log and low <= 0:
        raise ValueError(f"{kind}: log=True needs low > 0, got low={low!r}")


def _warp(x: float, log: bool) -> float:
    return math.log(x) if log else x


def _unwarp(t: float, log: bool) -> float:
    return math.exp(t) if log else t


def _check_space(space: Mapping[str, Any]) -> None:
    if not isinstance(space, Mapping) or len(space) == 0:
        raise ValueError(f"space must be a non-empty dict name -> dimension, got {space!r}")
    for name, dim in space.items():
        if not isinstance(dim, (Real, Integer, Categorical)):
            raise TypeError(
                f"space[{name!r}] must be Real, Integer or Categorical, got {type(dim).__name__}"
            )


def to_unit(space: Mapping[str, Dimension], config: Mapping[str, Any]) -> np.ndarray:
    """The cube point of ``config``: one coordinate per dimension, in the space's order."""
    _check_space(space)
    missing = [name for name in space if name not in config]
    if missing:
        raise KeyError(f"config lacks the space's dimensions {missing}")
    return np.array([dim.to_unit(config[name]) for name, dim in space.items()], dtype=float)


def from_unit(space: Mapping[str, Dimension], u: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """The config at cube point ``u`` (values outside [0, 1] are clipped to the cube)."""
    _check_space(space)
    u = np.asarray(u, dtype=float).reshape(-1)
    if u.shape[0] != len(space):
        raise ValueError(f"u has {u.shape[0]} coordinates, the space has {len(space)} dimensions")
    u = np.clip(u, 0.0, 1.0)
    return {name: dim.from_unit(ui) for (name, dim), ui in zip(space.items(), u, strict=True)}


def sample(space: Mapping[str, Dimension], rng: np.random.Generator) -> dict[str, Any]:
    """One random config: a uniform point of the cube, mapped by :func:`from_unit`."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {rng!r}")
    _check_space(space)
    return from_unit(space, rng.random(len(space)))


def grid(
    space: Mapping[str, Dimension], *, points: int | Mapping[str, int]
) -> list[dict[str, Any]]:
    """Every combination of ``points`` values per numeric dimension and all categorical choices.

    ``points`` is one count for every numeric dimension or a dict name -> count. Reals get evenly
    spaced values from ``low`` to ``high`` (log-spaced with ``log=True``); integers the same values
    rounded (fewer if rounding makes duplicates). The number of configs is the product of the
    counts: the curse of dimensionality a grid search pays.
    """
    _check_space(space)
    axes = []
    for name, dim in space.items():
        n = points.get(name, 1) if isinstance(points, Mapping) else points
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"points for {name!r} must be a positive integer, got {n!r}")
        axes.append(dim.grid(int(n)))
    names = list(space)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*axes)]
