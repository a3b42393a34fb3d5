"""Lesson 03: the plain-vs-shortcut gradient comparison, its figure, its explorer, the
per-layer Jacobians and the exercises' self-checks.

References are independent of the code under test: the printed tables of the book and of
student notebook B (file 002…), a hand-written functional forward pass differentiated with
torch.autograd.grad, ratios computed by hand from the tables, and a hand-derived Jacobian.
"""

import io
import math
import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.colors import to_hex
from PIL import Image

from shortcut_lib import ExampleDeepNeuralNetwork, layer_gradient_means, make_model_pair
from shortcut_lib.comparison import (
    BOOK_INPUT,
    BOOK_LAYER_SIZES,
    compare_gradients,
    deep_layer_sizes,
    default_input,
    format_gradient_table,
    max_weight_difference,
    vanishing_ratio,
)
from shortcut_lib.plots import COLORS, figure_to_png, plot_gradient_comparison
from shortcut_lib.widgets import gradient_explorer

RTOL = 1e-5
SIZES = [3, 3, 3, 3, 3, 1]
NAMES = [f"layers.{i}.0.weight" for i in range(5)]

# The issue's measured tables (torch 2.13.0 CPU), 5 significant digits.
BOOK_PLAIN = [2.0174e-4, 1.2011e-4, 7.1520e-4, 1.3989e-3, 5.0496e-3]
BOOK_SHORTCUT = [0.22170, 0.20694, 0.32897, 0.26657, 1.32585]
STUDENT_B_PLAIN = [1.5313e-3, 8.7347e-4, 2.1116e-3, 3.0935e-3, 7.8806e-3]
STUDENT_B_SHORTCUT = [0.24867, 0.80065, 0.38362, 0.39542, 1.00109]
# Full precision, from the same run (see tests/test_seeds.py), for the rtol 1e-5 checks.
BOOK_PLAIN_FULL = [
    0.00020173587836325169,
    0.0001201116101583466,
    0.0007152041071094573,
    0.0013988733990117908,
    0.005049645435065031,
]
BOOK_SHORTCUT_FULL = [
    0.22169801592826843,
    0.2069411277770996,
    0.3289700150489807,
    0.26657330989837646,
    1.3258544206619263,
]
STUDENT_B_PLAIN_FULL = [
    0.0015313407639041543,
    0.0008734685834497213,
    0.002111609559506178,
    0.0030934568494558334,
    0.007880656979978085,
]
STUDENT_B_SHORTCUT_FULL = [
    0.24866610765457153,
    0.8006523251533508,
    0.3836197853088379,
    0.3954206109046936,
    1.001085877418518,
]

REFERENCE_ACTIVATIONS = {
    "gelu": lambda z: F.gelu(z, approximate="tanh"),
    "gelu_exact": F.gelu,
    "relu": F.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "identity": lambda z: z,
}


def reference_gradient_means(model, x, activation):
    """Mean |dL/dW| per layer by a hand-written forward pass and torch.autograd.grad."""
    weights = [layer[0].weight.detach().clone().requires_grad_() for layer in model.layers]
    biases = [layer[0].bias.detach() for layer in model.layers]
    act = REFERENCE_ACTIVATIONS[activation]
    h = x
    for w, b in zip(weights, biases, strict=True):
        out = act(h @ w.T + b)
        h = h + out if (model.use_shortcut and out.shape == h.shape) else out
    loss = ((h - 0.0) ** 2).mean()
    grads = torch.autograd.grad(loss, weights)
    return [g.abs().mean().item() for g in grads]


def bar_heights(figure):
    ax = figure.axes[0]
    by_label = {bars.get_label(): bars for bars in ax.containers}
    return (
        [rect.get_height() for rect in by_label["plain"]],
        [rect.get_height() for rect in by_label["with shortcuts"]],
    )


# --- the comparison --------------------------------------------------------------


def test_book_set_up_reproduces_the_issue_tables():
    plain, shortcut = compare_gradients()
    assert list(plain) == NAMES and list(shortcut) == NAMES
    assert list(plain.values()) == pytest.approx(BOOK_PLAIN_FULL, rel=RTOL)
    assert list(shortcut.values()) == pytest.approx(BOOK_SHORTCUT_FULL, rel=RTOL)
    # ...which are the printed 5-digit values.
    assert list(plain.values()) == pytest.approx(BOOK_PLAIN, rel=5e-4)
    assert list(shortcut.values()) == pytest.approx(BOOK_SHORTCUT, rel=5e-5)


