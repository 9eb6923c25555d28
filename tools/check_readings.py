"""Every reading of numbers has its assertion: list the reading cells whose code cell before asserts nothing.

A *reading cell* is a markdown cell that contains "What the numbers say" (any case) or is tagged `reading`
(cell metadata tags). Its numbers come from the nearest code cell above it; that cell must hold an `assert`
statement or a claim call (hashing_utils.claims: `claim(...)`, `claim_greater(...)`, `hu.claims.claim(...)`, ...),
so that the sentence fails the run when its numbers stop supporting it (notebooks/NN under nbval).

    python tools/check_readings.py notebooks/*.ipynb      # prints each unasserted reading; exit 1 if any
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import nbformat

MARKER = "what the numbers say"
TAG = "reading"


def is_reading(cell) -> bool:
    return cell.cell_type == "markdown" and (MARKER in cell.source.lower() or TAG in cell.metadata.get("tags", []))


def asserts(source: str) -> bool:
    """True if the code holds an assert statement or a call of claim / claim_* (IPython magics ignored)."""
    code = "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:                     # not plain Python: fall back to the words
        return bool(re.search(r"^\s*assert\b|\bclaim\w*\(", source, re.M))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name == "claim" or name.startswith("claim_"):
                return True
    return False


def unasserted_readings(paths) -> list[tuple[str, int, str]]:
    """(notebook name, cell index, first line) of every reading cell without an asserting code cell above it."""
    out = []
    for path in map(Path, paths):
        cells = nbformat.read(path, as_version=4).cells
        for i, cell in enumerate(cells):
            if not is_reading(cell):
                continue
            before = next((c for c in reversed(cells[:i]) if c.cell_type == "code"), None)
            if before is None or not asserts(before.source):
                out.append((path.name, i, cell.source.strip().splitlines()[0][:100]))
    return out


def main(argv=None) -> int:
    paths = argv if argv is not None else sys.argv[1:]
    missing = unasserted_readings(paths)
    for name, i, first in missing:
        print(f"{name} cell {i}: {first}")
    print(f"{len(missing)} reading cell(s) without an assertion in the code cell before them")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
