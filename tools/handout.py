"""The offline HTML handout: every ready lesson executed and exported, with an index page.

    python tools/notebooks.py html --out build/html            # all ready lessons (make html)
    python tools/notebooks.py html --out build/html --only 05  # re-export a page or two

The pages must work with no network at all (a lecture hall, a train): nbconvert's default
pages load require.js, MathJax and the widget renderer from CDNs. Here

- widgets are gone: each explorer keeps only the static PNG of its figure
  (`static_explorers`; nnopt_lib.widgets.Explorer puts one in every display), other widget
  views fall back to their text, and the notebook's saved widget state is dropped, so no page
  needs require.js or the widget renderer;
- MathJax 2 is copied next to the pages (``mathjax/``) from the jupyter-server-mathjax
  package and loaded by a relative path; it typesets with the STIX-Web fonts shipped there
  (the package has no TeX fonts), never looking for fonts or image fonts elsewhere;
- `handout.json` records, per page, how many explorer figures it shows (tests/test_handout.py
  checks each is a visible image).
"""

from __future__ import annotations

import html
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# Marks an explorer's static figure in the exported page (a class on a wrapping <div>).
EXPLORER_CLASS = "nnopt-static-explorer"
MANIFEST = "handout.json"
MATHJAX_DIR = "mathjax"
# The TeX the lessons use: AMS environments; Safe keeps links in math from running script.
MATHJAX_URL = f"{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"

# nbconvert's "lab" page without require.js, the widget renderer or mermaid (all from CDNs),
# with MathJax from MATHJAX_URL (HTML-CSS output, its bundled STIX-Web fonts), and explorer
# figures marked by class.
TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  TeX: {equationNumbers: {autoNumber: "AMS", useLabelIds: true}},
  tex2jax: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
            displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
            processEscapes: true, processEnvironments: true},
  displayAlign: "center",
  messageStyle: "none",
  menuSettings: {zoom: "None"},
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web",
               imageFont: null, linebreaks: {automatic: true}}
});
</script>
<script src="{{ resources.mathjax_url }}"></script>
{%- endblock html_head_js_mathjax -%}
{% block data_png scoped %}
{%- if output.metadata.get('nnopt_explorer') -%}
<div class="EXPLORER_CLASS">{{ super() }}</div>
{%- else -%}
{{ super() }}
{%- endif -%}
{% endblock data_png %}
""".replace("EXPLORER_CLASS", EXPLORER_CLASS)


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


def offline(nb: dict) -> tuple[dict, int]:
    """``nb`` made for a page without widget JavaScript, and how many explorer figures it has.

    Explorer outputs become their PNG, marked so the page can tag them; a widget view with no
    image (a lone slider) falls back to its text; the saved widget state goes.
    """
    explorers = 0
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and "image/png" in data:
                output.setdefault("metadata", {})["nnopt_explorer"] = True
                explorers += 1
    static_explorers(nb)
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)
    nb.get("metadata", {}).pop("widgets", None)
    return nb, explorers


def mathjax_source() -> Path:
    """The MathJax 2 tree shipped by jupyter-server-mathjax (a pinned requirement)."""
    try:
        import jupyter_server_mathjax
    except ImportError as err:
        raise SystemExit(
            "the offline handout copies MathJax from the jupyter-server-mathjax package: "
            "`pip install -r requirements.txt` (or `make html`, which does) installs it"
        ) from err
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def execute(path: Path) -> dict:
    """Run the notebook at ``path`` top to bottom in its own folder, as nbval does."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def page_html(nb: dict) -> str:
    """The handout page for an executed notebook (already passed through `offline`)."""
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"handout.html.j2": TEMPLATE})],
        template_file="handout.html.j2",
        mathjax_url=MATHJAX_URL,
    )
    body, _ = exporter.from_notebook_node(nbformat.from_dict(nb))
    return body


def link_pages(text: str, lessons) -> str:
    """Lessons link to each other as .ipynb files; in the handout they are .html pages."""
    for lesson in lessons:
        page = lesson.filename.replace(".ipynb", ".html")
        text = text.replace(f'href="{lesson.filename}', f'href="{page}')
    return text


