"""Release the students' versions of the nbgrader assignments.

Usage::

    python -m tools.build_assignments [--course DIR] [ASSIGNMENT ...]
    python -m tools.build_assignments --formgrade [--course DIR] [LAB OPTION ...]

Runs ``nbgrader generate_assignment ASSIGNMENT --force`` for every assignment in
``<course>/source/`` (default course: ``notebooks/assignments``), which writes
``<course>/release/ASSIGNMENT/``: solutions replaced by stubs, hidden tests
removed, outputs cleared, test cells locked. ``source/`` is only read.

``--formgrade`` starts JupyterLab in the course directory instead (``make formgrade``):
nbgrader 0.9 has no ``nbgrader formgrade`` command any more; its Formgrader is a Lab panel
(*Nbgrader → Formgrader*) that lists the course's assignments only when Lab runs in the
course directory, and grades with the project's kernel and ``alembic`` (``nbgrader_env``).

nbgrader runs as ``<this Python> -m nbgrader``, so it (and the kernel it starts
when grading: ``python3``, whose ``python`` jupyter replaces with the Python
that runs nbgrader) is the project's own environment, with torch and shortcut_lib.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
COURSE_DIR = ROOT / "notebooks" / "assignments"


def assignments(course: Path = COURSE_DIR) -> list[str]:
    """The assignment names: the folders of ``<course>/source`` that hold a notebook."""
    source = course / "source"
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def nbgrader_env() -> dict[str, str]:
    """The environment for nbgrader: this Python's scripts and kernelspecs found first.

    nbgrader runs the ``alembic`` script (gradebook migrations) from ``PATH``, so
    this Python's ``bin`` goes first even when the venv is not activated.
    ``JUPYTER_PATH`` entries come before the user's own (``~/.local/share/jupyter``),
    so a ``python3`` kernelspec there pointing at another Python cannot win.
    """
    env = dict(os.environ)
    scripts = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in (scripts, env.get("PATH")) if p)
    ours = str(Path(sys.prefix) / "share" / "jupyter")
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (ours, env.get("JUPYTER_PATH")) if p)
    return env


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in the course directory with the project's Python."""
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
    )


def formgrade_command(course: Path, *lab_options: str) -> list[str]:
    """JupyterLab with the course directory as its root (run it with ``cwd=course``)."""
    command = [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={course}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI often run as root
    return [*command, *lab_options]


def release_summary(course: Path, assignment: str) -> str:
    """One line per released notebook: its autograded points and hand-graded points."""
    lines = []
    for path in sorted((course / "release" / assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        auto = manual = 0.0
        for cell in nb.cells:
            grading = cell.metadata.get("nbgrader", {})
            if not grading.get("grade"):
                continue
            if cell.cell_type == "code":
                auto += grading.get("points", 0)
            else:
                manual += grading.get("points", 0)
        name = path.relative_to(course)
        lines.append(f"  {name}: {auto:g} points autograded, {manual:g} by hand")
    return "\n".join(lines)


def generate(course: Path, assignment: str) -> float:
    """``nbgrader generate_assignment ASSIGNMENT --force``; returns the seconds it took."""
    start = time.perf_counter()
    result = nbgrader(course, "generate_assignment", assignment, "--force")
    if result.returncode != 0:
        raise RuntimeError(
            f"nbgrader generate_assignment {assignment} failed (exit {result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.build_assignments", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("assignments", nargs="*", help="default: every folder in source/")
    parser.add_argument(
        "--course", type=Path, default=COURSE_DIR, help="default: notebooks/assignments"
    )
    parser.add_argument(
        "--formgrade", action="store_true", help="start JupyterLab for the Formgrader instead"
    )
    args, lab_options = parser.parse_known_args(argv)
    course = args.course.resolve()
    if not (course / "nbgrader_config.py").is_file():
        print(f"{course} is not an nbgrader course directory (no nbgrader_config.py)")
        return 2
    if args.formgrade:
        # The exchange folder nbgrader_config.py names: the Formgrader checks it at every call.
        (course / "exchange").mkdir(exist_ok=True)
        command = formgrade_command(course, *args.assignments, *lab_options)
        try:
            return subprocess.run(command, cwd=course, env=nbgrader_env()).returncode
        except KeyboardInterrupt:  # Ctrl+C stops Lab; not an error
            return 0
    if lab_options:
        parser.error(f"unrecognized arguments: {' '.join(lab_options)}")
    names = args.assignments or assignments(course)
    for name in names:
        if not (course / "source" / name).is_dir():
            print(f"no assignment {name!r} in {course / 'source'}", file=sys.stderr)
            return 2
        try:
            seconds = generate(course, name)
        except RuntimeError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"{name}: released in {seconds:.1f} s")
        print(release_summary(course, name))
    print(f"students' versions: {course / 'release'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
