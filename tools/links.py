"""Links that open the workbook where its readers are, all built from pyproject.toml.

The project's address is kept in one place, `[project.urls] Repository` (a GitHub URL), and the git ref the links
open and the install cell pins in another, `[tool.workbook] ref` (a release tag or a commit). From them this tool
writes:
- in every notebook, right after the title cell, a markdown cell with Colab, Kaggle and Binder badges (tag
  `run-links`) and the install cell (tag `install`), which must be the notebook's first code cell: where
  `hashing_utils` is missing (Colab, Kaggle) it runs `pip install "hashing-utils @ git+<Repository>@<ref>"`;
  in a checkout, or wherever the module imports (Binder, `make test`), it installs nothing and prints nothing;
- the README's notebook table, between `<!-- notebooks:begin -->` and `<!-- notebooks:end -->`, and its figure
  (README_FIGURE: a committed notebook output, copied byte for byte);
- and, for tools/build_book.py, each notebook page's run links (`run_links`).

    python tools/links.py           # rewrite what is out of date (running it twice changes nothing)
    python tools/links.py --check   # exit 1 and name each out-of-date file (a test runs this)

Only sources change (nbformat round trip): outputs stay as committed.
"""
from __future__ import annotations

import argparse
import base64
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BADGE_TAG, INSTALL_TAG = "run-links", "install"
TABLE_BEGIN, TABLE_END = "<!-- notebooks:begin -->", "<!-- notebooks:end -->"
BADGES = {  # label -> badge image (what each service documents for its "open in" button)
    "Colab": "https://colab.research.google.com/assets/colab-badge.svg",
    "Kaggle": "https://kaggle.com/static/images/open-in-kaggle.svg",
    "Binder": "https://mybinder.org/badge_logo.svg",
}


@dataclass(frozen=True)
class Settings:
    repository: str  # https://github.com/OWNER/REPO
    owner: str
    repo: str
    ref: str         # tag or commit the links open and the install cell pins


def settings(root: Path = ROOT) -> Settings:
    """Read `[project.urls] Repository` and `[tool.workbook] ref` from root/pyproject.toml."""
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    try:
        url = meta["project"]["urls"]["Repository"].rstrip("/")
        ref = meta["tool"]["workbook"]["ref"]
    except KeyError as e:
        raise SystemExit(f"pyproject.toml: missing {e} ([project.urls] Repository and [tool.workbook] ref)")
    m = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(\.git)?", url)
    if not m:
        raise SystemExit(f"pyproject.toml: Repository must be https://github.com/OWNER/REPO, got {url!r}")
    if not re.fullmatch(r"[\w./-]+", ref):
        raise SystemExit(f"pyproject.toml: [tool.workbook] ref must be a tag, branch or commit, got {ref!r}")
    return Settings(f"https://github.com/{m[1]}/{m[2]}", m[1], m[2], ref)


def notebooks(root: Path = ROOT) -> list[Path]:
    return sorted((root / "notebooks").glob("[0-9]*.ipynb"))


# -- URLs -------------------------------------------------------------------------------------------------------
def github_url(s: Settings, name: str) -> str:
    return f"{s.repository}/blob/{s.ref}/notebooks/{name}"


def colab_url(s: Settings, name: str) -> str:
    return f"https://colab.research.google.com/github/{s.owner}/{s.repo}/blob/{s.ref}/notebooks/{name}"


def kaggle_url(s: Settings, name: str) -> str:
    return f"https://kaggle.com/kernels/welcome?src={github_url(s, name)}"


def binder_url(s: Settings, name: str) -> str:
    return f"https://mybinder.org/v2/gh/{s.owner}/{s.repo}/{s.ref}?labpath={quote('notebooks/' + name)}"


def launch_urls(s: Settings, name: str) -> dict[str, str]:
    return {"Colab": colab_url(s, name), "Kaggle": kaggle_url(s, name), "Binder": binder_url(s, name)}


def run_links(s: Settings, name: str) -> list[tuple[str, str]]:
    """A notebook page's links on the site: where to run it, the notebook itself (the site serves a copy beside
    the page) and the repository."""
    return ([(f"Open in {k}", v) for k, v in launch_urls(s, name).items()]
            + [("Download .ipynb", name), ("Repository", s.repository)])


# -- generated text ---------------------------------------------------------------------------------------------
def badge_line(s: Settings, name: str, refs: bool = False) -> str:
    """Markdown badges; with refs=True the images are reference links ([colab] ...) defined once by the caller."""
    return " ".join(f"[![{k}]{'[' + k.lower() + ']' if refs else '(' + BADGES[k] + ')'}]({url})"
                    for k, url in launch_urls(s, name).items())


def install_source(s: Settings) -> str:
    return f'''\
# Run anywhere: on Colab or Kaggle this installs the workbook's module, pinned to {s.ref}; in a checkout, or
# wherever `hashing_utils` already imports (Binder, `make install`), it installs nothing and prints nothing.
import importlib.util, pathlib, subprocess, sys
if importlib.util.find_spec("hashing_utils") is None:
    if (pathlib.Path.cwd().parent / "hashing_utils" / "__init__.py").exists():   # a clone without `make install`
        sys.path.insert(0, str(pathlib.Path.cwd().parent))
    else:  # keep the runtime's ipywidgets (Colab ships 7.7 and does not support 8): pip must not upgrade it
        from importlib.metadata import version
        pins = [f"ipywidgets=={{version('ipywidgets')}}"] if importlib.util.find_spec("ipywidgets") else []
        subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                        "hashing-utils @ git+{s.repository}@{s.ref}", *pins], check=True)
        importlib.invalidate_caches()  # the import in the next cells must see the package just installed'''


