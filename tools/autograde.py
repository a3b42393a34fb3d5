"""Autograde one assignment for a whole class, in parallel, with one writer per gradebook.

Usage::

    python -m tools.autograde A1 [--jobs N] [--course DIR] [--timeout SECONDS]

nbgrader 0.9 grades one student after another (jupyter/nbgrader#174), and its gradebook is a
SQLite file, which is not made for several writers at once. So this tool never lets two
processes write one file:

1. the students who submitted ``ASSIGNMENT`` (``<course>/submitted/<student>/ASSIGNMENT/``)
   are dealt round-robin into N groups;
2. each group is graded by its own ``nbgrader autograde ASSIGNMENT --force`` in its own
   scratch course folder: the course's ``nbgrader_config.py``, a COPY of its gradebook (it
   knows the released assignment), links to ``source/`` and to the group's submissions;
3. when every job has finished, this process alone copies each job's results into the
   course's ``gradebook.db`` (auto scores, "needs manual grading" flags, auto comments,
   submission timestamps; manual scores the instructor already gave are kept, and an answer
   scored by hand is not flagged as pending again) and moves the
   graded notebooks to ``<course>/autograded/<student>/ASSIGNMENT/``.

A student nbgrader could not grade (it then writes no graded notebook) is not merged; the
job's log is printed and the exit status is 1. The others of that job are merged.
With ``--jobs 1`` the same path runs with one group. Run ``make assignments`` (or
``nbgrader generate_assignment``) first: the gradebook must know the assignment.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tools.build_assignments import COURSE_DIR, nbgrader_env

COURSE_ID = "shortcut-lessons"


@dataclass
class Job:
    number: int
    students: list[str]
    folder: Path
    returncode: int | None = None
    log: str = ""
    seconds: float = 0.0
    failed: list[str] = field(default_factory=list)  # students nbgrader could not grade


def submitted_students(course: Path, assignment: str) -> list[str]:
    """Every student with a ``submitted/<student>/<assignment>/`` folder, sorted."""
    submitted = course / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir())


def deal(students: list[str], jobs: int) -> list[list[str]]:
    """Round-robin: job k gets students k, k + jobs, ... (none of the groups is empty)."""
    groups = [students[k::jobs] for k in range(jobs)]
    return [group for group in groups if group]


def prepare_job(course: Path, scratch: Path, number: int, students: list[str]) -> Job:
    folder = scratch / f"job-{number}"
    (folder / "submitted").mkdir(parents=True)
    shutil.copy2(course / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copy2(course / "gradebook.db", folder / "gradebook.db")
    (folder / "source").symlink_to(course / "source", target_is_directory=True)
    if (course / "release").is_dir():
        (folder / "release").symlink_to(course / "release", target_is_directory=True)
    for student in students:
        (folder / "submitted" / student).symlink_to(
            course / "submitted" / student, target_is_directory=True
        )
    return Job(number, students, folder)


def run_job(job: Job, assignment: str, timeout: int | None) -> Job:
    command = [sys.executable, "-m", "nbgrader", "autograde", assignment, "--force"]
    if timeout is not None:
        command.append(f"--Execute.timeout={timeout}")
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=job.folder, env=nbgrader_env(), capture_output=True, text=True
    )
    job.seconds = time.perf_counter() - start
    job.returncode = result.returncode
    job.log = result.stdout + result.stderr
    return job


def merge(course: Path, assignment: str, job: Job) -> None:
    """Copy the job's autograde results into the course gradebook (the only writer)."""
    from nbgrader.api import Gradebook, MissingEntry

    url = f"sqlite:///{course / 'gradebook.db'}"
    with (
        Gradebook(f"sqlite:///{job.folder / 'gradebook.db'}", COURSE_ID) as theirs,
        Gradebook(url, COURSE_ID) as ours,
    ):
        for student_id in job.students:
            graded_dir = job.folder / "autograded" / student_id / assignment
            if not graded_dir.is_dir():  # nbgrader failed on this student (it removes the
                job.failed.append(student_id)  # output then); its log says why
                continue
            try:
                graded = theirs.find_submission(assignment, student_id)
            except MissingEntry:
                job.failed.append(student_id)
                continue
            student = theirs.find_student(student_id)
            ours.update_or_create_student(
                student_id,
                first_name=student.first_name,
                last_name=student.last_name,
                email=student.email,
                lms_user_id=student.lms_user_id,
            )
            try:
                mine = ours.find_submission(assignment, student_id)
                mine.timestamp, mine.extension = graded.timestamp, graded.extension
            except MissingEntry:
                with warnings.catch_warnings():
                    # Harmless: nbgrader's add_submission builds the submission, its notebooks
                    # and grades with relationships (SubmittedAssignment(student=...), ...)
                    # before its db.add(submission); reading notebook.grade_cells in between
                    # autoflushes, and SQLAlchemy 2 warns that those not-yet-added objects are
                    # not in the session. nbgrader then adds and commits them all.
                    warnings.filterwarnings(
                        "ignore", message=r"Object of type <\w+> not in session"
                    )
                    mine = ours.add_submission(
                        assignment,
                        student_id,
                        timestamp=graded.timestamp,
                        extension=graded.extension,
                    )
            for notebook in graded.notebooks:
                target = ours.find_submission_notebook(notebook.name, assignment, student_id)
                target.late_submission_penalty = notebook.late_submission_penalty
                for grade in notebook.grades:
                    ours_grade = ours.find_grade(grade.name, notebook.name, assignment, student_id)
                    ours_grade.auto_score = grade.auto_score
                    # nbgrader flags every written answer again on each autograde; one the
                    # instructor has scored (manual_score set in the Formgrader) stays graded.
                    ours_grade.needs_manual_grade = (
                        grade.needs_manual_grade and ours_grade.manual_score is None
                    )
                for comment in notebook.comments:
                    ours_comment = ours.find_comment(
                        comment.name, notebook.name, assignment, student_id
                    )
                    ours_comment.auto_comment = comment.auto_comment
            ours.db.commit()
            destination = course / "autograded" / student_id / assignment
            if destination.exists():
                shutil.rmtree(destination)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(graded_dir), str(destination))


