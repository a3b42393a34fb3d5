"""The student checks never pass wrong work and never blame the wrong thing (issue 10).

Each test hands ``shortcut_lib.checks`` something a student (or an instructor writing a test
cell) plausibly types, and asserts the exact kind of failure and what the message names.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest
import torch
from torch import nn

from shortcut_lib import GELU, ExampleDeepNeuralNetwork, checks
from shortcut_lib.activations import tanh_normal_cdf


def _failure(check, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as caught:
        check(*args, **kwargs)
    return str(caught.value)


class Net(nn.Module):
    """A correct student network, named like the book's."""

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


# --- what the checks are given ------------------------------------------------------


def test_an_instance_instead_of_the_class_is_named():
    with pytest.raises(TypeError, match=r"got an instance of it \(Net\(\.\.\.\)\); pass the class"):
        checks.check_shortcut_forward(Net([3, 3, 1], use_shortcut=True))
    with pytest.raises(
        TypeError, match="got the class ExampleDeepNeuralNetwork itself; build one first"
    ):
        checks.check_has_activation(ExampleDeepNeuralNetwork)
    model = ExampleDeepNeuralNetwork([3, 3, 1], use_shortcut=False)
    with pytest.raises(TypeError, match="model_with_shortcut must be a built model"):
        checks.check_same_initial_weights(model, ExampleDeepNeuralNetwork)


@pytest.mark.parametrize(
    ("layer_sizes", "error", "match"),
    [
        ([], ValueError, "got an empty list: nothing to check"),
        ([3, 3, 1], TypeError, r"for a single network write \[\[3, 3, 1\]\]"),
        ([[3]], ValueError, r"at least one layer.*got \[3\]"),
        ([[3, 0, 1]], ValueError, "positive integers"),
        ("333", TypeError, "layer_sizes must be a list"),
    ],
)
def test_bad_layer_sizes_are_an_error_not_a_pass(layer_sizes, error, match):
    # [] used to check nothing and pass any network.
    with pytest.raises(error, match=match):
        checks.check_shortcut_forward(Net, layer_sizes=layer_sizes)


@pytest.mark.parametrize(
    ("atol", "error"), [(math.nan, ValueError), (-1, ValueError), (math.inf, ValueError),
                        ("1e-5", TypeError)]
)  # fmt: skip
def test_bad_tolerances_are_an_error(atol, error):
    # atol=nan passed every GELU (no difference is > nan); atol=-1 failed the right one.
    with pytest.raises(error, match="atol must be"):
        checks.check_gelu(lambda x: x, atol=atol)
    with pytest.raises(error, match="atol must be"):
        checks.check_shortcut_forward(Net, atol=atol)


def test_numpy_scalars_are_accepted_where_numbers_are():
    checks.check_gelu(GELU, atol=np.float64(1e-5))
    checks.check_shortcut_forward(Net, seed=np.int64(123), layer_sizes=[np.array([3, 3, 1])])


# --- what the student's code returns ---------------------------------------------------


class ReturnsFloat64(Net):
    def forward(self, x):
        return super().forward(x).double()


class ReturnsNone(Net):
    def forward(self, x):
        super().forward(x)


class ReturnsNumpy(Net):
    def forward(self, x):
        return super().forward(x).numpy()


class ReturnsNaN(Net):
    def forward(self, x):
        return super().forward(x) * math.nan


class NotImplementedYet(Net):
    def forward(self, x):
        raise NotImplementedError()


@pytest.mark.parametrize(
    ("model_class", "message"),
    [
        (ReturnsFloat64, "turned a torch.float32 input into torch.float64"),
        (ReturnsNone, "returned None; expected a tensor — did you forget `return x`?"),
        (ReturnsNumpy, "returned a numpy ndarray; expected a torch tensor"),
        (ReturnsNaN, "gives [nan, nan"),
        (NotImplementedYet, "not implemented yet — replace `raise NotImplementedError()`"),
    ],
)
def test_forward_results_that_are_not_the_answer_fail_with_the_reason(model_class, message):
    assert message in _failure(checks.check_shortcut_forward, model_class)