INDEX_STYLE = """
body { font: 17px/1.5 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: #1d2430; background: #fbfbf8; max-width: 46rem; margin: 2.5rem auto;
       padding: 0 1.25rem; }
h1 { font-size: 1.7rem; line-height: 1.25; margin-bottom: .25rem; }
.lead { color: #4a5568; margin-top: 0; }
h2 { font-size: 1.05rem; text-transform: uppercase; letter-spacing: .04em; color: #2b6cb0;
     border-bottom: 2px solid #d5dde8; padding-bottom: .2rem; margin-top: 2rem; }
ol { list-style: none; padding: 0; margin: 0; }
li { display: grid; grid-template-columns: 2.4rem 1fr; padding: .45rem 0;
     border-bottom: 1px solid #eceff3; }
.num { font-variant-numeric: tabular-nums; color: #718096; font-weight: 600; }
.title { font-weight: 600; }
a.title { color: #1a56a0; text-decoration: none; }
a.title:hover, a.title:focus { text-decoration: underline; }
.summary { display: block; color: #4a5568; font-size: .93rem; }
li.planned .title, li.planned .num { color: #8792a2; }
.tag { font-size: .72rem; text-transform: uppercase; letter-spacing: .05em; color: #718096;
       border: 1px solid #cbd5e0; border-radius: .6rem; padding: 0 .45rem; margin-left: .4rem; }
footer { margin-top: 2.5rem; font-size: .85rem; color: #718096; }
"""


def index_html(lessons) -> str:
    """The course map in course order: parts, titles linking to ready lessons, summaries."""
    parts: list[str] = []
    current = None
    for lesson in lessons:
        if lesson.part != current:
            if current is not None:
                parts.append("</ol></section>")
            current = lesson.part
            parts.append(f"<section><h2>{html.escape(lesson.part)}</h2><ol>")
        title = html.escape(lesson.title)
        if lesson.ready:
            page = lesson.filename.replace(".ipynb", ".html")
            title = f'<a class="title" href="{page}">{title}</a>'
            item = "<li>"
        else:
            title = f'<span class="title">{title}</span><span class="tag">planned</span>'
            item = '<li class="planned">'
        parts.append(
            f'{item}<span class="num">{lesson.number:02d}</span><span>{title}'
            f'<span class="summary">{html.escape(lesson.summary)}</span></span></li>'
        )
    parts.append("</ol></section>")
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>nnopt — course handout</title><style>{INDEX_STYLE}</style></head><body>"
        "<h1>nnopt: neural-network optimization, built from scratch</h1>"
        "<p class='lead'>Every lesson, executed, with each explorer's figure as a picture. "
        "The pages work offline; to move the sliders, open the notebooks in JupyterLab "
        "(<code>make lab</code>).</p>"
        f"{''.join(parts)}"
        "<footer>Lessons marked <em>planned</em> are not written yet.</footer>"
        "</body></html>\n"
    )


def export(out: Path, only: list[str] | None = None) -> dict[str, int]:
    """Execute the ready lessons (those numbered in ``only``, if given) into pages in ``out``.

    Writes one page per lesson, index.html, the MathJax tree and the manifest; returns the
    manifest (page name -> number of explorer figures).
    """
    sys.path.insert(0, str(ROOT))
    from nnopt_lib.course import LESSONS

    ready = [lesson for lesson in LESSONS if lesson.ready]
    if only:
        ready = [lesson for lesson in ready if f"{lesson.number:02d}" in only]
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(mathjax_source(), out / MATHJAX_DIR, dirs_exist_ok=True)
    manifest: dict[str, int] = {}
    if only and (out / MANIFEST).exists():  # re-exporting a few pages of a built handout
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    for lesson in ready:
        print(f"handout: running {lesson.filename}", flush=True)
        nb, explorers = offline(execute(ROOT / "notebooks" / lesson.filename))
        page = lesson.filename.replace(".ipynb", ".html")
        (out / page).write_text(link_pages(page_html(nb), LESSONS), encoding="utf-8")
        manifest[page] = explorers
    (out / "index.html").write_text(index_html(LESSONS), encoding="utf-8")
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out / 'index.html'} ({len(ready)} lessons exported, {len(manifest)} in all)")
    return manifest
