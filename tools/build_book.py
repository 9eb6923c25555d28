"""Build the workbook's static site (`make book`) from the committed, executed notebooks; nothing is re-run.

Stages the sources into <out>/src, then runs Sphinx with book/conf.py (staged beside them) into <out>/html:
- book/index.md, a short landing page, with the list of notebooks and of documentation pages filled in;
- COURSE.md as the course map, docs/*.md (every page there, in DOC_ORDER), NOTATION.md and the references page; a
  relative link to a file the site does not hold becomes a link to that file in the repository;
- each notebook as the site shows it (`static_notebook`): a run-links line under the title (Colab, Kaggle, Binder,
  the .ipynb, the repository; tools/links.py builds them from pyproject.toml) in place of the badge cell; the install
  cell and bookkeeping (`hu.results.record(...)`) hidden; `# NBVAL_...` test markers stripped from the code; each
  figure's alt text taken from its numbered caption; live-widget outputs (they need a kernel) replaced by a note.
After the build the committed notebooks are copied beside their pages, for the download links.

    python tools/build_book.py --out build/book
"""
from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import links  # noqa: E402  (tools/links.py: launch links and figure captions)

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


_NBVAL = re.compile(r"^[ \t]*# NBVAL_\w+[^\n]*\n?", re.M)


def without_bookkeeping(source: str) -> str:
    """`source` without its `hu.results.record(...)` statements (what `make workbook` collects, not the lesson)."""
    if "results.record(" not in source:
        return source
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: leave the cell as it is
        return source
    drop = set()
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if isinstance(call, ast.Call) and ast.unparse(call.func).endswith("results.record"):
            drop.update(range(node.lineno, node.end_lineno + 1))
    return "\n".join(line for i, line in enumerate(source.splitlines(), 1) if i not in drop).strip("\n")


def add_tag(cell, tag):
    tags = cell.metadata.setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


def run_links_html(name: str, settings) -> str:
    items = " ".join(f'<a href="{url}"' + (" download" if url == name else "") + f">{label}</a>"
                     for label, url in links.run_links(settings, name))
    return f'<div class="run-links">\n<strong>Run it:</strong> {items}\n</div>'


def section_id(fragment: str) -> str:
    """Jupyter and GitHub anchor a heading as its text with '-' for spaces (#The-paper-and-the-public-code);
    Sphinx's section ids are lower-case slugs (#the-paper-and-the-public-code)."""
    return re.sub(r"[^\w-]", "", fragment.lower()).strip("-")


_NB_ANCHOR = re.compile(r"(\]\([^)\s#]*\.ipynb#)([^)\s]+)(\))")


def sphinx_anchors(text: str) -> str:
    """Links to a section of a notebook, `[..](NN_name.ipynb#Heading-Text)`, with Sphinx's section id."""
    return _NB_ANCHOR.sub(lambda m: m[1] + section_id(m[2]) + m[3], text)


def static_notebook(nb, name: str = "", settings=None):
    """`nb` as the site shows it: display maths as blocks (as Jupyter renders it), run links under the title (for
    `name`, from `settings`), install cell and bookkeeping hidden, test markers stripped, alt text from captions,
    widgets shown by their static version (slider/menu over pre-rendered figures; WIDGET_NOTE where a live widget has none) and the saved widget state dropped (it would be dead)."""
    captions = links.captions(nb)
    heading = ""
    for i, cell in enumerate(nb.cells):
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "markdown":
            if links.BADGE_TAG in tags:
                cell.source = ""  # the badges' images would need the network: text links go under the title
                add_tag(cell, "remove-cell")
                continue
            cell.source = sphinx_anchors(display_math_as_blocks(cell.source))
            found = re.findall(r"^#{1,4}\s+(.+)$", cell.source, re.M)
            heading = found[-1] if found else heading
        if cell.cell_type != "code":
            continue
        if links.INSTALL_TAG in tags:
            add_tag(cell, "remove-cell")
        cell.source = without_bookkeeping(_NBVAL.sub("", cell.source))
        if not cell.source.strip():
            add_tag(cell, "remove-cell")  # nothing left but bookkeeping
        if any("image/png" in o.get("data", {}) for o in cell.outputs):
            alt = captions.get(i) or f"Figure of notebook {name[:2]}, section {links.plain(heading)}"
            cell.metadata.setdefault("mystnb", {}).setdefault("image", {})["alt"] = alt
        outputs = []
        for out in cell.outputs:
            data = out.get("data", {})
            if WIDGET_MIME in data and "text/html" in data:  # hu.widgets' static version (docs/widgets.md): keep it
                out = nbformat.v4.new_output("display_data", data={k: v for k, v in data.items() if k != WIDGET_MIME})
            elif WIDGET_MIME in data:  # a live widget with no static version: a note
                out = nbformat.v4.new_output("display_data", data={"text/markdown": WIDGET_NOTE})
            outputs.append(out)
        cell.outputs = outputs
    if settings is not None:  # run links right under the title line
        title, _, rest = nb.cells[0].source.partition("\n")
        nb.cells[0].source = f"{title}\n\n{run_links_html(name, settings)}\n\n{rest}"
    nb.metadata.pop("widgets", None)
    return nb


