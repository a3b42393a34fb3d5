"""Every lesson gives the same numbers however, wherever and how often it is run.

Each ``notebooks/NN_name.ipynb`` is executed with nbclient in two fresh kernels of this Python
(the kernel ``--nbval-current-env`` would use); all lessons' runs go two at a time (2 cores),
in the background from the moment these tests are collected:

- run A, the hostile one: the working directory is an empty temporary folder (not
  ``notebooks/``), ``MPLBACKEND=Agg`` and no ``DISPLAY`` (a headless server), and the
  arithmetic of another CPU: torch's kernels for another instruction set than this CPU's best
  (``ATEN_CPU_CAPABILITY``: AVX2 on an AVX-512 machine, the scalar kernels on an AVX2 one) and
  MKL's matrix products on its processor-independent path (``MKL_CBWR=COMPATIBLE``; MKL
  otherwise takes other code on an AMD EPYC than on an Intel Xeon), on one thread (sums split
  over fewer threads add in another order; a learner's laptop has more or fewer cores). All
  round as another CPU would, so a printed digit that holds on one CPU only fails here, on any
  machine (``python -m tools.kernel_sweep`` tries every combination this machine can imitate);
- run B, the friendly one: the working directory is the notebook's folder, as in JupyterLab.

Then, in run A's kernel, every code cell after the first (the imports) is run once more, from the
bottom up: each cell sees the state the rest of the notebook left behind, before any earlier cell
can re-seed or redefine what it uses; that is a learner re-running a cell out of order.

Compared, with nbval's own semantics (its stream coalescing, its per-MIME-type comparison, the
project's sanitize file, ignoring images, widget views, metadata, execution counts and the cells
nbval ignores: ``# NBVAL_IGNORE_OUTPUT`` / ``NBVAL_SKIP`` / their tags):

- run A equals the committed outputs (a foreign cwd and a display-less kernel change nothing);
- run B equals run A (twice in a row, the same; and B equals the committed outputs as nbval
  checks, so this also covers "nbval passes twice"). When the same session runs nbval over the
  lesson (``make test``), nbval's own run is run B: a fresh kernel of this Python in the
  notebook's folder, compared with the committed outputs with the semantics used here, which
  run A is compared with too; so B is not run a second time and its test says so (skipped);
- every re-run cell equals its committed output;
- every cell whose committed output has a PNG figure also has one in run A (no display needed).
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbval.plugin import (
    coalesce_streams,
    find_comment_markers,
    find_metadata_tags,
    get_sanitize_patterns,
    transform_streams_for_comparison,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = Path(os.environ.get("SHORTCUT_NOTEBOOKS", ROOT / "notebooks"))
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
SANITIZE_FILE = ROOT / "notebooks" / "nbval-sanitize.cfg"
KERNEL_NAME = "python3"
# per cell; the slowest lesson cell (training) takes ~25 s. tools.soak sets it lower.
CELL_TIMEOUT_S = int(os.environ.get("SHORTCUT_CELL_TIMEOUT_S", "300"))
RUN_TIMEOUT_S = 900  # per notebook run, all cells (and re-runs) included

# nbval's IPyNbFile.skip_compare (without --nbdime): never compared.
SKIP_COMPARE = {
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/jpeg",
}


def nbval_options(cell: nbformat.NotebookNode) -> dict:
    """What nbval makes of a cell's markers: {'check': False}, {'skip': True}, ..."""
    options = dict(find_comment_markers(cell.source))
    options.update(find_metadata_tags(cell.metadata))
    return options


def compared(cell: nbformat.NotebookNode) -> bool:
    options = nbval_options(cell)
    return options.get("check", True) and not options.get("skip", False)


@functools.cache
def sanitize_patterns() -> tuple[tuple[str, str], ...]:
    return tuple(get_sanitize_patterns(SANITIZE_FILE.read_text()))


def sanitize(value):
    if not isinstance(value, str):
        return value
    for regex, replace in sanitize_patterns():
        value = re.sub(regex, replace, value)
    return value


def comparable(outputs: list) -> dict[str, list]:
    """A cell's outputs as nbval compares them: MIME type (or stream name) -> sanitized values."""
    outputs = transform_streams_for_comparison(coalesce_streams(copy.deepcopy(outputs)))
    flat = defaultdict(list)
    for output in outputs:
        for key, value in output.items():
            if key in SKIP_COMPARE:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in SKIP_COMPARE:
                        flat[mime].append(sanitize(data))
            else:
                flat[key].append(sanitize(value))
    return dict(flat)


