"""GELU and the activation registry against torch's own implementations."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from shortcut_lib import ACTIVATIONS, GELU, make_activation

X = torch.linspace(-10.0, 10.0, 20001)


def _formula(x: float, c: float = 0.044715) -> float:
    """0.5*x*(1+tanh(sqrt(2/pi)*(x+c*x^3))), evaluated with math, not torch."""
    return 0.5 * x * (1 + math.tanh(math.sqrt(2 / math.pi) * (x + c * x**3)))


def _formula_slope(x: float, c: float = 0.044715) -> float:
    """Its derivative, by hand: 0.5(1 + tanh u) + 0.5 x (1 - tanh^2 u) s (1 + 3 c x^2)."""
    s = math.sqrt(2 / math.pi)
    t = math.tanh(s * (x + c * x**3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * s * (1 + 3 * c * x * x)


@pytest.mark.parametrize("dtype, tolerance", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
def test_gelu_is_the_tanh_formula_on_a_grid(dtype, tolerance):
    x = torch.linspace(-10.0, 10.0, 2001, dtype=dtype)
    expected = torch.tensor([_formula(v) for v in x.double().tolist()], dtype=torch.float64)
    err = (GELU()(x).double() - expected).abs().max().item()
    assert err <= tolerance


@pytest.mark.parametrize("dtype, tolerance", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
def test_gelu_matches_torch_tanh_approximation(dtype, tolerance):
    x = X.to(dtype)
    err = (GELU()(x) - F.gelu(x, approximate="tanh")).abs().max().item()
    assert err <= tolerance


def test_gelu_is_within_the_known_bound_of_the_exact_gelu():
    x = X.double()
    err = (GELU()(x) - F.gelu(x)).abs().max().item()
    assert 4.0e-4 < err <= 4.8e-4  # the approximation is close, but not exact


def test_gelu_hand_computed_values():
    for x in (-3.0, -1.0, 0.0, 0.5, 2.0):
        expected = _formula(x)
        assert GELU()(torch.tensor(x, dtype=torch.float64)).item() == pytest.approx(expected)


def test_the_tanh_cdf_is_the_gelu_over_x_and_its_constants_are_the_published_ones():
    from shortcut_lib.activations import SQRT_2_OVER_PI, tanh_normal_cdf

    x = X.double()[X != 0]
    assert SQRT_2_OVER_PI == math.sqrt(2 / math.pi)
    # torch's tanh GELU divided by x: an independent reference for the formula's one home
    assert torch.allclose(tanh_normal_cdf(x), F.gelu(x, approximate="tanh") / x, atol=1e-12)
    # many constants at once broadcast like one: row i is the constant c[i]
    c = torch.tensor([0.004715, 0.044715], dtype=torch.float64)
    rows = tanh_normal_cdf(x, c[:, None])
    assert torch.equal(rows[1], tanh_normal_cdf(x)) and not torch.equal(rows[0], rows[1])


def test_seed_typo_constant_is_far_off_the_exact_gelu():
    x = X.double()
    typo = (GELU(0.004715)(x) - F.gelu(x)).abs().max().item()
    assert typo == pytest.approx(0.029, abs=5e-4)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_gelu_output_follows_input_dtype(dtype):
    x = torch.linspace(-3, 3, 7, dtype=dtype)
    y = GELU()(x)
    assert y.dtype == dtype
    assert torch.allclose(y.double(), F.gelu(x.double(), approximate="tanh"), atol=2e-2)


def test_gelu_output_follows_input_device():
    # The meta device stands in for an accelerator: no constant may land on the CPU.
    x = torch.empty(4, 3, device="meta")
    y = GELU()(x)
    assert y.device.type == "meta" and y.shape == (4, 3)


def test_gelu_gradient_is_the_hand_derived_slope():
    x = torch.linspace(-10.0, 10.0, 2001, dtype=torch.float64, requires_grad=True)
    (g_ours,) = torch.autograd.grad(GELU()(x).sum(), x)
    expected = torch.tensor([_formula_slope(v) for v in x.tolist()], dtype=torch.float64)
    assert torch.allclose(g_ours, expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    "name, reference",
    [
        ("gelu", lambda x: F.gelu(x, approximate="tanh")),
        ("gelu_exact", F.gelu),
        ("relu", F.relu),
        ("tanh", torch.tanh),
        ("sigmoid", torch.sigmoid),
        ("identity", lambda x: x),
    ],
)
def test_registry_names_build_the_right_function(name, reference):
    x = torch.linspace(-4, 4, 101, dtype=torch.float64)
    assert torch.allclose(make_activation(name)(x), reference(x), atol=1e-12)


def test_registry_lists_exactly_the_documented_names():
    assert list(ACTIVATIONS) == ["gelu", "gelu_exact", "relu", "tanh", "sigmoid", "identity"]


def test_registry_builds_a_fresh_module_each_time():
    assert make_activation("gelu") is not make_activation("gelu")


def test_callable_factories_are_accepted():
    assert isinstance(make_activation(nn.ReLU), nn.ReLU)
    module = make_activation(lambda: GELU(0.004715))
    assert isinstance(module, GELU) and module.cubic_coefficient == 0.004715


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"'swish'.*'gelu', 'gelu_exact', 'relu'"):
        make_activation("swish")


def test_module_instance_is_rejected_with_a_hint():
    with pytest.raises(TypeError, match=r"module instance.*pass its class"):
        make_activation(GELU())


def test_non_callable_is_rejected():
    with pytest.raises(TypeError, match=r"got 3 \(int\)"):
        make_activation(3)


def test_factory_returning_a_non_module_is_rejected():
    with pytest.raises(TypeError, match=r"expected an nn.Module"):
        make_activation(lambda: torch.tanh)


@pytest.mark.parametrize("bad", ["0.04", True, None])
def test_gelu_rejects_a_non_numeric_coefficient(bad):
    with pytest.raises(TypeError, match="cubic_coefficient"):
        GELU(bad)


def test_gelu_rejects_a_non_finite_coefficient():
    with pytest.raises(ValueError, match="finite"):
        GELU(float("nan"))
