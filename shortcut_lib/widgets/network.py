"""Lesson 02's explorer: the deep MLP's diagram and shape for any depth and width."""

from __future__ import annotations

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..architecture import ArchitectureSummary, architecture_summary, deep_layer_sizes
from ..plots import (
    new_figure,
    plot_network_diagram,
)
from ..validation import check_integer
from .explorer import Explorer

# --- Lesson 02: the deep MLP ------------------------------------------------------

#: Slider ranges of the architecture explorer: (min, max).
ARCHITECTURE_EXPLORER_RANGES = {
    "depth": (1, 12),
    "width": (1, 16),
    "in_features": (1, 16),
    "out_features": (1, 16),
}


def architecture_explorer(
    depth: int = 5, width: int = 3, in_features: int = 3, out_features: int = 1
) -> Explorer:
    """Draw the deep MLP for any depth and width, with its parameter and shortcut counts.

    The network is ``deep_layer_sizes(depth, width, in_features, out_features)``: the
    defaults are the book's ``[3, 3, 3, 3, 3, 1]``. The diagram (plain above, with
    shortcuts below) and its title are redrawn on every change; a layer gets a
    shortcut only where its input and output sizes match, so changing
    ``in_features`` or ``out_features`` away from ``width`` removes the first or
    last shortcut.

    Args:
        depth: number of layers (``nn.Linear`` + GELU), 1-12.
        width: features of every hidden layer, 1-16.
        in_features, out_features: sizes of the input and of the output, 1-16.

    Returns:
        An :class:`Explorer` with controls ``"depth"``, ``"width"``, ``"in_features"``,
        ``"out_features"``; ``explorer.data`` is the
        :class:`~shortcut_lib.architecture.ArchitectureSummary` drawn.
    """
    values = {
        "depth": depth,
        "width": width,
        "in_features": in_features,
        "out_features": out_features,
    }
    for name, value in values.items():
        low, high = ARCHITECTURE_EXPLORER_RANGES[name]
        check_integer(value, name, minimum=low, maximum=high)
    descriptions = {"depth": "layers", "width": "width", "in_features": "inputs"}
    descriptions["out_features"] = "outputs"
    controls = {
        name: widgets.IntSlider(
            value=value,
            min=ARCHITECTURE_EXPLORER_RANGES[name][0],
            max=ARCHITECTURE_EXPLORER_RANGES[name][1],
            description=descriptions[name],
        )
        for name, value in values.items()
    }
    # One wide figure for the explorer's lifetime, redrawn in place.
    figure, _ = new_figure(2, 1, figsize=(12.0, 4.4), squeeze=False)

    def draw(
        depth: int, width: int, in_features: int, out_features: int
    ) -> tuple[Figure, ArchitectureSummary]:
        summary = architecture_summary(deep_layer_sizes(depth, width, in_features, out_features))
        plot_network_diagram(summary.layer_sizes, title=str(summary), figure=figure)
        return figure, summary

    return Explorer(controls, draw, title="Architecture explorer: depth, width and shortcuts")
