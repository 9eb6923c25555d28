"""Write the student handout: the notebooks without their solutions, NOTATION.md, the module's wheel and a README.

The notebooks carry nbgrader's metadata (`cell.metadata.nbgrader`) and markers, and this tool applies the same
rules as `nbgrader generate_assignment` (tests/test_nbgrader.py checks that both give the same cells), without
needing nbgrader:
- in a solution cell (`nbgrader.solution`), each region from a line containing `BEGIN SOLUTION` to one containing
  `END SOLUTION` becomes the stub: in code `# YOUR CODE HERE` + `raise NotImplementedError()` (indented as the BEGIN
  line), in markdown `*Your answer here.*` (written answers keep their first line, "**Answer to Exercise N.**");
  a solution cell without a region is replaced whole;
- in a test cell (`nbgrader.grade`, code), each region from `BEGIN HIDDEN TESTS` to `END HIDDEN TESTS` is removed:
  the checks that would give the answer away run only when the instructor grades;
- solution and test cells lose their outputs and execution counts; every other cell is kept as it is, outputs
  included. A marker outside such a cell, or without its partner, stops the build with the notebook, cell and line.

The handout folder (`--out`, default build/student/) holds the notebooks, NOTATION.md (the notebooks link to it),
`wheel/` with the module built offline (`pip wheel --no-deps --no-build-isolation`; `--no-wheel` skips it) and a
README.md for students: how to install the module, run in fast mode, answer and check the exercises.

    python tools/make_student.py --out build/student notebooks/*.ipynb
"""
from __future__ import annotations

import argparse
import copy
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
MODEL_ANSWER = "**Model answer.**"
STUDENT_ANSWER = "*Your answer here.*"
STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]


class MarkerError(ValueError):
    """A solution or hidden-test marker without its partner, nested, or in a cell whose metadata does not allow it."""


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_solution(cell) -> bool:
    return bool(_nbgrader(cell).get("solution"))


def is_test(cell) -> bool:
    return cell.cell_type == "code" and bool(_nbgrader(cell).get("grade")) and not is_solution(cell)


def _regions(source: str, begin: str, end: str, stub: list[str] | None, where: str) -> tuple[str, int]:
    """`source` with each begin..end region replaced by `stub` (indented as the begin line), or removed (stub None);
    returns (new source, regions replaced)."""
    out, regions, open_at = [], 0, None
    for n, line in enumerate(source.split("\n"), start=1):
        if begin in line:
            if open_at is not None:
                raise MarkerError(f"{where}: line {n} opens a region inside the one opened at line {open_at}")
            open_at = n
            indent = re.match(r"\s*", line).group(0)
            out.extend(indent + s for s in stub or [])
        elif end in line:
            if open_at is None:
                raise MarkerError(f"{where}: line {n} closes a region that was never opened ({end!r} without {begin!r})")
            open_at, regions = None, regions + 1
        elif open_at is None:
            out.append(line)
    if open_at is not None:
        raise MarkerError(f"{where}: line {open_at} opens a region that is never closed ({begin!r} without {end!r})")
    return "\n".join(out), regions


def _has_marker(source: str, *markers: str) -> int | None:
    """The first line number (1-based) holding one of `markers`, or None."""
    return next((n for n, line in enumerate(source.split("\n"), 1) if any(m in line for m in markers)), None)


def student_cell(cell, where: str = "cell"):
    """The student version of one cell (a copy); raises MarkerError on a misplaced or unbalanced marker."""
    cell = copy.deepcopy(cell)
    if is_solution(cell):
        stub = STUB if cell.cell_type == "code" else [STUDENT_ANSWER]
        source, n = _regions(cell.source, BEGIN, END, stub, where)
        cell.source = source if n else "\n".join(stub)
    elif (line := _has_marker(cell.source, BEGIN, END)) is not None:
        raise MarkerError(f"{where}: line {line} marks a solution in a cell that is not an nbgrader solution cell")
    elif MODEL_ANSWER in cell.source:
        raise MarkerError(f"{where}: {MODEL_ANSWER!r} outside a solution region")
    if is_test(cell):
        cell.source, _ = _regions(cell.source, BEGIN_HIDDEN, END_HIDDEN, None, where)
    elif (line := _has_marker(cell.source, BEGIN_HIDDEN, END_HIDDEN)) is not None:
        raise MarkerError(f"{where}: line {line} marks hidden tests in a cell that is not an nbgrader test cell")
    if cell.cell_type == "code" and (is_solution(cell) or is_test(cell)):
        cell.outputs, cell.execution_count = [], None
    if cell.cell_type == "markdown" and is_solution(cell):
        cell.pop("attachments", None)
    return cell


def student_version(nb, name: str = "notebook"):
    """A copy of `nb` for students; returns (notebook, number of solution cells replaced)."""
    nb = copy.deepcopy(nb)
    nb.cells = [student_cell(c, f"{name} cell {i}") for i, c in enumerate(nb.cells)]
    return nb, sum(map(is_solution, nb.cells))


