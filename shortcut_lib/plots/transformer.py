"""Lesson 06's figures: per-block gradients of the four transformer variants."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from ..transformer import VARIANTS
from ..validation import check_choice, check_gradient_means, check_mapping
from ._checks import as_float_array, check_figure, check_panel_count
from .style import COLORS, GRADIENT_AXIS_LABEL, OKABE_ITO, log_decade_axis, log_limits, new_figure

__all__ = ["VARIANT_COLORS", "plot_block_gradients", "set_up_block_axes"]

#: One colour per variant, the same in every figure of the lesson.
VARIANT_COLORS = {
    "plain": COLORS["plain"],
    "post-LN": OKABE_ITO["black"],  # far from plain's vermillion, also in grey
    "pre-LN": COLORS["shortcut"],
    "pre-LN + final LN": COLORS["normalised"],
}

#: A panel with more blocks than this draws lines with dots instead of grouped bars.
MAX_BAR_BLOCKS = 16

#: The y range every per-block chart of the lesson shows (steady while an explorer moves).
GRADIENT_RANGE = (1e-8, 1.0)


def set_up_block_axes(ax, n_blocks: int, low: float, high: float) -> None:
    """Log y axis of mean |dL/dW| from ``low`` to ``high``, x axis blocks 0 .. n_blocks - 1."""
    log_decade_axis(ax, low, high)
    ax.set_xlim(-0.7, n_blocks - 0.3)
    ax.set_xlabel("block (0 = next to the input)")
    ax.set_ylabel(GRADIENT_AXIS_LABEL)
    ax.set_axisbelow(True)


_PANELS_EXAMPLE = "{'12 blocks': {'pre-LN': [0.01, 0.02, ...], 'plain': [...]}}"


def _check_panels(panels: object) -> dict[str, dict[str, object]]:
    """``{title: {variant: per-block values}}``, each values list validated.

    Values may be a list, array or tensor of mean |gradients| (finite, >= 0), or the dict
    :func:`~shortcut_lib.transformer.block_gradient_means` returns (taken in its order).
    """
    check_mapping(panels, "panels", _PANELS_EXAMPLE)
    if not panels:
        raise ValueError(f"panels must not be empty; expected e.g. {_PANELS_EXAMPLE}")
    check_panel_count(len(panels), "panels", "plot fewer panels, or split them over figures")
    checked = {}
    for title, series in panels.items():
        where = f"panels[{title!r}]"
        check_mapping(series, where, "{'pre-LN': [0.01, 0.02, ...]}, one entry per variant")
        if not series:
            raise ValueError(
                f"{where} is empty; expected at least one variant, e.g. {_PANELS_EXAMPLE}"
            )
        checked[title] = {}
        for variant, values in series.items():
            check_choice("variant", variant, VARIANTS)
            name = f"{where}[{variant!r}]"
            if isinstance(values, Mapping):  # block_gradient_means: {"block 0": mean, ...}
                values = list(check_gradient_means(values, name).values())
                if not values:
                    raise ValueError(f"{name} is empty; expected one value per block")
            array = as_float_array(values, name, "[0.01, 0.02, 0.05] (one per block)")
            if array.min() < 0:
                raise ValueError(
                    f"{name} must hold mean |gradients|, >= 0, got {array.min():g} among them"
                )
            checked[title][variant] = array
    return checked


def plot_block_gradients(
    panels: Mapping[str, Mapping[str, list[float]]], figure: Figure | None = None
) -> Figure:
    """Grouped bars, one panel per entry: ``{panel title: {variant: per-block values}}``.

    Every variant of a panel gets one bar per block, side by side, on a shared log axis; a
    panel of more than :data:`MAX_BAR_BLOCKS` blocks draws a line with a dot per block
    instead (four times 48 bars would be too thin to tell apart). Every panel has a legend.

    The values of a variant may be a list, array or tensor of mean |gradients| (finite,
    >= 0), or the dict :func:`~shortcut_lib.transformer.block_gradient_means` returns.
    ``figure``: a figure with one axes per panel (from an earlier call), redrawn in place.
    """
    panels = _check_panels(panels)
    check_figure(figure)
    if figure is not None and len(figure.axes) != len(panels):
        raise ValueError(
            f"figure has {len(figure.axes)} axes but panels has {len(panels)} entries (one axes "
            f"each); pass figure=None, or a figure from new_figure(1, {len(panels)})"
        )
    if figure is None:
        figure, _ = new_figure(1, len(panels), figsize=(6.2 * len(panels), 4.6), squeeze=False)
    values = [np.ravel(vs) for series in panels.values() for vs in series.values()]
    low, high = log_limits(np.concatenate(values), headroom=0.15)  # the legend sits on top
    for ax, (title, series) in zip(figure.axes, panels.items(), strict=True):
        ax.clear()
        n_blocks = max(len(vs) for vs in series.values())
        width = 0.8 / len(series)
        for k, (variant, vs) in enumerate(series.items()):
            color = VARIANT_COLORS[variant]
            if n_blocks > MAX_BAR_BLOCKS:
                ax.plot(np.arange(len(vs)), vs, color=color, marker="o", markersize=3.5,
                        linewidth=1.6, label=variant)  # fmt: skip
            else:
                x = np.arange(len(vs)) - 0.4 + width * (k + 0.5)
                ax.bar(x, vs, width=width, color=color, label=variant)
        set_up_block_axes(ax, n_blocks, low, high)
        ax.set_title(title)
        ax.legend(loc="upper left", fontsize=11, ncols=2)
    return figure
