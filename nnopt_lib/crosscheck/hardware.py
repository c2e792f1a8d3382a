"""The torch side of lesson 18: what a training step costs on the best device.

:func:`measure` times, on :func:`~nnopt_lib.crosscheck.device.best_device` (CUDA, else MPS,
else CPU), the pieces of a training step: matrix products per dtype, a device-to-device copy,
host <-> device copies (GPUs only), torch's Adam and SGD-with-momentum steps in their three
implementations (``foreach=False``, ``foreach=True``, ``fused=True``), and one tiny operation.
It returns a dict with the keys of ``nnopt_lib/data_files/h200_reference.json``, so a
measurement can be put next to the course team's H200 numbers. On a GPU the timing uses CUDA
events; elsewhere ``time.perf_counter``. Every number is the median of several runs after a
warm-up.

``python -m nnopt_lib.crosscheck.hardware`` prints the full table (``--quick``: small sizes,
a few seconds on a CPU; ``--json PATH`` also writes the numbers).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from nnopt_lib.crosscheck.device import _device_name, _torch, best_device
from nnopt_lib.hardware import BYTES_PER_PARAM_STEP, table

__all__ = ["format_measurement", "main", "measure", "time_op"]


def time_op(fn: Callable[[], Any], device: Any, *, repeats: int = 10, number: int = 1
            ) -> float:
    """Median seconds of one call of ``fn`` on ``device`` (``number`` calls per timing)."""
    torch = _torch()
    fn()  # warm-up: kernels chosen, memory allocated
    cuda = device.type == "cuda"
    samples = []
    for _ in range(repeats):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(number):
                fn()
            end.record()
            torch.cuda.synchronize()
            samples.append(start.elapsed_time(end) / 1e3 / number)
        else:
            if device.type == "mps":
                torch.mps.synchronize()
            began = time.perf_counter()
            for _ in range(number):
                fn()
            if device.type == "mps":
                torch.mps.synchronize()
            samples.append((time.perf_counter() - began) / number)
    return float(statistics.median(samples))


def _matmul_rows(torch: Any, device: Any, sizes: Sequence[int], dtypes: Sequence[str]
                 ) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        for name in dtypes:
            dtype = torch.float32 if name in ("float32", "tf32") else getattr(torch, name)
            a = torch.rand(n, n, device=device).to(dtype)
            b = torch.rand(n, n, device=device).to(dtype)
            previous = torch.backends.cuda.matmul.allow_tf32
            torch.backends.cuda.matmul.allow_tf32 = name == "tf32"
            try:
                number = max(1, int(2e8 // n**3)) if device.type != "cpu" else 1
                seconds = time_op(lambda a=a, b=b: a @ b, device, repeats=5, number=number)
            finally:
                torch.backends.cuda.matmul.allow_tf32 = previous
            rows.append({"n": n, "dtype": name, "ms": seconds * 1e3,
                         "TFLOPs": 2 * n**3 / seconds / 1e12})
    return rows


def _optimizer_rows(torch: Any, device: Any, sizes: Sequence[int]) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        for name, kind, options in (("Adam", "adam", {"lr": 1e-3}),
                                    ("SGD", "sgd_momentum", {"lr": 1e-3, "momentum": 0.9})):
            for mode, switch in (("single", {"foreach": False}), ("foreach", {"foreach": True}),
                                 ("fused", {"fused": True})):
                param = torch.zeros(n, device=device, requires_grad=True)
                param.grad = torch.full((n,), 1e-3, device=device)
                try:
                    opt = getattr(torch.optim, name)([param], **options, **switch)
                    seconds = time_op(opt.step, device, repeats=5)
                except (RuntimeError, NotImplementedError):
                    continue  # this torch has no such implementation on this device
                nbytes = BYTES_PER_PARAM_STEP[kind] * 4 * n
                rows.append({"optimizer": name, "mode": mode, "params": n,
                             "ms": seconds * 1e3, "GBs_effective": nbytes / seconds / 1e9})
    return rows


def measure(*, quick: bool = False, device: Any = None) -> dict[str, Any]:
    """Time the pieces of a training step on ``device`` (default: the best one).

    ``quick=True`` keeps every size small (a few seconds on a 2-core CPU), for the lesson;
    the full run (the default) uses the sizes of the H200 reference on a GPU.
    """
    torch = _torch()
    device = best_device() if device is None else torch.device(device)
    gpu = device.type != "cpu"
    if gpu and not quick:
        sizes, opt_sizes, copy_elems = (256, 1024, 4096, 8192), (10**7, 10**8), 2**28
    elif gpu:
        sizes, opt_sizes, copy_elems = (1024, 4096), (10**7,), 2**26
    elif quick:
        sizes, opt_sizes, copy_elems = (128, 512), (2 * 10**6,), 2**23
    else:
        sizes, opt_sizes, copy_elems = (256, 1024, 2048), (10**7,), 2**25
    dtypes = (["float32", "tf32", "bfloat16", "float16"] if device.type == "cuda"
              else ["float32", "bfloat16"])
    result: dict[str, Any] = {"device": _device_name(device), "torch": torch.__version__,
                              "matmul": _matmul_rows(torch, device, sizes, dtypes)}

    src = torch.ones(copy_elems, device=device)
    dst = torch.empty_like(src)
    seconds = time_op(lambda: dst.copy_(src), device)
    result["d2d_copy_GBs_read_plus_write"] = 2 * src.numel() * 4 / seconds / 1e9
    if device.type == "cuda":
        host = torch.ones(copy_elems // 4)
        pinned = host.pin_memory()
        back = torch.empty_like(pinned).pin_memory()
        on_device = host.to(device)
        nbytes = host.numel() * 4
        result["h2d_pageable_GBs"] = nbytes / time_op(lambda: host.to(device), device) / 1e9
        result["h2d_pinned_GBs"] = nbytes / time_op(
            lambda: on_device.copy_(pinned, non_blocking=True), device) / 1e9
        result["d2h_pinned_GBs"] = nbytes / time_op(
            lambda: back.copy_(on_device, non_blocking=True), device) / 1e9
    result["optimizer_step"] = _optimizer_rows(torch, device, opt_sizes)
    tiny = torch.ones(8, device=device)
    result["tiny_op_us"] = time_op(lambda: tiny + tiny, device, number=100) * 1e6
    return result


def format_measurement(result: dict[str, Any]) -> str:
    """The tables of a :func:`measure` result (or of the H200 reference) as text."""
    lines = [f"{result['device']}, PyTorch {result['torch']}", "", "matrix product n x n x n:"]
    lines.append(table([(r["n"], r["dtype"], f"{r['ms']:.3f} ms", f"{r['TFLOPs']:.3g}")
                        for r in result["matmul"]], ["n", "dtype", "time", "TFLOP/s"]))
    lines += ["", f"device copy: {result['d2d_copy_GBs_read_plus_write']:.4g} GB/s "
              "(read + write)"]
    for key, label in (("h2d_pageable_GBs", "host -> device, pageable"),
                       ("h2d_pinned_GBs", "host -> device, pinned"),
                       ("d2h_pinned_GBs", "device -> host, pinned")):
        if key in result:
            lines.append(f"{label}: {result[key]:.3g} GB/s")
    lines += ["", "optimizer step (float32; effective GB/s counts 7 arrays for Adam, 5 for "
              "SGD with momentum):"]
    lines.append(table([(r["optimizer"], r["mode"], f"{r['params']:,}", f"{r['ms']:.3f} ms",
                         f"{r['GBs_effective']:.4g}") for r in result["optimizer_step"]],
                       ["optimizer", "mode", "params", "time", "GB/s"]))
    lines += ["", f"one tiny op (8 elements): {result['tiny_op_us']:.2f} µs"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure on the best device and print the tables; 1 without torch."""
    parser = argparse.ArgumentParser(prog="python -m nnopt_lib.crosscheck.hardware",
                                     description="Time the pieces of a training step on the "
                                     "best device (CUDA, else MPS, else CPU).")
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds on a CPU)")
    parser.add_argument("--json", metavar="PATH", help="also write the numbers to PATH")
    args = parser.parse_args(argv)
    from nnopt_lib.crosscheck.device import import_torch
    if import_torch() is None:
        return 1
    result = measure(quick=args.quick)
    print(format_measurement(result))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
