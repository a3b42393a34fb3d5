"""Lesson 02's figure: the deep MLP drawn as boxes, with its shortcut arcs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path

from ..architecture import architecture_summary, shortcut_mask
from ..validation import described, type_name
from ._checks import check_figure, check_panel_count, check_title
from .render import freeze_layout
from .style import (
    COLORS,
    figure_style,
    new_figure,
)

# --- Lesson 02: the deep MLP ------------------------------------------------------

_BOX_HALF_WIDTH = 0.33
_BOX_HALF_HEIGHT = 0.28
_ARC_CONTROL_HEIGHT = 0.62  # the skip arcs peak at 3/4 of this, well above the boxes


def _diagram_font_size(depth: int) -> float:
    return max(6.0, 10.0 - 0.35 * max(0, depth - 5))


def _draw_network_axes(
    ax: Axes, sizes: list[int], use_shortcut: bool, activation: str, title: str
) -> None:
    depth = len(sizes) - 1
    font = _diagram_font_size(depth)
    mask = shortcut_mask(sizes, use_shortcut)
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


#: The deepest network the diagram draws: 300 layers take about 6 s to draw, 1000 about 20 s.
MAX_DIAGRAM_LAYERS = 300


def _check_variants(variants: object) -> list[bool]:
    """``use_shortcut`` of each row: a non-empty list of True/False (numpy bools too)."""
    if isinstance(variants, (str, bytes)) or not isinstance(variants, Sequence):
        raise TypeError(
            f"variants must be a list of True/False, one per row, such as (False, True) "
            f"(plain, then with shortcuts), got {variants!r} ({type_name(variants)})"
        )
    if not variants:
        raise ValueError("variants must hold at least one row, such as (False, True); got none")
    check_panel_count(len(variants), "variants", "draw fewer rows")
    for i, value in enumerate(variants):
        # A ValueError, as before (tests/test_lessons_01_02.py asserts it): the sequence is
        # the right kind of thing, one of its entries is not.
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(
                f"variants[{i}] must be True or False (use_shortcut of row {i}), got "
                f"{value!r} ({type_name(value)}); e.g. variants=(False, True)"
            )
    return [bool(value) for value in variants]


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
        layer_sizes: ``[3, 3, 3, 3, 3, 1]`` is the book's network; at most 300 layers.
        variants: ``use_shortcut`` of each row, top to bottom (True/False, numpy bools too).
        activation: text written in each box.
        title: figure title (e.g. a summary); ``None`` for none.
        figure: a figure from an earlier call with as many rows, redrawn in place.

    Returns:
        The figure, one axes per variant (titles say which).
    """
    check_figure(figure)
    summary = architecture_summary(layer_sizes)
    if summary.depth > MAX_DIAGRAM_LAYERS:
        raise ValueError(
            f"layer_sizes has {summary.depth} layers; the diagram draws a box for each, at most "
            f"{MAX_DIAGRAM_LAYERS} (which take seconds to draw); draw a shallower network, "
            "such as deep_layer_sizes(12, 3)"
        )
    variants = _check_variants(variants)
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a string, got {described(activation)}")
    check_title(title)
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
        freeze_layout(figure)  # a redraw: the explorer's figure
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
