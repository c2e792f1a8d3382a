"""Measure how nnopt_lib answers bad input: a table-driven audit of the whole public API.

    python tools/audit_inputs.py                          # totals per module
    python tools/audit_inputs.py -v                       # + every case that is not "clear"
    python tools/audit_inputs.py --only nn,losses -v      # some modules only
    python tools/audit_inputs.py --fail-on obscure,garbage   # exit 1 if any remain (for CI)

Each case calls one public entry point with one bad (or borderline) input and, where torch
has the same API, makes the equivalent torch call. The outcome is classified:

clear          raised ValueError/TypeError/IndexError/RuntimeError/NotImplementedError (or a
               subclass) whose message names the argument or the bad value.
same-as-torch  raised an exception of the type torch raises, or accepted the input as torch
               does and returned the same result.
accepted       a legitimate input without a torch counterpart, handled correctly (e.g.
               ``n_samples=np.int64(50)``).
obscure        any other exception (AttributeError, ZeroDivisionError, KeyError, ...), or one
               whose message names neither the argument nor the value.
rejected       refused an input that must be accepted (torch accepts it, or the API
               documents it).
garbage        returned without error where torch raises or where there is no torch
               counterpart, returned a result different from torch's or non-finite, emitted
               a warning, or changed state before failing.
n/a            the entry point (or keyword) does not exist in this version of nnopt_lib.

"Names the argument or the value" is a heuristic (the argument's name, the value's repr,
its type, shape or dtype appear in the message); ``-v`` prints every message so a person can
judge. The exit status is 0 (it is a measurement) unless ``--fail-on`` says otherwise.

Run it against another checkout with ``PYTHONPATH=/path/to/checkout``; the first line says
which ``nnopt_lib`` was imported. torch is optional: without it, torch comparisons are
skipped and such cases are judged as if torch had no counterpart.

The cases live in ``tools/audit/``: ``optimizers.py`` (optim, schedules, clip),
``layers.py`` (init, nn, losses) and ``runs.py`` (surfaces, trajectory, training, data,
plots); the classification is ``tools/audit/core.py``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter, defaultdict

os.environ.setdefault("MPLBACKEND", "Agg")  # plots are drawn off screen
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the audit package

from audit import layers, optimizers, runs  # noqa: E402
from audit.core import CASES, CATEGORIES, T, Verdict, classify, use_torch  # noqa: E402

BUILDERS = {
    "optim": optimizers.optim_cases, "schedules": optimizers.schedules_cases,
    "clip": optimizers.clip_cases, "init": layers.init_cases, "nn": layers.nn_cases,
    "losses": layers.losses_cases, "surfaces": runs.surfaces_cases,
    "trajectory": runs.trajectory_cases, "training": runs.training_cases,
    "data": runs.data_cases, "plots": runs.plots_cases,
}
#: the order of the -v listing: what needs fixing first
LISTING_ORDER = ("garbage", "obscure", "rejected", "same-as-torch", "accepted", "n/a", "clear")


def totals_table(verdicts: list[Verdict], modules: list[str]) -> tuple[str, Counter]:
    """The table of counts per module and category, and the totals."""
    table: dict[str, Counter] = defaultdict(Counter)
    for verdict in verdicts:
        table[verdict.case.module][verdict.category] += 1
    width = max(len(m) for m in [*modules, "total"]) + 2

    def row(name: str, counts: Counter) -> str:
        measured = sum(counts.values()) - counts["n/a"]
        return f"{name:<{width}}{measured:>6}" + "".join(
            f"{counts[c]:>{len(c) + 2}}" for c in CATEGORIES)

    total: Counter = Counter()
    lines = [f"{'module':<{width}}{'cases':>6}" + "".join(f"{c:>{len(c) + 2}}" for c in CATEGORIES)]
    for module in modules:
        total.update(table[module])
        lines.append(row(module, table[module]))
    lines.append(row("total", total))
    return "\n".join(lines), total


def summary(verdicts: list[Verdict], total: Counter) -> str:
    """The totals as one sentence, in the words of issue 7."""
    measured = sum(total.values()) - total["n/a"]
    without_torch = sum(1 for v in verdicts if v.category == "garbage"
                        and (v.case.torch is None or not T))
    return (f"We tried {measured} bad inputs on the public API: {total['clear']} raised a clear "
            f"error, {total['same-as-torch']} did what torch does, {total['accepted']} were "
            f"legitimate and handled right, {total['obscure']} crashed with an obscure "
            f"message, {total['rejected']} refused a legitimate input and {total['garbage']} "
            f"returned garbage ({without_torch} of those with no torch counterpart); "
            f"{total['n/a']} cases were skipped (entry point not there).")


def listing(verdicts: list[Verdict], categories: tuple[str, ...]) -> str:
    """Every case of the given categories: entry point, input, what happened."""
    lines = []
    for category in categories:
        chosen = [v for v in verdicts if v.category == category]
        if chosen:
            lines.append(f"\n== {category} ({len(chosen)})")
            lines += [f"  [{v.case.module}] {v.case.entry}({v.case.what}): {v.detail}"
                      for v in sorted(chosen, key=lambda v: (v.case.module, v.case.entry))]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="list every case that is not 'clear' (-vv: every case)")
    parser.add_argument("--only", default="", help="comma-separated modules to audit")
    parser.add_argument("--fail-on", default="",
                        help="comma-separated categories (e.g. obscure,garbage): exit 1 if any")
    args = parser.parse_args(argv)
    fail_on = [c for c in args.fail_on.split(",") if c]
    if set(fail_on) - set(CATEGORIES):
        parser.error(f"unknown categories {sorted(set(fail_on) - set(CATEGORIES))}; "
                     f"choose from {', '.join(CATEGORIES)}")
    modules = [m for m in args.only.split(",") if m] or list(BUILDERS)
    if set(modules) - set(BUILDERS):
        parser.error(f"unknown modules {sorted(set(modules) - set(BUILDERS))}; "
                     f"choose from {', '.join(BUILDERS)}")

    try:
        import torch
    except ImportError:
        print("torch is not installed: no torch comparisons")
    else:
        torch.set_num_threads(1)  # a measurement, not a benchmark: leave the other cores be
        use_torch(torch)
    import nnopt_lib

    print(f"nnopt_lib from {os.path.dirname(nnopt_lib.__file__)}"
          + (f", torch {T.__version__}" if T else ""))
    started = time.perf_counter()
    CASES.clear()
    for module in modules:
        BUILDERS[module]()
    verdicts = [classify(c) for c in CASES]
    table, total = totals_table(verdicts, modules)
    print(table)
    print(f"\n{summary(verdicts, total)} ({time.perf_counter() - started:.1f} s)")
    if args.verbose:
        print(listing(verdicts, LISTING_ORDER[:-1] if args.verbose == 1 else LISTING_ORDER))
    return 1 if any(total[c] for c in fail_on) else 0


if __name__ == "__main__":
    sys.exit(main())
