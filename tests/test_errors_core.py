"""Bad input to the core modules (activations, approximation, architecture, model, gradients,
comparison) gets a TypeError or ValueError that names the argument and the bad value; nothing
returns a silent NaN, hangs, or moves torch's global random state."""

import copy
import math
import time
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from shortcut_lib import (
    GELU,
    ExampleDeepNeuralNetwork,
    approximation_error,
    compare_gradients,
    deep_layer_sizes,
    default_input,
    format_gradient_table,
    layer_gradient_means,
    layer_jacobians,
    make_activation,
    make_model_pair,
    max_approximation_error,
    max_error_vs_coefficient,
    max_weight_difference,
    minimax_cubic_coefficient,
    print_gradients,
    residual_stream,
    value_and_derivative,
    vanishing_ratio,
    x_grid,
)
from shortcut_lib.architecture import count_parameters, linearity_gap
from shortcut_lib.model import MAX_LAYERS, shortcuts_disabled

X3 = torch.tensor([[1.0, 0.0, -1.0]])
PAIR = torch.tensor([-1.0, 2.0])
META = torch.zeros(1, 3, device="meta")


def model_a():
    return make_model_pair([3, 3, 1])[0]


def short_model():
    return make_model_pair([3, 3, 3, 3, 3, 1])[1]


def frozen_model():
    model = make_model_pair([3, 3, 1])[1]
    model.layers[0].requires_grad_(False)
    return model


def on_meta(model):
    return copy.deepcopy(model).to("meta")


# --- the tanh GELU's constant and the measurements of its error ---------------------------


@pytest.mark.parametrize(
    "call, shown",
    [
        (lambda: GELU(1e308), r"1e\+308"),
        (lambda: GELU(1e39), r"1e\+39"),
        (lambda: GELU(-1001), r"-1001\.0"),
        (lambda: approximation_error(X3, 1e39), r"1e\+39"),
        (lambda: max_approximation_error(2e3), r"2000\.0"),
        (lambda: minimax_cubic_coefficient(bracket=(0.0, 1e5)), r"100000\.0"),
    ],
)
def test_a_cubic_coefficient_that_would_overflow_is_refused(call, shown):
    with pytest.raises(
        ValueError,
        match=rf"(cubic_coefficient|bracket\[1\]) must be between "
        rf"-1000 and 1000, got {shown}: .*overflows",
    ):
        call()


def test_max_error_vs_coefficient_names_the_coefficient_out_of_range():
    with pytest.raises(
        ValueError, match=r"coefficients\[1\] must be between -1000 and 1000, got 1e\+39"
    ):
        max_error_vs_coefficient([0.04, 1e39])


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda: GELU(0.0)(torch.tensor([1e13])), 1e13),
        (lambda: GELU(1e-300)(torch.tensor([1e13])), 1e13),
        (lambda: approximation_error(torch.tensor([1e13]), 0.0), 0.0),
        (lambda: max_error_vs_coefficient([0.0], x_range=(1e103, 2e103)), 0.0),
        (lambda: max_approximation_error(0.0, x_range=(1e103, 2e103)), 0.0),
    ],
)
def test_a_zero_coefficient_with_an_overflowing_cube_is_not_nan(call, expected):
    # x**3 overflows to inf; 0 * inf would be NaN, but the cubic term is 0 there.
    result = torch.as_tensor(call()).double().reshape(-1)
    assert bool(torch.isfinite(result).all())
    assert result.tolist() == pytest.approx([expected] * result.numel(), rel=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda: x_grid([-1e308, 1e308], 5),
        lambda: max_approximation_error(0.044715, x_range=(-1e308, 1e308)),
        lambda: max_error_vs_coefficient([0.04], x_range=(-1e308, 1e308)),
    ],
)
def test_an_x_range_wider_than_float64_blames_x_range(call):
    with pytest.raises(ValueError, match=r"^x_range \(-1e\+308, 1e\+308\) is too wide: high - low"):
        call()


