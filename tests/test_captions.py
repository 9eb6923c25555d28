"""One caption style (issue 20: figures a student can read). In notebook N every figure is captioned by the markdown
cell right after its code cell, "**Figure N.M — title.** what is drawn", numbered 1, 2, 3, ... in order of
appearance; a code cell draws at most one figure (so each figure has its own caption, and its own alt text on the
site: tools/links.py::captions); no code cell prints a caption; every "Figure N.M" that the notebooks, README.md,
COURSE.md or docs/ cite exists.

Which cells draw a figure is read from the committed PNG outputs AND from the source (`plt.show()`, or a last line
calling a drawing function with `;`, the static call before a widget), so the rule holds both for committed outputs
and for a notebook whose sources changed since it was executed. Widget cells (`hu.widgets.interact`) are not
numbered figures: the static call before them is. Exercise sections are left out: a figure drawn by a model answer
is not part of the student's notebook."""
import ast
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
TEXTS = [ROOT / "README.md", ROOT / "COURSE.md", *sorted((ROOT / "docs").rglob("*.md")),
         *sorted((ROOT / "notebooks").glob("*.md"))]

CAPTION = re.compile(r"\*\*Figure (\d+)\.(\d+) — ")                    # at the very start of the markdown cell
CITED = re.compile(r"\bFigures? (\d+\.\d+(?:(?:,\s*|\s+and\s+|\s*[–-]\s*)\d+\.\d+)*)")
STATIC_CALL = re.compile(r"^[A-Za-z_]\w*\(.*\);\s*$")                  # `show_bits();`: draws, returns nothing shown
EXERCISES = re.compile(r"^#+\s*Exercises\b", re.M)


def pngs(cell) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def drawn_by_source(source: str) -> int:
    if "widgets.interact(" in source:
        return 0
    lines = [line for line in source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    shows = len(re.findall(r"\bplt\.show\(\)", source))
    return shows + (1 if not shows and lines and STATIC_CALL.match(lines[-1]) else 0)


def figures(cell) -> int:
    """How many figures a code cell draws: its committed PNGs or what its source shows, whichever is more."""
    return 0 if "widgets.interact(" in cell.source else max(pngs(cell), drawn_by_source(cell.source))


def string_constants(source: str):
    code = "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        yield source
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def caption_problems(path: Path) -> tuple[list[str], list[tuple[int, int]]]:
    """(problems, captions in order as (N, M)) of one notebook."""
    cells = nbformat.read(path, as_version=4).cells
    n = int(path.name[:2])
    end = next((i for i, c in enumerate(cells) if c.cell_type == "markdown" and EXERCISES.search(c.source)), len(cells))
    problems, found, captioned = [], [], set()
    for i, cell in enumerate(cells):
        if cell.cell_type == "code":
            printed = [s for s in string_constants(cell.source) if re.search(r"Figure \d+\.\d+", s)]
            if printed:
                problems.append(f"cell {i}: a caption in code ({printed[0][:60]!r}); write it as a markdown cell")
            k = figures(cell)
            if i >= end or k == 0:
                continue
            if k > 1:
                problems.append(f"cell {i}: draws {k} figures; split it, one figure per cell, each with its caption")
            after = cells[i + 1] if i + 1 < len(cells) else None
            m = CAPTION.match(after.source.lstrip()) if after is not None and after.cell_type == "markdown" else None
            if m is None:
                problems.append(f"cell {i}: its figure has no '**Figure {n}.M — title.**' markdown cell "
                                "right after it")
            else:
                captioned.add(i + 1)
        elif cell.cell_type == "markdown":
            m = CAPTION.match(cell.source.lstrip())
            if m:
                found.append((int(m[1]), int(m[2])))
                if i not in captioned:
                    problems.append(f"cell {i}: caption Figure {m[1]}.{m[2]} is not right after the code cell "
                                    "of a figure")
    expected = [(n, m) for m in range(1, len(found) + 1)]
    if found != expected:
        problems.append("captions " + ", ".join(f"{a}.{b}" for a, b in found) + " should run "
                        + ", ".join(f"{a}.{b}" for a, b in expected))
    return problems, found


def cited(text: str) -> set[str]:
    return {ref for m in CITED.finditer(text) for ref in re.findall(r"\d+\.\d+", m[1])}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_every_figure_has_its_numbered_markdown_caption(path):
    problems, found = caption_problems(path)
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


def test_every_cited_figure_exists():
    captions = {f"{a}.{b}" for path in NOTEBOOKS for a, b in caption_problems(path)[1]}
    missing = []
    for path in NOTEBOOKS:
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type == "markdown":
                missing += [f"notebooks/{path.name} cell {i}: Figure {r}"
                            for r in sorted(cited(cell.source) - captions)]
    for path in TEXTS:
        missing += [f"{path.relative_to(ROOT)}: Figure {r}" for r in sorted(cited(path.read_text()) - captions)]
    assert not missing, "cited figures with no caption:\n  " + "\n  ".join(missing)


# -- the checker itself, on small notebooks -------------------------------------------------------------------------
def notebook(tmp_path, *cells, name="03_test.ipynb"):
    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        nb.cells.append(nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source))
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def test_the_checker_accepts_the_house_style(tmp_path):
    path = notebook(tmp_path,
                    ("code", "plt.plot([1, 2]); plt.show()"),
                    ("markdown", "**Figure 3.1 — A line.** x against y."),
                    ("code", "def show(bits=32):\n    return plt.figure()\n\nshow();"),
                    ("markdown", "**Figure 3.2 — The widget's static figure.** As Figure 3.1."),
                    ("code", "# NBVAL_IGNORE_OUTPUT\nhu.widgets.interact(show, bits=[16, 32])"),
                    ("markdown", "## Exercises"),
                    ("code", "plt.plot([0]); plt.show()   # a model answer's figure"))
    assert caption_problems(path) == ([], [(3, 1), (3, 2)])


