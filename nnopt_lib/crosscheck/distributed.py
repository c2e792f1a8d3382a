"""Data-parallel training on real processes: ``torch.distributed`` against the simulation.

:func:`compare_ddp` trains the torch twin of an :mod:`nnopt_lib.nn` model three ways, from
the same weights on the same global minibatches:

1. in nnopt_lib, with ``world_size`` simulated workers (:func:`nnopt_lib.parallel.
   data_parallel_step`: shard gradients, ring all-reduce, divide by the number of workers);
2. in torch, with ``world_size`` processes started by ``torch.multiprocessing`` that form a
   process group (gloo backend, TCP rendezvous on the loopback address 127.0.0.1 at a free
   port) and wrap the model in ``DistributedDataParallel``. Rank ``r`` trains on its shard
   of each global minibatch only; DDP all-reduces the gradients during ``backward`` and
   divides by the world size;
3. in torch, in one process, with no process group, on each whole global minibatch (the
   large-batch run; the rank-0 process does it after its DDP run, see ``_run_ddp``).

Every rank's parameters after every step, and the single-process run's, are compared with
run 1. This is the only module of the course that uses ``torch.distributed``. The worker,
:func:`ddp_worker`, is a module-level function so that the child processes (started by a
fork server, or by ``spawn`` where there is none) can import it; it writes its trajectory
to a file, which the parent reads.

A hang must fail, not block: the process group has a timeout (collectives raise after it)
and the parent kills the workers and raises ``TimeoutError`` after ``timeout`` seconds.

On several machines the training code stays the same; ``torchrun`` starts the processes
and sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``,
which ``init_process_group`` reads (its default ``init_method="env://"``) in place of our
explicit loopback address: ``torchrun --nnodes=2 --nproc-per-node=8 --rdzv-backend=c10d
--rdzv-endpoint=HOST:29500 train.py`` on each machine. On GPUs the backend is ``"nccl"``
and each process uses one GPU (``device_ids=[local_rank]``).

Li et al., "PyTorch Distributed: experiences on accelerating data parallel training",
VLDB 2020.
"""

from __future__ import annotations

import copy
import datetime
import multiprocessing
import os
import socket
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nnopt_lib import optim, parallel
from nnopt_lib.crosscheck.comparison import Comparison, _compare
from nnopt_lib.crosscheck.device import _torch

__all__ = ["DDP_CASES", "compare_ddp", "compare_ddp_case", "ddp_example", "ddp_group",
           "ddp_worker", "free_port", "run_ddp"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _flat_parameters(module: Any) -> np.ndarray:
    return np.concatenate([p.detach().cpu().double().numpy().ravel()
                           for p in module.parameters()])


def _check_run(model: Any, batches: Sequence[np.ndarray], world_size: int) -> None:
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size must be a positive integer, got {world_size!r}")
    for idx in batches:
        if len(idx) % world_size:
            raise ValueError(f"a global batch of {len(idx)} examples does not split into "
                             f"{world_size} equal shards (DDP then no longer equals the "
                             f"large batch)")
    if not hasattr(model, "state_dict"):
        raise TypeError(f"model must be an nnopt_lib.nn module, got {type(model).__name__}")


def ddp_worker(rank: int, world_size: int, port: int, model: Any, shards: Sequence[Any],
               sgd_options: dict[str, Any], dtype: str, out_dir: str, timeout: float) -> None:
    """One process of the DDP run (called by ``torch.multiprocessing.start_processes``).

    Joins the gloo process group at ``tcp://127.0.0.1:port`` as ``rank``, wraps the torch
    twin of the nnopt ``model`` in ``DistributedDataParallel``, trains it with
    ``torch.optim.SGD(**sgd_options)`` and cross-entropy on its own ``shards[step]``
    (``(X, y)`` pairs) and saves the flattened parameters before and after every step to
    ``out_dir/rank{rank}.npy``.
    """
    torch = _torch()
    torch.set_num_threads(1)  # the processes share the machine's cores
    dist = torch.distributed
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world_size,
                            timeout=datetime.timedelta(seconds=timeout))
    try:
        # _train returns only numbers: DDP and its reducer are gone before the group is
        # destroyed (a DDP object that outlives its process group can hang in its destructor)
        trajectory = _train(torch, model, shards, sgd_options, dtype)
        np.save(os.path.join(out_dir, f"rank{rank}.npy"), trajectory)
    finally:
        dist.destroy_process_group()


