"""Bad input gets a clear error that names the bad value and what was expected."""

import math
import re
import warnings

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from shortcut_lib import (
    GELU,
    ExampleDeepNeuralNetwork,
    block_gradient_means,
    compare_gradients,
    decision_grid,
    default_input,
    evaluate,
    format_gradient_table,
    input_signal,
    layer_gradient_means,
    make_classifier_pair,
    make_model_pair,
    make_spirals,
    make_stacks,
    max_approximation_error,
    max_weight_difference,
    minimax_cubic_coefficient,
    population_gradient_means,
    print_gradients,
    stack_input,
    train,
    vanishing_ratio,
)
from shortcut_lib.comparison import deep_layer_sizes
from shortcut_lib.plots import new_figure, plot_activations, plot_gradient_comparison
from shortcut_lib.training import warn_if_diverged
from shortcut_lib.validation import (
    check_integer,
    check_layer_sizes,
    check_memory,
    check_positive_int,
    check_real,
    check_seed,
)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)


@pytest.mark.parametrize("sizes", [[], [3], (5,)])
def test_fewer_than_two_layer_sizes(sizes):
    with pytest.raises(
        ValueError, match=r"at least two sizes .*got " + re.escape(repr(list(sizes)))
    ):
        ExampleDeepNeuralNetwork(sizes, use_shortcut=False)


@pytest.mark.parametrize(
    "sizes, index, shown, kind",
    [
        ([3, 3.0, 1], 1, "3.0", "float"),
        ([3, True, 1], 1, "True", "bool"),
        ([3, "3", 1], 1, "'3'", "str"),
        ([3, 3, None], 2, "None", "NoneType"),
    ],
)
def test_sizes_that_are_not_integers(sizes, index, shown, kind):
    pattern = (
        rf"layer_sizes\[{index}\] must be a positive integer, got {re.escape(shown)} \({kind}\)"
    )
    with pytest.raises(TypeError, match=pattern):
        ExampleDeepNeuralNetwork(sizes, use_shortcut=True)


@pytest.mark.parametrize("sizes, index, shown", [([3, 0, 1], 1, "0"), ([-2, 3, 1], 0, "-2")])
def test_sizes_that_are_not_positive(sizes, index, shown):
    with pytest.raises(
        ValueError, match=rf"layer_sizes\[{index}\] must be a positive integer, got {shown}"
    ):
        ExampleDeepNeuralNetwork(sizes, use_shortcut=True)


def test_layer_sizes_not_a_sequence():
    with pytest.raises(TypeError, match=r"list or tuple of positive integers.*got 5 \(int\)"):
        ExampleDeepNeuralNetwork(5, use_shortcut=True)


def test_use_shortcut_must_be_a_bool():
    with pytest.raises(TypeError, match=r"use_shortcut must be True or False, got 'yes'"):
        ExampleDeepNeuralNetwork([3, 1], use_shortcut="yes")


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError) as info:
        ExampleDeepNeuralNetwork([3, 1], use_shortcut=False, activation="Gelu")
    message = str(info.value)
    assert "'Gelu'" in message
    for name in ["gelu", "gelu_exact", "relu", "tanh", "sigmoid", "identity"]:
        assert repr(name) in message


def test_input_with_wrong_last_dimension_says_expected_and_got():
    model = ExampleDeepNeuralNetwork([3, 3, 1], use_shortcut=True)
    with pytest.raises(ValueError, match=r"layer_sizes\[0\] = 3, got shape \(1, 4\)") as info:
        model(torch.zeros(1, 4))
    assert "mat1" not in str(info.value)  # not torch's matmul message


def test_wrong_input_through_layer_gradient_means_is_also_clear():
    model = ExampleDeepNeuralNetwork([3, 3, 1], use_shortcut=True)
    with pytest.raises(ValueError, match=r"layer_sizes\[0\] = 3, got shape \(2,\)"):
        layer_gradient_means(model, torch.zeros(2))


def test_integer_input_is_rejected_with_a_hint():
    model = ExampleDeepNeuralNetwork([3, 1], use_shortcut=False)
    with pytest.raises(TypeError, match=r"floating-point tensor, got dtype torch.int64"):
        model(torch.tensor([[1, 0, -1]]))


