"""Lesson 03's figure: per-layer gradients, plain vs shortcut, on a log axis."""

from __future__ import annotations

import math

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.ticker import LogLocator

from ..comparison import vanishing_ratio
from ..validation import check_bool, check_gradient_means
from ._checks import check_figure, check_title
from .style import (
    COLORS,
    GRADIENT_AXIS_LABEL,
    KIND_LABELS,
    figure_style,
    log_limits,
    new_figure,
    power_of_ten_label,
)

#: Top of the axes kept free of bars: the legend and the ratio box sit there.
_HEADROOM = 1 / 3

#: Most layers one chart draws: two bars each, about 2.5 ms per layer to make and draw.
MAX_LAYERS = 2000

#: With steady axes, the x axis ends at the first of these at or above the last layer.
_LAYER_AXIS_ENDS = (5, 10, 20, 30)


def plot_gradient_comparison(
    plain: dict[str, float],
    shortcut: dict[str, float],
    title: str | None = None,
    figure: Figure | None = None,
    steady_axes: bool = False,
) -> Figure:
    """Bar chart of per-layer gradient magnitudes, plain vs shortcut, on a log scale.

    Layer 0 (next to the input) is on the left. A box gives each network's
    vanishing ratio, first-layer gradient / last-layer gradient.

    Args:
        plain, shortcut: ``{"layers.0.0.weight": mean |grad|, ...}`` in layer order,
            e.g. from :func:`~shortcut_lib.comparison.compare_gradients`; at most
            2000 layers.
        title: axes title; ``None`` for a default that names the number of layers.
        figure: redraw this figure in place instead of making a new one: a figure
            returned by an earlier call, or an empty one from :func:`new_figure`
            (what the gradient explorer does; much cheaper than a new figure). Its
            first axes is drawn in; one holding another figure's drawing is refused.
        steady_axes: for an explorer redrawing ``figure``: the x axis ends at the
            first of 5, 10, 20, 30 layers that holds the bars (then at multiples of
            10), and the y axis spans whole decades and keeps them while the bars
            fit, so a slider step usually changes only the bars and the texts
            (:class:`CachedAxesRenderer` then redraws just those). Slots past the
            last layer are greyed out and labelled "no layer ..." (patch and text
            with gids ``"gradient-no-layers"`` and ``"gradient-no-layers-label"``),
            so an empty slot never reads as a layer whose gradient is 0.

    Returns:
        The figure. ``figure.axes[0].containers`` are the bars, plain then shortcut
        (labels ``"plain"``, ``"with shortcuts"``); bars of height 0 are not visible
        on the log axis.
    """
    plain = check_gradient_means(plain, "plain")
    shortcut = check_gradient_means(shortcut, "shortcut")
    _check_comparison_figure(figure)
    check_title(title)
    steady_axes = check_bool(steady_axes, "steady_axes")
    if list(plain) != list(shortcut):
        raise ValueError(
            f"plain and shortcut must have the same layers, got {list(plain)} and {list(shortcut)}"
        )
    if not plain:
        raise ValueError("plain and shortcut are empty; expected at least one layer")
    if len(plain) > MAX_LAYERS:
        raise ValueError(
            f"plain and shortcut have {len(plain)} layers, more than the {MAX_LAYERS} a bar chart "
            f"can draw in reasonable time (2000 layers take about 5 s); plot a part of them, "
            f"e.g. the first 100: dict(list(plain.items())[:100])"
        )
    n_layers = len(plain)
    values = [*plain.values(), *shortcut.values()]
    if figure is None:
        figure, ax = new_figure(figsize=(7.0, 4.0))
    else:
        ax = figure.axes[0]
    with figure_style():
        texts = {artist.get_gid(): artist for artist in [*ax.texts, *ax.patches]}
        if "gradient-no-layers" not in texts:
            texts = _set_up_gradient_axes(ax)
        # Update what exists rather than ax.clear(): rebuilding ticks and texts made
        # every explorer redraw several times slower.
        bars_by_label = {bars.get_label(): bars for bars in ax.containers}
        had_bars = bool(bars_by_label)
        positions = range(n_layers)
        for label, means, offset, color in (
            ("plain", plain, -0.2, COLORS["plain"]),
            (KIND_LABELS["shortcut"], shortcut, 0.2, COLORS["shortcut"]),
        ):
            bars = bars_by_label.get(label)
            if bars is None:
                x = [p + offset for p in positions]
                ax.bar(x, list(means.values()), width=0.4, color=color, label=label)
                continue
            # One layer more or less: add or remove just those bars (ax.bar costs ~1 ms
            # per bar on a log axis, and an explorer's depth slider moves one at a time).
            rects = list(bars)
            for rect in rects[n_layers:]:
                rect.remove()
            if n_layers > len(rects):
                x = [p + offset for p in positions[len(rects) :]]
                extra = ax.bar(x, [1.0] * len(x), width=0.4, color=color)
                ax.containers.remove(extra)
                rects += list(extra)
            ax.containers.remove(bars)
            bars = BarContainer(rects[:n_layers], label=label)
            ax.add_container(bars)
            for rect, value in zip(bars, means.values(), strict=True):
                rect.set_height(value)
        no_layers, no_layers_label = texts["gradient-no-layers"], texts["gradient-no-layers-label"]
        if steady_axes:
            current = ax.get_ylim() if had_bars else None
            ax.set_ylim(*log_limits(values, _HEADROOM, spare_below=True, current=current))
            end = next((e for e in _LAYER_AXIS_ENDS if e >= n_layers - 1), None)
            end = end if end is not None else 10 * math.ceil((n_layers - 1) / 10)
            step = next((s for s in (1, 2, 5, 10, 20, 50) if end / s <= 7), math.ceil(end / 7))
            ax.set_xlim(-0.6, end + 0.6)
            ax.set_xticks(range(0, end + 1, step))
            ax.set_xlabel("layer (0 = next to the input; the last one is the output)")
            # Steady axes reach past the last layer: grey out the slots the network does
            # not have and say so, so an empty slot never reads as a layer whose gradient is 0.
            _show_missing_layers(no_layers, no_layers_label, n_layers, end)
        else:
            ax.set_ylim(*log_limits(values, _HEADROOM, whole_decades=False))
            ax.set_xlim(-0.6, n_layers - 0.4)
            # At most 8 labels: every text costs a few ms per explorer redraw.
            step = max(1, math.ceil(n_layers / 8))
            ax.set_xticks(list(positions)[::step])
            ax.set_xlabel(f"layer (0 = next to the input, {n_layers - 1} = output)")
            no_layers.set_visible(False)
            no_layers_label.set_visible(False)
        ax.set_title(title if title is not None else f"Gradient per layer, {n_layers} layers")

        def shown(means: dict[str, float]) -> str:
            if not any(means.values()):
                return "— (all 0)"
            if list(means.values())[-1] == 0:  # first ÷ 0 has no value to show
                return "— (last layer's is 0)"
            return f"{vanishing_ratio(means):.4g}"

        texts["gradient-ratio"].set_text(
            f"first ÷ last layer gradient\nplain: {shown(plain)}\nwith shortcuts: {shown(shortcut)}"
        )
        texts["gradient-all-zero"].set_visible(not any(v > 0 for v in values))
    return figure