def test_defaults_are_the_book_set_up():
    assert list(BOOK_LAYER_SIZES) == SIZES
    assert BOOK_INPUT.tolist() == [[1.0, 0.0, -1.0]]
    explicit = compare_gradients(SIZES, seed=123, activation="gelu", x=BOOK_INPUT.clone())
    assert compare_gradients() == explicit


def test_default_input_is_the_book_input_at_width_3_and_evenly_spaced_otherwise():
    assert torch.equal(default_input(3), torch.tensor([[1.0, 0.0, -1.0]]))
    assert default_input(1).tolist() == [[1.0]]
    assert default_input(5).tolist() == [[1.0, 0.5, 0.0, -0.5, -1.0]]
    assert default_input(7).shape == (1, 7) and default_input(7).dtype == torch.float32


@pytest.mark.parametrize(
    "depth, width, activation, seed",
    [(5, 3, "gelu", 123), (4, 5, "relu", 7), (8, 2, "tanh", 1), (3, 6, "sigmoid", 42)],
)
def test_compare_gradients_matches_a_hand_written_forward_pass(depth, width, activation, seed):
    sizes = deep_layer_sizes(depth, width)
    plain_means, shortcut_means = compare_gradients(sizes, seed, activation)
    plain, shortcut = make_model_pair(sizes, seed, activation)
    x = default_input(width)
    assert list(plain_means.values()) == pytest.approx(
        reference_gradient_means(plain, x, activation), rel=RTOL, abs=1e-30
    )
    assert list(shortcut_means.values()) == pytest.approx(
        reference_gradient_means(shortcut, x, activation), rel=RTOL, abs=1e-30
    )


def test_compare_gradients_uses_a_given_input():
    x = torch.tensor([[0.5, -2.0, 3.0], [1.0, 1.0, 1.0]])
    plain_means, _ = compare_gradients(SIZES, 123, "gelu", x=x)
    plain, _ = make_model_pair(SIZES, 123, "gelu")
    assert list(plain_means.values()) == pytest.approx(
        reference_gradient_means(plain, x, "gelu"), rel=RTOL
    )
    assert list(plain_means.values()) != pytest.approx(BOOK_PLAIN_FULL, rel=1e-2)


def test_compare_gradients_is_seeded_and_leaves_the_global_random_state_alone():
    state = torch.random.get_rng_state()
    first = compare_gradients(deep_layer_sizes(6, 4), seed=9, activation="tanh")
    torch.rand(10)  # disturb the global generator: the result must not care
    second = compare_gradients(deep_layer_sizes(6, 4), seed=9, activation="tanh")
    assert first == second
    other_seed = compare_gradients(deep_layer_sizes(6, 4), seed=10, activation="tanh")
    assert other_seed[0] != first[0]
    torch.manual_seed(0)
    state = torch.random.get_rng_state()
    compare_gradients()
    assert torch.equal(torch.random.get_rng_state(), state)


def test_student_notebook_b_unfair_comparison_and_its_fair_version():
    # Student notebook B: no activation (GELU() landed in nn.Linear's bias) and no re-seeding.
    torch.manual_seed(123)
    plain = ExampleDeepNeuralNetwork(SIZES, use_shortcut=False, activation="identity")
    shortcut = ExampleDeepNeuralNetwork(SIZES, use_shortcut=True, activation="identity")
    x = BOOK_INPUT.clone()
    assert reference_gradient_means(plain, x, "identity") == pytest.approx(
        STUDENT_B_PLAIN_FULL, rel=RTOL
    )
    assert reference_gradient_means(shortcut, x, "identity") == pytest.approx(
        STUDENT_B_SHORTCUT_FULL, rel=RTOL
    )
    assert STUDENT_B_PLAIN_FULL == pytest.approx(STUDENT_B_PLAIN, rel=5e-4)
    assert STUDENT_B_SHORTCUT_FULL == pytest.approx(STUDENT_B_SHORTCUT, rel=5e-5)
    # The shortcut model started from other weights...
    assert max_weight_difference(plain, shortcut) > 0.1
    # ...make_model_pair's do not: same plain numbers, different shortcut numbers.
    fair_plain, fair_shortcut = make_model_pair(SIZES, 123, "identity")
    assert max_weight_difference(fair_plain, fair_shortcut) == 0.0
    fair_plain_means, fair_shortcut_means = compare_gradients(SIZES, 123, "identity")
    assert list(fair_plain_means.values()) == pytest.approx(STUDENT_B_PLAIN_FULL, rel=RTOL)
    assert list(fair_shortcut_means.values()) != pytest.approx(STUDENT_B_SHORTCUT_FULL, rel=0.01)


