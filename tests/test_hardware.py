"""nnopt_lib.hardware (NumPy measurements and models) and crosscheck.hardware (torch side)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nnopt_lib import hardware, nn, optim
from nnopt_lib.crosscheck import hardware as torch_hardware
from nnopt_lib.losses import CrossEntropyLoss


def test_models():
    assert hardware.roofline([0.1, 10.0, 1e4], peak=100.0, bandwidth=10.0).tolist() == [
        1.0, 100.0, 100.0]
    assert hardware.amdahl_speedup(0.0, 8) == 8 and hardware.amdahl_speedup(1.0, 8) == 1
    speed = hardware.amdahl_speedup(0.1, np.arange(1, 1000))
    assert speed[0] == 1 and np.all(np.diff(speed) > 0) and speed[-1] < 10
    assert hardware.pipeline_bubble(1, 5) == 0 and hardware.pipeline_bubble(4, 1) == 0.75
    assert hardware.pipeline_bubble(8, 8) == pytest.approx(7 / 15)
    with pytest.raises(ValueError, match="1.5"):
        hardware.amdahl_speedup(1.5, 2)
    with pytest.raises(ValueError, match="0"):
        hardware.pipeline_bubble(0, 2)


def test_measurements_are_positive_and_consistent():
    small, large = hardware.matmul_rate(8, repeats=2), hardware.matmul_rate(256, repeats=2)
    assert small["n"] == 8 and small["flops"] == pytest.approx(2 * 8**3 / small["seconds"])
    assert large["flops"] > small["flops"]  # overhead dominates an 8 x 8 product
    assert hardware.copy_bandwidth(8 * 2**20, repeats=2) > 1e8
    assert 0 < hardware.call_overhead(number=100, repeats=2) < 1e-3
    param, grad = np.zeros(10**5, np.float32), np.ones(10**5, np.float32)
    opt = optim.SGD([param], lr=0.1, momentum=0.9)
    r = hardware.optimizer_step_time(lambda: opt.step([grad]), 10**5, "sgd_momentum")
    assert r["bytes"] == 5 * 4 * 10**5
    assert r["bandwidth"] == pytest.approx(r["bytes"] / r["seconds"])
    with pytest.raises(ValueError, match="lamb"):
        hardware.optimizer_step_time(lambda: None, 10, "lamb")


def test_step_breakdown_trains_and_times_each_part():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 8)), rng.integers(0, 3, size=200)
    model = nn.mlp([8, 16, 3], rng=np.random.default_rng(0))
    before = model.state_dict()["0.weight"].copy()
    times = hardware.step_breakdown(model, CrossEntropyLoss(), optim.SGD(model.parameters(),
                                    lr=0.1), X, y, batch_size=32, steps=3, repeats=2)
    assert all(v > 0 for v in (times.data, times.forward, times.backward, times.optimizer))
    assert sum(times.fractions().values()) == pytest.approx(1.0)
    assert not np.array_equal(before, model.state_dict()["0.weight"])


def test_reference_file():
    ref = hardware.load_reference()
    assert ref["device"] == "NVIDIA H200"
    bf16 = dict(hardware.reference_matmul(ref, "bfloat16"))
    assert 700e12 < max(bf16.values()) < 800e12 and 4e12 < ref["d2d_copy_GBs_read_plus_write"] * 1e9
    assert {r["mode"] for r in ref["optimizer_step"]} == {"single", "foreach", "fused"}
    text = torch_hardware.format_measurement(ref)  # the printed table reads the reference too
    assert "NVIDIA H200" in text and "host -> device, pinned: 55.4 GB/s" in text


def test_format_helpers():
    assert hardware.format_rate(1.234e10, "FLOP/s") == "12.3 GFLOP/s"
    assert hardware.format_rate(12.0, "B/s") == "12 B/s"
    assert hardware.table([(1, "ab")], ["n", "x"]).splitlines() == ["n   x", "1  ab"]


def test_torch_measure_quick_on_the_cpu(tmp_path, capsys):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = torch_hardware.measure(quick=True, device="cpu")
    finally:
        torch.set_num_threads(threads)
    assert {r["dtype"] for r in result["matmul"]} == {"float32", "bfloat16"}
    assert result["d2d_copy_GBs_read_plus_write"] > 0 and result["tiny_op_us"] > 0
    modes = {(r["optimizer"], r["mode"]) for r in result["optimizer_step"]}
    assert ("Adam", "foreach") in modes and ("SGD", "single") in modes
    assert "h2d_pinned_GBs" not in result  # no host <-> device copies on a CPU
    assert "matrix product" in torch_hardware.format_measurement(result)


def test_cli_writes_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch_hardware, "measure", lambda quick: hardware.load_reference())
    path = tmp_path / "out.json"
    assert torch_hardware.main(["--quick", "--json", str(path)]) == 0
    assert "NVIDIA H200" in capsys.readouterr().out
    assert json.loads(path.read_text())["device"] == "NVIDIA H200"
