"""Bad input to the lessons' self-checks (``shortcut_lib.exercises``) and to the nbgrader checks
(``shortcut_lib.checks``): a clear error that names the argument and the bad value, or a failed
check that says what the learner's code returned, and no change to torch's global state."""

from __future__ import annotations

import copy
import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from shortcut_lib import GELU, ExampleDeepNeuralNetwork, checks, make_model_pair
from shortcut_lib.architecture import deep_layer_sizes
from shortcut_lib.comparison import BOOK_INPUT
from shortcut_lib.exercises import (
    WIDER_NET_SIZES,
    check_01_gelu_test,
    check_01_sigmoid_gelu,
    check_02_collapsed,
    check_02_wider_net,
    check_03_seeds,
    check_03_sigmoid_saturation,
    check_04_decay_per_layer,
    check_04_post_ln_block,
    check_05_adam_first_step,
    check_05_decades_per_layer,
    check_06_block_parameters,
    check_06_post_ln_ratio,
    decay_per_layer,
    lesson_05_decades_per_layer,
)


def post_ln(x, layer):
    return F.layer_norm(x + layer(x), [x.shape[-1]])


def adam_step(gradient, lr, eps):
    return -lr * gradient / (gradient.abs() + eps)


def tanh_gelu_test(gelu):
    x = torch.linspace(-10.0, 10.0, 2001, dtype=torch.float64)
    torch.testing.assert_close(gelu(x), F.gelu(x, approximate="tanh"))


def two_linears():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2)).double()


@pytest.fixture
def float64_default():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


