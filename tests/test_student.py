"""make_student: the handout has no solution text, keeps everything else, and every exercise reads as a task
(its number, the variables its checks read); the notebooks' nbgrader metadata is consistent."""
import ast
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_student as ms  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
MARKERS = (ms.BEGIN, ms.END, ms.BEGIN_HIDDEN, ms.END_HIDDEN, ms.MODEL_ANSWER)


def grader(grade_id, *, grade, solution, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": grade and not solution, "schema_version": 3,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def synthetic():
    nb = nbformat.v4.new_notebook()
    question = nbformat.v4.new_markdown_cell("**Exercise 1.** Write `f`.\n\n<details><summary>Hint</summary>Kept.</details>")
    code = nbformat.v4.new_code_cell(
        "# Exercise 1: define `f(x)`\nimport math\ndef f(x):\n    ### BEGIN SOLUTION\n    return math.sqrt(x)\n"
        "    ### END SOLUTION", execution_count=3, metadata=grader("ex1-code", grade=False, solution=True),
        outputs=[nbformat.v4.new_output("stream", name="stdout", text="secret 2.0\n")])
    test = nbformat.v4.new_code_cell(
        "assert callable(f)\n### BEGIN HIDDEN TESTS\nassert f(4) == 2\n### END HIDDEN TESTS\nprint(f(9))",
        execution_count=4, metadata=grader("ex1-tests", grade=True, solution=False, points=1),
        outputs=[nbformat.v4.new_output("stream", name="stdout", text="3.0\n")])
    answer = nbformat.v4.new_markdown_cell(
        "**Answer to Exercise 1.**\n\n<!-- ### BEGIN SOLUTION -->\n**Model answer.** Ties matter.\n<!-- ### END SOLUTION -->",
        metadata=grader("ex1-answer", grade=True, solution=True, points=1))
    whole = nbformat.v4.new_markdown_cell("**Model answer.** all of it", metadata=grader("ex2", grade=True, solution=True, points=1))
    other = nbformat.v4.new_code_cell("print(1)", execution_count=5,
                                      outputs=[nbformat.v4.new_output("stream", name="stdout", text="1\n")])
    nb.cells = [question, code, test, answer, whole, other]
    return nb


def test_synthetic_notebook():
    nb = synthetic()
    student, n = ms.student_version(nb)
    nbformat.validate(student)
    assert n == 3
    code, test, answer, whole = (c.source for c in student.cells[1:5])
    # the stub keeps the BEGIN line's indent (so the function still parses), the lines outside the region stay
    assert code == "# Exercise 1: define `f(x)`\nimport math\ndef f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert test == "assert callable(f)\nprint(f(9))"             # the hidden check is gone, the visible ones stay
    assert answer == "**Answer to Exercise 1.**\n\n" + ms.STUDENT_ANSWER
    assert whole == ms.STUDENT_ANSWER                               # a solution cell without a region: replaced whole
    for cell in student.cells[1:3]:
        assert cell.outputs == [] and cell.execution_count is None
    assert student.cells[0] == nb.cells[0] and student.cells[5] == nb.cells[5]   # the rest kept, outputs included
    assert nb.cells[1].outputs and "sqrt" in nb.cells[1].source, "the original notebook must not be modified"
    with pytest.raises(NotImplementedError):
        exec(code + "\nf(4)", {})


@pytest.mark.parametrize("source, meta, message", [
    ("### BEGIN SOLUTION\nx = 1\n", grader("a", grade=False, solution=True), "never closed"),
    ("x = 1\n### END SOLUTION\n", grader("a", grade=False, solution=True), "never opened"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", grader("a", grade=False, solution=True), "inside"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", {}, "not an nbgrader solution cell"),
    ("### BEGIN HIDDEN TESTS\nassert x\n### END HIDDEN TESTS\n", {}, "not an nbgrader test cell"),
    ("### BEGIN HIDDEN TESTS\nassert x\n", grader("a", grade=True, solution=False, points=1), "never closed"),
])
def test_misplaced_or_unbalanced_marker_is_an_error(source, meta, message):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source, metadata=meta)]
    with pytest.raises(ms.MarkerError, match=message) as info:
        ms.student_version(nb, "x.ipynb")
    assert "x.ipynb cell 0" in str(info.value)


