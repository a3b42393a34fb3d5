"""Lessons 01 (GELU) and 02 (the deep MLP): library helpers, figures and explorers.

References are independent of the code under test: torch.nn.functional.gelu (exact and
tanh), math.erf, parameter counts by hand, the networks' own parameters, and the
definition of an affine map. The explorers are driven without a browser by setting
slider values, as a learner would.
"""

import io
import math
import re
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from shortcut_lib import GELU, ExampleDeepNeuralNetwork, make_model_pair
from shortcut_lib.approximation import (
    approximation_error,
    max_approximation_error,
    max_error_vs_coefficient,
    minimax_cubic_coefficient,
    value_and_derivative,
    x_grid,
)
from shortcut_lib.architecture import (
    architecture_summary,
    count_parameters,
    deep_layer_sizes,
    linearity_gap,
    parameter_count,
    shortcut_mask,
)
from shortcut_lib.exercises import (
    check_01_gelu_test,
    check_01_sigmoid_gelu,
    check_02_collapsed,
    check_02_wider_net,
)
from shortcut_lib.plots import (
    COLORS,
    figure_to_png,
    plot_activations,
    plot_coefficient_scan,
    plot_gelu_error,
    plot_gelu_explorer_view,
    plot_network_diagram,
)
from shortcut_lib.widgets import Explorer, architecture_explorer, gelu_explorer

BOOK_SIZES = [3, 3, 3, 3, 3, 1]
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
TYPO = 0.004715


def exact_gelu_by_math(x: float) -> float:
    return x * 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


# --- approximation: the tanh GELU's error ----------------------------------------


def test_x_grid_covers_the_range_in_float64():
    x = x_grid((-2.0, 3.0), 11)
    assert x.dtype == torch.float64
    assert x[0].item() == -2.0 and x[-1].item() == 3.0 and x.numel() == 11


@pytest.mark.parametrize(
    "x_range, num_points, error, match",
    [
        ((1.0, 1.0), 10, ValueError, r"low < high, got \(1.0, 1.0\)"),
        ((2.0, -2.0), 10, ValueError, "low < high"),
        ((0.0, math.inf), 10, ValueError, "x_range\\[1\\] must be finite"),
        ((0.0, 1.0), 1, ValueError, "at least 2, got 1"),
        ((0.0, 1.0), 2.5, TypeError, "num_points must be an integer"),
        ("ab", 10, TypeError, "pair"),
        ((0.0,), 10, TypeError, "pair"),
    ],
)
def test_x_grid_rejects_bad_ranges_clearly(x_range, num_points, error, match):
    with pytest.raises(error, match=match):
        x_grid(x_range, num_points)


def test_approximation_error_against_torch_and_math():
    x = x_grid((-10.0, 10.0), 4001)
    error = approximation_error(x, 0.044715)
    reference = F.gelu(x, approximate="tanh") - F.gelu(x)
    assert torch.allclose(error, reference, atol=1e-13)
    # The exact GELU by math.erf at a few points, independently of torch.
    for value in (-2.7, -1.0, 0.5, 2.0):
        tanh_gelu = F.gelu(torch.tensor(value, dtype=torch.float64), approximate="tanh").item()
        point = approximation_error(torch.tensor([value], dtype=torch.float64), 0.044715).item()
        assert point == pytest.approx(tanh_gelu - exact_gelu_by_math(value), abs=1e-13)


def test_cdf_error_is_the_gelu_error_divided_by_x():
    x = x_grid((0.5, 6.0), 101)
    cdf = approximation_error(x, 0.03, target="cdf")
    assert torch.allclose(cdf * x, approximation_error(x, 0.03), atol=1e-14)


def test_max_error_of_the_published_constant_and_of_the_typo():
    assert max_approximation_error(0.044715) == pytest.approx(4.73e-4, rel=1e-2)
    assert max_approximation_error(TYPO) == pytest.approx(0.0291, rel=1e-2)
    # The typo is ~60x worse: the reason the lesson tells the story.
    assert max_approximation_error(TYPO) > 50 * max_approximation_error(0.044715)


def test_max_error_vs_coefficient_matches_one_at_a_time():
    coefficients = [0.0, TYPO, 0.03, 0.044715, 0.08]
    scan = max_error_vs_coefficient(coefficients, (-5.0, 5.0), 2001)
    one_by_one = [max_approximation_error(c, (-5.0, 5.0), 2001) for c in coefficients]
    assert scan.tolist() == pytest.approx(one_by_one, rel=1e-12)
    assert int(scan.argmin()) == 3


@pytest.mark.parametrize(
    "coefficients, match", [([], "non-empty"), ([[0.1]], "1-D"), ([0.1, math.nan], "finite")]
)
def test_max_error_vs_coefficient_rejects_bad_coefficients(coefficients, match):
    with pytest.raises(ValueError, match=match):
        max_error_vs_coefficient(coefficients)


