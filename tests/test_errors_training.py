"""Careless input to the population engine and the training helpers: a clear error that names
the argument and the bad value, never a silent NaN/0 or a raw torch message, and no change to
the caller's random state, grad mode or model mode."""

import copy
import math
import re
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from shortcut_lib import (
    ExampleDeepNeuralNetwork,
    dead_network_causes,
    decision_grid,
    evaluate,
    first_layer_gradients_by_depth,
    gradient_quantiles,
    init_population_weights,
    input_signal,
    make_classifier_pair,
    make_spirals,
    population_gradient_means,
    stack_model_weights,
    train,
    train_depths,
)
from shortcut_lib.population import DeadNetworks
from shortcut_lib.population_backward import gradient_reaches, manual_gradient_means
from shortcut_lib.training import MAX_STEPS


@pytest.fixture
def data():
    return make_spirals(16)


@pytest.fixture
def pair():
    return make_classifier_pair(3, 4)


def with_nan_weights(model):
    model = copy.deepcopy(model)
    with torch.no_grad():
        model.layers[0][0].weight.fill_(math.nan)
    return model


def dropout_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 8), nn.Dropout(0.5), nn.Linear(8, 1))


# --- the model argument ------------------------------------------------------------------

CALLS_WITH_A_MODEL = {
    "train": lambda model, X, y: train(model, X, y, 2, 1e-2),
    "evaluate": lambda model, X, y: evaluate(model, X, y),
    "decision_grid": lambda model, X, y: decision_grid(model, resolution=3),
    "input_signal": lambda model, X, y: input_signal(model, X, y),
}


@pytest.mark.parametrize("call", CALLS_WITH_A_MODEL.values(), ids=CALLS_WITH_A_MODEL)
def test_the_class_instead_of_a_model(call, data):
    with pytest.raises(TypeError, match=r"model must be .*got the class ExampleDeepNeuralNetwork"):
        call(ExampleDeepNeuralNetwork, *data)


@pytest.mark.parametrize("call", CALLS_WITH_A_MODEL.values(), ids=CALLS_WITH_A_MODEL)
def test_a_model_on_the_meta_device(call, data, pair):
    with pytest.raises(ValueError, match=r"model's parameter layers\.0\.0\.weight is on the meta"):
        call(copy.deepcopy(pair[0]).to("meta"), *data)


@pytest.mark.parametrize(
    "call",
    [
        lambda X, y, model: train(model, X, y, 2, 1e-2),
        lambda X, y, model: evaluate(model, X, y),
        lambda X, y, model: input_signal(model, X, y),
    ],
)
def test_data_on_the_meta_device(call, data, pair):
    X, y = data
    with pytest.raises(ValueError, match=r"^X is on the meta device"):
        call(X.to("meta"), y.to("meta"), pair[0])
    with pytest.raises(ValueError, match=r"^y is on the meta device"):
        call(X, y.to("meta"), pair[0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"x": torch.zeros(3, device="meta")}, r"^x is on the meta device"),
        ({"x": torch.empty(0, 3)}, r"^x is empty \(shape \(0, 3\)\)"),
        ({"x": torch.empty(4, 0, 3)}, r"^x is empty \(shape \(4, 0, 3\)\)"),
    ],
)
def test_population_input_without_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        population_gradient_means(3, population=4, **kwargs)


def bad_weights(change):
    return [change(i, w, b) for i, (w, b) in enumerate(init_population_weights(3, 3, 4))]


@pytest.mark.parametrize(
    "weights, error, message",
    [
        (
            bad_weights(lambda i, w, b: (w.to("meta"), b.to("meta"))),
            ValueError,
            r"weights\[0\]'s W is on the meta device",
        ),
        (
            bad_weights(lambda i, w, b: (w * math.inf, b)),
            ValueError,
            r"weights\[0\]'s W must be finite.*init_population_weights",
        ),
        (
            bad_weights(lambda i, w, b: (w, b.double())),
            TypeError,
            r"weights\[0\]'s b is torch.float64 .* weights\[0\]'s W is torch.float32",
        ),
        (
            bad_weights(lambda i, w, b: (w.double(), b.double()) if i == 1 else (w, b)),
            TypeError,
            r"weights\[1\]'s W is torch.float64",
        ),
    ],
)
def test_explicit_weights_without_values_or_of_mixed_dtypes(weights, error, message):
    with pytest.raises(error, match=message):
        population_gradient_means(3, weights=weights)


