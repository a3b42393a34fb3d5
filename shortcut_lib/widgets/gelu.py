"""Lesson 01's explorer: the tanh GELU for any cubic coefficient c."""

from __future__ import annotations

import functools
from typing import Any

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from ..activations import GELU, GELU_CUBIC_COEFFICIENT
from ..approximation import max_error_vs_coefficient, x_grid
from ..plots import (
    CachedAxesRenderer,
    plot_gelu_explorer_view,
)
from ..plots.render import axes_state
from ..validation import check_real
from .explorer import Explorer

# --- Lesson 01: GELU ------------------------------------------------------------

#: Slider ranges of the GELU explorer: (min, max, step).
GELU_EXPLORER_RANGES = {"cubic_coefficient": (0.0, 0.1, 0.000005), "x_max": (0.5, 10.0, 0.5)}
_GELU_SCAN_COEFFICIENTS = 801  # the worst-error curve is sampled at this many values of c
_GELU_EXPLORER_POINTS = 801  # points along x for the curves and the error


@functools.lru_cache(maxsize=32)
def _gelu_coefficient_scan(x_max: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Worst error against c on [-x_max, x_max]: computed once per x range, then reused."""
    low, high, _ = GELU_EXPLORER_RANGES["cubic_coefficient"]
    coefficients = torch.linspace(low, high, _GELU_SCAN_COEFFICIENTS, dtype=torch.float64)
    scan = {
        target: max_error_vs_coefficient(coefficients, (-x_max, x_max), 2001, target)
        for target in ("gelu", "cdf")
    }
    return coefficients, scan


def gelu_explorer(
    cubic_coefficient: float = GELU_CUBIC_COEFFICIENT, x_max: float = 4.0
) -> Explorer:
    """Change the tanh GELU's cubic coefficient and watch its error against the exact GELU.

    Three panels, redrawn on every change: the exact GELU ``x·Φ(x)`` with the tanh
    approximation using constant ``c`` on top; their difference along ``x`` (log
    scale); and the worst difference on the range against ``c`` (for the GELU and for
    the CDF Φ it approximates), with the current ``c`` as a dot and 0.044715 dotted.

    Args:
        cubic_coefficient: starting ``c``, 0-0.1 (0.004715 is student notebook A's typo).
        x_max: the x range is ``[-x_max, x_max]``, 0.5-10.

    Returns:
        An :class:`Explorer` with controls ``"cubic_coefficient"`` and ``"x_max"``;
        ``explorer.data`` holds ``max_error`` (worst ``|GELU_c − GELU|`` on the
        range), ``max_error_at`` (where), ``best_coefficient`` (the ``c`` of the
        scan with the smallest worst error for the GELU, and ``best_coefficient_cdf``
        for Φ), and the arrays ``x`` and ``error``.
    """
    low, high = GELU_EXPLORER_RANGES["cubic_coefficient"][:2]
    cubic_coefficient = check_real(
        cubic_coefficient, "cubic_coefficient", minimum=low, maximum=high
    )
    low, high = GELU_EXPLORER_RANGES["x_max"][:2]
    x_max = check_real(x_max, "x_max", minimum=low, maximum=high)

    def slider(name: str, value: float, description: str, readout: str) -> widgets.FloatSlider:
        low, high, step = GELU_EXPLORER_RANGES[name]
        # Redraw when the handle is released: a drag crosses thousands of values.
        return widgets.FloatSlider(
            value=value,
            min=low,
            max=high,
            step=step,
            description=description,
            readout_format=readout,
            continuous_update=False,
            style={"description_width": "initial"},
            layout=widgets.Layout(width="420px"),
        )

    controls = {
        "cubic_coefficient": slider("cubic_coefficient", cubic_coefficient, "cubic c", ".6f"),
        "x_max": slider("x_max", x_max, "x range ±", ".1f"),
    }
    figure = None

    def draw(cubic_coefficient: float, x_max: float) -> tuple[Figure, dict[str, Any]]:
        nonlocal figure
        x = x_grid((-x_max, x_max), _GELU_EXPLORER_POINTS)
        exact = torch.nn.functional.gelu(x)
        approximation = GELU(cubic_coefficient)(x)
        error = approximation - exact
        coefficients, scan = _gelu_coefficient_scan(float(x_max))
        figure = plot_gelu_explorer_view(
            x, exact, approximation, cubic_coefficient, coefficients, scan, figure=figure
        )
        worst = int(error.abs().argmax())
        data = {
            "cubic_coefficient": cubic_coefficient,
            "x_max": x_max,
            "max_error": float(error.abs().max()),
            "max_error_at": float(x[worst]),
            "best_coefficient": float(coefficients[scan["gelu"].argmin()]),
            "best_coefficient_cdf": float(coefficients[scan["cdf"].argmin()]),
            "x": x,
            "error": error,
        }
        return figure, data

    def moving_artists() -> list:
        # What c moves: the tanh curve, the error along x with its maximum, the dot on the
        # scan and the three legends naming c. The rest (axes, the exact curve, the scans)
        # changes only with x_max, which is part of the cache key below.
        left, middle, right = figure.axes
        return [left.lines[1], *middle.lines, right.lines[-1]] + [
            ax.get_legend() for ax in figure.axes
        ]

    def static_state() -> tuple:
        return (controls["x_max"].value, axes_state(figure, moving_artists()))

    return Explorer(
        controls,
        draw,
        title="GELU explorer: why c = 0.044715?",
        render=CachedAxesRenderer(moving_artists, state=static_state),
    )
