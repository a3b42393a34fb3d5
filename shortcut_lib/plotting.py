"""Figures for the lessons: functions that take data and return a matplotlib ``Figure``.

One look everywhere: the Okabe-Ito colour-blind-safe palette, plain networks in
vermillion and shortcut networks in blue, labelled axes, log scales where
magnitudes span decades. Figures are closed from pyplot as soon as they are
made, so they are shown only where a notebook (or an explorer) displays them.
"""

from __future__ import annotations

import io
import math
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import PIL.Image
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullLocator
from matplotlib.transforms import Bbox

from .validation import check_gradient_means, check_mapping

__all__ = [
    "COLORS",
    "OKABE_ITO",
    "figure_style",
    "new_figure",
    "figure_to_png",
    "ACTIVATION_LABELS",
    "plot_activations",
    "plot_gelu_error",
    "plot_coefficient_scan",
    "plot_gelu_explorer_view",
    "plot_network_diagram",
    "CachedAxesRenderer",
    "axes_state",
    "plot_gradient_comparison",
    "BandPlot",
    "band_limits",
    "plot_gradient_bands",
    "plot_depth_panels",
    "log_decade_axis",
    "plot_depth_and_dead",
    "CLASS_COLORS",
    "plot_loss_curves",
    "plot_decision_boundaries",
]

#: Okabe & Ito (2008), distinguishable with every common colour-vision deficiency.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}

#: What each colour means across every lesson.
COLORS = {
    "plain": OKABE_ITO["vermillion"],
    "shortcut": OKABE_ITO["blue"],
    "gelu": OKABE_ITO["green"],
    "gelu_exact": OKABE_ITO["black"],
    "relu": OKABE_ITO["purple"],
    "tanh": OKABE_ITO["sky_blue"],
    "sigmoid": OKABE_ITO["orange"],
    "identity": "#777777",
    "typo": OKABE_ITO["orange"],
    "normalised": OKABE_ITO["green"],
}

#: Text that reads from the back of a room: at 100 dpi 14 pt is 19 px, about the slides'
#: body text (20 px on the 1280 x 800 canvas; 15 px once a projector scales the canvas to
#: 1024 x 768). Before: 11 pt, 15 px on the canvas, 12 px projected. Titles stay at 14 pt:
#: the longest lesson title just fits its 5-inch panel.
_STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 14,
    "axes.titlesize": 14,
    "axes.labelsize": 14,
    "xtick.labelsize": 14,
    "ytick.labelsize": 14,
    "legend.fontsize": 13,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
}


@contextmanager
def figure_style() -> Iterator[None]:
    """The lessons' matplotlib style, applied only inside the ``with`` block."""
    with matplotlib.rc_context(_STYLE):
        yield


def new_figure(
    nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (7.0, 4.0), **kwargs
) -> tuple[Figure, Axes | list]:
    """A constrained-layout figure in the lessons' style, detached from pyplot.

    Returns ``(figure, axes)`` like ``plt.subplots``. The figure is closed in
    pyplot straight away: Jupyter shows it only when a cell returns or displays
    it, and explorers that redraw often do not pile figures up in memory.
    """
    open_before = set(plt.get_fignums())
    try:
        with figure_style():
            fig, axes = plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", **kwargs)
    except Exception:  # bad arguments: leave no half-made figure open in pyplot
        for number in set(plt.get_fignums()) - open_before:
            plt.close(number)
        raise
    plt.close(fig)
    return fig, axes


def _check_figure(figure: object) -> None:
    """``figure=`` of a redraw: ``None`` or a figure from :func:`new_figure` or an earlier call."""
    if figure is not None and (not isinstance(figure, Figure) or not figure.axes):
        raise TypeError(
            f"figure must be None or a Figure with axes (from new_figure or an earlier "
            f"call), got {figure!r} ({type(figure).__name__})"
        )


