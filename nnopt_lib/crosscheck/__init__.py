"""Run the same thing in nnopt_lib and in PyTorch, and compare step by step.

The course builds every technique from scratch in numpy; this package is the proof that the
from-scratch versions are the real thing. Each ``compare_*`` function runs nnopt_lib (in
float64, the reference) and its ``torch`` namesake on :func:`best_device` (CUDA, else Apple
MPS, else CPU) in the requested dtype, and returns a :class:`Comparison`::

    from nnopt_lib import crosscheck
    print(crosscheck.device_report())
    c = crosscheck.compare_optimizer("adam", {"lr": 0.01, "amsgrad": True}, surface="beale")
    c.assert_ok()          # AssertionError with the worst step if they disagree
    c                      # in a notebook: a small table

* :func:`compare_optimizer`: an optimizer on a 2-D surface, or on a :class:`Problem` of
  several arrays (:func:`least_squares`) with its own options per parameter group. nnopt_lib
  uses the analytic gradient; torch differentiates ``surface.formula`` with autograd, so the
  check covers the gradient formula as well as the update rule (``gradients="analytic"``
  checks the update rule alone, faster). ``maximize=True`` runs maximise ``-f``.
* :func:`compare_schedule`: the learning rate (and momentum) a scheduler sets at each step,
  on SGD or Adam, over one or several parameter groups.
* :func:`compare_clip`: gradients after clipping by global norm or by value.
* :func:`compare_layer`: a layer or loss of :mod:`nnopt_lib.nn` / :mod:`nnopt_lib.losses`
  (by name, or built: a whole ``nn.mlp``), forward and backward, on a given input too.
* :func:`compare_optimizer_state`, :func:`compare_scheduler_state`,
  :func:`compare_module_state`: state dicts handed from torch to nnopt_lib and back (and
  optimizer copies by deepcopy or pickle); the two sides must then go on identically.
  :func:`compare_state_dicts` compares two state dicts entry by entry.
* :func:`torch_twin`: the torch copy of an nnopt model (or loss), to train side by side.
* :func:`compare_init`: a weight initialiser of :mod:`nnopt_lib.init`. What is not random
  must agree exactly (``calculate_gain``, the fans, ``zeros_``, ``orthogonal_``'s
  ``W^T W = gain^2 I``); random draws cannot match torch's number for number, so they are
  compared in distribution: a two-sample Kolmogorov--Smirnov test between a large sample of
  each, and each sample's standard deviation against the exact one, both at the 1e-3 level.
  There the tolerance is statistical, the KS critical value (see
  :mod:`~nnopt_lib.crosscheck.initialisers`).

Each result's ``final`` holds the nnopt and the torch object the run ended with, for checks
beyond the compared values. The unit tests (``tests/test_optim.py``, ``test_nn.py``, ...)
call these same functions, parametrised over the matrix's cases: there is one harness.

PyTorch is optional. Importing this package does not import torch (the compare functions
do, when called), so the lessons' from-scratch cells run without it. A lesson's torch cell
starts with ``torch = crosscheck.import_torch()``: without torch that prints one line (why,
and ``pip install torch==2.13.0`` or ``make lab``) and returns ``None``, and the cell skips.
:func:`device_report` works either way.

Tolerances: the difference is measured as ``max |ours - torch|`` and must not exceed
``tolerance = rtol * max(1, max |ours|)`` (absolute for values of order one, relative for
large ones) with ``rtol = 1e-10`` in float64 (agreement is normally ~1e-15; the slack covers
rounding that a long run amplifies) and ``1e-4`` in float32 (float32 carries ~7 digits, and
the torch run is compared with the float64 reference). MPS has no float64, so there the
float64 checks run in float32 with the float32 tolerance; :func:`device_report` says so.
The one exception: :func:`compare_init`'s comparisons in distribution, whose tolerance is
the two-sample Kolmogorov--Smirnov critical value at the 1e-3 level (about 0.012 for 50,000
numbers a side), in either dtype.

``python -m nnopt_lib.crosscheck`` runs the whole matrix (every optimizer with every option
switched on and off, on three surfaces and with two parameter groups; every schedule;
clipping; every layer and loss; state-dict round trips; every initialiser, exactly or in
distribution; bfloat16/float16 rounding and the GradScaler; pruning masks and fake
quantization, exactly; the distillation loss; DistributedDataParallel on real gloo processes),
prints one line per group, and exits with status 1 on any mismatch (or without torch).
``make test`` runs it (float64, 469 comparisons in about 20 s on two CPU cores, a few of them
the process start-up of the DDP cases); ``--dtype float32`` runs the matrix in float32 (50
steps per optimizer case), ``-v`` prints every case.

One file per job: ``device`` (lazy torch, device, dtype, the report), ``comparison`` (the
result and the tolerances), ``optimizers``, ``schedules``, ``clipping``, ``layers`` (layers
and losses, with :data:`LAYER_TWINS` / :data:`LOSS_TWINS`, the single nnopt -> torch
mapping), ``state_dicts`` (round trips and copies), ``initialisers`` (exact and
in-distribution checks of the initialisers), ``precision`` (rounding and loss scaling),
``compress`` (pruning, fake quantization, the ``quantize_dynamic`` and ``sparse_csr`` bridges),
``distillation``, ``distributed`` (the only user of ``torch.distributed``), ``hardware``
(timings on the best device; ``python -m nnopt_lib.crosscheck.hardware`` prints the table),
``matrix`` (the cases and :func:`main`).
"""

