"""The widgets in a real JupyterLab: start it on 127.0.0.1, open tests/browser/widget_latency.ipynb in headless
chromium, run it in fast mode, move a slider over cached results and one that retrains CSQ on digits, check each
figure changed (the PNG's bytes differ) and appears once, and report the time from the key press to the redraw.

The workbook's notebooks are heavy to run here; the small notebook uses the same hu.widgets.interact over a
function reading hu.experiments records, and one calling hu.fit("csq", digits, epochs=2). Latencies are
printed and written to $WIDGET_LATENCY_JSON (default build/browser/widget_latency.json); they are measurements,
not assertions (the goals are < 1 s cached and < 3 s retraining on digits): the test only requires a redraw."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import REPORT, free_port, require_browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = Path(__file__).with_name("widget_latency.ipynb")
TOKEN = "workbook-browser-test"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_browser()
    work = tmp_path_factory.mktemp("lab")
    shutil.copy(NOTEBOOK, work / NOTEBOOK.name)
    port = free_port()
    env = {**os.environ, "HASHING_FAST": "1", "HASHING_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "HASHING_CACHE_DIR": str(work / "cache"), "PYTHONPATH": str(ROOT),
           "JUPYTER_CONFIG_DIR": str(work / "config"), "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces")}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
           f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={work}", "--LabApp.expose_app_in_browser=True",
           "--LabApp.news_url=None", "--allow-root", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(work / "lab.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=5)
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail("JupyterLab did not start:\n" + (work / "lab.log").read_text()[-3000:])
            time.sleep(0.5)
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


# JavaScript helpers, run in the page
FIND = """
const name = arguments[0];
const label = [...document.querySelectorAll('.jp-OutputArea .widget-label')].find(l => l.textContent.trim() === name);
if (!label) return null;
const box = label.closest('.widget-vbox');
const imgs = [...box.querySelectorAll('img')];
return {n_images: imgs.length, src: imgs.length ? imgs[imgs.length - 1].src : null,
        ready: imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0)};
"""
ARM = """
const name = arguments[0], before = arguments[1];
const label = [...document.querySelectorAll('.jp-OutputArea .widget-label')].find(l => l.textContent.trim() === name);
const box = label.closest('.widget-vbox');
if (window.__observer) window.__observer.disconnect();  // the previous move's watcher
window.__t0 = null; window.__t1 = null;
document.addEventListener('keydown', () => { if (window.__t0 === null) window.__t0 = performance.now(); },
                          {capture: true, once: true});
const check = () => {
    const imgs = [...box.querySelectorAll('img')];
    if (window.__t0 !== null && window.__t1 === null && imgs.length &&
        imgs[imgs.length - 1].src !== before && imgs.every(i => i.complete && i.naturalWidth > 0)) {
        window.__t1 = performance.now(); window.__after = imgs[imgs.length - 1].src; window.__n = imgs.length;
    }
};
window.__observer = new MutationObserver(() => {
    check(); box.querySelectorAll('img').forEach(i => i.addEventListener('load', check)); });
window.__observer.observe(box, {subtree: true, childList: true, attributes: true});
const handle = box.querySelector('.noUi-handle');
handle.focus();
return document.activeElement === handle;
"""


SHOTS = Path(os.environ.get("WIDGET_LATENCY_JSON", ROOT / "build" / "browser" / "x")).parent


def wait_for(fn, timeout, what, driver=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    if driver is not None:  # what the page showed, for the failure report
        SHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SHOTS / "lab-timeout.png"))
    pytest.fail(f"timed out after {timeout} s waiting for {what} (screenshot: {SHOTS / 'lab-timeout.png'})")


def move(driver, name, key):
    """Press `key` on the slider `name`; return (seconds from the key press to the new figure, images shown)."""
    from selenium.webdriver.common.action_chains import ActionChains

    before = driver.execute_script(FIND, name)["src"]
    assert driver.execute_script(ARM, name, before), f"could not focus the slider {name}"
    ActionChains(driver).send_keys(key).perform()
    wait_for(lambda: driver.execute_script("return window.__t1 !== null"), 120, f"{name} to redraw")
    t0, t1, after, n = driver.execute_script("return [window.__t0, window.__t1, window.__after, window.__n]")
    assert after != before, "the figure did not change"
    return (t1 - t0) / 1000, n


def test_widgets_redraw_in_jupyterlab(browser, lab):
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{lab}/lab/tree/{NOTEBOOK.name}?token={TOKEN}")
    wait_for(lambda: browser.execute_script(
        "const a = window.jupyterapp; const w = a && a.shell.currentWidget;"
        "return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
        " && w.sessionContext.session.kernel.status === 'idle');"), 180, "the notebook's kernel", browser)
    browser.execute_script("return window.jupyterapp.commands.execute('notebook:run-all-cells')")
    for name in ("cached_bits", "retrain_bits"):
        state = wait_for(lambda: (s := browser.execute_script(FIND, name)) and s["ready"] and s, 120,
                         f"the {name} widget's first figure", browser)
        assert state["n_images"] == 1, f"{name}: the figure is shown {state['n_images']} times"
    timings = {}
    timings["cached (32->64 bits)"], n1 = move(browser, "cached_bits", Keys.ARROW_RIGHT)
    timings["cached (64->32 bits)"], n2 = move(browser, "cached_bits", Keys.ARROW_LEFT)
    timings["retrain CSQ on digits (16->32 bits, 2 epochs)"], n3 = move(browser, "retrain_bits", Keys.ARROW_RIGHT)
    assert (n1, n2, n3) == (1, 1, 1), "each redraw shows exactly one figure"
    errors = [e["message"][:200] for e in browser.get_log("browser")
              if e["level"] == "SEVERE" and "widget" in e["message"].lower()]
    assert not errors, errors
    out = Path(os.environ.get("WIDGET_LATENCY_JSON", ROOT / "build" / "browser" / "widget_latency.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({k: round(v, 3) for k, v in timings.items()}, indent=1))
    REPORT.append("browser: widget latency, key press to new figure (JupyterLab, headless chromium, fast mode): " +
                  "; ".join(f"{k} {v:.2f} s" for k, v in timings.items()))
