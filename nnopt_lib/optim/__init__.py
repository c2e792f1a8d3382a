"""From-scratch optimizers on numpy arrays, shaped like ``torch.optim``.

Two layers, on purpose:

* **Pure step functions** (``sgd_step``, ``adam_step``, ...) update ONE array. They take
  ``(param, grad, state)`` plus keyword-only hyperparameters and return
  ``(new_param, new_state)``; they never modify their inputs, and ``state`` is ``{}`` on the
  first step. This is the code a notebook shows and a widget replays.
* **Optimizer classes** (``SGD``, ``Adam``, ...) take the same keywords, defaults and
  validation errors as their ``torch.optim`` namesakes, keep per-parameter state under
  torch's key names, and only loop over the parameters, calling the step function and
  writing the result back IN PLACE (``p[...] = new``), so a model holding the arrays sees
  the update. SGD and Adam/AdamW have one faster path for large parameters,
  :mod:`~nnopt_lib.optim.inplace`: the same arithmetic done in place, block by block, equal
  to the step function bit for bit (lesson 18 and ``benchmarks/bench_optimizer_step.py``
  measure it).

One file per family: :mod:`~nnopt_lib.optim.base` (the :class:`Optimizer` loop and state
dicts), :mod:`~nnopt_lib.optim.sgd`, :mod:`~nnopt_lib.optim.adaptive` (Adagrad, RMSprop,
Adadelta), :mod:`~nnopt_lib.optim.adam` (Adam, AdamW, NAdam),
:mod:`~nnopt_lib.optim.momentum_forms` (the EMA and heavy-ball teaching variants),
:mod:`~nnopt_lib.optim.inplace` (the classes' in-place path),
:mod:`~nnopt_lib.optim.presets` (named settings for the explorers) and
:mod:`~nnopt_lib.optim.validation` (hyperparameter checks, shared with the schedulers).
Everything public is importable from here: ``optim.SGD``, ``optim.adam_step``.

State that survives: ``opt.state[p]`` is keyed by the parameter array itself, as torch keys
it by the tensor; ``copy.deepcopy(opt)`` and ``pickle`` keep every buffer, and
``state_dict()`` / ``load_state_dict()`` use torch's layout (numpy arrays where torch has
tensors), so state moves between nnopt and torch in both directions.

Differences from torch, all deliberate:

* Parameters are numpy float arrays and the gradients are passed to ``step(grads)``
  (numpy arrays have no ``.grad``); ``grads`` is aligned with the parameters of all
  groups, in order. A ``None`` gradient skips that parameter, like ``p.grad is None``.
* ``"step"`` is a plain float in the live state (a 0-d array in a state dict).
* Hyperparameters are keyword-only, so a misspelled or misplaced one fails loudly; values
  torch accepts silently although they make every step garbage (NaN or inf numbers, flags
  that are not booleans) raise a clear error naming the argument.
* No ``foreach`` / ``fused`` / ``capturable`` / ``differentiable`` switches: the step
  functions are the one readable definition, and the in-place path is chosen automatically.

The arithmetic follows the order of torch's ``_single_tensor_*`` functions. A single step
agrees with torch to about one rounding error, not bit for bit: torch's CPU kernels use
fused multiply-adds (``add(alpha=)``, ``addcmul``, ``lerp``), which numpy cannot express.
Over 200 float64 steps the trajectories agree to ~1e-14 (``tests/test_optim.py``), except
in chaotic runs (e.g. RMSprop rattling around an optimum), where ANY rounding difference
grows -- a property of the run, not of either implementation.
"""

from __future__ import annotations

from nnopt_lib.optim.adam import Adam, AdamW, NAdam, adam_step, adamw_step, nadam_step
from nnopt_lib.optim.adaptive import (
    Adadelta,
    Adagrad,
    RMSprop,
    adadelta_step,
    adagrad_step,
    rmsprop_step,
)
from nnopt_lib.optim.base import Optimizer
from nnopt_lib.optim.momentum_forms import (
    EMAMomentum,
    HeavyBall,
    ema_momentum_step,
    heavy_ball_step,
)
from nnopt_lib.optim.sgd import SGD, sgd_step

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "EMAMomentum",
    "HeavyBall",
    "NAdam",
    "Optimizer",
    "RMSprop",
    "adadelta_step",
    "adagrad_step",
    "adam_step",
    "adamw_step",
    "ema_momentum_step",
    "heavy_ball_step",
    "nadam_step",
    "rmsprop_step",
    "sgd_step",
]

#: Name -> optimizer class, for explorers and cross-checks. The keyword dicts that go with
#: each class are the caller's business (e.g. ``SGD`` with ``momentum=0.9`` for "momentum";
#: :data:`nnopt_lib.optim.presets.PRESETS` names such settings).
OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adadelta": Adadelta,
    "adam": Adam,
    "adamw": AdamW,
    "nadam": NAdam,
    "ema_momentum": EMAMomentum,
    "heavy_ball": HeavyBall,
}
