"""Build the workbook's static site (`make book`) from the committed, executed notebooks; nothing is re-run.

Stages the sources into <out>/src (README.md as the landing page with the navigation's table of contents,
COURSE.md as the course map, the notebooks, NOTATION.md, the references page), then runs Sphinx with
book/conf.py (staged beside them) into <out>/html. In the staged notebooks each live-widget output (an ipywidgets view, which needs
a running kernel) is replaced by a short note: the static figure drawn by the cell before it stays on the page.

    python tools/build_book.py --out build/book
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = ("*Interactive controls appear here when the notebook runs in JupyterLab (`make lab`); "
               "the figure above is the same drawing at the controls' default values.*")


def notebooks(root: Path = ROOT) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9]*.ipynb"))


_DISPLAY_MATH = re.compile(r"[ \t]*\$\$(.+?)\$\$[ \t]*", re.S)


def display_math_as_blocks(markdown: str) -> str:
    """Put each `$$...$$` on its own paragraph. Jupyter lifts maths out before parsing the markdown, so a
    display formula may follow text on the same line or have lines starting `+`; MyST would read those as
    text and as list items, leaving raw TeX on the page."""
    return _DISPLAY_MATH.sub(lambda m: "\n\n$$" + m.group(1).strip() + "$$\n\n", markdown)


def static_notebook(nb):
    """`nb` as the site shows it: display maths as blocks (as Jupyter renders it), widget views replaced by
    WIDGET_NOTE and the saved widget state dropped (it would be dead)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = display_math_as_blocks(cell.source)
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.outputs:
            if WIDGET_MIME in out.get("data", {}):
                out = nbformat.v4.new_output("display_data", data={"text/markdown": WIDGET_NOTE})
            outputs.append(out)
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return nb


def index_page(readme: str, pages: list[str]) -> str:
    toc = "\n".join(pages)
    readme = readme.replace("](COURSE.md)", "](course.md)")   # the course map is the page course.md on the site
    return f"{readme.rstrip()}\n\n```{{toctree}}\n:caption: The workbook\n:maxdepth: 1\n\n{toc}\n```\n"


def stage(src: Path, root: Path = ROOT) -> list[str]:
    """Write the site's sources into `src`; return the pages in navigation order."""
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    pages = []
    if (root / "COURSE.md").exists():
        shutil.copy(root / "COURSE.md", src / "course.md")
        pages.append("course")
    for path in notebooks(root):
        nb = static_notebook(nbformat.read(path, as_version=4))
        nbformat.write(nb, src / "notebooks" / path.name)
        pages.append(f"notebooks/{path.stem}")
    shutil.copy(root / "notebooks" / "NOTATION.md", src / "notebooks" / "NOTATION.md")
    pages.append("notebooks/NOTATION")
    for name in ("conf.py", "favicon.svg", "references.md", "references.bib"):
        shutil.copy(root / "book" / name, src / name)
    pages.append("references")
    (src / "index.md").write_text(index_page((root / "README.md").read_text(), pages))
    # MathJax 3, served from the site itself (no CDN: CI and many lecture rooms have no network): the SVG
    # combined component and what it may load (TeX extensions, the menu, assistive MathML), about 5 MB
    import mathjax  # the django-static-mathjax wheel: MathJax's own files, nothing Django-specific is used
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    dest = src / "_static" / "mathjax"
    dest.mkdir(parents=True)
    shutil.copy(es5 / "tex-svg.js", dest)
    for part in ("input", "output/svg", "ui", "a11y", "adaptors"):
        if (es5 / part).exists():
            shutil.copytree(es5 / part, dest / part)
    return pages


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "book")
    args = ap.parse_args(argv)
    src, html = args.out / "src", args.out / "html"
    pages = stage(src)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-d",
           str(args.out / "doctrees"), str(src), str(html)]
    run = subprocess.run(cmd)
    if run.returncode:
        return run.returncode
    print(f"site: {html / 'index.html'} ({len(pages) + 1} pages; open it in a browser)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
