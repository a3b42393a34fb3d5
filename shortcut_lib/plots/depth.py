"""Lesson 04's figures: gradient bands over many networks, by layer and by depth."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..validation import check_bool, check_mapping, check_positive_int, check_real, type_name
from ._checks import as_float_array, check_colors, check_figsize, check_panel_count, check_title
from .render import CachedAxesRenderer
from .style import (
    COLORS,
    GRADIENT_AXIS_LABEL,
    HIGHEST_EXPONENT,
    LOWEST_EXPONENT,
    figure_style,
    log_decade_axis,
    log_limits,
    new_figure,
)

# --- Lesson 04: depth and seeds -------------------------------------------------


_QUARTILES_EXAMPLE = "gradient_quantiles(means), shape (3, n)"


def _band_arrays(series: Mapping[str, object], name: str = "series") -> dict[str, np.ndarray]:
    """Each series as a float array of shape (3, n): lower quartile, median, upper quartile."""
    arrays = {}
    for label, values in series.items():
        array = as_float_array(
            values, f"{name}[{label!r}]", _QUARTILES_EXAMPLE, ndim=2, nan_ok=True
        )
        if array.shape[0] != 3:
            raise ValueError(
                f"{name}[{label!r}] must have shape (3, n) (lower quartile, median, upper "
                f"quartile), got shape {array.shape}"
            )
        if np.nanmin(array, initial=0.0) < 0:  # NaN (a gap) is allowed
            raise ValueError(
                f"{name}[{label!r}] must hold quartiles of mean |gradients|, >= 0 (the axis is "
                f"logarithmic), got {np.nanmin(array):g} among them; e.g. {_QUARTILES_EXAMPLE}"
            )
        arrays[label] = array
    return arrays


def _positions(x: object, name: str, n: int | None = None, data: str = "") -> np.ndarray:
    """x positions: 1-D, finite; ``n`` of them if given (one per point of ``data``)."""
    array = as_float_array(x, name, "range(n) or [1, 2, 5, 10]")
    if n is not None and array.size != n:
        raise ValueError(
            f"{name} has {array.size} positions but {data} have {n} points (shape (3, {n})); "
            f"give one position per point"
        )
    return array


def _check_limits(limits: object, name: str, log: bool = False) -> tuple[float, float]:
    """Axis limits: two different finite numbers (> 0 and increasing on a log axis)."""
    example = "(1e-8, 1.0)" if log else "(0, 10)"
    if isinstance(limits, (str, bytes)) or not isinstance(limits, Sequence) or len(limits) != 2:
        raise TypeError(f"{name} must be (low, high), such as {example}, got {limits!r}")
    low, high = (check_real(v, f"{name}[{i}]") for i, v in enumerate(limits))
    if log and not 0 < low < high:
        raise ValueError(
            f"{name} must be (low, high) with 0 < low < high on the log axis, such as "
            f"{example}, got {tuple(limits)!r}"
        )
    if low == high:
        raise ValueError(f"{name} must be two different numbers, such as {example}, got {limits!r}")
    return low, high


def _check_text(value: object, name: str, optional: bool = False) -> None:
    if not (isinstance(value, str) or (optional and value is None)):
        what = "a string or None" if optional else "a string"
        raise TypeError(f"{name} must be {what}, got {value!r} ({type_name(value)})")


def _floored(values: np.ndarray, floor: float) -> np.ndarray:
    # A gradient of exactly 0 (a dead unit, or float underflow) has no place on a log
    # axis: it is drawn on the bottom edge, so a band touching the edge means "zeros here".
    # NaN (nothing to summarise) stays NaN: a gap in the line.
    return np.where(np.isnan(values) | (values > 0), values, floor)


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
        beyond, beyond_label: the grey span and its text marking x positions past the
            data (see ``mark_beyond`` in :meth:`update`); hidden unless asked for.
    """

    def __init__(
        self,
        labels: Sequence[str],
        colors: Mapping[str, str] | None = None,
        xlabel: str = "layer",
        figsize: tuple[float, float] = (7.0, 4.0),
        fixed_layout: bool = False,
    ) -> None:
        if isinstance(labels, (str, bytes)) or not isinstance(labels, Iterable):
            raise TypeError(
                f"labels must be a non-empty list of series names, such as ['plain', "
                f"'shortcut'], got {labels!r} ({type_name(labels)})"
            )
        labels = list(labels)
        if not labels:
            raise ValueError(f"labels must be a non-empty list of series names, got {labels!r}")
        colors = check_colors(colors)
        _check_text(xlabel, "xlabel")
        fixed_layout = check_bool(fixed_layout, "fixed_layout")
        if fixed_layout:
            check_figsize(figsize)
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
        self._max_yticks = 6 if fixed_layout else 8
        # Moving back to a depth or an activation seen before reuses its rendered axes.
        # With fixed margins (an explorer) the x axis, which follows the depth, is cached
        # apart: no vertical grid then, it would cross the bands' strip of the picture.
        self.renderer = CachedAxesRenderer(
            lambda: [
                self.beyond,
                self.beyond_label,
                *self.bands.values(),
                *self.lines.values(),
                self.legend,
            ],
            x_axis_apart=fixed_layout,
        )
        with figure_style():
            self.ax.set_axisbelow(True)  # grid under the bands, so a render redraws no axis
            if fixed_layout:
                self.ax.grid(False, axis="x")
            for label in self.labels:
                color = colors.get(label, COLORS.get(label))
                self.bands[label] = self.ax.fill_between(
                    [0, 1], [1, 1], [1, 1], color=color, alpha=0.25, linewidth=0
                )
                (self.lines[label],) = self.ax.plot([0, 1], [1, 1], color=color, label=label)
            self.ax.set_xlabel(xlabel)
            self.ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no "layer 2.5"
            self.ax.set_ylabel(GRADIENT_AXIS_LABEL)
            self.legend = self.ax.legend(loc="lower right")
            # Above the grid (zorder 0.5), below the bands: steady x axes show positions
            # past the data, and this says so instead of letting them read as zeros.
            self.beyond = self.ax.axvspan(0, 1, color="#E8E8E8", zorder=0.8, linewidth=0)
            self.beyond_label = self.ax.text(
                0,
                0.55,
                "",
                transform=self.ax.get_xaxis_transform(),
                ha="center",
                va="center",
                color="#666666",
                fontsize=10,
                zorder=0.85,
            )
            self.beyond.set_gid("beyond-the-data")
            self.beyond_label.set_gid("beyond-the-data-label")
            self.beyond.set_visible(False)
            self.beyond_label.set_visible(False)

    def update(
        self,
        x: Sequence[float] | np.ndarray,
        series: Mapping[str, object],
        title: str | None = "",
        ylim: tuple[float, float] | None = None,
        legend: Mapping[str, str] | None = None,
        xlim: tuple[float, float] | None = None,
        keep_ylim: bool = False,
        mark_beyond: str | None = None,
    ) -> Figure:
        """Redraw with new data.

        Args:
            x: positions, shape ``(n,)``.
            series: label -> ``(3, n)`` array-like: lower quartile, median, upper
                quartile (e.g. :func:`~shortcut_lib.population.gradient_quantiles`).
                Labels must be the ones given at construction. Zeros are drawn on
                the bottom edge, NaN as a gap.
            title: axes title (``None`` or ``""`` for none).
            ylim: log-axis limits; default :func:`~shortcut_lib.plots.style.log_limits` of the data.
            legend: optional label -> legend text (e.g. ``"shortcut (40% dead)"``).
            xlim: x-axis limits; default the data's range plus a small margin.
            keep_ylim: keep the current y limits while the data fits in them and
                spans at least 40% of their decades; when they must change, leave
                room around the data (steady axes while a slider moves, so
                :meth:`render_png` only redraws the data).
            mark_beyond: when ``xlim`` reaches past the last x position, shade that
                range and write this text in it (e.g. ``"no layer here"``), so an
                axis kept steady does not suggest positions that do not exist.
        """
        check_mapping(series, "series", "{'plain': quantiles, 'shortcut': quantiles}")
        arrays = _band_arrays(series)
        if sorted(arrays) != sorted(self.labels):
            raise ValueError(f"series must be {self.labels}, got {list(arrays)}")
        x = _positions(x, "x")
        for label, array in arrays.items():
            if array.shape[1] != x.size:
                raise ValueError(f"series {label!r} has {array.shape[1]} points but x has {x.size}")
        self._check_options(title, ylim, legend, xlim, keep_ylim, mark_beyond)
        low, high = ylim if ylim is not None else _band_limits(arrays)
        current_low, current_high = self.ax.get_ylim()
        # In logs: at float64's ends (an underflowed gradient, 1e-323) high / low overflows.
        decades = math.log10(high) - math.log10(low)
        keep = (
            keep_ylim
            and self.full_renders > 0
            and current_low <= low
            and high <= current_high
            and 2.5 * decades >= math.log10(current_high / current_low)
        )
        if keep_ylim and not keep:
            # Room for the data to move before the axis has to change again.
            pad = max(1.0, round(0.3 * decades))
            low = 10.0 ** max(math.log10(low) - pad, LOWEST_EXPONENT)
            high = 10.0 ** min(math.log10(high) + pad, HIGHEST_EXPONENT)
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
        self._mark_beyond(x, xlim, mark_beyond)
        self.ax.set_title(title or "")
        texts = dict(legend or {})
        for label, text in zip(self.labels, self.legend.get_texts(), strict=True):
            text.set_text(texts.get(label, label))
        return self.figure

    @staticmethod
    def _check_options(title, ylim, legend, xlim, keep_ylim, mark_beyond) -> None:
        check_title(title)
        _check_text(mark_beyond, "mark_beyond", optional=True)
        check_bool(keep_ylim, "keep_ylim")
        if ylim is not None:
            _check_limits(ylim, "ylim", log=True)
        if xlim is not None:
            _check_limits(xlim, "xlim")
        if legend is not None:
            check_mapping(legend, "legend", "{'plain': 'plain (40% dead)'}")

    def _mark_beyond(self, x: np.ndarray, xlim: tuple[float, float], text: str | None) -> None:
        step = float(np.min(np.diff(x))) if x.size > 1 else 1.0
        start, end = x.max() + 0.5 * step, max(xlim)
        shown = text is not None and end > start
        self.beyond.set_visible(shown)
        self.beyond_label.set_visible(shown)
        if not shown:
            return
        self.beyond.set_x(start)
        self.beyond.set_width(end - start)
        share = (end - start) / (max(xlim) - min(xlim))
        # Across a wide span, upright in a narrow one; no text where even that cannot fit.
        self.beyond_label.set_text(text if share >= 0.04 else "")
        self.beyond_label.set_rotation(0 if share >= 0.2 else 90)
        self.beyond_label.set_x(0.5 * (start + end))

    @property
    def full_renders(self) -> int:
        """How many renders drew the axes, ticks and labels (the rest drew only the data)."""
        return self.renderer.full_renders

    def render_png(self) -> bytes:
        """The figure as PNG bytes, redrawing only the data when nothing else changed.

        See :class:`CachedAxesRenderer`: the axes, ticks, labels and title are drawn
        once per axes state (the last 16 are kept); otherwise a render draws just the
        bands, lines and legend on a copy of them. The image is the one
        ``figure_to_png(figure)`` gives.
        """
        return self.renderer(self.figure)