@pytest.mark.parametrize(
    "coefficients, error, pattern",
    [
        ([True, False], TypeError, r"coefficients must be numbers, got \[True, False\]"),
        (torch.tensor([True, False]), TypeError, r"coefficients must be numbers, got tensor\(\["),
        (np.array([True, False]), TypeError, r"coefficients must be numbers, got array\(\["),
        ([0.01, np.bool_(True)], TypeError, r"coefficients must be numbers, got \[0.01, "),
        (
            torch.tensor([0.01, 0.04], device="meta"),
            ValueError,
            r"coefficients is on the meta device, which holds shapes but no values",
        ),
    ],
)
def test_coefficients_that_are_bools_or_hold_no_values(coefficients, error, pattern):
    with pytest.raises(error, match=pattern):
        max_error_vs_coefficient(coefficients)


def test_gelu_input_that_is_not_a_tensor():
    with pytest.raises(
        TypeError, match=r"GELU's input must be a torch.Tensor, got \[1.0, 2.0\] \(list\)"
    ):
        GELU()([1.0, 2.0])


def test_gelu_refuses_complex_input():
    """The formula runs on complex numbers and returned 0.7479+1.2201j for 1+1j; torch's
    F.gelu refuses them."""
    with pytest.raises(
        TypeError, match=r"GELU's input must hold real numbers, got a torch.complex64"
    ):
        GELU()(torch.tensor([1 + 1j]))


# --- functions handed to make_activation, value_and_derivative, linearity_gap --------------


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: make_activation(np.tanh), "activation numpy.tanh"),
        (lambda: make_activation(math.tanh), "activation math.tanh"),
        (lambda: compare_gradients([3, 3, 1], activation=np.tanh), "activation numpy.tanh"),
        (
            lambda: ExampleDeepNeuralNetwork([3, 3, 1], True, activation=np.tanh),
            "activation numpy.tanh",
        ),
        (lambda: value_and_derivative(np.tanh, PAIR), "function numpy.tanh"),
        (lambda: value_and_derivative(math.tanh, PAIR), "function math.tanh"),
        (lambda: linearity_gap(np.exp, PAIR), "function numpy.exp"),
    ],
)
def test_numpy_and_math_functions_are_refused_with_the_torch_one_to_use(call, name):
    with pytest.raises(TypeError, match=rf"^{name} is a \w+ function, .*such as torch.tanh"):
        call()


@pytest.mark.parametrize(
    "call, cls",
    [
        (lambda: value_and_derivative(GELU, PAIR), "GELU"),
        (lambda: linearity_gap(GELU, PAIR), "GELU"),
        (lambda: value_and_derivative(nn.ReLU, PAIR), "ReLU"),
        (lambda: linearity_gap(nn.ReLU, PAIR), "ReLU"),
    ],
)
def test_a_function_class_instead_of_an_instance(call, cls):
    with pytest.raises(
        TypeError,
        match=rf"^function must .*got the class {cls} itself; build one first, e\.g\. {cls}\(\)",
    ):
        call()


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (
            lambda: value_and_derivative(lambda x: (x > 0).float(), PAIR),
            ValueError,
            r"^function has no derivative autograd can follow: .*\(x > 0\)\.float\(\)",
        ),
        (
            lambda: linearity_gap(nn.Linear(3, 1), torch.ones(1, 4)),
            ValueError,
            r"^function failed on x of shape \(1, 4\) .*mat1 and mat2",
        ),
        (
            lambda: linearity_gap(nn.Linear(3, 1), torch.ones(1, 3, dtype=torch.float64)),
            TypeError,
            r"^x dtype torch.float64 does not match the function's parameters \(torch.float32\)",
        ),
        (
            lambda: linearity_gap(lambda x: 3, PAIR),
            TypeError,
            r"^function must return a torch.Tensor, got 3 \(int\)",
        ),
        (
            lambda: value_and_derivative(lambda x: x.tolist(), PAIR),
            TypeError,
            r"^function must return a torch.Tensor, got \[-1.0, 2.0\] \(list\)",
        ),
        (
            lambda: value_and_derivative(F.gelu, torch.zeros(2, device="meta")),
            ValueError,
            r"^x is on the meta device",
        ),
    ],
)
def test_a_function_that_does_not_fit_x(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


@pytest.mark.parametrize(
    "x, pattern",
    [
        (torch.tensor([1000.0]), r"^function\(x\) came out NaN or infinite \(1 of 1 value"),
        (torch.tensor([math.nan, 2.0]), r"^x must be finite, but 1 of its 2 value\(s\)"),
    ],
)
def test_value_and_derivative_reports_overflow_and_nan(x, pattern):
    with pytest.raises(ValueError, match=pattern):
        value_and_derivative(torch.exp, x)


# --- models: the class for an instance, flags, devices, dtypes, frozen models -------------


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: count_parameters(ExampleDeepNeuralNetwork), "model"),
        (lambda: layer_gradient_means(ExampleDeepNeuralNetwork, X3), "model"),
        (lambda: max_weight_difference(ExampleDeepNeuralNetwork, model_a()), "model_a"),
        (lambda: max_weight_difference(model_a(), ExampleDeepNeuralNetwork), "model_b"),
        (lambda: residual_stream(ExampleDeepNeuralNetwork, X3), "model"),
        (lambda: shortcuts_disabled(ExampleDeepNeuralNetwork).__enter__(), "model"),
    ],
)
def test_a_model_class_instead_of_an_instance(call, name):
    with pytest.raises(
        TypeError,
        match=rf"^{name} must be .*got the class ExampleDeepNeuralNetwork itself; build one first",
    ):
        call()


