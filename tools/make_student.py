"""Write student versions of the workbook's notebooks: solutions out, everything else kept.

Conventions (nbgrader's markers, without nbgrader):
- a code cell's solution sits between a `### BEGIN SOLUTION` line and a `### END SOLUTION` line; the block
  becomes `# YOUR CODE HERE` + `raise NotImplementedError()` (indented as the BEGIN line), the lines after
  END SOLUTION (the checking asserts) stay, and the cell's outputs and execution count are cleared;
- a markdown cell tagged `solution` (cell.metadata.tags), whose text starts `**Model answer.**`, becomes
  `*Your answer here.*`.
Every other cell is kept as it is, outputs included.

    python tools/make_student.py --out build/student notebooks/*.ipynb
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
MODEL_ANSWER = "**Model answer.**"
STUDENT_ANSWER = "*Your answer here.*"
STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
_MARKER = re.compile(r"^(\s*)### (BEGIN|END) SOLUTION\s*$")


class MarkerError(ValueError):
    """A BEGIN/END SOLUTION marker without its partner (or nested)."""


def strip_code(source: str, where: str = "cell") -> tuple[str, int]:
    """Replace each BEGIN/END SOLUTION block of `source` with the stub; return (new source, blocks replaced).
    Raises MarkerError naming `where` and the line on an unbalanced or nested marker."""
    out, blocks, open_at, indent = [], 0, None, ""
    for n, line in enumerate(source.split("\n"), start=1):
        m = _MARKER.match(line)
        if m and m.group(2) == "BEGIN":
            if open_at is not None:
                raise MarkerError(f"{where}: line {n} opens a solution inside the one opened at line {open_at}")
            open_at, indent = n, m.group(1)
            out.extend(indent + s for s in STUB)
        elif m:  # END
            if open_at is None:
                raise MarkerError(f"{where}: line {n} closes a solution that was never opened ({END!r} without {BEGIN!r})")
            open_at, blocks = None, blocks + 1
        elif open_at is None:
            out.append(line)
    if open_at is not None:
        raise MarkerError(f"{where}: line {open_at} opens a solution that is never closed ({BEGIN!r} without {END!r})")
    return "\n".join(out), blocks


def is_markdown_solution(cell) -> bool:
    return cell.cell_type == "markdown" and "solution" in cell.get("metadata", {}).get("tags", [])


def student_version(nb, name: str = "notebook"):
    """A copy of `nb` with every solution replaced; returns (notebook, number of solutions replaced)."""
    nb = copy.deepcopy(nb)
    replaced = 0
    for i, cell in enumerate(nb.cells):
        where = f"{name} cell {i}"
        if cell.cell_type == "code":
            source, blocks = strip_code(cell.source, where)
            if blocks:
                cell.source, cell.outputs, cell.execution_count = source, [], None
                replaced += blocks
        elif is_markdown_solution(cell):
            cell.source = STUDENT_ANSWER
            cell.pop("attachments", None)
            replaced += 1
        elif cell.cell_type == "markdown" and cell.source.lstrip().startswith(MODEL_ANSWER):
            raise MarkerError(f"{where}: a markdown cell starts {MODEL_ANSWER!r} but is not tagged 'solution'")
    return nb, replaced


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("build/student"))
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
        nbformat.validate(student)
        nbformat.write(student, args.out / path.name)
        print(f"{path.name}: {n} solution(s) replaced -> {args.out / path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
