"""The rendered site in a real browser: every page loads, no broken image, internal link or anchor, no JavaScript
error (console severity SEVERE), and the maths is typeset by the locally served MathJax 3 (no raw TeX left, no TeX
error). The landing page links every notebook and documentation page; every notebook page has its run links (Colab,
Kaggle, Binder, the .ipynb, the repository), no test marker or bookkeeping in sight, code that wraps instead of
being clipped, and figures whose alt text is their caption; the bibliography is complete and linked; search
snippets show no raw TeX."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import nbformat
import pytest

from .conftest import REPORT, require_browser, serve

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import links  # noqa: E402  (tools/links.py: what the run links must be)

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the site from the committed notebooks (tools/build_book.py) and serve it on 127.0.0.1."""
    require_browser()
    out = tmp_path_factory.mktemp("book")
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "build_book.py"), "--out", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    html = out / "html"
    with serve(html) as base:
        yield html, base


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
    total = sum(p.stat().st_size for p in html.rglob("*") if p.is_file())
    largest = max(all_pages, key=lambda p: (html / p).stat().st_size)
    REPORT.append(f"browser: site {total / 2**20:.1f} MiB in all; largest page {largest} "
                  f"{(html / largest).stat().st_size / 2**10:.0f} KiB (HTML alone)")
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


def test_landing_page(browser, site):
    """A short page (not the README) that links every notebook and every documentation page."""
    html, base = site
    browser.get(urljoin(base, "index.html"))
    state = browser.execute_script("""
        const main = document.querySelector('[role=main]');
        return {hrefs: [...main.querySelectorAll('a[href]')].map(a => a.getAttribute('href')), text: main.innerText};""")
    for nb in NOTEBOOKS:
        assert f"notebooks/{nb.stem}.html" in state["hrefs"], f"landing page does not link {nb.name}"
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert f"docs/{doc.stem}.html" in state["hrefs"], f"landing page does not link docs/{doc.name}"
    assert "notebook 00" in state["text"].lower() and len(state["text"]) < 8000, len(state["text"])


def test_notebook_pages_lead_somewhere(browser, site):
    """Run links, the .ipynb beside the page, nothing of the test machinery shown, no clipped code, captions as alt."""
    html, base = site
    settings = links.settings()
    for path in NOTEBOOKS:
        browser.get(urljoin(base, f"notebooks/{path.stem}.html"))
        state = browser.execute_script("""
            const main = document.querySelector('[role=main]');
            return {runs: [...main.querySelectorAll('div.run-links a')].map(a => [a.textContent, a.getAttribute('href')]),
                    text: main.innerText,
                    alts: [...main.querySelectorAll('div.cell_output img')].map(i => i.alt),
                    clipped: [...main.querySelectorAll('div.cell pre')].filter(p => p.scrollWidth > p.clientWidth + 1)
                             .map(p => p.innerText.slice(0, 60))};""")
        where = path.name
        assert state["runs"] == [list(link) for link in links.run_links(settings, path.name)], where
        assert (html / "notebooks" / path.name).read_bytes() == path.read_bytes(), f"{where}: download is not the notebook"
        for hidden in ("NBVAL_", "results.record(", 'find_spec("hashing_utils")'):
            assert hidden not in state["text"], f"{where}: {hidden!r} is shown"
        assert not state["clipped"], f"{where}: code clipped: {state['clipped'][:3]}"
        captions = links.captions(nbformat.read(path, as_version=4))
        assert state["alts"] and all(a and not a.endswith(".png") for a in state["alts"]), (where, state["alts"])
        assert sum(a.startswith("Figure ") for a in state["alts"]) >= len(captions), (where, state["alts"])


def test_bibliography_complete_and_linked(browser, site):
    """Every work the notebooks cite is in the bibliography; each code address is a link, not text."""
    html, base = site
    browser.get(urljoin(base, "references.html"))
    state = browser.execute_script("""
        const main = document.querySelector('[role=main]');
        const walk = document.createTreeWalker(main, NodeFilter.SHOW_TEXT), bare = [];
        while (walk.nextNode()) { if (/https?:\\/\\//.test(walk.currentNode.data) && !walk.currentNode.parentElement.closest('a')) bare.push(walk.currentNode.data.slice(0, 80)); }
        return {text: main.innerText, code: [...main.querySelectorAll('a[href^="https://github.com/"]')].length, bare: bare};""")
    for cited in ("Sablayrolles", "Gong", "SphereFace", "CosFace", "Charikar", "Yuan", "Zhe", "Hoe", "Arponen",
                  "Kozachenko", "Kulkarni", "Deng", "Rasiwasia", "Jiang", "Luo"):
        assert cited in state["text"], f"the bibliography misses {cited}"
    assert state["code"] >= 6 and not state["bare"], state


