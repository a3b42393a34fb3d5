"""Bad input to the figures and explorers: a TypeError or ValueError that names the argument
and the bad value, at once, and no pyplot figure left open (even after Ctrl-C)."""

import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from shortcut_lib import make_classifier_pair, make_spirals, train_depths
from shortcut_lib.plots import (
    BandPlot,
    figure_to_png,
    new_figure,
    plot_activations,
    plot_block_gradients,
    plot_coefficient_scan,
    plot_decision_boundaries,
    plot_depth_and_dead,
    plot_depth_panels,
    plot_gelu_error,
    plot_gelu_explorer_view,
    plot_gradient_bands,
    plot_gradient_comparison,
    plot_loss_curves,
    plot_network_diagram,
)
from shortcut_lib.training import decision_grid
from shortcut_lib.transformer import block_gradient_means, make_stacks, stack_input
from shortcut_lib.widgets import Explorer, depth_explorer

Q = np.ones((3, 4))  # quartiles of 4 points
XS = torch.linspace(-3.0, 3.0, 7)
SCAN = {"gelu": [0.02, 0.001]}
NAN = float("nan")


@pytest.fixture(autouse=True)
def no_figure_left_open():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before


@pytest.fixture(scope="module")
def grids():
    plain, _ = make_classifier_pair(3, 4)
    grid = decision_grid(plain, resolution=5)
    X, y = make_spirals(16)
    return {"plain": {2: grid}, "shortcut": {2: grid}}, grid, X, y


def test_figure_to_png_needs_the_figure_itself():
    figure, ax = new_figure()
    for value, pattern in [
        ((figure, ax), r"fig must be a matplotlib Figure, got tuple; .*fig, ax = new_figure\(\); "),
        (ax, r"fig must be a matplotlib Figure, got Axes; .*ax\.figure"),
        (None, r"fig must be a matplotlib Figure, got NoneType"),
    ]:
        with pytest.raises(TypeError, match=pattern):
            figure_to_png(value)


@pytest.mark.parametrize(
    "args, kwargs, error, pattern",
    [
        ((0,), {}, ValueError, r"nrows must be a positive integer, got 0"),
        ((True,), {}, TypeError, r"nrows must be a positive integer, got True \(bool\)"),
        ((1, 2.0), {}, TypeError, r"ncols must be a positive integer, got 2.0 \(float\)"),
        ((), {"figsize": 7}, TypeError, r"figsize must be \(width, height\) .*got 7 \(int\)"),
        ((), {"figsize": (7, -4)}, ValueError, r"figsize\[1\] \(the height .*\) .*got -4"),
        ((), {"figsize": (700, 700)}, ValueError, r"figsize=\(700, 700\) .*too large"),
        ((), {"bogus": 1}, TypeError, r"unexpected keyword argument 'bogus'.*new_figure\(1, 2"),
    ],
)
def test_new_figure_rejects_bad_arguments(args, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        new_figure(*args, **kwargs)


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: new_figure(200, 200), r"new_figure\(200, 200\) would make 40000 panels"),
        (
            lambda: plot_depth_panels(
                range(4), {f"p{i}": {"plain": Q} for i in range(400)}, ncols=1
            ),
            r"panels \(400 of them\) in ncols=1 columns would make 400 panels",
        ),
        (
            lambda: plot_depth_panels(range(4), {"GELU": {"plain": Q}}, ncols=1000),
            r"ncols=1000 columns would make 1000 panels",
        ),
    ],
)
def test_too_many_panels_fail_at_once_with_the_limit(call, pattern):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=pattern + r".*more than the 100 .*; .*fewer"):
        call()
    assert time.perf_counter() - start < 2.0


