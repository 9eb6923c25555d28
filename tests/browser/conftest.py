"""Headless Debian chromium for the browser tests, driven by selenium through Debian's chromedriver.

No browser: in CI (env CI set, as .ci/run has it) the tests FAIL; elsewhere they are skipped, and the skip is
printed in a banner at the end of the run so that nobody mistakes it for a pass.
Install: `apt-get install -y chromium chromium-driver` (as root), and `pip install -e ".[book]"`."""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import socket
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
_MISSING: list[str] = []
REPORT: list[str] = []  # measurements the tests add, printed at the end of the run (make test has no -s)
# widget_latency.ipynb is run by test_lab.py inside JupyterLab, not by nbval
collect_ignore_glob = ["*.ipynb"]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    problems = [f"{p} not found" for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).exists() or shutil.which(p))]
    try:
        import selenium  # noqa: F401
    except ImportError:
        problems.append("python package selenium not installed")
    if problems:
        return ("BROWSER TESTS NOT RUN: " + "; ".join(problems) +
                " (install: apt-get install -y chromium chromium-driver; pip install -e '.[book]')")
    return None


def require_browser():
    reason = missing_browser()
    if reason:
        if in_ci():
            pytest.fail(reason + " -- in CI this is a failure, not a skip", pytrace=False)
        _MISSING.append(reason)
        pytest.skip(reason)


def pytest_terminal_summary(terminalreporter):
    for line in REPORT:
        terminalreporter.write_line(line)
    if _MISSING:
        bar = "!" * 100
        terminalreporter.write_line(bar, red=True, bold=True)
        terminalreporter.write_line(_MISSING[0], red=True, bold=True)
        terminalreporter.write_line("browser tests skipped: the site and the widgets were NOT tested in a browser",
                                    red=True, bold=True)
        terminalreporter.write_line(bar, red=True, bold=True)


@contextlib.contextmanager
def serve(folder):
    """A quiet static HTTP server on 127.0.0.1 for `folder`; yields its base URL (ending in '/')."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# one browser per test module: the JupyterLab page keeps polling its server (/api/me ...) after that test has
# stopped the server, and a shared browser then logs those refused requests on the site test's pages
@pytest.fixture(scope="module")
def browser():
    require_browser()
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must not look for a driver on the network
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000", "--no-first-run", "--disable-extensions"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(180)  # a loaded 2-core machine (CI) is slow
    driver.set_script_timeout(180)
    yield driver
    driver.quit()
