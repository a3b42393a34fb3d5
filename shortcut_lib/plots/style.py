"""The lessons' look: palette, matplotlib style, labels, log axes.

One home for what every figure shares: the Okabe-Ito colours and what each means,
the text sizes, new figures detached from pyplot, axis labels, the one power-of-ten
tick label and the one rule for log-axis limits.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, FigureBase
from matplotlib.gridspec import GridSpec
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator

from ..validation import check_positive_int, check_real, described, short_repr
from ._checks import check_figsize, check_panel_count

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

    Args:
        nrows, ncols: the grid of axes; at most 100 axes in all (more take too
            long to draw).
        figsize: (width, height) in inches.
        kwargs: what ``plt.subplots`` takes besides these (``sharex``, ``squeeze``,
            ``gridspec_kw``, ``dpi``, ...); ``width_ratios`` holds ``ncols`` numbers and
            ``height_ratios`` ``nrows`` (>= 0, not all 0), and ``num`` names no figure
            pyplot has open (the figure is always a new one).

    Raises:
        TypeError, ValueError: for a bad argument, before anything is made.
    """
    nrows = check_positive_int(nrows, "nrows")
    ncols = check_positive_int(ncols, "ncols")
    check_panel_count(
        nrows * ncols,
        f"new_figure({nrows}, {ncols})",
        "use fewer rows or columns, or split the panels over several figures",
    )
    _check_figure_keywords(kwargs)
    kwargs = _check_grid_keywords(kwargs, nrows, ncols)
    _check_num(kwargs.get("num"))
    check_figsize(figsize, kwargs.get("dpi", _STYLE["figure.dpi"]))
    open_before = set(plt.get_fignums())
    try:
        with figure_style():
            fig, axes = plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", **kwargs)
    finally:
        # Closed in pyplot whatever happened, even on Ctrl-C: no half-made figure stays open.
        for number in set(plt.get_fignums()) - open_before:
            plt.close(number)
    return fig, axes


#: What plt.subplots takes besides nrows, ncols and figsize (Figure properties aside).
_SUBPLOTS_KEYWORDS = (
    set(inspect.signature(plt.subplots).parameters)
    | set(inspect.signature(plt.figure).parameters)
    | set(inspect.signature(Figure.__init__).parameters)
) - {"self", "nrows", "ncols", "fig_kw", "kwargs", "figsize", "layout"}


def _check_figure_keywords(kwargs: dict) -> None:
    if "layout" in kwargs:
        raise TypeError(
            "new_figure always uses constrained layout; change it afterwards with "
            "figure.set_layout_engine(...)"
        )
    for key in kwargs:
        if key not in _SUBPLOTS_KEYWORDS and not hasattr(Figure, f"set_{key}"):
            raise TypeError(
                f"new_figure got an unexpected keyword argument {key!r}; it takes nrows, ncols, "
                f"figsize and what plt.subplots takes (sharex, sharey, squeeze, gridspec_kw, "
                f"dpi, ...), e.g. new_figure(1, 2, figsize=(9.0, 4.0), sharey=True)"
            )


#: What gridspec_kw may hold: GridSpec's own arguments (the grid's size is nrows, ncols).
_GRIDSPEC_KEYWORDS = set(inspect.signature(GridSpec.__init__).parameters) - {
    "self",
    "nrows",
    "ncols",
    "figure",
}


def _check_grid_keywords(kwargs: dict, nrows: int, ncols: int) -> dict:
    """``gridspec_kw`` (GridSpec's arguments) and the ratios, one per column or row (else
    matplotlib's "Expected the given number of width ratios to match ..." names neither);
    returns ``kwargs`` with the ratios as lists of floats (an array or tensor is fine)."""
    grid = kwargs.get("gridspec_kw")
    if grid is not None:
        example = "{'width_ratios': [3, 2]}"
        if not isinstance(grid, Mapping):
            raise TypeError(f"gridspec_kw must be a dict such as {example}, got {described(grid)}")
        unknown = [key for key in grid if key not in _GRIDSPEC_KEYWORDS]
        if unknown:
            raise TypeError(
                f"gridspec_kw has the unknown key {unknown[0]!r}; it takes "
                f"{', '.join(sorted(_GRIDSPEC_KEYWORDS))}, e.g. gridspec_kw={example}"
            )
    kwargs = dict(kwargs)
    if grid is not None:
        kwargs["gridspec_kw"] = grid = dict(grid)
    for key, count, what in (("width_ratios", ncols, "column"), ("height_ratios", nrows, "row")):
        for where, source in (("", kwargs), ("gridspec_kw's ", grid or {})):
            if source.get(key) is not None:
                source[key] = _check_ratios(source[key], f"{where}{key}", count, what)
    return kwargs


def _check_ratios(ratios: object, name: str, count: int, what: str) -> list[float]:
    grid = "nrows" if what == "row" else "ncols"
    expected = f"{count} number(s) >= 0, one per {what} ({grid}={count})"
    if not isinstance(ratios, Sequence) and np.ndim(ratios) == 1 and hasattr(ratios, "tolist"):
        ratios = ratios.tolist()  # a numpy array or a tensor
    if isinstance(ratios, (str, bytes)) or not isinstance(ratios, Sequence):
        raise TypeError(f"{name} must be a list of {expected}, got {described(ratios)}")
    shown = short_repr(list(ratios))
    if len(ratios) != count:
        raise ValueError(
            f"{name} has {len(ratios)} value(s), {shown}, but the grid has "
            f"{count} {what}(s); give {expected}, or change {grid}"
        )
    values = [check_real(v, f"{name}[{i}]", minimum=0.0) for i, v in enumerate(ratios)]
    if not any(values):
        raise ValueError(f"{name} are all 0, got {shown}; give {expected}")
    return values