@pytest.mark.parametrize(
    "device, error, message",
    [
        ("meta", ValueError, r"device='meta': the meta device holds shapes but no values"),
        ("cuda", ValueError, r"device='cuda' is not available on this machine"),
        (3, TypeError, r"device must be a device name .*got 3 \(int\)"),
    ],
)
def test_init_population_weights_on_a_device_that_cannot_compute(device, error, message):
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(error, match=message):
        init_population_weights(3, device=device)


# --- overflow and underflow in the population engine -------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"depth": 3000, "population": 2, "activation": "relu"},
        {"depth": 3, "population": 4, "residual_scale": 1e30},
        {"depth": 3, "population": 4, "x": torch.tensor([1e30, 0.0, -1.0])},
    ],
    ids=["deep-relu", "residual_scale", "x"],
)
def test_population_overflow_is_reported(kwargs):
    with pytest.raises(
        ValueError,
        match=r"the gradient means came out NaN or infinite .*use fewer layers, a smaller x or "
        r"residual_scale, or dtype=torch.float64",
    ):
        population_gradient_means(**kwargs)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_population_refuses_16_bit_dtypes(dtype):
    with pytest.raises(
        ValueError, match=rf"dtype={re.escape(str(dtype))} is too coarse .*torch.float32"
    ):
        population_gradient_means(60, population=4, shortcut=False, dtype=dtype)
    weights = [(w.to(dtype), b.to(dtype)) for w, b in init_population_weights(3, 3, 4)]
    with pytest.raises(ValueError, match=rf"the weights' dtype {re.escape(str(dtype))} is too"):
        population_gradient_means(3, weights=weights)


def test_exact_zeros_of_dead_relu_networks_are_not_flagged():
    # Lesson 04: a ReLU network whose units are all negative gets gradient exactly 0.
    means = population_gradient_means(10, activation="relu", shortcut=False, population=64)
    assert bool((means == 0).any()) and bool(torch.isfinite(means).all())


# --- residual_scale as a function of depth -----------------------------------------------


@pytest.mark.parametrize(
    "scale, error, message",
    [
        (lambda: 1.0, TypeError, r"residual_scale must be a number or a function of the depth"),
        (lambda a, b: 1.0, TypeError, r"got <lambda>\(a, b\), which cannot be called with one"),
        (lambda d: "x", TypeError, r"residual_scale\(2\) must be a real number, got 'x'"),
        (lambda d: math.inf, ValueError, r"residual_scale\(2\) must be finite, got inf"),
    ],
)
def test_residual_scale_function_of_the_wrong_kind(scale, error, message):
    with pytest.raises(error, match=message):
        first_layer_gradients_by_depth([2, 3], population=4, residual_scale=scale)


# --- gradient_quantiles ------------------------------------------------------------------


@pytest.mark.parametrize(
    "quantiles, error, message",
    [
        (["0.5"], TypeError, r"quantiles\[0\] must be a real number, got '0.5' \(str\)"),
        ([True], TypeError, r"quantiles\[0\] must be a real number, got True \(bool\)"),
        ([[0.5]], TypeError, r"quantiles\[0\] must be a real number, got \[0.5\] \(list\)"),
        ([math.nan], ValueError, r"quantiles\[0\] must be finite, got nan"),
        (math.nan, ValueError, r"quantiles must be finite, got nan"),
        ([25, 50, 75], ValueError, r"quantiles must lie in \[0, 1\] .*got \[25.0, 50.0, 75.0\]"),
        ("0.5", TypeError, r"quantiles must be a list of numbers .*got '0.5' \(str\)"),
        ([], ValueError, r"quantiles must hold at least one number"),
    ],
)
def test_gradient_quantiles_bad_quantiles(quantiles, error, message):
    with pytest.raises(error, match=message):
        gradient_quantiles(torch.rand(8, 3), quantiles=quantiles)


