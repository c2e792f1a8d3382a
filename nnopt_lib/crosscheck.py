"""Run the same thing in nnopt_lib and in PyTorch, and compare step by step.

The course builds every technique from scratch in numpy; this module is the proof that the
from-scratch versions are the real thing. Each ``compare_*`` function runs nnopt_lib (in
float64, the reference) and its ``torch`` namesake on :func:`best_device` (CUDA, else Apple
MPS, else CPU) in the requested dtype, and returns a :class:`Comparison`::

    from nnopt_lib import crosscheck
    print(crosscheck.device_report())
    c = crosscheck.compare_optimizer("adam", {"lr": 0.01, "amsgrad": True}, surface="beale")
    c.assert_ok()          # AssertionError with the worst step if they disagree
    c                      # in a notebook: a small table

* :func:`compare_optimizer`: an optimizer on a 2-D surface. nnopt_lib uses the surface's
  analytic gradient; torch differentiates ``surface.value_torch`` with autograd, so the
  check covers the gradient formula as well as the update rule.
* :func:`compare_schedule`: the learning rate (and momentum) a scheduler sets at each step.
* :func:`compare_clip`: gradients after clipping by global norm or by value.
* :func:`compare_layer`: a layer or loss of :mod:`nnopt_lib.nn`, forward and backward.

Tolerances: the difference is measured as ``max |ours - torch|`` and must not exceed
``tolerance = rtol * max(1, max |ours|)`` (absolute for values of order one, relative for
large ones) with ``rtol = 1e-10`` in float64 (agreement is normally ~1e-15; the slack covers
rounding that a long run amplifies) and ``1e-4`` in float32 (float32 carries ~7 digits, and
the torch run is compared with the float64 reference). MPS has no float64, so there the
float64 checks run in float32 with the float32 tolerance; :func:`device_report` says so.

``python -m nnopt_lib.crosscheck`` runs the whole matrix (every optimizer with every option
switched on and off, on three surfaces; every schedule; clipping; every layer), prints one
line per group, and exits with status 1 on any mismatch. ``make test`` runs it (float64,
about 15 s on two CPU cores); ``--dtype float32`` runs the matrix in float32 (50 steps per
optimizer case), ``-v`` prints every case.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import math
import platform
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from nnopt_lib import clip, nn, optim, schedules, surfaces

__all__ = [
    "TOLERANCES",
    "Comparison",
    "best_device",
    "compare_clip",
    "compare_layer",
    "compare_optimizer",
    "compare_schedule",
    "device_report",
    "main",
]

#: Relative tolerance per dtype (see the module docstring).
TOLERANCES = {"float64": 1e-10, "float32": 1e-4}


# ---------------------------------------------------------------------------------------
# Device and dtype
# ---------------------------------------------------------------------------------------


def best_device() -> torch.device:
    """CUDA if available, else Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"CUDA GPU {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({platform.machine() or 'unknown'}, {torch.get_num_threads()} threads)"


def _resolve_dtype(dtype: str, device: torch.device) -> tuple[str, torch.dtype]:
    if dtype not in TOLERANCES:
        raise ValueError(f"Invalid dtype: {dtype!r} (choose 'float64' or 'float32')")
    if dtype == "float64" and device.type == "mps":
        dtype = "float32"  # MPS has no float64
    return dtype, getattr(torch, dtype)


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Temporarily set torch's default dtype.

    Some torch optimizers keep scalars of their state in the *default* dtype (NAdam's
    ``mu_product`` and ``step``): with the float32 default, a float64 run would still round
    those to float32 and drift from the float64 reference by ~1e-10.
    """
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def device_report(*, dtype: str = "float64") -> str:
    """One line: the device the checks run on, the torch version and the dtype used."""
    device = best_device()
    used, _ = _resolve_dtype(dtype, device)
    note = f"{used} comparisons (relative tolerance {TOLERANCES[used]:.0e})"
    if used != dtype:
        note = f"MPS has no {dtype}, so {note}"
    return f"PyTorch {torch.__version__} on {_device_name(device)} [{device}]; {note}"


# ---------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------


@dataclass(eq=False)  # holds arrays: compare .passed / .max_abs_diff, not objects
class Comparison:
    """The outcome of one nnopt-vs-torch comparison.

    Attributes
    ----------
    what: what was compared, e.g. ``"adam(lr=0.01, amsgrad=True) on rosenbrock"``.
    max_abs_diff: ``max |ours - torch|`` over everything compared (``nan`` if non-finite).
    per_step: the max difference at each step (optimizers, schedules) or for each compared
        item (clipping: each gradient array, then the total norm; layers: output, input
        gradient, parameter gradients, running statistics).
    device: the torch device, e.g. ``"cuda"``. dtype: the torch dtype, ``"float64"`` ...
    tolerance: the allowed ``max_abs_diff`` (already scaled, see the module docstring).
    passed: ``max_abs_diff <= tolerance`` and everything finite.
    ours, theirs: the compared values, ``per_step``-aligned along the first axis.
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
    passed: bool = field(init=False)

    def __post_init__(self) -> None:
        self.passed = bool(np.isfinite(self.max_abs_diff) and self.max_abs_diff <= self.tolerance)

    @property
    def worst(self) -> int:
        """Index of the step (or item) with the largest difference (first non-finite one)."""
        bad = ~np.isfinite(self.per_step)
        return int(np.argmax(bad)) if bad.any() else int(np.argmax(self.per_step))

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
            ("max |nnopt − torch|", f"{self.max_abs_diff:.2e} (at {self.unit} {self.worst})"),
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
                f"  worst at {self.unit} {k}: nnopt {np.asarray(self.ours[k]).tolist()}, "
                f"torch {np.asarray(self.theirs[k]).tolist()}")
        return self