def test_not_implemented_is_not_called_a_runtime_error():
    # NotImplementedError is a RuntimeError: it used to get the shape hint for shortcuts.
    message = _failure(checks.check_shortcut_forward, NotImplementedYet)
    assert "RuntimeError" not in message and "shortcut x + layer_output" not in message

    class GeluStub(nn.Module):
        def forward(self, x):
            raise NotImplementedError()

    assert "your GELU on a torch.float32 tensor: not implemented yet" in _failure(
        checks.check_gelu, GeluStub
    )


def test_a_shape_error_still_gets_the_shortcut_hint():
    class ShortcutEverywhere(Net):
        def forward(self, x):
            for layer in self.layers:
                x = x + layer(x) if self.use_shortcut else layer(x)
            return x

    message = _failure(
        checks.check_shortcut_forward, ShortcutEverywhere, layer_sizes=[[3, 5, 5, 1]]
    )
    assert "raised RuntimeError" in message and "check x.shape == layer_output.shape" in message


def test_gelu_results_that_are_not_the_answer_fail():
    assert "returned a numpy ndarray" in _failure(checks.check_gelu, lambda x: np.tanh(x.numpy()))
    assert "returned nan" in _failure(checks.check_gelu, lambda x: x * math.nan)


def test_output_layer_registered_first_is_measured_from_the_right_input():
    class HeadFirst(nn.Module):
        """Linear 3->3 -> GELU -> Linear 3->... : the output layer is defined first."""

        def __init__(self, plain: bool = False):
            super().__init__()
            self.head = nn.Linear(5, 1)
            self.body = nn.Linear(3, 5)
            self.act = nn.Identity() if plain else GELU()

        def forward(self, x):
            return self.head(self.act(self.body(x)))

    checks.check_has_activation(HeadFirst())  # used to fail: probed with width 5
    assert "is affine" in _failure(checks.check_has_activation, HeadFirst(plain=True))


def test_a_nan_weight_is_not_blamed_on_seeding():
    torch.manual_seed(123)
    a = ExampleDeepNeuralNetwork([3, 3, 1], use_shortcut=False)
    torch.manual_seed(123)
    b = ExampleDeepNeuralNetwork([3, 3, 1], use_shortcut=True)
    with torch.no_grad():
        b.layers[0][0].weight[0, 0] = math.nan
    message = _failure(checks.check_same_initial_weights, a, b)
    assert "layers.0.0.weight of model_with_shortcut holds NaN" in message
    assert "manual_seed" not in message


# --- time and global state ----------------------------------------------------------------


@pytest.fixture
def short_time_limit(monkeypatch):
    # the limit lives with the machinery that enforces it
    monkeypatch.setattr(checks._student_code, "TIME_LIMIT_S", 0.5)


def _forever(x):
    while True:
        x = x + 0


@pytest.mark.parametrize("where", ["main thread", "other thread"])
def test_student_code_that_never_returns_is_stopped_and_said_so(short_time_limit, where):
    outcome = {}

    def run() -> None:
        start = time.perf_counter()
        try:
            checks.check_gelu(_forever)
        except AssertionError as error:
            outcome["message"] = str(error)
        outcome["seconds"] = time.perf_counter() - start

    if where == "main thread":
        run()
    else:  # e.g. a kernel that runs cells off the main thread: no SIGALRM there
        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=20)
        assert not thread.is_alive()
    assert "did not return within 0.5 s, the time limit of these checks" in outcome["message"]
    assert outcome["seconds"] < 5


def test_a_sleeping_forward_is_stopped_too(short_time_limit):
    class Sleeps(Net):
        def forward(self, x):
            time.sleep(60)

    assert "did not return within 0.5 s" in _failure(checks.check_shortcut_forward, Sleeps)