def test_published_constant_is_the_minimax_for_the_cdf_not_for_the_gelu():
    cdf_best = minimax_cubic_coefficient(target="cdf")
    gelu_best = minimax_cubic_coefficient(target="gelu")
    assert round(cdf_best, 6) == 0.044715
    assert gelu_best == pytest.approx(0.04438, abs=1e-5)
    # The minimum really is a minimum: both neighbours are worse.
    for best, target in ((cdf_best, "cdf"), (gelu_best, "gelu")):
        at_best = max_approximation_error(best, target=target, num_points=8001)
        for step in (-2e-4, 2e-4):
            neighbour = max_approximation_error(best + step, target=target, num_points=8001)
            assert neighbour > at_best


def test_bad_coefficient_and_target_give_clear_errors():
    x = x_grid()
    with pytest.raises(TypeError, match="cubic_coefficient must be a real number, got '0.04'"):
        approximation_error(x, "0.04")
    with pytest.raises(ValueError, match="cubic_coefficient must be finite, got inf"):
        approximation_error(x, math.inf)
    with pytest.raises(ValueError, match="target must be one of .*got 'erf'"):
        approximation_error(x, 0.04, target="erf")
    with pytest.raises(TypeError, match="floating-point"):
        approximation_error(torch.arange(3), 0.04)
    with pytest.raises(ValueError, match="bracket must have low < high"):
        minimax_cubic_coefficient(bracket=(0.1, 0.0))


def test_value_and_derivative_against_hand_derivatives():
    x = torch.linspace(-4.0, 4.0, 81, dtype=torch.float64)
    y, dy = value_and_derivative(torch.tanh, x)
    assert torch.allclose(y, torch.tanh(x))
    assert torch.allclose(dy, 1.0 - torch.tanh(x) ** 2, atol=1e-14)
    # Exact GELU: d/dx x·Φ(x) = Φ(x) + x·φ(x).
    _, dgelu = value_and_derivative(F.gelu, x)
    cdf = 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
    pdf = torch.exp(-0.5 * x**2) / math.sqrt(2.0 * math.pi)
    assert torch.allclose(dgelu, cdf + x * pdf, atol=1e-12)
    assert not y.requires_grad and not dy.requires_grad


def test_value_and_derivative_rejects_non_elementwise_functions():
    with pytest.raises(ValueError, match="elementwise"):
        value_and_derivative(lambda t: t.sum(), torch.ones(3))
    with pytest.raises(TypeError, match="callable"):
        value_and_derivative(3, torch.ones(3))


# --- architecture: the deep MLP's shape ------------------------------------------


def test_deep_layer_sizes_reproduce_the_book():
    assert deep_layer_sizes(5, 3) == BOOK_SIZES
    assert deep_layer_sizes(3, 8, in_features=2, out_features=4) == [2, 8, 8, 4]
    assert deep_layer_sizes(1, 5) == [5, 1]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"depth": 0, "width": 3}, ValueError, "depth must be a positive integer, got 0"),
        ({"depth": 2.0, "width": 3}, TypeError, "depth must be a positive integer, got 2.0"),
        ({"depth": 2, "width": True}, TypeError, "width must be a positive integer, got True"),
        ({"depth": 2, "width": 3, "in_features": -1}, ValueError, "in_features"),
    ],
)
def test_deep_layer_sizes_rejects_bad_values(kwargs, error, match):
    with pytest.raises(error, match=match):
        deep_layer_sizes(**kwargs)


def test_shortcut_mask_agrees_with_the_model():
    for sizes in (BOOK_SIZES, [2, 3, 3, 1], [4, 4], [3, 5, 5, 5, 2]):
        model = ExampleDeepNeuralNetwork(sizes, use_shortcut=True)
        assert shortcut_mask(sizes) == model.shortcut_mask
        assert shortcut_mask(sizes, use_shortcut=False) == [False] * (len(sizes) - 1)
    assert shortcut_mask(BOOK_SIZES) == [True, True, True, True, False]
    with pytest.raises(TypeError, match="use_shortcut must be True or False, got 1"):
        shortcut_mask(BOOK_SIZES, use_shortcut=1)


def test_parameter_count_by_hand_and_by_counting_tensors():
    # Four 3->3 layers (9 weights + 3 biases) and one 3->1 layer (3 + 1).
    assert parameter_count(BOOK_SIZES) == 4 * 12 + 4 == 52
    assert parameter_count([2, 8, 1]) == (16 + 8) + (8 + 1)
    for sizes in (BOOK_SIZES, [2, 8, 8, 1], [7, 1]):
        plain, shortcut = make_model_pair(sizes)
        assert count_parameters(plain) == count_parameters(shortcut) == parameter_count(sizes)