def autograde(
    course: Path, assignment: str, jobs: int = 1, timeout: int | None = None
) -> list[Job]:
    """Grade every submission of ``assignment`` with ``jobs`` processes; returns the jobs."""
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if not (course / "gradebook.db").is_file():
        raise FileNotFoundError(
            f"{course / 'gradebook.db'} does not exist: release the assignment first "
            "(make assignments)"
        )
    students = submitted_students(course, assignment)
    if not students:
        raise FileNotFoundError(
            f"no submissions of {assignment} in {course / 'submitted'} "
            f"(expected submitted/<student>/{assignment}/<notebook>.ipynb)"
        )
    with tempfile.TemporaryDirectory(prefix=".autograde-", dir=course) as scratch:
        groups = deal(students, jobs)
        prepared = [
            prepare_job(course, Path(scratch), k, group) for k, group in enumerate(groups, 1)
        ]
        with ThreadPoolExecutor(max_workers=len(prepared)) as pool:
            finished = list(pool.map(lambda job: run_job(job, assignment, timeout), prepared))
        for job in finished:
            merge(course, assignment, job)
    return finished


def scores(course: Path, assignment: str) -> dict[str, tuple[float, float, bool]]:
    """Per student: (autograded score, max score, whether manual grading is pending)."""
    from nbgrader.api import Gradebook

    result = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            result[submission.student_id] = (
                submission.score,
                submission.max_score,
                submission.needs_manual_grade,
            )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.autograde", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("assignment")
    parser.add_argument("--jobs", type=int, default=1, help="parallel nbgrader processes")
    parser.add_argument("--course", type=Path, default=COURSE_DIR)
    parser.add_argument(
        "--timeout", type=int, default=None, help="seconds per cell (default: nbgrader_config.py)"
    )
    args = parser.parse_args(argv)
    course = args.course.resolve()
    start = time.perf_counter()
    try:
        finished = autograde(course, args.assignment, args.jobs, args.timeout)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    wall = time.perf_counter() - start
    failed = [job for job in finished if job.returncode != 0 or job.failed]
    for job in failed:
        print(
            f"job {job.number}: nbgrader exited with {job.returncode}; not graded: "
            f"{', '.join(job.failed) or 'none'}. Its log:\n{job.log}",
            file=sys.stderr,
        )
    graded = scores(course, args.assignment)
    for student, (score, max_score, pending) in sorted(graded.items()):
        note = "  (written answers still to grade by hand)" if pending else ""
        print(f"{student:>20}: {score:g} / {max_score:g}{note}")
    count = sum(len(job.students) for job in finished)
    print(
        f"{args.assignment}: {count} submissions in {wall:.1f} s with {len(finished)} job(s) "
        f"({wall / count:.1f} s per student)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
