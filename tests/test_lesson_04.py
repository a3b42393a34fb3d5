"""Lesson 04's figures and depth explorer, driven without a browser."""

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from shortcut_lib.exercises import (
    EXERCISE_04_DEPTHS,
    check_04_decay_per_layer,
    check_04_post_ln_block,
    decay_per_layer,
)
from shortcut_lib.plots import (
    COLORS,
    BandPlot,
    figure_to_png,
    new_figure,
    plot_depth_and_dead,
    plot_depth_panels,
    plot_gradient_bands,
)
from shortcut_lib.plots.style import log_decade_axis, log_limits
from shortcut_lib.population import (
    dead_network_causes,
    gradient_quantiles,
    population_gradient_means,
)
from shortcut_lib.widgets import NORMALISATIONS, depth_explorer


def quartiles(n, scale=1.0):
    median = scale * np.logspace(-3, 0, n)
    return np.stack([median / 2, median, median * 2])


# --- plotting ---------------------------------------------------------------------------


def test_band_plot_draws_medians_and_bands_and_redraws_in_place():
    plot = BandPlot(["plain", "shortcut"])
    figure = plot.update(range(5), {"plain": quartiles(5), "shortcut": quartiles(5, 10)}, "t1")
    ax = figure.axes[0]
    assert ax.get_yscale() == "log" and ax.get_title() == "t1"
    np.testing.assert_allclose(plot.lines["plain"].get_ydata(), quartiles(5)[1])
    assert plot.lines["plain"].get_color().lower() == COLORS["plain"].lower()
    # the band's polygon spans the quartiles
    vertices = plot.bands["shortcut"].get_paths()[0].vertices
    assert vertices[:, 1].min() == pytest.approx(10 * 1e-3 / 2)
    assert vertices[:, 1].max() == pytest.approx(10 * 2.0)
    png = figure_to_png(figure)
    same = plot.update(range(8), {"plain": quartiles(8), "shortcut": quartiles(8)}, "t2")
    assert same is figure and len(ax.lines) == 2  # moved, not added
    assert len(plot.lines["plain"].get_xdata()) == 8
    assert figure_to_png(figure) != png


def test_zero_is_drawn_on_the_bottom_edge_and_nan_as_a_gap():
    plot = BandPlot(["plain"])
    data = np.array([[0.0, 1e-4, np.nan], [0.0, 1e-3, np.nan], [1e-3, 1e-2, np.nan]])
    plot.update([0, 1, 2], {"plain": data})
    low, _ = plot.ax.get_ylim()
    y = plot.lines["plain"].get_ydata()
    assert y[0] == pytest.approx(low) and np.isnan(y[2])


def test_log_axis_labels_at_most_eight_aligned_decades():
    figure, ax = new_figure()
    log_decade_axis(ax, 1e-63, 1e15)
    ticks = ax.yaxis.get_major_locator()()
    exponents = np.round(np.log10(ticks)).astype(int)
    assert len(ticks) <= 8 and np.all(exponents % 20 == 0)
    assert ax.get_ylim()[0] <= 1e-63 and ax.get_ylim()[1] >= 1e15
    assert ax.yaxis.get_major_formatter()(1e-20, 0) == "10⁻²⁰"


def test_log_limits_cover_positive_values_in_whole_decades():
    assert log_limits(np.array([[0.0, 3e-5], [2e-3, 5.0]])) == (1e-5, 10.0)
    assert log_limits(np.zeros((3, 2))) == (1e-8, 1.0)


def test_depth_figures_have_their_panels_and_labels():
    depths = [1, 2, 5, 10]
    panels = {
        act: {"plain": quartiles(4), "shortcut": quartiles(4, 5)}
        for act in ["tanh", "gelu", "relu"]
    }
    figure = plot_depth_panels(depths, panels)
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["tanh", "gelu", "relu"]
    assert all(ax.get_yscale() == "log" for ax in visible)
    two = plot_depth_and_dead(
        depths, {"shortcut": quartiles(4)}, {"shortcut": np.array([0, 0, 0.5, 0.5])}
    )
    assert two.axes[1].get_ylabel() == "dead networks (%)"
    np.testing.assert_allclose(two.axes[1].lines[0].get_ydata(), [0, 0, 50, 50])


def test_plotting_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"must have shape \(3, n\)"):
        plot_gradient_bands([0, 1], {"plain": np.ones((2, 2))})
    with pytest.raises(ValueError, match="has 2 points but x has 3"):
        plot_gradient_bands([0, 1, 2], {"plain": np.ones((3, 2))})
    with pytest.raises(ValueError, match="no colour for series"):
        BandPlot(["mystery"])
    with pytest.raises(ValueError, match="same labels"):
        plot_depth_and_dead([1], {"a": np.ones((3, 1))}, {"b": np.ones(1)}, colors={"a": "red"})


# --- the explorer ---------------------------------------------------------------------