def test_max_weight_difference_against_a_hand_computed_value():
    a = torch.nn.Linear(2, 2)
    b = torch.nn.Linear(2, 2)
    with torch.no_grad():
        a.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        b.weight.copy_(torch.tensor([[1.0, 2.5], [3.0, 4.0]]))
        a.bias.copy_(torch.tensor([0.0, 0.0]))
        b.bias.copy_(torch.tensor([0.0, -0.75]))
    assert max_weight_difference(a, b) == 0.75
    assert max_weight_difference(a, a) == 0.0
    with pytest.raises(ValueError, match=r"shape \(2, 2\) in model_a but \(3, 2\)"):
        max_weight_difference(a, torch.nn.Linear(2, 3))
    with pytest.raises(ValueError, match="different parameters"):
        max_weight_difference(a, torch.nn.Linear(2, 2, bias=False))
    with pytest.raises(TypeError, match="model_b must be a torch.nn.Module"):
        max_weight_difference(a, "b")


def test_vanishing_ratio_is_first_over_last():
    plain, shortcut = compare_gradients()
    assert vanishing_ratio(plain) == pytest.approx(BOOK_PLAIN_FULL[0] / BOOK_PLAIN_FULL[-1])
    assert vanishing_ratio(shortcut) == pytest.approx(
        BOOK_SHORTCUT_FULL[0] / BOOK_SHORTCUT_FULL[-1]
    )
    assert vanishing_ratio(plain) == pytest.approx(0.03995, rel=1e-3)
    assert vanishing_ratio(shortcut) == pytest.approx(0.1672, rel=1e-3)
    assert vanishing_ratio({"a": 3.0, "b": 0.5, "c": 1.5}) == 2.0
    with pytest.raises(ValueError, match=r"means\['b'\], the last layer's gradient, is 0"):
        vanishing_ratio({"a": 1.0, "b": 0.0})
    with pytest.raises(ValueError, match="empty"):
        vanishing_ratio({})
    with pytest.raises(TypeError, match="got list"):
        vanishing_ratio([1.0, 2.0])


def test_plain_gradients_vanish_with_depth_and_shortcuts_keep_them():
    ratios = {
        depth: [vanishing_ratio(m) for m in compare_gradients(deep_layer_sizes(depth, 3))]
        for depth in (5, 10, 20)
    }
    plain = [ratios[d][0] for d in (5, 10, 20)]
    assert plain[0] > 100 * plain[1] > 100 * 100 * plain[2]  # decades lost per 5 layers
    assert all(ratios[d][1] > 0.01 for d in (5, 10, 20))


def test_deep_layer_sizes():
    assert deep_layer_sizes(5, 3) == SIZES
    assert deep_layer_sizes(1, 4) == [4, 1]
    with pytest.raises(ValueError, match="depth must be a positive integer, got 0"):
        deep_layer_sizes(0, 3)
    with pytest.raises(TypeError, match="width must be a positive integer, got 2.5"):
        deep_layer_sizes(3, 2.5)
    with pytest.raises(TypeError, match="depth"):
        deep_layer_sizes(True, 3)


def test_gradient_table_rounds_to_4_significant_digits():
    plain, shortcut = compare_gradients()
    table = format_gradient_table(plain, shortcut)
    lines = table.splitlines()
    assert lines[0].split() == ["layer", "plain", "shortcut", "shortcut", "/", "plain"]
    rows = [line.split() for line in lines[1:]]
    assert [row[0] for row in rows] == ["0", "1", "2", "3", "4"]
    assert rows[0][1:] == ["0.0002017", "0.2217", "1099"]
    assert rows[2][1:3] == ["0.0007152", "0.3290"]  # trailing zero kept: 4 digits
    for row, p, s in zip(rows, BOOK_PLAIN_FULL, BOOK_SHORTCUT_FULL, strict=True):
        assert float(row[1]) == pytest.approx(p, rel=5e-4)
        assert float(row[2]) == pytest.approx(s, rel=5e-4)
        assert float(row[3]) == pytest.approx(s / p, rel=5e-4)
    with pytest.raises(ValueError, match="same layers"):
        format_gradient_table({"a": 1.0}, {"b": 1.0})