# --- numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: check_01_sigmoid_gelu(True, 1.7), r"largest_error must be a number, got True"),
        (lambda: check_01_sigmoid_gelu(0.02, np.bool_(True)), r"best_constant .* got np\.True_"),
        (lambda: check_02_wider_net(WIDER_NET_SIZES, 393, True), r"shortcuts .* got True"),
        (lambda: check_02_wider_net(WIDER_NET_SIZES, True, 5), r"parameters .* got True"),
        (
            lambda: check_02_wider_net([2, 8, 8, 8, 8, 8, 8, True], 393, 5),
            r"layer_sizes\[7\] must be an integer, got True",
        ),
        (
            lambda: check_02_wider_net([2.0, 8, 8, 8, 8, 8, 8, 1], 393, 5),
            r"layer_sizes\[0\] must be an integer, got 2\.0",
        ),
        (
            lambda: check_03_sigmoid_saturation(torch.tensor(True)),
            r"pre_activation .* tensor\(True",
        ),
        (lambda: check_03_seeds(20, True), r"smallest_gain must be a number, got True"),
        (lambda: check_04_decay_per_layer(3, np.bool_(False)), r"decades_per_layer .* np\.False_"),
        (lambda: check_05_decades_per_layer(True), r"decades must be a number, got True"),
        (lambda: check_06_block_parameters(True), r"parameters must be a number, got True"),
        (lambda: check_06_post_ln_ratio(np.bool_(True)), r"median_ratio .* got np\.True_"),
        (lambda: check_01_sigmoid_gelu(np.complex64(1), 1.7), r"largest_error .*complex64\(1"),
    ],
)
def test_a_bool_or_complex_is_not_read_as_a_number(call, pattern):
    # True used to be read as 1 ("yours 1"): a wrong answer blamed on the learner's method.
    with pytest.raises(TypeError, match=pattern):
        call()


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda: check_04_decay_per_layer(3, math.nan), ValueError, "decades_per_layer .* nan"),
        (lambda: check_04_decay_per_layer(1, 0.6), ValueError, "width must be at least 2, got 1"),
        (lambda: check_04_decay_per_layer(3, None), TypeError, "decades_per_layer .* got None"),
        (lambda: check_05_decades_per_layer([0.5]), TypeError, r"decades .* got \[0\.5\]"),
        (lambda: check_03_seeds(None, 150.0), TypeError, "count must be an integer, got None"),
        (lambda: check_06_post_ln_ratio("0.57"), TypeError, "median_ratio .* got '0.57'"),
    ],
)
def test_a_number_that_is_not_a_finite_number_is_named(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


@pytest.mark.parametrize(
    ("options", "error", "pattern"),
    [
        ({"depths": [5]}, ValueError, r"two different depths at least .* got \[5\]"),
        ({"depths": [5, 5]}, ValueError, r"two different depths at least .* got \[5, 5\]"),
        ({"depths": 5}, TypeError, r"depths must be a list of depths .* got 5 \(int\)"),
        ({"depths": [5, True]}, TypeError, r"depths\[1\] must be a positive integer, got True"),
        ({"activation": "relu"}, ValueError, r"median .* is 0 .* depth\(s\) \[10, 20, 30, 40\]"),
    ],
)
def test_decay_per_layer_needs_a_line_to_fit(options, error, pattern):
    # depths=[5] used to return a number (a least-squares "slope" through one point), and
    # activation="relu" NaN (log10 of a median gradient of 0).
    with pytest.raises(error, match=pattern):
        decay_per_layer(3, **options)


def test_one_element_tensors_and_arrays_are_numbers_and_counts(capsys):
    check_04_decay_per_layer(np.int64(3), torch.tensor(0.599))
    check_02_wider_net(np.array(WIDER_NET_SIZES), np.int64(393), torch.tensor(5))
    check_01_sigmoid_gelu(np.array([0.02033]), 1.77)
    assert capsys.readouterr().out.count("Right:") == 3


# --- functions and models where something else was passed ------------------------------------


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (lambda: check_01_gelu_test(GELU), "test_function must be .* got the class GELU"),
        (lambda: check_01_gelu_test(GELU()), r"test_function must be .* got the module GELU\(\)"),
        (lambda: check_04_post_ln_block(nn.LayerNorm), "block must be .* got the class LayerNorm"),
        (
            lambda: check_05_adam_first_step(torch.optim.Adam),
            "adam_first_step.* got the class Adam",
        ),
        (lambda: check_04_post_ln_block(None), "block must be a function .* got None"),
    ],
)
def test_a_class_or_module_where_a_function_is_expected(call, pattern):
    # check_01_gelu_test(GELU) used to say "cubic_coefficient must be a real number".
    with pytest.raises(TypeError, match=pattern):
        call()


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (
            lambda: check_02_collapsed(nn.Sequential, torch.zeros(1, 3), torch.zeros(1)),
            "network must be a built model.*got the class Sequential itself",
        ),
        (
            lambda: checks.check_has_activation(ExampleDeepNeuralNetwork),
            "model must be a built model.*got the class ExampleDeepNeuralNetwork itself",
        ),
        (
            lambda: checks.check_same_initial_weights(two_linears(), ExampleDeepNeuralNetwork),
            "model_with_shortcut must be a built model.*got the class ExampleDeepNeuralNetwork",
        ),
        (
            lambda: check_02_collapsed(nn.Linear(3, 1), torch.zeros(1, 3), torch.zeros(1)),
            r"network must be a network of nn.Linear layers.*got Linear\(in_features=3",
        ),
    ],
)
def test_a_class_or_a_lone_layer_where_a_model_is_expected(call, pattern):
    with torch.random.fork_rng(devices=[]):
        with pytest.raises(TypeError, match=pattern):
            call()