def test_count_parameters_trainable_only_and_bad_input():
    model = nn.Linear(3, 2)
    model.bias.requires_grad_(False)
    assert count_parameters(model) == 8
    assert count_parameters(model, trainable_only=True) == 6
    with pytest.raises(TypeError, match=r"model must be a torch.nn.Module, got \[.*\] \(list\)"):
        count_parameters([model])


def test_architecture_summary():
    summary = architecture_summary(BOOK_SIZES)
    assert (summary.depth, summary.parameters, summary.shortcuts) == (5, 52, 4)
    assert str(summary) == (
        "layer_sizes=[3, 3, 3, 3, 3, 1]: 5 layers, 52 parameters, 4 of 5 layers with a shortcut"
    )
    assert "1 layer, 3 parameters, 0 of 1 layer" in str(architecture_summary([2, 1]))
    with pytest.raises(ValueError, match="at least two sizes"):
        architecture_summary([3])


def seed_002_network(sizes):
    """Seed 002's mistake: GELU() passed as nn.Linear's third argument, ``bias``."""
    torch.manual_seed(123)
    return nn.Sequential(
        *[
            nn.Sequential(nn.Linear(a, b, GELU()))
            for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        ]
    )


def test_seed_002_network_is_affine_and_the_real_one_is_not():
    x = torch.tensor([[1.0, 0.0, -1.0]])
    buggy = seed_002_network(BOOK_SIZES)
    assert all(len(block) == 1 for block in buggy)  # no activation module at all
    assert buggy[0][0].bias is not None  # GELU() was truthy: bias=True
    assert linearity_gap(buggy, x) < 1e-6
    assert linearity_gap(buggy, 3 * x, scale=-0.5) < 1e-6
    plain, shortcut = make_model_pair(BOOK_SIZES)
    # Same weights (same seed), but with GELU between the layers: clearly not affine.
    assert torch.equal(plain.layers[0][0].weight, buggy[0][0].weight)
    assert linearity_gap(plain, x) > 1e-4
    assert linearity_gap(shortcut, x) > 0.1


def test_linearity_gap_of_an_explicit_affine_map_and_bad_scales():
    affine = nn.Linear(4, 2).double()
    x = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert linearity_gap(affine, x) < 1e-12
    assert linearity_gap(torch.relu, torch.tensor([-1.0, 2.0])) == pytest.approx(0.0)
    assert linearity_gap(torch.relu, torch.tensor([-1.0, 2.0]), scale=-1.0) == pytest.approx(2.0)
    with pytest.raises(ValueError, match=r"scale must differ from 0 and 1 .*got 1"):
        linearity_gap(affine, x, scale=1)
    with pytest.raises(ValueError, match="scale must be finite, got nan"):
        linearity_gap(affine, x, scale=math.nan)


# --- figures -----------------------------------------------------------------------


def line_by_label(ax, label):
    matches = [line for line in ax.get_lines() if line.get_label() == label]
    assert len(matches) == 1, [line.get_label() for line in ax.get_lines()]
    return matches[0]


def test_plot_activations_draws_the_data_and_its_derivatives():
    x = torch.linspace(-4.0, 4.0, 201, dtype=torch.float64)
    values, derivatives = {}, {}
    for name, function in (("gelu_exact", F.gelu), ("gelu", GELU()), ("relu", torch.relu)):
        values[name], derivatives[name] = value_and_derivative(function, x)
    figure = plot_activations(x, values, derivatives)
    left, right = figure.axes
    tanh_line = line_by_label(left, "tanh GELU (c = 0.044715)")
    assert np.allclose(tanh_line.get_ydata(), F.gelu(x, approximate="tanh").numpy())
    assert np.allclose(line_by_label(left, "exact GELU  x·Φ(x)").get_ydata(), F.gelu(x).numpy())
    relu_slope = line_by_label(right, "ReLU").get_ydata()
    assert set(np.unique(relu_slope)) == {0.0, 1.0}
    assert line_by_label(left, "ReLU").get_color().lower() == COLORS["relu"].lower()
    assert left.get_xlabel() == "x" and "autograd" in right.get_ylabel()
    assert len(plot_activations(x, values).axes) == 1


def test_plot_activations_rejects_mismatched_data():
    with pytest.raises(ValueError, match="curve 'relu' has 3 values but x has 4"):
        plot_activations([0, 1, 2, 3], {"relu": [0, 1, 2]})
    with pytest.raises(ValueError, match="at least one curve"):
        plot_activations([0, 1], {})