# --- the figure ------------------------------------------------------------------


def test_bar_chart_shows_the_data_on_a_log_axis():
    plain, shortcut = compare_gradients()
    fig = plot_gradient_comparison(plain, shortcut, title="book")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert ax.get_title() == "book"
    assert [bars.get_label() for bars in ax.containers] == ["plain", "with shortcuts"]
    heights = bar_heights(fig)
    assert heights == (list(plain.values()), list(shortcut.values()))
    plain_bars, shortcut_bars = ax.containers
    assert to_hex(plain_bars[0].get_facecolor()) == COLORS["plain"].lower()
    assert to_hex(shortcut_bars[0].get_facecolor()) == COLORS["shortcut"].lower()
    # Side by side: plain left of shortcut at every layer.
    for p, s in zip(plain_bars, shortcut_bars, strict=True):
        assert p.get_x() + p.get_width() <= s.get_x() + 1e-9
    low, high = ax.get_ylim()
    assert low < min(plain.values()) and high > max(shortcut.values())
    ratio_box = next(t for t in ax.texts if t.get_gid() == "gradient-ratio")
    assert "plain: 0.03995" in ratio_box.get_text()
    assert "with shortcuts: 0.1672" in ratio_box.get_text()
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "10⁻⁴" in labels and "10⁰" in labels


def test_bar_chart_redraws_in_place_for_another_depth():
    fig = plot_gradient_comparison(*compare_gradients())
    plain, shortcut = compare_gradients(deep_layer_sizes(12, 3), seed=5, activation="tanh")
    same = plot_gradient_comparison(plain, shortcut, figure=fig)
    assert same is fig and len(fig.axes) == 1
    assert len(fig.axes[0].containers) == 2
    assert bar_heights(fig) == (list(plain.values()), list(shortcut.values()))
    assert fig.axes[0].get_title() == "Gradient per layer, 12 layers"


