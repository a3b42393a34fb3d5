"""The nbgrader assignments, graded by real nbgrader, and the checks students get as feedback.

One session fixture copies the course directory to a temp folder, releases it
with ``tools.build_assignments`` (the ``make assignments`` code path), submits
three versions of A1 and two of A2 (the instructor's solutions, the untouched
release, and for A1 a hard-coded answer that passes the visible tests) and runs
``nbgrader autograde`` once per assignment. The tests then read the gradebook.
"""

from __future__ import annotations

import hashlib
import math
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from shortcut_lib import GELU, ExampleDeepNeuralNetwork, checks

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # tools/ is a folder of scripts, not an installed package
    sys.path.insert(0, str(ROOT))
from tools import build_assignments  # noqa: E402

COURSE = ROOT / "notebooks" / "assignments"
NOTEBOOKS = {
    "A1": "A1_gelu_and_shortcuts.ipynb",
    "A2": "A2_bug_hunt.ipynb",
}
AUTOGRADED_POINTS = {"A1": 7.0, "A2": 6.0}
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


# --- the hard-coded submission ------------------------------------------------


def _hard_coded_a1_cells() -> dict[str, str]:
    """Answers that pass A1's visible tests from a table of the expected values.

    GELU looks its output up from the 81 points the visible test uses, the
    forward pass returns stored outputs for the two visible networks: exactly
    what the hidden tests are there to catch.
    """
    grid = torch.linspace(-4.0, 4.0, 81, dtype=torch.float64)
    gelu_table = {
        round(x, 6): y
        for x, y in zip(grid.tolist(), F.gelu(grid, approximate="tanh").tolist(), strict=True)
    }
    outputs = {}
    for sizes in (checks.BOOK_LAYER_SIZES, (3, 5, 5, 2, 2, 1)):
        x = checks._sample_inputs(sizes[0], 123)
        for use_shortcut in (False, True):
            model = checks._reference_model(list(sizes), use_shortcut, 123)
            with torch.no_grad():
                outputs[(sizes, use_shortcut)] = model(x).tolist()
    gelu = textwrap.dedent(
        f"""
        TABLE = {gelu_table!r}


        class GELU(nn.Module):
            def forward(self, x):
                values = [TABLE[round(v, 6)] for v in x.flatten().tolist()]
                return torch.tensor(values, dtype=x.dtype).reshape(x.shape)
        """
    )
    deepnet = textwrap.dedent(
        f"""
        OUTPUTS = {outputs!r}


        class DeepNet(nn.Module):
            def __init__(self, layer_sizes, use_shortcut):
                super().__init__()
                self.use_shortcut = use_shortcut
                self.layers = nn.ModuleList(
                    nn.Sequential(nn.Linear(n_in, n_out), GELU())
                    for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:])
                )

            def forward(self, x):
                sizes = (self.layers[0][0].in_features,) + tuple(
                    layer[0].out_features for layer in self.layers
                )
                return torch.tensor(OUTPUTS[(sizes, self.use_shortcut)])
        """
    )
    return {"a1_gelu": gelu, "a1_deepnet": deepnet}


def _with_cells(nb: nbformat.NotebookNode, sources: dict[str, str]) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in sources:
            cell.source = sources[grade_id]
    return nb


# --- the graded course ----------------------------------------------------------


def _tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _gradebook_scores(course: Path) -> dict[tuple[str, str], dict[str, tuple]]:
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "shortcut-lessons") as gradebook:
        for assignment, notebook in NOTEBOOKS.items():
            for student in ("instructor", "untouched", "hardcoded"):
                try:
                    submission = gradebook.find_submission_notebook(
                        Path(notebook).stem, assignment, student
                    )
                except MissingEntry:  # this student did not submit this assignment
                    continue
                scores[(assignment, student)] = {
                    grade.name: (grade.auto_score, grade.max_score) for grade in submission.grades
                }
    return scores