_MD_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")


def site_links(text: str, original: Path, staged: Path, staged_of: dict, settings, root: Path = ROOT) -> str:
    """Relative links of a markdown page staged from `original` to `staged`: to the staged copy where the site has
    the target (staged_of: original path -> staged path), else to the file in the repository."""
    def fix(m):
        target = m[2]
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            return m[0]
        path, _, fragment = target.partition("#")
        dest = (original.parent / path).resolve()
        if dest in staged_of:
            new = os.path.relpath(staged_of[dest], staged.parent)
            if dest.suffix == ".ipynb" and fragment:
                fragment = section_id(fragment)
        else:
            rel = dest.relative_to(root.resolve()).as_posix()
            new = f"{settings.repository}/{'tree' if dest.is_dir() else 'blob'}/{settings.ref}/{rel}"
        return m[1] + new + (f"#{fragment}" if fragment else "") + m[3]
    return _MD_LINK.sub(fix, text)


def title_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        return nbformat.read(path, as_version=4).cells[0].source.splitlines()[0].lstrip("# ").strip()
    return next(line.lstrip("# ").strip() for line in path.read_text().splitlines() if line.startswith("# "))


# the documentation pages in reading order; any other page in docs/ (e.g. one another change adds) follows, by name
DOC_ORDER = ["install", "running", "data", "evaluation", "benchmark", "ablation", "paper-vs-code", "experiments", "gpu", "protocols",
             "widgets", "module", "instructors", "grading", "contributing"]


def doc_pages(root: Path = ROOT) -> list[Path]:
    """Every docs/*.md, in DOC_ORDER first."""
    rank = {name: i for i, name in enumerate(DOC_ORDER)}
    return sorted((root / "docs").glob("*.md"), key=lambda p: (rank.get(p.stem, len(rank)), p.stem))


def index_page(template: str, notebook_paths: list[Path], doc_paths: list[Path]) -> str:
    """The landing page: book/index.md with its notebook and documentation lists filled in, then the navigation."""
    nb_list = "\n".join(f"- [{title_of(p)}](notebooks/{p.name})" for p in notebook_paths)
    doc_list = "\n".join(f"- [{title_of(p)}](docs/{p.name})" for p in doc_paths)
    page = template.replace("<!-- notebooks -->", nb_list).replace("<!-- docs -->", doc_list)
    toc = [("The notebooks", [f"notebooks/{p.stem}" for p in notebook_paths] + ["notebooks/NOTATION"]),
           ("Course and documentation", ["course"] + [f"docs/{p.stem}" for p in doc_paths]),
           ("References", ["references"])]
    for caption, entries in toc:
        page += (f"\n```{{toctree}}\n:caption: {caption}\n:maxdepth: 1\n:hidden:\n\n" + "\n".join(entries) + "\n```\n")
    return page


def stage(src: Path, root: Path = ROOT) -> list[str]:
    """Write the site's sources into `src`; return the pages in navigation order."""
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    (src / "docs").mkdir()
    settings = links.settings(root)
    nb_paths = notebooks(root)
    doc_paths = doc_pages(root)
    pages = [f"notebooks/{p.stem}" for p in nb_paths] + ["notebooks/NOTATION", "course"]
    pages += [f"docs/{p.stem}" for p in doc_paths] + ["references"]
    staged_of = {(root / "README.md").resolve(): src / "index.md",
                 (root / "COURSE.md").resolve(): src / "course.md",
                 (root / "notebooks" / "NOTATION.md").resolve(): src / "notebooks" / "NOTATION.md"}
    staged_of.update({p.resolve(): src / "notebooks" / p.name for p in nb_paths})
    staged_of.update({p.resolve(): src / "docs" / p.name for p in doc_paths})
    for path in nb_paths:
        nb = static_notebook(nbformat.read(path, as_version=4), path.name, settings)
        nbformat.write(nb, src / "notebooks" / path.name)
    for original in [root / "COURSE.md", root / "notebooks" / "NOTATION.md", *doc_paths]:
        staged = staged_of[original.resolve()]
        staged.write_text(site_links(original.read_text(), original, staged, staged_of, settings, root))
    for name in ("conf.py", "favicon.svg", "references.md", "references.bib"):
        shutil.copy(root / "book" / name, src / name)
    shutil.copytree(root / "book" / "_static", src / "_static")
    (src / "index.md").write_text(index_page((root / "book" / "index.md").read_text(), nb_paths, doc_paths))
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
    for path in notebooks():  # the download links: each committed notebook beside its page
        shutil.copy(path, html / "notebooks" / path.name)
    print(f"site: {html / 'index.html'} ({len(pages) + 1} pages; open it in a browser)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
