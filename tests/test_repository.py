"""Repository checks: the environment files agree, notebooks are clean, the course map is whole.

Binder cannot be built here, so agreement with requirements.txt is what keeps it from drifting.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from nnopt_lib.course import LESSONS, markdown_map

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
sys.path.insert(0, str(ROOT / "tools"))
import notebooks as notebook_tool  # noqa: E402

# What a learner's kernel needs; the rest of requirements.txt is for tests and authoring.
RUNTIME = {
    "torch",
    "numpy",
    "matplotlib",
    "ipywidgets",
    "pillow",
    "traitlets",
    "tqdm",
    "jupyterlab",
    "ipykernel",
    "nbconvert",
    "mnist1d",
    "scipy",
    "requests",
    # Optuna (the search lesson runs it) and the dependencies of it that are pinned
    "optuna",
    "sqlalchemy",
    "alembic",
    "mako",
    "colorlog",
}
# PyPI name -> conda-forge name, where they differ.
CONDA_NAME = {"torch": "pytorch"}
BINDER_NAME = {"torch": "pytorch-cpu"}
# Not on conda-forge: both environment.yml files install these through their pip section,
# pinned as in requirements.txt (their own dependencies are conda packages there).
PIP_ONLY = {"mnist1d"}


def pinned_requirements() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements.txt: {line!r} is not an exact pin (name==version)"
            pins[name.lower()] = version
    return pins


def conda_dependencies(path: Path) -> tuple[dict[str, str], list]:
    env = yaml.safe_load(path.read_text())
    versions, pip_section = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip_section = dep["pip"]
            continue
        name, _, version = dep.partition("=")
        versions[name] = version
    return versions, pip_section


def test_requirements_pin_torch_to_the_local_cpu_wheel_version():
    assert pinned_requirements()["torch"] == "2.13.0"


def check_pip_only(pip_section: list, pins: dict[str, str], where: str) -> None:
    """Each PIP_ONLY package is in the pip section at its pin (and nothing else is but
    ``-e .``, so conda, not pip, provides every other package)."""
    lines = [line for line in pip_section if not line.startswith("-e ")]
    assert sorted(lines) == sorted(f"{name}=={pins[name]}" for name in PIP_ONLY), (
        f"{where}: the pip section must hold exactly "
        + ", ".join(f"{name}=={pins[name]}" for name in sorted(PIP_ONLY))
        + f"; it has {lines}"
    )


def test_environment_yml_has_every_pin_at_the_same_version():
    versions, pip_section = conda_dependencies(ROOT / "environment.yml")
    assert versions["python"] == "3.11"
    pins = pinned_requirements()
    check_pip_only(pip_section, pins, "environment.yml")
    for name, version in pins.items():
        if name in PIP_ONLY:
            assert name not in versions, f"environment.yml: {name} comes from pip, not conda"
            continue
        conda = CONDA_NAME.get(name, name)
        assert versions.get(conda) == version, (
            f"environment.yml: {conda}={versions.get(conda)}, pin {version}"
        )
    assert "-e ." in pip_section, "environment.yml must install nnopt_lib through its pip section"
    # conda hands the pip section to `pip install -r`, which accepts only requirement lines
    # and a few options (`--no-deps`, for one, is refused there).
    for line in pip_section:
        if not line.startswith("-e "):
            Requirement(line)


def test_binder_has_the_runtime_pins_and_a_cpu_torch():
    versions, pip_section = conda_dependencies(ROOT / "binder" / "environment.yml")
    assert versions["python"] == "3.11"
    pins = pinned_requirements()
    # postBuild installs nnopt_lib itself (with --no-deps), so no "-e ." here
    assert not any(line.startswith("-e ") for line in pip_section)
    check_pip_only(pip_section, pins, "binder/environment.yml")
    for line in pip_section:
        Requirement(line)
    for name in RUNTIME - PIP_ONLY:
        conda = BINDER_NAME.get(name, name)
        assert versions.get(conda) == pins[name], (
            f"binder: {conda}={versions.get(conda)}, pin {pins[name]}"
        )
    assert "pytorch" not in versions, "binder must use pytorch-cpu (the GPU build is several GB)"


def test_binder_scripts():
    post_build = (ROOT / "binder" / "postBuild").read_text()
    start = (ROOT / "binder" / "start").read_text()
    assert "set -e" in post_build and "--no-deps" in post_build
    assert "OMP_NUM_THREADS" in start and start.rstrip().endswith('exec "$@"')
    for script in ("postBuild", "start"):
        path = ROOT / "binder" / script
        assert path.stat().st_mode & 0o111, f"binder/{script} must be executable"
        subprocess.run(["bash", "-n", str(path)], check=True)


def test_jupyter_settings_shut_down_closed_kernels_and_cull_idle_ones(tmp_path):
    """Binder's 2 GB must hold a whole course: the install script (run by binder/postBuild
    and `make lab`) makes closing a notebook shut its kernel down and culls idle kernels,
    keeping whatever server settings the environment already had."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(sys.executable)
    existing = tmp_path / "etc" / "jupyter" / "jupyter_server_config.json"
    existing.parent.mkdir(parents=True)
    existing.write_text(json.dumps({"ServerApp": {"port": 9999}}))
    script = ROOT / "binder" / "install_jupyter_settings.sh"
    subprocess.run([str(script), str(tmp_path)], check=True)
    overrides = json.loads(
        (tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json").read_text())
    assert overrides["@jupyterlab/notebook-extension:tracker"]["kernelShutdown"] is True
    server = json.loads(existing.read_text())
    assert server["ServerApp"] == {"port": 9999}
    assert server["MappingKernelManager"]["cull_idle_timeout"] > 0
    assert server["MappingKernelManager"]["cull_connected"] is False
    assert "install_jupyter_settings.sh" in (ROOT / "binder" / "postBuild").read_text()
    assert "install_jupyter_settings.sh" in (ROOT / "Makefile").read_text()


def test_pyproject_ranges_admit_the_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = pinned_requirements()
    extras = project["optional-dependencies"]
    declared = project["dependencies"] + extras["dev"] + extras["torch"]
    for spec in map(Requirement, declared):
        name = spec.name.lower()
        assert name in pins, f"pyproject names {name}, which requirements.txt does not pin"
        assert spec.specifier.contains(pins[name]), (
            f"pyproject's {spec} excludes the pin {pins[name]}"
        )
    assert {Requirement(d).name.lower() for d in project["dependencies"]} <= RUNTIME
    # torch is optional (the lessons run without it), so it is an extra, not a dependency
    assert "torch" not in {Requirement(d).name.lower() for d in project["dependencies"]}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_clean(path):
    found = notebook_tool.problems(path)
    assert not found, "\n".join(found) + f"\nClean it with: {notebook_tool.CLEAN_COMMAND}"


def test_every_notebook_is_on_the_course_map_in_order():
    on_map = {lesson.filename for lesson in LESSONS}
    for path in NOTEBOOKS:
        assert path.name in on_map, f"{path.name} is not in nnopt_lib/course.py"
    numbers = [lesson.number for lesson in LESSONS]
    assert numbers == sorted(numbers) == list(range(len(LESSONS)))


def test_ready_lessons_are_exactly_the_notebooks_in_the_checkout():
    """`ready` is recorded in course.py (an installed package has no notebooks/ to look at);
    this keeps it honest: a new lesson must register itself as ready."""
    ready = {lesson.filename for lesson in LESSONS if lesson.ready}
    present = {path.name for path in NOTEBOOKS}
    assert ready == present, (
        f"set ready=True in nnopt_lib/course.py for {sorted(present - ready)}; "
        f"no notebook exists for ready lessons {sorted(ready - present)}"
    )


def test_course_map_is_right_in_an_installed_copy_without_notebooks(tmp_path):
    """What a non-editable install (Binder's `pip install .`) sees: nnopt_lib copied into
    site-packages with no notebooks/ beside it. The map must still link lessons 00-08."""
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "nnopt_lib", site / "nnopt_lib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from nnopt_lib import course\n"
        "assert course.__file__.startswith(sys.argv[1]), course.__file__\n"
        "print(course.markdown_map(link_prefix='notebooks/'), end='')\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(site)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    installed_map = result.stdout
    for lesson in LESSONS[:9]:
        link = f"[{lesson.number:02d} · {lesson.title}](notebooks/{lesson.filename})"
        assert link in installed_map, f"lesson {lesson.number:02d} is not linked when installed"
    assert installed_map == markdown_map(link_prefix="notebooks/")


def test_readme_course_map_matches_the_library():
    readme = (ROOT / "README.md").read_text()
    expected = markdown_map(link_prefix="notebooks/").strip()
    assert expected in readme, (
        "README's course map is stale; paste markdown_map(link_prefix='notebooks/')"
    )


def test_welcome_notebook_course_map_matches_the_library():
    welcome = json.loads((ROOT / "notebooks" / "00_welcome.ipynb").read_text())
    markdown = "\n".join(
        "".join(c["source"]) for c in welcome["cells"] if c["cell_type"] == "markdown"
    )
    assert markdown_map().strip() in markdown, (
        "the welcome notebook's course map is stale; paste markdown_map()"
    )


def test_readme_quick_start_and_binder_badge():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    assert re.search(
        r"mybinder\.org/v2/gh/.+urlpath=lab(/|%2F)tree(/|%2F)notebooks(/|%2F)00_welcome\.ipynb",
        readme,
    )


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_handout_shows_each_explorer_as_its_static_image():
    """The handout has no kernel: an output with a widget view and a PNG keeps only the PNG
    (which needs no JavaScript from the network); other outputs are left alone."""
    explorer = {"output_type": "display_data", "metadata": {},
                "data": {notebook_tool.WIDGET_VIEW: {"model_id": "x"}, "image/png": "iVBOR",
                         "text/plain": "Explorer(lr=0.1)"}}
    slider_only = {"output_type": "display_data", "metadata": {},
                   "data": {notebook_tool.WIDGET_VIEW: {"model_id": "y"}, "text/plain": "s"}}
    nb = {"cells": [{"cell_type": "code", "outputs": [explorer, slider_only]},
                    {"cell_type": "markdown", "source": "text"}]}
    out = notebook_tool.static_explorers(nb)["cells"][0]["outputs"]
    assert set(out[0]["data"]) == {"image/png", "text/plain"}
    assert notebook_tool.WIDGET_VIEW in out[1]["data"]


def test_handout_pages_need_no_widget_javascript():
    """`offline`: explorers keep their PNG (marked, and counted), a lone widget view falls back
    to its text, and the notebook's widget state goes, so no page needs the widget renderer."""
    explorer = {"output_type": "display_data", "metadata": {},
                "data": {notebook_tool.WIDGET_VIEW: {"model_id": "x"}, "image/png": "iVBOR"}}
    slider_only = {"output_type": "display_data", "metadata": {},
                   "data": {notebook_tool.WIDGET_VIEW: {"model_id": "y"}, "text/plain": "s"}}
    nb = {"metadata": {"widgets": {"state": {}}},
          "cells": [{"cell_type": "code", "outputs": [explorer, slider_only]}]}
    nb, explorers = notebook_tool.handout.offline(nb)
    assert explorers == 1 and "widgets" not in nb["metadata"]
    first, second = nb["cells"][0]["outputs"]
    assert set(first["data"]) == {"image/png"} and first["metadata"]["nnopt_explorer"]
    assert set(second["data"]) == {"text/plain"}


def test_committed_notebook_metadata_is_what_the_kernel_reports():
    """JupyterLab marks a notebook modified when its kernel's language_info differs from the
    saved one, so `clean` writes exactly what ipykernel reports (for the pinned Python)."""
    from ipykernel.ipkernel import IPythonKernel

    reported = {**IPythonKernel.language_info, "version": notebook_tool.KERNEL_PYTHON}
    nb = notebook_tool.cleaned({"metadata": {"language_info": {"name": "python"}}, "cells": []})
    assert nb["metadata"]["language_info"] == reported
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
