"""Lesson 05's figures: loss curves by depth and decision boundaries."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure

from ..training import TrainingHistory, TrainingRun
from ..validation import (
    check_mapping,
    check_positive_int,
    check_real,
    described,
)
from ._checks import as_float_array, check_panel_count, check_title
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


def _check_kinds(name: str, data: Mapping[str, Mapping[int, object]], example: str) -> list[int]:
    """Check ``{"plain": {depth: ...}, "shortcut": {depth: ...}}`` and return the depths."""
    if not isinstance(data, Mapping) or set(data) != {"plain", "shortcut"}:
        keys = list(data) if isinstance(data, Mapping) else type(data).__name__
        raise ValueError(f'{name} must have the keys "plain" and "shortcut", got {keys}')
    for kind in ("plain", "shortcut"):
        check_mapping(data[kind], f"{name}[{kind!r}]", f"{{depth: ...}}, as in {example}")
        for depth in data[kind]:
            check_positive_int(depth, f"each depth (key) of {name}[{kind!r}]")
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


def _loss_curve(values: object, name: str) -> np.ndarray:
    """Per-step losses (a list, or a run of train_depths) as a finite, non-negative array."""
    if isinstance(values, TrainingRun):
        values = values.history
    if isinstance(values, TrainingHistory):
        values = values.losses
    # A 0-d tensor or array has no len(): as_float_array says it is not one-dimensional.
    sized = isinstance(values, (Sequence, np.ndarray, torch.Tensor)) and getattr(values, "ndim", 1)
    if sized and len(values) == 0:
        raise ValueError(
            f"{name} must be a non-empty list of numbers (one loss per step), got none"
        )
    array = as_float_array(
        values,
        name,
        "[0.69, 0.52, 0.31] (one loss per step)",
        advice="training diverged: lower lr (train warns when it does)",
    )
    if array.min() < 0:
        raise ValueError(
            f"{name} must hold losses >= 0 (drawn on a log axis), got {array.min():g} among them"
        )
    return array


def plot_loss_curves(
    losses: Mapping[str, Mapping[int, Sequence[float]]],
    chance_loss: float | None = math.log(2.0),
    title: str | None = None,
) -> Figure:
    """Training loss per step on a log scale: plain networks left, shortcut networks right.

    Args:
        losses: ``{"plain": {depth: per-step losses}, "shortcut": {depth: ...}}``,
            e.g. ``run.history.losses`` from :func:`~shortcut_lib.training.train_depths`;
            what ``train_depths`` returns (runs in place of the losses) is drawn too. The
            losses must be finite and >= 0 (a diverged training's NaN is reported).
        chance_loss: draws a grey line at this loss, labelled "chance" (``ln 2`` for
            two balanced classes: what a network that has learnt nothing scores);
            ``None`` for no line; a number > 0 (the axis is logarithmic).
        title: the figure's title (``None`` or ``""`` for none).

    Returns:
        A figure with two axes sharing the y axis; each has one line per depth
        (the deepest solid), labelled ``"{depth} layers"``, with a marker of its own
        at steps no other depth marks, so curves that coincide stay visible.
    """
    example = "{'plain': {4: [0.69, 0.52, ...]}, 'shortcut': {4: [...]}}"
    depths = _check_kinds("losses", losses, example)
    curves = {
        kind: {
            depth: _loss_curve(losses[kind][depth], f"losses[{kind!r}][{depth}]")
            for depth in depths
        }
        for kind in ("plain", "shortcut")
    }
    check_title(title)
    if chance_loss is not None:
        check_real(chance_loss, "chance_loss (a loss on the log axis, or None)", positive=True)
    styles = _depth_linestyles(depths)
    markers = dict(zip(depths, _DEPTH_MARKERS[-len(depths) :] or _DEPTH_MARKERS, strict=False))
    figure, axes = new_figure(1, 2, figsize=(9.0, 3.8), sharey=True)
    with figure_style():
        for ax, kind in zip(axes, ("plain", "shortcut"), strict=True):
            for index, depth in enumerate(depths):
                values = curves[kind][depth]
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


def _grid(grid: object, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One panel's ``(xs, ys, probabilities)`` from :func:`decision_grid`, as arrays."""
    if isinstance(grid, torch.nn.Module):
        raise TypeError(
            f"{name} must be (xs, ys, probabilities) from decision_grid(model), got a model "
            f"({type(grid).__name__}); pass decision_grid(model) instead"
        )
    if isinstance(grid, (str, bytes)) or not isinstance(grid, Sequence):
        raise TypeError(
            f"{name} must be (xs, ys, probabilities) from decision_grid(model), got "
            f"{described(grid)}"
        )
    if len(grid) != 3:
        raise ValueError(
            f"{name} must be the triple (xs, ys, probabilities) that decision_grid(model) "
            f"returns, got {len(grid)} item(s)"
        )
    xs = as_float_array(grid[0], f"{name}[0] (xs)", "torch.linspace(-1.5, 1.5, 81)")
    ys = as_float_array(grid[1], f"{name}[1] (ys)", "torch.linspace(-1.5, 1.5, 81)")
    probabilities = as_float_array(
        grid[2],
        f"{name}[2] (the probabilities)",
        "decision_grid(model)[2], shape (len(ys), len(xs))",
        ndim=2,
        advice="the model's output was not a number there: check its weights "
        "(e.g. for NaN after a diverged training) before drawing its boundary",
    )
    if probabilities.shape != (ys.size, xs.size):
        raise ValueError(
            f"{name}: probabilities must have shape "
            f"(len(ys), len(xs)) = ({ys.size}, {xs.size}), got {probabilities.shape}"
        )
    if probabilities.min() < 0 or probabilities.max() > 1:
        raise ValueError(
            f"{name}[2] must hold probabilities between 0 and 1, got values from "
            f"{probabilities.min():g} to {probabilities.max():g}"
        )
    return xs, ys, probabilities


def _check_accuracies(accuracies: object, depths: list[int]) -> None:
    """``{kind: {depth: accuracy}}`` with an accuracy in [0, 1] for every panel."""
    example = "{'plain': {4: 0.95}, 'shortcut': {4: 0.99}}"
    check_mapping(accuracies, "accuracies", example)
    for kind in ("plain", "shortcut"):
        if kind not in accuracies:
            raise ValueError(f"accuracies has no {kind!r} entry; expected e.g. {example}")
        by_depth = check_mapping(accuracies[kind], f"accuracies[{kind!r}]", example)
        for depth in depths:
            if depth not in by_depth:
                raise ValueError(
                    f"accuracies[{kind!r}] has no accuracy for depth {depth} (it has "
                    f"{list(by_depth)}); give one per panel, e.g. {example}"
                )
            check_real(by_depth[depth], f"accuracies[{kind!r}][{depth}]", minimum=0, maximum=1)


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
            Probabilities that are NaN (a broken model) are reported, not drawn.
        X, y: training points, shapes ``(N, 2)`` and ``(N,)`` with labels 0/1.
        accuracies: optional ``{kind: {depth: accuracy}}``, one in [0, 1] for every panel,
            written in it.
        title: the figure's title (``None`` or ``""`` for none).

    Returns:
        A figure with ``2 × len(depths)`` axes, row-major: plain first.
    """
    depths = _check_kinds("grids", grids, "{'plain': {4: decision_grid(model)}, 'shortcut': ...}")
    check_panel_count(
        2 * len(depths), f"grids with {len(depths)} depths (two rows)", "plot fewer depths"
    )
    panels = {
        (kind, depth): _grid(grids[kind][depth], f"grids[{kind!r}][{depth}]")
        for kind in ("plain", "shortcut")
        for depth in depths
    }
    points = as_float_array(X, "X", "make_spirals(200)[0], shape (N, 2)", ndim=2)
    labels = as_float_array(y, "y", "make_spirals(200)[1], labels 0 and 1")
    if points.ndim != 2 or points.shape[1] != 2 or labels.shape != (points.shape[0],):
        raise ValueError(
            f"X must have shape (N, 2) and y shape (N,), got {points.shape} and {labels.shape}"
        )
    if not np.isin(labels, (0.0, 1.0)).all():
        raise ValueError(
            f"y must hold the class labels 0 and 1, got the values {np.unique(labels)[:6].tolist()}"
        )
    if accuracies is not None:
        _check_accuracies(accuracies, depths)
    check_title(title)
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
                xs, ys, probabilities = panels[kind, depth]
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