def test_bar_chart_of_all_zero_gradients_says_so_without_warnings():
    zeros = {"layers.0.0.weight": 0.0, "layers.1.0.weight": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot_gradient_comparison(zeros, dict(zeros))
        figure_to_png(fig)
    texts = {t.get_gid(): t for t in fig.axes[0].texts}
    assert texts["gradient-all-zero"].get_visible()
    assert "all 0" in texts["gradient-ratio"].get_text()
    fig = plot_gradient_comparison(*compare_gradients())
    assert not {t.get_gid(): t for t in fig.axes[0].texts}["gradient-all-zero"].get_visible()


def test_bar_chart_rejects_mismatched_tables():
    with pytest.raises(ValueError, match="same layers"):
        plot_gradient_comparison({"a": 1.0}, {"a": 1.0, "b": 2.0})
    with pytest.raises(ValueError, match="empty"):
        plot_gradient_comparison({}, {})


# --- the explorer ----------------------------------------------------------------


def test_explorer_starts_at_the_book_set_up():
    ex = gradient_explorer()
    assert set(ex.controls) == {"depth", "width", "activation", "seed"}
    assert ex.values() == {"depth": 5, "width": 3, "activation": "gelu", "seed": 123}
    assert list(ex.controls["activation"].options) == [
        "gelu",
        "gelu_exact",
        "relu",
        "tanh",
        "sigmoid",
        "identity",
    ]
    assert ex.renders == 1 and ex.png.startswith(b"\x89PNG")
    assert list(ex.data["plain"].values()) == pytest.approx(BOOK_PLAIN_FULL, rel=RTOL)
    assert list(ex.data["shortcut"].values()) == pytest.approx(BOOK_SHORTCUT_FULL, rel=RTOL)
    assert bar_heights(ex.figure) == (
        list(ex.data["plain"].values()),
        list(ex.data["shortcut"].values()),
    )


@pytest.mark.parametrize(
    "name, value",
    [("depth", 9), ("width", 6), ("activation", "sigmoid"), ("seed", 7)],
)
def test_each_control_redraws_both_bar_series(name, value):
    ex = gradient_explorer()
    figure, png, renders, before = ex.figure, ex.png, ex.renders, ex.data
    ex.controls[name].value = value
    settings = {"depth": 5, "width": 3, "activation": "gelu", "seed": 123, name: value}
    expected = compare_gradients(
        deep_layer_sizes(settings["depth"], settings["width"]),
        settings["seed"],
        settings["activation"],
    )
    assert ex.renders == renders + 1
    assert ex.png != png
    assert ex.figure is figure  # redrawn in place
    assert (ex.data["plain"], ex.data["shortcut"]) == expected
    assert ex.data != before
    assert len(ex.data["plain"]) == settings["depth"]
    heights = bar_heights(ex.figure)
    assert heights == (list(expected[0].values()), list(expected[1].values()))
    assert len(heights[0]) == settings["depth"]
    title = ex.figure.axes[0].get_title()
    assert title == (
        f"{settings['depth']} layers, {settings['width']} wide, "
        f"{settings['activation']}, seed {settings['seed']}"
    )


def test_explorer_follows_a_sequence_of_changes():
    ex = gradient_explorer(depth=3, width=2, activation="relu", seed=0)
    ex.controls["depth"].value = 20
    ex.controls["width"].value = 8
    ex.controls["activation"].value = "tanh"
    ex.controls["seed"].value = 999
    assert ex.renders == 5
    expected = compare_gradients(deep_layer_sizes(20, 8), 999, "tanh")
    assert (ex.data["plain"], ex.data["shortcut"]) == expected
    assert len(ex.figure.axes[0].containers) == 2
    bars = [p for p in ex.figure.axes[0].patches if p.get_gid() != "gradient-no-layers"]
    assert len(bars) == 2 * 20  # old bars removed, not piled up


def test_explorer_rejects_bad_settings():
    with pytest.raises(ValueError, match="depth must be between 2 and 30, got 31"):
        gradient_explorer(depth=31)
    with pytest.raises(TypeError, match="width must be an integer"):
        gradient_explorer(width=3.0)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        gradient_explorer(activation="swish")


def test_compare_gradients_equals_the_model_pair_bit_for_bit():
    # compare_gradients runs one network with shortcuts off, then on; make_model_pair
    # builds two. Same weights, same operations: the numbers must be identical.
    for sizes, seed, activation in [(SIZES, 123, "gelu"), (deep_layer_sizes(9, 4), 7, "relu")]:
        plain, shortcut = make_model_pair(sizes, seed=seed, activation=activation)
        x = default_input(sizes[0])
        expected = (layer_gradient_means(plain, x), layer_gradient_means(shortcut, x))
        assert compare_gradients(sizes, seed, activation) == expected


def test_the_model_compare_gradients_measures_says_what_it_computes(monkeypatch):
    # compare_gradients runs one network twice: during each measurement, the model's
    # use_shortcut, shortcut_mask and repr must describe the network it actually is
    # (its output equals that of make_model_pair's plain or shortcut twin).
    import shortcut_lib.comparison as comparison

    plain_twin, shortcut_twin = make_model_pair(SIZES, seed=123)
    seen = []

    def inspecting(model, x, target=None):
        with torch.no_grad():
            output = model(x)
        twin = plain_twin if torch.equal(output, plain_twin(x)) else shortcut_twin
        assert torch.equal(output, twin(x))
        seen.append((model.use_shortcut, list(model.shortcut_mask), repr(model), twin))
        return layer_gradient_means(model, x, target)

    monkeypatch.setattr(comparison, "layer_gradient_means", inspecting)
    comparison.compare_gradients(SIZES, 123)
    assert [(u, m, twin) for u, m, _, twin in seen] == [
        (False, [False] * 5, plain_twin),
        (True, shortcut_twin.shortcut_mask, shortcut_twin),
    ]
    assert [r for *_, r, _ in seen] == [repr(plain_twin), repr(shortcut_twin)]


def decode(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)


def test_explorer_fast_render_is_the_full_render_pixel_for_pixel():
    # The explorer redraws only the bars and texts on a cached background; after every
    # change (new axes, cached axes, same axes) its PNG must show what a full render does.
    ex = gradient_explorer()
    previous = None
    for name, value in [
        ("depth", 6),
        ("depth", 7),
        ("depth", 6),
        ("seed", 5),
        ("depth", 12),
        ("activation", "sigmoid"),
        ("depth", 6),
        ("width", 5),
    ]:
        ex.controls[name].value = value
        shown, full = decode(ex.png), decode(figure_to_png(ex.figure))
        assert shown.shape == full.shape == (400, 700, 3)
        assert np.array_equal(shown, full), (name, value)
        if previous is not None:
            assert not np.array_equal(previous, full)  # a stale picture would fail above
        previous = shown
    assert ex.render.full_renders < ex.renders  # some renders reused a background


@pytest.mark.parametrize(("depth", "activation"), [(5, "gelu"), (30, "gelu"), (30, "sigmoid")])
def test_explorer_shows_its_whole_y_axis_label(depth, activation):
    # The margins are fixed (no layout pass per step), so they must leave room for the
    # widest tick labels (10⁻⁴⁸ at 30 sigmoid layers) and the label left of them.
    ex = gradient_explorer(depth=depth, activation=activation)
    assert ex.png  # renders, so the text extents below are the drawn ones
    renderer = ex.figure.canvas.get_renderer()
    label = ex.figure.axes[0].yaxis.label
    assert label.get_text() == "mean |∂loss/∂W|  (log scale)"
    assert label.get_window_extent(renderer).x0 >= 2  # pixels from the figure's left edge


# --- why: per-layer Jacobians ----------------------------------------------------


def tanh_gelu_derivative(z):
    """d/dz of 0.5 z (1 + tanh(u)), u = sqrt(2/pi) (z + 0.044715 z^3), written out by hand."""
    c = math.sqrt(2.0 / math.pi)
    u = c * (z + 0.044715 * z**3)
    t = torch.tanh(u)
    return 0.5 * (1 + t) + 0.5 * z * (1 - t**2) * c * (1 + 3 * 0.044715 * z**2)


def hand_jacobians(model, x):
    """J_i = diag(act'(W x_i + b)) W (+ I with a shortcut), the stream by a hand loop."""
    h, jacobians = x.reshape(-1), []
    for layer, has_shortcut in zip(model.layers, model.shortcut_mask, strict=True):
        w, b = layer[0].weight.detach(), layer[0].bias.detach()
        z = w @ h + b
        j = tanh_gelu_derivative(z)[:, None] * w
        jacobians.append(j + torch.eye(len(h)) if has_shortcut else j)
        out = F.gelu(z, approximate="tanh")
        h = h + out if has_shortcut else out
    return jacobians


@pytest.mark.parametrize("sizes", [SIZES, [4, 4, 2, 2, 1], [2, 5, 5, 5, 3]])
def test_layer_jacobians_match_the_hand_derivative(sizes):
    from shortcut_lib.comparison import layer_jacobians

    plain, shortcut = make_model_pair(sizes, seed=3)
    x = default_input(sizes[0])
    for model in (plain, shortcut):
        got, expected = layer_jacobians(model, x), hand_jacobians(model, x)
        assert [tuple(j.shape) for j in got] == list(zip(sizes[1:], sizes[:-1], strict=True))
        for g, e in zip(got, expected, strict=True):
            assert torch.allclose(g, e, atol=1e-6, rtol=1e-5)
    # The identity is there exactly where a shortcut is: J - I of the shortcut net is the
    # plain net's J at layer 0 (same weights, same input).
    first_plain = layer_jacobians(plain, x)[0]
    first_shortcut = layer_jacobians(shortcut, x)[0]
    if shortcut.shortcut_mask[0]:
        assert torch.allclose(first_shortcut - torch.eye(sizes[0]), first_plain, atol=1e-7)
    else:
        assert torch.equal(first_shortcut, first_plain)


def test_the_chain_rule_multiplies_the_layer_jacobians():
    from shortcut_lib.comparison import layer_jacobians

    for model in make_model_pair(SIZES, seed=123):
        x = BOOK_INPUT.clone().requires_grad_()
        # Independent: backpropagate the book's loss to the input.
        loss = model(x).pow(2).mean()
        (expected,) = torch.autograd.grad(loss, x)
        jacobians = layer_jacobians(model, BOOK_INPUT)
        product = jacobians[0]
        for j in jacobians[1:]:
            product = j @ product
        grad = 2 * model(BOOK_INPUT).detach().reshape(-1) @ product
        assert torch.allclose(grad, expected.reshape(-1), rtol=1e-5, atol=1e-8)


def test_residual_stream_is_the_forward_pass():
    from shortcut_lib.comparison import residual_stream

    plain, shortcut = make_model_pair(SIZES, seed=123)
    for model in (plain, shortcut):
        stream = residual_stream(model, BOOK_INPUT)
        assert len(stream) == 6 and torch.equal(stream[0], BOOK_INPUT[0])
        assert torch.allclose(stream[-1], model(BOOK_INPUT).detach().reshape(-1))
        h = BOOK_INPUT[0]
        for i, layer in enumerate(model.layers):
            out = F.gelu(layer[0].weight @ h + layer[0].bias, approximate="tanh")
            h = h + out if (model.use_shortcut and i < 4) else out
            assert torch.allclose(stream[i + 1], h.detach(), atol=1e-6)


def test_jacobian_functions_reject_bad_input():
    from shortcut_lib.comparison import layer_jacobians, residual_stream

    plain, _ = make_model_pair(SIZES)
    with pytest.raises(
        ValueError, match=r"one sample, shape \(3,\) or \(1, 3\), got shape \(2, 3\)"
    ):
        layer_jacobians(plain, torch.zeros(2, 3))
    with pytest.raises(TypeError, match="model must be an ExampleDeepNeuralNetwork, got Linear"):
        residual_stream(torch.nn.Linear(3, 3), BOOK_INPUT)
    with pytest.raises(ValueError, match="last dimension must be layer_sizes"):
        residual_stream(plain, torch.zeros(1, 4))


# --- steady axes: slots past the last layer ----------------------------------------


def no_layers(figure):
    ax = figure.axes[0]
    shade = next(p for p in ax.patches if p.get_gid() == "gradient-no-layers")
    label = next(t for t in ax.texts if t.get_gid() == "gradient-no-layers-label")
    return shade, label


@pytest.mark.parametrize("depth, end", [(2, 5), (5, 5), (7, 10), (11, 10), (30, 30)])
def test_explorer_greys_out_the_slots_the_network_does_not_have(depth, end):
    ex = gradient_explorer(depth=depth)
    ax = ex.figure.axes[0]
    shade, label = no_layers(ex.figure)
    assert ax.get_xlim()[1] == pytest.approx(end + 0.6)  # the axis is steady...
    last_bar_right = max(r.get_x() + r.get_width() for r in ax.containers[1])
    if depth - 1 < end:
        # ...and every slot past the last layer is covered, none of the bars is.
        assert shade.get_visible() and label.get_visible()
        assert shade.get_x() >= last_bar_right
        assert shade.get_x() <= depth - 0.4  # begins before slot `depth`'s first bar would
        assert shade.get_x() + shade.get_width() >= ax.get_xlim()[1]
        expected = f"no layer {end}" if end == depth else f"no layers {depth}–{end}"
        assert label.get_text() == expected
        assert shade.get_x() < label.get_position()[0] < shade.get_x() + shade.get_width()
    else:
        assert not shade.get_visible() and not label.get_visible()


def test_a_figure_without_steady_axes_has_no_grey_slots():
    fig = plot_gradient_comparison(*compare_gradients())
    shade, label = no_layers(fig)
    assert not shade.get_visible() and not label.get_visible()
    assert fig.axes[0].get_xlim() == pytest.approx((-0.6, 4.6))


def test_grey_slots_follow_the_depth_slider_pixel_for_pixel():
    ex = gradient_explorer()
    for depth in (4, 11, 6, 30, 5):
        ex.controls["depth"].value = depth
        assert np.array_equal(decode(ex.png), decode(figure_to_png(ex.figure))), depth
        shade, _ = no_layers(ex.figure)
        assert shade.get_visible() == (depth not in (6, 11))  # 0-5 and 0-10 fill their axes


# --- self-checks of the exercises --------------------------------------------------


def test_check_03_sigmoid_saturation_accepts_the_right_z_and_explains_wrong_ones(capsys):
    from shortcut_lib.comparison import residual_stream
    from shortcut_lib.exercises import check_03_sigmoid_saturation

    # Independent: a hand loop over the 30-layer sigmoid shortcut network.
    _, model = make_model_pair(deep_layer_sizes(30, 3), 123, "sigmoid")
    h = BOOK_INPUT[0]
    for layer in model.layers[:-1]:
        h = h + torch.sigmoid(layer[0].weight @ h + layer[0].bias)
    z = (model.layers[-1][0].weight @ h + model.layers[-1][0].bias).item()
    assert 15 < z < 18  # saturated: sigmoid(z) rounds to 1 in float32
    check_03_sigmoid_saturation(z)
    assert capsys.readouterr().out.startswith("Right: z = ")
    check_03_sigmoid_saturation(torch.tensor(z))
    # The natural answer is a tensor that requires grad: accepted, without torch's warning.
    last = model.layers[-1][0]
    z_tensor = last.weight @ h + last.bias
    assert z_tensor.requires_grad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_03_sigmoid_saturation(z_tensor)
    assert capsys.readouterr().out.count("Right: z = ") == 2
    # The likely slip: the plain network (make_model_pair's first model), by a hand loop too.
    plain, _ = make_model_pair(deep_layer_sizes(30, 3), 123, "sigmoid")
    h_plain = BOOK_INPUT[0]
    for layer in plain.layers[:-1]:
        h_plain = torch.sigmoid(layer[0].weight @ h_plain + layer[0].bias)
    plain_z = (plain.layers[-1][0].weight @ h_plain + plain.layers[-1][0].bias).item()
    assert 0 < plain_z < 1  # so it must not get the "σ(z) or σ'(z)" hint
    stream_mean = residual_stream(model, BOOK_INPUT)[-2].mean().item()
    for wrong, says in [
        (plain_z, "plain network's z; make_model_pair returns (plain, shortcut)"),
        (stream_mean, "mean of the residual stream"),
        (1.0, "looks like σ(z) or σ'(z)"),
        (-z, "the sign is wrong"),
        (3.0, "use the shortcut network"),
    ]:
        with pytest.raises(AssertionError, match=rf"expected z ≈ {z:.4g}, got .*{re.escape(says)}"):
            check_03_sigmoid_saturation(wrong)
    with pytest.raises(TypeError, match="pre_activation must be a number, got 'sixteen'"):
        check_03_sigmoid_saturation("sixteen")


def test_check_03_seeds_accepts_the_right_answer_and_explains_wrong_ones(capsys):
    from shortcut_lib.exercises import check_03_seeds

    # Independent: ratios from the hand-written forward pass, one fair pair per seed.
    gains = []
    for seed in range(20):
        plain, shortcut = make_model_pair(deep_layer_sizes(10, 3), seed)
        x = default_input(3)
        p, s = (reference_gradient_means(m, x, "gelu") for m in (plain, shortcut))
        gains.append((s[0] / s[-1]) / (p[0] / p[-1]))
    count, smallest = sum(g > 1 for g in gains), min(gains)
    assert count == 20 and 100 < smallest < 1000
    check_03_seeds(count, smallest)
    said = capsys.readouterr().out
    assert "Right: the shortcut network's ratio is larger in 20 of 20 seeds" in said
    assert "In all 20 seeds the direction is the same" in said  # not "never depends on the seed"
    # The exercise asks for 3 significant digits: that rounding passes, 2 digits do not.
    check_03_seeds(count, float(f"{smallest:.3g}"))
    with pytest.raises(AssertionError, match="smallest_gain: expected"):
        check_03_seeds(count, float(f"{smallest:.2g}"))
    with pytest.raises(AssertionError, match="count: expected 20 of 20 seeds, got 19"):
        check_03_seeds(19, smallest)
    with pytest.raises(AssertionError, match="that is plain / shortcut"):
        check_03_seeds(20, 1 / smallest)
    with pytest.raises(AssertionError, match="that is the largest factor"):
        check_03_seeds(20, max(gains))
    with pytest.raises(AssertionError, match="take min"):
        check_03_seeds(20, 2 * smallest)
    with pytest.raises(TypeError, match="count must be an integer, got 20.0"):
        check_03_seeds(20.0, smallest)
