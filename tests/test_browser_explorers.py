"""Every explorer of every lesson in a real browser, at a projector's 1024x768.

JupyterLab runs each lesson (file browser open, as a lecturer has it), then, for every
explorer (``.nnopt-explorer``) on the page, this test

* moves every control: each slider three steps with the keyboard (two towards its farther
  end, one back), each dropdown to every other option and back, each checkbox off and on;
* checks that each control changed the figure's image at least once (a control that changes
  nothing must not be shown) and that no move left an error in the status line;
* times each move end to end: from the key press (or selection, or click) until the new
  image is decoded and painted (the next animation frame), and reports p50/p90 per lesson;
* measures the smallest text of the figure as shown on screen: the explorer states the
  smallest font size of its figure in pixels of its PNG (``data-min-text-px`` on the status
  line, see :meth:`nnopt_lib.widgets.Explorer.smallest_text_px`), the browser says how much
  the image is scaled down to fit the notebook column; the product must be >= 9 px.

It also times "Run All" of each lesson (the budget is 20 s on an idle machine) and checks that
no cell ended in an error. Screenshots of three explorers go to build/browser/
(``<lesson>_<explorer>_<tag>.png``, tag from NNOPT_BROWSER_TAG, default ``after``), the
measurements to build/browser/explorers.json.

It takes several minutes, so it runs only with NNOPT_BROWSER_EXPLORERS=1; it needs chromium
like tests/test_browser.py. NNOPT_BROWSER_NOTEBOOKS=02,08 restricts it to some lessons.
"""

from __future__ import annotations

import json
import os
import statistics
import time

import pytest

if os.environ.get("NNOPT_BROWSER_EXPLORERS") != "1":
    pytest.skip("the explorer browser run needs NNOPT_BROWSER_EXPLORERS=1",
                allow_module_level=True)

from test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, SHOTS, lab_url, playwright_api  # noqa: E402

__all__ = ["lab_url"]  # the fixture, re-used from test_browser

VIEWPORT = {"width": 1024, "height": 768}
MIN_TEXT_PX = 9.0
#: A move that produces no new image within this time counts as "changed nothing".
MOVE_TIMEOUT_MS = 20_000
#: (lesson prefix, explorer index on the page): the explorers photographed.
SCREENSHOTS = {("02", -1), ("04", 0), ("08", 0)}
TAG = os.environ.get("NNOPT_BROWSER_TAG", "after")

_wanted = [w for w in os.environ.get("NNOPT_BROWSER_NOTEBOOKS", "").split(",") if w]
# Every lesson by default; NNOPT_BROWSER_NOTEBOOKS picks some.
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
                   if not _wanted or p.name[:2] in _wanted)
RESULTS: dict[str, dict] = {}

# Arms a watcher on one explorer: t0 now; done when a new <img> (or a new src) is painted.
ARM = """el => {
  const old = el.querySelector('.jp-OutputArea-output img');
  const oldSrc = old ? old.getAttribute('src') : null;
  const state = {t0: performance.now(), done: false, changed: null, ms: null};
  window.__nnopt = state;
  const check = () => {
    const img = el.querySelector('.jp-OutputArea-output img');
    if (!img || (img === old && img.getAttribute('src') === oldSrc)) return;
    observer.disconnect();
    img.decode().catch(() => null).then(() => requestAnimationFrame(() => {
      state.ms = performance.now() - state.t0;
      state.changed = img.getAttribute('src') !== oldSrc;
      state.done = true;
    }));
  };
  const observer = new MutationObserver(check);
  observer.observe(el, {childList: true, subtree: true, attributes: true,
                        attributeFilter: ['src']});
}"""