def test_model_answer_outside_a_solution_is_an_error():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("**Model answer.** forgot the metadata")]
    with pytest.raises(ms.MarkerError, match="outside a solution"):
        ms.student_version(nb)


def test_command_fails_clearly_on_unbalanced(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1", metadata=grader("a", grade=False, solution=True))]
    nbformat.write(nb, tmp_path / "bad.ipynb")
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "make_student.py"), "--no-wheel", "--out",
                          str(tmp_path / "o"), str(tmp_path / "bad.ipynb")], capture_output=True, text=True)
    assert run.returncode == 1 and "bad.ipynb cell 0: line 1" in run.stderr


# -- the committed notebooks -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def handout(tmp_path_factory):
    """`make student`'s command, wheel included, on every committed notebook."""
    out = tmp_path_factory.mktemp("handout") / "student"
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "make_student.py"), "--out", str(out),
                          *map(str, NOTEBOOKS)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return out


def instructor(path):
    return nbformat.read(path, as_version=4)


def regions(source, begin, end):
    """The lines inside begin..end regions of `source`."""
    inside, lines = False, []
    for line in source.split("\n"):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def secret_lines():
    """Distinctive lines of every solution region, model answer and hidden test, with where they come from; a line
    that also stands outside those regions somewhere in the notebooks is not secret."""
    secret, public = {}, []
    for path in NOTEBOOKS:
        for cell in instructor(path).cells:
            hidden = regions(cell.source, ms.BEGIN, ms.END) + regions(cell.source, ms.BEGIN_HIDDEN, ms.END_HIDDEN)
            for line in hidden:
                if len(line.strip()) >= 20:
                    secret.setdefault(line.strip(), f"{path.name} {cell.metadata.get('nbgrader', {}).get('grade_id')}")
            public += [line for line in cell.source.split("\n") if line not in hidden]
    public = "\n".join(public)
    return {line: where for line, where in secret.items() if line not in public}


def handout_texts(handout):
    """Every text a student receives: the notebooks' sources and outputs, the markdown files, the wheel's files."""
    for path in sorted(handout.rglob("*")):
        if path.suffix == ".ipynb":
            for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
                yield f"{path.name} cell {i}", cell.source + json.dumps(cell.get("outputs", []))
        elif path.suffix == ".md":
            yield path.name, path.read_text()
        elif path.suffix == ".whl":
            with zipfile.ZipFile(path) as whl:
                for name in whl.namelist():
                    yield f"{path.name}:{name}", whl.read(name).decode("utf-8", "replace")


def test_no_solution_text_in_the_handout(handout):
    secret = secret_lines()
    assert len(secret) > 200        # every notebook's solutions, answers and hidden tests are searched for
    for where, text in handout_texts(handout):
        for marker in MARKERS if ".whl:" not in where else ():    # (the wheel's README may name the markers)
            assert marker not in text, f"{marker!r} left in {where}"
        leaked = [f"{line!r} (from {origin})" for line, origin in secret.items() if line in text]
        assert not leaked, f"{where} holds solution text: {leaked[:3]}"


def test_handout_keeps_everything_else(handout):
    handout_files = {p.name for p in NOTEBOOKS} | {"NOTATION.md"}
    for path in NOTEBOOKS:
        # links to files outside the handout (../docs/...) are the only other change: they open the repository
        nb = ms.repository_links(instructor(path), handout_files, path.parent)
        student = nbformat.read(handout / path.name, as_version=4)
        nbformat.validate(student)
        assert len(student.cells) == len(nb.cells)
        for s, o in zip(student.cells, nb.cells):
            if ms.is_solution(o) or ms.is_test(o):
                assert s.get("outputs", []) == [] and s.get("execution_count") is None
                assert s.metadata["nbgrader"] == o.metadata["nbgrader"]   # grade ids travel, for grading
            else:
                assert s == o


