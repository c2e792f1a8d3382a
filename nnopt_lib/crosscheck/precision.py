"""nnopt_lib.precision against torch: bfloat16/float16 rounding and ``torch.amp.GradScaler``.

* :func:`compare_rounding`: :func:`~nnopt_lib.precision.to_bfloat16` (or ``to_float16``) on a
  set of float32 bit patterns against ``tensor.bfloat16().float()`` (``.half().float()``).
  Exact: every value must be equal, infinities included, NaN where torch gives NaN (torch's NaN
  payload depends on its code path, so NaNs are compared as NaNs). The difference reported is
  the largest ``|ours - torch|`` (``inf`` when one side is infinite or NaN and the other not).
* :func:`compare_grad_scaler`: a mixed-precision training loop on :func:`least_squares`. At
  every step both sides scale the same float32 gradients by their own scale, round them to
  float16 (large scales overflow to ``inf``, as a float16 backward pass would), optionally
  get a NaN injected, then ``scaler.step(optimizer, ...)`` and ``scaler.update()``. Compared
  per step: ``log2`` of the scale, whether the step was skipped, and every parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nnopt_lib import optim, precision
from nnopt_lib.crosscheck.comparison import TOLERANCES, Comparison
from nnopt_lib.crosscheck.device import _check_dtype, _resolve_dtype, _torch, best_device
from nnopt_lib.crosscheck.optimizers import least_squares

#: Tolerance of an exact comparison (the matrix divides by the tolerance, so not 0).
EXACT = float(np.finfo(np.float64).tiny)


def rounding_inputs(kind: str, *, seed: int = 0) -> np.ndarray:
    """float32 test inputs (as float32) of one ``kind``:

    ``"ties"``: every pattern whose low 16 bits are exactly ``0x8000`` (all 65,536 bfloat16
    ties) and their neighbours ``0x7FFF`` and ``0x8001``; ``"subnormals"``: a strided sweep of
    the float32 subnormals of both signs plus the smallest ones; ``"specials"``: zeros, ±inf,
    NaNs with several payloads, the largest finite values (which round to inf in bfloat16),
    the float16 limits; ``"random"``: 200,000 random bit patterns; ``"sweep"``: every 4093-rd of
    all 2**32 patterns (about a million).
    """
    high = np.arange(1 << 16, dtype=np.uint32) << np.uint32(16)
    if kind == "ties":
        bits = np.concatenate([high | np.uint32(low) for low in (0x7FFF, 0x8000, 0x8001)])
    elif kind == "subnormals":
        sub = np.concatenate([np.arange(1, 1 << 23, 97, dtype=np.uint32),
                              np.arange(1, 4096, dtype=np.uint32)])
        bits = np.concatenate([sub, sub | np.uint32(0x8000_0000)])
    elif kind == "specials":
        values = np.array([0x0000_0000, 0x8000_0000, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000,
                           0xFFC0_0000, 0x7F80_0001, 0xFF80_0001, 0x7FFF_FFFF, 0xFFFF_FFFF,
                           0x7FBF_FFFF, 0x7F7F_FFFF, 0xFF7F_FFFF, 0x7F7F_7FFF, 0x7F7F_8000,
                           0x0080_0000, 0x007F_FFFF, 0x0000_8000, 0x0000_7FFF, 0x0000_8001,
                           0x0001_8000, 0x3F80_8000, 0x3F81_8000],
                          dtype=np.uint32)
        extra = np.array([65504.0, 65519.0, 65520.0, 6.1035156e-5, 5.9604645e-8, 2.98e-8,
                          2.9802322e-8, 2.9802326e-8, 1e-8, -65520.0, 1.0, -1.0],
                         dtype=np.float32).view(np.uint32)
        bits = np.concatenate([values, extra])
    elif kind == "random":
        bits = np.random.default_rng(seed).integers(0, 1 << 32, size=200_000, dtype=np.uint32)
    elif kind == "sweep":
        bits = np.arange(0, 1 << 32, 4093, dtype=np.uint64).astype(np.uint32)
    else:
        raise ValueError(f"unknown kind of rounding inputs: {kind!r}")
    return bits.view(np.float32)


def rounding_difference(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """Per element: 0 where equal (or both NaN), ``|ours - theirs|`` otherwise (``inf`` when
    exactly one is NaN or the two are different infinities)."""
    with np.errstate(invalid="ignore"):  # NaN and inf inputs are expected here
        ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
        diff = np.abs(ours - theirs)
    both_nan = np.isnan(ours) & np.isnan(theirs)
    diff[np.isnan(diff)] = np.inf  # inf - inf, or exactly one NaN
    diff[both_nan | (ours == theirs)] = 0.0
    return diff


def compare_rounding(fmt: str, kind: str) -> Comparison:
    """``precision.to_<fmt>`` on :func:`rounding_inputs` ``(kind)`` against torch, exactly.

    ``fmt`` is ``"bfloat16"`` or ``"float16"``. Runs on the CPU: the rounding is the same
    everywhere, and millions of numbers need not cross to a device.
    """
    torch = _torch()
    if fmt not in ("bfloat16", "float16"):
        raise ValueError(f"unknown format: {fmt!r} (choose 'bfloat16' or 'float16')")
    x = rounding_inputs(kind)
    ours = precision.to_bfloat16(x) if fmt == "bfloat16" else precision.to_float16(x)
    theirs = torch.from_numpy(x).to(getattr(torch, fmt)).float().numpy()
    diff = rounding_difference(ours, theirs)
    return Comparison(what=f"to_{fmt} on {len(x):,} {kind} float32 patterns",
                      max_abs_diff=float(diff.max()), per_step=diff, device="cpu",
                      dtype="float32", tolerance=EXACT, ours=ours, theirs=theirs, unit="input")


def _float16_gradients(scaled: Sequence[np.ndarray], nan_here: bool) -> list[np.ndarray]:
    grads = [precision.to_float16(g) for g in scaled]  # a float16 backward pass's values
    if nan_here:
        grads[0].flat[0] = np.nan
    return grads


def compare_grad_scaler(optimizer: str = "sgd", options: dict[str, Any] | None = None, *,
                        scaler_options: dict[str, Any] | None = None, steps: int = 40,
                        nan_steps: Sequence[int] = (), dtype: str = "float64") -> Comparison:
    """A GradScaler-driven loop, nnopt (float64) vs torch (``dtype`` on the best device).

    ``optimizer`` is a name of :data:`nnopt_lib.optim.OPTIMIZERS` with ``options`` for both
    sides; ``scaler_options`` go to both ``precision.GradScaler(...)`` and
    ``torch.amp.GradScaler("cpu" or "cuda", ...)``; a NaN is put into the first gradient at
    each step of ``nan_steps``. The gradients come from the nnopt parameters (both sides get
    the same ones), so what is compared is the scaling, the skipping and the update.
    """
    torch = _torch()
    _check_dtype(dtype)
    options = {"lr": 0.01, **(options or {})}
    scaler_options = dict(scaler_options or {})
    device = best_device()
    used, torch_dtype = _resolve_dtype(dtype, device)
    amp_device = "cuda" if device.type == "cuda" else "cpu"
    problem = least_squares(seed=1)

    ours = [p.copy() for p in problem.start]
    opt = optim.OPTIMIZERS[optimizer](ours, **options)
    scaler = precision.GradScaler(**scaler_options)
    theirs = [torch.tensor(p, dtype=torch_dtype, device=device) for p in problem.start]
    torch_cls = {name.lower(): getattr(torch.optim, name) for name in dir(torch.optim)}[optimizer]
    torch_opt = torch_cls(theirs, **options)
    torch_scaler = torch.amp.GradScaler(amp_device, **scaler_options)

    rows_ours, rows_theirs = [], []
    for step in range(steps):
        g32 = [g.astype(np.float32) for g in problem.gradients(ours)]
        nan_here = step in nan_steps
        grads = _float16_gradients(scaler.scale(g32), nan_here)
        grads = [g.astype(np.float64) for g in grads]
        skipped = scaler.unscale_(opt, grads)
        scaler.step(opt, grads)
        scaler.update()

        t_scaled = torch_scaler.scale([torch.from_numpy(g).to(device) for g in g32])
        t_grads = [g.half().float().cpu().numpy() for g in t_scaled]
        if nan_here:
            t_grads[0].flat[0] = np.nan
        for p, g in zip(theirs, t_grads, strict=True):
            p.grad = torch.from_numpy(g).to(device=device, dtype=torch_dtype)
        torch_scaler.unscale_(torch_opt)
        t_skipped = any(not bool(torch.isfinite(p.grad).all()) for p in theirs)
        torch_scaler.step(torch_opt)
        torch_scaler.update()

        rows_ours.append(np.concatenate([[np.log2(scaler.get_scale()), float(skipped)],
                                         *[p.ravel() for p in ours]]))
        rows_theirs.append(np.concatenate([[np.log2(torch_scaler.get_scale()),
                                            float(t_skipped)],
                                           *[p.detach().cpu().double().numpy().ravel()
                                             for p in theirs]]))
    a, b = np.array(rows_ours), np.array(rows_theirs)
    per_step = np.abs(a - b).max(axis=1)
    tolerance = TOLERANCES[used] * max(1.0, float(np.abs(a).max()))
    settings = ", ".join(f"{k}={v}" for k, v in {**scaler_options}.items()) or "defaults"
    extra = f", NaN at {list(nan_steps)}" if nan_steps else ""
    return Comparison(what=f"GradScaler({settings}) + {optimizer}{extra}",
                      max_abs_diff=float(per_step.max()), per_step=per_step,
                      device=str(device), dtype=used, tolerance=tolerance, ours=a, theirs=b,
                      final=(scaler, torch_scaler))


#: ``(optimizer, options, scaler_options, nan_steps)`` of the matrix's GradScaler cases: the
#: defaults, growth after a few clean steps, other factors, a scale that is not a power of
#: two, growth every step, and NaNs injected in a row.
GRAD_SCALER_CASES: list[tuple[str, dict[str, Any], dict[str, Any], tuple[int, ...]]] = [
    ("sgd", {"momentum": 0.9}, {}, ()),
    ("sgd", {"momentum": 0.9}, {"growth_interval": 3}, (10,)),
    ("adam", {"lr": 0.05}, {"growth_interval": 5, "backoff_factor": 0.25,
                            "growth_factor": 4.0}, (7, 8, 20)),
    ("adam", {"lr": 0.05}, {"init_scale": 1000.0, "growth_interval": 4}, (3,)),
    ("sgd", {}, {"init_scale": 1.0, "growth_interval": 1}, (5, 6, 7)),
    ("adamw", {"lr": 0.05}, {"init_scale": 2.0**24, "growth_interval": 2,
                             "backoff_factor": 0.125}, ()),
]

#: ``(format, kind)`` of the matrix's rounding cases.
ROUNDING_CASES: list[tuple[str, str]] = [
    *[("bfloat16", kind) for kind in ("ties", "subnormals", "specials", "random", "sweep")],
    *[("float16", kind) for kind in ("ties", "specials", "random")],
]


def precision_group(dtype: str) -> tuple[str, list]:
    """The matrix's "precision" group: every rounding case and every GradScaler case."""
    rounding = [lambda f=f, k=k: compare_rounding(f, k) for f, k in ROUNDING_CASES]
    scaling = [lambda o=o, opts=opts, s=s, n=n: compare_grad_scaler(
        o, opts, scaler_options=s, nan_steps=n, dtype=dtype)
        for o, opts, s, n in GRAD_SCALER_CASES]
    return "precision", [*rounding, *scaling]