def test_search_snippets_without_tex(browser, site):
    html, base = site
    browser.get(urljoin(base, "search.html?q=Hamming+distance"))
    snippets = browser.execute_async_script("""
        const done = arguments[arguments.length - 1], start = Date.now();
        (function poll() {
            const items = [...document.querySelectorAll('ul.search li p.context')];
            const finished = document.querySelector('#search-results p.search-summary');
            if ((finished && items.length) || Date.now() - start > 60000) done(items.map(p => p.textContent));
            else setTimeout(poll, 200);
        })();""")
    assert snippets, "no search result for 'Hamming distance'"
    tex = [t[:80] for t in snippets if re.search(r"\\\(|\\\[|\\[a-zA-Z]+\{|\$\$", t)]
    assert not tex, f"raw TeX in search snippets: {tex[:3]}"


MOVE_EACH_WIDGET = """
const out = [];
for (const root of document.querySelectorAll('.hu-static-widget')) {
    const d = JSON.parse(root.querySelector('script.hu-data').textContent);
    const knobs = [...root.querySelectorAll('[data-knob]')];
    const key = () => knobs.map(k => k.value).join(',');
    const src = () => [...root.querySelectorAll('.hu-figure img')].map(i => i.src).join('|');
    const start = key(), startSrc = src(), defaults = d.defaults.map(String);
    const moves = [];
    // every pre-rendered setting one knob away from the defaults: move that knob there, as a reader would
    for (const target of Object.keys(d.figures)) {
        const t = target.split(','), diff = t.map((v, i) => v !== defaults[i] ? i : -1).filter(i => i >= 0);
        if (diff.length !== 1) continue;
        const i = diff[0];
        knobs.forEach((k, j) => { k.value = defaults[j]; });
        knobs[i].value = t[i];
        knobs[i].dispatchEvent(new Event('change'));
        const label = root.querySelector('#' + knobs[i].id + '-label');
        const shown = label ? label.textContent : knobs[i].options[knobs[i].selectedIndex].text;
        const imgs = [...root.querySelectorAll('.hu-figure img')];
        moves.push({knob: d.names[i], want: d.labels[i][+t[i]], shown: shown, key: key(), target: target,
                    changed: src() !== startSrc,
                    samePicture: JSON.stringify(d.figures[target]) === JSON.stringify(d.figures[start]),
                    missing: root.querySelector('.hu-missing').textContent,
                    loaded: imgs.length > 0 && imgs.every(im => im.src.startsWith('data:image/png'))});
    }
    out.push({names: d.names, settings: Object.keys(d.figures).length, moves: moves,
              bytes: d.images.reduce((s, x) => s + x.length, 0)});
}
return out;
"""


def test_static_widgets_on_every_page(browser, site):
    """Every widget of every notebook has its kernel-free control on the site: each pre-rendered setting one knob away
    from the defaults is reached by moving that knob, which shows the setting's label and swaps in its figure; at
    least one move per widget changes the picture; the inline figures stay within the page budget."""
    from hashing_utils import widgets
    html, base = site
    sizes = []
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        calls = sum("widgets.interact(" in c.source for c in nb.cells if c.cell_type == "code")
        if not calls:
            continue
        browser.get(urljoin(base, f"notebooks/{path.stem}.html"))
        found = browser.execute_script(MOVE_EACH_WIDGET)
        where = path.name
        assert len(found) == calls, f"{where}: {calls} widget calls, {len(found)} static widgets on the page"
        for w in found:
            assert w["moves"], (where, w["names"], "no pre-rendered setting besides the defaults")
            for m in w["moves"]:
                assert m["key"] == m["target"] and m["shown"] == m["want"] and not m["missing"] and m["loaded"], (where, m)
                assert m["changed"] or m["samePicture"], (where, m)
            assert any(m["changed"] for m in w["moves"]), (where, w["names"], "no move changes the figure")
        page_bytes = sum(w["bytes"] for w in found)
        assert page_bytes <= widgets.PAGE_MAX_BYTES, (where, page_bytes)  # base64 bytes, as the budget counts them
        sizes.append(f"{path.stem[:2]} {len(found)} widget(s) {page_bytes / 2**20:.2f} MiB")
    assert sizes, "no notebook has a widget"
    REPORT.append("browser: static widgets moved on every page: " + "; ".join(sizes))