@pytest.fixture(scope="session")
def course(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A released, submitted and autograded copy of the course directory."""
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(COURSE / "source", course / "source")
    shutil.copy2(COURSE / "nbgrader_config.py", course / "nbgrader_config.py")

    source_hash = _tree_hash(course / "source")
    release = subprocess.run(
        [sys.executable, "-m", "tools.build_assignments", "--course", str(course)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert release.returncode == 0, release.stdout + release.stderr

    submissions = {
        ("A1", "hardcoded"): _with_cells(
            nbformat.read(course / "release" / "A1" / NOTEBOOKS["A1"], as_version=4),
            _hard_coded_a1_cells(),
        )
    }
    for assignment, notebook in NOTEBOOKS.items():
        submissions[(assignment, "instructor")] = nbformat.read(
            course / "source" / assignment / notebook, as_version=4
        )
        submissions[(assignment, "untouched")] = nbformat.read(
            course / "release" / assignment / notebook, as_version=4
        )
    for (assignment, student), nb in submissions.items():
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NOTEBOOKS[assignment])

    # One nbgrader process grades every assignment ("*" is globbed over submitted/*/).
    autograde = build_assignments.nbgrader(course, "autograde", "*", "--force")
    return {
        "dir": course,
        "source_hash_before": source_hash,
        "source_hash_after": _tree_hash(course / "source"),
        "release_output": release.stdout,
        "autograde": autograde,
        "scores": _gradebook_scores(course),
        "hard_coded_cells": _hard_coded_a1_cells(),
    }


def _test_cell_ids(assignment: str) -> set[str]:
    """The grade ids of the autograded (code) test cells of an assignment."""
    nb = nbformat.read(COURSE / "source" / assignment / NOTEBOOKS[assignment], as_version=4)
    return {
        cell.metadata["nbgrader"]["grade_id"]
        for cell in nb.cells
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")
    }


def _autograded(scores: dict[str, tuple], assignment: str) -> dict[str, tuple]:
    """The scores of the autograded test cells (not the hand-graded answers)."""
    return {name: score for name, score in scores.items() if name in _test_cell_ids(assignment)}


# --- release ----------------------------------------------------------------------


def test_build_leaves_source_untouched_and_reports_points(course):
    assert course["source_hash_after"] == course["source_hash_before"]
    assert "A1_gelu_and_shortcuts.ipynb: 7 points autograded, 2 by hand" in course["release_output"]
    assert "A2_bug_hunt.ipynb: 6 points autograded, 6 by hand" in course["release_output"]


@pytest.mark.parametrize("assignment", NOTEBOOKS)
def test_release_has_no_solutions_hidden_tests_or_outputs(course, assignment):
    source = nbformat.read(course["dir"] / "source" / assignment / NOTEBOOKS[assignment], 4)
    release = nbformat.read(course["dir"] / "release" / assignment / NOTEBOOKS[assignment], 4)
    release_text = "\n".join(cell.source for cell in release.cells)
    for marker in MARKERS:
        assert marker not in release_text

    # Every line that only the instructor's regions hold must be gone. A line
    # also found outside the regions (e.g. the classmate's code) is not a leak.
    secret, public = set(), set()
    for cell in source.cells:
        grading = cell.metadata.get("nbgrader", {})
        regions = re.findall(
            r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", cell.source, flags=re.S
        )
        for _, body in regions:
            secret.update(line.strip() for line in body.splitlines())
        if cell.cell_type == "markdown" and grading.get("solution"):
            secret.update(line.strip() for line in cell.source.splitlines())
        outside = re.sub(
            r"### BEGIN (SOLUTION|HIDDEN TESTS)\n.*?### END \1", "", cell.source, flags=re.S
        )
        if not (cell.cell_type == "markdown" and grading.get("solution")):
            public.update(line.strip() for line in outside.splitlines())
    leaks = [line for line in secret - public if len(line) > 12 and line in release_text]
    assert not leaks
    assert len(secret - public) > 10  # the comparison has something to find

    for cell in release.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
            compile(cell.source, f"{assignment} cell", "exec")  # stubs are valid Python
    stubs = [
        cell
        for cell in release.cells
        if cell.cell_type == "code" and "raise NotImplementedError()" in cell.source
    ]
    answers = [cell for cell in release.cells if cell.source == "YOUR ANSWER HERE"]
    assert (len(stubs), len(answers)) == {"A1": (2, 1), "A2": (3, 3)}[assignment]


def test_nbgrader_runs_the_projects_python_kernel():
    from jupyter_client.kernelspec import KernelSpecManager

    config = (COURSE / "nbgrader_config.py").read_text()
    assert 'c.Execute.kernel_name = "python3"' in config
    env = build_assignments.nbgrader_env()
    jupyter_path = env["JUPYTER_PATH"].split(":")
    assert jupyter_path[0] == str(Path(sys.prefix) / "share" / "jupyter")
    spec = KernelSpecManager(kernel_dirs=[str(Path(p) / "kernels") for p in jupyter_path])
    argv = spec.get_kernel_spec("python3").argv
    # "python" is replaced by the Python that runs nbgrader (jupyter_client does that).
    assert argv[0] in ("python", "python3", sys.executable)
    assert Path(env["PATH"].split(":")[0], "alembic").exists()


# --- autograding --------------------------------------------------------------------


@pytest.mark.parametrize("assignment", NOTEBOOKS)
def test_instructor_solutions_score_full_marks(course, assignment):
    result = course["autograde"]
    assert result.returncode == 0, result.stdout + result.stderr
    scores = _autograded(course["scores"][(assignment, "instructor")], assignment)
    assert scores, "no autograded cells were recorded"
    assert all(score == maximum for score, maximum in scores.values()), scores
    assert sum(score for score, _ in scores.values()) == AUTOGRADED_POINTS[assignment]


@pytest.mark.parametrize("assignment", NOTEBOOKS)
def test_untouched_release_scores_zero_without_crashing(course, assignment):
    assert course["autograde"].returncode == 0
    scores = course["scores"][(assignment, "untouched")]
    autograded = _autograded(scores, assignment)
    assert len(autograded) == {"A1": 2, "A2": 3}[assignment]  # every test cell was graded
    assert all(score == 0 for score, _ in autograded.values()), autograded
    # ... and the notebook ran to its end (autograde allows errors and goes on).
    graded = nbformat.read(
        course["dir"] / "autograded" / "untouched" / assignment / NOTEBOOKS[assignment], 4
    )
    tests = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade")]
    last_test = [c for c in tests if c.cell_type == "code"][-1]
    assert last_test.outputs and last_test.outputs[-1].output_type == "error"


def test_hard_coded_answers_pass_the_visible_tests_but_fail_the_hidden_ones(course):
    namespace = {"torch": torch, "nn": nn, "math": math}
    for source in course["hard_coded_cells"].values():
        exec(source, namespace)  # the submission under test
    checks.check_gelu(namespace["GELU"])  # the visible tests pass ...
    checks.check_shortcut_forward(namespace["DeepNet"])
    scores = _autograded(course["scores"][("A1", "hardcoded")], "A1")
    assert scores == {"a1_test_gelu": (0.0, 3.0), "a1_test_forward": (0.0, 4.0)}  # ... not these


# --- checks.py ----------------------------------------------------------------------


def _failure(check, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        check(*args, **kwargs)
    return str(info.value)


def test_check_gelu_accepts_a_class_an_instance_and_a_function():
    checks.check_gelu(GELU)
    checks.check_gelu(GELU())
    checks.check_gelu(lambda x: F.gelu(x, approximate="tanh"))


def test_check_gelu_names_the_typo_coefficient_and_where_it_hurts():
    message = _failure(checks.check_gelu, lambda x: GELU(0.004715)(x))
    assert "differs from the reference by 0.029 at x = 2.1" in message
    assert "yours behaves like 0.004715, expected 0.044715" in message


@pytest.mark.parametrize(
    ("gelu", "hint"),
    [
        (nn.GELU(), "that is the exact GELU"),
        (lambda x: 2 * F.gelu(x, approximate="tanh"), "factor 0.5"),
        (lambda x: 0.5 * x * (1 + torch.tanh(2 / math.pi * (x + 0.044715 * x**3))), "2/π"),
        (nn.ReLU(), "that is ReLU"),
        (lambda x: x, "compare your code with the formula"),
        (lambda x: None, "did you forget `return`"),
        (lambda x: x[:3], "shape"),
        (lambda x: F.gelu(x.float(), approximate="tanh"), "float64 input into torch.float32"),
        (lambda x: x.mul_(0.0), "changed its input in place"),
    ],
)
def test_check_gelu_says_what_is_wrong(gelu, hint):
    assert hint in _failure(checks.check_gelu, gelu)


def test_check_gelu_can_forbid_torchs_own_gelu():
    checks.check_gelu(nn.GELU(approximate="tanh"))
    message = _failure(checks.check_gelu, nn.GELU(approximate="tanh"), allow_torch_gelu=False)
    assert "calls torch's own gelu" in message
    checks.check_gelu(GELU, allow_torch_gelu=False)


def test_check_gelu_rejects_what_is_not_code():
    with pytest.raises(TypeError, match="got 3 \\(int\\)"):
        checks.check_gelu(3)


class _Net(nn.Module):
    """A correct student network; subclasses plant one mistake each."""

    def __init__(self, layer_sizes, use_shortcut):
        super().__init__()
        self.use_shortcut = use_shortcut
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Linear(n_in, n_out), GELU())
            for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:], strict=True)
        )

    def forward(self, x):
        for layer in self.layers:
            out = layer(x)
            x = x + out if self.use_shortcut and x.shape == out.shape else out
        return x


class _IgnoresShortcut(_Net):
    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class _ShortcutEverywhereButLast(_Net):
    def forward(self, x):
        for i, layer in enumerate(self.layers):
            out = layer(x)
            x = x + out if self.use_shortcut and i < len(self.layers) - 1 else out
        return x


class _SkipsLastLayer(_Net):
    def forward(self, x):
        for layer in self.layers[:-1]:
            out = layer(x)
            x = x + out if self.use_shortcut else out
        return x


def test_check_shortcut_forward_passes_a_correct_network_even_with_a_wrong_gelu():
    checks.check_shortcut_forward(_Net)
    checks.check_shortcut_forward(ExampleDeepNeuralNetwork)

    class WrongGelu(_Net):
        def __init__(self, layer_sizes, use_shortcut):
            super().__init__(layer_sizes, use_shortcut)
            for layer in self.layers:
                layer[1] = nn.ReLU()

    checks.check_shortcut_forward(WrongGelu)  # the GELU has its own check


@pytest.mark.parametrize(
    ("model_class", "hint"),
    [
        (_IgnoresShortcut, "ignores use_shortcut"),
        (_ShortcutEverywhereButLast, "check x.shape == layer_output.shape"),
        (_SkipsLastLayer, "expected (5, 1)"),
    ],
)
def test_check_shortcut_forward_says_what_is_wrong(model_class, hint):
    assert hint in _failure(checks.check_shortcut_forward, model_class)


def test_check_shortcut_forward_reports_renamed_parameters():
    class Renamed(_Net):
        def __init__(self, layer_sizes, use_shortcut):
            super().__init__(layer_sizes, use_shortcut)
            self.blocks = self.layers
            del self.layers

    assert "keep the __init__ given" in _failure(checks.check_shortcut_forward, Renamed)


def test_check_same_initial_weights_catches_the_missing_reseed():
    torch.manual_seed(123)
    plain = ExampleDeepNeuralNetwork([3, 3, 3, 3, 3, 1], use_shortcut=False)
    unseeded = ExampleDeepNeuralNetwork([3, 3, 3, 3, 3, 1], use_shortcut=True)
    torch.manual_seed(123)
    reseeded = ExampleDeepNeuralNetwork([3, 3, 3, 3, 3, 1], use_shortcut=True)
    checks.check_same_initial_weights(plain, reseeded)
    message = _failure(checks.check_same_initial_weights, plain, unseeded)
    assert message.startswith("layers.0.0.weight differs between model_without_shortcut")
    assert "torch.manual_seed(123)" in message
    other = ExampleDeepNeuralNetwork([3, 3, 1], use_shortcut=True)
    assert "has parameters" in _failure(checks.check_same_initial_weights, plain, other)
    with pytest.raises(TypeError):
        checks.check_same_initial_weights(plain, "model")


def test_check_has_activation_catches_the_activation_passed_as_bias():
    class BiasTypo(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(
                [nn.Sequential(nn.Linear(3, 3, GELU())), nn.Sequential(nn.Linear(3, 1, GELU()))]
            )

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    message = _failure(checks.check_has_activation, BiasTypo(), name="model_without_shortcut")
    assert "model_without_shortcut.layers[0] is Sequential( (0): Linear(" in message
    assert "passes GELU() as the `bias` argument" in message
    checks.check_has_activation(ExampleDeepNeuralNetwork([3, 3, 3, 1], use_shortcut=False))
    affine = nn.Sequential(nn.Linear(3, 3), nn.Identity(), nn.Linear(3, 1))
    assert "is affine" in _failure(checks.check_has_activation, affine)