def _compare(what: str, ours: np.ndarray, theirs: np.ndarray, device: str, dtype: str,
             unit: str = "step") -> Comparison:
    """Build a Comparison of two arrays of shape (n, ...) aligned along axis 0."""
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    n = len(ours)
    with np.errstate(invalid="ignore"):  # inf - inf is NaN, which np.max propagates
        diff = np.abs(ours - theirs).reshape(n, -1)
        per_step = np.max(diff, axis=1) if diff.shape[1] else np.zeros(n)
    finite = np.isfinite(per_step).all() and np.isfinite(ours).all()
    max_abs = float(np.max(per_step)) if finite and n else math.nan
    scale = max(1.0, float(np.max(np.abs(ours)))) if np.isfinite(ours).all() and n else 1.0
    return Comparison(what=what, max_abs_diff=max_abs, per_step=per_step, device=device,
                      dtype=dtype, tolerance=TOLERANCES[dtype] * scale, ours=ours,
                      theirs=theirs, unit=unit)


def _describe(name: str, options: Mapping[str, Any]) -> str:
    args = ", ".join(f"{k}={v}" for k, v in options.items())
    return f"{name}({args})"


# ---------------------------------------------------------------------------------------
# Optimizers
# ---------------------------------------------------------------------------------------

# nnopt name -> torch.optim class name, for the optimizers that are torch's own.
_TORCH_NAMES = {"sgd": "SGD", "adagrad": "Adagrad", "rmsprop": "RMSprop",
                "adadelta": "Adadelta", "adam": "Adam", "adamw": "AdamW", "nadam": "NAdam"}


def _ema_as_torch(options: Mapping[str, Any]) -> tuple[str, dict]:
    # v = βv + (1-β)g with lr η is torch's b = βb + g with lr η(1-β) (see ema_momentum_step)
    beta = options.get("beta", 0.9)
    return "SGD", {"lr": options["lr"] * (1 - beta), "momentum": beta}


def _heavy_ball_as_torch(options: Mapping[str, Any]) -> tuple[str, dict]:
    # θ - η∇f + β(θ - θ_prev) is torch's momentum form with the same η and μ = β
    return "SGD", {"lr": options["lr"], "momentum": options.get("beta", 0.9)}


#: Teaching variants without a torch namesake -> the documented torch equivalent.
TEACHING_EQUIVALENTS: dict[str, Callable[[Mapping[str, Any]], tuple[str, dict]]] = {
    "ema_momentum": _ema_as_torch,
    "heavy_ball": _heavy_ball_as_torch,
}


def _torch_optimizer(name: str, options: Mapping[str, Any]) -> tuple[type, dict]:
    if name in TEACHING_EQUIVALENTS:
        torch_name, torch_options = TEACHING_EQUIVALENTS[name](options)
    else:
        torch_name, torch_options = _TORCH_NAMES.get(name, name), dict(options)
    torch_cls = getattr(torch.optim, torch_name)
    # torch's single-tensor loop is the order of operations nnopt reproduces; the default
    # on CUDA would be the multi-tensor ("foreach") path, which rounds differently.
    return torch_cls, {**torch_options, "foreach": False}


