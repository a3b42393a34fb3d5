"""Run the lessons with every set of CPU kernels this machine can imitate; list what differs.

Usage: python -m tools.kernel_sweep [--jobs 2] [--raw] [--only NAME] [notebook ...]

A printed digit that holds on one kind of CPU only is a failed CI run on the next machine. The
digits a lesson prints come from two libraries, and each picks its code by the processor:

- torch's own kernels (elementwise ops, reductions, GELU): AVX-512, AVX2 or scalar, chosen by
  ``ATEN_CPU_CAPABILITY``;
- Intel's MKL, which torch's CPU wheel uses for its matrix products: it chooses per processor
  (an AMD EPYC and an Intel Xeon with AVX-512 do not take the same code) and can be held to an
  instruction set with ``MKL_ENABLE_INSTRUCTIONS``, or to one reproducible path with
  ``MKL_CBWR``.

Each configuration below executes every lesson in a fresh kernel of this Python (run B of
``tests/test_determinism.py``: the notebook's folder, this environment plus the configuration's
variables) and compares its outputs with the committed ones as nbval does (sanitize file
included). Printed per configuration: the cells that differ, with both outputs. ``--raw``
compares without the sanitize file, to see every number that moves, including those the
lessons already state as a range. Exit status 0 only if no configuration differs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "test_determinism.py"

# name -> environment. Where this CPU lacks an instruction set, torch and MKL fall back to the
# best they have (a configuration can then equal another; both are still run).
CONFIGURATIONS: dict[str, dict[str, str]] = {
    "best": {},
    "torch-avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "torch-scalar": {"ATEN_CPU_CAPABILITY": "default"},
    "mkl-avx512": {"MKL_ENABLE_INSTRUCTIONS": "AVX512"},
    "mkl-avx2": {"MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "mkl-sse4.2": {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
    "mkl-cbwr-avx512": {"MKL_CBWR": "AVX512"},
    "mkl-cbwr-avx2": {"MKL_CBWR": "AVX2"},
    "mkl-cbwr-sse4.2": {"MKL_CBWR": "SSE4_2"},
    "mkl-cbwr-compatible": {"MKL_CBWR": "COMPATIBLE"},
    "torch-avx2+mkl-avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "torch-avx2+mkl-sse4.2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
    "torch-avx2+mkl-cbwr-compatible": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE"},
    "torch-scalar+mkl-avx2": {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "torch-scalar+mkl-sse4.2": {
        "ATEN_CPU_CAPABILITY": "default",
        "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
    },
    "torch-scalar+mkl-cbwr-compatible": {
        "ATEN_CPU_CAPABILITY": "default",
        "MKL_CBWR": "COMPATIBLE",
    },
    "onednn-avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    # A learner's laptop has more cores: lessons 01-04 use torch's default thread count (05
    # and 06 set one thread), and a sum split over more threads adds in another order.
    "threads-1": {"OMP_NUM_THREADS": "1"},
    "threads-4": {"OMP_NUM_THREADS": "4"},
}


def execute(notebook: Path, env: dict[str, str]) -> tuple[list, float]:
    """Run B of tests/test_determinism.py in its own process: the outputs of every code cell,
    and the run's wall time in seconds."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sweep-") as scratch:
        out = Path(scratch) / "out.json"
        command = [sys.executable, str(SCRIPT), "friendly", str(notebook), scratch, str(out)]
        done = subprocess.run(
            command, cwd=scratch, env={**os.environ, **env}, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"{notebook.name} failed:\n{(done.stdout + done.stderr)[-2000:]}")
        return json.loads(out.read_text())["friendly"], time.perf_counter() - start


def differences(notebook: Path, outputs: list, raw: bool) -> list[str]:
    """Cells nbval would fail (or, with ``raw``, that differ at all before sanitizing)."""
    import nbformat

    sys.path.insert(0, str(SCRIPT.parent))
    import test_determinism as determinism

    if raw:
        determinism.sanitize_patterns.cache_clear()
        determinism.SANITIZE_FILE = Path(os.devnull)
    committed = nbformat.read(notebook, as_version=4)
    cells = [(i, c) for i, c in enumerate(committed.cells) if c.cell_type == "code"]
    found = []
    for (index, cell), got in zip(cells, outputs, strict=True):
        if not determinism.compared(cell):
            continue
        want = determinism.comparable(cell.outputs)
        have = determinism.comparable([nbformat.from_dict(o) for o in got])
        if want != have:
            found.append(
                f"  cell {index} ({cell.source.splitlines()[0][:60]!r}):\n"
                f"    committed {json.dumps(want)[:600]}\n    this run  {json.dumps(have)[:600]}"
            )
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    parser.add_argument("--raw", action="store_true", help="compare without the sanitize file")
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(CONFIGURATIONS),
        help="one configuration (repeat the flag for more; default: all)",
    )
    args = parser.parse_args(argv)
    notebooks = [p.resolve() for p in args.notebooks] or sorted(
        (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
    )
    names = args.only or list(CONFIGURATIONS)
    jobs = [(name, notebook) for name in names for notebook in notebooks]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda job: execute(job[1], CONFIGURATIONS[job[0]]), jobs))
    failed = False
    for (name, notebook), (outputs, seconds) in zip(jobs, results, strict=True):
        found = differences(notebook, outputs, args.raw)
        failed |= bool(found)
        status = f"{len(found)} cell(s) differ" if found else "as committed"
        print(f"{name:>24}  {notebook.name}: {status} ({seconds:.0f} s)")
        for line in found:
            print(line)
    print(f"{len(jobs)} runs in {time.perf_counter() - start:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
