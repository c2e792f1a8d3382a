"""Optimizers: the same run through ``nnopt_lib.optim`` and ``torch.optim``, step by step.

A run minimises a :class:`Problem`: a 2-D surface of :mod:`nnopt_lib.surfaces` (one
parameter array) or :func:`least_squares` (a weight and a bias, so that two parameter groups
can differ). nnopt_lib always steps with the problem's analytic gradient; torch, by default,
differentiates the problem's torch formula with autograd, so the check covers the gradient
formula as well as the update rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from nnopt_lib import optim, surfaces
from nnopt_lib.crosscheck.comparison import Comparison, _compare, _describe
from nnopt_lib.crosscheck.device import _default_dtype, _resolve_dtype, _torch, best_device

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


def _check_name(name: str) -> None:
    if name not in optim.OPTIMIZERS:
        raise ValueError(f"Unknown optimizer: {name!r}; choose from {sorted(optim.OPTIMIZERS)}")


def _torch_class_and_options(name: str, options: Mapping[str, Any]) -> tuple[type, dict]:
    """The ``torch.optim`` class and the keyword arguments equal to nnopt's ``name(**options)``."""
    if name in TEACHING_EQUIVALENTS:
        torch_name, torch_options = TEACHING_EQUIVALENTS[name](options)
    else:
        torch_name, torch_options = _TORCH_NAMES.get(name, name), dict(options)
    return getattr(_torch().optim, torch_name), torch_options


def _torch_optimizer(name: str, options: Mapping[str, Any], params: Sequence[Any],
                     group_options: Sequence[Mapping[str, Any]] | None = None) -> Any:
    """torch's twin of ``optim.OPTIMIZERS[name](params or groups, **options)``.

    With ``group_options`` each parameter gets its own group, whose options are translated
    together with the defaults (a teaching variant's per-group ``lr`` needs its rescaling too).
    """
    torch_cls, torch_options = _torch_class_and_options(name, options)
    if group_options is None:
        groups: Any = list(params)
    else:
        groups = [{"params": [p], **_torch_class_and_options(name, {**options, **extra})[1]}
                  for p, extra in zip(params, group_options, strict=True)]
    # torch's single-tensor loop is the order of operations nnopt reproduces; the default
    # on CUDA would be the multi-tensor ("foreach") path, which rounds differently.
    return torch_cls(groups, **torch_options, foreach=False)


def _nnopt_optimizer(name: str, options: Mapping[str, Any], params: Sequence[np.ndarray],
                     group_options: Sequence[Mapping[str, Any]] | None = None) -> Any:
    groups: Any = list(params) if group_options is None else [
        {"params": [p], **extra} for p, extra in zip(params, group_options, strict=True)]
    return optim.OPTIMIZERS[name](groups, **options)


@dataclass(frozen=True)
class Problem:
    """An objective of one or more parameter arrays, written once for numpy and once for torch.

    name: how comparisons name it. start: the parameter arrays a run starts from.
    gradients: ``params -> [dL/dparam, ...]``, analytic, in numpy (what nnopt_lib steps with).
    loss: ``(params, torch) -> scalar tensor``, the same objective for torch's autograd.
    """

    name: str
    start: tuple[np.ndarray, ...]
    gradients: Callable[[Sequence[np.ndarray]], list[np.ndarray]]
    loss: Callable[[Sequence[Any], ModuleType], Any]


def surface_problem(surface: str | surfaces.Surface) -> Problem:
    """A 2-D surface as a one-array problem: ``surface.grad`` for nnopt_lib, and the surface's
    one formula, evaluated with torch as its array module, for autograd."""
    surf = surfaces.get(surface) if isinstance(surface, str) else surface
    return Problem(
        name=surf.name, start=(np.array(surf.start, dtype=np.float64),),
        gradients=lambda params: [surf.grad(params[0])],
        loss=lambda params, torch: surf.formula(params[0][..., 0], params[0][..., 1], torch))