def _surface(surface: str | surfaces.Surface) -> surfaces.Surface:
    return surfaces.get(surface) if isinstance(surface, str) else surface


def compare_optimizer(name: str, options: Mapping[str, Any], *,
                      surface: str | surfaces.Surface = "rosenbrock", steps: int = 200,
                      dtype: str = "float64", start: Sequence[float] | None = None
                      ) -> Comparison:
    """Run ``optim.OPTIMIZERS[name](**options)`` and torch's namesake side by side.

    Both start at ``start`` (default: the surface's start) and take ``steps`` steps; the
    positions after every step are compared. nnopt_lib uses ``surface.grad`` (analytic,
    float64); torch uses autograd on ``surface.value_torch`` on :func:`best_device` in
    ``dtype``. The teaching variants map to torch SGD by the documented relations:
    ``EMAMomentum(lr=η, beta=β)`` = ``SGD(lr=η(1-β), momentum=β)`` and
    ``HeavyBall(lr=η, beta=β)`` = ``SGD(lr=η, momentum=β)``.
    """
    if name not in optim.OPTIMIZERS:
        raise ValueError(f"Unknown optimizer: {name!r}; choose from {sorted(optim.OPTIMIZERS)}")
    surf = _surface(surface)
    device = best_device()
    dtype, torch_dtype = _resolve_dtype(dtype, device)
    start = surf.start if start is None else start

    theta = np.array(start, dtype=np.float64)
    opt = optim.OPTIMIZERS[name]([theta], **options)
    ours = np.empty((steps + 1, 2))
    ours[0] = theta
    with np.errstate(all="ignore"):  # a diverging case must fail the check, not warn
        for k in range(steps):
            opt.step([surf.grad(theta)])
            ours[k + 1] = theta

    torch_cls, torch_options = _torch_optimizer(name, options)
    with _default_dtype(torch_dtype):
        param = torch.tensor(start, dtype=torch_dtype, device=device, requires_grad=True)
        torch_opt = torch_cls([param], **torch_options)
        theirs = torch.empty((steps + 1, 2), dtype=torch_dtype, device=device)
        theirs[0] = param.detach()
        for k in range(steps):
            torch_opt.zero_grad()
            surf.value_torch(param).backward()
            torch_opt.step()
            theirs[k + 1] = param.detach()  # stays on the device: one transfer at the end

    what = f"{_describe(name, options)} on {surf.name}"
    return _compare(what, ours, theirs.cpu().numpy(), str(device), dtype)


# ---------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------

ScheduleFactory = Callable[[Any, Any], Any]

#: Named schedules for :func:`compare_schedule`: name -> factory ``(library, optimizer)``,
#: called once with ``nnopt_lib.schedules`` and once with ``torch.optim.lr_scheduler``.
SCHEDULES: dict[str, ScheduleFactory] = {
    "LambdaLR": lambda lib, opt: lib.LambdaLR(opt, lr_lambda=lambda t: 1.0 / (1.0 + 0.1 * t)),
    "StepLR": lambda lib, opt: lib.StepLR(opt, step_size=7, gamma=0.5),
    "MultiStepLR": lambda lib, opt: lib.MultiStepLR(opt, milestones=[5, 12, 30], gamma=0.3),
    "ConstantLR": lambda lib, opt: lib.ConstantLR(opt, factor=0.25, total_iters=9),
    "ExponentialLR": lambda lib, opt: lib.ExponentialLR(opt, gamma=0.93),
    "CosineAnnealingLR": lambda lib, opt: lib.CosineAnnealingLR(opt, T_max=17, eta_min=1e-3),
    "LinearLR": lambda lib, opt: lib.LinearLR(opt, start_factor=0.1, end_factor=1.0,
                                              total_iters=13),
    "OneCycleLR": lambda lib, opt: lib.OneCycleLR(opt, max_lr=1.0, total_steps=61),
    "OneCycleLR(linear)": lambda lib, opt: lib.OneCycleLR(
        opt, max_lr=0.5, total_steps=61, anneal_strategy="linear", three_phase=True),
    "SequentialLR": lambda lib, opt: lib.SequentialLR(
        opt, [lib.LinearLR(opt, start_factor=0.1, total_iters=8),
              lib.CosineAnnealingLR(opt, T_max=30)], milestones=[8]),
    "ReduceLROnPlateau": lambda lib, opt: lib.ReduceLROnPlateau(opt, factor=0.5, patience=3),
}