def _train(torch: Any, model: Any, shards: Sequence[Any], sgd_options: dict[str, Any],
           dtype: str) -> np.ndarray:
    from nnopt_lib.crosscheck.layers import torch_twin  # the same twin as everywhere else

    # DDP broadcasts rank 0's parameters and buffers at construction, so all ranks start
    # equal even if their models were not
    ddp = torch.nn.parallel.DistributedDataParallel(torch_twin(model, dtype=dtype))
    sgd = torch.optim.SGD(ddp.parameters(), **sgd_options)
    trajectory = [_flat_parameters(ddp.module)]
    for X, y in shards:
        sgd.zero_grad()
        loss = torch.nn.functional.cross_entropy(ddp(torch.from_numpy(X).to(
            getattr(torch, dtype))), torch.from_numpy(y))
        loss.backward()  # DDP's hooks all-reduce the gradients, bucket by bucket
        sgd.step()
        trajectory.append(_flat_parameters(ddp.module))
    return np.array(trajectory)


def run_ddp(model: Any, X: np.ndarray, y: np.ndarray, batches: Sequence[np.ndarray], *,
            world_size: int = 2, lr: float = 0.1, momentum: float = 0.0,
            dtype: str = "float64", timeout: float = 60.0) -> np.ndarray:
    """Train the torch twin of ``model`` with DDP on ``world_size`` local processes.

    ``batches`` are the global minibatches (index arrays into ``X``, ``y``); rank ``r`` gets
    the ``r``-th of ``world_size`` equal contiguous shards of each (:func:`nnopt_lib.parallel.
    shard`). Returns every rank's parameter trajectory, shape ``(world_size, steps + 1,
    n_parameters)``. ``TimeoutError`` if the processes have not finished after ``timeout``
    seconds (they are killed); a worker's exception is re-raised here. Called from a script,
    the call must sit under ``if __name__ == "__main__":``, as for any ``multiprocessing``
    start method other than fork (a notebook needs nothing).
    """
    return _run_ddp(model, X, y, batches, world_size, lr, momentum, dtype, timeout)[0]


def _run_ddp(model: Any, X: np.ndarray, y: np.ndarray, batches: Sequence[np.ndarray],
             world_size: int, lr: float, momentum: float, dtype: str, timeout: float,
             meanwhile: Callable[[], Any] | None = None, single: bool = False
             ) -> tuple[np.ndarray, np.ndarray | None, Any]:
    """:func:`run_ddp`'s trajectories; with ``single=True`` the single-process large-batch
    trajectory (else ``None``); and ``meanwhile()``'s result, which runs here while the
    workers start and train (on two cores or more the two overlap).

    The single-process run happens in the rank-0 process once its process group is gone:
    one process, whole batches, no DDP. There torch's first-use imports (``torch.optim``
    imports ``torch._dynamo``, 800 modules) are already paid, and this process, which only
    imported torch, does not pay for them again.
    """
    _check_run(model, batches, world_size)
    torch = _torch()
    per_rank = [[(X[s], y[s]) for s in (parallel.shard(idx, world_size)[rank]
                                        for idx in batches)] for rank in range(world_size)]
    with tempfile.TemporaryDirectory(prefix="nnopt_ddp_") as out_dir:
        deadline = time.monotonic() + timeout
        context = torch.multiprocessing.start_processes(
            _spawn_entry, args=(world_size, free_port(), model, per_rank,
                                (X, y, batches) if single else None,
                                {"lr": lr, "momentum": momentum}, dtype, out_dir, timeout),
            nprocs=world_size, join=False, start_method=_start_method())
        try:
            result = meanwhile() if meanwhile is not None else None
            while not context.join(timeout=0.2):  # raises if a worker failed
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the {world_size} DDP processes did not finish "
                                       f"within {timeout} s")
        finally:  # after a timeout, a failed worker or an error in meanwhile(): no orphans
            for process in context.processes:
                if process.is_alive():
                    process.kill()
                process.join()
        ranks = np.array([np.load(os.path.join(out_dir, f"rank{r}.npy"))
                          for r in range(world_size)])
        large_batch = np.load(os.path.join(out_dir, "single.npy")) if single else None
        return ranks, large_batch, result