from nnopt_lib.crosscheck.clipping import compare_clip
from nnopt_lib.crosscheck.comparison import TOLERANCES, Comparison
from nnopt_lib.crosscheck.device import (
    TORCH_REQUIREMENT,
    best_device,
    device_report,
    import_torch,
)
from nnopt_lib.crosscheck.initialisers import INITIALISERS, compare_init
from nnopt_lib.crosscheck.layers import (
    LAYER_TWINS,
    LAYERS,
    LOSS_TWINS,
    LayerTwin,
    LossTwin,
    compare_layer,
    torch_twin,
)
from nnopt_lib.crosscheck.matrix import (
    CLIP_CASES,
    INIT_CASES,
    LAYER_CASES,
    MATRIX_LR,
    MATRIX_STEPS,
    MATRIX_STEPS_FLOAT32,
    OPTION_CASES,
    SCHEDULE_CASES,
    STATE_CASES,
    compare_layer_case,
    compare_state_case,
    main,
    matrix_surfaces,
    optimizer_cases,
)
from nnopt_lib.crosscheck.optimizers import (
    PROBLEMS,
    TEACHING_EQUIVALENTS,
    Problem,
    compare_optimizer,
    least_squares,
    surface_problem,
)
from nnopt_lib.crosscheck.schedules import SCHEDULES, compare_schedule, plateau_metrics
from nnopt_lib.crosscheck.state_dicts import (
    MODULE_STATE_CASES,
    OPTIMIZER_STATE_CASES,
    SCHEDULER_STATE_CASES,
    compare_module_state,
    compare_optimizer_state,
    compare_scheduler_state,
    compare_state_dicts,
    numpy_state_dict,
    torch_state_dict,
)

__all__ = [
    "CLIP_CASES",
    "INITIALISERS",
    "INIT_CASES",
    "LAYERS",
    "LAYER_CASES",
    "LAYER_TWINS",
    "LOSS_TWINS",
    "MATRIX_LR",
    "MATRIX_STEPS",
    "MATRIX_STEPS_FLOAT32",
    "MODULE_STATE_CASES",
    "OPTIMIZER_STATE_CASES",
    "OPTION_CASES",
    "PROBLEMS",
    "SCHEDULER_STATE_CASES",
    "SCHEDULES",
    "SCHEDULE_CASES",
    "STATE_CASES",
    "TEACHING_EQUIVALENTS",
    "TOLERANCES",
    "TORCH_REQUIREMENT",
    "Comparison",
    "LayerTwin",
    "LossTwin",
    "Problem",
    "best_device",
    "compare_clip",
    "compare_init",
    "compare_layer",
    "compare_layer_case",
    "compare_module_state",
    "compare_optimizer",
    "compare_optimizer_state",
    "compare_schedule",
    "compare_scheduler_state",
    "compare_state_case",
    "compare_state_dicts",
    "device_report",
    "import_torch",
    "least_squares",
    "main",
    "matrix_surfaces",
    "numpy_state_dict",
    "optimizer_cases",
    "plateau_metrics",
    "surface_problem",
    "torch_state_dict",
    "torch_twin",
]
