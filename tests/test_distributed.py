"""Real data-parallel training: torch.distributed (gloo, local processes) and DDP against the
nnopt simulation. Every run has a timeout, so a hang fails the test instead of blocking CI."""

from __future__ import annotations

import time

import numpy as np
import pytest

torch = pytest.importorskip("torch", exc_type=ImportError)  # missing, or blocked on purpose
if not torch.distributed.is_available():
    pytest.skip("this torch build has no torch.distributed", allow_module_level=True)

from nnopt_lib.crosscheck import distributed  # noqa: E402  (after the skip)

TIMEOUT = 120.0  # seconds per run; a few on an idle machine, where importing torch dominates


@pytest.mark.parametrize("options", distributed.DDP_CASES,
                         ids=lambda o: f"{o['world_size']}procs")
def test_ddp_equals_the_large_batch_and_the_simulation(options):
    comparison = distributed.compare_ddp_case({**options, "timeout": TIMEOUT}).assert_ok()
    ours, (ranks, single) = comparison.final
    assert ranks.shape == (options["world_size"], *ours.shape)
    assert all(np.array_equal(rank, ranks[0]) for rank in ranks)  # replicas stay identical
    assert not np.allclose(ours[-1], ours[0])  # the parameters did move
    assert comparison.labels[-1] == f"single process, step {len(single) - 1}"


def test_shards_that_do_not_split_evenly_are_refused_before_any_process_starts():
    model, X, y, batches = distributed.ddp_example(batch_size=10)
    with pytest.raises(ValueError, match="10 examples"):
        distributed.run_ddp(model, X, y, batches, world_size=3)
    with pytest.raises(ValueError, match="world_size"):
        distributed.run_ddp(model, X, y, batches, world_size=0)


def hanging_worker(rank, *args):
    """A worker that never finishes (module level: the worker processes import it)."""
    time.sleep(600)


def test_a_run_that_does_not_finish_in_time_is_killed_and_raises(monkeypatch):
    monkeypatch.setattr(distributed, "_spawn_entry", hanging_worker)
    model, X, y, batches = distributed.ddp_example(steps=1)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="did not finish within 2.0 s"):
        distributed.run_ddp(model, X, y, batches, world_size=2, timeout=2.0)
    assert time.monotonic() - started < 30  # killed, not waited for


def test_free_port_is_a_loopback_port():
    port = distributed.free_port()
    assert 1024 <= port < 65536
