"""Notebook housekeeping for nnopt: clean before committing, check hygiene, render to HTML.

    python tools/notebooks.py clean notebooks/*.ipynb   # strip outputs, normalise metadata
    python tools/notebooks.py check notebooks/*.ipynb   # exit 1 and list what is not clean
    python tools/notebooks.py html --out build/html     # execute all, export, write index.html

Notebooks are committed without outputs so diffs stay readable and nbval always
runs them fresh. `make clean-notebooks` runs the first command on every notebook.
"""

from __future__ import annotations

import argparse
import html
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLEAN_COMMAND = "make clean-notebooks"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# Cell metadata worth keeping: tags (solution cells) and the hidden-source flag.
KEPT_CELL_METADATA = ("tags", "jupyter")


def cleaned(nb: dict) -> dict:
    """Return `nb` without outputs, execution counts or editor metadata."""
    nb = json.loads(json.dumps(nb))  # deep copy
    nb["metadata"] = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
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


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def static_explorers(nb: dict) -> dict:
    """``nb`` with every output that carries both a widget view and a PNG reduced to the PNG.

    A handout has no kernel, so a slider there can never move; the explorers' static image of
    their figure (nnopt_lib.widgets.Explorer puts one in every display) is what it should show,
    and unlike the widget view it needs no JavaScript from the network.
    """
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and "image/png" in data:
                del data[WIDGET_VIEW]
    return nb


def html_export(out: Path) -> None:
    """Execute every notebook into `out` and write an index page in course order."""
    sys.path.insert(0, str(ROOT))
    from nnopt_lib.course import LESSONS

    out.mkdir(parents=True, exist_ok=True)
    items, exported = [], []
    for lesson in filter(lambda lesson: lesson.ready, LESSONS):
        notebook = ROOT / "notebooks" / lesson.filename
        executed = out / lesson.filename
        nbconvert = [sys.executable, "-m", "jupyter", "nbconvert", "--output-dir", str(out)]
        subprocess.run(
            [*nbconvert, "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=600",
             str(notebook)],
            check=True,
        )
        executed.write_text(
            dumps(static_explorers(json.loads(executed.read_text(encoding="utf-8")))),
            encoding="utf-8",
        )
        subprocess.run([*nbconvert, "--to", "html", str(executed)], check=True)
        executed.unlink()
        page = notebook.with_suffix(".html").name
        exported.append(out / page)
        items.append(
            f'<li><a href="{page}">{lesson.number:02d} · {html.escape(lesson.title)}</a>'
            f" — {html.escape(lesson.summary)}</li>"
        )
    # Lessons link to each other as .ipynb files; in the export they are .html pages.
    for page in exported:
        text = page.read_text(encoding="utf-8")
        for lesson in LESSONS:
            html_name = lesson.filename.replace(".ipynb", ".html")
            text = text.replace(f'href="{lesson.filename}', f'href="{html_name}')
        page.write_text(text, encoding="utf-8")
    (out / "index.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>nnopt — course</title>"
        "<h1>nnopt: neural-network optimization, built from scratch</h1>"
        f"<ol start='0' style='list-style:none'>{''.join(items)}</ol>\n",
        encoding="utf-8",
    )
    print(f"wrote {out / 'index.html'} ({len(items)} notebooks)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("clean", "check"):
        sub.add_parser(name).add_argument("paths", nargs="+", type=Path)
    sub.add_parser("html").add_argument("--out", type=Path, default=ROOT / "build" / "html")
    args = parser.parse_args(argv)
    if args.command == "clean":
        clean(args.paths)
    elif args.command == "check":
        return check(args.paths)
    else:
        html_export(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