def test_depth_explorer_draws_the_engines_numbers():
    ex = depth_explorer(depth=12, seeds=16)
    assert ex.renders == 1 and ex.png.startswith(b"\x89PNG")
    expected, dead = population_gradient_means(
        12, population=16, shortcut=False, dtype=torch.float64, return_dead=True
    )
    expected = gradient_quantiles(expected, exclude=dead.output[:, None]).numpy()
    np.testing.assert_allclose(ex.data["plain"], expected)
    line = ex.figure.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), expected[1])
    assert ex.figure.axes[0].get_xlim()[1] >= 11  # every layer on the x axis


@pytest.mark.parametrize("depth", [4, 5, 12, 46])
def test_depth_explorer_shades_the_steady_x_axis_past_the_last_layer(depth):
    # The x axis only changes at a few round depths; the slots past the output layer
    # must not read as layers with zero gradient.
    ex = depth_explorer(depth=depth, seeds=8)
    ax = ex.figure.axes[0]
    plot_end = ax.get_xlim()[1]
    assert plot_end > depth - 0.5  # the axis does reach past the last layer here
    (span,) = [a for a in ax.patches if a.get_gid() == "beyond-the-data"]
    assert span.get_visible() and span.get_x() == pytest.approx(depth - 0.5)
    assert span.get_x() + span.get_width() == pytest.approx(plot_end)
    (label,) = [t for t in ax.texts if t.get_gid() == "beyond-the-data-label"]
    assert depth - 0.5 < label.get_position()[0] < plot_end
    assert label.get_text() in ("no layer here", "")  # no text where it cannot fit
    ticks = ax.xaxis.get_majorticklocs()
    assert np.allclose(ticks, np.round(ticks))  # layers are whole numbers


def test_band_plots_shade_nothing_unless_asked():
    plot = BandPlot(["plain"])
    plot.update(range(5), {"plain": quartiles(5)}, xlim=(0, 10))
    assert not plot.beyond.get_visible()
    plot.update(range(5), {"plain": quartiles(5)}, xlim=(0, 10), mark_beyond="no layer here")
    assert plot.beyond.get_visible() and plot.beyond_label.get_text() == "no layer here"
    plot.update(range(5), {"plain": quartiles(5)}, mark_beyond="no layer here")
    assert not plot.beyond.get_visible()  # the default x axis ends at the data


def test_moving_each_control_redraws():
    ex = depth_explorer(depth=10, seeds=8)
    for name, value in [
        ("depth", 30),
        ("width", 6),
        ("seeds", 32),
        ("activation", "tanh"),
        ("normalisation", "pre-LayerNorm"),
    ]:
        renders, png, data = ex.renders, ex.png, ex.data
        ex.controls[name].value = value
        assert ex.renders == renders + 1
        assert ex.png != png
        assert not np.array_equal(ex.data["shortcut"], data["shortcut"])
    assert len(ex.data["layers"]) == 30
    assert "32 networks" in ex.figure.axes[0].get_title()


def test_normalisation_tames_the_explosion_and_the_legend_counts_the_dead():
    ex = depth_explorer(depth=60, seeds=64, activation="gelu")
    exploding = ex.data["shortcut"][1, 0]
    assert exploding > 1e4 and ex.data["dead_fraction"]["shortcut"] > 0.2
    legend = [t.get_text() for t in ex.figure.axes[0].get_legend().get_texts()]
    assert legend[1].startswith("with shortcuts (") and "dead" in legend[1]
    for choice in list(NORMALISATIONS)[1:]:
        ex.controls["normalisation"].value = choice
        assert ex.data["shortcut"][1, 0] < 1.0, choice
        assert ex.data["dead_fraction"]["shortcut"] == 0.0, choice


def test_depth_explorer_counts_the_two_causes_of_death_apart():
    ex = depth_explorer(depth=20, seeds=64, activation="relu")
    for kind, shortcut in [("plain", False), ("shortcut", True)]:
        dead = dead_network_causes(
            20, population=64, activation="relu", shortcut=shortcut, dtype=torch.float64
        )
        assert ex.data["dead_fraction"][kind] == dead.output.double().mean().item()
        assert ex.data["inside_dead_fraction"][kind] == dead.inside.double().mean().item()
    legend = [t.get_text() for t in ex.figure.axes[0].get_legend().get_texts()]
    plain = ex.data["inside_dead_fraction"]["plain"]
    assert legend[0].endswith(f"dead at the output, {plain:.0%} inside)"), legend
    # Dead inside, the first layers' gradient is exactly 0: kept, so the median shows it.
    assert ex.data["plain"][1, 0] == 0


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"depth": 0}, ValueError, "depth must be between 1 and 100, got 0"),
        ({"width": 1}, ValueError, "width must be between 2 and 32, got 1"),
        ({"seeds": 2.5}, TypeError, "seeds must be an integer, got 2.5"),
        ({"activation": "swish"}, ValueError, "unknown activation 'swish'"),
        ({"normalisation": "batchnorm"}, ValueError, "unknown normalisation 'batchnorm'"),
    ],
)
def test_depth_explorer_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        depth_explorer(**kwargs)


def decode(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)