def test_input_not_a_tensor():
    model = ExampleDeepNeuralNetwork([3, 1], use_shortcut=False)
    with pytest.raises(TypeError, match=r"must be a torch.Tensor .*got list"):
        model([[1.0, 0.0, -1.0]])


def test_dtype_mismatch_names_both_dtypes():
    model = ExampleDeepNeuralNetwork([3, 1], use_shortcut=False)
    with pytest.raises(TypeError, match=r"torch.float64 does not match .*torch.float32"):
        model(torch.zeros(1, 3, dtype=torch.float64))


def test_target_shape_must_match_output():
    plain, _ = make_model_pair([3, 3, 1])
    with pytest.raises(ValueError, match=r"target shape \(1, 3\) does not match .*\(1, 1\)"):
        layer_gradient_means(plain, torch.ones(1, 3), torch.zeros(1, 3))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_input(bad):
    plain, _ = make_model_pair([3, 3, 1])
    x = torch.tensor([[1.0, bad, -1.0]])
    with pytest.raises(ValueError, match="finite"):
        layer_gradient_means(plain, x)
    with pytest.raises(ValueError, match=r"finite, but 1 value\(s\)"):
        plain(x)


def test_layer_gradient_means_needs_a_module():
    with pytest.raises(TypeError, match=r"torch.nn.Module, got <function .*\(function\)"):
        layer_gradient_means(lambda x: x, torch.zeros(1, 3))


@pytest.mark.parametrize("seed", [1.5, "123", True])
def test_seed_must_be_an_integer(seed):
    with pytest.raises(TypeError, match=r"seed must be an integer"):
        make_model_pair([3, 1], seed=seed)


@pytest.mark.parametrize("digits, error", [(0, ValueError), (-1, ValueError), (2.5, TypeError)])
def test_print_gradients_digits(digits, error):
    plain, _ = make_model_pair([3, 1])
    with pytest.raises(error, match="significant_digits must be a positive integer"):
        print_gradients(plain, torch.ones(1, 3), significant_digits=digits)


# --- Issue 10: the classes of bad input, one test (at least) per class ---------------------


@pytest.fixture
def float64_default():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


# Default dtype: what the library makes follows the model or torch's default.


def test_compare_gradients_under_a_float64_default(float64_default):
    plain, shortcut = compare_gradients()
    assert len(plain) == 5 and all(math.isfinite(v) for v in shortcut.values())
    assert default_input(3).dtype == torch.float64


def test_make_spirals_returns_x_and_y_in_one_dtype(float64_default):
    X, y = make_spirals(8)
    assert X.dtype == y.dtype == torch.float64
    model = make_classifier_pair(3, 4)[1]
    assert len(train(model, X, y, steps=2, lr=1e-3).losses) == 2
    assert decision_grid(model, resolution=3)[2].dtype == torch.float64


def test_make_spirals_float32_by_default():
    X, y = make_spirals(8)
    assert X.dtype == y.dtype == torch.float32


# Global state: only model constructors touch torch's RNG; grad mode, x.grad and the
# model's mode are left as they were.


def test_layer_gradient_means_inside_no_grad_and_without_touching_x_grad():
    plain, _ = make_model_pair([3, 3, 1])
    x = torch.ones(1, 3, requires_grad=True)
    reference = layer_gradient_means(plain, x.detach())
    with torch.no_grad():
        inside = layer_gradient_means(plain, x)
        assert not torch.is_grad_enabled()
    assert inside == reference
    assert x.grad is None


def _requiring_grad(tensor):
    return tensor.clone().requires_grad_(True)


def _train_once(X, y):
    train(make_classifier_pair(2, 4)[1], X, y, steps=1, lr=1e-3)


def _measure_blocks(x, target):
    stack = make_stacks(2, 0, variants=["plain"])["plain"]
    block_gradient_means(stack, x, target)


