"""Notebook housekeeping for nnopt: clean before committing, check hygiene, render to HTML.

    python tools/notebooks.py clean notebooks/*.ipynb   # strip outputs, normalise metadata
    python tools/notebooks.py check notebooks/*.ipynb   # exit 1 and list what is not clean
    python tools/notebooks.py html --out build/html     # the offline handout (tools/handout.py)

Notebooks are committed without outputs so diffs stay readable and nbval always
runs them fresh. `make clean-notebooks` runs the first command on every notebook.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import handout
from handout import WIDGET_VIEW, static_explorers  # noqa: F401  (tests use them from here)

ROOT = Path(__file__).resolve().parents[1]
CLEAN_COMMAND = "make clean-notebooks"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# The Python of the project's machines and CI (`.venv`, built from python3.11 by `make`).
# JupyterLab copies the kernel's language_info into a notebook when it opens it and marks the
# notebook modified if anything differs, the patch version included; committing exactly what
# ipykernel reports there means an untouched lesson closes without "Save changes?". The
# version is fixed here rather than read from the running Python, so `clean` writes the same
# bytes on every machine (elsewhere a lesson still opens fine, only marked modified).
KERNEL_PYTHON = "3.11.7"
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
    "version": KERNEL_PYTHON,
}
# Cell metadata worth keeping: tags (solution cells) and the hidden-source flag.
KEPT_CELL_METADATA = ("tags", "jupyter")


def cleaned(nb: dict) -> dict:
    """Return `nb` without outputs, execution counts or editor metadata.

    The notebook metadata becomes what JupyterLab writes for our kernel (KERNELSPEC and
    LANGUAGE_INFO), so opening the lesson there changes nothing.
    """
    nb = json.loads(json.dumps(nb))  # deep copy
    nb["metadata"] = {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO}
    for cell in nb["cells"]:
        cell["metadata"] = {
            k: v for k, v in cell.get("metadata", {}).items() if k in KEPT_CELL_METADATA
        }
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
    return nb


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def problems(path: Path) -> list[str]:
    """What keeps the notebook at `path` from being committed as it is."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        return [f"{path}: not a readable notebook ({err})"]
    found = []
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code" and (
            cell.get("outputs") or cell.get("execution_count") is not None
        ):
            found.append(f"{path}: cell {i} has outputs or an execution count")
            break
    if nb.get("metadata", {}).get("kernelspec", {}).get("name") != "python3":
        found.append(f"{path}: kernelspec is not python3")
    if not found and path.read_text(encoding="utf-8") != dumps(cleaned(nb)):
        found.append(f"{path}: metadata or formatting not normalised")
    return found


def clean(paths: list[Path]) -> None:
    for path in paths:
        text = dumps(cleaned(json.loads(path.read_text(encoding="utf-8"))))
        if text != path.read_text(encoding="utf-8"):
            path.write_text(text, encoding="utf-8")
            print(f"cleaned {path}")


def check(paths: list[Path]) -> int:
    found = [p for path in paths for p in problems(path)]
    for line in found:
        print(line)
    if found:
        print(f"Run `{CLEAN_COMMAND}` to fix.")
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("clean", "check"):
        sub.add_parser(name).add_argument("paths", nargs="+", type=Path)
    html_parser = sub.add_parser("html")
    html_parser.add_argument("--out", type=Path, default=ROOT / "build" / "html")
    html_parser.add_argument("--only", nargs="+", metavar="NN",
                             help="lesson numbers to export (default: every ready lesson)")
    args = parser.parse_args(argv)
    if args.command == "clean":
        clean(args.paths)
    elif args.command == "check":
        return check(args.paths)
    else:
        handout.export(args.out, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
