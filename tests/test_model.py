"""ExampleDeepNeuralNetwork, make_model_pair and the gradient measurements."""

import pytest
import torch
from torch import nn

from shortcut_lib import (
    ExampleDeepNeuralNetwork,
    layer_gradient_means,
    make_model_pair,
    print_gradients,
)

X = torch.tensor([[1.0, 0.0, -1.0]])


def test_parameter_names_match_the_seeds():
    model = ExampleDeepNeuralNetwork([3, 3, 3, 3, 3, 1], use_shortcut=False)
    names = [name for name, _ in model.named_parameters()]
    assert names == [f"layers.{i}.0.{kind}" for i in range(5) for kind in ("weight", "bias")]


@pytest.mark.parametrize("n_layers", [1, 2, 7, 30])
def test_any_number_of_layers(n_layers):
    model = ExampleDeepNeuralNetwork([4] * n_layers + [2], use_shortcut=True)
    assert len(model.layers) == n_layers
    assert model(torch.zeros(5, 4)).shape == (5, 2)


def test_each_layer_is_linear_then_activation():
    model = ExampleDeepNeuralNetwork([3, 5, 1], use_shortcut=False, activation="relu")
    for layer, (n_in, n_out) in zip(model.layers, [(3, 5), (5, 1)], strict=True):
        assert isinstance(layer[0], nn.Linear) and isinstance(layer[1], nn.ReLU)
        assert (layer[0].in_features, layer[0].out_features) == (n_in, n_out)


def test_shortcut_applied_exactly_where_shapes_match():
    model = ExampleDeepNeuralNetwork([3, 3, 4, 4, 4, 1], use_shortcut=True)
    assert model.shortcut_mask == [True, False, True, True, False]
    plain = ExampleDeepNeuralNetwork([3, 3, 4, 4, 4, 1], use_shortcut=False)
    assert plain.shortcut_mask == [False] * 5


def test_forward_equals_a_hand_written_loop():
    torch.manual_seed(0)
    sizes = [3, 3, 4, 4, 1]
    model = ExampleDeepNeuralNetwork(sizes, use_shortcut=True, activation="tanh")
    x = torch.randn(6, 3)
    h = x
    for layer in model.layers:
        w, b = layer[0].weight, layer[0].bias
        out = torch.tanh(h @ w.T + b)
        h = h + out if out.shape == h.shape else out
    assert torch.allclose(model(x), h, atol=1e-6)


def test_identity_network_is_affine():
    # With no activation the whole network is one affine map: f(2x)-f(0) = 2(f(x)-f(0)).
    torch.manual_seed(1)
    model = ExampleDeepNeuralNetwork([3, 3, 3, 1], use_shortcut=False, activation="identity")
    x = torch.randn(4, 3)
    zero = torch.zeros(1, 3)
    assert torch.allclose(model(2 * x) - model(zero), 2 * (model(x) - model(zero)), atol=1e-6)


def test_make_model_pair_shares_initial_weights_and_leaves_global_rng_alone():
    torch.manual_seed(7)
    before = torch.random.get_rng_state()
    plain, shortcut = make_model_pair([3, 3, 3, 1], seed=5)
    assert torch.equal(torch.random.get_rng_state(), before)
    for (n1, p1), (n2, p2) in zip(
        plain.named_parameters(), shortcut.named_parameters(), strict=True
    ):
        assert n1 == n2 and torch.equal(p1, p2)
    assert not plain.use_shortcut and shortcut.use_shortcut


def test_make_model_pair_weights_are_those_of_manual_seed():
    torch.manual_seed(123)
    reference = ExampleDeepNeuralNetwork([3, 3, 1], use_shortcut=False)
    plain, _ = make_model_pair([3, 3, 1], seed=123)
    assert torch.equal(reference.layers[0][0].weight, plain.layers[0][0].weight)


def test_different_seeds_give_different_weights():
    a, _ = make_model_pair([3, 3, 1], seed=1)
    b, _ = make_model_pair([3, 3, 1], seed=2)
    assert not torch.equal(a.layers[0][0].weight, b.layers[0][0].weight)


def test_layer_gradient_means_does_not_accumulate():
    plain, _ = make_model_pair([3, 3, 3, 1])
    first = layer_gradient_means(plain, X)
    second = layer_gradient_means(plain, X)
    assert first == second


def test_layer_gradient_means_by_hand_for_a_single_linear_layer():
    # One layer, identity: out = w.x + b, loss = (out - t)^2, dloss/dw = 2 (out - t) x.
    model = ExampleDeepNeuralNetwork([3, 1], use_shortcut=False, activation="identity")
    with torch.no_grad():
        model.layers[0][0].weight.copy_(torch.tensor([[0.5, -1.0, 2.0]]))
        model.layers[0][0].bias.fill_(0.25)
    x = torch.tensor([[1.0, 2.0, -1.0]])
    out = 0.5 - 2.0 - 2.0 + 0.25  # -3.25
    target = torch.tensor([[1.0]])
    expected = abs(2 * (out - 1.0)) * (1 + 2 + 1) / 3
    means = layer_gradient_means(model, x, target)
    assert means == {"layers.0.0.weight": pytest.approx(expected)}


def test_target_defaults_to_zeros():
    plain, _ = make_model_pair([3, 3, 1])
    assert layer_gradient_means(plain, X) == layer_gradient_means(plain, X, torch.zeros(1, 1))


def test_print_gradients_prints_the_seed_format(capsys):
    plain, _ = make_model_pair([3, 3, 3, 3, 3, 1])
    means = print_gradients(plain, X)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "layers.0.0.weight has gradient mean of 0.0002017"
    assert len(lines) == 5 and means["layers.4.0.weight"] == pytest.approx(5.0496e-3, rel=1e-4)


def test_print_gradients_full_precision(capsys):
    plain, _ = make_model_pair([3, 3, 3, 3, 3, 1])
    means = print_gradients(plain, X, significant_digits=None)
    first = capsys.readouterr().out.splitlines()[0]
    assert first == f"layers.0.0.weight has gradient mean of {means['layers.0.0.weight']}"


def test_float64_model_and_input():
    plain, _ = make_model_pair([3, 3, 1])
    plain = plain.double()
    assert plain(X.double()).dtype == torch.float64


def test_shortcuts_disabled_sets_and_restores_both_attributes_even_after_an_error():
    from shortcut_lib.model import shortcuts_disabled

    torch.manual_seed(0)
    model = ExampleDeepNeuralNetwork([3, 3, 3, 1], use_shortcut=True)
    torch.manual_seed(0)
    plain = ExampleDeepNeuralNetwork([3, 3, 3, 1], use_shortcut=False)
    x = torch.randn(4, 3)
    mask = model.shortcut_mask
    with pytest.raises(RuntimeError, match="inside"), shortcuts_disabled(model) as inside:
        assert inside is model
        assert (model.use_shortcut, model.shortcut_mask) == (False, [False, False, False])
        assert repr(model) == repr(plain)
        torch.testing.assert_close(model(x), plain(x), rtol=0, atol=0)
        raise RuntimeError("inside")
    assert model.use_shortcut is True
    assert model.shortcut_mask is mask and mask == [True, True, False]
    with pytest.raises(TypeError, match="ExampleDeepNeuralNetwork"):
        with shortcuts_disabled(nn.Linear(3, 3)):
            pass