@pytest.mark.parametrize(
    ("run", "data"),
    [
        (_train_once, lambda: make_spirals(16)),
        (lambda X, y: input_signal(make_classifier_pair(2, 4)[1], X, y), lambda: make_spirals(16)),
        (_measure_blocks, lambda: stack_input(0)),
    ],
    ids=["train", "input_signal", "block_gradient_means"],
)
def test_training_and_measuring_leave_the_callers_grad_alone(run, data):
    """The data a learner passes is data: a backward pass must not reach (and fill the
    .grad of) an X or target that happens to require grad."""
    first, second = (_requiring_grad(t) if t.is_floating_point() else t for t in data())
    run(first, second)
    assert first.grad is None
    assert not second.is_floating_point() or second.grad is None


@pytest.mark.parametrize(("n_points", "batch_size"), [(16, 1), (16, 3)])
def test_training_a_batchnorm_model_on_batches_of_one_names_batch_size(n_points, batch_size):
    """torch's own "Expected more than 1 value per channel" names no argument; the last
    mini-batch of 16 points in threes holds one point."""
    X, y = make_spirals(n_points)
    model = torch.nn.Sequential(
        torch.nn.Linear(2, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 1)
    )
    with pytest.raises(
        ValueError, match=rf"BatchNorm1d '1' .*\(1, 4\); .*N = {n_points}, batch_size={batch_size}"
    ):
        train(model, X, y, steps=6, lr=1e-2, batch_size=batch_size)


def test_measurements_leave_the_global_rng_alone():
    state = torch.get_rng_state()
    compare_gradients(seed=5)
    make_spirals(16, seed=3)
    population_gradient_means(3, population=4)
    assert torch.equal(state, torch.get_rng_state())


def test_train_restores_the_models_mode():
    X, y = make_spirals(16)
    model = make_classifier_pair(3, 4)[1]
    model.eval()
    train(model, X, y, steps=2, lr=1e-3)
    assert not model.training


# Hangs and sizes: every loop bounded, a size that cannot fit fails at once.


@pytest.mark.parametrize("tolerance", [0, -1e-3, math.nan, math.inf])
def test_minimax_tolerance_must_be_a_positive_finite_number(tolerance):
    with pytest.raises(ValueError, match=r"tolerance must be"):
        minimax_cubic_coefficient(tolerance=tolerance)


def test_minimax_tolerance_below_float64_resolution():
    with pytest.raises(ValueError, match=r"tolerance must be at least .*got 1e-30"):
        minimax_cubic_coefficient(tolerance=1e-30)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: make_spirals(10**12), "n_points=1,000,000,000,000"),
        (lambda: ExampleDeepNeuralNetwork([10**6, 10**6], True), "1,000,001,000,000 parameters"),
        (lambda: max_approximation_error(0.04, num_points=10**12), "num_points="),
        (lambda: population_gradient_means(10, population=10**12), "1,000,000,000,000 networks"),
        (lambda: deep_layer_sizes(10**13, 3), "depth="),
        (lambda: decision_grid(make_classifier_pair(2, 2)[0], resolution=10**7), "resolution="),
    ],
)
def test_a_size_that_cannot_fit_fails_at_once_with_the_estimate(call, name):
    with pytest.raises(ValueError, match=r"would need about .* GB of memory") as info:
        call()
    assert name in str(info.value)


def test_the_memory_estimate_counts_gradients_and_both_networks_of_a_pair(monkeypatch):
    """A network is measured or trained after it is built (weights + gradients), and a pair
    is two networks: a 40,000-wide pair passed the old weights-only check and then took
    tens of seconds to build, on its way to running out of memory."""
    monkeypatch.setattr("shortcut_lib.validation.memory_limit_bytes", lambda: 100_000)
    ExampleDeepNeuralNetwork([100, 100, 1], True)  # 10,201 parameters: 81.6 kB with gradients
    with pytest.raises(ValueError, match=r"^2 networks with 10,201 parameters \(and their grad"):
        make_model_pair([100, 100, 1])
    with pytest.raises(ValueError, match=r"^a network with 20,201 parameters \(and their grad"):
        ExampleDeepNeuralNetwork([200, 100, 1], True)  # 80.8 kB of weights fit; 162 kB not


def test_check_memory_states_the_estimate_and_the_advice():
    with pytest.raises(ValueError, match=r"^x would need about 1e\+15 GB .*; use less$"):
        check_memory(1e24, "x", "use less")
    check_memory(1000, "x", "use less")  # small sizes pass


