"""The batched population engine against independent references.

References: ``layer_gradient_means`` on ordinary ``ExampleDeepNeuralNetwork``
models (the equivalence), ``nn.Linear``'s own initialisation, and small
hand-written ``nn.Module`` blocks for pre-LayerNorm and the residual scale.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from shortcut_lib import ACTIVATIONS, ExampleDeepNeuralNetwork, layer_gradient_means
from shortcut_lib.architecture import deep_layer_sizes
from shortcut_lib.population import (
    dead_network_causes,
    dead_networks,
    first_layer_gradients_by_depth,
    gradient_quantiles,
    init_population_weights,
    population_gradient_means,
    population_input,
    stack_model_weights,
)

BOOK_X = torch.tensor([[1.0, 0.0, -1.0]])


def models_and_reference(depth, width, activation, shortcut, n_models=6, x=None):
    models = []
    for seed in range(n_models):
        torch.manual_seed(1000 + seed)
        sizes = deep_layer_sizes(depth, width)
        models.append(ExampleDeepNeuralNetwork(sizes, use_shortcut=shortcut, activation=activation))
    x = population_input(width) if x is None else x
    reference = torch.tensor([list(layer_gradient_means(m, x).values()) for m in models])
    return models, reference


# --- equivalence with the one-model-at-a-time measurement ------------------------------


@pytest.mark.parametrize(
    "activation", ["gelu", "gelu_exact", "relu", "tanh", "sigmoid", "identity"]
)
@pytest.mark.parametrize("shortcut", [False, True])
@pytest.mark.parametrize("depth", [5, 8])
def test_equals_layer_gradient_means_on_copied_weights(activation, shortcut, depth):
    models, reference = models_and_reference(depth, 3, activation, shortcut)
    result = population_gradient_means(
        depth, activation=activation, shortcut=shortcut, weights=stack_model_weights(models)
    )
    assert result.shape == (len(models), depth)
    assert (reference > 0).any()  # the comparison means something
    torch.testing.assert_close(result, reference, rtol=1e-5, atol=0)


@pytest.mark.parametrize("method", ["manual", "autograd"])
def test_book_network_reproduces_the_book_table(method):
    # make_model_pair's recipe: torch.manual_seed(123) before each model.
    tables = {}
    for shortcut in (False, True):
        torch.manual_seed(123)
        model = ExampleDeepNeuralNetwork([3, 3, 3, 3, 3, 1], use_shortcut=shortcut)
        weights = stack_model_weights([model])
        tables[shortcut] = population_gradient_means(
            5, shortcut=shortcut, weights=weights, x=BOOK_X, method=method
        )[0]
    # The book's printed values (chapter 4), to the 4 digits that are stable.
    book_plain = [2.0174e-4, 1.2011e-4, 7.1520e-4, 1.3989e-3, 5.0496e-3]
    book_shortcut = [0.22170, 0.20694, 0.32897, 0.26657, 1.32585]
    torch.testing.assert_close(tables[False], torch.tensor(book_plain), rtol=1e-4, atol=0)
    torch.testing.assert_close(tables[True], torch.tensor(book_shortcut), rtol=1e-4, atol=0)


@pytest.mark.parametrize("width", [2, 5])
def test_equivalence_at_other_widths_and_batched_inputs(width):
    x = torch.linspace(-2.0, 2.0, 4 * width).reshape(4, width)
    models, reference = models_and_reference(6, width, "gelu", True, x=x)
    result = population_gradient_means(6, width, weights=stack_model_weights(models), x=x)
    torch.testing.assert_close(result, reference, rtol=1e-5, atol=0)


def test_depth_one_is_just_the_output_layer():
    models, reference = models_and_reference(1, 3, "tanh", True)
    result = population_gradient_means(1, weights=stack_model_weights(models), activation="tanh")
    torch.testing.assert_close(result, reference, rtol=1e-5, atol=0)


def test_manual_and_autograd_agree_deep_with_every_option():
    for pre_ln, scale in [(False, 1.0), (True, 1.0), (False, 0.3), (True, 0.1)]:
        options = {"pre_layer_norm": pre_ln, "residual_scale": scale, "dtype": torch.float64}
        manual = population_gradient_means(40, population=16, **options)
        auto = population_gradient_means(40, population=16, method="autograd", **options)
        torch.testing.assert_close(manual, auto, rtol=1e-9, atol=0)


def test_default_input_is_the_books_at_width_3():
    torch.testing.assert_close(population_input(3), BOOK_X)
    assert population_input(5).tolist() == [[1.0, 0.5, 0.0, -0.5, -1.0]]
    assert deep_layer_sizes(5, 3) == [3, 3, 3, 3, 3, 1]


def test_the_engine_knows_every_registered_activation():
    # The hand-written engine has its own forward and derivative per name: a name added to
    # ACTIVATIONS without them would be refused by population_gradient_means.
    from shortcut_lib.population_backward import DERIVATIVE, FORWARD

    assert set(FORWARD) == set(DERIVATIVE) == set(ACTIVATIONS)


# --- pre-LayerNorm and the residual scale against a hand-written module -----------------


class ReferenceBlockNet(nn.Module):
    """x + alpha * f(Linear(LN(x))) per square layer, f(Linear(LN(x))) for the output layer."""

    def __init__(self, depth, width, activation, shortcut, pre_ln, alpha):
        super().__init__()
        sizes = deep_layer_sizes(depth, width)
        self.linears = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(sizes, sizes[1:], strict=False)
        )
        self.f = ACTIVATIONS[activation]()
        self.shortcut, self.pre_ln, self.alpha = shortcut, pre_ln, alpha

    def forward(self, x):
        for i, linear in enumerate(self.linears):
            u = F.layer_norm(x, x.shape[-1:], eps=1e-5) if self.pre_ln else x
            out = self.f(linear(u))
            is_square = i < len(self.linears) - 1
            x = x + self.alpha * out if self.shortcut and is_square else out
        return x


@pytest.mark.parametrize(
    "shortcut, pre_ln, alpha",
    [(True, True, 1.0), (True, False, 0.25), (True, True, 0.5), (False, True, 1.0)],
)
def test_pre_layer_norm_and_residual_scale_follow_the_formula(shortcut, pre_ln, alpha):
    depth, width = 7, 4
    refs = []
    for seed in range(5):
        torch.manual_seed(seed)
        refs.append(ReferenceBlockNet(depth, width, "gelu", shortcut, pre_ln, alpha))
    x = population_input(width)
    expected = []
    for ref in refs:
        ref.zero_grad()
        F.mse_loss(ref(x), torch.zeros(1, 1)).backward()
        expected.append([lin.weight.grad.abs().mean().item() for lin in ref.linears])
    weights = [
        (
            torch.stack([r.linears[i].weight.detach() for r in refs]),
            torch.stack([r.linears[i].bias.detach() for r in refs]),
        )
        for i in range(depth)
    ]
    result = population_gradient_means(
        depth,
        width,
        shortcut=shortcut,
        pre_layer_norm=pre_ln,
        residual_scale=alpha,
        weights=weights,
    )
    # float32 both ways, summed in different orders: AVX-512 kernels differ by up to 2.3e-5.
    torch.testing.assert_close(result, torch.tensor(expected), rtol=1e-4, atol=0)


def test_pre_layer_norm_stops_the_explosion():
    plain = population_gradient_means(60, population=32, dtype=torch.float64)
    normed = population_gradient_means(60, population=32, pre_layer_norm=True, dtype=torch.float64)
    live = plain[~dead_networks(plain), 0]
    assert live.median() > 1e4  # the unnormalised shortcut network explodes
    assert normed[:, 0].median() < 1.0 and not dead_networks(normed).any()


# --- initialisation ---------------------------------------------------------------------


def test_initialisation_matches_nn_linear_distribution():
    width, population = 4, 4000
    weights = init_population_weights(3, width, population, seed=7)
    samples = torch.cat([torch.cat([w.flatten(), b.flatten()]) for w, b in weights])
    bound = 1 / math.sqrt(width)
    # nn.Linear's own draws as the reference sample.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # a fixed sample: the sampling-error bounds below are then fixed too
        linears = [nn.Linear(width, width) for _ in range(2000)]
    reference = torch.cat([lin.weight.detach().flatten() for lin in linears])
    assert samples.abs().max() <= bound and reference.abs().max() <= bound
    assert samples.max() > 0.99 * bound and samples.min() < -0.99 * bound
    # Mean 0 and variance bound^2 / 3 of U(-bound, bound), within sampling error.
    for sample in (samples, reference):
        assert abs(sample.mean().item()) < 0.01 * bound
        assert sample.var().item() == pytest.approx(bound**2 / 3, rel=0.02)
    # Deciles of the two samples agree.
    q = torch.linspace(0.1, 0.9, 9)
    torch.testing.assert_close(
        torch.quantile(samples, q), torch.quantile(reference, q), atol=0.01 * bound, rtol=0
    )


def test_shapes_and_output_layer():
    weights = init_population_weights(5, 3, 10)
    assert [tuple(w.shape) for w, _ in weights] == [(10, 3, 3)] * 4 + [(10, 1, 3)]
    assert [tuple(b.shape) for _, b in weights] == [(10, 3)] * 4 + [(10, 1)]


def test_reproducible_and_global_rng_untouched():
    torch.manual_seed(42)
    before = torch.random.get_rng_state()
    a = population_gradient_means(20, population=8, seed=3)
    b = population_gradient_means(20, population=8, seed=3)
    c = population_gradient_means(20, population=8, seed=4)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_smaller_population_is_a_prefix_of_a_larger_one():
    small = population_gradient_means(12, population=8, seed=5)
    large = population_gradient_means(12, population=32, seed=5)
    torch.testing.assert_close(small, large[:8], rtol=1e-6, atol=0)


def test_dtype_follows_the_request():
    assert population_gradient_means(4, population=2, dtype=torch.float64).dtype == torch.float64
    assert population_gradient_means(4, population=2).dtype == torch.float32


# --- summaries ------------------------------------------------------------------------


def test_depth_sweep_and_quantiles():
    sweep = first_layer_gradients_by_depth([1, 5, 20], population=16, shortcut=False)
    assert sweep.first_layer.shape == (3, 16) and sweep.dead.shape == (3, 16)
    assert sweep.inside_dead.shape == (3, 16)
    relu = first_layer_gradients_by_depth([10], population=32, activation="relu", shortcut=False)
    dead = dead_network_causes(10, population=32, activation="relu", shortcut=False)
    assert torch.equal(relu.dead[0], dead.output) and torch.equal(relu.inside_dead[0], dead.inside)
    assert sweep.depths.tolist() == [1, 5, 20]
    direct = population_gradient_means(20, population=16, shortcut=False)[:, 0]
    torch.testing.assert_close(sweep.first_layer[2], direct)
    median = gradient_quantiles(sweep.first_layer, dim=1)[1]
    assert median[0] > median[1] > median[2]  # plain GELU: vanishing with depth
    scaled = first_layer_gradients_by_depth([4, 9], population=4, residual_scale=lambda d: d**-0.5)
    torch.testing.assert_close(
        scaled.first_layer[1],
        population_gradient_means(9, population=4, residual_scale=1 / 3)[:, 0],
    )


def test_quantiles_against_a_hand_computed_case():
    values = torch.tensor([[1.0], [2.0], [3.0], [4.0], [5.0]])
    assert gradient_quantiles(values)[:, 0].tolist() == [2.0, 3.0, 4.0]
    exclude = torch.tensor([True, False, False, False, True])[:, None]
    assert gradient_quantiles(values, exclude=exclude)[:, 0].tolist() == [2.5, 3.0, 3.5]
    assert gradient_quantiles(values, exclude=torch.ones(5, 1, dtype=torch.bool)).isnan().all()


def test_dead_networks_are_those_with_zero_output_gradient():
    means = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    assert dead_networks(means).tolist() == [True, False, True]


def direct_dead_check(model, x):
    """(dead at the output, dead inside) of one model, by autograd on the model itself."""
    captured = {}
    output_linear = model.layers[-1][0]
    handle = output_linear.register_forward_hook(lambda m, i, z: captured.setdefault("z", z))
    model.zero_grad()
    try:
        z_out = None

        def keep(grad):
            nonlocal z_out
            z_out = grad

        y = model(x)
        captured["z"].register_hook(keep)
        y.pow(2).mean().backward()
    finally:
        handle.remove()
    output_dead = bool((z_out == 0).all())
    first_zero = bool((model.layers[0][0].weight.grad == 0).all())
    return output_dead, (not output_dead) and first_zero


@pytest.mark.parametrize("shortcut", [False, True])
@pytest.mark.parametrize("method", ["manual", "autograd"])
def test_dead_network_causes_match_a_direct_check_on_copied_weights(shortcut, method):
    models = []
    for seed in range(48):
        torch.manual_seed(seed)
        models.append(ExampleDeepNeuralNetwork([3] * 8 + [1], shortcut, activation="relu"))
    expected = [direct_dead_check(m, BOOK_X) for m in models]
    means, dead = population_gradient_means(
        8,
        activation="relu",
        shortcut=shortcut,
        weights=stack_model_weights(models),
        method=method,
        return_dead=True,
    )
    assert dead.output.tolist() == [o for o, _ in expected]
    assert dead.inside.tolist() == [i for _, i in expected]
    assert dead.output.any() and dead.inside.any() and not (dead.output | dead.inside).all()
    # The two causes never overlap and together are "first-layer gradient exactly 0".
    assert not (dead.output & dead.inside).any()
    assert torch.equal(dead.output | dead.inside, means[:, 0] == 0)
    torch.testing.assert_close(
        means,
        population_gradient_means(
            8,
            activation="relu",
            shortcut=shortcut,
            weights=stack_model_weights(models),
            method=method,
        ),
    )


def test_means_alone_count_a_dead_last_hidden_layer_as_dead_at_the_output():
    # Last hidden layer outputs all zeros (bias -1, weights 0), output bias +1: the output
    # unit is alive (its bias still learns) but every weight gradient is 0.
    weights = init_population_weights(3, 3, 1)
    weights[1] = (torch.zeros(1, 3, 3), -torch.ones(1, 3))
    weights[2] = (weights[2][0], torch.ones(1, 1))
    means, dead = population_gradient_means(
        3, activation="relu", shortcut=False, weights=weights, return_dead=True
    )
    assert dead_networks(means).tolist() == [True]
    assert dead.output.tolist() == [False] and dead.inside.tolist() == [True]


def test_dead_network_causes_is_the_second_half_of_return_dead():
    options = {"activation": "relu", "shortcut": False, "population": 32, "seed": 2}
    _, dead = population_gradient_means(12, return_dead=True, **options)
    again = dead_network_causes(12, **options)
    assert torch.equal(dead.output, again.output) and torch.equal(dead.inside, again.inside)


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"depth": 0}, ValueError, "depth must be a positive integer, got 0"),
        ({"depth": 2.0}, TypeError, "depth must be a positive integer, got 2.0"),
        ({"depth": 3, "width": True}, TypeError, "width must be a positive integer, got True"),
        ({"depth": 3, "population": -1}, ValueError, "population must be a positive integer"),
        ({"depth": 3, "activation": "swish"}, ValueError, "got 'swish'"),
        ({"depth": 3, "activation": nn.ReLU}, ValueError, "registry names only"),
        ({"depth": 3, "shortcut": 1}, TypeError, "shortcut must be True or False, got 1"),
        ({"depth": 3, "pre_layer_norm": "yes"}, TypeError, "pre_layer_norm must be True or False"),
        ({"depth": 3, "residual_scale": float("nan")}, ValueError, "residual_scale must be finite"),
        ({"depth": 3, "residual_scale": "1"}, TypeError, "residual_scale must be a real number"),
        (
            {"depth": 3, "shortcut": False, "residual_scale": 0.5},
            ValueError,
            "residual_scale=0.5 scales the shortcut branch",
        ),
        ({"depth": 3, "width": 1, "pre_layer_norm": True}, ValueError, "width=1"),
        ({"depth": 3, "method": "fast"}, ValueError, "method must be 'manual' or 'autograd'"),
        ({"depth": 3, "x": torch.zeros(1, 4)}, ValueError, "got shape (1, 4)"),
        ({"depth": 3, "x": [[1.0, 0.0, -1.0]]}, TypeError, "x must be a torch.Tensor"),
        ({"depth": 3, "x": torch.tensor([[1.0, float("inf"), 0.0]])}, ValueError, "finite"),
        ({"depth": 3, "x": torch.zeros(1, 3, dtype=torch.float64)}, TypeError, "dtype"),
        ({"depth": 3, "population": 4, "x": torch.zeros(5, 1, 3)}, ValueError, "has 5 networks"),
        ({"depth": 3, "seed": 1.5}, TypeError, "seed must be an integer, got 1.5"),
        ({"depth": 3, "return_dead": 1}, TypeError, "return_dead must be True or False"),
    ],
)
def test_bad_input_raises_a_clear_error(kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        population_gradient_means(**kwargs)


def test_bad_weights_raise_clear_errors():
    good = init_population_weights(3, 3, 2)
    with pytest.raises(ValueError, match="list of 4 .* got 3"):
        population_gradient_means(4, weights=good)
    bad = [good[0], (torch.zeros(2, 3, 4), good[1][1]), good[2]]
    with pytest.raises(ValueError, match=r"weights\[1\] has shapes W \(2, 3, 4\)"):
        population_gradient_means(3, weights=bad)
    with pytest.raises(TypeError, match="weights\\[0\\] must be a \\(W, b\\) pair"):
        population_gradient_means(3, weights=[torch.zeros(2, 3, 3)] * 3)
    with pytest.raises(ValueError, match="models\\[1\\] has weight shapes"):
        stack_model_weights(
            [ExampleDeepNeuralNetwork([3, 3, 1], False), ExampleDeepNeuralNetwork([3, 4, 1], False)]
        )
    with pytest.raises(TypeError, match="non-empty list"):
        stack_model_weights(ExampleDeepNeuralNetwork([3, 3, 1], False))
    with pytest.raises(TypeError, match="takes depths="):
        first_layer_gradients_by_depth([3], depth=3)
    with pytest.raises(ValueError, match="quantiles must lie in"):
        gradient_quantiles(torch.ones(3, 2), quantiles=(0.5, 1.5))