def test_plot_gelu_error_is_log_scaled_with_the_true_maxima():
    x = x_grid((-10.0, 10.0), 4001)
    errors = {0.044715: approximation_error(x, 0.044715), TYPO: approximation_error(x, TYPO)}
    figure = plot_gelu_error(x, errors)
    (ax,) = figure.axes
    assert ax.get_yscale() == "log"
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert labels == ["c = 0.044715: max 0.00047", "c = 0.004715: max 0.029"]
    good = line_by_label(ax, "c = 0.044715: max 0.00047")
    expected = (F.gelu(x, approximate="tanh") - F.gelu(x)).abs().clamp_min(1e-8).numpy()
    assert np.allclose(good.get_ydata(), expected, rtol=1e-9)
    assert good.get_color().lower() == COLORS["gelu"].lower()
    assert line_by_label(ax, "c = 0.004715: max 0.029").get_color().lower() == (
        COLORS["typo"].lower()
    )


def test_plot_coefficient_scan_marks_the_current_value():
    coefficients = torch.linspace(0.0, 0.1, 101, dtype=torch.float64)
    scan = {"gelu": max_error_vs_coefficient(coefficients)}
    figure = plot_coefficient_scan(coefficients, scan, TYPO, max_approximation_error(TYPO))
    (ax,) = figure.axes
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "cubic coefficient c"
    dot = line_by_label(ax, "c = 0.004715")
    assert dot.get_xdata()[0] == TYPO
    assert dot.get_ydata()[0] == pytest.approx(0.0291, rel=1e-2)
    assert any("0.044715" in text.get_text() for text in ax.texts)
    with pytest.raises(ValueError, match="has 2 values but there are 101 coefficients"):
        plot_coefficient_scan(coefficients, {"gelu": [1.0, 2.0]})


def test_plot_gelu_explorer_view_reuses_its_figure():
    x = x_grid((-3.0, 3.0), 301)
    coefficients = torch.linspace(0.0, 0.1, 51, dtype=torch.float64)
    scan = {"gelu": max_error_vs_coefficient(coefficients, (-3.0, 3.0))}
    figure = plot_gelu_explorer_view(x, F.gelu(x), GELU(0.03)(x), 0.03, coefficients, scan)
    again = plot_gelu_explorer_view(
        x, F.gelu(x), GELU(0.05)(x), 0.05, coefficients, scan, figure=figure
    )
    assert again is figure and len(figure.axes) == 3
    curve = line_by_label(figure.axes[0], "tanh, c = 0.05")
    assert np.allclose(curve.get_ydata(), GELU(0.05)(x).numpy())
    assert figure.axes[1].get_yscale() == "log" and figure.axes[2].get_yscale() == "log"
    with pytest.raises(ValueError, match="same length"):
        plot_gelu_explorer_view(x, F.gelu(x)[:-1], GELU()(x), 0.04, coefficients, scan)


def shortcut_arcs(ax):
    """Skip arcs drawn in the shortcut colour (the diagram's blue FancyArrowPatches)."""
    blue = COLORS["shortcut"].lower()
    from matplotlib.colors import to_hex
    from matplotlib.patches import FancyArrowPatch

    return [
        p
        for p in ax.patches
        if isinstance(p, FancyArrowPatch) and to_hex(p.get_edgecolor()) == blue
    ]


def test_plot_network_diagram_draws_shortcuts_only_where_shapes_match():
    figure = plot_network_diagram(BOOK_SIZES, title="the book's network")
    plain_ax, shortcut_ax = figure.axes
    assert plain_ax.get_title(loc="left").startswith("plain")
    assert "4 of 5 layers" in shortcut_ax.get_title(loc="left")
    assert figure.get_suptitle() == "the book's network"
    assert len(shortcut_arcs(plain_ax)) == 0
    assert len(shortcut_arcs(shortcut_ax)) == 4
    texts = [t.get_text() for t in shortcut_ax.texts]
    assert texts.count("Linear\n3→3\nGELU") == 4 and "Linear\n3→1\nGELU" in texts
    assert "no shortcut:\n3 ≠ 1" in texts
    assert [t for t in texts if t.endswith("par.")] == ["12 par."] * 4 + ["4 par."]
    assert "no shortcut" not in " ".join(t.get_text() for t in plain_ax.texts)
    # Input narrower than the hidden layers: the first shortcut goes too.
    other = plot_network_diagram([2, 3, 3, 1], variants=(True,))
    assert len(other.axes) == 1 and len(shortcut_arcs(other.axes[0])) == 1


def test_plot_network_diagram_rejects_bad_input():
    with pytest.raises(ValueError, match="layer_sizes"):
        plot_network_diagram([3])
    with pytest.raises(ValueError, match="variants"):
        plot_network_diagram(BOOK_SIZES, variants=("plain",))
    figure = plot_network_diagram(BOOK_SIZES)
    with pytest.raises(ValueError, match="figure has 2 axes but 1 variants"):
        plot_network_diagram(BOOK_SIZES, variants=(True,), figure=figure)


# --- explorers, driven without a browser --------------------------------------------