@pytest.mark.parametrize("flag", ["False", 0, None])
def test_count_parameters_trainable_only_must_be_a_bool(flag):
    with pytest.raises(TypeError, match=rf"^trainable_only must be True or False, got {flag!r}"):
        count_parameters(frozen_model(), trainable_only=flag)
    assert count_parameters(frozen_model(), trainable_only=np.bool_(True)) == 4


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: model_a()(META), r"^input is on meta, the model's parameters on cpu; move one"),
        (lambda: layer_gradient_means(model_a(), META), r"^x is on the meta device"),
        (lambda: compare_gradients([3, 3, 1], x=META), r"^x is on the meta device"),
        (lambda: residual_stream(short_model(), META), r"^x is on the meta device"),
        (lambda: layer_gradient_means(on_meta(model_a()), META), r"^x is on the meta device"),
        (
            lambda: layer_gradient_means(on_meta(model_a()), X3),
            r"^model's parameters are on the meta device",
        ),
        (
            lambda: max_weight_difference(on_meta(model_a()), model_a()),
            r"^model_a's layers.0.0.weight is on the meta device",
        ),
    ],
)
def test_meta_tensors_and_device_mismatches_are_named(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


@pytest.mark.parametrize(
    "model, x, error, pattern",
    [
        (
            nn.Linear(3, 1),
            torch.ones(2, 4),
            ValueError,
            r"^model\(x\) failed for x of shape \(2, 4\)",
        ),
        (
            nn.Linear(3, 1),
            torch.ones(2, 3, dtype=torch.long),
            TypeError,
            r"^x must be a floating-point tensor, got dtype torch.int64",
        ),
        (
            nn.Linear(3, 1),
            torch.ones(2, 3, dtype=torch.float64),
            TypeError,
            r"^x dtype torch.float64 does not match the model's parameters \(torch.float32\)",
        ),
        (
            nn.ReLU(),
            X3,
            ValueError,
            r"^model has nothing to train or measure: it has no parameters",
        ),
        (
            nn.Linear(3, 1).requires_grad_(False),
            X3,
            ValueError,
            r"^model has nothing to train .*all 2 of its parameters have requires_grad=False",
        ),
    ],
)
def test_layer_gradient_means_checks_x_against_any_model(model, x, error, pattern):
    with pytest.raises(error, match=pattern):
        layer_gradient_means(model, x)


def test_float16_gradients_that_underflow_to_zero_warn():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        model = ExampleDeepNeuralNetwork(deep_layer_sizes(60, 3), False).half()
    with pytest.warns(
        RuntimeWarning, match=r"of the 60 gradient means are exactly 0 in torch.float16"
    ):
        layer_gradient_means(model, X3.half())


def test_a_dead_float32_network_is_not_flagged_as_underflow():
    # A dead ReLU network's gradient is really 0 (lesson 04): no warning in float32.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain, _ = compare_gradients(deep_layer_sizes(5, 3), seed=1, activation="relu")
    assert not any(plain.values())


@pytest.mark.parametrize(
    "device, pattern",
    [
        pytest.param(
            "cuda",
            r"^device='cuda' is not available on this machine",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA"),
        ),
        ("gpu", r"^device='gpu' is not a device name"),
        ("meta", r"^device='meta': the meta device holds shapes but no values"),
    ],
)
def test_default_input_device_must_exist(device, pattern):
    with pytest.raises(ValueError, match=pattern):
        default_input(3, device=device)


@pytest.mark.parametrize(
    "means, pattern",
    [
        (
            None,
            r"^means\['layers.4.0.weight'\], the last layer's gradient, is 0, .*network is dead",
        ),
        ({"a": 1.0, "b": 0.0}, r"^means\['b'\], the last layer's gradient, is 0, so first / last"),
        ({"a": 1e300, "b": 1e-300}, r"^first / last = 1e\+300 / 1e-300 overflows"),
    ],
)
def test_vanishing_ratio_is_never_nan_or_inf(means, pattern):
    if means is None:
        means = compare_gradients(deep_layer_sizes(5, 3), seed=1, activation="relu")[0]
    with pytest.raises(ValueError, match=pattern):
        vanishing_ratio(means)


@pytest.mark.parametrize(
    "call, shown",
    [
        (
            lambda: format_gradient_table({"a": 1.0}, {"a": 2.0}, significant_digits=10**9),
            "1000000000",
        ),
        (lambda: print_gradients(model_a(), X3, significant_digits=18), "18"),
    ],
)
def test_significant_digits_are_bounded_by_float64(call, shown):
    started = time.perf_counter()
    with pytest.raises(ValueError, match=rf"^significant_digits must be at most 17 .*got {shown}"):
        call()
    assert time.perf_counter() - started < 5


def test_layer_jacobians_report_an_overflow():
    with pytest.raises(
        ValueError, match=r"^the Jacobian of layer 0 came out NaN or infinite .*smaller x"
    ):
        layer_jacobians(short_model(), torch.tensor([[1e30, 0.0, 1.0]]))


def test_a_network_too_deep_to_build_fails_at_once():
    started = time.perf_counter()
    with pytest.raises(
        ValueError, match=r"^layer_sizes describes 10,001 layers, more than the 10,000"
    ):
        ExampleDeepNeuralNetwork(deep_layer_sizes(MAX_LAYERS + 1, 3), True)
    assert time.perf_counter() - started < 5


# --- global state: random draws inside the library do not move torch's RNG ----------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: make_activation(F.dropout),
        lambda: make_activation(torch.rand_like),
        lambda: compare_gradients([3, 3, 1], activation=F.dropout),
        lambda: value_and_derivative(F.dropout, torch.ones(4)),
        lambda: linearity_gap(nn.Dropout(0.5), torch.ones(4)),
    ],
)
def test_random_functions_do_not_move_the_global_rng(call):
    state = torch.get_rng_state()
    grad_mode = torch.is_grad_enabled()
    call()
    assert torch.equal(state, torch.get_rng_state())
    assert torch.is_grad_enabled() == grad_mode