def _plateau_metrics(steps: int) -> np.ndarray:
    """A loss that falls, then stalls with small wiggles (ReduceLROnPlateau's input)."""
    t = np.arange(steps)
    return 1.0 / (1.0 + 0.3 * np.minimum(t, 15)) + 0.001 * np.sin(1.7 * t)


def _run_schedule(lib: Any, make_optimizer: Callable, factory: ScheduleFactory, steps: int,
                  metrics: np.ndarray, step_optimizer: Callable) -> np.ndarray:
    opt = make_optimizer()
    scheduler = factory(lib, opt)
    plateau = type(scheduler).__name__ == "ReduceLROnPlateau"
    record = []
    for t in range(steps):
        group = opt.param_groups[0]
        record.append([group["lr"], group["momentum"]])
        step_optimizer(opt)
        if plateau:
            scheduler.step(float(metrics[t]))
        else:
            scheduler.step()
    return np.array(record)


def compare_schedule(name_or_factory: str | ScheduleFactory, *, lr: float = 0.1,
                     steps: int = 60, metrics: Sequence[float] | None = None) -> Comparison:
    """Compare the learning rate (and momentum) a scheduler sets at each of ``steps`` steps.

    ``name_or_factory`` is a key of :data:`SCHEDULES` or a function ``(library, optimizer)
    -> scheduler`` written once for both libraries, e.g.
    ``lambda lib, opt: lib.CosineAnnealingLR(opt, T_max=100)``. Both drive an SGD optimizer
    (``lr``, momentum 0.9, so OneCycleLR's momentum cycling is checked too); the optimizer
    steps before the scheduler, as torch requires. ReduceLROnPlateau is stepped with
    ``metrics`` (default: a loss that falls and then stalls). Learning rates are Python
    floats on both sides, so the comparison is float64 on the CPU.
    """
    if isinstance(name_or_factory, str):
        if name_or_factory not in SCHEDULES:
            raise ValueError(f"Unknown schedule: {name_or_factory!r}; "
                             f"choose from {sorted(SCHEDULES)}")
        name, factory = name_or_factory, SCHEDULES[name_or_factory]
    else:
        name, factory = getattr(name_or_factory, "__name__", "schedule"), name_or_factory
    metrics = _plateau_metrics(steps) if metrics is None else np.asarray(metrics, dtype=float)
    if len(metrics) < steps:
        raise ValueError(f"metrics has {len(metrics)} values for {steps} steps")

    ours = _run_schedule(
        schedules, lambda: optim.SGD([np.zeros(1)], lr=lr, momentum=0.9), factory, steps,
        metrics, lambda opt: opt.step([np.zeros(1)]))

    def torch_step(opt: torch.optim.Optimizer) -> None:
        opt.zero_grad()
        opt.param_groups[0]["params"][0].grad = torch.zeros(1, dtype=torch.float64)
        opt.step()

    theirs = _run_schedule(
        torch.optim.lr_scheduler,
        lambda: torch.optim.SGD([torch.zeros(1, dtype=torch.float64, requires_grad=True)],
                                lr=lr, momentum=0.9),
        factory, steps, metrics, torch_step)
    return _compare(f"{name}(lr={lr}) lr and momentum", ours, theirs, "cpu", "float64")


# ---------------------------------------------------------------------------------------
# Clipping
# ---------------------------------------------------------------------------------------