def test_gelu_explorer_defaults():
    explorer = gelu_explorer()
    assert isinstance(explorer, Explorer) and isinstance(explorer, widgets.VBox)
    assert set(explorer.controls) == {"cubic_coefficient", "x_max"}
    assert explorer.renders == 1 and explorer.png.startswith(b"\x89PNG")
    data = explorer.data
    assert data["cubic_coefficient"] == pytest.approx(0.044715)
    assert data["max_error"] == pytest.approx(4.73e-4, rel=1e-2)
    assert abs(data["max_error_at"]) == pytest.approx(2.7, abs=0.05)
    assert data["best_coefficient_cdf"] == pytest.approx(0.044715, abs=2e-4)
    assert data["best_coefficient"] == pytest.approx(0.04438, abs=2e-4)


def test_gelu_explorer_redraws_on_every_slider_change():
    explorer = gelu_explorer()
    png, renders = explorer.png, explorer.renders
    explorer.controls["cubic_coefficient"].value = TYPO
    assert explorer.renders == renders + 1 and explorer.png != png
    assert explorer.data["max_error"] == pytest.approx(0.0291, rel=1e-2)
    x = explorer.data["x"]
    assert torch.allclose(explorer.data["error"], GELU(TYPO)(x) - F.gelu(x))
    curve = line_by_label(explorer.figure.axes[0], "tanh, c = 0.004715")
    assert np.allclose(curve.get_ydata(), GELU(TYPO)(x).numpy())
    dot = line_by_label(explorer.figure.axes[2], "c = 0.004715")
    assert dot.get_ydata()[0] == pytest.approx(explorer.data["max_error"])

    png = explorer.png
    explorer.controls["x_max"].value = 1.0
    assert explorer.renders == renders + 2 and explorer.png != png
    assert explorer.data["x"][0].item() == -1.0 and explorer.data["x"][-1].item() == 1.0
    assert explorer.figure.axes[0].get_xlim()[1] == pytest.approx(1.1, abs=0.1)
    # On a narrow range the best constant moves: 0.044715 is tuned for the whole line.
    assert explorer.data["best_coefficient_cdf"] > 0.0452


def _decode_png(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)


def test_gelu_explorer_fast_render_is_the_full_render_pixel_for_pixel():
    # Moving c redraws only the tanh curve, the error, the dot and the legends on a cached
    # background; after every change (c, a new x range, back to a cached one) the PNG must
    # be what a full render of the same figure shows.
    explorer = gelu_explorer()
    previous = None
    for name, value in [
        ("cubic_coefficient", 0.0),
        ("cubic_coefficient", 0.1),
        ("cubic_coefficient", TYPO),
        ("x_max", 10.0),
        ("cubic_coefficient", 0.05),
        ("x_max", 0.5),
        ("cubic_coefficient", 0.0),
        ("x_max", 4.0),
        ("cubic_coefficient", 0.044715),
    ]:
        explorer.controls[name].value = value
        shown, full = _decode_png(explorer.png), _decode_png(figure_to_png(explorer.figure))
        assert shown.shape == full.shape
        assert np.array_equal(shown, full), (name, value)
        if previous is not None:
            assert not np.array_equal(previous, shown)  # a stale picture would fail above
        previous = shown
        # The curves' panel keeps the exact curve's range, and the tanh curve stays inside.
        left = explorer.figure.axes[0]
        low, high = left.get_ylim()
        tanh = left.lines[1].get_ydata()
        assert low < tanh.min() and tanh.max() < high, (name, value)
    assert explorer.render.full_renders < explorer.renders  # moving c reused a background


def test_gelu_explorer_rejects_out_of_range_values():
    with pytest.raises(ValueError, match="cubic_coefficient must be between 0.0 and 0.1, got 0.5"):
        gelu_explorer(cubic_coefficient=0.5)
    with pytest.raises(ValueError, match="x_max must be between 0.5 and 10.0, got 0"):
        gelu_explorer(x_max=0)
    with pytest.raises(TypeError, match="cubic_coefficient must be a real number, got '0.04'"):
        gelu_explorer(cubic_coefficient="0.04")


def test_architecture_explorer_redraws_diagram_and_summary():
    explorer = architecture_explorer()
    assert set(explorer.controls) == {"depth", "width", "in_features", "out_features"}
    assert explorer.data.layer_sizes == BOOK_SIZES and explorer.data.parameters == 52
    assert len(shortcut_arcs(explorer.figure.axes[1])) == 4
    png, renders = explorer.png, explorer.renders

    explorer.controls["depth"].value = 8
    assert explorer.renders == renders + 1 and explorer.png != png
    assert explorer.data.layer_sizes == [3] * 8 + [1]
    assert explorer.data.parameters == 7 * 12 + 4 and explorer.data.shortcuts == 7
    assert len(shortcut_arcs(explorer.figure.axes[1])) == 7
    assert explorer.figure.get_suptitle() == str(explorer.data)

    explorer.controls["width"].value = 10
    assert explorer.data.layer_sizes == [3] + [10] * 7 + [1]
    assert explorer.data.parameters == (30 + 10) + 6 * 110 + 11
    assert explorer.data.shortcuts == 6  # 3 -> 10 cannot have one
    assert len(shortcut_arcs(explorer.figure.axes[1])) == 6
    assert len(explorer.figure.axes) == 2  # the same figure, redrawn

    explorer.controls["out_features"].value = 10
    assert explorer.data.shortcuts == 7 and explorer.renders == renders + 3


