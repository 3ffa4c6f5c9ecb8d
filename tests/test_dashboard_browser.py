"""The dashboard in a real headless browser (Debian chromium + chromedriver, Selenium).

The page loads, the runs are listed, a run opens and its power plot renders; two runs are compared.
The screenshot goes to a tmp path (printed) or to ``$WATTWISE_SCREENSHOT`` when set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.dashboard_server import serve_dashboard
from tests.report_fixtures import make_run, new_store

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,1400"]

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="chromium/chromedriver not installed (apt-get install chromium chromium-driver); .ci/run installs them",
)


@pytest.fixture()
def browser(monkeypatch):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download a browser or driver
    profile = tempfile.mkdtemp(prefix="wattwise-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in [*FLAGS, f"--user-data-dir={profile}"]:
        opts.add_argument(f)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_dashboard_in_browser(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    s = new_store(tmp_path)
    make_run(s, "finetune-bert", n=60, dt=0.5, watts={"cpu": 28.0, "ram": 5.0, "gpu:0": 180.0},
             counters={"tokens": 250_000}, measured=("gpu:0",), intensity=120.0, wobble=True)
    make_run(s, "finetune-bert-int8", n=40, dt=0.5, watts={"cpu": 26.0, "ram": 4.0, "gpu:0": 120.0},
             counters={"tokens": 250_000}, measured=("gpu:0",), intensity=120.0, wobble=True)
    s.close()
    wait = WebDriverWait(browser, 30)
    with serve_dashboard(tmp_path / "runs.sqlite") as base:
        browser.get(base + "/")
        assert "wattwise" in browser.title
        links = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "a.run-link"))
        assert sorted(a.text for a in links) == ["finetune-bert", "finetune-bert-int8"]
        shot = Path(os.environ.get("WATTWISE_SCREENSHOT") or tmp_path / "dashboard.png")
        shot.parent.mkdir(parents=True, exist_ok=True)
        runs_shot = shot.with_name(shot.stem + "-runs.png")
        assert browser.save_screenshot(str(runs_shot))

        next(a for a in links if a.text == "finetune-bert").click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#power-plot .main-svg")))
        traces = browser.execute_script(
            "const el = document.getElementById('power-plot');"
            "return {data: el.data.length, drawn: el.querySelectorAll('.scatterlayer .trace').length};")
        assert traces["data"] == 3 and traces["drawn"] == 3  # cpu, gpu:0, ram
        assert "finetune-bert" in browser.find_element(By.TAG_NAME, "h1").text
        assert browser.save_screenshot(str(shot))
        print(f"dashboard screenshots: {shot} (run detail), {runs_shot} (run list)")
        assert shot.stat().st_size > 10_000

        browser.get(base + "/")
        for box in wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "input[name=ids]")):
            box.click()
        browser.find_element(By.CSS_SELECTOR, "#compare button").click()
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#compare .main-svg")))
        assert "Runs compared" in browser.page_source