def compare_clip(method: str = "norm", *, max_norm: float = 1.0, norm_type: float = 2.0,
                 clip_value: float = 0.5, scale: float = 3.0, seed: int = 0,
                 dtype: str = "float64",
                 shapes: Sequence[tuple[int, ...]] = ((4, 3), (3,), (2, 5))) -> Comparison:
    """Compare ``clip.clip_grad_norm_`` / ``clip_grad_value_`` with ``torch.nn.utils``'s.

    Random gradients of the given ``shapes`` (standard normal times ``scale``; seeded) are
    clipped by both. ``method="norm"`` uses ``max_norm`` and ``norm_type`` and also compares
    the returned total norm (the last item of ``per_step``); ``method="value"`` clamps to
    ``[-clip_value, clip_value]``.
    """
    if method not in ("norm", "value"):
        raise ValueError(f"Invalid method: {method!r} (choose 'norm' or 'value')")
    device = best_device()
    dtype, torch_dtype = _resolve_dtype(dtype, device)
    rng = np.random.default_rng(seed)
    grads = [scale * rng.standard_normal(shape) for shape in shapes]

    ours = [g.copy() for g in grads]
    params = [torch.zeros(shape, dtype=torch_dtype, device=device, requires_grad=True)
              for shape in shapes]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.tensor(g, dtype=torch_dtype, device=device)
    if method == "norm":
        our_total = clip.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
        their_total = float(torch.nn.utils.clip_grad_norm_(params, max_norm,
                                                            norm_type=norm_type))
        what = f"clip_grad_norm_(max_norm={max_norm}, norm_type={norm_type}), scale {scale}"
    else:
        clip.clip_grad_value_(ours, clip_value)
        torch.nn.utils.clip_grad_value_(params, clip_value)
        what = f"clip_grad_value_(clip_value={clip_value}), scale {scale}"
    # compare array by array: pad to a common length with zeros (same on both sides)
    width = max(g.size for g in grads)
    ours_rows = [np.pad(g.ravel(), (0, width - g.size)) for g in ours]
    their_rows = [np.pad(p.grad.cpu().numpy().astype(np.float64).ravel(), (0, width - p.numel()))
                  for p in params]
    if method == "norm":
        ours_rows.append(np.pad([our_total], (0, width - 1)))
        their_rows.append(np.pad([their_total], (0, width - 1)))
    return _compare(what, np.array(ours_rows), np.array(their_rows), str(device), dtype,
                    unit="item")


# ---------------------------------------------------------------------------------------
# Layers and losses
# ---------------------------------------------------------------------------------------

LAYERS = ("Linear", "ReLU", "LeakyReLU", "ELU", "GELU", "Sigmoid", "Tanh", "Dropout",
          "BatchNorm1d", "Sequential", "CrossEntropyLoss", "MSELoss")


def torch_twin(model: Any, *, dtype: str = "float64", device: torch.device | None = None
               ) -> torch.nn.Module:
    """The torch module equal to the nnopt_lib ``model``, with a copy of every weight.

    Works for every layer of :mod:`nnopt_lib.nn` and a ``Sequential`` of them, so a
    training loop can run both side by side from the same start. The twin is in
    ``dtype`` on ``device`` (default: CPU) and follows ``model``'s train/eval mode.
    """
    torch_dtype = getattr(torch, dtype)

    def copy(source: np.ndarray | None, target: torch.Tensor | None) -> None:
        if source is not None:
            with torch.no_grad():
                target.copy_(torch.from_numpy(np.asarray(source)))

    def twin(layer: Any) -> torch.nn.Module:
        name = type(layer).__name__
        if isinstance(layer, nn.Sequential):
            module = torch.nn.Sequential(*(twin(inner) for inner in layer.layers))
        elif isinstance(layer, nn.Linear):
            module = torch.nn.Linear(layer.in_features, layer.out_features,
                                     bias=layer.bias is not None, dtype=torch_dtype)
        elif isinstance(layer, nn.BatchNorm1d):
            module = torch.nn.BatchNorm1d(layer.num_features, eps=layer.eps,
                                          momentum=layer.momentum, dtype=torch_dtype)
            copy(layer.running_mean, module.running_mean)
            copy(layer.running_var, module.running_var)
        elif isinstance(layer, nn.LeakyReLU):
            module = torch.nn.LeakyReLU(layer.negative_slope)
        elif isinstance(layer, nn.ELU):
            module = torch.nn.ELU(layer.alpha)
        elif isinstance(layer, nn.Dropout):
            module = torch.nn.Dropout(layer.p)
        elif name in ("ReLU", "GELU", "Sigmoid", "Tanh"):
            module = getattr(torch.nn, name)()
        else:
            raise TypeError(f"torch_twin: no torch counterpart for {name}")
        copy(getattr(layer, "weight", None), getattr(module, "weight", None))
        copy(getattr(layer, "bias", None), getattr(module, "bias", None))
        return module.train(layer.training)

    return twin(model).to(device or torch.device("cpu"))