def least_squares(*, seed: int = 0, samples: int = 30, features: int = 3, outputs: int = 2,
                  spread: float = 5.0) -> Problem:
    """Linear least squares ``L(W, b) = 1/(2n) sum_i ||W x_i + b - y_i||^2``: two arrays.

    ``X`` (``samples x features``) and the targets ``y = X A + c + 0.1 noise`` are seeded
    normal draws; ``W`` (``outputs x features``, torch's layout) and ``b`` start at
    ``spread`` times a standard normal draw, far from the solution, so that a 200-step run
    still moves. Gradients: ``dL/dW = r^T X / n``, ``dL/db = sum_i r_i / n`` with the
    residuals ``r = X W^T + b - y``. Two arrays, so two parameter groups can differ.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(samples, features))
    y = (x @ rng.normal(size=(features, outputs)) + rng.normal(size=outputs)
         + 0.1 * rng.normal(size=(samples, outputs)))
    start = (spread * rng.normal(size=(outputs, features)), spread * rng.normal(size=outputs))

    def gradients(params: Sequence[np.ndarray]) -> list[np.ndarray]:
        weight, bias = params
        residual = x @ weight.T + bias - y
        return [residual.T @ x / samples, residual.sum(axis=0) / samples]

    def loss(params: Sequence[Any], torch: ModuleType) -> Any:
        weight, bias = params
        def tensor(a: np.ndarray) -> Any:
            return torch.as_tensor(a, dtype=weight.dtype, device=weight.device)
        residual = tensor(x) @ weight.T + bias - tensor(y)
        return 0.5 * (residual**2).sum() / samples

    return Problem(name="least_squares", start=start, gradients=gradients, loss=loss)


#: Problems by name, besides the surfaces (``surfaces.get`` names).
PROBLEMS: dict[str, Callable[[], Problem]] = {"least_squares": least_squares}


def _problem(surface: str | surfaces.Surface, problem: Problem | str | None,
             start: Sequence[Any] | None) -> Problem:
    if problem is None:
        found = surface_problem(surface)
        return found if start is None else Problem(
            found.name, (np.array(start, dtype=np.float64),), found.gradients, found.loss)
    if isinstance(problem, str):
        if problem not in PROBLEMS:
            raise ValueError(f"Unknown problem: {problem!r}; choose from {sorted(PROBLEMS)} "
                             "(or pass a surface)")
        problem = PROBLEMS[problem]()
    if start is None:
        return problem
    return Problem(problem.name, tuple(np.array(p, dtype=np.float64) for p in start),
                   problem.gradients, problem.loss)


def compare_optimizer(name: str, options: Mapping[str, Any], *,
                      surface: str | surfaces.Surface = "rosenbrock", steps: int = 200,
                      dtype: str = "float64", start: Sequence[Any] | None = None,
                      problem: Problem | str | None = None,
                      param_groups: Sequence[Mapping[str, Any]] | None = None,
                      gradients: str = "autograd") -> Comparison:
    """Run ``optim.OPTIMIZERS[name](**options)`` and torch's namesake side by side.

    Both start at ``start`` (default: the surface's or the problem's start) and take
    ``steps`` steps; every parameter after every step is compared (row ``k`` of ``ours`` is
    the flattened parameters after ``k`` steps). nnopt_lib uses the analytic gradient
    (``surface.grad``); torch, on :func:`best_device` in ``dtype``, uses

    * ``gradients="autograd"`` (default): autograd on ``surface.formula(x, y, torch)``, so the
      check covers the gradient formula as well as the update rule;
    * ``gradients="analytic"``: the same analytic gradient at its own iterate -- only the
      update rule is checked, about five times faster on tiny problems.

    ``problem`` replaces the surface: a :class:`Problem` or a name of :data:`PROBLEMS`
    (``"least_squares"``: a weight and a bias). ``param_groups`` gives each parameter array
    its own group with these extra options (e.g. ``[{}, {"lr": 0.005}]``), on both sides.
    With ``maximize=True`` both runs maximise ``-f``, the same path as minimising ``f``, so an
    ascent case stays finite and still tests every sign. The teaching variants map to torch
    SGD by the documented relations: ``EMAMomentum(lr=η, beta=β)`` =
    ``SGD(lr=η(1-β), momentum=β)`` and ``HeavyBall(lr=η, beta=β)`` = ``SGD(lr=η, momentum=β)``.
    ``final`` of the result holds the two optimizers, for checks of their state.
    """
    _check_name(name)
    if gradients not in ("autograd", "analytic"):
        raise ValueError(f"Invalid gradients: {gradients!r} (choose 'autograd' or 'analytic')")
    task = _problem(surface, problem, start)
    device = best_device()
    dtype, torch_dtype = _resolve_dtype(dtype, device)
    sign = -1.0 if options.get("maximize") else 1.0

    params = [p.copy() for p in task.start]
    opt = _nnopt_optimizer(name, options, params, param_groups)
    ours = np.empty((steps + 1, sum(p.size for p in params)))
    ours[0] = np.concatenate([p.ravel() for p in params])
    with np.errstate(all="ignore"):  # a diverging case must fail the check, not warn
        for k in range(steps):
            opt.step([sign * g for g in task.gradients(params)])
            ours[k + 1] = np.concatenate([p.ravel() for p in params])

    torch = _torch()
    with _default_dtype(torch_dtype):
        tensors = [torch.tensor(p, dtype=torch_dtype, device=device, requires_grad=True)
                   for p in task.start]
        torch_opt = _torch_optimizer(name, options, tensors, param_groups)

        def flat() -> Any:
            return torch.cat([t.detach().reshape(-1) for t in tensors])

        theirs = torch.empty((steps + 1, ours.shape[1]), dtype=torch_dtype, device=device)
        theirs[0] = flat()
        for k in range(steps):
            torch_opt.zero_grad()
            if gradients == "autograd":
                (sign * task.loss(tensors, torch)).backward()
            else:
                at_theirs = task.gradients([t.detach().cpu().numpy().astype(np.float64)
                                            for t in tensors])
                for t, g in zip(tensors, at_theirs, strict=True):
                    t.grad = torch.as_tensor(sign * g, dtype=torch_dtype, device=device)
            torch_opt.step()
            theirs[k + 1] = flat()  # stays on the device: one transfer at the end

    what = f"{_describe(name, options)} on {task.name}"
    if param_groups is not None:
        what += f" with groups {list(param_groups)}"
    return _compare(what, ours, theirs.cpu().numpy(), str(device), dtype,
                    final=(opt, torch_opt))