# --- what the learner's function returns -------------------------------------------------


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (
            lambda: check_05_adam_first_step(lambda g, lr, eps: None),
            r"adam_first_step\(gradient, lr=0.001, eps=1e-08\) returned None; expected a tensor"
            r".*forget `return`",
        ),
        (
            lambda: check_05_adam_first_step(lambda g, lr, eps: "x"),
            r"returned 'x' \(str\); expected a tensor of Δw like gradient",
        ),
        (
            lambda: check_05_adam_first_step(lambda g, lr, eps: adam_step(g, lr, eps).numpy()),
            "returned a numpy ndarray; expected a torch tensor",
        ),
        (
            lambda: check_05_adam_first_step(lambda g, lr, eps: adam_step(g, lr, eps).float()),
            "turned a torch.float64 gradient into a torch.float32 step",
        ),
        (
            lambda: check_05_adam_first_step(lambda g, lr, eps: -lr * g / (g.abs() * 0)),
            "returned -inf for gradient 1e-12",
        ),
        (
            lambda: check_04_post_ln_block(lambda x, layer: (x + layer(x)).double()),
            r"block\(x, layer\) turned a torch.float32 x on cpu into torch.float64",
        ),
        (
            lambda: check_04_post_ln_block(lambda x, layer: None),
            r"block\(x, layer\) returned None; expected a tensor of x's shape \(1, 3\)",
        ),
        (
            lambda: check_04_post_ln_block(lambda x, layer: (x + layer(x)) / 0),
            "returned NaN or infinite values",
        ),
        (
            lambda: check_01_gelu_test(lambda gelu: {}["key"]),
            "your test on GELU\\(\\) raised KeyError: 'key' — a test should raise AssertionError",
        ),
        (
            lambda: check_01_gelu_test(lambda gelu: gelu(torch.ones(1)).item() == 1 or 1 / 0),
            "raised ZeroDivisionError",
        ),
        (  # a bare assert has no message: it used to crash the check with an IndexError
            lambda: check_01_gelu_test(lambda gelu: _bare_assert(False)),
            "fails on the right GELU\\(\\), with: an AssertionError without a message",
        ),
    ],
)
def test_a_wrong_kind_of_result_or_an_error_is_said_in_the_checks_voice(call, pattern):
    # adam_first_step returning None used to fail with "must be real number, not NoneType".
    with pytest.raises(AssertionError, match=pattern):
        call()


def _bare_assert(condition):
    if not condition:
        raise AssertionError  # what a bare `assert` raises (pytest would add a message here)


# --- the nbgrader checks' own arguments ----------------------------------------------------


@pytest.mark.parametrize(
    ("names", "error", "pattern"),
    [
        (("a",), ValueError, r"names must be two strings.*got \('a',\)"),
        (None, TypeError, "names must be a pair of labels .* got None"),
        ("ab", TypeError, "names must be a pair of labels .* got 'ab'"),
        (("a", 2), ValueError, r"names must be two strings.*got \('a', 2\)"),
    ],
)
def test_check_same_initial_weights_names_must_be_two_labels(names, error, pattern):
    model = two_linears()
    with pytest.raises(error, match=pattern):
        checks.check_same_initial_weights(model, model, names=names)


@pytest.mark.parametrize("flag", ["no", 0, None, 1.0])
def test_allow_torch_gelu_must_be_a_bool(flag):
    # allow_torch_gelu="no" used to let torch's own gelu pass.
    with pytest.raises(TypeError, match=rf"allow_torch_gelu must be True or False, got {flag!r}"):
        checks.check_gelu(lambda x: F.gelu(x, approximate="tanh"), allow_torch_gelu=flag)


def test_check_has_activation_name_must_be_a_string():
    with pytest.raises(TypeError, match="name must be a string .* got None"):
        checks.check_has_activation(two_linears(), name=None)


@pytest.mark.parametrize(
    ("convert", "pattern"),
    [
        (lambda m: m.half(), "is torch.float64 on cpu in model_without_shortcut but torch.float16"),
        (lambda m: m.float(), r"model_with_shortcut.to\(torch.float64\)"),
    ],
)
def test_a_dtype_mismatch_is_not_blamed_on_seeding(convert, pattern):
    model = two_linears()
    message = _failure(checks.check_same_initial_weights, model, convert(copy.deepcopy(model)))
    assert re.search(pattern, message) and "manual_seed" not in message


