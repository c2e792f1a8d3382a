"""The offline handout, and lessons that open in JupyterLab without becoming "modified".

Handout (NNOPT_HANDOUT=1, `make test-handout`): every page of the `make html` handout is
opened in headless chromium from file:// with the network blocked (the context is offline
and every request that is not file: is aborted and recorded). Each page must load with no
failed request, have all its math typeset by the local MathJax (no raw ``$\\kappa$`` left
in the text), and show every explorer's figure as a visible image; the index must link
every ready lesson. NNOPT_HANDOUT_DIR names a built handout (build/html); without it the
test exports one into a temporary folder, which runs every lesson (minutes).

"Save changes?": wherever chromium is installed (like tests/test_browser.py), the welcome
lesson is opened in JupyterLab and left untouched until its kernel is idle; it must not be
marked modified, and closing it must ask nothing.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from pathlib import Path

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, lab_url, playwright_api

sys.path.insert(0, str(ROOT / "tools"))
import handout  # noqa: E402

import notebooks as notebook_tool  # noqa: E402

sys.path.insert(0, str(ROOT))
from nnopt_lib.course import LESSONS  # noqa: E402

__all__ = ["lab_url"]  # the fixture, re-used from test_browser

READY = [lesson for lesson in LESSONS if lesson.ready]
PAGES = [lesson.filename.replace(".ipynb", ".html") for lesson in READY]
needs_handout = pytest.mark.skipif(
    os.environ.get("NNOPT_HANDOUT") != "1",
    reason="the offline handout test needs NNOPT_HANDOUT=1 (make test-handout)",
)

# Text that still looks like TeX: a $ against its math, or a backslash command such as \kappa.
RAW_TEX_PATTERN = r"\$\S|\\[a-zA-Z]{2,}"
# Text nodes outside code, outputs, scripts and typeset math that match RAW_TEX_PATTERN.
RAW_TEX = r"""() => {
  const pattern = new RegExp(PATTERN);
  const skip = ["SCRIPT", "STYLE", "PRE", "CODE", "TEXTAREA"];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    let el = node.parentElement, inside = false;
    for (; el; el = el.parentElement) {
      if (skip.includes(el.tagName) || el.classList.contains("MathJax") ||
          el.classList.contains("jp-InputArea") || el.classList.contains("jp-OutputArea"))
        { inside = true; break; }
    }
    if (!inside && pattern.test(node.textContent)) found.push(node.textContent);
  }
  return found.slice(0, 5);
}""".replace("PATTERN", json.dumps(RAW_TEX_PATTERN))

MATH_STATE = """() => ({
  sources: document.querySelectorAll('script[type^="math/tex"]').length,
  rendered: document.querySelectorAll('span.MathJax').length,
  errors: document.querySelectorAll('.MathJax .merror, .MathJax .noError, .MathJax_Error').length,
})"""

EXPLORER_IMAGES = f"""() => Array.from(
  document.querySelectorAll('.{handout.EXPLORER_CLASS} img'),
  img => {{ const r = img.getBoundingClientRect();
           return {{natural: img.naturalWidth, width: r.width, height: r.height}}; }})"""


@pytest.fixture(scope="module")
def handout_dir(tmp_path_factory) -> Path:
    built = os.environ.get("NNOPT_HANDOUT_DIR")
    if built:
        folder = Path(built)
        if not folder.is_absolute():
            folder = ROOT / folder
        assert (folder / handout.MANIFEST).exists(), f"{folder} is not a built handout"
        return folder
    folder = tmp_path_factory.mktemp("handout")
    handout.export(folder)
    return folder


@pytest.fixture(scope="module")
def chromium():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def offline_page(chromium):
    """A page in a chromium context with no network: anything not file: is aborted and noted."""
    context = chromium.new_context(offline=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.blocked, page.failed, page.errors = [], [], []

    def route(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            page.blocked.append(route.request.url)
            route.abort()

    def failed(request):
        # about:blank is the empty frame a page may create; it is no request for a file
        if not request.url.startswith("about:"):
            page.failed.append(f"{request.url} ({request.failure})")

    context.route("**/*", route)
    page.on("requestfailed", failed)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def open_offline(page, path: Path) -> None:
    page.blocked.clear()
    page.failed.clear()
    page.errors.clear()
    page.goto(path.as_uri(), wait_until="load", timeout=60_000)


@needs_handout
@pytest.mark.parametrize("name", PAGES)
def test_lesson_page_works_offline(handout_dir, offline_page, name):
    page = offline_page
    manifest = json.loads((handout_dir / handout.MANIFEST).read_text(encoding="utf-8"))
    assert name in manifest, f"{name} is missing from the handout"
    open_offline(page, handout_dir / name)
    # MathJax typesets after load; its queue runs this callback when everything is done.
    page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.isReady",
                           timeout=60_000)
    page.evaluate("() => new Promise(done => MathJax.Hub.Queue(() => done(true)))")
    assert not page.blocked, f"{name} asked the network for {page.blocked}"
    assert not page.failed, f"{name}: failed requests {page.failed}"
    assert not page.errors, f"{name}: script errors {page.errors}"

    math = page.evaluate(MATH_STATE)
    assert math["sources"] > 0, f"{name}: no math found to typeset"
    assert math["rendered"] == math["sources"], f"{name}: not all math was typeset ({math})"
    assert math["errors"] == 0, f"{name}: MathJax shows errors ({math})"
    leftover = page.evaluate(RAW_TEX)
    assert not leftover, f"{name}: raw TeX left in the page: {leftover}"

    images = page.evaluate(EXPLORER_IMAGES)
    assert len(images) == manifest[name], (
        f"{name}: {len(images)} explorer figures on the page, {manifest[name]} in the notebook")
    for i, image in enumerate(images):
        assert image["natural"] > 0 and image["width"] > 0 and image["height"] > 0, (
            f"{name}: explorer figure {i} is not visible ({image})")
    assert "application/vnd.jupyter.widget-view+json" not in page.content(), (
        f"{name}: a widget view is left (blank without the widget JavaScript)")


@needs_handout
def test_handout_index_lists_the_course(handout_dir, offline_page):
    page = offline_page
    open_offline(page, handout_dir / "index.html")
    assert not page.blocked and not page.failed, (page.blocked, page.failed)
    links = page.evaluate("() => Array.from(document.querySelectorAll('a.title'), "
                          "a => a.getAttribute('href'))")
    assert links == PAGES, "the index must link every ready lesson, in course order"
    for link in links:
        assert (handout_dir / link).exists(), f"index links {link}, which was not exported"
    text = page.inner_text("body")
    for lesson in LESSONS:
        assert lesson.title in text and lesson.summary in text, f"{lesson.filename} not listed"
    planned = page.locator("li.planned").count()
    assert planned == len(LESSONS) - len(READY)
    manifest = json.loads((handout_dir / handout.MANIFEST).read_text(encoding="utf-8"))
    assert sum(manifest.values()) > 0, "no explorer figure anywhere in the handout"


# Every notebook is committed with the same metadata (`cleaned`, which test_repository.py
# enforces and ties to what ipykernel reports), so one lesson shows JupyterLab accepts it.
UNTOUCHED = "notebooks/00_welcome.ipynb"


@pytest.mark.skipif(
    platform.python_version() != notebook_tool.KERNEL_PYTHON,
    reason=f"the committed language_info names Python {notebook_tool.KERNEL_PYTHON}; this "
           f"kernel is {platform.python_version()}, so JupyterLab marks lessons modified here",
)
def test_untouched_lesson_closes_without_asking_to_save(lab_url, chromium):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{lab_url}/lab/tree/{UNTOUCHED}?reset", timeout=120_000)
        # The kernel's language_info comes with its first reply; by Idle it has been merged.
        page.get_by_text("Python 3 (ipykernel) | Idle").first.wait_for(timeout=120_000)
        page.wait_for_timeout(1_000)
        tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current").first
        assert "jp-mod-dirty" not in (tab.get_attribute("class") or ""), (
            f"{UNTOUCHED} opens as modified: its saved metadata differs from what JupyterLab "
            f"writes (run `{notebook_tool.CLEAN_COMMAND}`)")
        page.locator(".lm-MenuBar-item", has_text="File").first.click()
        page.locator(".lm-Menu-item:visible", has_text="Close Tab").first.click()
        page.wait_for_timeout(2_000)
        assert not page.locator(".jp-Dialog").count(), "closing the untouched lesson asked to save"
        assert not page.locator(".jp-Notebook").count(), "the lesson's tab did not close"
    finally:
        page.close()


def test_raw_tex_pattern_sees_tex_and_ignores_prose():
    """The raw-TeX check, on the strings it meets: what MathJax missed, and ordinary text."""
    pattern = re.compile(RAW_TEX_PATTERN)
    assert pattern.search(r"$\kappa = 1$") and pattern.search(r"the \frac{1}{L} step")
    assert not pattern.search("costs $ 5 and takes 2 s")
