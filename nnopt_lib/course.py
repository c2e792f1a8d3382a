"""The course map: every planned lesson, in teaching order.

One source for the welcome notebook's map, the README's map (a test keeps them
equal) and the index page of `make html`. A lesson's notebook is
``notebooks/{number:02d}_{slug}.ipynb``.

Whether a lesson is published is recorded in the table (``ready=True``), not
looked up on disk: an installed copy of the package (Binder runs
``pip install .``, which copies ``nnopt_lib`` into site-packages) has no
``notebooks/`` folder beside it, so a file check would list every lesson as
planned. ``tests/test_repository.py`` checks that the ``ready`` flags match the
notebooks in the checkout, so a new lesson must register itself here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Lesson:
    """One lesson of the map; ``ready``: its notebook is published (else "planned")."""

    number: int
    slug: str
    title: str
    summary: str
    part: str
    ready: bool = field(default=False, kw_only=True)

    @property
    def filename(self) -> str:
        return f"{self.number:02d}_{self.slug}.ipynb"


_START = "Start here"
_PART_I = "Part I — From the gradient to Adam"
_PART_II = "Part II — Training deep networks"
_PART_III = "Part III — Searching for good settings"
_PART_IV = "Part IV — Hardware and scale"
_CAPSTONE = "Capstone"

LESSONS: tuple[Lesson, ...] = (
    Lesson(
        0,
        "welcome",
        "Welcome",
        "what the course is, how to run it, the sliders, the glossary",
        _START,
        ready=True,
    ),
    Lesson(
        1,
        "loss_and_gradients",
        "Loss functions and gradients",
        "MSE and cross-entropy, stable softmax, backpropagation, gradient checking at ReLU's kinks",
        _PART_I,
        ready=True,
    ),
    Lesson(
        2,
        "gradient_descent",
        "Gradient descent and the learning rate",
        "the stability threshold 2/L, the best step, condition number, convergence rate, saddles",
        _PART_I,
        ready=True,
    ),
    Lesson(
        3,
        "batch_stochastic_minibatch",
        "Batch, stochastic and minibatch gradient descent",
        "gradients as means of per-example gradients, variance σ²/B, cost vs progress",
        _PART_I,
        ready=True,
    ),
    Lesson(
        4,
        "momentum",
        "Momentum and Nesterov",
        "three momentum forms, Polyak's optimal rate, Nesterov, momentum on noisy minibatches",
        _PART_I,
        ready=True,
    ),
    Lesson(
        5,
        "adaptive_learning_rates",
        "Adaptive learning rates: AdaGrad, RMSprop, Adadelta",
        "per-coordinate steps, why AdaGrad wins on sparse features, rotated valleys, where ε goes",
        _PART_I,
        ready=True,
    ),
    Lesson(
        6,
        "adam_family",
        "Adam and its family",
        "bias correction, Adam under noise, AdamW vs L2 on a network, AMSGrad, NAdam, a fair race",
        _PART_I,
        ready=True,
    ),
    Lesson(
        7,
        "gradient_clipping",
        "Gradient clipping",
        "exploding gradients, clipping by value vs by global norm, the seeds' broken formulas",
        _PART_I,
        ready=True,
    ),
    Lesson(
        8,
        "lr_schedules",
        "Learning-rate schedules",
        "step, exponential, cosine, one-cycle, plateau; when warm-up is needed; the range test",
        _PART_I,
        ready=True,
    ),
    Lesson(
        9,
        "batch_size",
        "Batch size and the learning rate",
        "gradient noise trΣ/B, the linear scaling rule and where it breaks, critical batch size",
        _PART_II,
        ready=True,
    ),
    Lesson(
        10,
        "weight_initialisation",
        "Weight initialisation",
        "variance through depth, Xavier and He (the correct formulas), symmetry breaking",
        _PART_II,
        ready=True,
    ),
    Lesson(
        11,
        "activations",
        "Activation functions",
        "vanishing gradients measured, dead ReLUs counted, Leaky ReLU, ELU, GELU, SiLU",
        _PART_II,
        ready=True,
    ),
    Lesson(
        12,
        "weight_penalties",
        "L1 and L2 regularisation",
        "penalties vs weight decay, exact zeros from the proximal L1 step, decay groups",
        _PART_II,
        ready=True,
    ),
    Lesson(
        13,
        "dropout",
        "Dropout",
        "inverted dropout, train vs eval, weight scaling vs averaging many masks",
        _PART_II,
        ready=True,
    ),
    Lesson(
        14,
        "batch_norm",
        "Batch normalisation",
        "normalise, scale and shift; running statistics; larger learning rates; LayerNorm",
        _PART_II,
        ready=True,
    ),
    Lesson(
        15,
        "early_stopping",
        "Early stopping",
        "validation curves, patience, restoring the best weights, implicit L2",
        _PART_II,
        ready=True,
    ),
    Lesson(
        16,
        "hyperparameter_search",
        "Hyperparameter search",
        "grid vs random vs Bayesian optimisation vs Hyperband at one budget; Optuna",
        _PART_III,
        ready=True,
    ),
    Lesson(
        17,
        "architecture_search",
        "Architecture search",
        "manual design, random search and regularized evolution, cheap proxies, Pareto",
        _PART_III,
        ready=True,
    ),
    Lesson(
        18,
        "hardware_and_parallelism",
        "GPUs and parallelism",
        "FLOP/s, bandwidth and overhead measured; bfloat16 and loss scaling; parallelism, Amdahl",
        _PART_IV,
        ready=True,
    ),
    Lesson(
        19,
        "sparsity_and_quantization",
        "Sparsity and quantization",
        "magnitude pruning and fine-tuning, when sparse is faster, PTQ at 8/4/2 bits, QAT, int8",
        _PART_IV,
        ready=True,
    ),
    Lesson(
        20,
        "distillation",
        "Knowledge distillation",
        "Hinton's loss (temperature, T², α) from scratch; a student taught by soft targets",
        _PART_IV,
        ready=True,
    ),
    Lesson(
        21,
        "distributed_training",
        "Distributed training",
        "data parallelism and ring all-reduce from scratch, DDP on real processes, stale gradients",
        _PART_IV,
        ready=True,
    ),
    Lesson(
        22,
        "capstone_tuning",
        "Capstone: tuning a network end to end",
        "a baseline, then optimizer, schedule, normalisation, a searched lr, test spread",
        _CAPSTONE,
        ready=True,
    ),
)


def markdown_map(*, link_prefix: str = "") -> str:
    """The course map as Markdown, grouped by part, linking the ready lessons.

    Links are ``link_prefix + filename``, relative, so the same map works in the
    welcome notebook (``""``) and in the README (``"notebooks/"``).
    """
    lines: list[str] = []
    part = None
    for lesson in LESSONS:
        if lesson.part != part:
            part = lesson.part
            lines += ["", f"**{part}**", ""]
        name = f"{lesson.number:02d} · {lesson.title}"
        if lesson.ready:
            name = f"[{name}]({link_prefix}{lesson.filename})"
        else:
            name += " *(planned)*"
        lines.append(f"- {name} — {lesson.summary}")
    return "\n".join(lines).strip() + "\n"