def test_architecture_explorer_rejects_out_of_range_values():
    with pytest.raises(ValueError, match="depth must be between 1 and 12, got 0"):
        architecture_explorer(depth=0)
    with pytest.raises(ValueError, match="width must be between 1 and 16, got 40"):
        architecture_explorer(width=40)
    with pytest.raises(TypeError, match="in_features must be an integer, got 2.5"):
        architecture_explorer(in_features=2.5)


# --- the exercises' self-checks (shortcut_lib.exercises, Lesson 01 and 02) -------------


def exact_gelu_numpy(x: np.ndarray) -> np.ndarray:
    return x * 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def sigmoid_gelu_errors(constants: np.ndarray) -> np.ndarray:
    """Largest |x·σ(a·x) − x·Φ(x)| on [-10, 10] for each a, by numpy and math.erf."""
    x = np.linspace(-10.0, 10.0, 20001)
    exact = exact_gelu_numpy(x)
    return np.array([np.abs(x / (1.0 + np.exp(-a * x)) - exact).max() for a in constants])


def test_check_01_sigmoid_gelu_accepts_the_independent_answer(capsys):
    largest = sigmoid_gelu_errors(np.array([1.702]))[0]
    constants = np.arange(1.70, 1.85, 0.001)
    best = constants[sigmoid_gelu_errors(constants).argmin()]
    assert largest == pytest.approx(0.02033, rel=1e-3) and best == pytest.approx(1.773, abs=1e-3)
    check_01_sigmoid_gelu(largest, best)
    # Each ratio names its a: 1.702's error and the best a's, against the tanh GELU's.
    x = np.linspace(-10.0, 10.0, 20001)
    tanh = 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    tanh_error = np.abs(tanh - exact_gelu_numpy(x)).max()
    best_error = sigmoid_gelu_errors(np.array([best]))[0]
    assert (round(largest / tanh_error), round(best_error / tanh_error)) == (43, 29)
    assert capsys.readouterr().out == (
        "Right: with a = 1.702 the largest error is 0.0203 (43× the tanh GELU's); "
        "with the best a, 1.77, it is 0.0139 (29× the tanh GELU's).\n"
    )
    check_01_sigmoid_gelu(torch.tensor(largest), round(best, 2))  # two decimals are enough


@pytest.mark.parametrize(
    "largest, best, message",
    [
        (4.73e-4, 1.773, "yours 0.000473, expected about 0.02033 — that is the tanh version's"),
        (0.01, 1.773, r"take the largest absolute difference, \.abs\(\)\.max\(\)"),
        (0.02033, 1.702, r"best constant: yours 1.702 \(its largest error is 0.0203\), expected "
         r"about 1.773"),
        (0.02033, 1.80, "expected about 1.773"),
    ],
)
def test_check_01_sigmoid_gelu_rejects_wrong_answers_helpfully(largest, best, message):
    with pytest.raises(AssertionError, match=message):
        check_01_sigmoid_gelu(largest, best)


def test_check_01_sigmoid_gelu_rejects_non_numbers():
    with pytest.raises(TypeError, match="largest_error must be a number, got '0.02'"):
        check_01_sigmoid_gelu("0.02", 1.77)


def test_check_01_gelu_test_accepts_a_test_against_the_tanh_reference(capsys):
    def test_gelu(gelu):
        x = torch.linspace(-6.0, 6.0, 1201)
        torch.testing.assert_close(gelu(x), F.gelu(x, approximate="tanh"))

    check_01_gelu_test(test_gelu)
    assert capsys.readouterr().out.startswith("Right: your test passes GELU() and fails")


def test_check_01_gelu_test_rejects_tests_that_miss_the_typo_or_fail_the_right_gelu():
    def only_at_zero(gelu):  # GELU(0) is 0 for any constant: this test cannot see the typo
        assert gelu(torch.zeros(1)).item() == 0.0

    with pytest.raises(AssertionError, match="passes GELU\\(0.004715\\).*up to 0.029 off"):
        check_01_gelu_test(only_at_zero)

    def against_exact(gelu):  # the exact GELU is 4.7e-4 away from the tanh one
        x = torch.linspace(-6.0, 6.0, 1201)
        torch.testing.assert_close(gelu(x), F.gelu(x))

    with pytest.raises(AssertionError, match="fails on the right GELU\\(\\).*approximate="):
        check_01_gelu_test(against_exact)

    def near_zero_only(gelu):  # |x| <= 0.1: the typo is below float32's tolerance there
        x = torch.linspace(-0.1, 0.1, 21)
        torch.testing.assert_close(gelu(x), F.gelu(x, approximate="tanh"))

    with pytest.raises(AssertionError, match="test many x, including"):
        check_01_gelu_test(near_zero_only)
    with pytest.raises(TypeError, match="test_function must be a function"):
        check_01_gelu_test("test_gelu")