def figure_to_png(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes (what an explorer displays, and what tests compare)."""
    # One Agg draw, then PIL at zlib level 1. savefig would draw the whole figure twice
    # whenever a layout engine is set (even a frozen one), and encode at level 6: together
    # most of an explorer's redraw time on a slow CPU.
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    with figure_style():
        canvas.draw()
    return _encode_png(canvas)


# --- Figures without a display (issue 6) -----------------------------------------


def _show_returned_figures_as_png_in_any_backend() -> None:
    """Let a cell that returns a Figure show it as a PNG whatever matplotlib's backend.

    IPython renders figures as PNG only once the inline backend has registered a renderer;
    in a kernel started with ``MPLBACKEND=Agg`` (headless servers, some CI images) a lesson's
    figures would show as bare ``<Figure size 700x400 with 1 Axes>``. This registers
    :func:`figure_to_png` only when no renderer is there; when the inline backend activates it
    replaces this one with its own, so Jupyter's usual behaviour is unchanged.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # matplotlib without IPython: nothing to display to
        return
    shell = get_ipython()
    if shell is None:
        return
    png = shell.display_formatter.formatters["image/png"]
    try:
        png.lookup_by_type(Figure)
    except KeyError:
        png.for_type(Figure, figure_to_png)


_show_returned_figures_as_png_in_any_backend()


# --- Lesson 01: GELU ------------------------------------------------------------

#: Legend text for each curve name of lesson 01 (names as in ``ACTIVATIONS``).
ACTIVATION_LABELS = {
    "gelu_exact": "exact GELU  x·Φ(x)",
    "gelu": "tanh GELU (c = 0.044715)",
    "relu": "ReLU",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "identity": "identity",
}
# Drawn on top of one another the exact and tanh GELU are one line: dash the tanh one.
_ACTIVATION_STYLES = {"gelu_exact": {"linewidth": 3.0}, "gelu": {"linestyle": (0, (4, 3))}}
_ERROR_FLOOR = 1e-8  # |error| is drawn on a log axis; exact zeros (crossings) sit here
_PUBLISHED_COEFFICIENT = 0.044715


def _as_array(values: object) -> np.ndarray:
    """A 1-D float numpy array from a tensor, array or sequence."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"expected 1-D data, got shape {array.shape}")
    return array


def _freeze_layout(figure: Figure) -> None:
    """Fix the axes where constrained layout last put them, so redraws skip the layout pass.

    An explorer redraws the same figure many times; re-solving the layout on every
    render doubled its cost, and the positions hardly change between redraws.
    """
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    if isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine):
        figure.draw_without_rendering()
        figure.set_layout_engine("none")


def _coefficient_color(coefficient: float) -> str:
    if coefficient == _PUBLISHED_COEFFICIENT:
        return COLORS["gelu"]
    if coefficient == 0.004715:
        return COLORS["typo"]
    return OKABE_ITO["purple"]


def _draw_curves(ax: Axes, x: np.ndarray, curves: Mapping[str, object], ylabel: str) -> None:
    for name, values in curves.items():
        y = _as_array(values)
        if y.shape != x.shape:
            raise ValueError(f"curve {name!r} has {y.size} values but x has {x.size}")
        style = {
            "color": COLORS.get(name, OKABE_ITO["sky_blue"]),
            **_ACTIVATION_STYLES.get(name, {}),
        }
        ax.plot(x, y, label=ACTIVATION_LABELS.get(name, name), **style)
    ax.axhline(0.0, color="#999999", linewidth=0.8)
    ax.axvline(0.0, color="#999999", linewidth=0.8)
    ax.set_xlabel("x")
    ax.set_ylabel(ylabel)


def plot_activations(
    x: Sequence[float],
    values: Mapping[str, Sequence[float]],
    derivatives: Mapping[str, Sequence[float]] | None = None,
) -> Figure:
    """Activation functions side by side with their derivatives.

    Args:
        x: 1-D inputs (tensor, array or list).
        values: curve name -> f(x), names as in ``ACTIVATIONS`` (``"gelu_exact"``,
            ``"gelu"``, ``"relu"``, ...), which pick the colour and legend text.
        derivatives: the same names -> f'(x); ``None`` draws the functions only.

    Returns:
        A figure with one axes (functions) or two (functions, derivatives); each
        line's label is its legend text.
    """
    check_mapping(values, "values", '{"gelu": y_values}')
    if derivatives is not None:
        check_mapping(derivatives, "derivatives", '{"gelu": slopes}')
    x_array = _as_array(x)
    if not values:
        raise ValueError("values is empty; expected at least one curve, e.g. {'gelu': ...}")
    ncols = 1 if derivatives is None else 2
    figure, axes = new_figure(1, ncols, figsize=(5.0 * ncols, 4.0), squeeze=False)
    with figure_style():
        left = axes[0][0]
        _draw_curves(left, x_array, values, "f(x)")
        left.set_title("The activations")
        left.legend(loc="upper left")
        if derivatives is not None:
            right = axes[0][1]
            _draw_curves(right, x_array, derivatives, "f′(x)  (by autograd)")
            right.set_title("Their derivatives: what backprop multiplies by")
            right.legend(loc="upper left")
    return figure


def _draw_error_axes(ax: Axes, x: np.ndarray, errors: Mapping[float, object]) -> dict[float, float]:
    """|error| against x on a log axis, one line per coefficient, maxima marked."""
    maxima = {}
    for coefficient, values in errors.items():
        error = np.abs(_as_array(values))
        if error.shape != x.shape:
            raise ValueError(f"error for c = {coefficient} has {error.size} values, x has {x.size}")
        color = _coefficient_color(coefficient)
        maxima[coefficient] = float(error.max())
        ax.plot(
            x,
            np.maximum(error, _ERROR_FLOOR),
            color=color,
            linewidth=1.6,
            label=f"c = {coefficient:g}: max {maxima[coefficient]:.2g}",
        )
        ax.axhline(maxima[coefficient], color=color, linewidth=1.0, linestyle=":")
    ax.set_yscale("log")
    ax.set_ylim(_ERROR_FLOOR, 1.0)
    ax.yaxis.set_major_formatter(_power_of_ten_label)
    ax.minorticks_off()
    ax.set_xlabel("x")
    ax.set_ylabel("|tanh GELU − exact GELU|  (log)")
    ax.legend(loc="upper right")
    return maxima


def plot_gelu_error(x: Sequence[float], errors: Mapping[float, Sequence[float]]) -> Figure:
    """How far the tanh GELU is from the exact one, for each cubic coefficient.

    Args:
        x: 1-D inputs.
        errors: coefficient ``c`` -> signed error ``GELU_c(x) − x·Φ(x)`` at ``x``
            (e.g. from :func:`~shortcut_lib.approximation.approximation_error`).
            ``0.044715`` is drawn green, student notebook A's ``0.004715`` orange.

    Returns:
        A figure whose axes has a log y axis, one line per coefficient (``|error|``,
        floored at 1e-8 where it crosses zero) and a dotted line at each maximum.
    """
    check_mapping(errors, "errors", "{0.044715: errors_along_x}")
    x_array = _as_array(x)
    if not errors:
        raise ValueError("errors is empty; expected {coefficient: error values}")
    figure, ax = new_figure(figsize=(7.0, 4.0))
    with figure_style():
        _draw_error_axes(ax, x_array, errors)
        ax.set_title("Error of the tanh approximation (dotted: its maximum)")
    return figure


def _draw_scan_axes(
    ax: Axes,
    coefficients: np.ndarray,
    max_errors: Mapping[str, object],
    current: float | None,
    current_error: float | None,
) -> None:
    styles = {
        "gelu": {"color": COLORS["gelu"], "label": "GELU  x·Φ(x)"},
        "cdf": {"color": OKABE_ITO["sky_blue"], "linestyle": "--", "label": "CDF  Φ(x)"},
    }
    shown = []
    for target, values in max_errors.items():
        errors = _as_array(values)
        if errors.shape != coefficients.shape:
            raise ValueError(
                f"max_errors[{target!r}] has {errors.size} values but there are "
                f"{coefficients.size} coefficients"
            )
        style = styles.get(target, {"color": OKABE_ITO["purple"], "label": target})
        shown.append(np.maximum(errors, _ERROR_FLOOR))
        ax.plot(coefficients, shown[-1], **style)
    # Whole decades, so the valley's bottom has a labelled tick under it.
    lowest = min(float(values.min()) for values in shown)
    highest = max(float(values.max()) for values in shown)
    if current_error is not None:
        lowest = min(lowest, max(current_error, _ERROR_FLOOR))
        highest = max(highest, current_error)
    ax.set_ylim(10.0 ** math.floor(math.log10(lowest)), 10.0 ** math.ceil(math.log10(highest)))
    ax.axvline(_PUBLISHED_COEFFICIENT, color=COLORS["gelu_exact"], linewidth=1.0, linestyle=":")
    ax.text(
        _PUBLISHED_COEFFICIENT,
        0.97,
        " 0.044715",
        transform=ax.get_xaxis_transform(),
        ha="left",
        va="top",
        fontsize=9,
    )
    if current is not None and current_error is not None:
        ax.plot(
            [current],
            [max(current_error, _ERROR_FLOOR)],
            "o",
            color=COLORS["typo"],
            markersize=9,
            label=f"c = {current:.6g}",
            zorder=5,
        )
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(_power_of_ten_label)
    ax.minorticks_off()
    ax.set_xlabel("cubic coefficient c")
    ax.set_ylabel("max |error| over the x range  (log)")
    ax.legend(loc="lower left")


def plot_coefficient_scan(
    coefficients: Sequence[float],
    max_errors: Mapping[str, Sequence[float]],
    current: float | None = None,
    current_error: float | None = None,
) -> Figure:
    """Worst-case error of the approximation against the cubic coefficient ``c``.

    Args:
        coefficients: 1-D values of ``c``.
        max_errors: ``"gelu"`` and/or ``"cdf"`` -> the max |error| for each
            coefficient (:func:`~shortcut_lib.approximation.max_error_vs_coefficient`).
        current, current_error: one coefficient to mark with a dot (and its error).

    Returns:
        A figure with a log y axis; a dotted vertical line marks 0.044715.
    """
    check_mapping(max_errors, "max_errors", '{"gelu": errors_per_c}')
    c = _as_array(coefficients)
    if not max_errors:
        raise ValueError("max_errors is empty; expected {'gelu': ..., 'cdf': ...}")
    figure, ax = new_figure(figsize=(7.0, 4.0))
    with figure_style():
        _draw_scan_axes(ax, c, max_errors, current, current_error)
        ax.set_title("Worst-case error against the cubic coefficient")
    return figure


def plot_gelu_explorer_view(
    x: Sequence[float],
    exact: Sequence[float],
    approximation: Sequence[float],
    cubic_coefficient: float,
    coefficients: Sequence[float],
    max_errors: Mapping[str, Sequence[float]],
    figure: Figure | None = None,
) -> Figure:
    """The GELU explorer's three panels: the curves, the error along x, the error against c.

    Args:
        x, exact, approximation: the exact GELU and the tanh GELU with constant
            ``cubic_coefficient`` at the points ``x``.
        coefficients, max_errors: as for :func:`plot_coefficient_scan`; the current
            coefficient is marked on it.
        figure: a figure from an earlier call, cleared and redrawn (cheaper than a new one).
    """
    check_mapping(max_errors, "max_errors", '{"gelu": errors_per_c}')
    _check_figure(figure)
    x_array, exact_array, approx_array = _as_array(x), _as_array(exact), _as_array(approximation)
    if not exact_array.shape == approx_array.shape == x_array.shape:
        raise ValueError(
            f"x, exact and approximation must have the same length, got {x_array.size}, "
            f"{exact_array.size} and {approx_array.size}"
        )
    error = approx_array - exact_array
    max_error = float(np.abs(error).max())
    if figure is None:
        figure, _ = new_figure(1, 3, figsize=(13.0, 4.0))
    if len(figure.axes) != 3:
        raise ValueError(f"figure must have the explorer's 3 axes, got {len(figure.axes)}")
    old_lines = figure.axes[0].lines
    if old_lines and np.array_equal(old_lines[0].get_xdata()[[0, -1]], x_array[[0, -1]]):
        _freeze_layout(figure)  # same x range: same tick labels, the layout still fits
    else:
        figure.set_layout_engine("constrained")  # new tick labels: lay out again once
    left, middle, right = figure.axes
    with figure_style():
        for ax in figure.axes:
            ax.clear()
        left.plot(
            x_array, exact_array, color=COLORS["gelu_exact"], linewidth=3.0, label="exact  x·Φ(x)"
        )
        left.plot(
            x_array,
            approx_array,
            color=_coefficient_color(cubic_coefficient),
            linestyle=(0, (4, 3)),
            label=f"tanh, c = {cubic_coefficient:.6g}",
        )
        left.set_xlabel("x")
        left.set_ylabel("GELU(x)")
        left.set_title("The curves")
        left.legend(loc="upper left")
        _draw_error_axes(middle, x_array, {cubic_coefficient: error})
        middle.set_title("Their difference along x")
        _draw_scan_axes(right, _as_array(coefficients), max_errors, cubic_coefficient, max_error)
        right.set_title("Worst error against c")
    return figure


# --- Lesson 02: the deep MLP ------------------------------------------------------

_BOX_HALF_WIDTH = 0.33
_BOX_HALF_HEIGHT = 0.28
_ARC_CONTROL_HEIGHT = 0.62  # the skip arcs peak at 3/4 of this, well above the boxes


def _diagram_font_size(depth: int) -> float:
    return max(6.0, 10.0 - 0.35 * max(0, depth - 5))


def _draw_network_axes(
    ax: Axes, sizes: list[int], use_shortcut: bool, activation: str, title: str
) -> None:
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path

    depth = len(sizes) - 1
    font = _diagram_font_size(depth)
    mask = [use_shortcut and a == b for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    grey, dark = "#BBBBBB", "#333333"

    def arrow(x0: float, x1: float) -> None:
        ax.add_patch(
            FancyArrowPatch(
                (x0, 0.0),
                (x1, 0.0),
                arrowstyle="-|>",
                mutation_scale=10,
                color=dark,
                linewidth=1.2,
                shrinkA=0,
                shrinkB=0,
            )
        )

    def skip_arc(x0: float, x1: float, **style: object) -> None:
        # A Bezier curve in data units, so it clears the box whatever the figure's aspect.
        path = Path(
            [
                (x0, 0.0),
                (x0 + 0.05, _ARC_CONTROL_HEIGHT),
                (x1 - 0.05, _ARC_CONTROL_HEIGHT),
                (x1, 0.09),
            ],
            [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4],
        )
        ax.add_patch(FancyArrowPatch(path=path, shrinkA=0, shrinkB=0, **style))

    def terminal(x: float, text: str) -> None:
        ax.text(
            x,
            0.0,
            text,
            ha="center",
            va="center",
            fontsize=font,
            bbox={"boxstyle": "round", "facecolor": "#EEEEEE", "edgecolor": grey},
        )

    terminal(0.0, f"input\n{sizes[0]}")
    terminal(depth + 1.0, f"output\n{sizes[-1]}")
    arrow(0.35, 1.0 - _BOX_HALF_WIDTH)
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        centre = layer + 1.0
        ax.add_patch(
            FancyBboxPatch(
                (centre - _BOX_HALF_WIDTH, -_BOX_HALF_HEIGHT),
                2 * _BOX_HALF_WIDTH,
                2 * _BOX_HALF_HEIGHT,
                boxstyle="round,pad=0.02",
                facecolor="#FFF4E0",
                edgecolor=dark,
                linewidth=1.0,
            )
        )
        ax.text(
            centre,
            0.0,
            f"Linear\n{n_in}→{n_out}\n{activation}",
            ha="center",
            va="center",
            fontsize=font,
        )
        ax.text(
            centre,
            -_BOX_HALF_HEIGHT - 0.08,
            f"{n_in * n_out + n_out} par.",
            ha="center",
            va="top",
            fontsize=font - 1,
            color="#555555",
        )
        end = centre + 1.0 - _BOX_HALF_WIDTH if layer < depth - 1 else depth + 1.0 - 0.38
        arrow(centre + _BOX_HALF_WIDTH, end)
        start_x, join_x = centre - 0.5, centre + 0.5
        if mask[layer]:
            # x_{i+1} = x_i + f(x_i): the input skips the box and joins its output at ⊕.
            skip_arc(
                start_x,
                join_x,
                arrowstyle="-|>",
                mutation_scale=10,
                color=COLORS["shortcut"],
                linewidth=1.8,
            )
            ax.plot(
                [join_x],
                [0.0],
                "o",
                markersize=11,
                markerfacecolor="white",
                markeredgecolor=COLORS["shortcut"],
                markeredgewidth=1.5,
                zorder=3,
            )
            ax.text(
                join_x,
                0.0,
                "+",
                ha="center",
                va="center",
                fontsize=font,
                fontweight="bold",
                color=COLORS["shortcut"],
                zorder=4,
            )
        elif use_shortcut:
            # Shapes differ: x + f(x) is undefined (or would silently broadcast).
            skip_arc(start_x, join_x, arrowstyle="-", color=grey, linewidth=1.2, linestyle="--")
            ax.text(
                centre,
                _ARC_CONTROL_HEIGHT * 0.75 + 0.08,
                f"no shortcut:\n{n_in} ≠ {n_out}",
                ha="center",
                va="bottom",
                fontsize=font - 1,
                color="#555555",
            )
    # At least ~8 layer widths across, so a shallow net keeps the boxes' proportions.
    span = max(depth + 2.1, 8.1)
    middle = (depth + 1.0) / 2.0
    ax.set_xlim(middle - span / 2.0, middle + span / 2.0)
    ax.set_ylim(-0.75, 1.15)
    ax.axis("off")
    ax.set_title(title, loc="left")


def plot_network_diagram(
    layer_sizes: Sequence[int],
    variants: Sequence[bool] = (False, True),
    activation: str = "GELU",
    title: str | None = None,
    figure: Figure | None = None,
) -> Figure:
    """The MLP drawn as boxes and arrows, once per variant (plain, with shortcuts).

    Each layer is a box ``Linear n_in→n_out`` + activation with its parameter count
    under it; with shortcuts, a blue arc carries the layer's input around the box to
    a ⊕ where it is added back, only where ``n_in == n_out``. Where the sizes differ
    a dashed grey arc says why there is no shortcut.

    Args:
        layer_sizes: ``[3, 3, 3, 3, 3, 1]`` is the book's network.
        variants: ``use_shortcut`` of each row, top to bottom.
        activation: text written in each box.
        title: figure title (e.g. a summary); ``None`` for none.
        figure: a figure from an earlier call with as many rows, redrawn in place.

    Returns:
        The figure, one axes per variant (titles say which).
    """
    _check_figure(figure)
    from .architecture import architecture_summary

    summary = architecture_summary(layer_sizes)
    if not variants or not all(isinstance(v, bool) for v in variants):
        raise ValueError(f"variants must be a non-empty sequence of True/False, got {variants!r}")
    if figure is None:
        width = max(7.0, 1.1 * (summary.depth + 2))
        figure, _ = new_figure(
            len(variants), 1, figsize=(min(width, 14.0), 1.9 * len(variants)), squeeze=False
        )
    if len(figure.axes) != len(variants):
        raise ValueError(
            f"figure has {len(figure.axes)} axes but {len(variants)} variants were asked for"
        )
    if figure.axes[0].has_data() or figure.axes[0].texts:
        _freeze_layout(figure)  # a redraw: the explorer's figure
    with figure_style():
        for ax, use_shortcut in zip(figure.axes, variants, strict=True):
            ax.clear()
            if use_shortcut:
                row_title = (
                    f"with shortcuts: x + f(x) where shapes match "
                    f"({summary.shortcuts} of {summary.depth} layers)"
                )
            else:
                row_title = "plain: x → f(x), layer after layer"
            _draw_network_axes(ax, summary.layer_sizes, use_shortcut, activation, row_title)
        figure.suptitle(title or "", fontsize=11)
    return figure


# --- Lesson 03: gradient comparison ---------------------------------------------

# Explorer renders (lessons 03 and 04). A labelled 700x400 figure takes 60-120 ms to
# render here, almost all of it text (each label costs milliseconds to lay out and
# rasterise), while the bars or lines that a slider moves take a few ms. So the text
# is drawn once per axes state and the data on top of a copy of it.

#: Backgrounds a CachedAxesRenderer keeps (700x400 RGBA: 1.1 MB each).
_BACKGROUND_CACHE_SIZE = 16


def _encode_png(canvas: FigureCanvasAgg) -> bytes:
    """The canvas's pixels as an RGB PNG (zlib level 1: several times faster than 6)."""
    width, height = canvas.get_width_height()
    image = PIL.Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw")
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def _text_state(text: Text, position: bool = True) -> tuple:
    where = tuple(text.get_position()) if position else ()
    return (text.get_text(), text.get_visible(), text.get_color(), *where)


def _axis_state(axis: Axis) -> list:
    """Limits, scale, ticks shown (positions, labels), label and visibility of one axis."""
    low, high = sorted(axis.get_view_interval())
    key: list = [(low, high), axis.get_scale(), axis.get_label_text(), axis.get_visible()]
    margin = 1e-9 * (high - low)
    for locations, formatter in (
        (axis.get_majorticklocs(), axis.get_major_formatter()),
        (axis.get_minorticklocs(), axis.get_minor_formatter()),
    ):
        # Only ticks inside the view are drawn (a FixedLocator lists all of its).
        shown = [v for v in locations if low - margin <= v <= high + margin]
        key += [tuple(shown), tuple(formatter.format_ticks(shown))]
    return key


def axes_state(figure: Figure, exclude: Sequence[Artist] = (), x_axis: bool = True) -> tuple:
    """Everything a figure's static layer shows that commonly changes, as a hashable key.

    Figure size and dpi; per axes: position, limits, scales, tick positions and
    labels, axis labels (the x axis's only if ``x_axis``), titles, legend texts,
    and every text not in ``exclude`` (text, visibility, position, colour). Other
    changes (colours, line styles, new artists) are not in it: call
    :meth:`CachedAxesRenderer.clear` after them.
    """
    skip = {id(artist) for artist in exclude}
    key: list = [tuple(figure.get_size_inches()), figure.dpi]
    key += [_text_state(t) for t in figure.texts if id(t) not in skip]
    for ax in figure.axes:
        key += [ax.get_visible(), tuple(ax.get_position().bounds)]
        key += _axis_state(ax.yaxis) + (_axis_state(ax.xaxis) if x_axis else [])
        # A render places the titles itself (above any tick labels): their text is the state.
        for title in (ax.title, ax._left_title, ax._right_title):
            if id(title) not in skip:
                key.append(_text_state(title, position=False))
        key += [_text_state(t) for t in ax.texts if id(t) not in skip]
        legend = ax.get_legend()
        if legend is not None and id(legend) not in skip:
            key.append(tuple(_text_state(t) for t in legend.get_texts()))
    return tuple(key)


class CachedAxesRenderer:
    """Render a figure to PNG over and over, redrawing only the artists that move.

    An explorer's figure changes in two ways: its data (bars, lines, bands, a
    title or a box naming the current numbers) on every slider step, and its axes
    (limits, ticks, labels) now and then. This renderer draws everything static
    once per distinct axes state into a background, keeps the last 16 of them,
    and for every call restores the matching background and draws just the
    ``dynamic`` artists on top (``full_renders`` counts the calls that had to
    draw a new background). Static artists stacked above the lowest dynamic one
    inside its axes (spines, a legend) are redrawn on top too, in z-order, so
    the picture is the one a full render gives, pixel for pixel; keep the axis
    below the data (``ax.set_axisbelow(True)``) and legends low in z-order, or
    they are redrawn every time. Only the figure's own layout is used: a layout
    engine is run once and then switched off.

    Args:
        dynamic: zero-argument callable returning the artists that change on
            every update (called each render, so new artists are picked up).
        state: zero-argument callable returning a hashable key of the static
            layer; default :func:`axes_state` of the figure without ``dynamic``.
            A render whose key is new draws everything.
        x_axis_apart: for a one-axes figure whose x axis follows a slider (the
            number of layers): the x axis (ticks, labels, label; its grid must
            be off) is cached on its own, as the strip under the axes, so a new
            x axis costs one axis draw instead of a whole figure (``axis_renders``
            counts those). Static artists must then not sit in data coordinates.

    Call it with the figure, like :func:`figure_to_png`, to get PNG bytes.
    """

    def __init__(
        self,
        dynamic: Callable[[], Sequence[Artist]],
        state: Callable[[], Hashable] | None = None,
        x_axis_apart: bool = False,
    ) -> None:
        self.dynamic = dynamic
        self.state = state
        self.x_axis_apart = x_axis_apart
        self.full_renders = 0
        self.axis_renders = 0
        self.renders = 0
        # key -> (background pixels, static artists to redraw above the data)
        self._backgrounds: OrderedDict[Hashable, tuple[object, list[Artist]]] = OrderedDict()
        self._x_strips: OrderedDict[Hashable, object] = OrderedDict()

    def clear(self) -> None:
        """Forget every cached background (after a change the state key does not see)."""
        self._backgrounds.clear()
        self._x_strips.clear()

    def __call__(self, figure: Figure) -> bytes:
        canvas = figure.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            canvas = FigureCanvasAgg(figure)
        if figure.get_layout_engine() is not None:
            with figure_style():
                figure.draw_without_rendering()  # place the axes once, then keep them
            figure.set_layout_engine("none")
        dynamic = [artist for artist in self.dynamic() if artist.figure is figure]
        apart = []
        if self.x_axis_apart:
            if len(figure.axes) != 1:
                raise ValueError(f"x_axis_apart needs a one-axes figure, got {len(figure.axes)}")
            ax = figure.axes[0]
            # A tick closer to the left edge than half a label (plus the strip's 4 px)
            # would cross the lowest y tick's corner, which the strip leaves out: then the
            # x axis is drawn with the rest (labels here are at most ~20 px wide).
            low = min(ax.get_xlim())
            ticks = [v for v in ax.xaxis.get_majorticklocs() if v >= low]
            first = ax.transData.transform((min(ticks), 1.0))[0] if ticks else math.inf
            if first >= ax.bbox.x0 + 8:
                apart = [ax.xaxis]
        if self.state is not None:
            key = self.state()
        else:
            key = axes_state(figure, dynamic, x_axis=not apart)
        with figure_style():
            if key in self._backgrounds:
                self._backgrounds.move_to_end(key)
                background, overlays = self._backgrounds[key]
                canvas.restore_region(background)
            else:
                overlays = self._draw_background(canvas, figure, dynamic, key, apart)
            if apart:
                self._restore_x_strip(canvas, figure)
            for artist in self._in_drawing_order(figure, [*dynamic, *overlays]):
                if artist.axes is not None:
                    artist.axes.draw_artist(artist)
                else:
                    figure.draw_artist(artist)
            self.renders += 1
            return _encode_png(canvas)

    def _restore_x_strip(self, canvas: FigureCanvasAgg, figure: Figure) -> None:
        """Put the x axis under the axes: from the cache, or drawn now and cached."""
        ax = figure.axes[0]
        key = (tuple(_axis_state(ax.xaxis)), tuple(ax.get_position().bounds), figure.dpi)
        if key in self._x_strips:
            self._x_strips.move_to_end(key)
            for region in self._x_strips[key]:
                canvas.restore_region(region)
            return
        # The background has no x axis, so the strip under the axes is blank here. The
        # strip leaves out the lowest y tick (on the axes' bottom-left corner) and the y
        # tick labels (further left), but not the first x tick label, which can reach a
        # few pixels left of the axes.
        ax.draw_artist(ax.xaxis)
        x0, y0, right = ax.bbox.x0, ax.bbox.y0, figure.bbox.x1
        strips = [
            Bbox.from_extents(x0 + 1, y0 - 2, right, y0),
            Bbox.from_extents(x0 - 4, 0, right, y0 - 2),
        ]
        self._x_strips[key] = [canvas.copy_from_bbox(strip) for strip in strips]
        if len(self._x_strips) > 4 * _BACKGROUND_CACHE_SIZE:
            self._x_strips.popitem(last=False)
        self.axis_renders += 1

    def _draw_background(
        self,
        canvas: FigureCanvasAgg,
        figure: Figure,
        dynamic: list[Artist],
        key: Hashable,
        apart: list[Artist],
    ) -> list[Artist]:
        renderer = canvas.get_renderer()
        ids = {id(artist) for artist in [*dynamic, *apart]}
        overlays = []
        for ax in {artist.axes for artist in dynamic if artist.axes is not None}:
            lowest = min(a.get_zorder() for a in dynamic if a.axes is ax)
            for artist in ax.get_children():
                if id(artist) in ids or artist is ax.patch or not artist.get_visible():
                    continue
                if isinstance(artist, Text) and not artist.get_text():
                    continue  # an empty title draws nothing
                if artist.get_zorder() <= lowest:
                    continue  # drawn before the data in a full render: background
                # Above the data: it matters only where it can cover the data (the axes box).
                # An axis above the data draws its grid over it, wherever its labels are.
                is_axis = artist is ax.xaxis or artist is ax.yaxis
                extent = artist.get_tightbbox(renderer)
                if is_axis or extent is None or extent.overlaps(ax.bbox):
                    overlays.append(artist)
        # Animated artists are left out of canvas.draw() (not out of savefig); hiding them
        # instead would move the titles, which are placed around the visible ones.
        animated = [a for a in [*dynamic, *overlays, *apart] if not a.get_animated()]
        for artist in animated:
            artist.set_animated(True)
        try:
            canvas.draw()
        finally:
            for artist in animated:
                artist.set_animated(False)
        self._backgrounds[key] = (canvas.copy_from_bbox(figure.bbox), overlays)
        if len(self._backgrounds) > _BACKGROUND_CACHE_SIZE:
            self._backgrounds.popitem(last=False)
        self.full_renders += 1
        return overlays

    @staticmethod
    def _in_drawing_order(figure: Figure, artists: list[Artist]) -> list[Artist]:
        """``artists`` in the order a full render draws them: axes by axes, then by z-order."""
        wanted = {id(artist) for artist in artists if artist.get_visible()}
        ordered = []
        for ax in sorted(figure.axes, key=lambda a: a.get_zorder()):
            children = [a for a in ax.get_children() if id(a) in wanted]
            ordered += sorted(children, key=lambda a: a.get_zorder())
        ordered += sorted(
            (a for a in artists if a.axes is None and id(a) in wanted),
            key=lambda a: a.get_zorder(),
        )
        return ordered


_SUPERSCRIPT_DIGITS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten_label(value: float, position: int | None = None) -> str:
    """Tick label ``10⁻⁴`` for a power of ten (``""`` for anything else)."""
    if value <= 0:
        return ""
    exponent = math.log10(value)
    if abs(exponent - round(exponent)) > 1e-6:
        return ""
    return "10" + str(round(exponent)).translate(_SUPERSCRIPT_DIGITS)


def _gradient_ylim(values: list[float]) -> tuple[float, float]:
    """Log-axis limits around the positive values, with headroom on top for the legend."""
    positive = [v for v in values if v > 0 and math.isfinite(v)]
    if not positive:
        return 1e-8, 1.0
    # Half a decade below the smallest bar so it stays visible, a little above the tallest.
    low = math.log10(min(positive)) - 0.5
    high = max(math.log10(max(positive)) + 0.1, low + 1.0)
    headroom = 0.45 * (high - low)  # the legend and the ratio box sit above the bars
    return 10.0**low, 10.0 ** (high + headroom)


#: With steady axes, the x axis ends at the first of these at or above the last layer.
_LAYER_AXIS_ENDS = (5, 10, 20, 30)


def _steady_gradient_ylim(
    values: list[float], current: tuple[float, float] | None
) -> tuple[float, float]:
    """Whole-decade log limits for the bars, keeping ``current`` while the bars fit in it.

    The bars must stay in the lower two thirds (the legend and the ratio box sit in
    the top third) and fill at least a third of the decades, else new limits are
    chosen with a few spare decades below (deeper networks: smaller gradients).
    """
    positive = [v for v in values if v > 0 and math.isfinite(v)]
    if not positive:
        return 1e-8, 1.0
    data_low = math.log10(min(positive)) - 0.3
    data_high = math.log10(max(positive)) + 0.1
    span = max(data_high - data_low, 1.0)
    new_low = math.floor(data_low) - max(1, round(0.5 * span))
    # data_high <= high - (high - low) / 3  <=>  high >= (3 * data_high - low) / 2
    new_high = math.ceil((3 * data_high - new_low) / 2)
    if current is not None:
        low, high = (math.log10(v) for v in current)
        fits = low <= data_low and data_high <= high - (high - low) / 3
        if fits and high - low <= 2 * (new_high - new_low):
            return current
    return 10.0**new_low, 10.0**new_high


def plot_gradient_comparison(
    plain: dict[str, float],
    shortcut: dict[str, float],
    title: str | None = None,
    figure: Figure | None = None,
    steady_axes: bool = False,
) -> Figure:
    """Bar chart of per-layer gradient magnitudes, plain vs shortcut, on a log scale.

    Layer 0 (next to the input) is on the left. A box gives each network's
    vanishing ratio, first-layer gradient / last-layer gradient.

    Args:
        plain, shortcut: ``{"layers.0.0.weight": mean |grad|, ...}`` in layer order,
            e.g. from :func:`~shortcut_lib.comparison.compare_gradients`.
        title: axes title; a default names the number of layers.
        figure: redraw this figure in place instead of making a new one: a figure
            returned by an earlier call, or an empty one from :func:`new_figure`
            (what the gradient explorer does; much cheaper than a new figure).
        steady_axes: for an explorer redrawing ``figure``: the x axis ends at the
            first of 5, 10, 20, 30 layers that holds the bars (then at multiples of
            10), and the y axis spans whole decades and keeps them while the bars
            fit, so a slider step usually changes only the bars and the texts
            (:class:`CachedAxesRenderer` then redraws just those). Slots past the
            last layer are greyed out and labelled "no layer ..." (patch and text
            with gids ``"gradient-no-layers"`` and ``"gradient-no-layers-label"``),
            so an empty slot never reads as a layer whose gradient is 0.

    Returns:
        The figure. ``figure.axes[0].containers`` are the bars, plain then shortcut
        (labels ``"plain"``, ``"with shortcuts"``); bars of height 0 are not visible
        on the log axis.
    """
    plain = check_gradient_means(plain, "plain")
    shortcut = check_gradient_means(shortcut, "shortcut")
    _check_figure(figure)
    from .comparison import vanishing_ratio  # comparison imports torch; keep plotting light

    if list(plain) != list(shortcut):
        raise ValueError(
            f"plain and shortcut must have the same layers, got {list(plain)} and {list(shortcut)}"
        )
    if not plain:
        raise ValueError("plain and shortcut are empty; expected at least one layer")
    n_layers = len(plain)
    values = [*plain.values(), *shortcut.values()]
    if figure is None:
        figure, ax = new_figure(figsize=(7.0, 4.0))
    else:
        ax = figure.axes[0]
    with figure_style():
        texts = {artist.get_gid(): artist for artist in [*ax.texts, *ax.patches]}
        if "gradient-no-layers" not in texts:
            texts = _set_up_gradient_axes(ax)
        # Update what exists rather than ax.clear(): rebuilding ticks and texts made
        # every explorer redraw several times slower.
        bars_by_label = {bars.get_label(): bars for bars in ax.containers}
        had_bars = bool(bars_by_label)
        positions = range(n_layers)
        for label, means, offset, color in (
            ("plain", plain, -0.2, COLORS["plain"]),
            ("with shortcuts", shortcut, 0.2, COLORS["shortcut"]),
        ):
            bars = bars_by_label.get(label)
            if bars is None:
                x = [p + offset for p in positions]
                ax.bar(x, list(means.values()), width=0.4, color=color, label=label)
                continue
            # One layer more or less: add or remove just those bars (ax.bar costs ~1 ms
            # per bar on a log axis, and an explorer's depth slider moves one at a time).
            rects = list(bars)
            for rect in rects[n_layers:]:
                rect.remove()
            if n_layers > len(rects):
                x = [p + offset for p in positions[len(rects) :]]
                extra = ax.bar(x, [1.0] * len(x), width=0.4, color=color)
                ax.containers.remove(extra)
                rects += list(extra)
            ax.containers.remove(bars)
            bars = BarContainer(rects[:n_layers], label=label)
            ax.add_container(bars)
            for rect, value in zip(bars, means.values(), strict=True):
                rect.set_height(value)
        no_layers, no_layers_label = texts["gradient-no-layers"], texts["gradient-no-layers-label"]
        if steady_axes:
            current = ax.get_ylim() if had_bars else None
            ax.set_ylim(*_steady_gradient_ylim(values, current))
            end = next((e for e in _LAYER_AXIS_ENDS if e >= n_layers - 1), None)
            end = end if end is not None else 10 * math.ceil((n_layers - 1) / 10)
            step = next((s for s in (1, 2, 5, 10, 20, 50) if end / s <= 7), math.ceil(end / 7))
            ax.set_xlim(-0.6, end + 0.6)
            ax.set_xticks(range(0, end + 1, step))
            ax.set_xlabel("layer (0 = next to the input; the last one is the output)")
            # Steady axes reach past the last layer: grey out the slots the network does
            # not have and say so, so an empty slot never reads as a layer whose gradient is 0.
            _show_missing_layers(no_layers, no_layers_label, n_layers, end)
        else:
            ax.set_ylim(*_gradient_ylim(values))
            ax.set_xlim(-0.6, n_layers - 0.4)
            # At most 8 labels: every text costs a few ms per explorer redraw.
            step = max(1, math.ceil(n_layers / 8))
            ax.set_xticks(list(positions)[::step])
            ax.set_xlabel(f"layer (0 = next to the input, {n_layers - 1} = output)")
            no_layers.set_visible(False)
            no_layers_label.set_visible(False)
        ax.set_title(title if title is not None else f"Gradient per layer, {n_layers} layers")

        def shown(means: dict[str, float]) -> str:
            if not any(means.values()):
                return "— (all 0)"
            ratio = vanishing_ratio(means)
            return "— (last layer's is 0)" if math.isnan(ratio) else f"{ratio:.4g}"

        texts["gradient-ratio"].set_text(
            f"first ÷ last layer gradient\nplain: {shown(plain)}\nwith shortcuts: {shown(shortcut)}"
        )
        texts["gradient-all-zero"].set_visible(not any(v > 0 for v in values))
    return figure


def _set_up_gradient_axes(ax: Axes) -> dict[str, Text]:
    """What every gradient comparison shares: log axis, labels, legend, annotation boxes."""
    # Limits before the log scale: log-scaling empty autoscaled limits would warn.
    ax.set_ylim(1e-8, 1.0)
    ax.set_yscale("log")
    # Plain-text labels (10⁻⁴): matplotlib's default $10^{-4}$ goes through mathtext,
    # which made every redraw of the explorer several times slower.
    ax.yaxis.set_major_locator(LogLocator(numticks=8))
    ax.yaxis.set_major_formatter(_power_of_ten_label)
    ax.minorticks_off()
    ax.set_ylabel("mean |∂loss/∂W|  (log scale)")
    # Grid and legend below the bars (the legend sits in the headroom above them): a
    # CachedAxesRenderer then keeps both in its background instead of redrawing them.
    ax.set_axisbelow(True)
    ax.grid(False, axis="x")  # layers are categories: the bars need no vertical lines
    handles = [
        Patch(color=COLORS["plain"], label="plain"),
        Patch(color=COLORS["shortcut"], label="with shortcuts"),
    ]
    ax.legend(handles=handles, loc="upper left", ncols=2).set_zorder(0.9)
    box = {"boxstyle": "round", "facecolor": "white", "edgecolor": "#BBBBBB"}
    ratio = ax.text(0.99, 0.97, "", transform=ax.transAxes, ha="right", va="top", bbox=box)
    ratio.set_gid("gradient-ratio")
    message = "every gradient is exactly 0:\nthe output already equals the target 0"
    all_zero = ax.text(0.5, 0.4, message, transform=ax.transAxes, ha="center", va="center")
    all_zero.set_gid("gradient-all-zero")
    # Steady axes only: the slots past the last layer. Above the grid and the legend (so a
    # CachedAxesRenderer keeps both in its background), below the bars; it stops under the
    # legend's row, which the bars never reach (_steady_gradient_ylim).
    no_layers = ax.axvspan(0.0, 1.0, ymin=0.0, ymax=_NO_LAYERS_TOP, visible=False)
    no_layers.set(facecolor="#EBEBEB", edgecolor="none", zorder=0.95, gid="gradient-no-layers")
    label = ax.text(
        0.0,
        0.04,
        "",
        transform=ax.get_xaxis_transform(),
        rotation=90,
        ha="center",
        va="bottom",
        fontsize=9,
        color="#555555",
        visible=False,
        zorder=0.96,
    )
    label.set_gid("gradient-no-layers-label")
    return {
        "gradient-ratio": ratio,
        "gradient-all-zero": all_zero,
        "gradient-no-layers": no_layers,
        "gradient-no-layers-label": label,
    }


#: Height of the "no layers here" shading, in axes coordinates (the legend sits above it).
_NO_LAYERS_TOP = 0.86


def _show_missing_layers(shade: Artist, label: Text, n_layers: int, end: int) -> None:
    """Grey out x slots ``n_layers .. end`` (steady axes beyond the last layer) and label them."""
    missing = end - n_layers + 1
    shade.set_visible(missing > 0)
    label.set_visible(missing > 0)
    if missing <= 0:
        return
    left, right = n_layers - 0.5, end + 0.6
    shade.set_x(left)
    shade.set_width(right - left)
    label.set_x(0.5 * (left + right))
    label.set_text(f"no layer {end}" if missing == 1 else f"no layers {n_layers}–{end}")


# --- Lesson 04: depth and seeds -------------------------------------------------

#: y-axis label of every lesson-04 band plot.
GRADIENT_AXIS_LABEL = "mean |∂loss/∂W|  (log scale)"


def _band_arrays(series: Mapping[str, object]) -> dict[str, np.ndarray]:
    """Each series as a float array of shape (3, n): lower quartile, median, upper quartile."""
    arrays = {}
    for label, values in series.items():
        array = np.asarray(values, dtype=float)
        if array.ndim != 2 or array.shape[0] != 3:
            raise ValueError(
                f"series {label!r} must have shape (3, n) (lower quartile, median, upper "
                f"quartile), got shape {array.shape}"
            )
        arrays[label] = array
    return arrays


def band_limits(series: Mapping[str, np.ndarray]) -> tuple[float, float]:
    """Log-axis limits: whole decades around every positive, finite value (1e-8..1 if none)."""
    values = np.concatenate([np.ravel(v) for v in series.values()]) if series else np.ones(1)
    positive = values[(values > 0) & np.isfinite(values)]
    if positive.size == 0:
        return 1e-8, 1.0
    low = math.floor(math.log10(positive.min()))
    high = max(math.ceil(math.log10(positive.max())), low + 1)
    return 10.0**low, 10.0**high


def _floored(values: np.ndarray, floor: float) -> np.ndarray:
    # A gradient of exactly 0 (a dead unit, or float underflow) has no place on a log
    # axis: it is drawn on the bottom edge, so a band touching the edge means "zeros here".
    # NaN (nothing to summarise) stays NaN: a gap in the line.
    return np.where(np.isnan(values) | (values > 0), values, floor)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten(value: float, _position: object = None) -> str:
    # 10⁻¹² in plain unicode: as readable as mathtext's $10^{-12}$ and several times cheaper
    # to lay out, which matters when an explorer redraws on every slider step.
    if value <= 0 or not math.isfinite(value):
        return ""
    exponent = round(math.log10(value))
    return "1" if exponent == 0 else f"10{str(exponent).translate(_SUPERSCRIPT)}"


def log_decade_axis(ax: Axes, low: float, high: float, max_ticks: int = 8) -> None:
    """Log y axis from ``low`` to ``high`` with at most ``max_ticks`` labelled decades.

    Spanning many decades (gradients from 10⁻⁶⁰ to 10¹⁵), every k-th decade is
    labelled (k in 1, 2, 5, 10, 20, ...; the limits are widened to multiples of k)
    and minor ticks are dropped so the labels stay legible.
    """
    low_exp, high_exp = math.floor(math.log10(low)), math.ceil(math.log10(high))
    high_exp = max(high_exp, low_exp + 1)
    step = next(
        k * 10**p
        for p in range(4)
        for k in (1, 2, 5)
        if (high_exp - low_exp) / (k * 10**p) <= max_ticks - 1
    )
    low_exp, high_exp = step * math.floor(low_exp / step), step * math.ceil(high_exp / step)
    ax.set_yscale("log")
    ax.set_ylim(10.0**low_exp, 10.0**high_exp)
    ax.yaxis.set_major_locator(FixedLocator([10.0**e for e in range(low_exp, high_exp + 1, step)]))
    ax.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))
    if step == 1 and high_exp - low_exp <= 4:
        ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    else:
        ax.yaxis.set_minor_locator(NullLocator())