def build_wheel(dest: Path, root: Path = ROOT) -> Path:
    """Build the module's wheel offline into `dest` and return its path."""
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.whl"):
        old.unlink()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "-w", str(dest), str(root)], check=True)
    wheels = sorted(dest.glob("hashing_utils-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one hashing_utils wheel in {dest}, found {[w.name for w in wheels]}")
    return wheels[0]


def pip_line(root: Path = ROOT) -> str | None:
    """`pip install "hashing-utils @ git+<Repository>@<ref>"` from pyproject.toml ([project.urls] Repository and
    [tool.workbook] ref), or None where either is missing."""
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    url = meta.get("project", {}).get("urls", {}).get("Repository")
    ref = meta.get("tool", {}).get("workbook", {}).get("ref")
    return f'pip install "hashing-utils @ git+{url.rstrip("/")}@{ref}"' if url and ref else None


def readme(notebooks: list[str], wheel: str | None, pip: str | None) -> str:
    install = []
    if wheel:
        install.append(f"    pip install wheel/{wheel}\n\n(the module's wheel, in this folder; pip fetches PyTorch and the "
                       "module's other dependencies where they are missing).")
    if pip:
        install.append(f"{'Or, with the network' if wheel else 'With the network'}:\n\n    {pip}")
    listing = "\n".join(f"- `{n}`" for n in notebooks)
    return f"""# The Deep Hashing Workbook: student notebooks

## Install

In a fresh virtual environment (Python 3.11 or later):

{chr(10).join(install)}

Then `pip install jupyterlab` if you do not have it. On Colab or Kaggle, upload a notebook: its first code cell
installs the module where it is missing.

## Run

    HASHING_FAST=1 jupyter lab

`HASHING_FAST=1` is fast mode: small real data (digits and a bundled Fashion-MNIST subset), each notebook runs in
about a minute on a laptop CPU. Without it the notebooks use the full data sets (downloaded on first use) and run
for minutes. [NOTATION.md](NOTATION.md) lists the symbols the notebooks share.

## Exercises

Each code exercise is a cell that starts `# Exercise N: set ...`: it names the variables (and their types) that the
locked cell after it checks. Replace `# YOUR CODE HERE` and `raise NotImplementedError()` with your code, run the
cell, then run the check cell: it raises an `AssertionError` while something is wrong. Your instructor's grading
runs further checks that this version does not show, so a passing check is necessary, not sufficient. Written
answers go into the cells headed **Answer to Exercise N.**, in place of *Your answer here.* Do not delete, move or
edit the check cells.

Hand in the notebooks with your answers, keeping their file names:

{listing}
"""


_LINK = re.compile(r"(\]\()([^)\s]+)(\))")


def repository_links(nb, handout: set, folder: Path, root: Path = ROOT):
    """Markdown links of `nb` (a notebook of `folder`) to files the handout does not hold (e.g. ../docs/*.md) point
    at that file in the repository ([project.urls] Repository at [tool.workbook] ref), so none is broken."""
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    url = meta.get("project", {}).get("urls", {}).get("Repository")
    ref = meta.get("tool", {}).get("workbook", {}).get("ref")

    def fix(m):
        target = m.group(2)
        path, _, anchor = target.partition("#")
        if re.match(r"[a-z]+:|#", target) or path in handout or not (url and ref):
            return m.group(0)
        try:
            rel = (folder / path).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return m.group(0)
        return f"{m.group(1)}{url.rstrip('/')}/blob/{ref}/{rel}{'#' + anchor if anchor else ''}{m.group(3)}"

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _LINK.sub(fix, cell.source)
    return nb


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("build/student"))
    ap.add_argument("--no-wheel", action="store_true", help="skip building the module's wheel")
    ap.add_argument("notebooks", nargs="+", type=Path)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        try:
            student, n = student_version(nb, path.name)
        except MarkerError as e:
            print(f"make_student: {e}", file=sys.stderr)
            return 1
        handout = {p.name for p in args.notebooks} | {"NOTATION.md"}
        student = repository_links(student, handout, path.parent)
        nbformat.validate(student)
        nbformat.write(student, args.out / path.name)
        print(f"{path.name}: {n} solution cell(s) replaced -> {args.out / path.name}")
    notation = {p.parent / "NOTATION.md" for p in args.notebooks if (p.parent / "NOTATION.md").exists()}
    for src in notation:
        shutil.copyfile(src, args.out / "NOTATION.md")
    wheel = None if args.no_wheel else build_wheel(args.out / "wheel").name
    (args.out / "README.md").write_text(readme([p.name for p in args.notebooks], wheel, pip_line()))
    print(f"handout in {args.out}/: README.md, NOTATION.md" + (f", wheel/{wheel}" if wheel else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