def _start_method() -> str:
    """``"forkserver"`` where the OS has it (Linux, macOS), else ``"spawn"`` (Windows).

    Both start fresh interpreters that import this module, never a fork of a kernel that
    holds torch's threads. The fork server imports torch once (and ``torch._dynamo``, which
    ``DistributedDataParallel`` imports when it is built: 800 modules) and forks every
    worker from that clean process, so a run pays for these imports once, not per worker.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return "spawn"
    multiprocessing.set_forkserver_preload(["torch", "torch._dynamo", __name__])
    return "forkserver"


def _spawn_entry(rank: int, world_size: int, port: int, model: Any, per_rank: list,
                 reference: tuple[np.ndarray, np.ndarray, Sequence[np.ndarray]] | None,
                 sgd_options: dict[str, Any], dtype: str, out_dir: str, timeout: float) -> None:
    # each rank trains on its own shards (the others stay in the parent's pickle)
    ddp_worker(rank, world_size, port, model, per_rank[rank], sgd_options, dtype, out_dir,
               timeout)
    if rank == 0 and reference is not None:  # the single-process run, see _run_ddp
        X, y, batches = reference
        np.save(os.path.join(out_dir, "single.npy"),
                _torch_large_batch(model, X, y, batches, sgd_options["lr"],
                                   sgd_options["momentum"], dtype))


def _torch_large_batch(model: Any, X: np.ndarray, y: np.ndarray, batches: Sequence[np.ndarray],
                       lr: float, momentum: float, dtype: str) -> np.ndarray:
    torch = _torch()
    from nnopt_lib.crosscheck.layers import torch_twin

    twin = torch_twin(model, dtype=dtype)
    sgd = torch.optim.SGD(twin.parameters(), lr=lr, momentum=momentum)
    trajectory = [_flat_parameters(twin)]
    for idx in batches:
        sgd.zero_grad()
        torch.nn.functional.cross_entropy(
            twin(torch.from_numpy(X[idx]).to(getattr(torch, dtype))),
            torch.from_numpy(y[idx])).backward()
        sgd.step()
        trajectory.append(_flat_parameters(twin))
    return np.array(trajectory)


def _nnopt_data_parallel(model: Any, X: np.ndarray, y: np.ndarray,
                         batches: Sequence[np.ndarray], world_size: int, lr: float,
                         momentum: float) -> np.ndarray:
    from nnopt_lib.losses import CrossEntropyLoss

    ours = copy.deepcopy(model)
    sgd = optim.SGD(ours.parameters(), lr=lr, momentum=momentum)
    loss_fn = CrossEntropyLoss()
    trajectory = [parallel._flat(ours)]
    for idx in batches:
        parallel.data_parallel_step(ours, loss_fn, sgd, X[idx], y[idx], workers=world_size)
        trajectory.append(parallel._flat(ours))
    return np.array(trajectory)


def compare_ddp(model: Any, X: np.ndarray, y: np.ndarray, batches: Sequence[np.ndarray], *,
                world_size: int = 2, lr: float = 0.1, momentum: float = 0.0,
                dtype: str = "float64", timeout: float = 60.0) -> Comparison:
    """Every DDP rank and the single-process large-batch torch run against nnopt_lib's
    simulated data-parallel run, parameters after every step (see the module docstring).

    ``model`` is an :mod:`nnopt_lib.nn` classifier (left unchanged), trained with SGD
    (``lr``, ``momentum``) and cross-entropy on the global minibatches ``batches``. Items are
    labelled ``"rank r, step t"`` and ``"single process, step t"``; ``final`` holds the nnopt
    trajectory and the torch trajectories ``(ranks, single)``.
    """
    ranks, single, ours = _run_ddp(
        model, X, y, batches, world_size, lr, momentum, dtype, timeout, single=True,
        meanwhile=lambda: _nnopt_data_parallel(model, X, y, batches, world_size, lr, momentum))
    theirs = np.concatenate([*ranks, single])
    steps = len(ours)
    labels = [f"rank {r}, step {t}" for r in range(world_size) for t in range(steps)]
    labels += [f"single process, step {t}" for t in range(steps)]
    return _compare(f"DDP on {world_size} gloo processes and the single-process large batch "
                    f"vs nnopt data-parallel SGD(lr={lr}, momentum={momentum})",
                    np.tile(ours, (world_size + 1, 1)), theirs, device="cpu", dtype=dtype,
                    unit="item", labels=labels, final=(ours, (ranks, single)))


#: The matrix's DDP cases (``tests/test_distributed.py`` runs the same ones): two and three
#: processes, plain SGD and SGD with momentum.
DDP_CASES: list[dict[str, Any]] = [{"world_size": 2, "lr": 0.1},
                                   {"world_size": 3, "lr": 0.05, "momentum": 0.9}]


def ddp_example(*, steps: int = 4, batch_size: int = 48, seed: int = 0
                ) -> tuple[Any, np.ndarray, np.ndarray, list[np.ndarray]]:
    """``(model, X, y, batches)``: a 64-32-10 MLP and ``steps`` global minibatches of the
    standardised digits, the problem of :data:`DDP_CASES` (``batch_size`` divisible by 2, 3
    and 4)."""
    from nnopt_lib import data, nn

    digits = data.load_digits()
    X = data.standardize(digits.X, digits.X)[0]
    rng = np.random.default_rng(seed)
    batches = [rng.permutation(len(X))[:batch_size] for _ in range(steps)]
    return nn.mlp([64, 32, 10], rng=rng), X, digits.y, batches


def compare_ddp_case(options: dict[str, Any], *, dtype: str = "float64") -> Comparison:
    """Run one case of :data:`DDP_CASES` on :func:`ddp_example`."""
    return compare_ddp(*ddp_example(), **options, dtype=dtype)


def ddp_group(dtype: str) -> tuple[str, list[Any]]:
    """The matrix group: every case of :data:`DDP_CASES` (real processes, gloo)."""
    return "distributed (DDP)", [lambda o=o: compare_ddp_case(o, dtype=dtype)
                                 for o in DDP_CASES]