@pytest.mark.parametrize("quantile", [0.5, np.float64(0.5), np.float32(0.25)])
def test_gradient_quantiles_takes_one_number_as_one_quantile(quantile):
    values = torch.rand(8, 3, generator=torch.Generator().manual_seed(0))
    expected = torch.quantile(values, float(quantile), dim=0)
    assert torch.equal(gradient_quantiles(values, quantiles=quantile), expected)


@pytest.mark.parametrize("dim", [1.0, True, "0"])
def test_gradient_quantiles_dim_not_an_integer(dim):
    with pytest.raises(TypeError, match=rf"dim must be an integer, got {re.escape(repr(dim))}"):
        gradient_quantiles(torch.rand(8, 3), dim=dim)


@pytest.mark.parametrize("shape", [(5,), (8, 2), (2, 8, 3)])
def test_gradient_quantiles_exclude_of_the_wrong_shape(shape):
    exclude = torch.zeros(shape, dtype=torch.bool)
    with pytest.raises(
        ValueError,
        match=rf"exclude of shape {re.escape(str(shape))} does not broadcast to values of shape "
        r"\(8, 3\)",
    ):
        gradient_quantiles(torch.rand(8, 3), exclude=exclude)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_gradient_quantiles_refuses_non_finite_values_it_keeps(bad):
    values = torch.tensor([[bad], [1.0], [2.0]])
    with pytest.raises(ValueError, match=r"values must be finite where not excluded, but 1 value"):
        gradient_quantiles(values)
    # Left out, they are fine.
    kept = gradient_quantiles(values, exclude=~torch.isfinite(values))
    assert kept[:, 0].tolist() == [1.25, 1.5, 1.75]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_gradient_quantiles_of_16_bit_values(dtype):
    values = torch.rand(8, 3, generator=torch.Generator().manual_seed(0))
    result = gradient_quantiles(values.to(dtype))
    assert result.dtype == dtype
    expected = torch.quantile(values.to(dtype).float(), torch.tensor([0.25, 0.5, 0.75]), dim=0)
    assert torch.equal(result, expected.to(dtype))


# --- gradients: no_grad, frozen models ---------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda X, y, pair: train(copy.deepcopy(pair[0]), X, y, 2, 1e-2).losses,
        lambda X, y, pair: input_signal(pair[0], X, y),
        lambda X, y, pair: train_depths(X, y, depths=[2], width=3, steps=2)["plain"][2].final_loss,
    ],
    ids=["train", "input_signal", "train_depths"],
)
def test_training_and_measuring_inside_no_grad(call, data, pair):
    expected = call(*data, pair)
    with torch.no_grad():
        assert call(*data, pair) == expected
        assert not torch.is_grad_enabled()


def test_a_model_with_nothing_to_train(data, pair):
    X, y = data
    frozen = copy.deepcopy(pair[0]).requires_grad_(False)
    with pytest.raises(ValueError, match=r"model has nothing to train .*requires_grad=False"):
        train(frozen, X, y, 2, 1e-2)
    # A trainable parameter the loss does not use: still nothing to train.
    unused = nn.Sequential(nn.Linear(2, 1)).requires_grad_(False)
    unused.register_parameter("extra", nn.Parameter(torch.zeros(1)))
    with pytest.raises(ValueError, match=r"the loss does not depend on any of the model's"):
        train(unused, X, y, 2, 1e-2)
    with pytest.raises(ValueError, match=r"layers\[0\]\[0\]\.weight, which has requires_grad"):
        input_signal(frozen, X, y)


