"""stamp_runtimes: the header line renders as Markdown (bold label, no raw asterisks), and re-stamping is stable."""
import json
import subprocess
import sys
from pathlib import Path

import nbformat
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
OLD_FORM = ("# 99 · Title\n\n<!-- runtime -->**Measured run time:** full mode not yet measured (machine not recorded, );"
            " on a GPU: not yet measured.<!-- /runtime -->\n\nNext paragraph.")


def header_html(source: str) -> str:
    return MarkdownIt("commonmark").render(source)


def stamp(tmp_path, source):
    path = tmp_path / "99_title.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(source)]
    nbformat.write(nb, path)
    times = tmp_path / "times.json"
    times.write_text(json.dumps({"mode": "full", "machine": "Test CPU, 2 cores, load average 0.50 at start",
                                 "date": "2026-12-03", "seconds": {"99_title": 125.0}, "status": {"99_title": "ok"}}))
    subprocess.run([sys.executable, str(ROOT / "tools" / "stamp_runtimes.py"), "--full", str(times),
                    "--outputs", "full", str(path)], check=True)
    return nbformat.read(path, as_version=4).cells[0].source


def test_stamped_header_renders_bold_and_restamping_is_stable(tmp_path):
    # the old form started its line with the comment: CommonMark then reads the line as raw HTML
    assert "**Measured run time:**" in header_html(OLD_FORM)
    once = stamp(tmp_path, OLD_FORM)
    html = header_html(once)
    assert "<strong>Measured run time:</strong>" in html and "**" not in html
    assert "full mode 2.1 min" in once and "outputs below are from a full-mode run" in once
    assert once.count("Measured run time") == 1 and once.endswith("Next paragraph.")
    assert stamp(tmp_path, once) == once


def test_committed_headers_render_bold():
    for path in NOTEBOOKS:
        cell = next(c for c in nbformat.read(path, as_version=4).cells
                    if c.cell_type == "markdown" and "<!-- runtime -->" in c.source)
        html = header_html(cell.source)
        assert "<strong>Measured run time:</strong>" in html, f"{path.name}: the run-time label does not render as bold"