def test_an_interrupted_new_figure_leaves_no_figure_open(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C while the axes are being made

    monkeypatch.setattr(Figure, "subplots", interrupted)
    with pytest.raises(KeyboardInterrupt):
        new_figure(2, 2)  # the autouse fixture checks that pyplot has no new figure


@pytest.mark.parametrize(
    "x, error, pattern",
    [
        (torch.zeros(2, 3), ValueError, r"x must be one-dimensional, .*got shape \(2, 3\)"),
        (None, TypeError, r"x must be a one-dimensional tensor, .*got None \(NoneType\)"),
        (["a", "b"], TypeError, r"x must be a one-dimensional .*got strings: \['a', 'b'\]"),
        ([True, False], TypeError, r"x must be a one-dimensional .*got bools: \[True, False\]"),
        (torch.zeros(2, device="meta"), ValueError, r"x is on the meta device"),
        ([], ValueError, r"x is empty \(shape \(0,\)\)"),
    ],
)
def test_plotted_data_must_be_numbers_of_the_right_shape(x, error, pattern):
    with pytest.raises(error, match=pattern):
        plot_activations(x, {"gelu": [1.0, 2.0]})


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: plot_gelu_error([], {0.044715: []}), r"x is empty"),
        (lambda: plot_coefficient_scan([], {"gelu": []}), r"coefficients is empty"),
        (
            lambda: plot_gelu_explorer_view([], [], [], 0.044715, [0.01, 0.04], SCAN),
            r"x is empty",
        ),
        (
            lambda: plot_block_gradients({"a": {"pre-LN": []}}),
            r"panels\['a'\]\['pre-LN'\] is empty",
        ),
        (lambda: plot_block_gradients({"12 blocks": {}}), r"panels\['12 blocks'\] is empty"),
    ],
)
def test_empty_data_is_named(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_low_precision_data_is_drawn_from_float32(grids):
    half = plot_activations(XS.bfloat16(), {"gelu": XS.bfloat16()})
    full = plot_activations(XS.bfloat16().float(), {"gelu": XS.bfloat16().float()})
    np.testing.assert_array_equal(
        half.axes[0].lines[0].get_xdata(), full.axes[0].lines[0].get_xdata()
    )
    table, _, X, y = grids
    assert len(plot_decision_boundaries(table, X.bfloat16(), y).axes) == 2


@pytest.mark.parametrize(
    "call, pattern",
    [
        (
            lambda: plot_gelu_error(XS, {"gelu": torch.zeros(7)}),
            r"each key of errors \(a cubic coefficient .*\) must be a real number, got 'gelu'",
        ),
        (
            lambda: plot_coefficient_scan([0.01, 0.04], SCAN, current="0.04", current_error=0.001),
            r"current must be a real number, got '0.04' \(str\)",
        ),
        (
            lambda: plot_gelu_explorer_view(XS, XS, XS, "0.044715", [0.01, 0.04], SCAN),
            r"cubic_coefficient must be a real number, got '0.044715' \(str\)",
        ),
        (
            lambda: plot_loss_curves(
                {"plain": {2: [0.7]}, "shortcut": {2: [0.6]}}, chance_loss="ln2"
            ),
            r"chance_loss .* must be a real number, got 'ln2' \(str\)",
        ),
        (
            lambda: plot_gradient_comparison({"a": 1.0}, {"a": 1.0}, steady_axes="yes"),
            r"steady_axes must be True or False, got 'yes' \(str\)",
        ),
        (
            lambda: plot_block_gradients({"a": {"pre-LN": ["0.1", "0.01"]}}),
            r"panels\['a'\]\['pre-LN'\] must be a one-dimensional .*got strings: \['0.1', '0.01'\]",
        ),
    ],
)
def test_numbers_given_as_strings_are_named(call, pattern):
    with pytest.raises(TypeError, match=pattern):
        call()


def test_decision_boundary_accuracies_must_be_numbers_for_every_panel(grids):
    table, _, X, y = grids
    with pytest.raises(
        TypeError, match=r"accuracies\['plain'\]\[2\] must be a real number, got '50%'"
    ):
        plot_decision_boundaries(
            table, X, y, accuracies={"plain": {2: "50%"}, "shortcut": {2: 0.5}}
        )
    with pytest.raises(ValueError, match=r"accuracies has no 'shortcut' entry; expected e\.g\. \{"):
        plot_decision_boundaries(table, X, y, accuracies={"plain": {2: 0.5}})


@pytest.mark.parametrize(
    "call, pattern",
    [
        (
            lambda: plot_coefficient_scan([0.0, 0.04], {"gelu": [NAN, 0.01]}),
            r"max_errors\['gelu'\] must be finite, but 1 of its 2 value\(s\) are NaN or infinite",
        ),
        (
            lambda: plot_coefficient_scan([0.0, 0.04], {"gelu": [float("inf"), 0.01]}),
            r"max_errors\['gelu'\] must be finite, but 1 of its 2",
        ),
        (
            lambda: plot_gradient_bands([NAN] * 4, {"plain": Q}),
            r"x must be finite, but 4 of its 4 value\(s\) are NaN or infinite",
        ),
        (
            lambda: plot_loss_curves({"plain": {2: [0.7, NAN]}, "shortcut": {2: [0.7, 0.5]}}),
            r"losses\['plain'\]\[2\] must be finite, but 1 of its 2 .*lower lr",
        ),
    ],
)
def test_nan_and_infinite_data_are_reported(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_nan_probabilities_are_reported_not_drawn_as_one_class(grids):
    table, grid, X, y = grids
    broken = {"plain": {2: grid}, "shortcut": {2: (grid[0], grid[1], torch.full((5, 5), NAN))}}
    pattern = (
        r"grids\['shortcut'\]\[2\]\[2\] \(the probabilities\) must be finite, but 25 of its 25"
    )
    with pytest.raises(ValueError, match=pattern):
        plot_decision_boundaries(broken, X, y)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # matplotlib's margins
def test_gradients_near_the_ends_of_float64_are_drawn():
    for plain, shortcut in [
        ({"a": 1.0}, {"a": 1e300}),
        ({"a": 1e-320, "b": 1.0}, {"a": 1e300, "b": 1.0}),
    ]:
        figure = plot_gradient_comparison(plain, shortcut)
        low, high = figure.axes[0].get_ylim()
        assert 0 < low < high < float("inf")
    figure = plot_block_gradients({"a": {"pre-LN": [1e-320, 1e300]}})
    assert 0 < figure.axes[0].get_ylim()[0]


@pytest.mark.parametrize(
    "call, pattern",
    [
        (
            lambda: plot_network_diagram([3, 3, 1], variants=True),
            r"variants must be a list of True/False, .*got True \(bool\)",
        ),
        (
            lambda: plot_depth_panels(range(4), {"GELU": Q}),
            r"panels\['GELU'\] must be a dict such as \{'plain': .*got ndarray",
        ),
        (
            lambda: plot_loss_curves({"plain": [0.7, 0.6], "shortcut": [0.7, 0.5]}),
            r"losses\['plain'\] must be a dict such as \{depth: \.\.\.\}.*got list",
        ),
        (
            lambda: plot_block_gradients({"12 blocks": [0.1, 0.01]}),
            r"panels\['12 blocks'\] must be a dict such as \{'pre-LN': .*got list",
        ),
        (
            lambda: plot_gradient_bands(range(4), {"plain": Q}, colors="red"),
            r"colors must be a dict such as \{'plain': '#D55E00'.*got str",
        ),
        (
            lambda: plot_block_gradients({"a": {"pre-LN": [0.1]}}, figure="fig"),
            r"figure must be None or a Figure with axes .*got 'fig' \(str\)",
        ),
        (
            lambda: Explorer([1, 2], lambda: None),
            r"controls must be a dict such as \{'depth': widgets.IntSlider.*got list",
        ),
        (
            lambda: Explorer({"a": 5}, lambda a: None),
            r"controls\['a'\] must be an ipywidgets control .*got 5 \(int\)",
        ),
    ],
)
def test_wrong_containers_are_named_with_an_example(call, pattern):
    with pytest.raises(TypeError, match=pattern):
        call()


def test_decision_boundaries_need_grids_not_models(grids):
    table, grid, X, y = grids
    plain, shortcut = make_classifier_pair(3, 4)
    with pytest.raises(
        TypeError, match=r"grids\['plain'\]\[2\] must be .*got a model .*decision_grid\(model\)"
    ):
        plot_decision_boundaries({"plain": {2: plain}, "shortcut": {2: shortcut}}, X, y)
    with pytest.raises(ValueError, match=r"grids\['plain'\]\[2\] must be the triple .*got 2 item"):
        plot_decision_boundaries({"plain": {2: grid[:2]}, "shortcut": {2: grid}}, X, y)


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (
            lambda: plot_gradient_bands(range(4), {"plain": Q}, colors={"plain": "notacolor"}),
            ValueError,
            r"colors\['plain'\] must be a matplotlib colour such as .*got 'notacolor'",
        ),
        (
            lambda: plot_depth_panels(range(5), {"GELU": {"plain": Q}}),
            ValueError,
            r"depths has 5 positions but the series in panels have 4 points",
        ),
        (
            lambda: plot_depth_and_dead(range(4), {"plain": Q}, {"plain": [0, 0.1]}),
            ValueError,
            r"dead_fraction\['plain'\] has 2 values but depths has 4",
        ),
        (
            lambda: plot_depth_panels(range(4), {"GELU": {"plain": Q}}, ncols=0),
            ValueError,
            r"ncols must be a positive integer, got 0",
        ),
        (
            lambda: plot_depth_panels(range(4), {"GELU": {"plain": Q}}, ncols=-1),
            ValueError,
            r"ncols must be a positive integer, got -1",
        ),
        (
            lambda: plot_depth_panels(range(4), {"GELU": {"plain": Q}}, ncols=2.0),
            TypeError,
            r"ncols must be a positive integer, got 2.0 \(float\)",
        ),
        (
            lambda: BandPlot(["plain"]).update(range(2), {"plain": np.ones((3, 2))}, ylim=(0, 1)),
            ValueError,
            r"ylim must be \(low, high\) with 0 < low < high .*got \(0, 1\)",
        ),
        (
            lambda: plot_block_gradients(
                {"a": {"pre-LN": [0.1]}, "b": {"pre-LN": [0.1]}}, figure=new_figure()[0]
            ),
            ValueError,
            r"figure has 1 axes but panels has 2 entries",
        ),
        (
            lambda: depth_explorer(depth=5, seeds=5),
            ValueError,
            r"seeds must be a multiple of 4 .*got 5",
        ),
    ],
)
def test_bad_values_counts_and_sizes_are_named(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_numpy_bools_are_accepted_as_variants():
    figure = plot_network_diagram([3, 3, 1], variants=[np.bool_(True)])
    assert len(figure.axes) == 1 and "with shortcuts" in figure.axes[0].get_title(loc="left")


def test_runs_of_train_depths_and_block_gradient_tables_are_drawn():
    X, y = make_spirals(8)
    runs = train_depths(X, y, depths=[2], width=4, steps=2)
    figure = plot_loss_curves(runs)
    np.testing.assert_allclose(figure.axes[0].lines[0].get_ydata(), runs["plain"][2].history.losses)
    stack = make_stacks(2, 0)["pre-LN"]
    means = block_gradient_means(stack, *stack_input(0))
    from_table = plot_block_gradients({"2 blocks": {"pre-LN": means}})
    from_list = plot_block_gradients({"2 blocks": {"pre-LN": list(means.values())}})
    heights = [[bar.get_height() for bar in f.axes[0].patches] for f in (from_table, from_list)]
    assert heights[0] == heights[1]


def test_an_explorer_draw_must_return_a_figure_and_data():
    with pytest.raises(TypeError, match=r"draw must return \(figure, data\), .*got \(None, None\)"):
        Explorer({"a": widgets.IntSlider(value=1)}, lambda a: (None, None))
    with pytest.raises(TypeError, match=r"draw must be a function, got 'draw' \(str\)"):
        Explorer({}, "draw")


# --- second sweep: overflowing scans, lengths, grids, explorers, foreign figures, titles ------


@pytest.mark.parametrize(
    "max_errors, kwargs",
    [
        ({"gelu": [1.7e308, 1.0]}, {}),
        ({"gelu": [1e308, 1.0]}, {}),
        ({"gelu": [1e-3, 1.0]}, {"current": 0.3, "current_error": 1.7e308}),
        ({"gelu": [1e250, 1e-300]}, {}),
    ],
)
def test_a_coefficient_scan_near_the_end_of_float64_is_drawn(max_errors, kwargs):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "overflow encountered" from the ticks either
        figure = plot_coefficient_scan([0.1, 0.2], max_errors, **kwargs)
        assert figure_to_png(figure).startswith(b"\x89PNG")
    low, high = figure.axes[0].get_ylim()
    assert 0 < low < high < float("inf")


@pytest.mark.parametrize(
    "call, pattern",
    [
        (
            lambda: plot_activations([0, 1], {"gelu": [0, 1]}, {"gelu": [0]}),
            r"^derivatives: curve 'gelu' has 1 values but x has 2; expected 2, one per point of x$",
        ),
        (
            lambda: plot_activations([0, 1], {"gelu": [0, 1, 2]}),
            r"^values: curve 'gelu' has 3 values but x has 2; expected 2, one per point of x$",
        ),
        (
            lambda: plot_gelu_error([0, 1], {0.044715: [0.1]}),
            r"^errors\[0\.044715\] has 1 value\(s\); expected 2, one per point of x$",
        ),
    ],
)
def test_a_curve_of_the_wrong_length_names_its_argument_and_the_length_expected(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (
            {"gridspec_kw": {"width_ratios": [1, 2, 3]}},
            ValueError,
            r"gridspec_kw's width_ratios has 3 value\(s\), \[1, 2, 3\], but the grid has 1 "
            r"column\(s\); give 1 number\(s\) >= 0, one per column \(ncols=1\)",
        ),
        (
            {"nrows": 2, "height_ratios": [1]},
            ValueError,
            r"height_ratios has 1 value\(s\), \[1\], but the grid has 2 row\(s\)",
        ),
        ({"width_ratios": 3}, TypeError, r"width_ratios must be a list of 1 number.*got 3 \(int\)"),
        ({"ncols": 2, "width_ratios": [1, -1]}, ValueError, r"width_ratios\[1\] .*>= 0.*got -1"),
        ({"width_ratios": [0]}, ValueError, r"width_ratios are all 0, got \[0\]"),
        ({"gridspec_kw": [1]}, TypeError, r"gridspec_kw must be a dict such as .*got \[1\]"),
        ({"gridspec_kw": {"colspan": 1}}, TypeError, r"gridspec_kw has the unknown key 'colspan'"),
    ],
)
def test_new_figure_names_grid_ratios_that_do_not_fit_the_grid(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        new_figure(**kwargs)


def test_new_figure_accepts_ratios_as_arrays_and_tensors():
    for ratios in (np.array([3, 2]), torch.tensor([3.0, 2.0]), [3, 2]):
        figure, _ = new_figure(1, 2, width_ratios=ratios)
        assert figure.axes[0].get_gridspec().get_width_ratios() == [3.0, 2.0]


def test_new_figure_cannot_reuse_a_figure_pyplot_has_open():
    opened = plt.figure(1)
    try:
        with pytest.raises(ValueError, match=r"num=1: pyplot already has a figure 1 open.*"):
            new_figure(num=1)
        with pytest.raises(TypeError, match=r"num must be a figure number or label, got a Fi"):
            new_figure(num=opened)
        assert plt.get_fignums() == [1] and not opened.axes
    finally:
        plt.close(opened)


@pytest.mark.parametrize(
    "draw, pattern",
    [
        (lambda b: None, r"called as draw\(a=\.\.\.\), but draw\(b\) cannot be \(missing .*'b'"),
        (lambda: None, r"draw\(\) cannot be \(got an unexpected keyword argument 'a'\)"),
    ],
)
def test_an_explorer_draw_must_take_the_controls_names(draw, pattern):
    with pytest.raises(TypeError, match=r"^draw must take one keyword argument per control.*"):
        Explorer({"a": widgets.IntSlider()}, draw)
    with pytest.raises(TypeError, match=pattern):
        Explorer({"a": widgets.IntSlider()}, draw)


def _draw(a):
    figure, _ = new_figure()
    return figure, a


@pytest.mark.parametrize(
    "draw, render, error, pattern",
    [
        (_draw, lambda f: 3, TypeError, r"^render must return the figure as PNG bytes.*got 3 "),
        (_draw, lambda f: b"GIF89a", TypeError, r"^render must return .*got b'GIF89a' \(bytes\)"),
        (_draw, lambda f: 1 / 0, ValueError, r"^render\(figure\) raised ZeroDivisionError"),
        (lambda a: 1 / a, figure_to_png, ValueError, r"^draw\(a=0\) raised ZeroDivisionError: "),
    ],
)
def test_an_explorer_names_its_own_functions_when_they_fail(draw, render, error, pattern):
    with pytest.raises(error, match=pattern) as caught:
        Explorer({"a": widgets.IntSlider()}, draw, render=render)
    assert error is TypeError or isinstance(caught.value.__cause__, ZeroDivisionError)


PAIR = {"layers.0.0.weight": 0.1, "layers.1.0.weight": 0.2}


def _line_figure():
    figure, ax = new_figure()
    ax.plot([0, 1])
    return figure


@pytest.mark.parametrize(
    "other", [lambda: plot_network_diagram([3, 3, 1]), _line_figure], ids=["diagram", "lines"]
)
def test_a_gradient_comparison_is_not_drawn_into_another_figure(other):
    figure = other()
    before = [len(ax.get_children()) for ax in figure.axes]
    with pytest.raises(ValueError, match=r"^figure must be one returned by an earlier plot_grad"):
        plot_gradient_comparison(PAIR, PAIR, figure=figure)
    assert [len(ax.get_children()) for ax in figure.axes] == before
    again = plot_gradient_comparison(PAIR, PAIR, figure=plot_gradient_comparison(PAIR, PAIR))
    assert plot_gradient_comparison(PAIR, PAIR, figure=new_figure()[0]).axes[0].containers
    assert len(again.axes[0].containers) == 2


@pytest.mark.parametrize(
    "call",
    [
        lambda q: plot_gradient_bands(range(4), {"plain": q}),
        lambda q: plot_depth_panels(range(4), {"GELU": {"plain": q}}),
        lambda q: plot_depth_and_dead(range(4), {"plain": q}, {"plain": [0.0] * 4}),
        lambda q: BandPlot(["plain"]).update(range(4), {"plain": q}),
    ],
)
def test_negative_gradient_quartiles_are_refused(call):
    pattern = r"\['plain'\] must hold quartiles of mean \|gradients\|, >= 0 .*got -1 among them"
    with pytest.raises(ValueError, match=pattern):
        call(-Q)
    call(np.where(Q > 0, NAN, Q))  # NaN is still a gap


@pytest.mark.parametrize(
    "call",
    [
        lambda title: plot_gradient_bands(range(4), {"plain": Q}, title=title),
        lambda title: plot_depth_and_dead(
            range(4), {"plain": Q}, {"plain": [0.0] * 4}, title=title
        ),
        lambda title: plot_depth_panels(range(4), {"GELU": {"plain": Q}}, suptitle=title),
        lambda title: BandPlot(["plain"]).update(range(4), {"plain": Q}, title=title),
        lambda title: plot_gradient_comparison(PAIR, PAIR, title=title),
        lambda title: plot_network_diagram([3, 3, 1], title=title),
        lambda title: plot_loss_curves({"plain": {2: [0.7]}, "shortcut": {2: [0.6]}}, title=title),
    ],
)
def test_every_plot_takes_title_none_and_refuses_a_title_that_is_not_text(call):
    assert isinstance(call(None), Figure)
    with pytest.raises(
        TypeError, match=r"(title|suptitle) must be a string or None, got 3 \(int\)"
    ):
        call(3)
