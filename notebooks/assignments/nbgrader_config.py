"""nbgrader configuration of the Shortcut Lessons course (run nbgrader in this folder).

Instructor versions live in source/<assignment>/; `make assignments` (or
`nbgrader generate_assignment A1 --force` here) writes the students' versions to
release/. Grading runs the notebooks in the project's own kernel: "python3" of
the project's .venv (jupyter starts it with the Python that runs nbgrader), so
run nbgrader from the activated venv (`source ../../.venv/bin/activate`; nbgrader
also needs the venv's `alembic` script on PATH).
"""

import os

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "shortcut-lessons"

# The project's kernel: the venv's python3 kernelspec, whose "python" is replaced
# by the Python running nbgrader, the venv's own, where torch and shortcut_lib live.
c.Execute.kernel_name = "python3"
c.ExecutePreprocessor.kernel_name = "python3"
# A wrong answer may loop. Every cell of A1 and A2 runs in well under a second (the checks
# stop one call of student code after 10 s, shortcut_lib.checks.TIME_LIMIT_S), so a cell
# still running after 30 s is stuck: it is interrupted and fails; grading goes on.
c.Execute.timeout = 30
# Feedback shows the error of a student's own cell as its type and message only (their own
# notebook has the full traceback): a full one runs through torch and shortcut_lib with the
# grader's absolute paths. A failed check prints its own short form (checks.CheckFailed).
# The first argument is nbgrader's default for Python kernels, which setting this replaces.
c.Execute.extra_arguments = [
    "--HistoryManager.hist_file=:memory:",
    "--InteractiveShell.xmode=Minimal",
]

# Hidden tests go missing from the student's version; solutions become stubs.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# `nbgrader zip_collect A1` takes the student id (and file id) from the names of the LMS's
# downloads in downloaded/A1/archive/. This is nbgrader's own example, for names such as
# ps1_bitdiddle_attempt_2016-01-30-15-00-00_problem1.ipynb: adapt it to your LMS.
c.FileNameCollectorPlugin.named_regexp = (
    r".*_(?P<student_id>\w+)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>\w+)"
)

# A standalone course keeps nbgrader's exchange in its own folder (git-ignored; `make
# formgrade` creates it): with nbgrader's default, /usr/local/share/nbgrader/exchange, which
# does not exist here, the Formgrader logs "Unwritable directory" at every call. On a
# JupyterHub with a shared exchange, delete this line: the hub's config sets c.Exchange.root.
c.Exchange.root = os.path.join(os.path.dirname(__file__), "exchange")
