"""Bad input gets a clear error that names the bad value and what was expected."""

import re

import pytest
import torch

from shortcut_lib import (
    ExampleDeepNeuralNetwork,
    layer_gradient_means,
    make_model_pair,
    print_gradients,
)


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
    with pytest.raises(TypeError, match="torch.nn.Module, got function"):
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
