"""The nbgrader assignments, graded by real nbgrader, and the checks students get as feedback.

One session fixture copies the course directory to a temp folder, releases it
with ``tools.build_assignments`` (the ``make assignments`` code path), submits a
generated class and grades it with ``tools.autograde --jobs 2`` (the ``make autograde``
code path: two nbgrader processes, two gradebooks, merged). The tests then read
the merged gradebook, the graded notebooks and three students' feedback.

The class written below (A1_CLASS: 18 students, right, wrong, the 0.004715 typo,
hard-coded, empty, untouched, looping, ...) costs ~8 s of grading per student. The
suite grades SUITE_CLASS, one student for every score the class can get and every
student a test reads by name (A2: the instructor's solutions and the untouched
release); each other wrong answer is one of those failures again, and the checks
that catch it are tested directly below (test_check_gelu_says_what_is_wrong, ...).
``SHORTCUT_FULL_CLASS=1`` grades all of A1_CLASS.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
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


# --- the generated class -----------------------------------------------------------

RIGHT_GELU = """
class GELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
"""
RIGHT_FORWARD = """
class DeepNet(nn.Module):
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
            x = x + out if self.use_shortcut and out.shape == x.shape else out
        return x
"""


def _gelu(body: str) -> str:
    return f"class GELU(nn.Module):\n    def forward(self, x):\n        {body}\n"


def _forward(body: str) -> str:
    head = RIGHT_FORWARD[: RIGHT_FORWARD.index("    def forward")]
    return head + "    def forward(self, x):\n" + textwrap.indent(textwrap.dedent(body), " " * 8)


# student -> (the A1 cells they changed, the autograded scores they must get: GELU, forward).
# "-" keeps the released stub. Each wrong answer fails exactly the test of what is wrong (the
# forward test swaps the library's GELU in, so a wrong GELU costs only Task 1's points).
A1_CLASS: dict[str, tuple[dict[str, str], tuple[float, float]]] = {
    "right_1": ({}, (3, 4)),  # the instructor's own notebook, see _a1_submission
    "right_2": ({"a1_gelu": RIGHT_GELU, "a1_deepnet": RIGHT_FORWARD}, (3, 4)),
    "right_3": (
        {
            "a1_gelu": _gelu(
                "return x * 0.5 * (1 + torch.tanh("
                "(2 / math.pi) ** 0.5 * (x + 0.044715 * x * x * x)))"
            ),
            "a1_deepnet": RIGHT_FORWARD,
        },
        (3, 4),
    ),
    "untouched": ({"a1_gelu": "-", "a1_deepnet": "-"}, (0, 0)),
    "empty": ({"a1_gelu": "", "a1_deepnet": ""}, (0, 0)),
    "typo_004715": (
        {
            "a1_gelu": _gelu(
                "return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.004715 * x**3)))"
            ),
            "a1_deepnet": RIGHT_FORWARD,
        },
        (0, 4),
    ),
    "hardcoded": (None, (0, 0)),  # _hard_coded_a1_cells
    "exact_gelu": (
        {
            "a1_gelu": _gelu("return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))"),
            "a1_deepnet": RIGHT_FORWARD,
        },
        (0, 4),
    ),
    "torch_gelu": (
        {
            "a1_gelu": _gelu('return torch.nn.functional.gelu(x, approximate="tanh")'),
            "a1_deepnet": RIGHT_FORWARD,
        },
        (0, 4),
    ),
    "library_gelu": (  # shortcut_lib's GELU, which the students have installed
        {
            "a1_gelu": "import shortcut_lib\n\n" + _gelu("return shortcut_lib.GELU()(x)"),
            "a1_deepnet": RIGHT_FORWARD,
        },
        (0, 4),
    ),
    "gelu_no_return": (
        {
            "a1_gelu": _gelu("0.5 * x * (1 + torch.tanh(0.7978845608 * (x + 0.044715 * x**3)))"),
            "a1_deepnet": RIGHT_FORWARD,
        },
        (0, 4),
    ),
    "no_shortcut": (
        {
            "a1_gelu": RIGHT_GELU,
            "a1_deepnet": _forward("for layer in self.layers:\n    x = layer(x)\nreturn x\n"),
        },
        (3, 0),
    ),
    "shortcut_everywhere": (
        {
            "a1_gelu": RIGHT_GELU,
            "a1_deepnet": _forward(
                "for layer in self.layers:\n"
                "    x = x + layer(x) if self.use_shortcut else layer(x)\n"
                "return x\n"
            ),
        },
        (3, 0),
    ),
    "forward_loops": (
        {
            "a1_gelu": RIGHT_GELU,
            "a1_deepnet": _forward(
                # Loops on a batch (the checks' inputs), not on Task 3's single sample: the checks'
                # own time limit must stop it (a cell timeout under load can make nbgrader fail
                # the whole notebook, a flaky test).
                "i = 0\nwhile i < len(self.layers):\n    x = self.layers[i](x)\n"
                "    i += x.shape[0] == 1\nreturn x\n"
            ),
        },
        (3, 0),
    ),
    "syntax_error": (
        {
            "a1_gelu": RIGHT_GELU,
            "a1_deepnet": _forward("for layer in self.layers\n    x = layer(x)\n"),
        },
        (3, 0),
    ),
    "returns_numpy": (
        {
            "a1_gelu": RIGHT_GELU,
            "a1_deepnet": _forward(
                "for layer in self.layers:\n    out = layer(x)\n"
                "    x = x + out if self.use_shortcut and out.shape == x.shape else out\n"
                "return x.detach().numpy()\n"
            ),
        },
        (3, 0),
    ),
    "gelu_in_place": (
        {
            "a1_gelu": _gelu(
                "return x.mul_(0.5 * (1 + torch.tanh(0.7978845608 * (x + 0.044715 * x**3))))"
            ),
            "a1_deepnet": RIGHT_FORWARD,
        },
        (0, 4),
    ),
    "float64_gelu": (
        {
            "a1_gelu": _gelu(
                "x64 = x.double()\n"
                "        return 0.5 * x64 * (1 + torch.tanh(0.797885 * (x64 + 0.044715 * x64**3)))"
            ),
            "a1_deepnet": RIGHT_FORWARD,
        },
        (0, 4),
    ),
}


# Graded in every run: the instructor's notebook, the untouched release, the hard-coded
# answers, a GELU typo and torch's own GELU (both also read in the feedback), a forward pass
# without the shortcut, one that loops and one that does not compile. Together: every
# (Task 1, Task 2) score in A1_CLASS (test_the_suite_class_has_every_kind_of_score).
SUITE_CLASS = (
    "right_1",
    "untouched",
    "hardcoded",
    "typo_004715",
    "torch_gelu",
    "no_shortcut",
    "forward_loops",
    "syntax_error",
)
FULL_CLASS = os.environ.get("SHORTCUT_FULL_CLASS", "") not in ("", "0")
GRADED = tuple(A1_CLASS) if FULL_CLASS else SUITE_CLASS


def _a1_submission(course: Path, student: str) -> nbformat.NotebookNode:
    release = nbformat.read(course / "release" / "A1" / NOTEBOOKS["A1"], as_version=4)
    if student == "right_1":
        return nbformat.read(course / "source" / "A1" / NOTEBOOKS["A1"], as_version=4)
    if student == "hardcoded":
        return _with_cells(release, _hard_coded_a1_cells())
    cells, _scores = A1_CLASS[student]
    return _with_cells(release, {k: v for k, v in cells.items() if v != "-"})


def _gradebook_scores(course: Path) -> dict[tuple[str, str], dict[str, tuple]]:
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "shortcut-lessons") as gradebook:
        for assignment, notebook in NOTEBOOKS.items():
            for submission in gradebook.notebook_submissions(Path(notebook).stem, assignment):
                scores[(assignment, submission.student.id)] = {
                    grade.name: (grade.auto_score, grade.max_score) for grade in submission.grades
                }
    return scores


@pytest.fixture(scope="session")
def course(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A released copy of the course directory, with a whole class submitted and graded."""
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

    submissions = {("A1", student): _a1_submission(course, student) for student in GRADED}
    for student in ("instructor", "untouched"):
        folder = "source" if student == "instructor" else "release"
        submissions[("A2", student)] = nbformat.read(
            course / folder / "A2" / NOTEBOOKS["A2"], as_version=4
        )
    for (assignment, student), nb in submissions.items():
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NOTEBOOKS[assignment])

    autograde, seconds = {}, {}
    for assignment in NOTEBOOKS:
        start = time.perf_counter()
        autograde[assignment] = subprocess.run(
            [sys.executable, "-m", "tools.autograde", assignment, "--jobs", "2",
             "--course", str(course)],
            cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
        seconds[assignment] = time.perf_counter() - start
    print(f"autograde with 2 jobs: {seconds}")
    feedback = build_assignments.nbgrader(
        course, "generate_feedback", "A1", "--force", "--student=[ut]*"
    )  # untouched, typo_004715, torch_gelu
    return {
        "dir": course,
        "source_hash_before": source_hash,
        "source_hash_after": _tree_hash(course / "source"),
        "release_output": release.stdout,
        "autograde": autograde,
        "feedback": feedback,
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
    result = course["autograde"][assignment]
    assert result.returncode == 0, result.stdout + result.stderr
    student = {"A1": "right_1", "A2": "instructor"}[assignment]
    scores = _autograded(course["scores"][(assignment, student)], assignment)
    assert scores, "no autograded cells were recorded"
    assert all(score == maximum for score, maximum in scores.values()), scores
    assert sum(score for score, _ in scores.values()) == AUTOGRADED_POINTS[assignment]


@pytest.mark.parametrize("assignment", NOTEBOOKS)
def test_untouched_release_scores_zero_without_crashing(course, assignment):
    assert course["autograde"][assignment].returncode == 0
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


def honest_gelu(x):  # what an honest student writes
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def test_check_gelu_can_forbid_torchs_own_gelu():
    checks.check_gelu(nn.GELU(approximate="tanh"))
    message = _failure(checks.check_gelu, nn.GELU(approximate="tanh"), allow_torch_gelu=False)
    assert "calls torch's own gelu" in message
    checks.check_gelu(honest_gelu, allow_torch_gelu=False)


def test_check_gelu_can_forbid_the_librarys_own_gelu():
    for gelu in (GELU, GELU(), lambda x: GELU()(x)):
        checks.check_gelu(gelu)
        assert "write the formula yourself" in _failure(
            checks.check_gelu, gelu, allow_torch_gelu=False
        )


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


# --- the class: parallel grading, exact scores, feedback --------------------------------------


def test_every_student_of_the_class_gets_exactly_their_score(course):
    result = course["autograde"]["A1"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "with 2 job(s)" in result.stdout
    got = {
        student: tuple(
            course["scores"][("A1", student)][cell][0]
            for cell in ("a1_test_gelu", "a1_test_forward")
        )
        for student in GRADED
    }
    expected = {student: A1_CLASS[student][1] for student in GRADED}
    assert got == expected
    # Every student was merged into the one course gradebook, the graded notebooks moved there.
    for student in GRADED:
        assert (course["dir"] / "autograded" / student / "A1" / NOTEBOOKS["A1"]).is_file()
    assert not list(course["dir"].glob(".autograde-*"))  # the scratch gradebooks are gone


def test_the_suite_class_has_every_kind_of_score():
    # A student added to A1_CLASS with a new kind of result must be graded in every run too.
    assert set(SUITE_CLASS) <= set(A1_CLASS)
    kinds = {scores for _cells, scores in A1_CLASS.values()}
    assert {A1_CLASS[student][1] for student in SUITE_CLASS} == kinds
    assert set(SUITE_CLASS) <= set(GRADED)


def test_the_looping_student_is_stopped_by_the_checks_time_limit(course):
    graded = nbformat.read(
        course["dir"] / "autograded" / "forward_loops" / "A1" / NOTEBOOKS["A1"], 4
    )
    errors = {
        cell.metadata.get("nbgrader", {}).get("grade_id", cell.id): output
        for cell in graded.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    }
    assert "did not return within 10 s" in errors["a1_test_forward"]["evalue"]
    assert set(errors) == {"a1_test_forward"}  # the rest of the notebook ran


def test_autograde_tool_refuses_bad_input_and_reports_pending_manual_grading(course, tmp_path):
    from tools import autograde

    assert autograde.deal(list("abcde"), 2) == [["a", "c", "e"], ["b", "d"]]
    assert autograde.deal(["a"], 4) == [["a"]]
    with pytest.raises(FileNotFoundError, match="release the assignment first"):
        autograde.autograde(tmp_path, "A1", jobs=2)
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        autograde.autograde(course["dir"], "A1", jobs=0)
    pending = autograde.scores(course["dir"], "A1")
    assert set(pending) == set(GRADED)
    # A written answer waits for the instructor; an untouched answer cell is 0 at once (nbgrader).
    assert pending["right_1"][2] is True and pending["untouched"][2] is False
    assert "(written answers still to grade by hand)" in course["autograde"]["A1"].stdout
    assert "SAWarning" not in course["autograde"]["A1"].stderr


def test_a_hand_graded_answer_stays_graded_when_autograde_runs_again(course, tmp_path):
    """The instructor scores right_1's written answer; autograding again keeps it graded."""
    from nbgrader.api import Gradebook

    from tools import autograde

    copy = tmp_path / "course"
    copy.mkdir()
    for name in ("nbgrader_config.py", "gradebook.db"):
        shutil.copy2(course["dir"] / name, copy / name)
    for name in ("source", "release"):
        shutil.copytree(course["dir"] / name, copy / name)
    shutil.copytree(
        course["dir"] / "submitted" / "right_1" / "A1", copy / "submitted" / "right_1" / "A1"
    )
    url = f"sqlite:///{copy / 'gradebook.db'}"
    notebook = Path(NOTEBOOKS["A1"]).stem
    with Gradebook(url, "shortcut-lessons") as gradebook:
        written = [
            g
            for g in gradebook.find_submission_notebook(notebook, "A1", "right_1").grades
            if g.needs_manual_grade
        ]
        assert written, "right_1's written answer should wait for the instructor"
        for grade in written:  # what the Formgrader does when the instructor gives a score
            grade.manual_score, grade.needs_manual_grade = 2.0, False
        gradebook.db.commit()
    finished = autograde.autograde(copy, "A1", jobs=1)
    assert all(job.returncode == 0 and not job.failed for job in finished), finished[0].log
    score, max_score, pending = autograde.scores(copy, "A1")["right_1"]
    assert (score, max_score, pending) == (9, 9, False)


def test_the_config_collects_lms_downloads_and_keeps_the_exchange_in_the_course():
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(COURSE)).load_config()
    regexp = re.compile(config.FileNameCollectorPlugin.named_regexp)
    match = regexp.match("ps1_bitdiddle_attempt_2016-01-30-15-00-00_problem1.ipynb")
    assert match and match["student_id"] == "bitdiddle" and match["file_id"] == "problem1"
    assert Path(config.Exchange.root) == COURSE / "exchange"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(COURSE / "exchange" / "x")], cwd=ROOT
    )
    assert ignored.returncode == 0, "the exchange folder must be git-ignored"


