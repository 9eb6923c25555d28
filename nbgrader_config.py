"""nbgrader's configuration for the Deep Hashing Workbook (read by every `nbgrader ...` command run in this folder).

The grading command is `make grade SUBMISSIONS=folder` (tools/grade.py); COURSE.md and docs/grading.md say what an
instructor types, start to finish. The course folder (nbgrader's source/, release/, submitted/, autograded/,
feedback/ and gradebook.db) is build/grading/, outside the committed tree.
"""
import os

c = get_config()  # noqa: F821  (nbgrader provides get_config when it reads this file)

# Grading runs every notebook in fast mode (digits and the bundled Fashion-MNIST subset, real training): `make grade`
# and tools/grade.py set HASHING_FAST=1 and HASHING_OFFLINE=1 in nbgrader's environment, which its kernels inherit.
# Not here: JupyterLab's nbgrader extension reads this file too, and `make lab` must keep the reader's mode.

c.CourseDirectory.root = os.environ.get("HASHING_GRADING_ROOT", "build/grading")
c.CourseDirectory.course_id = "deep-hashing-workbook"

# nbgrader's default cell timeout (30 s) is shorter than the training cells; the longest fast-mode cell takes well
# under a minute on a 2-core CPU, full mode a few minutes. A cell that runs over is interrupted, marked as an error
# (its test gets no points) and grading goes on with the next cell.
c.Execute.timeout = 600
c.ExecutePreprocessor.timeout = 600
c.Execute.interrupt_on_timeout = True

# The same stubs as tools/make_student.py (make student): code between ### BEGIN SOLUTION / ### END SOLUTION becomes
# nbgrader's default stub; a written answer's model answer (between <!-- ### BEGIN SOLUTION --> and
# <!-- ### END SOLUTION -->) becomes this text.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "*Your answer here.*"
