"""The result of one nnopt-vs-torch comparison, and the tolerances it is judged by.

The difference is ``max |ours - torch|`` over everything compared; it must not exceed
``tolerance = rtol * max(1, max |ours|)`` (absolute for values of order one, relative for
large ones) with ``rtol`` from :data:`TOLERANCES`: ``1e-10`` in float64 (agreement is
normally ~1e-15; the slack covers rounding that a long run amplifies) and ``1e-4`` in float32
(float32 carries ~7 digits, and the torch run is compared with the float64 reference).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Relative tolerance per dtype (see the module docstring).
TOLERANCES = {"float64": 1e-10, "float32": 1e-4}


@dataclass(eq=False)  # holds arrays: compare .passed / .max_abs_diff, not objects
class Comparison:
    """The outcome of one nnopt-vs-torch comparison.

    Attributes
    ----------
    what: what was compared, e.g. ``"adam(lr=0.01, amsgrad=True) on rosenbrock"``.
    max_abs_diff: ``max |ours - torch|`` over everything compared (``nan`` if non-finite).
    per_step: the max difference at each step (optimizers, schedules) or for each compared
        item (clipping: each gradient array, then the total norm; layers: output, input
        gradient, parameter gradients, buffers).
    device: the torch device, e.g. ``"cuda"``. dtype: the torch dtype, ``"float64"`` ...
    tolerance: the allowed ``max_abs_diff`` (already scaled, see :data:`TOLERANCES`).
    passed: ``max_abs_diff <= tolerance`` and everything finite.
    ours, theirs: the compared values, ``per_step``-aligned along the first axis.
    labels: a name for each compared item where the items are not plain steps (state-dict
        entries, for example: ``"state[1].exp_avg"``); empty otherwise.
    final: the nnopt and the torch object each run ended with (optimizers, models), for
        checks beyond the compared values; ``None`` where there are none.
    """

    what: str
    max_abs_diff: float
    per_step: np.ndarray
    device: str
    dtype: str
    tolerance: float
    ours: np.ndarray = field(repr=False)
    theirs: np.ndarray = field(repr=False)
    unit: str = "step"
    labels: tuple[str, ...] = ()
    final: tuple[Any, Any] | None = field(default=None, repr=False)
    passed: bool = field(init=False)

    def __post_init__(self) -> None:
        self.passed = bool(np.isfinite(self.max_abs_diff) and self.max_abs_diff <= self.tolerance)

    @property
    def worst(self) -> int:
        """Index of the step (or item) with the largest difference (first non-finite one)."""
        bad = ~np.isfinite(self.per_step)
        return int(np.argmax(bad)) if bad.any() else int(np.argmax(self.per_step))

    def _where(self, index: int) -> str:
        """``step 7``, or ``item 3 (state[0].exp_avg)`` where the items have names."""
        label = f" ({self.labels[index]})" if index < len(self.labels) else ""
        return f"{self.unit} {index}{label}"

    def __repr__(self) -> str:
        mark = "✓" if self.passed else "✗"
        return (f"{mark} {self.what}: max |Δ| = {self.max_abs_diff:.2e} over "
                f"{len(self.per_step)} {self.unit}s (tolerance {self.tolerance:.1e}; "
                f"{self.dtype} on {self.device})")

    def _repr_html_(self) -> str:
        colour = "#1b7f3b" if self.passed else "#b00020"
        rows = [
            ("compared", html.escape(self.what)),
            ("device, dtype", f"{self.device}, {self.dtype}"),
            (f"{self.unit}s", str(len(self.per_step))),
            ("max |nnopt − torch|",
             f"{self.max_abs_diff:.2e} (at {html.escape(self._where(self.worst))})"),
            ("tolerance", f"{self.tolerance:.1e}"),
            ("result", f"<b style='color:{colour}'>{'passed' if self.passed else 'FAILED'}</b>"),
        ]
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>"
                       f"{v}</td></tr>" for k, v in rows)
        return f"<table>{body}</table>"

    def assert_ok(self) -> Comparison:
        """Raise ``AssertionError`` naming the worst step if the check failed; else return self."""
        if not self.passed:
            k = self.worst
            raise AssertionError(
                f"nnopt and torch disagree: {self.what}\n"
                f"  max |Δ| = {self.max_abs_diff:.3e} > tolerance {self.tolerance:.1e} "
                f"({self.dtype} on {self.device})\n"
                f"  worst at {self._where(k)}: nnopt {np.asarray(self.ours[k]).tolist()}, "
                f"torch {np.asarray(self.theirs[k]).tolist()}")
        return self


def _compare(what: str, ours: np.ndarray, theirs: np.ndarray, device: str, dtype: str,
             unit: str = "step", labels: Sequence[str] = (),
             final: tuple[Any, Any] | None = None) -> Comparison:
    """Build a Comparison of two arrays of shape (n, ...) aligned along axis 0."""
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    n = len(ours)
    with np.errstate(invalid="ignore"):  # inf - inf is NaN, which np.max propagates
        diff = np.abs(ours - theirs).reshape(n, -1)
        per_step = np.max(diff, axis=1) if diff.shape[1] else np.zeros(n)
    finite = np.isfinite(per_step).all() and np.isfinite(ours).all()
    max_abs = float(np.max(per_step)) if finite and n else math.nan
    # initial=0: items may all be empty (an empty batch)
    scale = max(1.0, float(np.max(np.abs(ours), initial=0.0))) if np.isfinite(ours).all() else 1.0
    return Comparison(what=what, max_abs_diff=max_abs, per_step=per_step, device=device,
                      dtype=dtype, tolerance=TOLERANCES[dtype] * scale, ours=ours,
                      theirs=theirs, unit=unit, labels=tuple(labels), final=final)


def _compare_items(what: str, ours: Sequence[Any], theirs: Sequence[Any], device: str,
                   dtype: str, labels: Sequence[str] = (),
                   final: tuple[Any, Any] | None = None) -> Comparison:
    """Compare two lists of arrays of any sizes item by item (``unit="item"``).

    Each item is flattened and zero-padded to the largest size (the same on both sides, so the
    padding never differs), which makes them rows of one ``(items, width)`` array. An item
    whose two sides differ in size is a mismatch: its torch row is NaN, which fails.
    """
    width = max((np.size(item) for item in (*ours, *theirs)), default=0)

    def rows(items: Sequence[Any]) -> np.ndarray:
        padded = [np.pad(np.ravel(np.asarray(item, dtype=np.float64)), (0, width - np.size(item)))
                  for item in items]
        return np.array(padded).reshape(len(items), width)  # (n, 0) when every item is empty

    their_rows = rows(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if np.size(a) != np.size(b):
            their_rows[i] = math.nan
    return _compare(what, rows(ours), their_rows, device, dtype, unit="item", labels=labels,
                    final=final)


def _describe(name: str, options: Mapping[str, Any]) -> str:
    """``name(key=value, ...)``: how a comparison names the call it checked."""
    args = ", ".join(f"{k}={v}" for k, v in options.items())
    return f"{name}({args})"