# Prompts of code cells: "[*]:" while queued or running, "[12]:" when done, "" when hidden.
QUEUED = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
  .some(p => p.textContent.includes('*'))"""
ALL_RUN = """() => {
  const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
  return prompts.every(p => !p.textContent.includes('*'))
    && prompts.some(p => /\\[\\d+\\]/.test(p.textContent));
}"""

MEASURE = """el => {
  const img = el.querySelector('.jp-OutputArea-output img');
  const meta = el.querySelector('[data-min-text-px]');
  const box = img.getBoundingClientRect();
  return {natural: img.naturalWidth, shown: box.width,
          minTextPx: meta ? parseFloat(meta.dataset.minTextPx) : null,
          status: (el.querySelector('.widget-html') || {}).innerText || ''};
}"""


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "explorers.json").write_text(json.dumps(RESULTS, indent=1, ensure_ascii=False))
    for name, result in RESULTS.items():
        print(f"{name}: run all {result['run_all_s']:.1f} s, {len(result['explorers'])} "
              f"explorers, {result['moves']} moves, latency p50 {result['p50_ms']} ms, "
              f"p90 {result['p90_ms']} ms, smallest text "
              f"{[e['min_text_screen_px'] for e in result['explorers']]} px")


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1) \
        if len(values) > 1 else round(values[0], 1)


def run_all(page, lab_url: str, name: str) -> float:
    """Open ``name`` with the file browser showing, run all cells; seconds until idle."""
    page.goto(f"{lab_url}/lab/tree/notebooks/{name}?reset", timeout=120_000)
    page.get_by_text("Python 3 (ipykernel) | Idle").first.wait_for(timeout=120_000)
    if not page.locator(".jp-FileBrowser").first.is_visible():
        page.locator('.lm-TabBar-tab[data-id="filebrowser"]').first.click()
    page.locator(".jp-FileBrowser").first.wait_for(state="visible", timeout=10_000)
    start = time.perf_counter()
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()
    # The kernel is idle for a moment between two cells, so wait instead until no prompt
    # shows [*] (queued or running) any more, after Run All has queued the cells.
    try:
        page.wait_for_function(QUEUED, timeout=10_000, polling=50)
    except playwright_api.TimeoutError:
        pass  # a quick notebook may already be done
    try:
        page.wait_for_function(ALL_RUN, timeout=300_000, polling=200)
    except playwright_api.TimeoutError:
        prompts = page.eval_on_selector_all(".jp-CodeCell .jp-InputPrompt",
                                            "ps => ps.map(p => p.textContent)")
        raise AssertionError(f"{name}: Run All did not finish; prompts {prompts}") from None
    return time.perf_counter() - start


def move(page, explorer, action) -> tuple[bool, float | None]:
    """Do ``action`` (a control change); (did the image change, ms until it was painted)."""
    explorer.evaluate(ARM)
    action()
    try:
        page.wait_for_function("() => window.__nnopt.done", timeout=MOVE_TIMEOUT_MS,
                               polling="raf")
    except playwright_api.TimeoutError:
        return False, None
    state = page.evaluate("() => window.__nnopt")
    return bool(state["changed"]), float(state["ms"])


def slider_moves(page, explorer, slider):
    handle = slider.locator(".noUi-handle").first
    now, low, high = (float(handle.get_attribute(a) or 0)
                      for a in ("aria-valuenow", "aria-valuemin", "aria-valuemax"))
    forward, back = (("ArrowRight", "ArrowLeft") if high - now >= now - low
                     else ("ArrowLeft", "ArrowRight"))
    for key in (forward, forward, back):
        yield move(page, explorer, lambda key=key: (handle.focus(), page.keyboard.press(key)))


def dropdown_moves(page, explorer, select):
    options = select.locator("option").all_inner_texts()
    original = select.evaluate("s => s.selectedIndex")
    for index in [i for i in range(len(options)) if i != original] + [original]:
        yield move(page, explorer, lambda index=index: select.select_option(index=index))


def checkbox_moves(page, explorer, box):
    for _ in range(2):
        yield move(page, explorer, lambda: box.click())


def control_label(control) -> str:
    """The control's visible description (a checkbox's sits next to its box)."""
    texts = control.locator(".widget-label-basic, .widget-label").all_inner_texts()
    texts = [t.strip().strip("\u200b") for t in texts]
    return next((t for t in texts if t), control.inner_text().strip())[:40]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_control_of_every_explorer(lab_url, browser, name):
    page = browser.new_page(viewport=VIEWPORT)
    failures: list[str] = []
    latencies: list[float] = []
    explorers_out: list[dict] = []
    try:
        seconds = run_all(page, lab_url, name)
        errors = page.locator('[data-mime-type="application/vnd.jupyter.error"]')
        assert errors.count() == 0, f"{name}: a cell failed: {errors.first.inner_text()[:500]}"
        explorers = page.locator(".nnopt-explorer")
        count = explorers.count()
        source = (ROOT / "notebooks" / name).read_text()
        if "explore(" in source or "Explorer(" in source:
            assert count > 0, f"{name}: no explorer on the page after Run All"
        for i in range(count):
            explorer = explorers.nth(i)
            explorer.scroll_into_view_if_needed()
            explorer.locator(".jp-OutputArea-output img").first.wait_for(timeout=60_000)
            size = explorer.evaluate(MEASURE)
            scale = size["shown"] / size["natural"]
            screen = (None if size["minTextPx"] is None
                      else round(size["minTextPx"] * scale, 1))
            if (name[:2], i) in SCREENSHOTS or (name[:2], i - count) in SCREENSHOTS:
                explorer.evaluate("el => el.scrollIntoView({block: 'start'})")
                page.wait_for_timeout(500)  # let the scroll settle and the image paint
                page.screenshot(path=SHOTS / f"{name[:2]}_explorer{i}_{TAG}.png")
            record = {"index": i, "scale": round(scale, 3),
                      "min_text_png_px": size["minTextPx"], "min_text_screen_px": screen,
                      "controls": {}, "readouts": {}}
            if screen is None or screen < MIN_TEXT_PX:
                failures.append(f"explorer {i}: smallest text {screen} px on screen "
                                f"(image shown at {scale:.0%})")
            # Only the controls shown: an explorer hides those that would change nothing.
            controls = [("slider", c, c, slider_moves)
                        for c in explorer.locator(".widget-slider").all() if c.is_visible()]
            controls += [("dropdown", c, c.locator("select").first, dropdown_moves)
                         for c in explorer.locator(".widget-dropdown").all() if c.is_visible()]
            controls += [("checkbox", c, c.locator("input").first, checkbox_moves)
                         for c in explorer.locator(".widget-checkbox").all() if c.is_visible()]
            for kind, container, element, moves in controls:
                label = f"{kind} {control_label(container)}"
                if label in record["controls"]:  # two controls with one description
                    label += f" #{len(record['controls'])}"
                readout = container.locator(".widget-readout")
                if readout.count():  # kept for the report: β₂ = 0.999 must not read "1.00"
                    record["readouts"][label] = readout.first.inner_text()
                changed = []
                for did_change, ms in moves(page, explorer, element):
                    changed.append(did_change)
                    if ms is not None:
                        latencies.append(ms)
                status = explorer.evaluate(MEASURE)["status"]
                if "error in update" in status:
                    failures.append(f"explorer {i}, {label}: {status[:200]}")
                record["controls"][label] = changed
                if not any(changed):
                    failures.append(f"explorer {i}, {label}: no move changed the figure")
            explorers_out.append(record)
    except Exception:
        page.screenshot(path=SHOTS / f"{name[:2]}_failure.png")
        raise
    finally:
        page.close()
    RESULTS[name] = {
        "run_all_s": round(seconds, 1), "explorers": explorers_out, "moves": len(latencies),
        "p50_ms": percentile(latencies, 50), "p90_ms": percentile(latencies, 90),
    }
    assert not failures, f"{name}:\n" + "\n".join(failures)