def _layer_pair(name: str, options: Mapping[str, Any], features: int, out_features: int,
                rng: np.random.Generator) -> tuple[Any, torch.nn.Module]:
    if name == "Linear":
        return (nn.Linear(features, out_features, rng=rng, **options),
                torch.nn.Linear(features, out_features, **options))
    if name == "Dropout":
        return nn.Dropout(rng=rng, **options), torch.nn.Dropout(**options)
    if name == "BatchNorm1d":
        ours = nn.BatchNorm1d(features, **options)
        # non-trivial affine parameters and running statistics, so they are really checked
        ours.weight[...] = rng.uniform(0.5, 1.5, features)
        ours.bias[...] = rng.normal(size=features)
        ours.running_mean[...] = rng.normal(size=features)
        ours.running_var[...] = rng.uniform(0.5, 2.0, features)
        return ours, torch.nn.BatchNorm1d(features, **options)
    if name == "Sequential":
        hidden = 8
        ours = nn.Sequential(nn.Linear(features, hidden, rng=rng), nn.Tanh(),
                             nn.Linear(hidden, hidden, rng=rng), nn.ReLU(),
                             nn.Linear(hidden, out_features, rng=rng))
        theirs = torch.nn.Sequential(torch.nn.Linear(features, hidden), torch.nn.Tanh(),
                                     torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
                                     torch.nn.Linear(hidden, out_features))
        return ours, theirs
    return getattr(nn, name)(**options), getattr(torch.nn, name)(**options)


def compare_layer(name: str, *, options: Mapping[str, Any] | None = None, mode: str = "train",
                  batch: int = 16, features: int = 6, out_features: int = 4, seed: int = 0,
                  dtype: str = "float64") -> Comparison:
    """Compare an :mod:`nnopt_lib.nn` layer or loss with ``torch.nn``'s, forward and backward.

    ``name`` is one of :data:`LAYERS`; ``options`` go to both constructors (e.g.
    ``{"negative_slope": 0.2}``). The torch module gets nnopt's parameters; both see the
    same input (seeded normal, ``batch x features``) and the same upstream gradient. Compared
    items, in ``per_step`` order: the output (for a loss, the loss value), the input
    gradient, each parameter gradient, and for BatchNorm1d in training mode the updated
    running mean and variance. ``mode`` is ``"train"`` or ``"eval"`` (Dropout only matches
    torch where it is the identity: in eval mode, or with ``p=0``).
    """
    if name not in LAYERS:
        raise ValueError(f"Unknown layer: {name!r}; choose from {LAYERS}")
    if mode not in ("train", "eval"):
        raise ValueError(f"Invalid mode: {mode!r} (choose 'train' or 'eval')")
    options = dict(options or {})
    device = best_device()
    dtype, torch_dtype = _resolve_dtype(dtype, device)
    rng = np.random.default_rng(seed)

    def tensor(a: np.ndarray, grad: bool = False) -> torch.Tensor:
        return torch.tensor(a, dtype=torch_dtype, device=device, requires_grad=grad)

    if name in ("CrossEntropyLoss", "MSELoss"):
        pred = rng.normal(size=(batch, out_features))
        if name == "CrossEntropyLoss":
            target = rng.integers(0, out_features, size=batch)
            their_target = torch.tensor(target, dtype=torch.long, device=device)
        else:
            target = rng.normal(size=(batch, out_features))
            their_target = tensor(target)
        loss = getattr(nn, name)()
        our_value = loss.forward(pred, target)
        our_grad = loss.backward()
        x = tensor(pred, grad=True)
        their_value = getattr(torch.nn, name)()(x, their_target)
        their_value.backward()
        ours_items = [np.array([our_value]), our_grad]
        their_items = [np.array([their_value.item()]), x.grad]
    else:
        ours, theirs = _layer_pair(name, options, features, out_features, rng)
        theirs = theirs.to(device=device, dtype=torch_dtype)
        with torch.no_grad():  # after .to(dtype), so nothing passes through float32
            for ours_p, their_p in zip(ours.parameters(), theirs.parameters(), strict=True):
                their_p.copy_(tensor(ours_p))
            if name == "BatchNorm1d":
                theirs.running_mean.copy_(tensor(ours.running_mean))
                theirs.running_var.copy_(tensor(ours.running_var))
        ours.train(mode == "train")
        theirs.train(mode == "train")
        x_np = rng.normal(loc=0.5, scale=1.5, size=(batch, features))
        y = ours.forward(x_np)
        g = rng.normal(size=y.shape)
        grad_in = ours.backward(g)
        x = tensor(x_np, grad=True)
        y_t = theirs(x)
        y_t.backward(tensor(g))
        ours_items = [y, grad_in, *ours.gradients()]
        their_items = [y_t, x.grad, *[p.grad for p in theirs.parameters()]]
        if name == "BatchNorm1d" and mode == "train":
            ours_items += [ours.running_mean, ours.running_var]
            their_items += [theirs.running_mean, theirs.running_var]

    their_items = [t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else t
                   for t in their_items]
    width = max(np.size(a) for a in ours_items)

    def rows(items: list) -> np.ndarray:
        return np.array([np.pad(np.ravel(np.asarray(a, dtype=np.float64)),
                                (0, width - np.size(a))) for a in items])

    what = f"{_describe(name, options)} [{mode}] forward and backward"
    return _compare(what, rows(ours_items), rows(their_items), str(device), dtype, unit="item")