def test_check_01_gelu_test_rejects_weak_tests_that_miss_a_near_miss():
    x64 = torch.linspace(-10.0, 10.0, 20001, dtype=torch.float64)

    def loose_against_exact(gelu):  # 1e-3 lets both the exact and the tanh GELU through
        assert (gelu(x64) - F.gelu(x64)).abs().max() < 1e-3

    with pytest.raises(AssertionError, match="passes nn.GELU\\(\\), the exact GELU.*0.00047 off"):
        check_01_gelu_test(loose_against_exact)

    def loose_tolerance(gelu):  # right reference, but 2e-4 lets GELU(0.0445) through
        assert (gelu(x64) - F.gelu(x64, approximate="tanh")).abs().max() < 2e-4

    with pytest.raises(AssertionError, match="passes GELU\\(0.0445\\).*0.00013 off.*tight"):
        check_01_gelu_test(loose_tolerance)

    def at_two_only(gelu):  # one positive point: blind to anything wrong for x < 0
        x = torch.tensor([2.0])
        torch.testing.assert_close(gelu(x), F.gelu(x, approximate="tanh"))

    def positive_only(gelu):
        x = torch.linspace(0.0, 6.0, 601)
        torch.testing.assert_close(gelu(x), F.gelu(x, approximate="tanh"))

    for weak in (at_two_only, positive_only):
        with pytest.raises(AssertionError, match="\\|x\\|³ for x³.*test negative x too"):
            check_01_gelu_test(weak)


def test_check_01_gelu_test_wrong_modules_are_what_their_names_say():
    from shortcut_lib.exercises.lesson01 import _wrong_gelus

    x = torch.linspace(-10.0, 10.0, 4001, dtype=torch.float64)
    tanh = F.gelu(x, approximate="tanh")
    modules = {name.split(",")[0].split(" (")[0]: m for name, (m, _) in _wrong_gelus().items()}
    assert torch.allclose(modules["nn.GELU()"](x), F.gelu(x))
    near_miss = (modules["GELU(0.0445)"](x) - tanh).abs().max().item()
    assert near_miss == pytest.approx(1.25e-4, rel=0.01)
    abs_cube = modules["a GELU with |x|³ for x³"]
    positive, negative = x >= 0, x < -0.5
    assert torch.allclose(abs_cube(x)[positive], tanh[positive], rtol=0, atol=1e-15)
    assert ((abs_cube(x) - tanh)[negative].abs() > 1e-4).all()


def affine_by_unit_vectors(f, n_in):
    """A and b of an affine f, by f(e_j) − f(0): the lesson's method, not the check's."""
    with torch.no_grad():
        zero = torch.zeros(1, n_in, dtype=torch.float64)
        b = f(zero).flatten()
        columns = [(f(e[None]) - f(zero)).flatten() for e in torch.eye(n_in, dtype=torch.float64)]
    return torch.stack(columns, dim=1), b


def test_check_02_collapsed_accepts_the_collapsed_network(capsys):
    buggy = seed_002_network(BOOK_SIZES).double()
    A, b = affine_by_unit_vectors(buggy, 3)
    assert A.shape == (1, 3)
    check_02_collapsed(buggy, A, b)
    assert capsys.readouterr().out.startswith("Right: the 5 layers are one affine map")
    check_02_collapsed(buggy, A.float(), b.reshape(1, 1))  # float32 and a (1, outputs) b


def test_check_02_collapsed_follows_shortcuts_of_an_activation_free_network():
    plain, shortcut = make_model_pair(BOOK_SIZES, activation="identity")
    for network in (plain, shortcut):
        network.double()
        A, b = affine_by_unit_vectors(network, 3)
        check_02_collapsed(network, A, b)
    # With shortcuts the map is different: (I + W) for the 3 -> 3 layers.
    assert not torch.allclose(affine_by_unit_vectors(plain, 3)[0], A)