@pytest.mark.parametrize(
    ("call", "pattern"),
    [
        (
            lambda m: checks.check_same_initial_weights(m.to("meta"), copy.deepcopy(m)),
            "0.weight of model_without_shortcut is on the meta device",
        ),
        (lambda m: checks.check_has_activation(m.to("meta")), "model .* is on the meta device"),
        (
            lambda m: check_02_collapsed(m.to("meta"), torch.zeros(2, 3), torch.zeros(2)),
            "layer 0's weight is on the meta device",
        ),
        (
            lambda m: check_02_collapsed(m, torch.zeros(2, 3, device="meta"), torch.zeros(2)),
            "A is on the meta device",
        ),
    ],
)
def test_meta_models_and_answers_have_no_values(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call(two_linears())


def test_a_network_that_cannot_run_and_a_b_of_the_wrong_length():
    broken = nn.Sequential(nn.Linear(3, 4), nn.Linear(3, 1))
    with pytest.raises(ValueError, match="layer 1 of the network takes 3 inputs.*gives 4"):
        check_02_collapsed(broken, torch.zeros(1, 3), torch.zeros(1))
    with pytest.raises(AssertionError, match="b has 3 values, expected 2"):
        check_02_collapsed(two_linears(), torch.zeros(2, 3), torch.zeros(3))
    with pytest.raises(ValueError, match="the network has no layers"):
        check_02_collapsed(nn.Sequential(), torch.zeros(1, 3), torch.zeros(1))
    poisoned = two_linears()
    with torch.no_grad():
        poisoned[0].weight[0, 0] = math.nan
    with pytest.raises(ValueError, match="matrix A .* came out NaN or infinite"):
        check_02_collapsed(poisoned, torch.zeros(2, 3), torch.zeros(2))


# --- global state ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: check_04_post_ln_block(post_ln),
        lambda: check_01_gelu_test(lambda gelu: tanh_gelu_test(gelu) or torch.rand(1)),
        lambda: check_05_adam_first_step(
            lambda g, lr, eps: adam_step(g, lr, eps) + 0 * g.normal_()
        ),
    ],
    ids=["post_ln_block", "gelu_test", "adam_first_step"],
)
def test_self_checks_leave_the_global_rng_alone(call, capsys):
    # check_04_post_ln_block built its nn.Linear from the global RNG.
    before = torch.get_rng_state()
    call()
    assert torch.equal(torch.get_rng_state(), before)
    assert "Right:" in capsys.readouterr().out


def test_a_self_check_that_backpropagates_works_inside_no_grad(capsys):
    # check_05_decades_per_layer used to fail with "element 0 of tensors does not require grad".
    with torch.no_grad():
        check_05_decades_per_layer(round(lesson_05_decades_per_layer(), 2))
        assert not torch.is_grad_enabled()
    assert capsys.readouterr().out.startswith("Right: about")


def test_sigmoid_saturation_under_a_float64_default(float64_default):
    # The book's input is float32; it used to fail with "input dtype torch.float32 does not
    # match the model's parameters (torch.float64)" although the learner passed a number.
    _, model = make_model_pair(deep_layer_sizes(30, 3), 123, "sigmoid")
    h = BOOK_INPUT[0].double()
    for layer in model.layers[:-1]:
        h = h + torch.sigmoid(layer[0].weight @ h + layer[0].bias)
    z = (model.layers[-1][0].weight @ h + model.layers[-1][0].bias).item()
    check_03_sigmoid_saturation(z)
    assert torch.get_default_dtype() == torch.float64
    with pytest.raises(AssertionError, match="computed under your default dtype, torch.float64"):
        check_03_sigmoid_saturation(16.56)  # the lesson's float32 answer


def _failure(check, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as caught:
        check(*args, **kwargs)
    return str(caught.value)


# --- check_has_activation judges what the network computes, not how it is nested -------------


class _Loop(nn.Module):
    """``layers`` applied in turn; ``act`` (a function) after each one but the last."""

    def __init__(self, layers, act=None, shortcut=False):
        super().__init__()
        self.layers, self.act, self.shortcut = layers, act, shortcut

    def forward(self, x):
        for index, layer in enumerate(self.layers):
            out = layer(x)
            if self.act is not None and index < len(self.layers) - 1:
                out = self.act(out)
            x = x + out if self.shortcut and out.shape == x.shape else out
        return x


def _book(slips=(), shortcut=False):
    """The book's nesting, ``nn.Linear(a, b, GELU())`` (the bias slip) in the blocks ``slips``."""
    sizes = [3, 3, 3, 3, 3, 1]
    blocks = [
        nn.Sequential(nn.Linear(a, b, GELU()))
        if i in slips
        else nn.Sequential(nn.Linear(a, b), GELU())
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))
    ]
    return _Loop(nn.ModuleList(blocks), shortcut=shortcut)