# ---------------------------------------------------------------------------------------
# The matrix (python -m nnopt_lib.crosscheck)
# ---------------------------------------------------------------------------------------

#: Option sets per optimizer: defaults, then every switch flipped and every
#: hyperparameter moved off its default at least once. The learning rate comes from
#: :data:`MATRIX_LR` (per surface).
OPTION_CASES: dict[str, list[dict[str, Any]]] = {
    "sgd": [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True},
            {"momentum": 0.9, "dampening": 0.5}, {"weight_decay": 0.1},
            {"momentum": 0.9, "maximize": True}],
    "adagrad": [{}, {"lr_decay": 0.01}, {"weight_decay": 0.1},
                {"initial_accumulator_value": 0.1, "eps": 1e-6}, {"maximize": True}],
    "rmsprop": [{}, {"alpha": 0.9}, {"momentum": 0.9}, {"centered": True},
                {"centered": True, "momentum": 0.5, "weight_decay": 0.1, "eps": 1e-6},
                {"maximize": True}],
    "adadelta": [{}, {"rho": 0.5}, {"weight_decay": 0.1, "eps": 1e-4}, {"maximize": True}],
    "adam": [{}, {"amsgrad": True}, {"betas": (0.8, 0.99), "eps": 1e-6},
             {"weight_decay": 0.1}, {"weight_decay": 0.1, "decoupled_weight_decay": True},
             {"amsgrad": True, "maximize": True}],
    "adamw": [{}, {"amsgrad": True}, {"weight_decay": 0.1, "betas": (0.8, 0.99)},
              {"maximize": True}],
    "nadam": [{}, {"momentum_decay": 0.01}, {"weight_decay": 0.1},
              {"weight_decay": 0.1, "decoupled_weight_decay": True}, {"maximize": True}],
    "ema_momentum": [{}, {"beta": 0.5}],
    "heavy_ball": [{}, {"beta": 0.5}],
}

#: Learning rate per (kind of optimizer, surface): small enough that no case diverges (a
#: diverged run compares NaN with NaN, which is no check at all) and that no run is chaotic.
#: (RMSprop(alpha=0.9) at lr=1e-2 on Rosenbrock is: moving the start by 1e-15 moves step 100
#: by 3e-2, so any rounding difference, even a legitimate one, would be amplified the same way.)
MATRIX_LR = {
    "plain": {"rosenbrock": 5e-4, "beale": 1e-3, "quadratic": 0.02},
    "adaptive": {"rosenbrock": 3e-3, "beale": 1e-2, "quadratic": 0.05},
    "adadelta": {"rosenbrock": 1.0, "beale": 1.0, "quadratic": 1.0},
}
_PLAIN = {"sgd", "ema_momentum", "heavy_ball"}

MATRIX_STEPS = 100
#: float32 carries ~7 digits and some cases (Adadelta on Rosenbrock) amplify rounding
#: 1e5-fold after ~60 steps, so the float32 matrix stops at 50 steps.
MATRIX_STEPS_FLOAT32 = 50
#: Ascent (maximize=True) runs away from the minimum: short, and on the quadratic only.
MAXIMIZE_STEPS = 30


def matrix_surfaces() -> list[surfaces.Surface]:
    """Rosenbrock, Beale, and an ill-conditioned quadratic rotated by 30 degrees."""
    return [surfaces.rosenbrock(), surfaces.beale(),
            surfaces.quadratic(condition=10.0, angle_deg=30.0)]


