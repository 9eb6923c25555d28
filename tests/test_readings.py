"""Every reading of numbers ("What the numbers say" cells, or cells tagged `reading`) has an assertion or a claim
in the code cell before it (tools/check_readings.py); the notebooks' count of unasserted readings may only fall."""
import importlib.util
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
_spec = importlib.util.spec_from_file_location("check_readings", ROOT / "tools" / "check_readings.py")
check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check)

# A ratchet, not a pass: on 2026-12-04 (before the readings of issue 20 were asserted) 19 reading cells across
# the notebooks had no assertion before them (`python tools/check_readings.py notebooks/[0-9]*.ipynb` lists them).
# The count may fall, never rise: a new reading comes with its assertion. Lower this number as readings are
# fixed; at 0 the test demands an assertion before every reading.
UNASSERTED_READINGS_AT_MOST = 19


def notebook(tmp_path, *cells):
    nb = nbformat.v4.new_notebook()
    for kind, source, *tags in cells:
        cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    path = tmp_path / "99_test.ipynb"
    nbformat.write(nb, path)
    return path


def test_the_checker_finds_readings_without_assertions(tmp_path):
    path = notebook(tmp_path,
                    ("code", "x = 1\nprint(x)"),
                    ("markdown", "**What the numbers say.** x is one."),                 # 1: unasserted
                    ("code", "%time y = 2\nassert y == 2"),
                    ("markdown", "Some prose first."),
                    ("markdown", "**What the numbers say.** y is two."),                 # asserted two cells up
                    ("code", "d = hu.claims.claim_greater('a beats b', a, b)"),
                    ("markdown", "a beats b.", "reading"),                                # tagged, claimed
                    ("code", "assert_close = 3   # a name, not an assert statement"),
                    ("markdown", "Reading: three.", "reading"),                           # 8: unasserted
                    ("code", "claim('z is 3', z == 3, z=z)"),
                    ("markdown", "What the numbers say: z is three."))
    assert [(i, first) for _, i, first in check.unasserted_readings([path])] == [
        (1, "**What the numbers say.** x is one."), (8, "Reading: three.")]
    assert check.main([str(path)]) == 1


def test_a_reading_before_any_code_is_unasserted(tmp_path):
    path = notebook(tmp_path, ("markdown", "What the numbers say: nothing ran."))
    assert len(check.unasserted_readings([path])) == 1


def test_unasserted_readings_do_not_grow():
    missing = check.unasserted_readings(NOTEBOOKS)
    listing = "\n".join(f"  {name} cell {i}: {first}" for name, i, first in missing)
    assert len(missing) <= UNASSERTED_READINGS_AT_MOST, (
        f"{len(missing)} reading cells have no assertion in the code cell before them (at most "
        f"{UNASSERTED_READINGS_AT_MOST} allowed; a new reading needs its assert or claim):\n{listing}")