def _check_num(num: object) -> None:
    """``num`` labels the new figure; it cannot pick an existing one (matplotlib's own refusal
    suggests plt.figure, which new_figure is not)."""
    if num is None:
        return
    if isinstance(num, FigureBase):
        raise TypeError(
            f"num must be a figure number or label, got a {type(num).__name__}; new_figure "
            "always makes a new figure (to add axes to an existing one use figure.subplots())"
        )
    if num in plt.get_fignums() or num in plt.get_figlabels():
        raise ValueError(
            f"num={num!r}: pyplot already has a figure {num!r} open, and new_figure always "
            f"makes a new one; leave num out (the figure is detached from pyplot anyway), or "
            f"close that one first: plt.close({num!r})"
        )


#: Axis label of every gradient figure (lessons 03, 04 and 06).
GRADIENT_AXIS_LABEL = "mean |∂loss/∂W|  (log scale)"

#: Legend names of the two kinds of network, in every figure that compares them.
KIND_LABELS = {"plain": "plain", "shortcut": "with shortcuts"}

_SUPERSCRIPT_DIGITS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_of_ten_label(value: float, _position: object = None) -> str:
    """Tick label ``10⁻⁴`` for a power of ten, ``""`` for anything else (a tick formatter).

    Plain unicode: as readable as mathtext's ``$10^{-4}$`` and several times cheaper to
    lay out, which matters when an explorer redraws on every slider step.
    """
    if not (value > 0 and math.isfinite(value)):
        return ""
    exponent = math.log10(value)
    if abs(exponent - round(exponent)) > 1e-6:
        return ""
    return "10" + str(round(exponent)).translate(_SUPERSCRIPT_DIGITS)


#: Powers of ten float64 holds (10.0**-324 is 0, 10.0**309 overflows): log-axis limits
#: stay inside them, so gradients near the ends of the range can still be drawn.
#: The powers of ten a float64 log axis can show (below, 10**e underflows to 0; above, inf).
LOWEST_EXPONENT, HIGHEST_EXPONENT = -323, 308


def log_limits(
    values: object,
    headroom: float = 0.0,
    spare_below: bool = False,
    current: tuple[float, float] | None = None,
    whole_decades: bool = True,
) -> tuple[float, float]:
    """Log-axis limits around the positive, finite ``values`` (1e-8..1 if there are none).

    The data (with a margin of 0.3 decades below, so the smallest bar stands clear of the
    axis, and 0.1 above) fills the lower ``1 - headroom`` of the axis: the top is left for a
    legend or a box of numbers. ``spare_below`` adds half the data's span (at least a
    decade) underneath, so an explorer going deeper (smaller gradients) keeps its axes.
    ``current`` limits are kept while the data fits in them and fills at least half as
    many decades as new limits would: steady axes that still follow the data. Limits are
    whole decades (ticks that stay put) unless ``whole_decades=False`` (a one-off figure,
    as tight as the margins allow).

        >>> log_limits([3e-5, 2e-3, 5.0])
        (1e-05, 10.0)
        >>> log_limits([0.0, float("nan")])
        (1e-08, 1.0)
    """
    array = np.ravel(np.asarray(values, dtype=float))
    positive = array[(array > 0) & np.isfinite(array)]
    if positive.size == 0:
        return 1e-8, 1.0
    data_low = math.log10(positive.min()) - 0.3
    data_high = math.log10(positive.max()) + 0.1
    spare = max(1, round(0.5 * max(data_high - data_low, 1.0))) if spare_below else 0
    low = (math.floor(data_low) if whole_decades else data_low) - spare
    # Past float64's range the limits would underflow to 0 or overflow to inf.
    low = max(low, LOWEST_EXPONENT)
    # data_high <= high - headroom * (high - low)
    #   <=>  high >= (data_high - headroom * low) / (1 - headroom)
    high = max((data_high - headroom * low) / (1.0 - headroom), low + 1)
    if whole_decades:
        high = max(math.ceil(high - 1e-9), low + 1)
    high = min(high, HIGHEST_EXPONENT)
    if current is not None:
        old_low, old_high = (math.log10(v) for v in current)
        fits = old_low <= data_low and data_high <= old_high - headroom * (old_high - old_low)
        if fits and old_high - old_low <= 2 * (high - low):
            return current
    return 10.0**low, 10.0**high


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
    low_exp, high_exp = max(low_exp, LOWEST_EXPONENT), min(high_exp, HIGHEST_EXPONENT)
    ax.set_yscale("log")
    ax.set_ylim(10.0**low_exp, 10.0**high_exp)
    ax.yaxis.set_major_locator(FixedLocator([10.0**e for e in range(low_exp, high_exp + 1, step)]))
    ax.yaxis.set_major_formatter(FuncFormatter(power_of_ten_label))
    if step == 1 and high_exp - low_exp <= 4:
        ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    else:
        ax.yaxis.set_minor_locator(NullLocator())