def test_a_partly_frozen_model_trains(data, pair):
    model = copy.deepcopy(pair[0])
    model.layers[0].requires_grad_(False)
    first = model.layers[0][0].weight.clone()
    train(model, *data, 3, 1e-2)
    assert torch.equal(model.layers[0][0].weight, first)
    assert not torch.equal(model.layers[1][0].weight, pair[0].layers[1][0].weight)


# --- broken weights, overflow ------------------------------------------------------------


def test_training_a_model_a_previous_run_broke(data, pair):
    model = copy.deepcopy(pair[0])
    with pytest.warns(RuntimeWarning, match="train diverged"):
        train(model, *data, 3, 1e30, "sgd")
    with pytest.raises(ValueError, match=r"weight must be finite.*already NaN or infinite"):
        train(model, *data, 2, 1e-3)


@pytest.mark.parametrize(
    "call",
    [
        lambda model, X, y: decision_grid(model, resolution=5),
        lambda model, X, y: input_signal(model, X, y),
        lambda model, X, y: train(model, X, y, 2, 1e-2),
    ],
    ids=["decision_grid", "input_signal", "train"],
)
def test_nan_weights_are_reported(call, data, pair):
    with pytest.raises(
        ValueError, match=r"model's parameter layers\.0\.0\.weight must be finite.*rebuild it"
    ):
        call(with_nan_weights(pair[0]), *data)


@pytest.mark.parametrize(
    "extent, dtype", [(1e39, torch.float32), (3e38, torch.float32), (1e308, torch.float64)]
)
def test_decision_grid_extent_too_large_for_the_dtype(extent, dtype, pair):
    model = copy.deepcopy(pair[0]).to(dtype)
    with pytest.raises(ValueError, match=rf"extent={re.escape(repr(extent))} is too large for"):
        decision_grid(model, extent=extent, resolution=3)


def test_decision_grid_that_overflows_inside_the_model():
    # 4 * 1e38 overflows float32 to inf, and 0 * inf is NaN.
    model = nn.Sequential(nn.Linear(2, 1, bias=False), nn.Linear(1, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[4.0, 0.0]]))
        model[1].weight.zero_()
    with pytest.raises(ValueError, match=r"probabilities on the grid came out NaN.*extent=1e\+38"):
        decision_grid(model, extent=1e38, resolution=3)


def test_input_signal_of_one_point(data, pair):
    X, y = data
    with pytest.raises(ValueError, match=r"X must hold at least two points .*shape \(1, 2\)"):
        input_signal(pair[0], X[:1], y[:1])


@pytest.mark.parametrize(
    "kwargs, shown",
    [({"turns": 1e308}, r"turns=1e\+308"), ({"noise": 1e308}, r"noise=1e\+308")],
)
def test_make_spirals_that_overflow(kwargs, shown):
    with pytest.raises(ValueError, match=rf"points X came out NaN or infinite.*{shown}"):
        make_spirals(10, **kwargs)


# --- dropout, modes and the global random state ------------------------------------------


def test_evaluate_and_decision_grid_use_eval_mode_and_restore_it(data):
    model = dropout_model()
    model[0].eval()  # a mixed mode must come back as it was; the dropout stays in train mode
    modes = [m.training for m in model.modules()]
    in_eval = copy.deepcopy(model).eval()
    state = torch.get_rng_state()
    assert evaluate(model, *data) == evaluate(model, *data) == evaluate(in_eval, *data)
    grid = decision_grid(model, resolution=3)[2]
    assert torch.equal(grid, decision_grid(in_eval, resolution=3)[2])
    assert torch.equal(torch.get_rng_state(), state)
    assert [m.training for m in model.modules()] == modes


def test_training_with_dropout_leaves_the_global_random_state_alone(data):
    model = dropout_model()
    state = torch.get_rng_state()
    first = train(copy.deepcopy(model), *data, 3, 1e-2).losses
    assert torch.equal(torch.get_rng_state(), state)
    # The masks come from the global state at the call: the same state repeats the run.
    assert train(copy.deepcopy(model), *data, 3, 1e-2).losses == first
    assert model.training


# --- round 2: underflow is no dead network -----------------------------------------------


