"""Autograde students' notebooks with nbgrader and write the grades as CSV (`make grade SUBMISSIONS=folder`).

SUBMISSIONS holds one folder per student, named by the student's id, with that student's notebooks under their
handout names (e.g. submissions/ada/00_foundations.ipynb). The course folder (`--out`, default build/grading/) is
nbgrader's: source/workbook/ gets the instructor notebooks (and NOTATION.md), `nbgrader generate_assignment`
writes release/workbook/ (the same notebooks as `make student`), each submission is copied to
submitted/<student>/workbook/, `nbgrader autograde` runs it in fast mode (nbgrader_config.py: 600 s per cell)
into autograded/, and two CSV files are written:
- grades.csv: nbgrader's export, one row per student (raw_score, score, max_score over the whole workbook);
- grades-by-notebook.csv: one row per student and notebook: the code score (autograded test cells), the written
  answers' score and whether they still need grading by hand (`nbgrader formgrader`, see COURSE.md).

    python tools/grade.py --submissions FOLDER [--out build/grading] notebooks/*.ipynb
    python tools/grade.py --export-only [--out build/grading]    # the CSVs again, after grading written answers by hand

Needs the `grading` extra (`pip install -e ".[grading]"`; `make install` installs it).
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "workbook"
COURSE_ID = "deep-hashing-workbook"


def nbgrader(args: list[str], course: Path) -> None:
    """Run an nbgrader command from the repository root, so that it reads nbgrader_config.py, on `course`."""
    env = dict(os.environ, HASHING_GRADING_ROOT=str(course.resolve()))
    env.setdefault("HASHING_FAST", "1")
    env.setdefault("HASHING_OFFLINE", "1")
    # nbgrader runs alembic (its database migrations) as a command: the one installed beside this Python
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=ROOT, env=env, check=True)


def prepare_source(course: Path, notebooks: list[Path]) -> None:
    source = course / "source" / ASSIGNMENT
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    for nb in notebooks:
        shutil.copyfile(nb, source / nb.name)
    notation = notebooks[0].parent / "NOTATION.md"
    if notation.exists():
        shutil.copyfile(notation, source / notation.name)


def copy_submissions(submissions: Path, course: Path, names: set[str]) -> list[str]:
    """Copy SUBMISSIONS/<student>/<notebook> into nbgrader's submitted/ folder; returns the student ids."""
    students = sorted(d for d in submissions.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not students:
        raise SystemExit(f"grade: no student folders in {submissions} (expected {submissions}/<student id>/*.ipynb)")
    for d in students:
        found = sorted(p.name for p in d.glob("*.ipynb"))
        unknown = set(found) - names
        if unknown:
            print(f"grade: {d.name}: not part of the workbook, not graded: {', '.join(sorted(unknown))}", file=sys.stderr)
        dest = course / "submitted" / d.name / ASSIGNMENT
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        for name in set(found) & names:
            shutil.copyfile(d / name, dest / name)
    return [d.name for d in students]


def per_notebook_rows(course: Path) -> list[dict]:
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        for sub in gb.assignment_submissions(ASSIGNMENT):
            for nb in sorted(sub.notebooks, key=lambda n: n.name):
                rows.append({"student_id": sub.student.id, "notebook": nb.name,
                             "code_score": nb.code_score, "max_code_score": nb.max_code_score,
                             "written_score": nb.written_score, "max_written_score": nb.max_written_score,
                             "score": nb.score, "max_score": nb.max_score,
                             "needs_manual_grade": nb.needs_manual_grade})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--submissions", type=Path, help="folder with one sub-folder per student")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "grading", help="nbgrader's course folder")
    ap.add_argument("--export-only", action="store_true",
                    help="only write the CSV files from the course folder's gradebook (e.g. after manual grading)")
    ap.add_argument("notebooks", nargs="*", type=Path, help="the instructor notebooks (the assignment)")
    args = ap.parse_args(argv)
    course = args.out.resolve()
    if args.export_only:
        if not (course / "gradebook.db").exists():
            raise SystemExit(f"grade: no gradebook in {course}: run make grade SUBMISSIONS=folder first")
    else:
        if args.submissions is None or not args.submissions.is_dir():
            raise SystemExit(f"grade: --submissions must be a folder (make grade SUBMISSIONS=folder), got {args.submissions}")
        if not args.notebooks:
            raise SystemExit("grade: name the instructor notebooks to grade against")
        course.mkdir(parents=True, exist_ok=True)
        prepare_source(course, args.notebooks)
        nbgrader(["generate_assignment", ASSIGNMENT, "--force"], course)
        copy_submissions(args.submissions, course, {p.name for p in args.notebooks})
        nbgrader(["autograde", ASSIGNMENT, "--force"], course)
    nbgrader(["export", "--to", str(course / "grades.csv")], course)
    rows = per_notebook_rows(course)
    with open(course / "grades-by-notebook.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["student_id", "notebook"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"grade: {course / 'grades.csv'} (per student), {course / 'grades-by-notebook.csv'} (per notebook)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