def test_handout_is_self_contained(handout):
    names = {p.name for p in handout.iterdir()}
    assert {"README.md", "NOTATION.md", "wheel"} <= names and {p.name for p in NOTEBOOKS} <= names
    (wheel,) = (handout / "wheel").glob("hashing_utils-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        files = whl.namelist()
    assert "hashing_utils/__init__.py" in files and not any(f.endswith(".ipynb") for f in files)
    readme = (handout / "README.md").read_text()
    assert f"pip install wheel/{wheel.name}" in readme and "HASHING_FAST=1" in readme
    assert all(p.name in readme for p in NOTEBOOKS)
    # every relative link of the handout (markdown cells and files) opens a file of the handout
    texts = [(p.name, p.read_text()) for p in handout.glob("*.md")]
    texts += [(p.name, c.source) for p in handout.glob("*.ipynb")
              for c in nbformat.read(p, as_version=4).cells if c.cell_type == "markdown"]
    links = 0
    for name, text in texts:
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if not re.match(r"[a-z]+:|#", target):
                links += 1
                assert (handout / target.split("#")[0]).exists(), f"{name}: broken link {target}"
    assert links >= len(NOTEBOOKS)     # each notebook links NOTATION.md


# -- the exercises: numbers, stubs, nbgrader metadata ------------------------------------------------------------

def exercises(nb):
    """(solution cell, the test cell after it) for every code exercise of `nb`."""
    cells = nb.cells
    return [(c, cells[i + 1]) for i, c in enumerate(cells) if c.cell_type == "code" and ms.is_solution(c)]


def bound_names(source):
    tree = ast.parse(source)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return names | {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def read_names(source):
    return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_nbgrader_metadata(path):
    nb, seen = instructor(path), set()
    pairs = exercises(nb)
    assert pairs, "every notebook has code exercises"
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if not meta:
            continue
        assert meta["schema_version"] == 3 and meta["task"] is False
        assert re.fullmatch(rf"nb{path.name[:2]}-ex\d+-(code|tests|answer)", meta["grade_id"])
        assert meta["grade_id"] not in seen
        seen.add(meta["grade_id"])
        if meta["grade"]:
            assert meta["points"] > 0
        if cell.cell_type == "markdown":      # written answers: graded by hand
            assert meta["grade"] and meta["solution"] and not meta["locked"]
    for solution, test in pairs:
        assert not solution.metadata.nbgrader["grade"] and not solution.metadata.nbgrader["locked"]
        assert ms.is_test(test) and test.metadata.nbgrader["locked"], "each solution cell is followed by its locked test cell"
        assert ms.BEGIN not in test.source and ms.BEGIN_HIDDEN not in solution.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_every_exercise_is_numbered_and_names_what_its_checks_read(path):
    nb = instructor(path)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        number = re.search(r"-ex(\d+)-", meta["grade_id"])[1]
        student = ms.student_cell(cell).source
        head = rf"\*\*Answer to Exercise {number}\.\*\*" if cell.cell_type == "markdown" else rf"# Exercise {number}\b"
        assert re.match(head, student), f"{meta['grade_id']}: the student's cell must say which exercise it answers"
    for solution, test in exercises(nb):
        stub = "\n".join(line for line in ms.student_cell(solution).source.split("\n") if line.startswith("#"))
        named = set(re.findall(r"`([A-Za-z_]\w*)", stub))
        set_by_solution = bound_names("\n".join(regions(solution.source, ms.BEGIN, ms.END)))
        needed = read_names(test.source) & set_by_solution - bound_names(test.source)
        assert needed, f"{solution.metadata.nbgrader['grade_id']}: its checks must read what the student sets"
        assert needed <= named, f"{solution.metadata.nbgrader['grade_id']}: the stub must name {sorted(needed - named)}"