def _warned(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in caught if w.category is RuntimeWarning]


UNDERFLOWING = {  # plain GELU networks lose ~0.6 decades a layer: float32 ends near depth 63
    "population_gradient_means": lambda **dtype: population_gradient_means(
        100, shortcut=False, population=8, return_dead=True, **dtype
    )[1],
    "dead_network_causes": lambda **dtype: dead_network_causes(
        300, shortcut=False, population=8, **dtype
    ),
    "first_layer_gradients_by_depth": lambda **dtype: first_layer_gradients_by_depth(
        [40, 100], shortcut=False, population=8, **dtype
    ),
}


@pytest.mark.parametrize("call", UNDERFLOWING.values(), ids=UNDERFLOWING)
def test_an_underflow_is_reported_not_called_dead_inside(call):
    state = torch.get_rng_state()
    result, messages = _warned(call)
    assert torch.equal(torch.get_rng_state(), state)
    inside = result.inside if isinstance(result, DeadNetworks) else result.inside_dead
    assert not bool(inside.any())
    assert len(messages) == 1
    assert re.search(
        r"came out exactly 0 .*where no unit blocks .*smallest torch\.float32 \(1\.4e-45\).*"
        r"an underflow, not a dead network.*use dtype=torch\.float64",
        messages[0],
    )
    # In float64 the same networks are measured: no zero, no warning.
    result, messages = _warned(lambda: call(dtype=torch.float64))
    assert messages == []


def test_dead_relu_networks_are_still_dead_without_a_warning():
    dead, messages = _warned(
        lambda: dead_network_causes(10, activation="relu", shortcut=False, population=64)
    )
    assert messages == []
    assert (dead.output.double().mean().item(), dead.inside.double().mean().item()) == (
        0.375,
        0.4375,
    )


@pytest.mark.parametrize("activation", ["relu", "gelu", "sigmoid", "tanh"])
@pytest.mark.parametrize("shortcut, pre_layer_norm", [(False, False), (True, False), (True, True)])
def test_a_zero_by_structure_is_exactly_what_gradient_reaches_rules_out(
    activation, shortcut, pre_layer_norm
):
    # float64 and 12 layers: nothing underflows, so every exact 0 must be a structural one.
    weights = init_population_weights(12, 3, 64, seed=1, dtype=torch.float64)
    x = torch.randn(64, 2, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x[:8] = 0.0  # inputs of zeros: the first layer's gradient is 0 by structure
    network = (weights, x, activation, shortcut, pre_layer_norm, 1.0)
    with torch.no_grad():
        means, signal = manual_gradient_means(*network)
        reaches, signal_reaches = gradient_reaches(*network)
    assert torch.equal(means != 0, reaches)
    assert torch.equal((signal != 0).flatten(1).any(1), signal_reaches)


# --- round 2: torch.inference_mode() -----------------------------------------------------


MEASURED_IN_INFERENCE_MODE = {
    "input_signal": lambda X, y, model: input_signal(model, X, y),
    "population_gradient_means": lambda X, y, model: population_gradient_means(
        3, population=4, method="autograd"
    ).tolist(),
    "train": lambda X, y, model: train(model, X, y, 3, 1e-2).losses,
}


@pytest.mark.parametrize(
    "call", MEASURED_IN_INFERENCE_MODE.values(), ids=MEASURED_IN_INFERENCE_MODE
)
def test_measuring_and_training_inside_inference_mode(call, data, pair):
    expected = call(*data, copy.deepcopy(pair[0]))
    model = copy.deepcopy(pair[0])
    state = torch.get_rng_state()
    with torch.inference_mode():
        X, y = make_spirals(16)  # inference tensors
        assert call(X, y, model) == expected
        assert torch.is_inference_mode_enabled() and not torch.is_grad_enabled()
    assert torch.is_grad_enabled() and torch.equal(torch.get_rng_state(), state)


def test_a_model_built_inside_inference_mode(data):
    with torch.inference_mode():
        model = make_classifier_pair(3, 4)[0]
    for call in (lambda: train(model, *data, 2, 1e-2), lambda: input_signal(model, *data)):
        with pytest.raises(
            ValueError,
            match=r"model's parameter layers\.0\.0\.weight was made inside "
            r"torch\.inference_mode\(\) .*build it outside",
        ):
            call()


# --- round 2: data the model cannot take -------------------------------------------------


def _sequential(dtype=torch.float32):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(2, 8), nn.GELU(), nn.Linear(8, 1)).to(dtype)