def _check_comparison_figure(figure: object) -> None:
    """``figure=``: an earlier comparison, or a figure whose first axes is still empty (else
    the bars would land among another figure's drawing)."""
    check_figure(figure)
    if figure is None:
        return
    ax = figure.axes[0]
    ours = any(patch.get_gid() == "gradient-no-layers" for patch in ax.patches)
    drawn = ax.has_data() or ax.texts or ax.artists or ax.get_title()
    if drawn and not ours:
        raise ValueError(
            "figure must be one returned by an earlier plot_gradient_comparison or an empty "
            "one from new_figure(), but its first axes already holds another drawing "
            f"({len(ax.patches)} patches, {len(ax.lines)} lines, {len(ax.texts)} texts); "
            "pass figure=None for a new figure"
        )


def _set_up_gradient_axes(ax: Axes) -> dict[str, Text]:
    """What every gradient comparison shares: log axis, labels, legend, annotation boxes."""
    # Limits before the log scale: log-scaling empty autoscaled limits would warn.
    ax.set_ylim(1e-8, 1.0)
    ax.set_yscale("log")
    # Plain-text labels (10⁻⁴): matplotlib's default $10^{-4}$ goes through mathtext,
    # which made every redraw of the explorer several times slower.
    ax.yaxis.set_major_locator(LogLocator(numticks=8))
    ax.yaxis.set_major_formatter(power_of_ten_label)
    ax.minorticks_off()
    ax.set_ylabel(GRADIENT_AXIS_LABEL)
    # Grid and legend below the bars (the legend sits in the headroom above them): a
    # CachedAxesRenderer then keeps both in its background instead of redrawing them.
    ax.set_axisbelow(True)
    ax.grid(False, axis="x")  # layers are categories: the bars need no vertical lines
    handles = [Patch(color=COLORS[kind], label=KIND_LABELS[kind]) for kind in ("plain", "shortcut")]
    ax.legend(handles=handles, loc="upper left", ncols=2).set_zorder(0.9)
    box = {"boxstyle": "round", "facecolor": "white", "edgecolor": "#BBBBBB"}
    ratio = ax.text(0.99, 0.97, "", transform=ax.transAxes, ha="right", va="top", bbox=box)
    ratio.set_gid("gradient-ratio")
    message = "every gradient is exactly 0:\nthe output already equals the target 0"
    all_zero = ax.text(0.5, 0.4, message, transform=ax.transAxes, ha="center", va="center")
    all_zero.set_gid("gradient-all-zero")
    # Steady axes only: the slots past the last layer. Above the grid and the legend (so a
    # CachedAxesRenderer keeps both in its background), below the bars; it stops under the
    # legend's row, which the bars never reach (log_limits with _HEADROOM).
    no_layers = ax.axvspan(0.0, 1.0, ymin=0.0, ymax=_NO_LAYERS_TOP, visible=False)
    no_layers.set(facecolor="#EBEBEB", edgecolor="none", zorder=0.95, gid="gradient-no-layers")
    label = ax.text(
        0.0,
        0.04,
        "",
        transform=ax.get_xaxis_transform(),
        rotation=90,
        ha="center",
        va="bottom",
        fontsize=9,
        color="#555555",
        visible=False,
        zorder=0.96,
    )
    label.set_gid("gradient-no-layers-label")
    return {
        "gradient-ratio": ratio,
        "gradient-all-zero": all_zero,
        "gradient-no-layers": no_layers,
        "gradient-no-layers-label": label,
    }


#: Height of the "no layers here" shading, in axes coordinates (the legend sits above it).
_NO_LAYERS_TOP = 0.86


def _show_missing_layers(shade: Artist, label: Text, n_layers: int, end: int) -> None:
    """Grey out x slots ``n_layers .. end`` (steady axes beyond the last layer) and label them."""
    missing = end - n_layers + 1
    shade.set_visible(missing > 0)
    label.set_visible(missing > 0)
    if missing <= 0:
        return
    left, right = n_layers - 0.5, end + 0.6
    shade.set_x(left)
    shade.set_width(right - left)
    label.set_x(0.5 * (left + right))
    label.set_text(f"no layer {end}" if missing == 1 else f"no layers {n_layers}–{end}")
