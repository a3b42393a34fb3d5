"""Lesson 01's figures: the activations, the tanh GELU's error, the coefficient scan."""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator

from ..activations import GELU_CUBIC_COEFFICIENT
from ..validation import check_mapping, check_real
from ._checks import as_float_array, check_figure
from .render import freeze_layout
from .style import (
    COLORS,
    HIGHEST_EXPONENT,
    OKABE_ITO,
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


def _as_array(values: object, name: str, example: str = "torch.linspace(-4, 4, 801)") -> np.ndarray:
    """A 1-D, non-empty, finite float numpy array from a tensor, array or sequence."""
    return as_float_array(values, name, example)


def _curves(curves: Mapping[str, object], name: str, x: np.ndarray) -> dict[str, np.ndarray]:
    """Each curve of ``curves`` as an array the length of ``x``."""
    arrays = {}
    for key, values in curves.items():
        y = _as_array(values, f"{name}[{key!r}]")
        if y.shape != x.shape:
            raise ValueError(
                f"{name}: curve {key!r} has {y.size} values but x has {x.size}; expected "
                f"{x.size}, one per point of x"
            )
        arrays[key] = y
    return arrays


def _coefficient_color(coefficient: float) -> str:
    if coefficient == GELU_CUBIC_COEFFICIENT:
        return COLORS["gelu"]
    if coefficient == 0.004715:
        return COLORS["typo"]
    return OKABE_ITO["purple"]


def _draw_curves(ax: Axes, x: np.ndarray, curves: Mapping[str, np.ndarray], ylabel: str) -> None:
    for name, y in curves.items():
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
    x_array = _as_array(x, "x")
    if not values:
        raise ValueError("values is empty; expected at least one curve, e.g. {'gelu': ...}")
    values = _curves(values, "values", x_array)
    if derivatives is not None:
        derivatives = _curves(derivatives, "derivatives", x_array)
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


def _error_arrays(errors: Mapping[float, object], x: np.ndarray) -> dict[float, np.ndarray]:
    """Each coefficient's |error| as an array the length of ``x``."""
    arrays = {}
    for coefficient, values in errors.items():
        check_real(coefficient, "each key of errors (a cubic coefficient such as 0.044715)")
        error = np.abs(_as_array(values, f"errors[{coefficient!r}]"))
        if error.shape != x.shape:
            raise ValueError(
                f"errors[{coefficient!r}] has {error.size} value(s); expected {x.size}, one per "
                "point of x"
            )
        arrays[coefficient] = error
    return arrays


def _draw_error_axes(
    ax: Axes, x: np.ndarray, errors: Mapping[float, np.ndarray]
) -> dict[float, float]:
    """|error| against x on a log axis, one line per coefficient, maxima marked."""
    maxima = {}
    for coefficient, error in errors.items():
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
    x_array = _as_array(x, "x")
    if not errors:
        raise ValueError("errors is empty; expected {coefficient: error values}")
    errors = _error_arrays(errors, x_array)
    figure, ax = new_figure(figsize=(7.0, 4.0))
    with figure_style():
        _draw_error_axes(ax, x_array, errors)
        ax.set_title("Error of the tanh approximation (dotted: its maximum)")
    return figure


def _scan_arrays(max_errors: Mapping[str, object], coefficients: np.ndarray) -> dict:
    """Each target's worst errors as an array, one per coefficient."""
    arrays = {}
    for target, values in max_errors.items():
        name = f"max_errors[{target!r}]"
        errors = _as_array(values, name, "max_error_vs_coefficient(coefficients)")
        if errors.shape != coefficients.shape:
            raise ValueError(
                f"max_errors[{target!r}] has {errors.size} values but there are "
                f"{coefficients.size} coefficients"
            )
        if errors.min() < 0:
            raise ValueError(
                f"{name} must be worst |errors|, >= 0, got {errors.min():g} among its values"
            )
        arrays[target] = errors
    return arrays


def _check_current(current: object, current_error: object) -> None:
    """The coefficient to mark and its error: both numbers, or both ``None``."""
    if (current is None) != (current_error is None):
        raise ValueError(
            "current and current_error go together: give both (the coefficient to mark and "
            f"its worst error, e.g. current=0.004715, current_error=0.0012) or neither; got "
            f"current={current!r}, current_error={current_error!r}"
        )
    if current is not None:
        check_real(current, "current")
        check_real(current_error, "current_error", minimum=0.0)


def _draw_scan_axes(
    ax: Axes,
    coefficients: np.ndarray,
    max_errors: Mapping[str, np.ndarray],
    current: float | None,
    current_error: float | None,
) -> None:
    styles = {
        "gelu": {"color": COLORS["gelu"], "label": "GELU  x·Φ(x)"},
        "cdf": {"color": OKABE_ITO["sky_blue"], "linestyle": "--", "label": "CDF  Φ(x)"},
    }
    shown = []
    for target, errors in max_errors.items():
        style = styles.get(target, {"color": OKABE_ITO["purple"], "label": target})
        shown.append(np.maximum(errors, _ERROR_FLOOR))
        ax.plot(coefficients, shown[-1], **style)
    # Whole decades, so the valley's bottom has a labelled tick under it.
    lowest = min(float(values.min()) for values in shown)
    highest = max(float(values.max()) for values in shown)
    if current_error is not None:
        lowest = min(lowest, max(current_error, _ERROR_FLOOR))
        highest = max(highest, current_error)
    low_exp = math.floor(math.log10(lowest))
    # At least one decade: errors that are all one power of ten would give equal limits.
    high_exp = max(math.ceil(math.log10(highest)), low_exp + 1)
    # Past 1e308 the next decade overflows float64: the axis ends at its largest number.
    top = 10.0**high_exp if high_exp <= HIGHEST_EXPONENT else sys.float_info.max
    ax.set_ylim(10.0**low_exp, top)
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
    # matplotlib's own log ticks reach up to two strides of decades past the top: near
    # float64's end (1e308) they would overflow to inf.
    if high_exp + 2 * (high_exp - low_exp) > HIGHEST_EXPONENT:
        high_exp = min(high_exp, HIGHEST_EXPONENT)
        step = math.ceil((high_exp - low_exp) / 7)
        ax.yaxis.set_major_locator(
            FixedLocator([10.0**e for e in range(high_exp, low_exp - 1, -step)])
        )
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
        current, current_error: one coefficient to mark with a dot and its worst error
            (both, or neither).

    Returns:
        A figure with a log y axis; a dotted vertical line marks 0.044715.
    """
    check_mapping(max_errors, "max_errors", '{"gelu": errors_per_c}')
    c = _as_array(coefficients, "coefficients", "torch.linspace(0.0, 0.1, 801)")
    if not max_errors:
        raise ValueError("max_errors is empty; expected {'gelu': ..., 'cdf': ...}")
    max_errors = _scan_arrays(max_errors, c)
    _check_current(current, current_error)
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
    if figure is not None and len(figure.axes) != 3:
        raise ValueError(f"figure must have the explorer's 3 axes, got {len(figure.axes)}")
    x_array = _as_array(x, "x")
    exact_array, approx_array = _as_array(exact, "exact"), _as_array(approximation, "approximation")
    if not exact_array.shape == approx_array.shape == x_array.shape:
        raise ValueError(
            f"x, exact and approximation must have the same length, got {x_array.size}, "
            f"{exact_array.size} and {approx_array.size}"
        )
    check_real(cubic_coefficient, "cubic_coefficient")
    coefficient_array = _as_array(coefficients, "coefficients", "torch.linspace(0.0, 0.1, 801)")
    if not max_errors:
        raise ValueError("max_errors is empty; expected {'gelu': ..., 'cdf': ...}")
    max_errors = _scan_arrays(max_errors, coefficient_array)
    error = approx_array - exact_array
    max_error = float(np.abs(error).max())
    if figure is None:
        figure, _ = new_figure(1, 3, figsize=(13.0, 4.0))
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
        _draw_error_axes(middle, x_array, {cubic_coefficient: np.abs(error)})
        middle.set_title("Their difference along x")
        _draw_scan_axes(right, coefficient_array, max_errors, cubic_coefficient, max_error)
        right.set_title("Worst error against c")
    return figure
