"""Low-precision numbers and loss scaling: bfloat16 rounding from scratch and a GradScaler.

Formats (sign, exponent bits, mantissa bits; largest finite value; smallest positive normal
and subnormal number):

==========  ====  ===  ==  =============  ==========  ==========
format      bits  exp  man max            min normal  min subnormal
==========  ====  ===  ==  =============  ==========  ==========
float32       32    8  23  3.4e38         1.2e-38     1.4e-45
bfloat16      16    8   7  3.4e38         1.2e-38     9.2e-41
float16       16    5  10  65504          6.1e-5      6.0e-8
==========  ====  ===  ==  =============  ==========  ==========

bfloat16 is float32 with the low 16 bits of the mantissa cut off: same range, 3 significant
digits. float16 keeps more digits but a tiny range, so small gradients underflow to zero and
large ones overflow to ``inf``. Loss scaling (Micikevicius et al. 2018) multiplies the loss by
a scale ``S`` before the backward pass -- every gradient is then ``S`` times larger, lifted out
of the underflow zone -- and divides the gradients by ``S`` before the optimizer step. A
dynamic scaler picks ``S`` itself: halve it (and skip the step) when a gradient overflowed,
double it after ``growth_interval`` clean steps.

* :func:`to_bfloat16`: round float32 to the nearest bfloat16 (ties to even), returned as
  float32; equal to ``torch.tensor(x, dtype=torch.float32).bfloat16().float()``.
* :func:`to_float16`: the same for float16. NumPy's ``astype(np.float16)`` already rounds to
  nearest, ties to even (subnormals included), so this is that cast, not a re-implementation.
* :class:`GradScaler`: ``torch.amp.GradScaler`` for the optimizers of :mod:`nnopt_lib.optim`,
  which are stepped with their gradients (``opt.step(grads)``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["GradScaler", "scale_history", "to_bfloat16", "to_float16"]

_SIGN_CLEARED = np.uint32(0x7FFF_FFFF)
_EXPONENT_ALL_ONES = np.uint32(0x7F80_0000)
_QUIET_NAN = np.uint32(0x7FC0_0000)
_HIGH_HALF = np.uint32(0xFFFF_0000)


def to_bfloat16(x: Any) -> np.ndarray:
    r"""Round to the nearest bfloat16, ties to even; the result is float32 (exactly representable).

    ``x`` is first converted to float32 (as ``torch.tensor(x, dtype=torch.float32)`` does).
    On the bits ``u`` of that float32, keeping the top 16 bits with round-to-nearest-even is

    .. math:: u' = \big(u + \texttt{0x7FFF} + \operatorname{lsb}(u)\big) \,\&\, \texttt{0xFFFF0000},
              \qquad \operatorname{lsb}(u) = (u \gg 16) \,\&\, 1 .

    Adding ``0x7FFF`` carries into bit 16 exactly when the cut-off part is above one half;
    at exactly one half (``0x8000``) the extra ``lsb`` carries only when the kept part is odd,
    which makes it even. A carry out of the mantissa bumps the exponent (the next binade, or
    ``inf`` past the largest bfloat16), which is the correct rounding too. Subnormals need no
    special case. NaN is the only input the formula would break (a carry could turn it into
    ``inf``), so every NaN becomes the quiet NaN ``0x7FC00000``. torch's payload for NaN depends
    on its code path, so compare NaNs as NaNs, not bit for bit.
    """
    bits = np.array(x, dtype=np.float32).view(np.uint32)
    lsb = (bits >> np.uint32(16)) & np.uint32(1)
    rounded = (bits + np.uint32(0x7FFF) + lsb) & _HIGH_HALF  # uint32 wraps only for NaNs
    rounded = np.where((bits & _SIGN_CLEARED) > _EXPONENT_ALL_ONES, _QUIET_NAN, rounded)
    return rounded.astype(np.uint32).view(np.float32)


def to_float16(x: Any) -> np.ndarray:
    """Round to the nearest float16 (ties to even, with subnormals); the result is float32.

    ``x`` is first converted to float32, so this equals
    ``torch.tensor(x, dtype=torch.float32).half().float()``. NumPy's float16 cast is already
    IEEE round-to-nearest-even; values above 65520 become ``inf``, below ~3e-8 zero.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is the point
        return np.array(x, dtype=np.float32).astype(np.float16).astype(np.float32)


