"""nbgrader configuration of the Shortcut Lessons course (run nbgrader in this folder).

Instructor versions live in source/<assignment>/; `make assignments` (or
`nbgrader generate_assignment A1 --force` here) writes the students' versions to
release/. Grading runs the notebooks in the project's own kernel: "python3" of
the project's .venv (jupyter starts it with the Python that runs nbgrader), so
run nbgrader from the activated venv (`source ../../.venv/bin/activate`; nbgrader
also needs the venv's `alembic` script on PATH).
"""

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