def has_png(outputs: list) -> bool:
    return any("image/png" in output.get("data", {}) for output in outputs)


def prepared(path: Path) -> nbformat.NotebookNode:
    """The notebook as nbval would run it: NBVAL_SKIP cells emptied, expected errors allowed."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        options = nbval_options(cell)
        if options.get("skip"):
            cell.source = ""  # nbclient does not run empty cells
        if options.get("check_exception"):
            cell.metadata.setdefault("tags", []).append("raises-exception")
    return nb


def headless_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY"}}
    env["MPLBACKEND"] = "Agg"
    return env


def notebook_client(nb: nbformat.NotebookNode, **kwargs) -> NotebookClient:
    """The project's nbclient (tools.execute_notebooks.LessonClient): no missed wake-ups.

    Plain nbclient intermittently misses the wake-up for a cell's reply after an Output widget
    and sits out the whole cell timeout; tools.execute_notebooks.WakeSafeChannel says why.
    """
    if str(ROOT) not in sys.path:  # this runs as a script, with tests/ as its folder
        sys.path.insert(0, str(ROOT))
    from tools.execute_notebooks import LessonClient

    return LessonClient(nb, timeout=CELL_TIMEOUT_S, kernel_name=KERNEL_NAME, **kwargs)


# What torch.backends.cpu.get_cpu_capability() reports -> the next one down.
OTHER_CPU_KERNELS = {"AVX512": "avx2", "AVX2": "default"}
# MKL's own name for the branch it computes on; mkl_cbwr_get(MKL_CBWR_BRANCH) answers it as 3.
OTHER_MKL_BRANCH = "COMPATIBLE"
MKL_BRANCH_CODES = {1: "OFF", 2: "AUTO", 3: "COMPATIBLE", 10: "AVX2", 12: "AVX512", 14: "AVX512"}
# Run in run A's kernel, after the lesson: the CPU kernels torch used, MKL's branch (None where
# this torch has no MKL of its own, e.g. another platform's build) and torch's thread count.
CAPABILITY_PROBE = """
def _probe():
    import ctypes, json, pathlib, torch
    try:
        mkl = ctypes.CDLL(str(pathlib.Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"))
        branch = mkl.mkl_serv_cbwr_get(1)  # MKL_CBWR_BRANCH
    except (OSError, AttributeError):
        branch = None
    print(json.dumps({"torch": torch.backends.cpu.get_cpu_capability(), "mkl": branch,
                      "threads": torch.get_num_threads()}))
_probe()
del _probe
"""


@functools.cache
def other_cpu_kernels() -> str | None:
    """The ATEN_CPU_CAPABILITY run A uses, or None where this CPU has no lower set than its own."""
    import torch

    return OTHER_CPU_KERNELS.get(torch.backends.cpu.get_cpu_capability())


def other_cpu_environment() -> dict[str, str]:
    """What run A's kernel gets on top of this environment: another CPU's arithmetic."""
    env = {"MKL_CBWR": OTHER_MKL_BRANCH, "OMP_NUM_THREADS": "1"}
    if other_cpu_kernels():
        env["ATEN_CPU_CAPABILITY"] = other_cpu_kernels()
    return env


def run_hostile(path: Path, workdir: str) -> dict[str, list]:
    """Run A (foreign cwd, no display, another CPU's arithmetic: its caller sets those); then
    every cell re-run bottom-up in the same kernel; last, which CPU kernels the kernel used."""
    nb = prepared(path)
    client = notebook_client(nb)
    client.reset_execution_trackers()
    with client.setup_kernel(env=headless_env(), cwd=workdir):
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index, client.code_cells_executed + 1)
        first_run = [copy.deepcopy(cell.outputs) for cell in nb.cells if cell.cell_type == "code"]
        code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source]
        reruns = {}
        for index, cell in reversed(code[1:]):
            again = copy.deepcopy(cell)
            client.execute_cell(again, index, client.code_cells_executed + 1)
            reruns[index] = again.outputs
        rerun = [reruns.get(i) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        probe = nbformat.v4.new_code_cell(CAPABILITY_PROBE)
        nb.cells.append(probe)  # nbclient looks a cell up by its index
        client.execute_cell(probe, len(nb.cells) - 1, client.code_cells_executed + 1)
    capability = json.loads("".join(o.get("text", "") for o in probe.outputs))
    return {"hostile": first_run, "rerun": rerun, "capability": capability}


def run_friendly(path: Path) -> dict[str, list]:
    """Run B: a fresh kernel in the notebook's own folder, the environment as it is."""
    nb = prepared(path)
    client = notebook_client(nb, resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return {"friendly": [cell.outputs for cell in nb.cells if cell.cell_type == "code"]}


def one_run(run: str, path: Path) -> tuple[dict, list[str]]:
    """``python tests/test_determinism.py RUN NOTEBOOK WORKDIR OUT.json``: its outputs, and the
    files it left in its working directory (an empty temporary folder).

    A process per run: runs go in parallel without sharing an event loop, and nothing of
    pytest's process (other tests' loops, imports, cwd) leaks into a run.
    """
    with tempfile.TemporaryDirectory(prefix=f"lesson-{run}-") as scratch:
        workdir = Path(scratch) / "cwd"
        workdir.mkdir()
        out = Path(scratch) / "out.json"
        command = [sys.executable, __file__, run, str(path), str(workdir), str(out)]
        env = dict(os.environ)
        if run == "hostile":
            env.update(other_cpu_environment())  # the kernel inherits it
        log = Path(scratch) / "run.log"
        with log.open("w") as sink:  # a file, not a pipe: no pipe can fill up
            process = subprocess.Popen(
                command, cwd=workdir, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
            try:
                process.wait(timeout=RUN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()  # by its PID; ipykernel exits when its parent is gone
                raise
            finally:
                if process.poll() is None:  # interrupted: leave no kernel behind
                    process.kill()
        assert process.returncode == 0, f"the {run} run failed:\n{log.read_text()[-3000:]}"
        raw = json.loads(out.read_text())
        result = {k: to_nodes(v) if isinstance(v, list) else v for k, v in raw.items()}
        return result, sorted(os.listdir(workdir))


# All runs of the session, PARALLEL_RUNS at a time (one kernel per core), started as soon as
# the tests below are collected (tests/conftest.py), so they overlap the rest of the suite.
PARALLEL_RUNS = 2
_pool: ThreadPoolExecutor | None = None
_started: dict[tuple[Path, str], Future] = {}
_run_by_nbval: set[Path] = set()  # lessons whose run B is nbval's, in this session


def start_runs(paths: list[Path], run_by_nbval: set[Path] = frozenset()) -> None:
    """Queue both runs of every lesson in ``paths``, the slowest lessons (the last) first;
    only run A for the lessons in ``run_by_nbval`` (nbval runs them in this session).
    """
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=PARALLEL_RUNS, thread_name_prefix="lesson-run")
    _run_by_nbval.update(Path(p) for p in run_by_nbval)
    for path in sorted(set(paths), reverse=True):
        for run in ("hostile", "friendly"):  # hostile first: it also re-runs every cell
            if run == "friendly" and path in _run_by_nbval:
                continue
            if (path, run) not in _started:
                _started[path, run] = _pool.submit(one_run, run, path)


def run_by_nbval(paths: set[Path]) -> None:
    """Note the lessons whose run B is nbval's in this session, without starting any run."""
    _run_by_nbval.update(Path(p) for p in paths)


def stop_runs() -> None:
    """Drop the runs that have not started (a session cut short); wait for the others."""
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)


@functools.cache
def runs(path: Path) -> tuple[list[dict], list[str], dict]:
    """Per code cell: the committed cell and its outputs in each run; files the hostile run
    left in its cwd; the CPU kernels its kernel used (``{"torch": ..., "mkl": ...}``). Computed
    once per session and shared by the tests below.
    """
    start_runs([path])  # already queued when tests/conftest.py saw this test collected
    hostile, leftovers = _started[path, "hostile"].result()
    if path in _run_by_nbval:
        friendly = {"friendly": [None] * len(hostile["hostile"])}
    else:
        friendly, _ = _started[path, "friendly"].result()
    results = {**hostile, **friendly}
    committed = nbformat.read(path, as_version=4)
    cells = [(i, c) for i, c in enumerate(committed.cells) if c.cell_type == "code"]
    rows = [
        {"index": i, "cell": c, "hostile": a, "friendly": b, "rerun": r}
        for (i, c), a, b, r in zip(
            cells, results["hostile"], results["friendly"], results["rerun"], strict=True
        )
    ]
    return rows, leftovers, results["capability"]


def to_nodes(per_cell: list) -> list:
    """JSON outputs back to NotebookNodes (None stays None: a cell that was not re-run)."""
    return [None if o is None else [nbformat.from_dict(x) for x in o] for o in per_cell]


def compared_rows(path: Path, run: str) -> list[dict]:
    return [row for row in runs(path)[0] if row[run] is not None and compared(row["cell"])]


def differences(rows: list[dict], run: str, reference: str = "committed") -> list[str]:
    """One line per cell whose outputs differ between two runs (nbval would fail it)."""
    found = []
    for row in rows:
        want = comparable(row["cell"].outputs if reference == "committed" else row[reference])
        got = comparable(row[run])
        if want != got:
            first_line = row["cell"].source.splitlines()[0][:60]
            found.append(
                f"cell {row['index']} ({first_line!r}), {run} vs {reference}:\n"
                f"    expected {want!r:.400}\n    got      {got!r:.400}"
            )
    return found


parametrize = pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)


@parametrize
def test_foreign_cwd_and_no_display_give_the_committed_outputs(path: Path):
    diffs = differences(compared_rows(path, "hostile"), "hostile")
    assert not diffs, "\n".join(diffs)


@parametrize
def test_run_a_computes_with_another_cpus_kernels(path: Path):
    used = runs(path)[2]["torch"]
    wanted = other_cpu_kernels()
    if wanted is None:
        pytest.skip("this CPU runs torch's scalar kernels already: there is no other set to try")
    assert used.lower() == wanted, f"run A's kernel computed with {used}, not {wanted}"


@parametrize
def test_run_a_multiplies_matrices_on_mkls_other_branch(path: Path):
    code = runs(path)[2]["mkl"]
    if code is None:
        pytest.skip("this torch has no MKL of its own to ask")
    used = MKL_BRANCH_CODES.get(code, f"branch {code}")
    assert used == OTHER_MKL_BRANCH, f"run A's MKL computed on {used}, not {OTHER_MKL_BRANCH}"


@parametrize
def test_run_a_computes_on_one_thread(path: Path):
    threads = runs(path)[2]["threads"]
    assert threads == 1, f"run A's kernel computed on {threads} threads, not 1"


@parametrize
def test_two_fresh_runs_give_identical_outputs(path: Path):
    if path in _run_by_nbval:
        pytest.skip("nbval's run of this lesson in this session is run B (module docstring)")
    rows = compared_rows(path, "friendly")
    diffs = differences(rows, "friendly", reference="hostile") + differences(rows, "friendly")
    assert not diffs, "\n".join(diffs)


@parametrize
def test_rerunning_any_cell_out_of_order_changes_no_output(path: Path):
    diffs = differences(compared_rows(path, "rerun"), "rerun")
    assert not diffs, "\n".join(diffs)


@parametrize
def test_figures_render_without_a_display(path: Path):
    missing = [
        f"cell {row['index']} ({row['cell'].source.splitlines()[0][:60]!r})"
        for row in runs(path)[0]
        if has_png(row["cell"].outputs) and not has_png(row["hostile"])
    ]
    assert not missing, "with MPLBACKEND=Agg and no DISPLAY, no PNG figure in:\n" + "\n".join(
        missing
    )


@parametrize
def test_running_from_another_folder_writes_nothing_there(path: Path):
    # A lesson that writes files relative to the cwd would litter a learner's folder.
    assert runs(path)[1] == []


def test_kernel_is_this_python():
    # nbclient's "python3" kernel must be this interpreter (as --nbval-current-env makes it),
    # or the runs above would test some other environment. jupyter_client swaps a bare
    # "python"/"python3"/"python3.X" for sys.executable when it launches the kernel.
    from jupyter_client.kernelspec import KernelSpecManager

    argv0 = KernelSpecManager().get_kernel_spec(KERNEL_NAME).argv[0]
    version = sys.version_info
    bare = {"python", f"python{version[0]}", f"python{version[0]}.{version[1]}"}
    assert argv0 in bare or Path(argv0).resolve() == Path(sys.executable).resolve(), argv0


if __name__ == "__main__":  # one run in its own process: RUN NOTEBOOK WORKDIR OUT.json
    run, notebook, workdir, out = sys.argv[1:5]
    if run == "hostile":
        result = run_hostile(Path(notebook), workdir)
    else:
        result = run_friendly(Path(notebook))
    Path(out).write_text(json.dumps(result))
