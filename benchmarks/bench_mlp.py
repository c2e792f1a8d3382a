"""Speed of one training epoch: nnopt_lib's numpy MLP versus the same MLP in PyTorch (CPU).

Workload: an MLP 64-128-128-10 with ReLU on the 1797 digits (standardised), cross-entropy,
minibatches of 32 (57 steps, the last one of 5 rows), SGD(lr=0.05, momentum=0.9).
Both sides use float64 (the course's dtype; ``--dtype float32`` builds both in float32), the same
initial weights, the same minibatch order and the same number of threads (``--threads``,
default 1: numpy's OpenBLAS via environment variables set before numpy is imported, torch via
``torch.set_num_threads``). Each side's step is the plain loop a notebook writes:
forward, loss, backward, optimizer step. The two sides are timed alternately in the same
process, after warm-up epochs, and the medians are compared. ``nnopt_lib.training.fit``
(which adds per-step gradient norms and history bookkeeping) is timed as well.

Run: ``.venv/bin/python benchmarks/bench_mlp.py [--repeats 15] [--threads 1]``.
The issue this answers asks for ratio nnopt/torch <= 1 for the plain loop.
"""

import argparse
import os

_parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_parser.add_argument("--repeats", type=int, default=15, help="timed epochs per side")
_parser.add_argument("--threads", type=int, default=1, help="BLAS/torch threads for both")
_parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
ARGS = _parser.parse_args()
# Must happen before numpy (OpenBLAS) starts its thread pool.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from nnopt_lib import crosscheck, data, losses, nn, optim, training  # noqa: E402

SIZES = (64, 128, 128, 10)
BATCH_SIZE = 32
SGD_OPTIONS = {"lr": 0.05, "momentum": 0.9}


def build_nnopt(seed: int = 0) -> nn.Sequential:
    return nn.mlp(SIZES, "relu", rng=np.random.default_rng(seed), dtype=ARGS.dtype)


def nnopt_epoch(model, loss_fn, opt, X, y, batches) -> float:
    for idx in batches:
        loss = loss_fn.forward(model.forward(X[idx]), y[idx])
        model.backward(loss_fn.backward())
        opt.step(model.gradients())
    return loss


def torch_epoch(model, opt, X, y, batches) -> float:
    for idx in batches:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
        loss.backward()
        opt.step()
    return loss.item()


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    torch.set_num_threads(ARGS.threads)
    digits = data.load_digits()
    X, _ = data.standardize(digits.X, digits.X)
    X = X.astype(ARGS.dtype)
    y = digits.y
    batches = list(data.iterate_minibatches(len(X), batch_size=BATCH_SIZE, seed=0))
    torch_batches = [torch.from_numpy(idx) for idx in batches]
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)

    model = build_nnopt()
    torch_model = crosscheck.torch_twin(model, dtype=ARGS.dtype)
    loss_fn = losses.CrossEntropyLoss()
    opt = optim.SGD(model.parameters(), **SGD_OPTIONS)
    torch_opt = torch.optim.SGD(torch_model.parameters(), **SGD_OPTIONS)
    fit_model = build_nnopt()
    fit_opt = optim.SGD(fit_model.parameters(), **SGD_OPTIONS)

    # Same weights, same batches: the first epoch's losses must agree before timing means
    # anything.
    first = nnopt_epoch(model, loss_fn, opt, X, y, batches)
    first_torch = torch_epoch(torch_model, torch_opt, X_t, y_t, torch_batches)
    tolerance = 1e-10 if ARGS.dtype == "float64" else 1e-5
    assert abs(first - first_torch) < tolerance, (first, first_torch)

    def run_nnopt():
        nnopt_epoch(model, loss_fn, opt, X, y, batches)

    def run_torch():
        torch_epoch(torch_model, torch_opt, X_t, y_t, torch_batches)

    def run_fit():
        training.fit(
            fit_model, loss_fn, fit_opt, X, y, epochs=1, batch_size=BATCH_SIZE, progress=False
        )

    for _ in range(3):  # warm-up: allocator, BLAS and autograd caches
        run_nnopt(), run_torch(), run_fit()
    times = {"nnopt": [], "torch": [], "fit": []}
    for _ in range(ARGS.repeats):  # alternate so that machine noise hits both sides
        times["nnopt"].append(seconds(run_nnopt))
        times["torch"].append(seconds(run_torch))
        times["fit"].append(seconds(run_fit))
    median = {name: statistics.median(values) for name, values in times.items()}

    steps = len(batches)
    print(
        f"MLP {'-'.join(map(str, SIZES))} ReLU, digits {X.shape}, batch {BATCH_SIZE} "
        f"({steps} steps/epoch), SGD{SGD_OPTIONS}, {ARGS.dtype}, {ARGS.threads} thread(s), "
        f"torch {torch.__version__}, numpy {np.__version__}"
    )
    print(f"median of {ARGS.repeats} epochs each (first-epoch losses agree to {tolerance:g}):")
    for name, label in [
        ("nnopt", "nnopt_lib plain loop"),
        ("torch", "torch plain loop"),
        ("fit", "nnopt_lib training.fit"),
    ]:
        per_step = median[name] / steps * 1e6
        print(f"  {label:24s} {median[name] * 1e3:8.2f} ms/epoch  {per_step:7.1f} us/step")
    print(f"ratio nnopt/torch (plain loop): {median['nnopt'] / median['torch']:.2f}")
    print(f"ratio fit/torch:                {median['fit'] / median['torch']:.2f}")


if __name__ == "__main__":
    main()