class BandPlot:
    """Median lines and inter-quartile bands on a log axis, redrawn in place.

    Made once with its series labels; :meth:`update` then moves the existing
    artists (line data, band polygons, limits, title, legend text) instead of
    building a new figure, which is what keeps a live explorer fast.

    Args:
        labels: the series, in legend order (e.g. ``["plain", "shortcut"]``); also
            the keys of ``colors`` and of the data given to :meth:`update`.
        colors: label -> colour; default ``COLORS[label]``.
        xlabel: x-axis label.
        figsize: figure size in inches.
        fixed_layout: place the axes once at fixed margins (room for a one-line
            title) instead of re-running constrained layout on every render.

    Attributes:
        figure, ax: the figure and its single axes.
        lines, bands: label -> the median ``Line2D`` / the IQR ``FillBetweenPolyCollection``.
        beyond, beyond_label: the grey span and its text marking x positions past the
            data (see ``mark_beyond`` in :meth:`update`); hidden unless asked for.
    """

    def __init__(
        self,
        labels: Sequence[str],
        colors: Mapping[str, str] | None = None,
        xlabel: str = "layer",
        figsize: tuple[float, float] = (7.0, 4.0),
        fixed_layout: bool = False,
    ) -> None:
        if isinstance(labels, str) or not labels:
            raise ValueError(f"labels must be a non-empty list of series names, got {labels!r}")
        colors = dict(colors or {})
        missing = [label for label in labels if label not in colors and label not in COLORS]
        if missing:
            raise ValueError(f"no colour for series {missing}; pass colors={{label: colour}}")
        self.labels = list(labels)
        if fixed_layout:
            # A bare Figure (never in pyplot) with no layout engine: savefig then draws once
            # instead of twice, and the axes stay put while the title and labels change.
            with figure_style():
                self.figure = Figure(figsize=figsize)
                FigureCanvasAgg(self.figure)  # attaches itself: render_png draws on it
                width, height = figsize
                left, bottom, top = 0.85 / width, 0.55 / height, 0.4 / height
                self.ax = self.figure.add_axes(
                    (left, bottom, 1 - left - 0.15 / width, 1 - bottom - top)
                )
        else:
            self.figure, self.ax = new_figure(figsize=figsize)
        self.lines = {}
        self.bands = {}
        self._max_yticks = 6 if fixed_layout else 8
        # Moving back to a depth or an activation seen before reuses its rendered axes.
        # With fixed margins (an explorer) the x axis, which follows the depth, is cached
        # apart: no vertical grid then, it would cross the bands' strip of the picture.
        self.renderer = CachedAxesRenderer(
            lambda: [
                self.beyond,
                self.beyond_label,
                *self.bands.values(),
                *self.lines.values(),
                self.legend,
            ],
            x_axis_apart=fixed_layout,
        )
        with figure_style():
            self.ax.set_axisbelow(True)  # grid under the bands, so a render redraws no axis
            if fixed_layout:
                self.ax.grid(False, axis="x")
            for label in self.labels:
                color = colors.get(label, COLORS.get(label))
                self.bands[label] = self.ax.fill_between(
                    [0, 1], [1, 1], [1, 1], color=color, alpha=0.25, linewidth=0
                )
                (self.lines[label],) = self.ax.plot([0, 1], [1, 1], color=color, label=label)
            self.ax.set_xlabel(xlabel)
            self.ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no "layer 2.5"
            self.ax.set_ylabel(GRADIENT_AXIS_LABEL)
            self.legend = self.ax.legend(loc="lower right")
            # Above the grid (zorder 0.5), below the bands: steady x axes show positions
            # past the data, and this says so instead of letting them read as zeros.
            self.beyond = self.ax.axvspan(0, 1, color="#E8E8E8", zorder=0.8, linewidth=0)
            self.beyond_label = self.ax.text(
                0,
                0.55,
                "",
                transform=self.ax.get_xaxis_transform(),
                ha="center",
                va="center",
                color="#666666",
                fontsize=10,
                zorder=0.85,
            )
            self.beyond.set_gid("beyond-the-data")
            self.beyond_label.set_gid("beyond-the-data-label")
            self.beyond.set_visible(False)
            self.beyond_label.set_visible(False)

    def update(
        self,
        x: Sequence[float] | np.ndarray,
        series: Mapping[str, object],
        title: str = "",
        ylim: tuple[float, float] | None = None,
        legend: Mapping[str, str] | None = None,
        xlim: tuple[float, float] | None = None,
        keep_ylim: bool = False,
        mark_beyond: str | None = None,
    ) -> Figure:
        """Redraw with new data.

        Args:
            x: positions, shape ``(n,)``.
            series: label -> ``(3, n)`` array-like: lower quartile, median, upper
                quartile (e.g. :func:`~shortcut_lib.population.gradient_quantiles`).
                Labels must be the ones given at construction. Zeros are drawn on
                the bottom edge, NaN as a gap.
            title: axes title.
            ylim: log-axis limits; default :func:`band_limits` of the data.
            legend: optional label -> legend text (e.g. ``"shortcut (40% dead)"``).
            xlim: x-axis limits; default the data's range plus a small margin.
            keep_ylim: keep the current y limits while the data fits in them and
                spans at least 40% of their decades; when they must change, leave
                room around the data (steady axes while a slider moves, so
                :meth:`render_png` only redraws the data).
            mark_beyond: when ``xlim`` reaches past the last x position, shade that
                range and write this text in it (e.g. ``"no layer here"``), so an
                axis kept steady does not suggest positions that do not exist.
        """
        arrays = _band_arrays(series)
        if sorted(arrays) != sorted(self.labels):
            raise ValueError(f"series must be {self.labels}, got {list(arrays)}")
        x = np.asarray(x, dtype=float)
        if x.ndim != 1 or x.size == 0:
            raise ValueError(f"x must be a non-empty 1-d sequence, got shape {x.shape}")
        for label, array in arrays.items():
            if array.shape[1] != x.size:
                raise ValueError(f"series {label!r} has {array.shape[1]} points but x has {x.size}")
        low, high = ylim if ylim is not None else band_limits(arrays)
        current_low, current_high = self.ax.get_ylim()
        decades = math.log10(high / low)
        keep = (
            keep_ylim
            and self.full_renders > 0
            and current_low <= low
            and high <= current_high
            and 2.5 * decades >= math.log10(current_high / current_low)
        )
        if keep_ylim and not keep:
            # Room for the data to move before the axis has to change again.
            pad = 10.0 ** max(1.0, round(0.3 * decades))
            low, high = low / pad, high * pad
        if not keep:
            log_decade_axis(self.ax, low, high, max_ticks=self._max_yticks)
        floor = self.ax.get_ylim()[0]
        for label, (q_low, median, q_high) in arrays.items():
            self.lines[label].set_data(x, _floored(median, floor))
            self.bands[label].set_data(x, _floored(q_low, floor), _floored(q_high, floor))
        if xlim is None:
            span = max(x.max() - x.min(), 1.0)
            xlim = (x.min() - 0.02 * span, x.max() + 0.02 * span)
        self.ax.set_xlim(*xlim)
        self._mark_beyond(x, xlim, mark_beyond)
        self.ax.set_title(title)
        texts = dict(legend or {})
        for label, text in zip(self.labels, self.legend.get_texts(), strict=True):
            text.set_text(texts.get(label, label))
        return self.figure

    def _mark_beyond(self, x: np.ndarray, xlim: tuple[float, float], text: str | None) -> None:
        step = float(np.min(np.diff(x))) if x.size > 1 else 1.0
        start, end = x.max() + 0.5 * step, max(xlim)
        shown = text is not None and end > start
        self.beyond.set_visible(shown)
        self.beyond_label.set_visible(shown)
        if not shown:
            return
        self.beyond.set_x(start)
        self.beyond.set_width(end - start)
        share = (end - start) / (max(xlim) - min(xlim))
        # Across a wide span, upright in a narrow one; no text where even that cannot fit.
        self.beyond_label.set_text(text if share >= 0.04 else "")
        self.beyond_label.set_rotation(0 if share >= 0.2 else 90)
        self.beyond_label.set_x(0.5 * (start + end))

    @property
    def full_renders(self) -> int:
        """How many renders drew the axes, ticks and labels (the rest drew only the data)."""
        return self.renderer.full_renders

    def render_png(self) -> bytes:
        """The figure as PNG bytes, redrawing only the data when nothing else changed.

        See :class:`CachedAxesRenderer`: the axes, ticks, labels and title are drawn
        once per axes state (the last 16 are kept); otherwise a render draws just the
        bands, lines and legend on a copy of them. The image is the one
        ``figure_to_png(figure)`` gives.
        """
        return self.renderer(self.figure)


