"""Spread the suite over pytest-xdist's workers; start the determinism runs early when there
is only one process; say at the end whether the browser tests ran."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest

# Idle OpenMP threads sleep instead of spinning (libgomp's default is to spin a while): every
# kernel, Lab and nbgrader process of the suite inherits this. Two workers share 2 cores, and a
# kernel's spinning thread takes CPU the other worker needs (nbval over lessons 01-04 in two
# processes: 22.6 s spinning, 18.3 s passive); no result changes, only who waits how.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_determinism_modules = []

# Seconds a group of tests takes on its own here (2 cores, idle machine, 2 Dec 2026). Only the
# order matters: `make test` runs `-n auto --dist loadscope --no-loadscope-reorder`, which hands
# out whole groups (pytest_xdist_make_scheduler) in collection order, so the longest go first
# and the workers end together. A group not listed is a few seconds.
GROUP_SECONDS = {
    "tests/test_assignments.py": 66,
    "determinism:05_training": 53,
    "tests/browser/test_decks.py": 30,
    "nbval:05_training": 27,
    "determinism:06_transformer_block": 25,
    "browser-lab:04_depth_and_seeds": 22,
    "tests/browser/test_handouts.py": 21,
    "browser-lab:06_transformer_block": 20,
    "browser-lab:01_gelu": 16,
    "determinism:04_depth_and_seeds": 15,
    "browser-lab:02_deep_mlp_and_shortcuts": 14,
    "browser-lab:03_gradient_comparison": 13,
    "tests/browser/test_live_slides.py": 13,
    "determinism:01_gelu": 11,
    "nbval:06_transformer_block": 11,
    "browser-lab:checks": 11,
    "determinism:02_deep_mlp_and_shortcuts": 8,
    "determinism:03_gradient_comparison": 8,
    "nbval:04_depth_and_seeds": 7,
}


def group_of(nodeid: str) -> str:
    """The tests that must share a worker: one lesson's nbval cells (one kernel, in order), one
    lesson's determinism tests (one run of it), each lesson's Lab test, else a file (its module
    fixtures are built once). From the test id alone: xdist's controller has only the ids."""
    path, _, name = nodeid.partition("::")
    lesson = re.search(r"\[(\d\d_\w+)\]$", name)
    if path.endswith(".ipynb"):
        return f"nbval:{Path(path).stem}"
    if path.endswith("/test_determinism.py") and lesson:
        return f"determinism:{lesson[1]}"
    if path.endswith("/test_lab.py"):
        return f"browser-lab:{lesson[1]}" if lesson else "browser-lab:checks"
    return path


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadscope`` with the scopes of :func:`group_of`. (Not ``--dist loadgroup``: with
    pytest 9.2 its marks change no test id, so xdist 3.8 spreads every test on its own.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LessonScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return LessonScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    groups = {item: group_of(item.nodeid) for item in items}
    first_seen = {}
    for item in items:
        first_seen.setdefault(groups[item], len(first_seen))
    # Stable: the tests of a group keep their order (nbval's cells must).
    items.sort(key=lambda item: (-GROUP_SECONDS.get(groups[item], 0), first_seen[groups[item]]))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Queue the lesson runs of the selected determinism tests now and move those tests last.

    The runs (tests/test_determinism.py, two at a time in subprocesses) then use the core the
    rest of the suite leaves idle, and their tests mostly find the results waiting. (Here, not
    in pytest_collection_modifyitems: only after it has run are ``-k``/``-m`` applied.)
    """
    items = session.items
    determinism = [
        item
        for item in items
        if getattr(getattr(item, "module", None), "__name__", "").endswith("test_determinism")
    ]
    paths = [item.callspec.params["path"] for item in determinism if hasattr(item, "callspec")]
    if not paths or session.config.option.collectonly:
        return
    # nbval's run of a lesson is a fresh friendly run already (test_determinism's docstring),
    # if nbval runs all of it: every code cell selected (-k can pick a few).
    nbval = Counter(
        Path(str(item.fspath)) for item in items if type(item).__name__ == "IPyNbCell"
    )
    whole = {
        path
        for path in set(paths)
        if nbval[path] == sum(c.cell_type == "code" for c in nbformat.read(path, 4).cells)
    }
    module = determinism[0].module
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Each worker collects every test but runs only its share: a lesson is run when its
        # first determinism test asks for it, and the other worker keeps the other core busy.
        module.run_by_nbval(whole)
        return
    module.start_runs(paths, run_by_nbval=whole)
    _determinism_modules.append(module)
    items[:] = [item for item in items if item not in determinism] + determinism


def pytest_sessionfinish(session: pytest.Session) -> None:
    for module in _determinism_modules:
        module.stop_runs()  # cancel what has not started (-x, Ctrl-C); no kernel left behind


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if terminalreporter.config.option.collectonly:
        return
    stats = terminalreporter.stats
    reports = [
        r
        for outcome in ("passed", "failed", "skipped", "error")
        for r in stats.get(outcome, [])
        if "browser" in getattr(r, "keywords", {}) and (r.when == "call" or not r.passed)
    ]
    deselected = [i for i in stats.get("deselected", []) if "browser" in i.keywords]
    if not reports:
        why = "deselected" if deselected else "none collected in this run"
        terminalreporter.write_sep("-", f"browser tests: NOT RUN ({why})", yellow=True)
        return
    outcomes = [r.outcome if r.when == "call" or r.skipped else "error" for r in reports]
    counts = {o: outcomes.count(o) for o in ("passed", "failed", "error", "skipped")}
    if counts["skipped"] == len(reports):
        reasons = {
            r.longrepr[2].removeprefix("Skipped: ")
            for r in reports
            if isinstance(r.longrepr, tuple)
        }
        terminalreporter.write_sep("-", f"browser tests: SKIPPED ({'; '.join(reasons)})", red=True)
    else:
        summary = ", ".join(f"{n} {o}" for o, n in counts.items() if n)
        terminalreporter.write_sep("-", f"browser tests: RAN ({summary})", bold=True)
