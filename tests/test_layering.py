"""Layering of nnopt_lib, read from its source: who may import what, and what must be declared.

* torch is imported only inside ``nnopt_lib/crosscheck/`` (lazily), so every from-scratch
  lesson runs without it; ipywidgets only inside ``nnopt_lib/widgets/``.
* Every third-party module the library imports is a declared dependency in pyproject.toml, so
  ``pip install .`` (how Binder installs) gives a working library.

The source checks walk the AST of every module, including imports inside functions and
``importlib.import_module("...")`` calls with a literal name, so a lazy import counts too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "nnopt_lib"
MODULE_FILES = sorted(LIBRARY.rglob("*.py"))

# Import name -> distribution name on PyPI, where they differ.
DISTRIBUTION = {"PIL": "pillow", "yaml": "pyyaml", "sklearn": "scikit-learn"}

# Third-party module -> the only package of nnopt_lib allowed to import it.
CONFINED = {"torch": "crosscheck", "ipywidgets": "widgets"}


def imported_modules(source: str) -> Iterator[tuple[str, int]]:
    """(absolute module name, line) of every import in ``source``, at any depth."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, node.lineno
        elif (
            isinstance(node, ast.Call)
            and _called_name(node.func) in {"importlib.import_module", "import_module",
                                            "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value, node.lineno


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}"
    return ""


def third_party_imports() -> dict[str, list[str]]:
    """Top-level third-party module -> ["nnopt_lib/x.py:line", ...] where it is imported."""
    found: dict[str, list[str]] = {}
    for path in MODULE_FILES:
        for module, line in imported_modules(path.read_text(encoding="utf-8")):
            top = module.partition(".")[0]
            if top in sys.stdlib_module_names or top in {"__future__", "nnopt_lib"}:
                continue
            found.setdefault(top, []).append(f"{path.relative_to(ROOT)}:{line}")
    return found


def declared_dependencies() -> set[str]:
    """Required dependencies, plus the optional torch extra (imported by crosscheck only)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["torch"]
    return {Requirement(spec).name.lower() for spec in specs}


# ------------------------------------------------------------------------------ the walker


def test_the_walker_sees_every_kind_of_import():
    source = (
        "import numpy as np, os.path\n"
        "from PIL import Image\n"
        "from . import optim\n"
        "def lazy():\n"
        "    import torch.nn\n"
        "    importlib.import_module('ipywidgets')\n"
        "    return __import__('yaml')\n"
    )
    assert sorted(name for name, _ in imported_modules(source)) == [
        "PIL", "ipywidgets", "numpy", "os.path", "torch.nn", "yaml"]


# ------------------------------------------------------------------------------ layering


@pytest.mark.parametrize("module", sorted(CONFINED))
def test_confined_modules_are_imported_only_in_their_package(module):
    allowed = LIBRARY / CONFINED[module]
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in MODULE_FILES
        if allowed not in path.parents
        for name, line in imported_modules(path.read_text(encoding="utf-8"))
        if name.partition(".")[0] == module
    ]
    assert not offenders, (
        f"{module} may be imported only in nnopt_lib/{CONFINED[module]}/, found in: "
        + ", ".join(offenders)
    )


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_importing_the_whole_library_loads_neither_torch_nor_ipywidgets_early():
    """At run time too: no module pulls torch in on import (crosscheck imports it lazily),
    and only the widgets package pulls in ipywidgets. (Module names come from the files:
    pkgutil.walk_packages would itself import the widgets package to look inside it.)"""
    names = [module_name(path) for path in MODULE_FILES if path.stem != "__main__"]
    outside_widgets = [name for name in names if not name.startswith("nnopt_lib.widgets")]
    script = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
early = [m for m in ("torch", "ipywidgets") if m in sys.modules]
assert not early, f"importing nnopt_lib (without widgets) loaded {early}"
import nnopt_lib.widgets
assert "torch" not in sys.modules, "importing nnopt_lib.widgets loaded torch"
"""
    result = subprocess.run([sys.executable, "-c", script, *outside_widgets],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(outside_widgets) > 10  # it really walked the library


# ------------------------------------------------------------------------------ dependencies


def test_every_third_party_import_is_a_declared_dependency():
    declared = declared_dependencies()
    missing = {
        module: places
        for module, places in third_party_imports().items()
        if DISTRIBUTION.get(module, module).lower() not in declared
    }
    assert not missing, (
        "nnopt_lib imports modules that pyproject.toml does not declare (add them to "
        "[project] dependencies, requirements.txt and both environment.yml files): "
        + "; ".join(f"{m} ({', '.join(p)})" for m, p in sorted(missing.items()))
    )


def test_the_library_imports_what_we_expect():
    """Keeps the dependency check honest: it must see the direct imports we know about."""
    found = third_party_imports()
    for module in ("numpy", "matplotlib", "ipywidgets", "PIL", "traitlets", "torch"):
        assert module in found, f"the walker no longer sees nnopt_lib import {module}"