def test_render_png_redraws_only_the_data_while_the_axes_hold():
    plot = BandPlot(["plain", "shortcut"], fixed_layout=True)
    plot.update(range(5), {"plain": quartiles(5), "shortcut": quartiles(5, 10)}, "t", xlim=(0, 10))
    first = plot.render_png()
    first_ylim = plot.ax.get_ylim()
    assert plot.full_renders == 1
    plot.update(
        range(7),
        {"plain": quartiles(7, 2), "shortcut": quartiles(7, 3)},
        "t",
        xlim=(0, 10),
        keep_ylim=True,
    )
    second = plot.render_png()
    assert plot.full_renders == 1 and second != first  # data moved, background reused
    # The same picture as a full render, pixel for pixel.
    assert np.array_equal(decode(second), decode(figure_to_png(plot.figure)))
    assert decode(second).shape == (400, 700, 3)
    plot.update(range(7), {"plain": quartiles(7), "shortcut": quartiles(7)}, "new title")
    plot.render_png()
    assert plot.full_renders == 2  # the title changed: everything redrawn
    plot.update(range(5), {"plain": quartiles(5), "shortcut": quartiles(5, 10)}, "t", xlim=(0, 10))
    assert plot.ax.get_ylim() == first_ylim
    assert plot.render_png() == first
    assert plot.full_renders == 2  # back to the first axes: its background is reused


def test_depth_explorer_fast_render_is_the_full_render_pixel_for_pixel():
    # Its PNG redraws only bands, lines and legend on a cached background; after each
    # change (new axes, axes seen before, same axes) it must equal a full render.
    ex = depth_explorer(depth=20, seeds=16)
    previous = None
    for name, value in [
        ("depth", 21),
        ("depth", 5),
        ("depth", 33),
        ("activation", "tanh"),
        ("depth", 21),
        ("activation", "gelu"),
        ("normalisation", "pre-LayerNorm"),
    ]:
        ex.controls[name].value = value
        shown, full = decode(ex.png), decode(figure_to_png(ex.figure))
        assert np.array_equal(shown, full), (name, value)
        if previous is not None:
            assert not np.array_equal(previous, full)  # a stale picture would fail above
        previous = shown
    assert ex.render.full_renders < ex.renders


# --- the exercises' self-checks -------------------------------------------------------


def reference_decay(width):
    # Independently of exercises.decay_per_layer: the engine depth by depth, numpy's fit.
    medians = []
    for depth in EXERCISE_04_DEPTHS:
        means, dead = population_gradient_means(
            depth,
            width=width,
            activation="gelu",
            shortcut=False,
            dtype=torch.float64,
            return_dead=True,
        )
        medians.append(np.median(means[~dead.output, 0].numpy()))
    return -np.polyfit(EXERCISE_04_DEPTHS, np.log10(medians), 1)[0]


def test_decay_per_layer_is_the_lessons_fit():
    assert decay_per_layer(8) == pytest.approx(reference_decay(8), abs=1e-9)


def test_check_04_decay_per_layer_accepts_the_right_number(capsys):
    check_04_decay_per_layer(width=3, decades_per_layer=round(reference_decay(3), 2))
    assert capsys.readouterr().out.startswith("Right: width 3 loses")


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda right: -right, "that is the slope itself"),
        (lambda right: right * np.log(10), "natural log"),
        (lambda right: 3 * right, "check the setup"),
        (lambda right: right + 0.05, "expected 0.5"),
    ],
)
def test_check_04_decay_per_layer_rejects_a_wrong_number_helpfully(answer, message):
    right = reference_decay(3)
    with pytest.raises(AssertionError, match=message):
        check_04_decay_per_layer(width=3, decades_per_layer=answer(right))


def test_check_04_decay_per_layer_rejects_non_numbers():
    with pytest.raises(TypeError, match="decades_per_layer must be a number"):
        check_04_decay_per_layer(width=3, decades_per_layer="0.6")
    with pytest.raises(TypeError, match="width must be an integer"):
        check_04_decay_per_layer(width=1.5, decades_per_layer=0.6)


def test_check_04_post_ln_block_accepts_post_ln(capsys):
    check_04_post_ln_block(
        lambda x, layer: nn.LayerNorm(x.shape[-1], elementwise_affine=False)(x + layer(x))
    )
    assert capsys.readouterr().out.startswith("Right:")


@pytest.mark.parametrize(
    "block, message",
    [
        (lambda x, layer: x + layer(F.layer_norm(x, [x.shape[-1]])), "that is pre-LN"),
        (lambda x, layer: F.layer_norm(layer(x), [x.shape[-1]]), "the shortcut is missing"),
        (lambda x, layer: x + layer(x), "there is no LayerNorm"),
        (lambda x, layer: x + layer(x) - (x + layer(x)).mean(0), "over the last dimension"),
        (lambda x, layer: (x + layer(x))[:, :1], "must return a tensor of x's shape"),
        (lambda x, layer: 1 / 0, "raised ZeroDivisionError"),
    ],
)
def test_check_04_post_ln_block_names_the_mistake(block, message):
    with pytest.raises(AssertionError, match=message):
        check_04_post_ln_block(block)
