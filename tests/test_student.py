"""make_student: student versions are valid notebooks with no solution text left, and nothing else changed."""
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_student as ms  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
SOLUTION_TEXT = (ms.BEGIN, ms.END, ms.MODEL_ANSWER)


def synthetic():
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell(
        "import math\ndef f(x):\n    ### BEGIN SOLUTION\n    return math.sqrt(x)\n    ### END SOLUTION\nassert f(4) == 2",
        execution_count=3,
        outputs=[nbformat.v4.new_output("stream", name="stdout", text="secret 2.0\n")])
    answer = nbformat.v4.new_markdown_cell("**Model answer.** Ties matter when a group mixes relevant items.",
                                           metadata={"tags": ["solution"]})
    other = nbformat.v4.new_code_cell("print(1)", execution_count=4,
                                      outputs=[nbformat.v4.new_output("stream", name="stdout", text="1\n")])
    question = nbformat.v4.new_markdown_cell("**Exercise 1.** Why?\n\n<details><summary>Answer</summary>Kept.</details>")
    nb.cells = [question, code, answer, other]
    return nb


def assert_clean(student, original):
    nbformat.validate(student)
    assert len(student.cells) == len(original.cells)
    for s, o in zip(student.cells, original.cells):
        for text in SOLUTION_TEXT:
            assert text not in s.source, f"{text!r} left in {s.source[:80]!r}"
        solved = (o.cell_type == "code" and ms.BEGIN in o.source) or ms.is_markdown_solution(o)
        if not solved:
            assert s == o  # everything else kept, outputs included
        elif o.cell_type == "code":
            assert s.outputs == [] and s.execution_count is None
            assert "raise NotImplementedError()" in s.source


def test_synthetic_notebook():
    nb = synthetic()
    student, n = ms.student_version(nb)
    assert n == 2
    assert_clean(student, nb)
    code = student.cells[1].source
    # the stub keeps the BEGIN line's indent (so the function still parses) and the asserts after END stay
    assert "    # YOUR CODE HERE\n    raise NotImplementedError()" in code
    assert "sqrt" not in code and code.endswith("assert f(4) == 2")
    compile(code, "cell", "exec")
    assert student.cells[2].source == ms.STUDENT_ANSWER
    assert "<details>" in student.cells[0].source
    assert nb.cells[1].outputs, "the original notebook must not be modified"
    with pytest.raises(NotImplementedError):
        exec(code, {})


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("x = 1\n### END SOLUTION\n", "never opened"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "inside"),
])
def test_unbalanced_marker_is_an_error(source, message):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    with pytest.raises(ms.MarkerError, match=message) as info:
        ms.student_version(nb, "x.ipynb")
    assert "x.ipynb cell 0" in str(info.value)


def test_untagged_model_answer_is_an_error():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("**Model answer.** forgot the tag")]
    with pytest.raises(ms.MarkerError, match="not tagged"):
        ms.student_version(nb)


def test_committed_notebooks(tmp_path):
    """The command `make student` runs, on every committed notebook."""
    out = tmp_path / "student"
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "make_student.py"), "--out", str(out),
                          *map(str, NOTEBOOKS)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    for path in NOTEBOOKS:
        assert_clean(nbformat.read(out / path.name, as_version=4), nbformat.read(path, as_version=4))


def test_command_fails_clearly_on_unbalanced(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1")]
    nbformat.write(nb, tmp_path / "bad.ipynb")
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "make_student.py"), "--out", str(tmp_path / "o"),
                          str(tmp_path / "bad.ipynb")], capture_output=True, text=True)
    assert run.returncode == 1 and "bad.ipynb cell 0: line 1" in run.stderr