@pytest.mark.parametrize(
    "build",
    [
        lambda: _Loop(nn.Sequential(nn.Linear(3, 8), nn.GELU(), nn.Linear(8, 1))),
        lambda: _Loop(nn.ModuleList([nn.Linear(3, 8), nn.GELU(), nn.Linear(8, 1)])),
        lambda: _Loop(
            nn.ModuleList([nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1)])
        ),  # fmt: skip
        lambda: _Loop(nn.ModuleList([nn.Linear(3, 8), nn.Linear(8, 8), nn.Linear(8, 1)]), F.gelu),
        lambda: _Loop(
            nn.ModuleList([nn.Sequential(nn.Linear(3, 3)), nn.Sequential(nn.Linear(3, 1))]),
            torch.tanh,
        ),  # fmt: skip
        lambda: nn.Sequential(nn.Linear(3, 8), GELU(), nn.Linear(8, 1)),
        lambda: _book(),
        lambda: _book(shortcut=True),
        lambda: ExampleDeepNeuralNetwork([3, 3, 3, 1], use_shortcut=True),
    ],
    ids=[
        "flat-Sequential-in-layers",
        "flat-ModuleList",
        "ModuleList-of-mixed-activations",
        "functional-gelu-in-forward",
        "Sequential-blocks-with-functional-tanh",
        "plain-Sequential",
        "book",
        "book-with-shortcuts",
        "library-model",
    ],
)
def test_check_has_activation_passes_every_correct_structure(build):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build()
    torch.manual_seed(1)
    rng = torch.get_rng_state()
    checks.check_has_activation(model)
    assert torch.equal(torch.get_rng_state(), rng)


@pytest.mark.parametrize(
    ("build", "pattern"),
    [
        (
            lambda: _book(slips=range(5)),
            r"^model\.layers\[0\] is Sequential\( \(0\): Linear\(in_features=3, out_features=3, "
            r"bias=True\) \): nothing follows its Linear.*whole network is linear.*passes GELU\(\) "
            r"as the `bias` argument",
        ),
        (
            lambda: _book(slips=[2]),
            r"^model\.layers\[2\] is Sequential\(.*no activation \(its output goes on to the next "
            r"layer, or out, through an affine map\).*`bias`",
        ),
        (lambda: _book(slips=[2], shortcut=True), r"^model\.layers\[2\] is Sequential\(.*`bias`"),
        (lambda: _book(slips=[4]), r"^model\.layers\[4\] is Sequential\(.*out_features=1.*`bias`"),
        (
            lambda: _Loop(nn.Sequential(nn.Linear(3, 8, GELU()), nn.Linear(8, 1, GELU()))),
            r"^model is affine: .*nn\.Linear\(n_in, n_out, GELU\(\)\) passes GELU\(\) as "
            r"the `bias`",
        ),
        (
            lambda: nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5), nn.Linear(3, 1)).train(),
            r"^model is affine",  # judged without dropout's random masks
        ),
    ],
    ids=[
        "book-all-blocks",
        "book-one-block",
        "book-one-block-shortcut",
        "book-last-block",
        "flat-bias-slip",
        "affine-with-dropout",
    ],  # fmt: skip
)
def test_check_has_activation_fails_a_network_without_activations(build, pattern):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build()
    modes = [m.training for m in model.modules()]
    assert re.search(pattern, _failure(checks.check_has_activation, model))
    assert [m.training for m in model.modules()] == modes


def test_check_has_activation_reports_an_output_it_cannot_judge():
    broken = two_linears()
    with torch.no_grad():
        broken[0].weight.fill_(math.inf)
    message = _failure(checks.check_has_activation, nn.Sequential(broken, nn.Tanh()))
    assert re.search(r"^model returned NaN or infinite values .*are its weights finite", message)