def test_check_02_collapsed_rejects_wrong_answers_helpfully():
    buggy = seed_002_network([3, 3, 2]).double()
    A, b = affine_by_unit_vectors(buggy, 3)
    with pytest.raises(AssertionError, match="shape \\(3, 2\\), expected \\(2, 3\\).*transpose"):
        check_02_collapsed(buggy, A.T, b)
    with pytest.raises(AssertionError, match="b is f\\(0\\)"):
        check_02_collapsed(buggy, A, b + 0.1)
    wrong = A.clone()
    wrong[1, 2] += 0.5
    with pytest.raises(AssertionError, match="A\\[1, 2\\].*column j is f\\(e_j\\) − f\\(0\\)"):
        check_02_collapsed(buggy, wrong, b)
    with pytest.raises(AssertionError, match="A\\[\\d, \\d\\].*subtract b"):
        check_02_collapsed(buggy, A + b[:, None], b)  # forgot to subtract f(0)


def test_check_02_collapsed_rejects_a_network_with_an_activation():
    plain, _ = make_model_pair(BOOK_SIZES)
    holds = "layer 0 of the network holds \\['Linear', 'GELU'\\]: expected a bare nn.Linear"
    with pytest.raises(TypeError, match=holds):
        check_02_collapsed(plain, torch.zeros(1, 3), torch.zeros(1))
    with pytest.raises(TypeError, match="A and b must be tensors"):
        check_02_collapsed(seed_002_network(BOOK_SIZES), [[0.0, 0.0, 0.0]], torch.zeros(1))


def test_check_02_wider_net(capsys):
    sizes = deep_layer_sizes(7, 8, in_features=2, out_features=1)
    by_hand = (2 * 8 + 8) + 5 * (8 * 8 + 8) + (8 + 1)
    shortcuts = sum(ExampleDeepNeuralNetwork(sizes, use_shortcut=True).shortcut_mask)
    assert (by_hand, shortcuts) == (393, 5)
    check_02_wider_net(sizes, by_hand, shortcuts)
    assert "393 parameters and 5 shortcuts" in capsys.readouterr().out


@pytest.mark.parametrize(
    "sizes, parameters, shortcuts, message",
    [
        ([2] + [8] * 7 + [1], 465, 6, "yours has 7 hidden layers"),
        ([8] * 7 + [1], 393, 5, "the input size first \\(2\\)"),
        ([2] + [8] * 6 + [1], 392, 5, "parameters: yours 392, expected 393"),
        ([2] + [8] * 6 + [1], 393, 7, "shortcuts: yours 7, expected 5 .*not 2 → 8 nor 8 → 1"),
    ],
)
def test_check_02_wider_net_rejects_wrong_answers_helpfully(sizes, parameters, shortcuts, message):
    with pytest.raises(AssertionError, match=message):
        check_02_wider_net(sizes, parameters, shortcuts)


@pytest.mark.parametrize(
    "notebook, checks",
    [
        ("01_gelu.ipynb", ["check_01_sigmoid_gelu", "check_01_gelu_test"]),
        ("02_deep_mlp_and_shortcuts.ipynb", ["check_02_collapsed", "check_02_wider_net"]),
    ],
)
def test_each_lesson_solution_is_collapsed_and_passes_its_self_check(notebook, checks):
    import nbformat

    nb = nbformat.read(NOTEBOOKS / notebook, as_version=4)
    solutions = [cell for cell in nb.cells if "solution" in cell.metadata.get("tags", [])]
    assert [c.source for c in solutions if c.cell_type == "markdown"] == [
        "### Solution to exercise 1",
        "### Solution to exercise 2",
    ]
    for cell in solutions:
        assert cell.metadata["slideshow"]["slide_type"] == "skip"
        assert cell.metadata["jupyter"]["source_hidden"] is True
        if cell.cell_type == "code":
            assert cell.metadata["jupyter"]["outputs_hidden"] is True
    exercises = next(c.source for c in nb.cells if c.source.startswith("## Exercises"))
    for check in checks:
        assert check in exercises  # the learner is shown the call
        (cell,) = [c for c in solutions if c.cell_type == "code" and check + "(" in c.source]
        printed = "".join(o.get("text", "") for o in cell.outputs)
        assert "Right: " in printed, printed


def test_lessons_01_and_02_name_the_student_notebooks_not_seeds():
    import nbformat

    for notebook in ("01_gelu.ipynb", "02_deep_mlp_and_shortcuts.ipynb"):
        text = "\n".join(c.source for c in nbformat.read(NOTEBOOKS / notebook, as_version=4).cells)
        assert not re.search(r"seed[ _`]*0\d\d|Seed00", text, re.IGNORECASE), notebook
        assert "student notebook" in text.lower()
    first = nbformat.read(NOTEBOOKS / "01_gelu.ipynb", as_version=4)
    intro = [c.source for c in first.cells if "000_182af53ee20842fb.txt" in c.source]
    assert len(intro) == 1 and "002_359c72c200d667ec.txt" in intro[0]
    lesson_map = next(c.source for c in first.cells if c.source.startswith("## The five lessons"))
    for path in sorted(NOTEBOOKS.glob("0[1-5]_*.ipynb")):
        assert f"]({path.name})" in lesson_map
