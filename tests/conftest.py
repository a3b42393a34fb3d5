"""Say at the end of every run whether the browser tests ran, and if not, why."""

from __future__ import annotations

import pytest


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