def test_the_time_limit_is_cleared_after_a_check():
    import signal

    before = signal.getsignal(signal.SIGALRM)
    checks.check_gelu(GELU)
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# Student code that draws random numbers itself (dropout, torch.rand) must not move it either.
_WITH_DROPOUT = nn.Sequential(nn.Linear(3, 3), GELU(), nn.Dropout(0.0), nn.Linear(3, 1))


@pytest.mark.parametrize(
    "check",
    [
        lambda: checks.check_shortcut_forward(Net),
        lambda: checks.check_gelu(lambda x: GELU()(x) + 0 * torch.rand(())),
        lambda: checks.check_has_activation(_WITH_DROPOUT.train()),
    ],
    ids=["shortcut_forward", "gelu", "has_activation"],
)
def test_checks_leave_the_global_rng_alone(check):
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check()
    assert torch.equal(torch.rand(3), expected)


# --- how a failure reads in a notebook and in nbgrader's feedback --------------------------


def test_a_failure_shows_the_students_lines_and_the_whole_hint_not_the_graders_paths():
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(checks.CheckFailed) as caught:
        checks.check_gelu(stub)
    assert isinstance(caught.value, AssertionError)  # nbgrader and pytest: a failed test
    lines = caught.value._render_traceback_()  # what IPython prints instead of a traceback
    text = "\n".join(lines)
    assert "shortcut_lib" not in text and "site-packages" not in text
    assert all(len(line) <= 88 for line in lines), lines
    assert " ".join(text.split()).endswith(
        "not implemented yet — replace `raise NotImplementedError()` under `# YOUR CODE HERE` "
        "with your code"
    )
    assert any("checks.check_gelu(stub)" in line for line in lines)  # the test's own line


class _WrapsLibraryGELU(nn.Module):
    def forward(self, x):
        return GELU()(x)


class _SubclassesLibraryGELU(GELU):
    pass


class _HonestGELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


@pytest.mark.parametrize(
    "gelu, found",
    [
        (_WrapsLibraryGELU, "your GELU calls shortcut_lib's GELU"),
        (lambda x: GELU()(x), "your GELU calls shortcut_lib's GELU"),
        (_SubclassesLibraryGELU, "is shortcut_lib's GELU (or a subclass of it)"),
        (GELU, "is shortcut_lib's GELU (or a subclass of it)"),
        (GELU(), "is shortcut_lib's GELU (or a subclass of it)"),
        # the formula GELU uses, called directly, is the library's GELU too
        (lambda x: x * tanh_normal_cdf(x), "your GELU calls shortcut_lib's GELU"),
    ],
)
def test_the_librarys_gelu_does_not_pass_when_students_must_write_it(gelu, found):
    with pytest.raises(checks.CheckFailed, match="the task is to write the formula yourself") as e:
        checks.check_gelu(gelu, allow_torch_gelu=False)
    assert found in str(e.value)
    checks.check_gelu(gelu)  # allowed where the check is only about the values


def test_an_honest_gelu_passes_and_the_profiler_is_restored():
    import sys

    before = sys.getprofile()
    checks.check_gelu(_HonestGELU, allow_torch_gelu=False)
    assert sys.getprofile() is before


def test_an_error_in_forward_names_the_function_and_says_where_its_line_is_shown():
    source = (
        "class Broken(ExampleDeepNeuralNetwork):\n"
        "    def forward(self, x):\n"
        "        return self.no_such_attribute\n"
        "def build(sizes, use_shortcut):\n"
        "    return Broken(sizes, use_shortcut=use_shortcut)\n"
    )
    # A notebook cell: the student's class defined in "<ipython-input-...>".
    namespace = {"ExampleDeepNeuralNetwork": ExampleDeepNeuralNetwork}
    exec(compile(source, "<ipython-input-7>", "exec"), namespace)
    with pytest.raises(checks.CheckFailed) as caught:
        checks.check_shortcut_forward(namespace["build"])
    text = "\n".join(caught.value._render_traceback_())
    assert "where your code raised:" in text
    assert "  Broken.forward (line 3 of its cell)" in text
    assert "traceback" not in text
    assert 'is shown above, under "where your code raised"' in " ".join(text.split())
