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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import PIL.Image
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator

__all__ = [
    "COLORS",
    "OKABE_ITO",
    "figure_style",
    "new_figure",
    "figure_to_png",
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


# --- Lesson 03: gradient comparison ---------------------------------------------


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


def plot_gradient_comparison(
    plain: dict[str, float],
    shortcut: dict[str, float],
    title: str | None = None,
    figure: Figure | None = None,
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

    Returns:
        The figure. ``figure.axes[0].containers`` are the bars, plain then shortcut
        (labels ``"plain"``, ``"with shortcuts"``); bars of height 0 are not visible
        on the log axis.
    """
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
        texts = {text.get_gid(): text for text in ax.texts}
        if "gradient-ratio" not in texts:
            texts = _set_up_gradient_axes(ax)
        # Update what exists rather than ax.clear(): rebuilding ticks and texts made
        # every explorer redraw several times slower.
        bars_by_label = {bars.get_label(): bars for bars in ax.containers}
        positions = range(n_layers)
        for label, means, offset, color in (
            ("plain", plain, -0.2, COLORS["plain"]),
            ("with shortcuts", shortcut, 0.2, COLORS["shortcut"]),
        ):
            bars = bars_by_label.get(label)
            if bars is not None and len(bars) == n_layers:
                for rect, value in zip(bars, means.values(), strict=True):
                    rect.set_height(value)
            else:
                if bars is not None:
                    bars.remove()
                x = [p + offset for p in positions]
                ax.bar(x, list(means.values()), width=0.4, color=color, label=label)
        ax.set_ylim(*_gradient_ylim(values))
        ax.set_xlim(-0.6, n_layers - 0.4)
        # At most 8 labels: every text costs a few ms per explorer redraw.
        step = max(1, math.ceil(n_layers / 8))
        ax.set_xticks(list(positions)[::step])
        ax.set_xlabel(f"layer (0 = next to the input, {n_layers - 1} = output)")
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
    handles = [
        Patch(color=COLORS["plain"], label="plain"),
        Patch(color=COLORS["shortcut"], label="with shortcuts"),
    ]
    ax.legend(handles=handles, loc="upper left", ncols=2)
    box = {"boxstyle": "round", "facecolor": "white", "edgecolor": "#BBBBBB"}
    ratio = ax.text(0.99, 0.97, "", transform=ax.transAxes, ha="right", va="top", bbox=box)
    ratio.set_gid("gradient-ratio")
    message = "every gradient is exactly 0:\nthe output already equals the target 0"
    all_zero = ax.text(0.5, 0.4, message, transform=ax.transAxes, ha="center", va="center")
    all_zero.set_gid("gradient-all-zero")
    return {"gradient-ratio": ratio, "gradient-all-zero": all_zero}


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


#: Backgrounds a BandPlot keeps (700x400 RGBA: 1.1 MB each).
_BACKGROUND_CACHE_SIZE = 16


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
        # Rendered backgrounds by axes state, most recent last: moving back to a depth or
        # an activation seen before reuses its background instead of drawing all text again.
        self._backgrounds: OrderedDict[tuple, object] = OrderedDict()
        self._max_yticks = 6 if fixed_layout else 8
        self.full_renders = 0
        with figure_style():
            for label in self.labels:
                color = colors.get(label, COLORS.get(label))
                self.bands[label] = self.ax.fill_between(
                    [0, 1], [1, 1], [1, 1], color=color, alpha=0.25, linewidth=0
                )
                (self.lines[label],) = self.ax.plot([0, 1], [1, 1], color=color, label=label)
            self.ax.set_xlabel(xlabel)
            self.ax.set_ylabel(GRADIENT_AXIS_LABEL)
            self.legend = self.ax.legend(loc="lower right")

    def update(
        self,
        x: Sequence[float] | np.ndarray,
        series: Mapping[str, object],
        title: str = "",
        ylim: tuple[float, float] | None = None,
        legend: Mapping[str, str] | None = None,
        xlim: tuple[float, float] | None = None,
        keep_ylim: bool = False,
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
        self.ax.set_title(title)
        texts = dict(legend or {})
        for label, text in zip(self.labels, self.legend.get_texts(), strict=True):
            text.set_text(texts.get(label, label))
        return self.figure

    def render_png(self) -> bytes:
        """The figure as PNG bytes, redrawing only the data when nothing else changed.

        Text is what costs time in a matplotlib render (several ms per label here).
        The axes, ticks, labels and title are drawn once into a cached background
        (the last 16 axes states are kept); when the limits and title match a cached
        one, a render restores that background and draws just the bands, lines and
        legend on top (``full_renders`` counts the renders that drew everything). The
        image equals ``figure_to_png(figure)`` up to antialiasing. PNG compression
        level 1: a few times faster to encode, a slightly larger file.
        """
        canvas = self.figure.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            canvas = FigureCanvasAgg(self.figure)
        data_artists = [*self.bands.values(), *self.lines.values(), self.legend]
        key = (
            self.ax.get_xlim(),
            self.ax.get_ylim(),
            self.ax.get_title(),
            self.ax.get_xlabel(),
            tuple(self.figure.get_size_inches()),
            self.figure.dpi,
        )
        with figure_style():
            if key not in self._backgrounds:
                for artist in data_artists:
                    artist.set_visible(False)
                try:
                    canvas.draw()
                finally:
                    for artist in data_artists:
                        artist.set_visible(True)
                self._backgrounds[key] = canvas.copy_from_bbox(self.figure.bbox)
                if len(self._backgrounds) > _BACKGROUND_CACHE_SIZE:
                    self._backgrounds.popitem(last=False)
                self.full_renders += 1
            else:
                self._backgrounds.move_to_end(key)
                canvas.restore_region(self._backgrounds[key])
            for artist in data_artists:
                self.ax.draw_artist(artist)
            width, height = canvas.get_width_height()
            image = PIL.Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw")
            buffer = io.BytesIO()
            image.save(buffer, format="png", compress_level=1)
        return buffer.getvalue()


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
        ax_dead.set_title("output gradient exactly 0")
        if title:
            ax_grad.set_title(title)
    return figure


# --- Lesson 05: training ----------------------------------------------------------

#: Line style per rank of depth in the loss curves: shallowest dotted, deepest solid.
_DEPTH_LINESTYLES = (":", "--", "-.", "-")

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
        (the deepest solid), labelled ``"{depth} layers"``.
    """
    depths = _check_kinds("losses", losses)
    styles = _depth_linestyles(depths)
    figure, axes = new_figure(1, 2, figsize=(9.0, 3.8), sharey=True)
    with figure_style():
        for ax, kind in zip(axes, ("plain", "shortcut"), strict=True):
            for depth in depths:
                values = np.asarray(losses[kind][depth], dtype=float)
                if values.ndim != 1 or values.size == 0:
                    raise ValueError(
                        f"losses[{kind!r}][{depth}] must be a non-empty list of numbers, "
                        f"got shape {values.shape}"
                    )
                ax.plot(
                    np.arange(1, values.size + 1),
                    values,
                    color=COLORS[kind],
                    linestyle=styles[depth],
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
