"""hu.widgets' static version in headless chromium with no kernel: moving a slider or a menu changes its label (the
real value) and its image; from file:// and over HTTP, as a bare page and as a page that Sphinx + myst-nb built
from a notebook holding the widget's output (the site's path: the live-widget view dropped, the text/html kept).

The page is built here from a small drawing function (fast); the size budget is tested in tests/test_widgets.py."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import require_browser, serve

ROOT = Path(__file__).resolve().parents[2]


def draw(bits=32, margin=0.2, variant="cos"):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, margin * bits / 32], color="C0" if variant == "cos" else "C3")
    ax.set_title(f"{bits} bits, m={margin:g}, {variant}")
    return fig


@pytest.fixture(scope="module")
def bundle():
    import matplotlib
    matplotlib.use("Agg")
    import ipywidgets as w

    from hashing_utils import widgets
    # 3 x 6 x 2 = 36 settings > STATIC_MAX_FIGURES: the one-at-a-time subset, so a move can reset the others
    margin = w.FloatSlider(min=0.0, max=0.5, step=0.1, value=0.2, description="margin")
    return widgets.Panel(draw, bits=[16, 32, 64], margin=margin, variant=["arc", "cos"]).bundle()


@pytest.fixture(scope="module")
def pages(bundle, tmp_path_factory):
    """{'bare': path, 'myst-nb': path} of the two pages, in one folder served over HTTP too."""
    import nbformat
    from hashing_utils.widgets import WIDGET_MIME
    root = tmp_path_factory.mktemp("static-widgets")
    (root / "bare.html").write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>static widget</title>"
                                    f"</head><body>{bundle['text/html']}</body></html>")
    src = root / "src"
    src.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell("hu.widgets.interact(draw, bits=[16, 32, 64], ...)")
    cell.outputs = [nbformat.v4.new_output("display_data", data=bundle)]
    nb.cells = [nbformat.v4.new_markdown_cell("# A widget page"), cell]
    nbformat.write(nb, src / "index.ipynb")
    # myst-nb ranks the widget view first; the site drops it (no kernel, no widget JavaScript) for the html
    (src / "conf.py").write_text(f'extensions = ["myst_nb"]\nnb_execution_mode = "off"\nnb_ipywidgets_js = {{}}\n'
                                 f'nb_mime_priority_overrides = [("html", "{WIDGET_MIME}", None)]\n'
                                 f'html_theme = "basic"\n')
    run = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", str(src), str(root / "site")],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return {"bare": root / "bare.html", "myst-nb": root / "site" / "index.html"}


@pytest.fixture(scope="module")
def server(pages):
    with serve(pages["bare"].parent) as base:
        yield base.rstrip("/")


STATE = """
const root = document.querySelector('.hu-static-widget');
const out = [...root.querySelectorAll('[data-knob]')].map(k => {
    const o = root.querySelector('#' + k.id + '-label');
    return [k.value, o ? o.textContent : k.options[k.selectedIndex].text]; });
const imgs = [...root.querySelectorAll('.hu-figure img')];
return {knobs: out, src: imgs.map(i => i.src), alt: imgs.map(i => i.alt),
        ok: imgs.every(i => i.complete && i.naturalWidth > 0),
        note: root.querySelector('.hu-note').textContent, missing: root.querySelector('.hu-missing').textContent};
"""


@pytest.mark.parametrize("page", ["bare", "myst-nb"])
@pytest.mark.parametrize("via", ["file", "http"])
def test_static_slider_and_menu_swap_label_and_image(browser, pages, server, page, via):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    require_browser()
    url = pages[page].as_uri() if via == "file" else f"{server}/{pages[page].relative_to(pages['bare'].parent)}"
    browser.get(url)
    s0 = browser.execute_script(STATE)
    assert s0["knobs"] == [["1", "32"], ["2", "0.20"], ["1", "cos"]] and s0["ok"], s0
    assert s0["note"].startswith("Pre-rendered when the notebook ran"), "the inline script did not run"
    assert len(browser.find_elements(By.CSS_SELECTOR, "script[src*='widget'], script[src*='jupyter']")) == 0

    bits = browser.find_element(By.CSS_SELECTOR, ".hu-static-widget input[data-knob='0']")
    bits.send_keys(Keys.ARROW_RIGHT)                               # 32 -> 64
    s1 = browser.execute_script(STATE)
    assert s1["knobs"][0] == ["2", "64"] and s1["ok"] and s1["src"] != s0["src"] and not s1["missing"], s1
    assert s0["alt"] == ["Figure drawn by draw at bits=32, margin=0.20, variant=cos"]
    assert s1["alt"] == ["Figure drawn by draw at bits=64, margin=0.20, variant=cos"]

    margin = browser.find_element(By.CSS_SELECTOR, ".hu-static-widget input[data-knob='1']")
    margin.send_keys(Keys.ARROW_LEFT)                              # 0.2 -> 0.1: bits back to its default
    s2 = browser.execute_script(STATE)
    assert s2["knobs"][:2] == [["1", "32"], ["1", "0.10"]] and s2["src"] not in (s0["src"], s1["src"]), s2

    Select(browser.find_element(By.CSS_SELECTOR, ".hu-static-widget select")).select_by_visible_text("arc")
    s3 = browser.execute_script(STATE)
    assert s3["knobs"] == [["1", "32"], ["2", "0.20"], ["0", "arc"]] and s3["src"] not in (s0["src"], s2["src"]), s3
    Select(browser.find_element(By.CSS_SELECTOR, ".hu-static-widget select")).select_by_visible_text("cos")
    assert browser.execute_script(STATE)["src"] == s0["src"]       # back at the defaults: the first figure
    errors = [e["message"][:200] for e in browser.get_log("browser")
              if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert not errors, errors