def _optimizer_cases(name: str, dtype: str = "float64"
                     ) -> list[tuple[dict, surfaces.Surface, int]]:
    kind = "adadelta" if name == "adadelta" else "plain" if name in _PLAIN else "adaptive"
    full = MATRIX_STEPS if dtype == "float64" else MATRIX_STEPS_FLOAT32
    cases = []
    for options in OPTION_CASES.get(name, [{}]):
        for surf in matrix_surfaces():
            if options.get("maximize") and surf.name != "quadratic":
                continue  # ascent on Rosenbrock/Beale overflows within a few steps
            steps = MAXIMIZE_STEPS if options.get("maximize") else full
            cases.append(({"lr": MATRIX_LR[kind][surf.name], **options}, surf, steps))
    return cases


def _groups(dtype: str) -> list[tuple[str, list[Callable[[], Comparison]]]]:
    groups = []
    for name in optim.OPTIMIZERS:
        cases = [lambda n=name, o=o, s=s, k=k: compare_optimizer(n, o, surface=s, steps=k,
                                                                 dtype=dtype)
                 for o, s, k in _optimizer_cases(name, dtype)]
        groups.append((f"optimizer {name}", cases))
    groups.append(("schedules", [lambda n=n: compare_schedule(n) for n in SCHEDULES]))
    clips = [lambda p=p, s=s: compare_clip("norm", norm_type=p, scale=s, dtype=dtype)
             for p in (2.0, 1.0, math.inf, 3.0) for s in (0.05, 3.0)]
    clips += [lambda s=s: compare_clip("value", clip_value=0.5, scale=s, dtype=dtype)
              for s in (0.1, 3.0)]
    groups.append(("clipping", clips))
    layer_cases: list[tuple[str, dict, str]] = [
        ("Linear", {}, "train"), ("Linear", {"bias": False}, "train"),
        ("ReLU", {}, "train"), ("LeakyReLU", {}, "train"),
        ("LeakyReLU", {"negative_slope": 0.2}, "train"), ("ELU", {}, "train"),
        ("ELU", {"alpha": 0.5}, "train"), ("GELU", {}, "train"), ("Sigmoid", {}, "train"),
        ("Tanh", {}, "train"), ("Dropout", {"p": 0.5}, "eval"), ("Dropout", {"p": 0.0}, "train"),
        ("BatchNorm1d", {}, "train"), ("BatchNorm1d", {}, "eval"),
        ("BatchNorm1d", {"eps": 1e-3, "momentum": 0.3}, "train"),
        ("Sequential", {}, "train"), ("CrossEntropyLoss", {}, "train"), ("MSELoss", {}, "train"),
    ]
    groups.append(("layers", [lambda n=n, o=o, m=m: compare_layer(n, options=o, mode=m,
                                                                  dtype=dtype)
                              for n, o, m in layer_cases]))
    return groups


def main(argv: Sequence[str] | None = None) -> int:
    """Run every comparison, print one line per group, return 1 on any mismatch."""
    parser = argparse.ArgumentParser(prog="python -m nnopt_lib.crosscheck",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=sorted(TOLERANCES), default="float64",
                        help="torch dtype of the comparisons (default float64)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = parser.parse_args(argv)

    print(device_report(dtype=args.dtype))
    print(f"{'group':<24}{'cases':>6}  {'worst |Δ|':>10}  {'tolerance':>9}  result")
    failures: list[str] = []
    total = 0
    began = time.perf_counter()
    for group, cases in _groups(args.dtype):
        results: list[Comparison] = []
        crashed = 0
        for case in cases:
            total += 1
            try:
                result = case()
            except Exception as error:  # a crash is a failed case, not the end of the matrix
                crashed += 1
                failures.append(f"{group}: {type(error).__name__}: {error}")
                continue
            results.append(result)
            if args.verbose:
                print(f"    {result!r}")
            if not result.passed:
                failures.append(repr(result))
        bad = crashed + sum(not r.passed for r in results)
        # the worst case is the one closest to (or furthest past) its tolerance
        worst = max(results, key=lambda r: r.max_abs_diff / r.tolerance if r.passed
                    else math.inf, default=None)
        diff = f"{worst.max_abs_diff:>10.2e}  {worst.tolerance:>9.1e}" if worst else " " * 21
        status = "ok" if bad == 0 else f"{bad} FAILED"
        print(f"{group:<24}{len(cases):>6}  {diff}  {status}")
    seconds = time.perf_counter() - began
    if failures:
        print(f"\n{len(failures)} of {total} comparisons FAILED ({seconds:.1f} s):")
        for line in failures:
            print(f"  {line}")
        return 1
    print(f"all {total} comparisons passed ({seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