def test_the_checker_finds_each_fault(tmp_path):
    path = notebook(tmp_path,
                    ("code", "plt.show()\nprint(f'Figure 3.1 — a printed caption, {n} points')"),   # printed
                    ("code", "plt.show()\nplt.show()"),                                      # two figures, no caption
                    ("markdown", "Prose, then a caption too late."),
                    ("markdown", "**Figure 3.3 — Orphan.** Numbered out of order too."))
    problems, found = caption_problems(path)
    assert found == [(3, 3)]
    assert [p.split(":")[0] for p in problems] == [
        "cell 0", "cell 0", "cell 1", "cell 1", "cell 3", "captions 3.3 should run 3.1"]
    assert "caption in code" in problems[0] and "2 figures" in problems[2]


def test_the_checker_reads_figures_from_outputs_too(tmp_path):
    path = notebook(tmp_path, ("code", "draw_it()"), ("markdown", "No caption."))
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})]
    nbformat.write(nb, path)
    assert "no '**Figure 3.M" in caption_problems(path)[0][0]


def test_citations_are_read_in_lists():
    assert cited("as Figure 2.1 shows; Figures 3.5 and 3.6, Figures 8.1–8.3; Figure 9.4.") == {
        "2.1", "3.5", "3.6", "8.1", "8.3", "9.4"}


def test_site_alt_text_is_the_markdown_captions_bold_title():
    """tools/links.py::captions (the site's alt text): the markdown caption wins over a stale printed one, and a bold
    title that wraps onto a second line is read whole; a printed caption is still read when no markdown one follows."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("links", ROOT / "tools" / "links.py")
    links = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(links)
    png = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})
    stale = nbformat.v4.new_output("stream", name="stdout", text="Figure 3.9 — an old printed caption\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("plt.show()"),
                nbformat.v4.new_markdown_cell("**Figure 3.1 — A title that\nwraps, with $K$.** Then what is drawn."),
                nbformat.v4.new_code_cell("plt.show()"),
                nbformat.v4.new_markdown_cell("Prose.")]
    nb.cells[0].outputs, nb.cells[2].outputs = [png, stale], [png, stale]
    assert links.captions(nb) == {0: "Figure 3.1 — A title that wraps, with K.",
                                  2: "Figure 3.9 — an old printed caption"}
