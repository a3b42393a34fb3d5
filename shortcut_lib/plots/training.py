"""Lesson 05's figures: loss curves by depth and decision boundaries."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .style import (
    COLORS,
    KIND_LABELS,
    OKABE_ITO,
    figure_style,
    new_figure,
)

# --- Lesson 05: training ----------------------------------------------------------

#: Line style per rank of depth in the loss curves: shallowest dotted, deepest solid.
_DEPTH_LINESTYLES = (":", "--", "-.", "-")
_DEPTH_MARKERS = ("D", "s", "^", "o")

#: Colours of the two classes in decision-boundary plots (not plain/shortcut colours).
CLASS_COLORS = (OKABE_ITO["orange"], OKABE_ITO["green"])

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
        (the deepest solid), labelled ``"{depth} layers"``, with a marker of its own
        at steps no other depth marks, so curves that coincide stay visible.
    """
    depths = _check_kinds("losses", losses)
    styles = _depth_linestyles(depths)
    markers = dict(zip(depths, _DEPTH_MARKERS[-len(depths) :] or _DEPTH_MARKERS, strict=False))
    figure, axes = new_figure(1, 2, figsize=(9.0, 3.8), sharey=True)
    with figure_style():
        for ax, kind in zip(axes, ("plain", "shortcut"), strict=True):
            for index, depth in enumerate(depths):
                values = np.asarray(losses[kind][depth], dtype=float)
                if values.ndim != 1 or values.size == 0:
                    raise ValueError(
                        f"losses[{kind!r}][{depth}] must be a non-empty list of numbers, "
                        f"got shape {values.shape}"
                    )
                # Two nets stuck at the same loss draw the same line: line styles alone
                # cannot show both. Each depth gets its own marker, placed between the
                # other depths' markers, so a curve hidden under another still shows.
                every = max(1, values.size // 8)
                ax.plot(
                    np.arange(1, values.size + 1),
                    values,
                    color=COLORS[kind],
                    linestyle=styles[depth],
                    marker=markers.get(depth, "o"),
                    markevery=(every * index // len(depths) + every // 2, every),
                    markersize=6,
                    markerfacecolor="white",
                    markeredgewidth=1.3,
                    zorder=2 + len(depths) - index,  # shallower curves on top
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
            ax.set_title(KIND_LABELS[kind], color=COLORS[kind])
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
                    ax.set_ylabel(KIND_LABELS[kind], color=COLORS[kind], fontsize=12)
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