class ThreeFeatures(nn.Module):  # a custom forward: its input size cannot be read from it
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def forward(self, x):
        return self.linear(x)


WRONG_DATA = {
    "train-float64-model": (
        lambda X, y: train(_sequential(torch.float64), X, y, 3, 1e-2),
        TypeError,
        r"^X dtype torch\.float32 does not match the model's parameters \(torch\.float64\); "
        r"convert one of them, e\.g\. X\.to\(torch\.float64\)",
    ),
    "train-float64-X": (
        lambda X, y: train(_sequential(), X.double(), y, 3, 1e-2),
        TypeError,
        r"^X dtype torch\.float64 does not match the model's parameters \(torch\.float32\)",
    ),
    "evaluate-float64-X": (
        lambda X, y: evaluate(_sequential(), X.double(), y),
        TypeError,
        r"^X dtype torch\.float64 does not match the model's parameters \(torch\.float32\)",
    ),
    "train-3-features": (
        lambda X, y: train(nn.Sequential(nn.Linear(3, 1)), X, y, 3, 1e-2),
        ValueError,
        r"^X has 2 feature\(s\) per point \(shape \(16, 2\)\), but the model takes 3 "
        r"\(model\[0\] is Linear\(in_features=3",
    ),
    "evaluate-custom-forward": (
        lambda X, y: evaluate(ThreeFeatures(), X, y),
        ValueError,
        r"^model\(X\) failed for X of shape \(16, 2\) \(torch\.float32\): RuntimeError: ",
    ),
    "decision_grid-Linear-3": (
        lambda X, y: decision_grid(nn.Sequential(nn.Linear(3, 1))),
        ValueError,
        r"^decision_grid draws a model of 2 input features .*but this model takes 3 "
        r"\(model\[0\] is Linear\(in_features=3",
    ),
    "decision_grid-book-model": (
        lambda X, y: decision_grid(ExampleDeepNeuralNetwork([3, 3, 1], True)),
        ValueError,
        r"^decision_grid draws a model of 2 input features .*takes 3 \(layer_sizes\[0\] = 3\)",
    ),
    "decision_grid-custom-forward": (
        lambda X, y: decision_grid(ThreeFeatures(), resolution=3),
        ValueError,
        r"^model\(points\) failed for points of shape \(9, 2\).*decision_grid draws a model "
        r"of 2 input features",
    ),
    "train_depths-float64-X": (
        lambda X, y: train_depths(X.double(), y, depths=[2], width=3, steps=2),
        TypeError,
        r"^X dtype torch\.float64 does not match the networks train_depths builds.*"
        r"X\.to\(torch\.float32\)",
    ),
}


@pytest.mark.parametrize("call, error, message", WRONG_DATA.values(), ids=WRONG_DATA)
def test_data_of_another_dtype_or_number_of_features(call, error, message, data):
    with pytest.raises(error, match=message):
        call(*data)


# --- round 2: sizes and shapes -----------------------------------------------------------


@pytest.mark.parametrize("steps", [MAX_STEPS + 1, 2 * 10**5, 10**9])
def test_steps_beyond_the_maximum_fail_at_once(steps, data, pair):
    model = copy.deepcopy(pair[0])
    with pytest.raises(
        ValueError, match=rf"^steps must be at most MAX_STEPS = 10,000 .*got {steps:,}"
    ):
        train(model, *data, steps, 1e-2)
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), pair[0].parameters(), strict=True)
    )