# Silent numbers: non-finite results get an error or a warning saying what to change.


def test_nan_target_is_rejected_by_name():
    plain, _ = make_model_pair([3, 1])
    with pytest.raises(ValueError, match=r"target must be finite, but 1 of its 1"):
        layer_gradient_means(plain, torch.ones(1, 3), torch.tensor([[math.nan]]))


def test_empty_batch_is_rejected():
    plain, _ = make_model_pair([3, 1])
    with pytest.raises(ValueError, match=r"x is empty \(shape \(0, 3\)\)"):
        layer_gradient_means(plain, torch.ones(0, 3))
    with pytest.raises(ValueError, match=r"input is empty"):
        plain(torch.ones(0, 3))


def test_nan_weights_are_not_a_zero_difference():
    a, b = make_model_pair([3, 1])
    with torch.no_grad():
        a.layers[0][0].weight[0, 0] = math.nan
    with pytest.raises(ValueError, match=r"model_a's layers.0.0.weight holds NaN"):
        max_weight_difference(a, b)


def test_overflowing_deep_shortcut_net_says_what_to_change():
    with pytest.raises(ValueError, match=r"overflowed .*use fewer layers, or float64"):
        compare_gradients(deep_layer_sizes(300, 3))


def test_training_that_blows_up_warns_with_the_learning_rate():
    X, y = make_spirals(16)
    model = make_classifier_pair(3, 4)[1]
    with pytest.warns(RuntimeWarning, match=r"train diverged: .*lr=1000000.0 is too large") as seen:
        train(model, X, y, steps=20, lr=1e6)
    # A thirtieth of 1e6 diverges too: the advice also names a scale that trains.
    assert "the lessons train with lr=3e-3 and 1e-2" in str(seen[0].message)


def test_advice_for_a_slightly_large_learning_rate_stays_a_thirtieth():
    with pytest.warns(RuntimeWarning) as seen:
        warn_if_diverged([0.7, float("nan")], lr=3.0)
    assert str(seen[0].message).endswith("(e.g. lr=0.1)")


def test_a_sane_training_run_does_not_warn():
    X, y = make_spirals(16)
    model = make_classifier_pair(3, 4)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train(model, X, y, steps=20, lr=1e-2)


def test_evaluate_refuses_nan_logits():
    X, y = make_spirals(16)
    model = make_classifier_pair(3, 4)[1]
    with torch.no_grad():
        model.layers[0][0].weight.fill_(math.nan)
    with pytest.raises(ValueError, match=r"the model's logits must be finite"):
        evaluate(model, X, y)


# Things learners naturally pass: numpy numbers, plain functions, huge seeds.


def test_numpy_numbers_are_accepted_like_python_numbers():
    assert GELU(np.float32(0.5)).cubic_coefficient == 0.5
    a, _ = make_model_pair([np.int64(3), 3, 1], seed=np.int64(123))
    b, _ = make_model_pair([3, 3, 1], seed=123)
    assert max_weight_difference(a, b) == 0.0
    assert compare_gradients(seed=np.int64(123)) == compare_gradients(seed=123)
    X, y = make_spirals(np.int64(8), noise=np.float32(0.0), seed=np.uint8(1))
    assert X.shape == (8, 2)
    history = train(make_classifier_pair(np.int64(3), 4)[1], X, y, np.int64(2), np.float64(1e-3))
    assert len(history.losses) == 2


@pytest.mark.parametrize("function", [F.gelu, torch.tanh, torch.relu])
def test_a_plain_function_as_activation_is_wrapped(function):
    torch.manual_seed(0)
    model = ExampleDeepNeuralNetwork([3, 3, 1], use_shortcut=True, activation=function)
    torch.manual_seed(0)
    name = {F.gelu: "gelu_exact", torch.tanh: "tanh", torch.relu: "relu"}[function]
    reference = ExampleDeepNeuralNetwork([3, 3, 1], use_shortcut=True, activation=name)
    x = torch.tensor([[1.0, 0.0, -1.0]])
    torch.testing.assert_close(model(x), reference(x), rtol=0, atol=0)


