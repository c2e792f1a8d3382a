"""A whole course in one JupyterLab session stays within Binder's memory.

Binder gives a session 2 GB. A lesson's kernel holds 100-400 MB after its checks, and
JupyterLab keeps the kernels of closed notebooks running, so a learner going through the
lessons one after another used to run out of memory at the sixth. With the settings that
`binder/install_jupyter_settings.sh` installs (closing a notebook shuts its kernel down; idle
kernels are culled), this test opens every lesson in turn in one server, runs all its cells,
closes it, and checks that the server and its kernels together never hold more than 1.5 GB.

It takes a few minutes, so it runs only with NNOPT_BROWSER_COURSE=1 (`make
test-browser-course`, which `.ci/run` calls); it needs chromium like tests/test_browser.py.
"""

from __future__ import annotations

import os
import time

import psutil
import pytest

if os.environ.get("NNOPT_BROWSER_COURSE") != "1":
    pytest.skip("the whole-course browser run needs NNOPT_BROWSER_COURSE=1 "
                "(make test-browser-course)", allow_module_level=True)

from test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, SHOTS, lab_url, playwright_api  # noqa: E402

__all__ = ["lab_url"]  # the fixture, re-used from test_browser

LIMIT_BYTES = 1.5 * 2**30
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def server_tree_rss(port: int) -> int:
    """Resident memory of the Jupyter server listening on ``port`` plus all its kernels."""
    for proc in psutil.process_iter(["cmdline"]):
        if any(f"--port={port}" in part for part in proc.info["cmdline"] or ()):
            tree = [proc, *proc.children(recursive=True)]
            total = 0
            for member in tree:
                try:
                    total += member.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            return total
    raise AssertionError(f"no Jupyter server on port {port}")


def running_kernels(page, url: str) -> int:
    return len(page.request.get(f"{url}/api/kernels").json())


def test_every_lesson_in_one_session_stays_under_the_binder_limit(lab_url):
    port = int(lab_url.rsplit(":", 1)[1])
    peaks: dict[str, int] = {}
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            for name in NOTEBOOKS:
                # ?reset: open only this lesson, not the tabs the saved workspace remembers
                page.goto(f"{lab_url}/lab/tree/notebooks/{name}?reset", timeout=120_000)
                page.get_by_text("Python 3 (ipykernel) | Idle").first.wait_for(timeout=120_000)
                page.locator(".lm-MenuBar-item", has_text="Run").first.click()
                page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()
                # Busy while the cells run; Idle again when the last one has finished.
                page.get_by_text("Python 3 (ipykernel) | Busy").first.wait_for(timeout=60_000)
                page.get_by_text("Python 3 (ipykernel) | Idle").first.wait_for(timeout=300_000)
                peaks[name] = server_tree_rss(port)
                page.locator(".lm-MenuBar-item", has_text="File").first.click()
                page.locator(".lm-Menu-item:visible", has_text="Close Tab").first.click()
                # Run All changed the outputs, so JupyterLab may ask whether to save: the
                # dialog can take a moment to appear. The kernel shuts down once the tab closes.
                discard = page.get_by_role("button", name="Discard")
                for _ in range(120):
                    if discard.count() and discard.first.is_visible():
                        discard.first.click()
                    if running_kernels(page, lab_url) == 0:
                        break
                    time.sleep(0.5)
                assert running_kernels(page, lab_url) == 0, f"{name}: its kernel kept running"
        except Exception:
            page.screenshot(path=SHOTS / "course_failure.png", full_page=False)
            raise
        finally:
            browser.close()
    summary = ", ".join(f"{n[:2]}: {v / 2**20:.0f} MB" for n, v in peaks.items())
    print(f"server + kernels after each lesson: {summary}")
    assert len(peaks) == len(NOTEBOOKS)
    worst = max(peaks, key=peaks.get)
    assert peaks[worst] < LIMIT_BYTES, (
        f"{worst}: server and kernels held {peaks[worst] / 2**30:.2f} GB ({summary})")
