"""Run every lesson's hostile determinism run many times in a row and show any stall.

Usage: python -m tools.soak [--runs 20] [--jobs 1] [--cell-timeout 300] [notebook ...]

Each run is ``python tests/test_determinism.py hostile NOTEBOOK WORKDIR OUT.json`` in a
fresh kernel (a foreign cwd, no display, then every cell re-run bottom-up), exactly as
``make test`` runs it, but with the client's one-second polling guard
off (``SHORTCUT_POLL_SLICE_S``), so a missed wake-up shows as what it was before the fix: a
cell that sits out the whole cell timeout. Runs go round-robin over the lessons, so an
interrupted soak has covered each lesson about equally.

A run fails when it fails (a real cell timeout included), when nbclient gave up waiting for a
cell's outputs ("Timeout waiting for IOPub output"), or when it took longer than its lesson's
median plus three quarters of the cell timeout (it sat out a timeout).
Exit status 0 only if no run failed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "test_determinism.py"
IOPUB_TIMEOUT = "Timeout waiting for IOPub output"  # nbclient's warning: outputs went missing
GUARD_OFF = {"SHORTCUT_POLL_SLICE_S": "1e9"}  # tools.execute_notebooks.POLL_SLICE_S


def hostile_run(notebook: Path, cell_timeout: int) -> dict:
    """One hostile run: wall time, return code, nbclient's IOPub timeouts, the log's tail."""
    with tempfile.TemporaryDirectory(prefix="soak-") as workdir:
        env = {**os.environ, **GUARD_OFF, "SHORTCUT_CELL_TIMEOUT_S": str(cell_timeout)}
        command = [sys.executable, str(SCRIPT), "hostile", str(notebook.resolve()), workdir]
        command.append(str(Path(workdir) / "out.json"))
        start = time.perf_counter()
        done = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    log = done.stdout + done.stderr
    return {
        "seconds": seconds,
        "returncode": done.returncode,
        "missed": [line for line in log.splitlines() if IOPUB_TIMEOUT in line],
        "log": log[-2000:],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=20, help="runs per lesson (default 20)")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (default 1)")
    parser.add_argument("--cell-timeout", type=int, default=300, help="seconds (default 300)")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    order = [(run, nb) for run in range(1, args.runs + 1) for nb in notebooks]
    print(
        f"{args.runs} hostile runs of {len(notebooks)} lessons, {args.jobs} at a time, "
        f"cell timeout {args.cell_timeout} s",
        flush=True,
    )

    results: dict[Path, list[dict]] = {nb: [] for nb in notebooks}
    soak_start = time.perf_counter()

    def one(item: tuple[int, Path]) -> None:
        run, nb = item
        result = {"run": run, **hostile_run(nb, args.cell_timeout)}
        results[nb].append(result)
        status = "ok" if result["returncode"] == 0 else f"FAILED (exit {result['returncode']})"
        missed = f", {len(result['missed'])} IOPub timeout(s)" if result["missed"] else ""
        print(f"  {nb.stem} run {run}: {result['seconds']:.1f} s {status}{missed}", flush=True)
        if result["returncode"]:
            print(result["log"], flush=True)
        for line in result["missed"]:
            print(f"    {line}", flush=True)

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        list(pool.map(one, order))

    failed = 0
    print(f"\nper lesson (wall times in s; {time.perf_counter() - soak_start:.0f} s in all):")
    for nb, runs in results.items():
        times = [r["seconds"] for r in runs]
        median = statistics.median(times)
        bound = median + 0.75 * args.cell_timeout
        bad = [
            f"run {r['run']}: {r['seconds']:.1f} s, exit {r['returncode']}, "
            f"{len(r['missed'])} IOPub timeouts"
            for r in runs
            if r["returncode"] or r["missed"] or r["seconds"] > bound
        ]
        failed += len(bad)
        print(
            f"  {nb.stem}: {len(runs)} runs, min {min(times):.1f}, median {median:.1f}, "
            f"max {max(times):.1f}; slower than {bound:.0f} s, failed or an IOPub timeout: "
            f"{len(bad)}"
        )
        for line in bad:
            print(f"    {line}")
        print("    times: " + " ".join(f"{t:.1f}" for t in times))
    print("no stall" if not failed else f"{failed} bad run(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
