"""The lessons' figures: functions that take data and return a matplotlib ``Figure``.

One look everywhere: the Okabe-Ito colour-blind-safe palette, plain networks in
vermillion and shortcut networks in blue, labelled axes, log scales where
magnitudes span decades. Figures are closed from pyplot as soon as they are
made, so they are shown only where a notebook (or an explorer) displays them.

- ``style``: palette, matplotlib style, labels, the power-of-ten tick label, log-axis limits
- ``render``: figures to PNG, and the renderer explorers use to redraw only what moves
- ``gelu`` (lesson 01), ``network`` (02), ``gradients`` (03), ``depth`` (04),
  ``training`` (05), ``transformer`` (06): each lesson's figures
"""

from .depth import BandPlot, plot_depth_and_dead, plot_depth_panels, plot_gradient_bands
from .gelu import plot_activations, plot_coefficient_scan, plot_gelu_error, plot_gelu_explorer_view
from .gradients import plot_gradient_comparison
from .network import plot_network_diagram
from .render import CachedAxesRenderer, figure_to_png
from .style import COLORS, OKABE_ITO, new_figure
from .training import CLASS_COLORS, plot_decision_boundaries, plot_loss_curves
from .transformer import VARIANT_COLORS, plot_block_gradients

__all__ = [
    "CLASS_COLORS",
    "COLORS",
    "OKABE_ITO",
    "BandPlot",
    "CachedAxesRenderer",
    "figure_to_png",
    "new_figure",
    "plot_activations",
    "plot_coefficient_scan",
    "plot_decision_boundaries",
    "plot_depth_and_dead",
    "plot_depth_panels",
    "plot_gelu_error",
    "plot_gelu_explorer_view",
    "plot_gradient_bands",
    "plot_gradient_comparison",
    "plot_loss_curves",
    "plot_network_diagram",
    "VARIANT_COLORS",
    "plot_block_gradients",
]
