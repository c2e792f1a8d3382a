"""Named optimizer settings for the explorers, driven by two sliders: η (learning rate) and β.

``PRESETS[name] = (class name in nnopt_lib.optim, options)``, where ``options(lr, beta)``
returns the keyword dict for that class::

    class_name, options = PRESETS["nesterov"]
    opt = getattr(optim, class_name)(params, **options(0.01, 0.9))

================  ============================================================
``sgd``           ``SGD(lr=η)``; β unused
``momentum``      ``SGD(lr=η, momentum=β)``: PyTorch's form b = βb + g
``nesterov``      ``SGD(lr=η, momentum=β, nesterov=True)``; plain SGD at β = 0
``ema_momentum``  ``EMAMomentum(lr=η, beta=β)``: v = βv + (1−β)g
``heavy_ball``    ``HeavyBall(lr=η, beta=β)``: θ − η∇f + β(θ − θ_prev)
``adagrad``       ``Adagrad(lr=η)``; β unused
``rmsprop``       ``RMSprop(lr=η)``; β unused (α = 0.99)
``adam``          ``Adam(lr=η, betas=(β, 0.999))``
``adamw``         ``AdamW(lr=η, betas=(β, 0.999))``; weight_decay 0.01
``nadam``         ``NAdam(lr=η, betas=(β, 0.999))``
================  ============================================================

They live with the optimizers (not in the widgets package) so that an explorer, a benchmark
or a notebook can name the same settings without importing ipywidgets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["PRESETS"]


def _sgd(lr: float, beta: float) -> dict[str, Any]:
    return {"lr": lr}


def _momentum(lr: float, beta: float) -> dict[str, Any]:
    return {"lr": lr, "momentum": beta}


def _nesterov(lr: float, beta: float) -> dict[str, Any]:
    # torch (and optim.SGD) refuse nesterov=True without momentum; at β = 0 both are plain SGD.
    return {"lr": lr, "momentum": beta, "nesterov": bool(beta > 0)}


def _beta(lr: float, beta: float) -> dict[str, Any]:
    return {"lr": lr, "beta": beta}


def _lr_only(lr: float, beta: float) -> dict[str, Any]:
    return {"lr": lr}


def _adam_like(lr: float, beta: float) -> dict[str, Any]:
    return {"lr": lr, "betas": (beta, 0.999)}


#: name -> (optimizer class name in :mod:`nnopt_lib.optim`, function ``(lr, beta) -> options``)
PRESETS: dict[str, tuple[str, Callable[[float, float], dict[str, Any]]]] = {
    "sgd": ("SGD", _sgd),
    "momentum": ("SGD", _momentum),
    "nesterov": ("SGD", _nesterov),
    "ema_momentum": ("EMAMomentum", _beta),
    "heavy_ball": ("HeavyBall", _beta),
    "adagrad": ("Adagrad", _lr_only),
    "rmsprop": ("RMSprop", _lr_only),
    "adam": ("Adam", _adam_like),
    "adamw": ("AdamW", _adam_like),
    "nadam": ("NAdam", _adam_like),
}