def plot_gradient_bands(
    x: Sequence[float] | np.ndarray,
    series: Mapping[str, object],
    title: str = "",
    xlabel: str = "layer",
    colors: Mapping[str, str] | None = None,
    figsize: tuple[float, float] = (7.0, 4.0),
) -> Figure:
    """One panel of median lines and inter-quartile bands on a log y axis.

    Args:
        x: positions (layers or depths), shape ``(n,)``.
        series: label -> ``(3, n)`` quartiles; labels ``"plain"``/``"shortcut"``
            take their usual colours, others need ``colors``.

    Returns:
        The figure (``figure.axes[0].lines`` are the medians, in ``series`` order).
    """
    check_mapping(series, "series", '{"plain": quantiles}')
    plot = BandPlot(list(series), colors=colors, xlabel=xlabel, figsize=figsize)
    return plot.update(x, series, title=title)


def plot_depth_panels(
    depths: Sequence[int] | np.ndarray,
    panels: Mapping[str, Mapping[str, object]],
    colors: Mapping[str, str] | None = None,
    ncols: int = 2,
    suptitle: str = "",
) -> Figure:
    """A grid of band plots against depth, one panel per key of ``panels``.

    Args:
        depths: x positions, shape ``(n,)``.
        panels: panel title (e.g. an activation) -> {series label -> (3, n) quartiles}.
        colors: as :func:`plot_gradient_bands`.
        ncols: panels per row.

    Returns:
        The figure; panels share the y axis (same decades everywhere).
    """
    check_mapping(panels, "panels", '{"GELU": {"plain": quantiles}}')
    if not panels:
        raise ValueError("panels must not be empty")
    arrays = {name: _band_arrays(series) for name, series in panels.items()}
    nrows = math.ceil(len(arrays) / ncols)
    figure, axes = new_figure(
        nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), sharex=True, sharey=True, squeeze=False
    )
    low, high = band_limits({f"{n}/{k}": v for n, s in arrays.items() for k, v in s.items()})
    log_decade_axis(axes.flat[0], low, high)  # shared: widens the limits to whole steps
    low = axes.flat[0].get_ylim()[0]  # zeros are drawn on the bottom edge
    colors = dict(colors or {})
    x = np.asarray(depths, dtype=float)
    with figure_style():
        for ax, (name, series) in zip(axes.flat, arrays.items(), strict=False):
            for label, (q_low, median, q_high) in series.items():
                color = colors.get(label, COLORS.get(label))
                ax.fill_between(
                    x,
                    _floored(q_low, low),
                    _floored(q_high, low),
                    color=color,
                    alpha=0.25,
                    linewidth=0,
                )
                ax.plot(x, _floored(median, low), color=color, label=label)
            log_decade_axis(ax, low, high)
            ax.set_title(name)
        for ax in axes[-1]:
            ax.set_xlabel("depth (number of layers)")
        for ax in axes[:, 0]:
            ax.set_ylabel("first-layer gradient")
        for ax in list(axes.flat)[len(arrays) :]:
            ax.set_visible(False)
        axes.flat[0].legend(loc="lower left")
        if suptitle:
            figure.suptitle(suptitle)
    return figure