def _with_layers(*layers):
    model = nn.Module()
    model.layers = nn.ModuleList(layers)
    return model


@pytest.mark.parametrize(
    "model, error, message",
    [
        (
            _with_layers(nn.Linear(3, 3), nn.Linear(3, 1)),
            TypeError,
            r"^models\[0\]\.layers\[0\] is Linear\(in_features=3, out_features=3, bias=True\); "
            r"expected a block whose \[0\] is an nn\.Linear",
        ),
        (
            _with_layers(
                nn.Sequential(nn.Linear(3, 3, bias=False)), nn.Sequential(nn.Linear(3, 1))
            ),
            ValueError,
            r"^models\[0\]\.layers\[0\]\[0\] is Linear\(.*bias=False\), without a bias",
        ),
        (
            nn.Linear(3, 1),
            TypeError,
            r"^models\[0\] must be a model whose \.layers\[i\]\[0\] is an nn\.Linear with a bias.*"
            r"got Linear\(in_features=3",
        ),
        (_with_layers(), ValueError, r"^models\[0\]\.layers is empty"),
    ],
    ids=["Linears-without-blocks", "no-bias", "no-layers", "empty"],
)
def test_stack_model_weights_of_another_structure(model, error, message):
    with pytest.raises(error, match=message):
        stack_model_weights([model])


@pytest.mark.parametrize(
    "call",
    [
        lambda: population_gradient_means(5, population=4, residual_scale=1e300),
        lambda: first_layer_gradients_by_depth([2], population=4, residual_scale=lambda d: 1e300),
    ],
    ids=["number", "function"],
)
def test_residual_scale_beyond_the_dtype(call):
    with pytest.raises(
        ValueError, match=r"^residual_scale=1e\+300 does not fit in torch\.float32 \(at most 3\.4e"
    ):
        call()


@pytest.mark.parametrize("depths", [np.arange(1, 4), torch.arange(1, 4), np.array([1, 2, 3])])
def test_depths_as_an_array_or_tensor(depths):
    sweep = first_layer_gradients_by_depth(depths, population=4)
    expected = first_layer_gradients_by_depth([1, 2, 3], population=4)
    assert torch.equal(sweep.first_layer, expected.first_layer)
    assert sweep.depths.tolist() == [1, 2, 3]