def badge_source(s: Settings, name: str) -> str:
    return (badge_line(s, name) + "\n\n"
            f"*Run it in the cloud (the first code cell installs the module there; Binder runs fast mode) or "
            f"[on your machine]({s.repository}#readme).*")


def readme_table(s: Settings, root: Path = ROOT) -> str:
    rows = ["| notebook | run it |", "|---|---|"]
    for path in notebooks(root):
        title = nbformat.read(path, as_version=4).cells[0].source.splitlines()[0].lstrip("# ").strip()
        rows.append(f"| [{title}](notebooks/{path.name}) | {badge_line(s, path.name, refs=True)} |")
    defs = [f"[{k.lower()}]: {url}" for k, url in BADGES.items()]
    return "\n".join([TABLE_BEGIN, "", *rows, "", *defs, "", TABLE_END])


# -- figures ----------------------------------------------------------------------------------------------------
README_FIGURE = ("00_foundations.ipynb", "Figure 0.2", "docs/figures/hamming-lsh-csq.png")
_CAPTION = re.compile(r"^\**(Figure \d+\.\d+\b[^\n]*)", re.M)
_BOLD_CAPTION = re.compile(r"\*\*(Figure \d+\.\d+\b[^*]*)\*\*")


def plain(text: str) -> str:
    """Markdown and TeX reduced to plain text (for alt text): no emphasis, no dollars, no backslash commands."""
    text = re.sub(r"\\(?:mathrm|operatorname|text|mathbf)\{([^}]*)\}", r"\1", text)
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text)
    return re.sub(r"\s+", " ", re.sub(r"[*$_`{}]", "", text)).strip()


def captions(nb) -> dict[int, str]:
    """Index of each code cell with an image -> its numbered caption ("Figure N.M — ..."), read from the markdown
    cell right after it (the workbook's one caption style, tests/test_captions.py) or, failing that, from a caption
    the cell prints (older notebooks); cells with no numbered caption are left out."""
    out = {}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not any("image/png" in o.get("data", {}) for o in cell.outputs):
            continue
        after = nb.cells[i + 1] if i + 1 < len(nb.cells) else None
        md = after.source.lstrip() if after is not None and after.cell_type == "markdown" else ""
        bold = _BOLD_CAPTION.match(md)  # a markdown caption's bold lead is its title (it may wrap)
        md = bold or _CAPTION.match(md)
        printed = [m[1] for o in cell.outputs if o.get("output_type") == "stream"
                   for m in [_CAPTION.search(o.get("text", ""))] if m]
        text = md[1] if md else printed[0] if printed else None
        if text:
            out[i] = plain(text)
    return out


def figure_png(root: Path = ROOT) -> bytes:
    """The README's figure: the committed PNG output of the cell that README_FIGURE's caption describes."""
    name, label, _ = README_FIGURE
    nb = nbformat.read(root / "notebooks" / name, as_version=4)
    for i, caption in captions(nb).items():
        if caption.startswith(label + " "):
            png = next(o["data"]["image/png"] for o in nb.cells[i].outputs if "image/png" in o.get("data", {}))
            return base64.b64decode(png)
    raise SystemExit(f"notebooks/{name}: no image captioned {label!r} for the README")


# -- applying them ----------------------------------------------------------------------------------------------
def _cell(nb, tag):
    return next((c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])), None)


def updated_notebook(nb, s: Settings, name: str):
    """`nb` with its badge cell and install cell current (inserted after the title cell when missing)."""
    for pos, tag, kind, source in ((1, BADGE_TAG, "markdown", badge_source(s, name)),
                                   (2, INSTALL_TAG, "code", install_source(s))):
        cell = _cell(nb, tag)
        if cell is None:
            make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
            cell = make(source, metadata={"tags": [tag]})
            cell.id = f"{tag}-cell"
            nb.cells.insert(pos, cell)
        cell.source = source
    return nb


def updated_readme(text: str, s: Settings, root: Path = ROOT) -> str:
    span = re.compile(re.escape(TABLE_BEGIN) + ".*?" + re.escape(TABLE_END), re.S)
    if not span.search(text):
        raise SystemExit(f"README.md: no {TABLE_BEGIN} ... {TABLE_END} span for the notebook table")
    return span.sub(lambda _: readme_table(s, root), text)


def sync(root: Path = ROOT, check: bool = False) -> list[Path]:
    """Bring every notebook and the README up to date (or, with check, only report); return the stale files."""
    s, stale = settings(root), []
    for path in notebooks(root):
        before = path.read_text()
        nb = updated_notebook(nbformat.read(path, as_version=4), s, path.name)
        after = nbformat.writes(nb)
        after += "" if after.endswith("\n") else "\n"   # as nbformat.write ends the file
        if after != before:
            stale.append(path)
            if not check:
                path.write_text(after)
    figure = root / README_FIGURE[2]
    png = figure_png(root)
    if not figure.exists() or figure.read_bytes() != png:
        stale.append(figure)
        if not check:
            figure.parent.mkdir(parents=True, exist_ok=True)
            figure.write_bytes(png)
    readme = root / "README.md"
    text = readme.read_text()
    new = updated_readme(text, s, root)
    if new != text:
        stale.append(readme)
        if not check:
            readme.write_text(new)
    return stale


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is out of date")
    ap.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    stale = sync(args.root, check=args.check)
    for path in stale:
        rel = path.relative_to(args.root)
        print(f"{rel}: {'out of date (run python tools/links.py)' if args.check else 'updated'}")
    return 1 if (stale and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