def plot_depth_and_dead(
    depths: Sequence[int] | np.ndarray,
    bands: Mapping[str, object],
    dead_fraction: Mapping[str, object],
    colors: Mapping[str, str] | None = None,
    title: str = "",
) -> Figure:
    """Two panels against depth: gradient bands (log) and the share of dead networks.

    Args:
        depths: x positions, shape ``(n,)``.
        bands: label -> ``(3, n)`` quartiles of the first-layer gradient over the
            networks that are not dead.
        dead_fraction: label -> ``(n,)`` share of networks whose output gradient is
            exactly 0 (nothing in them learns).
        colors: label -> colour; default ``COLORS[label]``.

    Returns:
        The figure; ``figure.axes[0]`` the bands, ``figure.axes[1]`` the dead share.
    """
    check_mapping(bands, "bands", '{"plain": quantiles}')
    check_mapping(dead_fraction, "dead_fraction", '{"plain": fractions}')
    arrays = _band_arrays(bands)
    if sorted(dead_fraction) != sorted(arrays):
        raise ValueError(
            f"bands and dead_fraction need the same labels, got {list(arrays)} and "
            f"{list(dead_fraction)}"
        )
    colors = dict(colors or {})
    x = np.asarray(depths, dtype=float)
    figure, (ax_grad, ax_dead) = new_figure(
        1, 2, figsize=(10.0, 4.0), gridspec_kw={"width_ratios": [3, 2]}
    )
    low, high = band_limits(arrays)
    log_decade_axis(ax_grad, low, high)
    low = ax_grad.get_ylim()[0]  # zeros are drawn on the bottom edge
    with figure_style():
        for label, (q_low, median, q_high) in arrays.items():
            color = colors.get(label, COLORS.get(label))
            ax_grad.fill_between(
                x, _floored(q_low, low), _floored(q_high, low), color=color, alpha=0.2, linewidth=0
            )
            ax_grad.plot(x, _floored(median, low), color=color, label=label)
            ax_dead.plot(x, 100 * np.asarray(dead_fraction[label], dtype=float), color=color)
        ax_grad.set_xlabel("depth (number of layers)")
        ax_grad.set_ylabel("first-layer gradient (live networks)")
        ax_grad.legend(loc="upper left", fontsize=9)
        ax_dead.set_ylim(-3, 103)
        ax_dead.set_xlabel("depth (number of layers)")
        ax_dead.set_ylabel("dead networks (%)")
        ax_dead.set_title("dead at the output: no gradient anywhere")
        if title:
            ax_grad.set_title(title)
    return figure


