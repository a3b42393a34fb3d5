"""Start the determinism runs early; say at the end whether the browser tests ran."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import nbformat
import pytest

_determinism_modules = []


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
