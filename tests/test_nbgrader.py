"""Real nbgrader on the workbook: generate_assignment accepts every notebook and gives make_student's cells;
`tools/grade.py` (make grade) autogrades the instructor notebooks to full marks and the untouched student versions
to zero on code, with the widget cells run headless, and exports the grades as CSV.

Autograding executes whole notebooks, so it runs on two of them (00: a widget and five exercises; 10: the
shortest); grading the whole workbook is `make grade` (COURSE.md gives its time)."""
import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import grade  # noqa: E402
import make_student as ms  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
GRADED = [ROOT / "notebooks" / "00_foundations.ipynb", ROOT / "notebooks" / "10_protocols.ipynb"]

if importlib.util.find_spec("nbgrader") is None:
    if os.environ.get("CI"):
        pytest.fail("nbgrader is missing: `make install` installs the grading extra", pytrace=False)
    pytest.skip("nbgrader is not installed (pip install -e '.[grading]')", allow_module_level=True)


def test_generate_assignment_agrees_with_make_student(tmp_path):
    course = tmp_path / "course"
    grade.prepare_source(course, NOTEBOOKS)
    grade.nbgrader(["generate_assignment", grade.ASSIGNMENT, "--force"], course)
    release = course / "release" / grade.ASSIGNMENT
    assert (release / "NOTATION.md").exists()
    for path in NOTEBOOKS:
        ours, _ = ms.student_version(nbformat.read(path, as_version=4), path.name)
        theirs = nbformat.read(release / path.name, as_version=4)
        assert [(c.cell_type, c.source) for c in theirs.cells] == [(c.cell_type, c.source) for c in ours.cells], path.name


def test_autograde_full_marks_and_zero(tmp_path):
    submissions = tmp_path / "submissions"
    for student in ("instructor", "untouched"):
        (submissions / student).mkdir(parents=True)
    for path in GRADED:
        nb = nbformat.read(path, as_version=4)
        nbformat.write(nb, submissions / "instructor" / path.name)
        nbformat.write(ms.student_version(nb, path.name)[0], submissions / "untouched" / path.name)
    course = tmp_path / "course"
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "grade.py"), "--submissions", str(submissions),
                          "--out", str(course), *map(str, GRADED)], capture_output=True, text=True, timeout=1500)
    assert run.returncode == 0, run.stderr[-3000:]

    with open(course / "grades-by-notebook.csv") as f:
        rows = {(r["student_id"], r["notebook"]): r for r in csv.DictReader(f)}
    assert set(rows) == {(s, p.stem) for s in ("instructor", "untouched") for p in GRADED}
    for path in GRADED:
        tests = sum(1 for c in nbformat.read(path, as_version=4).cells if ms.is_test(c))
        full, zero = rows["instructor", path.stem], rows["untouched", path.stem]
        assert float(full["max_code_score"]) == tests > 0
        assert float(full["code_score"]) == tests, f"{path.name}: the instructor's solutions must pass every check"
        assert float(zero["code_score"]) == 0, f"{path.name}: the untouched stubs must pass no check"
        assert zero["needs_manual_grade"] == "False"     # unanswered written answers score 0 without a human
    with open(course / "grades.csv") as f:
        totals = {r["student_id"]: r for r in csv.DictReader(f)}
    assert set(totals) == {"instructor", "untouched"} and float(totals["untouched"]["raw_score"]) == 0

    # every cell of the instructor's notebooks ran to the end, the widget cell included: no error, no timeout
    for path in GRADED:
        graded = nbformat.read(course / "autograded" / "instructor" / grade.ASSIGNMENT / path.name, as_version=4)
        errors = [o for c in graded.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, f"{path.name}: {[e['ename'] + ': ' + e['evalue'] for e in errors]}"
        assert all(c.execution_count for c in graded.cells if c.cell_type == "code" and c.source.strip())