# --- Lesson 05: training ----------------------------------------------------------

#: Line style per rank of depth in the loss curves: shallowest dotted, deepest solid.
_DEPTH_LINESTYLES = (":", "--", "-.", "-")
_DEPTH_MARKERS = ("D", "s", "^", "o")

#: Colours of the two classes in decision-boundary plots (not plain/shortcut colours).
CLASS_COLORS = (OKABE_ITO["orange"], OKABE_ITO["green"])

_KIND_LABELS = {"plain": "plain", "shortcut": "with shortcuts"}


def _check_kinds(name: str, data: Mapping[str, Mapping[int, object]]) -> list[int]:
    """Check ``{"plain": {depth: ...}, "shortcut": {depth: ...}}`` and return the depths."""
    if not isinstance(data, Mapping) or set(data) != {"plain", "shortcut"}:
        keys = list(data) if isinstance(data, Mapping) else type(data).__name__
        raise ValueError(f'{name} must have the keys "plain" and "shortcut", got {keys}')
    depths = sorted(data["plain"])
    if not depths or sorted(data["shortcut"]) != depths:
        raise ValueError(
            f"{name}['plain'] and {name}['shortcut'] must have the same non-empty depths, got "
            f"{sorted(data['plain'])} and {sorted(data['shortcut'])}"
        )
    return depths