def test_compare_gradients_with_dropout_depends_only_on_its_arguments():
    first = compare_gradients([3, 3, 1], activation=F.dropout)
    torch.rand(5)  # moves the global RNG: must not change the result
    assert compare_gradients([3, 3, 1], activation=F.dropout) == first


class _Unfinished(nn.Module):
    """A student's model whose forward is still the stub nbgrader releases."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def forward(self, x):
        raise NotImplementedError()


@pytest.mark.parametrize(
    "call",
    [
        lambda: layer_gradient_means(_Unfinished(), torch.ones(1, 3)),
        lambda: linearity_gap(_Unfinished(), torch.ones(1, 3)),
    ],
)
def test_an_unfinished_stub_is_not_called_a_bad_input(call):
    # A NotImplementedError is a RuntimeError: re-worded, it read "model(x) failed for x of
    # shape (1, 3): ; give x the shape the model expects" for every student who skipped Task 2.
    with pytest.raises(NotImplementedError):
        call()


# --- round 2: state, copies, inference mode, and what a measurement measures ---------------

XS = torch.linspace(-3.0, 3.0, 7)


def dropout_model(activation):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return ExampleDeepNeuralNetwork([3, 3, 3, 1], True, activation=activation)


@pytest.mark.parametrize("activation", [nn.Dropout, F.dropout], ids=["nn.Dropout", "F.dropout"])
@pytest.mark.parametrize(
    "measure", [layer_gradient_means, print_gradients, residual_stream, layer_jacobians]
)
def test_a_measurement_with_dropout_repeats_and_leaves_the_rng_and_mode_alone(measure, activation):
    model = dropout_model(activation)
    state = torch.get_rng_state()
    first, second = measure(model, X3), measure(model, X3)
    assert torch.equal(state, torch.get_rng_state())
    assert model.training  # measured in the mode it is in, and left there
    if isinstance(first, dict):
        assert first == second
    else:
        assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


def test_a_measurement_leaves_batchnorm_running_statistics_alone():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3), nn.Linear(3, 1))
        x = torch.randn(4, 3)
    before = copy.deepcopy(model.state_dict())
    layer_gradient_means(model, x)
    after = model.state_dict()
    assert all(torch.equal(before[key], after[key]) for key in before)


def _inplace_first():
    return nn.Sequential(nn.ReLU(inplace=True), nn.Linear(7, 1))


@pytest.mark.parametrize(
    "call, expected",
    [
        (lambda x: linearity_gap(nn.ReLU(inplace=True), x), 0.0),
        (
            lambda x: value_and_derivative(nn.ReLU(inplace=True), x)[1].tolist(),
            [0.0] * 4 + [1.0] * 3,
        ),
        (lambda x: value_and_derivative(F.relu_, x)[1].tolist(), [0.0] * 4 + [1.0] * 3),
        (lambda x: len(layer_gradient_means(_inplace_first(), x[None])), 1),
    ],
)
def test_a_function_that_works_in_place_gets_a_copy_of_x(call, expected):
    # Before: linearity_gap overwrote x with relu(x); value_and_derivative said "function
    # failed on x of shape (7,) ... pass an x that function accepts".
    x = XS.clone()
    assert call(x) == expected
    assert torch.equal(x, XS)


def _same(a, b):
    if isinstance(a, dict):
        return a == b
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    return len(a) == len(b) and all(_same(p, q) for p, q in zip(a, b, strict=True))


def _with_target(model, x):
    return layer_gradient_means(model, x, torch.zeros(1, 1))  # made inside inference mode too


@pytest.mark.parametrize(
    "call",
    [layer_jacobians, layer_gradient_means, print_gradients, residual_stream, _with_target],
)
def test_measurements_work_inside_inference_mode(call):
    # Before: layer_jacobians returned all-zero Jacobians there, layer_gradient_means
    # "model(x) failed ... element 0 of tensors does not require grad".
    model = short_model()
    expected = call(model, X3)
    with torch.inference_mode():
        got = call(model, torch.tensor([[1.0, 0.0, -1.0]]))  # an inference tensor
        assert torch.is_inference_mode_enabled()
    assert _same(got, expected)


@pytest.mark.parametrize(
    "call",
    [lambda: compare_gradients([3, 3, 3, 1]), lambda: value_and_derivative(GELU(), XS)],
)
def test_functions_that_build_or_copy_work_inside_inference_mode(call):
    expected = call()
    with torch.inference_mode():
        got = call()
    assert _same(got, expected)


def test_layer_jacobians_of_a_model_built_inside_inference_mode_are_not_zero():
    expected = layer_jacobians(short_model(), X3)
    with torch.inference_mode():
        got = layer_jacobians(short_model(), X3)
    assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))


def _built_in_inference_mode():
    with torch.inference_mode():
        return model_a()


class _Returns(nn.Module):
    def __init__(self, what):
        super().__init__()
        self.linear, self.what = nn.Linear(3, 1), what

    def forward(self, x):
        y = self.linear(x)
        return {"out": y} if self.what == "dict" else (y, y)


class _NamedW(nn.Module):
    def __init__(self):
        super().__init__()
        self.W = nn.Parameter(torch.ones(3, 1))

    def forward(self, x):
        return x @ self.W


def _batchnorm_model():
    return nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3), nn.Linear(3, 1))


@pytest.mark.parametrize(
    "model, x, target, error, pattern",
    [
        (
            nn.LSTM(3, 4, batch_first=True),
            X3[None],
            None,
            TypeError,
            r"^model must return one tensor .*LSTM returned a tuple of 2 \(Tensor, tuple\)",
        ),
        (_Returns("dict"), X3, None, TypeError, r"returned a dict with keys \['out'\]"),
        (_Returns("tuple"), X3, torch.zeros(1, 1), TypeError, r"returned a tuple of 2"),
        (
            _NamedW(),
            X3,
            None,
            ValueError,
            r"^model has no parameter whose name ends in 'weight' \(its parameters: \['W'\]\)",
        ),
        (
            model_a(),
            X3,
            torch.zeros(1, 1, device="meta"),
            ValueError,
            r"^target is on the meta device",
        ),
        (
            model_a(),
            X3,
            torch.zeros(1, 1, dtype=torch.float64),
            TypeError,
            r"^target dtype torch.float64 does not match the model's parameters",
        ),
        (model_a(), X3, [[0.0]], TypeError, r"^target must be a torch.Tensor .*got \[\[0.0\]\]"),
        (
            _batchnorm_model(),
            X3,
            None,
            ValueError,
            r"^model's BatchNorm1d '1' is in training mode, .*input has shape \(1, 3\); "
            r"call model.eval\(\)",
        ),
        (
            _built_in_inference_mode(),
            X3,
            None,
            ValueError,
            r"^model's parameter layers.0.0.weight was made inside torch.inference_mode\(\)",
        ),
    ],
    ids=[
        "lstm",
        "dict",
        "tuple-with-target",
        "no-weight",
        "meta-target",
        "f64-target",
        "list-target",
        "batchnorm",
        "inference-model",
    ],
)
def test_layer_gradient_means_names_what_the_model_or_target_got_wrong(
    model, x, target, error, pattern
):
    with pytest.raises(error, match=pattern):
        layer_gradient_means(model, x, target)


@pytest.mark.parametrize(
    "function, pattern",
    [
        (lambda x: torch.softmax(x, 0), r"^function is not elementwise: .*torch.softmax"),
        (lambda x: torch.cumsum(x, 0), r"^function is not elementwise"),
        (lambda x: x - x.mean(), r"^function is not elementwise"),
        (
            torch.round,
            r"^function's derivative is exactly 0 at every x, though its values "
            r"change \(7 different values from -3 to 3\): it is a step function",
        ),
        (torch.sign, r"^function's derivative is exactly 0 .*\(3 different values"),
    ],
)
def test_value_and_derivative_refuses_non_elementwise_functions_and_steps(function, pattern):
    with pytest.raises(ValueError, match=pattern):
        value_and_derivative(function, XS)


@pytest.mark.parametrize(
    "function, x",
    [
        (torch.relu, torch.tensor([-1.0, -2.0])),  # a flat stretch of a real function
        (torch.tanh, torch.tensor([-100.0, 100.0])),  # saturated: two plateaus, not a step
        (F.dropout, torch.ones(6)),  # random, but elementwise
        (GELU(), torch.linspace(-3, 3, 7, dtype=torch.float16)),
    ],
)
def test_value_and_derivative_still_accepts_flat_saturated_and_random_functions(function, x):
    value_and_derivative(function, x)


def test_value_and_derivative_names_an_error_of_the_learners_own_function():
    with pytest.raises(
        ValueError, match=r"^function\(x\) raised ZeroDivisionError: division by zero"
    ) as caught:
        value_and_derivative(lambda x: 1 / 0, XS)
    assert isinstance(caught.value.__cause__, ZeroDivisionError)


def test_a_minimax_search_too_long_to_finish_fails_at_once():
    started = time.perf_counter()
    with pytest.raises(
        ValueError,
        match=r"^num_points=20,000,000 is too many for a search: .*use num_points of at most",
    ):
        minimax_cubic_coefficient(num_points=2 * 10**7)
    assert time.perf_counter() - started < 1


def test_a_minimax_search_that_ends_at_the_bracket_edge_says_so():
    with pytest.raises(
        ValueError,
        match=r"^bracket \(-1000, 1000\) holds no minimum .*ended at its high end \(1000.0",
    ):
        minimax_cubic_coefficient(bracket=(-1000, 1000))


def test_compare_gradients_with_float64_x_says_what_it_builds():
    with pytest.raises(
        TypeError,
        match=r"^x dtype torch.float64 does not match the networks compare_gradients builds, "
        r"which are in torch's default dtype \(torch.float32\); .*torch.set_default_dtype",
    ):
        compare_gradients(x=X3.double())
    assert torch.get_default_dtype() == torch.float32


@pytest.mark.parametrize(
    "call, expected",
    [
        (
            lambda: ExampleDeepNeuralNetwork(np.array([3, 3, 1]), True).layer_sizes,
            [3, 3, 1],
        ),
        (
            lambda: ExampleDeepNeuralNetwork(torch.tensor([3, 3, 1]), True).layer_sizes,
            [3, 3, 1],
        ),
        (
            lambda: compare_gradients(np.array([3, 3, 1])),
            compare_gradients([3, 3, 1]),
        ),
        (
            lambda: max_approximation_error(0.04, x_range=np.array([-10, 10])),
            max_approximation_error(0.04, x_range=(-10, 10)),
        ),
        (
            lambda: minimax_cubic_coefficient(bracket=np.array([0, 0.1])),
            minimax_cubic_coefficient(bracket=(0, 0.1)),
        ),
        (
            lambda: minimax_cubic_coefficient(
                bracket=torch.tensor([0.0, 0.1], dtype=torch.float64)
            ),
            minimax_cubic_coefficient(bracket=(0, 0.1)),
        ),
    ],
)
def test_numpy_arrays_and_1d_tensors_are_accepted_where_lists_are(call, expected):
    assert call() == expected


def test_an_activations_own_weights_do_not_count_as_layers():
    plain, shortcut = compare_gradients(activation=nn.PReLU)
    assert list(plain) == list(shortcut) == [f"layers.{i}.0.weight" for i in range(5)]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(123)
        model = ExampleDeepNeuralNetwork([3, 3, 3, 3, 3, 1], False, activation=nn.PReLU)
    means = layer_gradient_means(model, X3)  # every weight, as documented
    assert "layers.4.1.weight" in means
    ratio = means["layers.0.0.weight"] / means["layers.4.0.weight"]
    assert vanishing_ratio(means) == vanishing_ratio(plain) == ratio
    assert format_gradient_table(means, means).count("\n") == 5  # header + 5 layers


def test_a_last_gradient_of_zero_alone_is_not_blamed_on_every_layer():
    with pytest.raises(
        ValueError,
        match=r"^means\['b'\], the last layer's gradient, is 0, .*no gradient while earlier "
        r"ones do",
    ):
        vanishing_ratio({"a": 1.0, "b": 0.0})


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: vanishing_ratio({"a": torch.tensor(0.1, device="meta"), "b": 1}), "means"),
        (
            lambda: format_gradient_table({"a": 1.0}, {"a": torch.tensor(0.1, device="meta")}),
            "shortcut",
        ),
    ],
)
def test_a_gradient_table_value_on_the_meta_device_is_named(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\['a'\] is on the meta device"):
        call()


@pytest.mark.parametrize(
    "call, pattern",
    [
        (
            lambda: layer_gradient_means(
                short_model().double(), torch.tensor([[1e200, 1e200, 1e200]], dtype=torch.float64)
            ),
            r"^the gradient of layers.0.0.weight is not finite; the network overflowed even "
            r"in float64 .*: use fewer layers or a smaller x$",
        ),
        (
            lambda: layer_jacobians(
                short_model().double(), torch.tensor([[1e200, 0.0, 1.0]], dtype=torch.float64)
            ),
            r"^the Jacobian of layer 0 came out NaN .*even in float64: use a smaller x or "
            r"fewer layers$",
        ),
    ],
)
def test_overflow_advice_in_float64_does_not_suggest_float64(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


@pytest.mark.parametrize(
    "coefficients, pattern",
    [
        (np.array([0.1 + 1j]), r"^coefficients must be real numbers, got array\(\[0.1\+1.j\]\)"),
        (torch.tensor([0.1 + 1j]), r"^coefficients must be real numbers, got tensor\("),
        ([0.04, 0.1 + 1j], r"^coefficients must be real numbers, got \[0.04, \(0.1\+1j\)\]"),
        (
            0.04,
            r"^coefficients must be a list .*got the single number 0.04; .*e.g. \[0.04\]",
        ),
        (torch.tensor(0.04), r"got the single number tensor\(0.0400\); .*e.g. \[0.04\]"),
    ],
)
def test_complex_and_single_number_coefficients_are_refused(coefficients, pattern):
    with pytest.raises(TypeError, match=pattern):
        max_error_vs_coefficient(coefficients)


def test_format_gradient_table_shows_every_digit_for_none_as_print_gradients_does():
    table = format_gradient_table({"a": 0.1234567891}, {"a": 0.2}, significant_digits=None)
    assert table.splitlines()[1].split() == ["0", "0.1234567891", "0.2", repr(0.2 / 0.1234567891)]


@pytest.mark.parametrize(
    "plain, shortcut, pattern",
    [
        ({}, {}, r"^plain and shortcut are empty; expected at least one layer's gradient mean"),
        ({"a": 0.0}, {"a": 0.0}, None),
        ({"a": 0.0}, {"a": 1.0}, None),
    ],
)
def test_format_gradient_table_has_no_silent_nan_or_inf(plain, shortcut, pattern):
    if pattern:
        with pytest.raises(ValueError, match=pattern):
            format_gradient_table(plain, shortcut)
        return
    row = format_gradient_table(plain, shortcut).splitlines()[1]
    assert row.endswith("undefined (plain is 0)")
    assert "nan" not in row and "inf" not in row


def test_minimax_tolerance_as_wide_as_the_bracket_is_named():
    """It stopped before its first step and then blamed the bracket ("holds no minimum")."""
    with pytest.raises(
        ValueError, match=r"^tolerance must be smaller than the bracket's width, 0.1 "
    ):
        minimax_cubic_coefficient(tolerance=0.1)


@pytest.mark.parametrize(
    ("x_range", "advice"),
    [
        ((-1e4, 1e4), r"use num_points >= 400,001 or a narrower x_range"),
        ((-1e30, 1e30), r"use a narrower x_range"),
    ],
)
def test_a_grid_too_sparse_to_find_the_largest_error_is_refused(x_range, advice):
    """4001 points on (-1e4, 1e4) are 5 apart and gave 0.00067 for the typo 0.004715, whose
    largest error is 0.029 (on (-1e30, 1e30): 0.0)."""
    for measure in (
        lambda: max_approximation_error(0.004715, x_range=x_range),
        lambda: max_error_vs_coefficient([0.004715], x_range=x_range),
    ):
        with pytest.raises(
            ValueError, match=rf"^num_points=4,001 on x_range .* apart, too far .*{advice}"
        ):
            measure()
    assert max_approximation_error(
        0.004715, x_range=(-50.0, 50.0), num_points=2001
    ) == pytest.approx(0.02905, abs=1e-4)
