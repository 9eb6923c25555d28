"""The rendered site in a real browser: every page loads, no broken image or internal link, no JavaScript error
(console severity SEVERE), and the maths is typeset by the locally served MathJax 3 (no raw TeX left, no TeX error)."""
from __future__ import annotations

import functools
import http.server
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

from .conftest import REPORT, free_port, require_browser

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the site from the committed notebooks (tools/build_book.py) and serve it on 127.0.0.1."""
    require_browser()
    out = tmp_path_factory.mktemp("book")
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "build_book.py"), "--out", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    html = out / "html"
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield html, f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def pages(html: Path) -> list[str]:
    return sorted(str(p.relative_to(html)) for p in html.rglob("*.html") if "_static" not in p.parts)


def wait_for_mathjax(driver):
    """True once MathJax 3 has typeset the page (its startup promise resolves after the first typeset)."""
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const start = Date.now();
        (function poll() {
            if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
                MathJax.startup.promise.then(() => done(true), () => done(false));
            } else if (Date.now() - start > 20000) { done(false); }
            else { setTimeout(poll, 50); }
        })();""")


def check_page(driver, base: str, html: Path, page: str) -> list[str]:
    problems = []
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(urljoin(base, page))
    source = (html / page).read_text()
    if 'class="math' in source:
        if not wait_for_mathjax(driver):
            problems.append("MathJax never loaded")
        state = driver.execute_script("""
            const math = [...document.querySelectorAll('.math')];
            return {math: math.length,
                    typeset: document.querySelectorAll('mjx-container').length,
                    raw: math.filter(e => /\\\\\\(|\\\\\\[/.test(e.innerText)).map(e => e.innerText.slice(0, 60)),
                    errors: [...document.querySelectorAll('mjx-merror, [data-mjx-error]')].map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 80)),
                    dollars: prose().filter(t => t.includes('$$')).map(t => t.slice(0, 60))};
            function prose() {  // text outside code blocks and code spans (code may show a literal $$)
                const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT), out = [];
                while (walk.nextNode()) { if (!walk.currentNode.parentElement.closest('pre, code, script')) out.push(walk.currentNode.data); }
                return out;
            }""")
        if state["typeset"] == 0:
            problems.append(f"{state['math']} maths elements, none typeset")
        if state["raw"]:
            problems.append(f"raw TeX left: {state['raw'][:3]}")
        if state["errors"]:
            problems.append(f"TeX errors: {state['errors'][:3]}")
        if state["dollars"]:
            problems.append(f"raw $$ left: {state['dollars'][:3]}")
    broken = driver.execute_script("""
        return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80));""")
    if broken:
        problems.append(f"broken images: {broken}")
    for href in driver.execute_script("return [...document.querySelectorAll('a[href]')].map(a => a.href)"):
        url = urlparse(href)
        if url.scheme not in ("http", "https") or url.netloc != urlparse(base).netloc:
            continue  # external links are not followed (no network in CI)
        target = html / unquote(url.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            problems.append(f"broken link {href}")
        elif url.fragment and target.suffix == ".html":
            if not re.search(rf'id="{re.escape(unquote(url.fragment))}"', target.read_text()):
                problems.append(f"broken anchor {href}")
    severe = [e["message"][:200] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    if severe:
        problems.append(f"console errors: {severe}")
    return problems


def test_every_page(browser, site):
    html, base = site
    all_pages = pages(html)
    assert "index.html" in all_pages and len(all_pages) >= 12
    assert any(p.startswith("notebooks/00_") for p in all_pages)
    report = {page: check_page(browser, base, html, page) for page in all_pages}
    bad = {p: v for p, v in report.items() if v}
    REPORT.append(f"browser: site, {len(all_pages)} pages checked in chromium, {len(bad)} with problems")
    assert not bad, "\n".join(f"{p}: {v}" for p, v in bad.items())


def test_figures_and_references(browser, site):
    """Each notebook page shows its figures (the static call before every widget), and the bibliography links out."""
    html, base = site
    for nb in sorted((html / "notebooks").glob("0*.html")):
        browser.get(urljoin(base, f"notebooks/{nb.name}"))
        n = browser.execute_script("return [...document.images].filter(i => i.naturalWidth > 100).length")
        assert n >= 1, f"{nb.name}: no figure rendered"
    browser.get(urljoin(base, "references.html"))
    links = browser.execute_script("return [...document.querySelectorAll('a[href^=\"https://\"]')].map(a => a.href)")
    assert sum("arxiv.org" in u for u in links) >= 5, links