def plot_gradient_bands(
    x: Sequence[float] | np.ndarray,
    series: Mapping[str, object],
    title: str | None = "",
    xlabel: str = "layer",
    colors: Mapping[str, str] | None = None,
    figsize: tuple[float, float] = (7.0, 4.0),
) -> Figure:
    """One panel of median lines and inter-quartile bands on a log y axis.

    Args:
        x: positions (layers or depths), shape ``(n,)``.
        series: label -> ``(3, n)`` quartiles of mean |gradients| (>= 0; NaN is a gap);
            labels ``"plain"``/``"shortcut"`` take their usual colours, others need
            ``colors``.
        title: axes title (``None`` or ``""`` for none).

    Returns:
        The figure (``figure.axes[0].lines`` are the medians, in ``series`` order).
    """
    check_mapping(series, "series", '{"plain": quantiles}')
    if not series:
        raise ValueError("series is empty; expected at least one, such as {'plain': quantiles}")
    _band_arrays(series)  # before the figure is made
    _positions(x, "x")
    check_colors(colors)
    check_title(title)
    plot = BandPlot(list(series), colors=colors, xlabel=xlabel, figsize=figsize)
    return plot.update(x, series, title=title)


def plot_depth_panels(
    depths: Sequence[int] | np.ndarray,
    panels: Mapping[str, Mapping[str, object]],
    colors: Mapping[str, str] | None = None,
    ncols: int = 2,
    suptitle: str | None = "",
) -> Figure:
    """A grid of band plots against depth, one panel per key of ``panels``.

    Args:
        depths: x positions, shape ``(n,)``.
        panels: panel title (e.g. an activation) -> {series label -> (3, n) quartiles}.
        colors: as :func:`plot_gradient_bands`.
        ncols: panels per row (a positive integer; at most 100 panels in all).
        suptitle: the figure's title (``None`` or ``""`` for none).

    Returns:
        The figure; panels share the y axis (same decades everywhere).
    """
    check_mapping(panels, "panels", '{"GELU": {"plain": quantiles}}')
    if not panels:
        raise ValueError("panels must not be empty")
    ncols = check_positive_int(ncols, "ncols")
    check_title(suptitle, "suptitle")
    nrows = math.ceil(len(panels) / ncols)
    check_panel_count(
        nrows * ncols,
        f"panels ({len(panels)} of them) in ncols={ncols} columns",
        "plot fewer panels (or split them over several figures), with ncols at most their number",
    )
    arrays = {}
    for name, series in panels.items():
        where = f"panels[{name!r}]"
        check_mapping(series, where, "{'plain': quantiles, 'shortcut': quantiles}")
        if not series:
            raise ValueError(f"{where} is empty; expected {{'plain': quantiles, ...}}")
        arrays[name] = _band_arrays(series, where)
    points = {array.shape[1] for series in arrays.values() for array in series.values()}
    if len(points) > 1:
        raise ValueError(
            f"every series in panels must have the same number of points, got {sorted(points)}"
        )
    _positions(depths, "depths", points.pop(), "the series in panels")
    colors = check_colors(colors)
    figure, axes = new_figure(
        nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), sharex=True, sharey=True, squeeze=False
    )
    low, high = _band_limits({f"{n}/{k}": v for n, s in arrays.items() for k, v in s.items()})
    log_decade_axis(axes.flat[0], low, high)  # shared: widens the limits to whole steps
    low = axes.flat[0].get_ylim()[0]  # zeros are drawn on the bottom edge
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
    title: str | None = "",
) -> Figure:
    """Two panels against depth: gradient bands (log) and the share of dead networks.

    Args:
        depths: x positions, shape ``(n,)``.
        bands: label -> ``(3, n)`` quartiles of the first-layer gradient over the
            networks that are not dead.
        dead_fraction: label -> ``(n,)`` share of networks whose output gradient is
            exactly 0 (nothing in them learns).
        colors: label -> colour; default ``COLORS[label]``.
        title: title of the bands' panel (``None`` or ``""`` for none).

    Returns:
        The figure; ``figure.axes[0]`` the bands, ``figure.axes[1]`` the dead share.
    """
    check_mapping(bands, "bands", '{"plain": quantiles}')
    check_mapping(dead_fraction, "dead_fraction", '{"plain": fractions}')
    if not bands:
        raise ValueError("bands is empty; expected at least one, such as {'plain': quantiles}")
    arrays = _band_arrays(bands, "bands")
    if sorted(dead_fraction) != sorted(arrays):
        raise ValueError(
            f"bands and dead_fraction need the same labels, got {list(arrays)} and "
            f"{list(dead_fraction)}"
        )
    points = {array.shape[1] for array in arrays.values()}
    if len(points) > 1:
        raise ValueError(f"every series in bands must have the same number of points, got {points}")
    x = _positions(depths, "depths", points.pop(), "the series in bands")
    for label, values in dead_fraction.items():
        name = f"dead_fraction[{label!r}]"
        shares = as_float_array(values, name, "[0.0, 0.25, 0.5] (one share per depth)")
        if shares.size != x.size:
            raise ValueError(f"{name} has {shares.size} values but depths has {x.size}")
        if not np.all((shares >= 0) & (shares <= 1)):
            raise ValueError(f"{name} must hold shares between 0 and 1, got {shares.tolist()}")
    colors = check_colors(colors)
    check_title(title)
    figure, (ax_grad, ax_dead) = new_figure(
        1, 2, figsize=(10.0, 4.0), gridspec_kw={"width_ratios": [3, 2]}
    )
    low, high = _band_limits(arrays)
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
        ax_dead.set_title("dead at the output: no gradient anywhere")
        if title:
            ax_grad.set_title(title)
    return figure


def _band_limits(series: Mapping[str, np.ndarray]) -> tuple[float, float]:
    """:func:`~shortcut_lib.plots.style.log_limits` of every value of every series."""
    values = [np.ravel(v) for v in series.values()]
    return log_limits(np.concatenate(values) if values else [])
