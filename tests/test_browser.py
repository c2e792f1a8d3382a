"""Real-browser test: a slider in JupyterLab renders, and moving it redraws the plot.

nbval only runs kernels; this test proves the front end works too. It starts
`jupyter lab` on a loopback port, opens the welcome notebook in headless
chromium (Debian's, driven by Playwright), runs all cells, types a new value
into a slider's readout, and checks that the explorer's image changed.
Screenshots go to build/browser/.

Enable it with `apt-get install chromium` (CI does this). Without chromium it
skips, unless NNOPT_REQUIRE_BROWSER=1, when it fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "notebooks/00_welcome.ipynb"
SHOTS = ROOT / "build" / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Flags for a sandboxed, offline, root-run headless chromium.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if CHROMIUM is None:
    if os.environ.get("NNOPT_REQUIRE_BROWSER") == "1":
        pytest.fail("NNOPT_REQUIRE_BROWSER=1 but chromium is not installed", pytrace=False)
    pytest.skip(
        "browser test needs chromium: `sudo apt-get install chromium` enables it",
        allow_module_level=True,
    )

playwright_api = pytest.importorskip("playwright.sync_api")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_settings(folder: Path) -> Path:
    """A private JupyterLab settings folder: start kernels without asking, no news pop-up,
    and no autosave (a test that runs a lesson must not write its outputs into the checkout)."""
    settings = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
            "autoStartDefaultKernel": True
        },
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
    }
    for name, values in settings.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    return folder


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    port = free_port()
    home = tmp_path_factory.mktemp("lab")
    log = (home / "jupyter.log").open("w")
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={ROOT}",
        f"--LabApp.user_settings_dir={lab_settings(home / 'settings')}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail(f"jupyter lab did not start; see {log.name}")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def explorer_image(page):
    """The src of the explorer's current figure (a data: URL, so it changes with the pixels)."""
    image = page.locator(".nnopt-explorer img").first
    image.wait_for(state="visible", timeout=60_000)
    return image.get_attribute("src")


def test_slider_redraws_the_explorer(lab_url):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{lab_url}/lab/tree/{NOTEBOOK}", timeout=120_000)
            page.locator(".jp-Notebook").first.wait_for(timeout=120_000)
            # Wait for the kernel, so "Run All" is not sent to a kernel that is still starting.
            page.get_by_text("Python 3 (ipykernel) | Idle").first.wait_for(timeout=120_000)

            page.locator(".lm-MenuBar-item", has_text="Run").first.click()
            page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()
            before = explorer_image(page)
            readout = page.locator(".nnopt-explorer .widget-readout").first
            readout.scroll_into_view_if_needed()
            page.screenshot(path=SHOTS / "before.png", full_page=False)

            # Change the learning-rate slider through its editable readout.
            old_value = readout.inner_text()
            readout.click()
            page.keyboard.press("Control+A")
            new_value = "0.5" if old_value.strip() not in ("0.5", "5.00e-1") else "0.002"
            page.keyboard.type(new_value)
            page.keyboard.press("Enter")

            page.wait_for_function(
                "old => { const img = document.querySelector('.nnopt-explorer img');"
                " return img && img.getAttribute('src') !== old; }",
                arg=before,
                timeout=60_000,
            )
            after = explorer_image(page)
            new_readout = readout.inner_text()
            readout.scroll_into_view_if_needed()
            page.screenshot(path=SHOTS / "after.png", full_page=False)
        except Exception:
            page.screenshot(path=SHOTS / "failure.png", full_page=False)
            raise
        finally:
            browser.close()

    assert after != before, "the explorer's figure did not change after the slider moved"
    assert new_readout.strip() != old_value.strip(), (
        "the slider's readout did not take the new value"
    )