def _depth_linestyles(depths: Sequence[int]) -> dict[int, str]:
    """The deepest net gets a solid line, shallower ones dash-dot, dashed, dotted."""
    styles = _DEPTH_LINESTYLES[-len(depths) :] if len(depths) <= 4 else None
    if styles is None:
        styles = [_DEPTH_LINESTYLES[i % 4] for i in range(len(depths))]
    return dict(zip(depths, styles, strict=True))


def plot_loss_curves(
    losses: Mapping[str, Mapping[int, Sequence[float]]],
    chance_loss: float | None = math.log(2.0),
    title: str | None = None,
) -> Figure:
    """Training loss per step on a log scale: plain networks left, shortcut networks right.

    Args:
        losses: ``{"plain": {depth: per-step losses}, "shortcut": {depth: ...}}``,
            e.g. ``run.history.losses`` from :func:`~shortcut_lib.training.train_depths`.
        chance_loss: draws a grey line at this loss, labelled "chance" (``ln 2`` for
            two balanced classes: what a network that has learnt nothing scores);
            ``None`` for no line.
        title: the figure's title.

    Returns:
        A figure with two axes sharing the y axis; each has one line per depth
        (the deepest solid), labelled ``"{depth} layers"``, with a marker of its own
        at steps no other depth marks, so curves that coincide stay visible.
    """
    depths = _check_kinds("losses", losses)
    styles = _depth_linestyles(depths)
    markers = dict(zip(depths, _DEPTH_MARKERS[-len(depths) :] or _DEPTH_MARKERS, strict=False))
    figure, axes = new_figure(1, 2, figsize=(9.0, 3.8), sharey=True)
    with figure_style():
        for ax, kind in zip(axes, ("plain", "shortcut"), strict=True):
            for index, depth in enumerate(depths):
                values = np.asarray(losses[kind][depth], dtype=float)
                if values.ndim != 1 or values.size == 0:
                    raise ValueError(
                        f"losses[{kind!r}][{depth}] must be a non-empty list of numbers, "
                        f"got shape {values.shape}"
                    )
                # Two nets stuck at the same loss draw the same line: line styles alone
                # cannot show both. Each depth gets its own marker, placed between the
                # other depths' markers, so a curve hidden under another still shows.
                every = max(1, values.size // 8)
                ax.plot(
                    np.arange(1, values.size + 1),
                    values,
                    color=COLORS[kind],
                    linestyle=styles[depth],
                    marker=markers.get(depth, "o"),
                    markevery=(every * index // len(depths) + every // 2, every),
                    markersize=6,
                    markerfacecolor="white",
                    markeredgewidth=1.3,
                    zorder=2 + len(depths) - index,  # shallower curves on top
                    label=f"{depth} layers",
                )
            if chance_loss is not None:
                ax.axhline(chance_loss, color="#777777", linewidth=1.0, zorder=0)
                ax.annotate(
                    "chance (ln 2)" if math.isclose(chance_loss, math.log(2.0)) else "chance",
                    (1.0, chance_loss),
                    xycoords=("axes fraction", "data"),
                    xytext=(-4, 4),
                    textcoords="offset points",
                    ha="right",
                    va="bottom",
                    color="#555555",
                    fontsize=9,
                )
            ax.set_yscale("log")
            ax.set_xlabel("training step")
            ax.set_title(_KIND_LABELS[kind], color=COLORS[kind])
            ax.legend(loc="lower left")
        axes[0].set_ylabel("training loss (BCE, log scale)")
        if title:
            figure.suptitle(title)
    return figure


def plot_decision_boundaries(
    grids: Mapping[str, Mapping[int, tuple[Sequence[float], Sequence[float], object]]],
    X: object,
    y: object,
    accuracies: Mapping[str, Mapping[int, float]] | None = None,
    title: str | None = None,
) -> Figure:
    """Decision boundaries: a row per network kind (plain, shortcut), a column per depth.

    Each panel shades the predicted probability of class 1 (orange = class 0,
    green = class 1, white = unsure), draws the boundary ``P = 0.5`` in black
    (or says "no boundary" where the network gives one class everywhere) and
    the training points in their class colour.

    Args:
        grids: ``{"plain": {depth: (xs, ys, probabilities)}, "shortcut": {...}}``,
            each triple from :func:`~shortcut_lib.training.decision_grid`
            (``probabilities`` of shape ``(len(ys), len(xs))``).
        X, y: training points, shapes ``(N, 2)`` and ``(N,)`` with labels 0/1.
        accuracies: optional ``{kind: {depth: accuracy}}``, written in each panel.
        title: the figure's title.

    Returns:
        A figure with ``2 × len(depths)`` axes, row-major: plain first.
    """
    depths = _check_kinds("grids", grids)
    points = np.asarray(X, dtype=float)
    labels = np.asarray(y, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2 or labels.shape != (points.shape[0],):
        raise ValueError(
            f"X must have shape (N, 2) and y shape (N,), got {points.shape} and {labels.shape}"
        )
    n_cols = len(depths)
    figure, axes = new_figure(
        2, n_cols, figsize=(2.6 * n_cols + 0.6, 5.6), squeeze=False, sharex=True, sharey=True
    )
    # Orange (class 0) through white to green (class 1): the Okabe-Ito class colours.
    cmap = matplotlib.colors.LinearSegmentedColormap.from_list(
        "classes", [CLASS_COLORS[0], "#FFFFFF", CLASS_COLORS[1]]
    )
    with figure_style():
        for row, kind in enumerate(("plain", "shortcut")):
            for col, depth in enumerate(depths):
                ax = axes[row][col]
                xs, ys, probabilities = (np.asarray(a, dtype=float) for a in grids[kind][depth])
                if probabilities.shape != (ys.size, xs.size):
                    raise ValueError(
                        f"grids[{kind!r}][{depth}]: probabilities must have shape "
                        f"(len(ys), len(xs)) = ({ys.size}, {xs.size}), got {probabilities.shape}"
                    )
                ax.contourf(
                    xs, ys, probabilities, levels=np.linspace(0, 1, 11), cmap=cmap, alpha=0.45
                )
                if probabilities.min() < 0.5 < probabilities.max():
                    ax.contour(xs, ys, probabilities, levels=[0.5], colors="black", linewidths=1.5)
                else:
                    ax.text(
                        0.5,
                        0.97,
                        "no boundary: one class everywhere",
                        transform=ax.transAxes,
                        ha="center",
                        va="top",
                        fontsize=9,
                        bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "none"},
                    )
                for label, color in enumerate(CLASS_COLORS):
                    chosen = labels == label
                    ax.scatter(
                        points[chosen, 0], points[chosen, 1], s=6, color=color, edgecolors="none"
                    )
                ax.set_aspect("equal")
                ax.grid(False)
                ax.set_xticks([])
                ax.set_yticks([])
                if row == 0:
                    ax.set_title(f"{depth} layers")
                if col == 0:
                    ax.set_ylabel(_KIND_LABELS[kind], color=COLORS[kind], fontsize=12)
                if accuracies is not None:
                    ax.text(
                        0.03,
                        0.03,
                        f"accuracy {accuracies[kind][depth]:.0%}",
                        transform=ax.transAxes,
                        fontsize=9,
                        bbox={
                            "boxstyle": "round",
                            "facecolor": "white",
                            "alpha": 0.8,
                            "edgecolor": "none",
                        },
                    )
                for spine in ax.spines.values():
                    spine.set_visible(True)
                    spine.set_edgecolor(COLORS[kind])
        if title:
            figure.suptitle(title)
    return figure
