"""Lesson 01's figures: the activations, the tanh GELU's error, the coefficient scan."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..activations import GELU_CUBIC_COEFFICIENT
from ..validation import check_mapping
from .render import freeze_layout
from .style import (
    COLORS,
    OKABE_ITO,
    check_figure,
    figure_style,
    new_figure,
    power_of_ten_label,
)

# --- Lesson 01: GELU ------------------------------------------------------------

#: Legend text for each curve name of lesson 01 (names as in ``ACTIVATIONS``).
ACTIVATION_LABELS = {
    "gelu_exact": "exact GELU  x·Φ(x)",
    "gelu": f"tanh GELU (c = {GELU_CUBIC_COEFFICIENT})",
    "relu": "ReLU",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "identity": "identity",
}
# Drawn on top of one another the exact and tanh GELU are one line: dash the tanh one.
_ACTIVATION_STYLES = {"gelu_exact": {"linewidth": 3.0}, "gelu": {"linestyle": (0, (4, 3))}}
_ERROR_FLOOR = 1e-8  # |error| is drawn on a log axis; exact zeros (crossings) sit here


def _as_array(values: object) -> np.ndarray:
    """A 1-D float numpy array from a tensor, array or sequence."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"expected 1-D data, got shape {array.shape}")
    return array


def _coefficient_color(coefficient: float) -> str:
    if coefficient == GELU_CUBIC_COEFFICIENT:
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
    ax.yaxis.set_major_formatter(power_of_ten_label)
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
    ax.axvline(GELU_CUBIC_COEFFICIENT, color=COLORS["gelu_exact"], linewidth=1.0, linestyle=":")
    ax.text(
        GELU_CUBIC_COEFFICIENT,
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
    ax.yaxis.set_major_formatter(power_of_ten_label)
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
    check_figure(figure)
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
        # Same x range: same tick labels, the layout still fits. No layout engine at all
        # then, so a CachedAxesRenderer does not lay the figure out again on every render.
        freeze_layout(figure)
        figure.set_layout_engine(None)
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
        # The y range follows the exact curve only, with matplotlib's 5 % margins (the tanh
        # curve stays inside them for every c the explorer offers), so the axes hold still
        # while c moves and a cached background can be reused.
        low, high = float(exact_array.min()), float(exact_array.max())
        margin = 0.05 * (high - low)
        left.set_ylim(low - margin, high + margin)
        left.set_xlabel("x")
        left.set_ylabel("GELU(x)")
        left.set_title("The curves")
        left.legend(loc="upper left")
        _draw_error_axes(middle, x_array, {cubic_coefficient: error})
        middle.set_title("Their difference along x")
        _draw_scan_axes(right, _as_array(coefficients), max_errors, cubic_coefficient, max_error)
        right.set_title("Worst error against c")
    return figure


