"""Whether the torch checks can run, and where: lazy torch, the device, the dtype, the report.

Nothing here imports torch when the module is imported: the lessons' from-scratch cells must
run in a kernel without PyTorch (or with a broken install), and a torch-free kernel is about
300 MB lighter. :func:`import_torch` is what a notebook's "check against PyTorch" cell calls;
the compare functions get torch from :func:`_torch`, which raises a clear ``ImportError``.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from nnopt_lib.crosscheck.comparison import TOLERANCES

if TYPE_CHECKING:
    import torch

#: The PyTorch the course is tested with (the pin in requirements.txt; a test keeps them equal).
TORCH_REQUIREMENT = "torch==2.13.0"
_HOW_TO_INSTALL = f"install it with `pip install {TORCH_REQUIREMENT}` (or `make lab` in a checkout)"


def _load_torch() -> tuple[ModuleType | None, BaseException | None]:
    """``(torch, None)``, or ``(None, the error)`` when this interpreter cannot import torch."""
    try:
        import torch
    except Exception as error:  # not only ImportError: see below
        # A broken install fails in other ways: OSError for a missing shared library
        # (libcudart, libgomp), RuntimeError or AttributeError for mixed versions. Every one
        # of them means the same thing to a lesson: no torch here, skip the torch cells.
        return None, error
    return torch, None


def _reason(error: BaseException) -> str:
    """Why torch is unavailable, briefly and on one line."""
    if isinstance(error, ModuleNotFoundError) and str(error) == "No module named 'torch'":
        return "not installed"
    first_line = (str(error).strip().splitlines() or [""])[0]
    if len(first_line) > 100:
        first_line = first_line[:97] + "..."
    return f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__


def import_torch() -> ModuleType | None:
    """The ``torch`` module, or ``None`` after printing one line on why and how to install it.

    For the "check against PyTorch" cells of the lessons::

        torch = crosscheck.import_torch()
        if torch is not None:
            ...  # the comparison

    Without torch (not installed, or an install that fails to import) the line says that
    PyTorch is not available in this kernel, so the torch checks are skipped, and how to
    install it: ``pip install torch==2.13.0`` or ``make lab``.
    """
    torch, error = _load_torch()
    if torch is None:
        print(f"PyTorch is not available in this kernel ({_reason(error)}), so the torch "
              f"checks are skipped; {_HOW_TO_INSTALL}.")
    return torch


def _torch() -> ModuleType:
    """``torch`` for the compare functions; ``ImportError`` saying how to install it if missing."""
    torch, error = _load_torch()
    if torch is None:
        raise ImportError(f"the nnopt-vs-torch comparisons need PyTorch, which this kernel "
                          f"cannot import ({_reason(error)}); {_HOW_TO_INSTALL}") from error
    return torch


def best_device() -> torch.device:
    """CUDA if available, else Apple's MPS, else the CPU (``ImportError`` without torch)."""
    torch = _torch()
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _device_name(device: torch.device) -> str:
    torch = _torch()
    if device.type == "cuda":
        return f"CUDA GPU {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({platform.machine() or 'unknown'}, {torch.get_num_threads()} threads)"


def _check_dtype(dtype: str) -> None:
    if dtype not in TOLERANCES:
        raise ValueError(f"Invalid dtype: {dtype!r} (choose 'float64' or 'float32')")


def _resolve_dtype(dtype: str, device: torch.device) -> tuple[str, torch.dtype]:
    """The dtype the comparison really uses on ``device`` (by name) and as a torch dtype."""
    _check_dtype(dtype)
    if dtype == "float64" and device.type == "mps":
        dtype = "float32"  # MPS has no float64
    return dtype, getattr(_torch(), dtype)


@contextlib.contextmanager
def _default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Temporarily set torch's default dtype.

    Some torch optimizers keep scalars of their state in the *default* dtype (NAdam's
    ``mu_product`` and ``step``): with the float32 default, a float64 run would still round
    those to float32 and drift from the float64 reference by ~1e-10.
    """
    torch = _torch()
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def device_report(*, dtype: str = "float64") -> str:
    """One line: the device the checks run on, the torch version and the dtype used.

    Without torch it still answers (the from-scratch code needs only NumPy): it names the
    NumPy version, why torch is unavailable, and how to install it.
    """
    _check_dtype(dtype)
    torch, error = _load_torch()
    if torch is None:
        return (f"NumPy {np.__version__} only: PyTorch is not available in this kernel "
                f"({_reason(error)}), so no torch comparisons run; {_HOW_TO_INSTALL}")
    device = best_device()
    used, _ = _resolve_dtype(dtype, device)
    note = f"{used} comparisons (relative tolerance {TOLERANCES[used]:.0e})"
    if used != dtype:
        note = f"MPS has no {dtype}, so {note}"
    return f"PyTorch {torch.__version__} on {_device_name(device)} [{device}]; {note}"
