"""Figures for the lessons: functions that take data and return a matplotlib ``Figure``.

One look everywhere: the Okabe-Ito colour-blind-safe palette, plain networks in
vermillion and shortcut networks in blue, labelled axes, log scales where
magnitudes span decades. Figures are closed from pyplot as soon as they are
made, so they are shown only where a notebook (or an explorer) displays them.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["COLORS", "OKABE_ITO", "figure_style", "new_figure", "figure_to_png"]

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

_STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
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
    with figure_style():
        fig, axes = plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", **kwargs)
    plt.close(fig)
    return fig, axes


def figure_to_png(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes (what an explorer displays, and what tests compare)."""
    buffer = io.BytesIO()
    with figure_style():
        fig.savefig(buffer, format="png")
    return buffer.getvalue()
