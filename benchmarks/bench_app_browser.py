"""Time until the planner can use the page, in a real browser, on the Hangzhou set.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_app_browser.py

Starts ``streamlit run serve.py`` (as ``./dev app``: the page ``app.py``, its first plan made while
the server starts) on a free local port with the Hangzhou estates, survey and water
(as ``LIANPIAN_APP_*``), opens the page in headless Chromium (Debian ``chromium``, Playwright) and
prints, for a first visit (nothing cached: the plan is computed) and a second visit (plan cached):
the time from opening the page to the sidebar's controls shown (usable while the plan runs), to
the Leaflet map shown, and to every estate drawn
(``path.leaflet-interactive.lp-estate``, 2,112). The issue's target: interactive within 5 s.
Then the time from changing the colour radio to the redrawn map. The server is started twice:
the page opened as soon as it listens (the first plan still being made), and opened
``OPEN_AFTER_S`` seconds after (a planner starting the server, then the browser). Needs ../shared/data and
/usr/bin/chromium; prints a message and exits 0 without them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
CHROMIUM = Path("/usr/bin/chromium")
sys.path.insert(0, str(REPO))  # the browser test's app launcher (tests/test_browser.py)


OPEN_AFTER_S = 8.0


def _start(port: int) -> tuple[subprocess.Popen, float]:
    """Start the app on the Hangzhou data (the browser test's launcher); seconds until it listens."""
    from tests.test_browser import _start_app

    hz = DATA / "hangzhou"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "LIANPIAN_APP_ESTATES": str(hz / "osm_landuse_residential.gpkg"),
        "LIANPIAN_APP_SURVEY": str(hz / "survey_illustrative.csv"),
        "LIANPIAN_APP_BARRIERS": str(hz / "osm_water.gpkg"),
    }
    started = time.perf_counter()
    proc = _start_app(port, env)
    return proc, time.perf_counter() - started


def _visit(browser, port: int, expected: int, label: str) -> None:
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    try:
        started = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
        page.get_by_text("政策参数", exact=True).wait_for(timeout=120_000)
        controls = time.perf_counter() - started
        frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
        frame.locator(".leaflet-container").wait_for(timeout=120_000)
        shown = time.perf_counter() - started
        estates = frame.locator("path.leaflet-interactive.lp-estate")
        while estates.count() < expected and time.perf_counter() - started < 120:
            time.sleep(0.05)
        drawn = time.perf_counter() - started
        print(
            f"{label}: sidebar controls shown {controls:.2f} s, map shown {shown:.2f} s, "
            f"all {estates.count():,} estates drawn {drawn:.2f} s"
        )
        radio = page.get_by_text("优先度", exact=True)
        started = time.perf_counter()
        radio.click()
        # while Streamlit reruns, the old map's iframe may stay beside the new one: the last is new
        frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"] >> nth=-1')
        frame.locator(".lp-legend", has_text="≥").wait_for(timeout=60_000)
        estates = frame.locator("path.leaflet-interactive.lp-estate")
        while estates.count() < expected and time.perf_counter() - started < 60:
            time.sleep(0.05)
        print(f"{label}: colour by priority, map redrawn {time.perf_counter() - started:.2f} s")
    finally:
        page.close()


def main() -> int:
    if not (DATA / "hangzhou").exists() or not CHROMIUM.exists():
        print(f"skipped: needs {DATA / 'hangzhou'} and {CHROMIUM}")
        return 0
    from playwright.sync_api import sync_playwright

    from geo.core.errors import QualityReport
    from geo.io import read_estates

    expected = len(
        read_estates(DATA / "hangzhou" / "osm_landuse_residential.gpkg", quality=QualityReport())
    )
    from tests.test_browser import _free_port

    for delay in (0.0, OPEN_AFTER_S):
        port = _free_port()
        proc, ready = _start(port)
        print(f"app server listening after {ready:.2f} s; page opened {delay:.0f} s later")
        time.sleep(delay)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=str(CHROMIUM),
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                )
                try:
                    _visit(browser, port, expected, "  first visit (plan computed)")
                    if delay == 0:
                        _visit(browser, port, expected, "  second visit (plan cached)")
                finally:
                    browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