# --------------------------------------------------------------------------- GradScaler

_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


class GradScaler:
    r"""Dynamic loss scaling, torch's ``GradScaler`` for optimizers stepped with gradients.

    One iteration, exactly as in torch except that the gradients are passed explicitly::

        scaled_loss = scaler.scale(loss)          # loss * S  (backpropagate this)
        grads = ...                               # the gradients of the scaled loss
        scaler.step(optimizer, grads)             # grads /= S; skip the step on inf/NaN
        scaler.update()                           # adjust S

    The rule of :meth:`update` (torch's ``_amp_update_scale_``), with ``t`` the number of
    consecutive clean steps (``_growth_tracker``):

    * some gradient was inf or NaN: ``S <- S * backoff_factor``, ``t <- 0`` (the step was
      skipped);
    * otherwise ``t <- t + 1``, and when ``t`` reaches ``growth_interval``:
      ``S <- S * growth_factor`` (unless that overflows float32) and ``t <- 0``.

    As in torch, ``S`` is a float32 number and the gradients are multiplied by the float32
    reciprocal ``1/S``, so with the default powers of two the unscaled gradients are exact.
    torch's first argument, ``device``, has no meaning for numpy arrays and is left out;
    the other arguments, defaults, methods and errors are torch's. ``enabled=False`` makes
    every method a no-op except :meth:`step`, which just steps.

    Micikevicius et al., "Mixed precision training", ICLR 2018 (loss scaling, section 3.2).
    """

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        self._enabled = bool(enabled)
        if self._enabled:
            # torch raises AssertionError for these two, and checks nothing else
            if growth_factor <= 1.0:
                raise AssertionError(f"The growth factor must be > 1.0, got {growth_factor}.")
            if backoff_factor >= 1.0:
                raise AssertionError(f"The backoff factor must be < 1.0, got {backoff_factor}.")
        self._init_scale = float(init_scale)
        self._scale: np.float32 | None = None  # created by the first scale(), as in torch
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._init_growth_tracker = 0
        self._growth_tracker: int | None = None
        self._per_optimizer: dict[int, dict[str, Any]] = {}

    # -- scaling ----------------------------------------------------------------------------

    def _lazy_init(self) -> None:
        if self._scale is None:
            self._scale = np.float32(self._init_scale)
            self._growth_tracker = self._init_growth_tracker

    def scale(self, outputs: Any) -> Any:
        """``outputs * S``: a number, an array, or a list/tuple of them (returned as such)."""
        if not self._enabled:
            return outputs
        self._lazy_init()
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(item) for item in outputs)
        if isinstance(outputs, np.ndarray):
            if not np.issubdtype(outputs.dtype, np.floating):
                raise ValueError(f"outputs must be floating-point arrays, got dtype "
                                 f"{outputs.dtype}")
            return outputs * self._scale.astype(outputs.dtype)
        if isinstance(outputs, (float, np.floating)):
            return type(outputs)(outputs * float(self._scale))
        raise ValueError(f"outputs must be a float, an array or a list/tuple of them, got "
                         f"{type(outputs).__name__}")

    def _state(self, optimizer: Any) -> dict[str, Any]:
        return self._per_optimizer.setdefault(id(optimizer), {"stage": _READY, "found_inf": None})

    def _check_initialised(self, funcname: str) -> None:
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  This may indicate "
                                 f"your script did not use scaler.scale(loss or outputs) earlier "
                                 f"in the iteration.")

    def unscale_(self, optimizer: Any, grads: Sequence[np.ndarray | None] | np.ndarray) -> bool:
        """Divide ``grads`` by ``S`` IN PLACE (as torch does to ``.grad``); True if any is inf/NaN.

        Call it before clipping the gradients, then :meth:`step` with the same ``grads``
        (which then does not unscale a second time).
        """
        if not self._enabled:
            return False
        self._check_initialised("unscale_")
        state = self._state(optimizer)
        if state["stage"] is _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if state["stage"] is _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        arrays = [grads] if isinstance(grads, np.ndarray) else list(grads)
        # as torch: scale.double().reciprocal().float()
        inv_scale = np.float32(1.0 / np.float64(self._scale))
        found_inf = False
        for grad in arrays:
            if grad is None:
                continue
            if grad.dtype == np.float16:
                raise ValueError("Attempting to unscale FP16 gradients.")
            # torch checks the values before multiplying, in one pass per tensor
            found_inf |= not bool(np.isfinite(grad).all())
            np.multiply(grad, inv_scale.astype(grad.dtype), out=grad)
        state["found_inf"] = found_inf
        state["stage"] = _UNSCALED
        return found_inf

    def step(self, optimizer: Any, grads: Sequence[np.ndarray | None] | np.ndarray) -> Any:
        """Unscale ``grads`` (unless :meth:`unscale_` already did) and step, unless inf/NaN.

        Returns ``optimizer.step(grads)``'s value, or ``None`` when the step was skipped.
        """
        if not self._enabled:
            return optimizer.step(grads)
        self._check_initialised("step")
        state = self._state(optimizer)
        if state["stage"] is _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is _READY:
            self.unscale_(optimizer, grads)
        result = None if state["found_inf"] else optimizer.step(grads)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale: float | None = None) -> None:
        """Adjust ``S`` by the rule in the class docstring, or set it to ``new_scale``."""
        if not self._enabled:
            return
        self._check_initialised("update")
        if new_scale is not None:
            if not isinstance(new_scale, (float, np.floating)):
                raise AssertionError(f"new_scale should be a float, got "
                                     f"{type(new_scale).__name__}")
            self._scale = np.float32(new_scale)
        else:
            found = [s["found_inf"] for s in self._per_optimizer.values()
                     if s["found_inf"] is not None]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            self._scale, self._growth_tracker = self._next_scale(any(found))
        self._per_optimizer = {}

    def _next_scale(self, found_inf: bool) -> tuple[np.float32, int]:
        # torch's kernel multiplies the float32 scale by a double factor and rounds to float32
        scale, tracker = self._scale, self._growth_tracker
        if found_inf:
            return np.float32(np.float64(scale) * self._backoff_factor), 0
        tracker += 1
        if tracker == self._growth_interval:
            grown = np.float32(np.float64(scale) * self._growth_factor)
            return (grown if np.isfinite(grown) else scale), 0
        return scale, tracker

    # -- getters and state ------------------------------------------------------------------

    def get_scale(self) -> float:
        """The current scale as a Python float (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else float(self._scale)

    def _get_growth_tracker(self) -> int:
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def is_enabled(self) -> bool:
        return self._enabled

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def state_dict(self) -> dict[str, Any]:
        """torch's five entries (``{}`` when disabled); call it after :meth:`update`."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state dict of this class or of ``torch.amp.GradScaler`` (the same layout)."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale = np.float32(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker = self._init_growth_tracker

    def __repr__(self) -> str:
        return (f"GradScaler(scale={self.get_scale():g}, growth_factor={self._growth_factor:g}, "
                f"backoff_factor={self._backoff_factor:g}, "
                f"growth_interval={self._growth_interval}, enabled={self._enabled})")


def scale_history(found_inf: Iterable[bool], *, init_scale: float = 2.0**16,
                  growth_factor: float = 2.0, backoff_factor: float = 0.5,
                  growth_interval: int = 2000) -> np.ndarray:
    """The scale after each :meth:`GradScaler.update`, given whether each step overflowed.

    The bookkeeping alone (no gradients): handy for plots and exercises.
    """
    scaler = GradScaler(init_scale, growth_factor, backoff_factor, growth_interval)
    scaler._lazy_init()
    scales = []
    for bad in found_inf:
        scaler._scale, scaler._growth_tracker = scaler._next_scale(bool(bad))
        scales.append(float(scaler._scale))
    return np.array(scales)