def test_train_depths_takes_an_array_of_depths(data):
    runs = train_depths(*data, depths=np.array([2, 3]), width=3, steps=2)
    expected = train_depths(*data, depths=[2, 3], width=3, steps=2)
    assert list(runs["plain"]) == [2, 3]
    assert all(type(depth) is int for depth in runs["plain"])
    assert runs["shortcut"][3].history.losses == expected["shortcut"][3].history.losses


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: first_layer_gradients_by_depth(np.array([[1, 2]]), population=4),
            ValueError,
            r"^depths must be one-dimensional, such as range\(1, 101\), got shape \(1, 2\)",
        ),
        (
            lambda: first_layer_gradients_by_depth(np.array([1.0, 2.0]), population=4),
            TypeError,
            r"^depths\[0\] must be an integer, got 1\.0 \(float\)",
        ),
        (
            lambda: train_depths(*make_spirals(16), depths=torch.tensor([1, 2])),
            ValueError,
            r"^depths\[0\] must be at least 2, got 1",
        ),
        (
            lambda: train_depths(*make_spirals(16), depths=[]),
            ValueError,
            r"^depths must hold at least one depth, such as \[4, 16, 32\]",
        ),
    ],
    ids=["2-D", "floats", "too-shallow", "empty"],
)
def test_depths_that_are_not_depths(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(
    "values, exclude, message",
    [
        (
            torch.rand(5, 5),
            torch.tensor([True, False, False, False, False]),
            r"exclude of shape \(5,\) is ambiguous for values of shape \(5, 5\).*"
            r"exclude\.reshape\(5, 1\) for one flag per network, or exclude\.reshape\(1, 5\)",
        ),
        (
            torch.rand(8, 3),
            torch.tensor([True, False, False]),
            r"exclude of shape \(3,\) is ambiguous for values of shape \(8, 3\).*"
            r"dimensions: exclude\.reshape\(1, 3\) for what it means now",
        ),
    ],
    ids=["square", "per-layer"],
)
def test_gradient_quantiles_refuses_an_ambiguous_exclude(values, exclude, message):
    with pytest.raises(ValueError, match=message):
        gradient_quantiles(values, exclude=exclude)
    # The shape the message shows does what it says: network 0 left out.
    if values.shape[0] == exclude.shape[0]:
        kept = gradient_quantiles(values, exclude=exclude.reshape(-1, 1))
        assert torch.equal(kept, gradient_quantiles(values[1:]))


def test_gradient_quantiles_beyond_torch_quantile_limit(monkeypatch):
    # torch.quantile sorts at most 2**24 values along dim ("input tensor is too large").
    n = 2**24 + 1
    values = torch.arange(n, dtype=torch.float32).flip(0).unsqueeze(1)
    assert gradient_quantiles(values)[:, 0].tolist() == [n // 4, n // 2, 3 * (n // 4)]
    # The sorting path is torch's formula: the same numbers on small inputs, NaN left out.
    monkeypatch.setattr("shortcut_lib.population._QUANTILE_LIMIT", 3)
    small = torch.rand(40, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    exclude = small > 0.7
    exclude[:, 0] = True
    q = torch.tensor([0.0, 0.1, 0.5, 0.9, 1.0], dtype=torch.float64)
    assert torch.equal(gradient_quantiles(small, q), torch.quantile(small, q, dim=0))
    expected = torch.nanquantile(small.masked_fill(exclude, math.nan), q, dim=0)
    assert torch.equal(gradient_quantiles(small, q, exclude=exclude).isnan(), expected.isnan())
    assert torch.equal(gradient_quantiles(small, q, exclude=exclude)[:, 1:], expected[:, 1:])


# --- round 2: the learner's own function fails -------------------------------------------


def test_a_residual_scale_function_that_raises():
    with pytest.raises(
        ValueError, match=r"^residual_scale\(1\) raised ZeroDivisionError: division by zero"
    ) as info:
        first_layer_gradients_by_depth([1, 3], population=4, residual_scale=lambda d: 1 / (d - 1))
    assert isinstance(info.value.__cause__, ZeroDivisionError)

    def unfinished(depth):
        raise NotImplementedError

    with pytest.raises(NotImplementedError):
        first_layer_gradients_by_depth([2], population=4, residual_scale=unfinished)


# --- round 2: a model an earlier run broke -----------------------------------------------


def test_training_from_an_absurd_loss_warns(data, pair):
    huge = copy.deepcopy(pair[0])
    with torch.no_grad():
        huge.layers[-1][0].weight.mul_(1e6)  # finite, but every wrong logit is enormous
    with pytest.warns(RuntimeWarning, match=r"^train started from a loss of .*weights are far"):
        history = train(huge, *data, 3, 1e-2)
    assert history.losses[-1] > 10 * math.log(2)
    # A fresh model: no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train(copy.deepcopy(pair[0]), *data, 3, 1e-2)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"population": -3}, ValueError, r"^population must be .*-3"),
        ({"population": 3}, ValueError, r"^population=3 but the weights hold 5 networks"),
        ({"dtype": "banana"}, TypeError, r"^dtype must be a floating-point torch.dtype .*'banana'"),
        (
            {"dtype": torch.float64},
            ValueError,
            r"^dtype=torch.float64 but the weights are torch.float32",
        ),
    ],
)
def test_options_that_contradict_explicit_weights_are_named(options, error, message):
    """They were ignored: dtype='banana' or population=-3 ran, and dtype=float64 gave float32."""
    weights = init_population_weights(4, population=5)
    with pytest.raises(error, match=message):
        population_gradient_means(4, weights=weights, **options)
    assert population_gradient_means(
        4, weights=weights, population=5, dtype=torch.float32
    ).shape == (5, 4)