def _feedback_text(course: dict, student: str) -> str:
    import html

    name = NOTEBOOKS["A1"].replace(".ipynb", ".html")
    text = (course["dir"] / "feedback" / student / "A1" / name).read_text()
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())


def test_feedback_names_the_problem_without_the_graders_paths(course):
    assert course["feedback"].returncode == 0, course["feedback"].stderr
    untouched = _feedback_text(course, "untouched")
    assert "not implemented yet — replace `raise NotImplementedError()` under `# YOUR" in untouched
    assert "raised RuntimeError" not in untouched
    assert "with torch.tanh, without torch's gelu or shortcut_lib's GELU" in _feedback_text(
        course, "torch_gelu"
    )  # the whole hint
    typo = _feedback_text(course, "typo_004715")
    assert "yours behaves like 0.004715, expected 0.044715" in typo
    for student in ("untouched", "torch_gelu", "typo_004715"):
        text = _feedback_text(course, student)
        assert str(ROOT) not in text and "site-packages" not in text, student


# --- the Formgrader ------------------------------------------------------------------------


def test_formgrader_lists_the_assignments_when_lab_runs_in_the_course(course, tmp_path):
    import json
    import os
    import secrets
    import signal
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = secrets.token_hex(16)
    env = build_assignments.nbgrader_env()
    for name in ("CONFIG", "DATA", "RUNTIME"):
        (tmp_path / name).mkdir()
        env[f"JUPYTER_{name}_DIR"] = str(tmp_path / name)
    env["JUPYTER_TOKEN"] = token
    command = build_assignments.formgrade_command(
        course["dir"], "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}"
    )
    (course["dir"] / "exchange").mkdir(exist_ok=True)  # as make formgrade does
    log = (tmp_path / "lab.log").open("w")
    lab = subprocess.Popen(command, cwd=course["dir"], env=env, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}/formgrader/api/assignments"
        request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    assignments = json.loads(response.read())
                break
            except OSError:
                assert lab.poll() is None, (tmp_path / "lab.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "Lab did not answer within 90 s"
                time.sleep(0.5)
        names = {a["name"]: a for a in assignments}
        assert {"A1", "A2"} <= set(names)
        assert names["A1"]["num_submissions"] == len(GRADED)
    finally:
        os.kill(lab.pid, signal.SIGTERM)
        lab.wait(timeout=30)
        log.close()
    # The course's own exchange folder (nbgrader_config.py): no error at every API call.
    assert "Unwritable directory" not in (tmp_path / "lab.log").read_text()