def test_an_activation_that_is_neither_factory_nor_function_says_what_to_pass():
    with pytest.raises(TypeError, match=r"activation .* could not be called .*such as torch.tanh"):
        ExampleDeepNeuralNetwork([3, 1], use_shortcut=False, activation=lambda a, b: a)


@pytest.mark.parametrize("seed", [2**64, -1])
def test_seed_out_of_range_is_a_clear_error(seed):
    for call in (
        lambda: make_model_pair([3, 1], seed=seed),
        lambda: compare_gradients(seed=seed),
        lambda: make_spirals(8, seed=seed),
        lambda: population_gradient_means(3, seed=seed),
    ):
        with pytest.raises(
            ValueError, match=rf"seed must be an integer from 0 to 2\*\*64 - 1, got {seed}"
        ):
            call()


def test_shared_checks_accept_numpy_and_reject_bool_and_float():
    assert (
        check_positive_int(np.int32(3), "n") == 3
        and type(check_positive_int(np.int32(3), "n")) is int
    )
    assert check_integer(np.int64(-2), "k") == -2
    assert check_real(np.float32(0.25), "r") == 0.25
    assert check_seed(2**64 - 1) == 2**64 - 1
    with pytest.raises(TypeError, match=r"n must be a positive integer, got True \(bool\)"):
        check_positive_int(True, "n")
    with pytest.raises(TypeError, match=r"n must be a positive integer, got 3.0 \(float\)"):
        check_positive_int(3.0, "n")
    with pytest.raises(ValueError, match=r"r must be finite, got inf"):
        check_real(np.float64("inf"), "r")
    # one range rule for reals, as check_integer's for integers (the explorers' starting values)
    assert check_real(0.1, "c", minimum=0.0, maximum=0.1) == 0.1
    with pytest.raises(ValueError, match=r"c must be between 0.0 and 0.1, got 0.2"):
        check_real(0.2, "c", minimum=0.0, maximum=0.1)
    with pytest.raises(ValueError, match=r"c must be a finite number <= 1, got 1.5"):
        check_real(1.5, "c", maximum=1)
    # entries of layer_sizes go through the same positive-integer check, and say where they are
    in_list = r"layer_sizes\[1\] must be a positive integer, got 0 in \[3, 0\]"
    with pytest.raises(ValueError, match=in_list):
        check_layer_sizes([3, 0])


# Plotting and explorers at the edges.


def test_gradient_comparison_with_400_layers_and_steady_axes():
    means = {f"layers.{i}.0.weight": 0.1 for i in range(400)}
    figure = plot_gradient_comparison(means, means, steady_axes=True)
    assert len(figure.axes[0].containers) == 2


@pytest.mark.parametrize(
    "plain, error, pattern",
    [
        ([0.1, 0.2], TypeError, r"plain must be a dict of layer name -> gradient mean"),
        ({"a": torch.tensor([1.0, 2.0])}, TypeError, r"plain\['a'\] must be a number"),
        ({"a": math.nan}, ValueError, r"plain\['a'\] must be a finite number >= 0"),
    ],
)
def test_gradient_tables_in_the_wrong_container(plain, error, pattern):
    for call in (
        lambda: plot_gradient_comparison(plain, plain),
        lambda: format_gradient_table(plain, plain),
    ):
        with pytest.raises(error, match=pattern):
            call()
    with pytest.raises(error, match=pattern.replace("plain", "means", 1)):
        vanishing_ratio(plain)


def test_a_failing_plot_leaves_no_figure_open():
    before = plt.get_fignums()
    with pytest.raises(ValueError):
        new_figure(nrows=0)
    with pytest.raises(TypeError, match=r"values must be a dict such as"):
        plot_activations([0.0, 1.0], [1.0, 2.0])
    with pytest.raises(TypeError, match=r"figure must be None or a Figure with axes"):
        plot_gradient_comparison({"a": 1.0}, {"a": 1.0}, figure="not a figure")
    assert plt.get_fignums() == before


def test_explorers_accept_numpy_integers():
    from shortcut_lib.widgets import gradient_explorer

    explorer = gradient_explorer(depth=np.int64(4), width=np.int64(3))
    assert explorer.controls["depth"].value == 4
