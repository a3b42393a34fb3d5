"""Lesson 03's explorer: per-layer gradients, plain vs shortcut, for any network."""

from __future__ import annotations

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..activations import ACTIVATIONS
from ..architecture import deep_layer_sizes
from ..comparison import compare_gradients
from ..plots import (
    CachedAxesRenderer,
    new_figure,
    plot_gradient_comparison,
)
from ..validation import check_choice, check_integer
from .explorer import Explorer

# --- Lesson 03: gradient comparison ---------------------------------------------

#: Slider ranges of the gradient explorer: (min, max).
GRADIENT_EXPLORER_RANGES = {"depth": (2, 30), "width": (1, 16), "seed": (0, 999)}


def gradient_explorer(
    depth: int = 5, width: int = 3, activation: str = "gelu", seed: int = 123
) -> Explorer:
    """Plain vs shortcut gradients per layer, for any depth, width, activation and seed.

    Each change rebuilds the fair pair of networks
    (``compare_gradients(deep_layer_sizes(depth, width), seed, activation)``: equal
    initial weights, input :func:`~shortcut_lib.comparison.default_input`, which is
    the book's ``[[1., 0., -1.]]`` at width 3) and redraws both bar series in the
    same figure. The defaults are the book's set-up.

    Args:
        depth: number of layers, 2-30 (the last maps ``width -> 1``, without shortcut,
            except at width 1, where its shapes match and it gets one too).
        width: features per hidden layer, 1-16.
        activation: a name from :data:`~shortcut_lib.activations.ACTIVATIONS`.
        seed: seed of the initial weights, 0-999.

    Returns:
        An :class:`Explorer` with controls ``"depth"``, ``"width"``, ``"activation"``,
        ``"seed"``; ``explorer.data`` is ``{"plain": {...}, "shortcut": {...}}``, the
        two tables of gradient means drawn.
    """
    for name, value in (("depth", depth), ("width", width), ("seed", seed)):
        low, high = GRADIENT_EXPLORER_RANGES[name]
        check_integer(value, name, minimum=low, maximum=high)
    check_choice("activation", activation, ACTIVATIONS)

    def slider(name: str, value: int, description: str) -> widgets.IntSlider:
        low, high = GRADIENT_EXPLORER_RANGES[name]
        return widgets.IntSlider(value=value, min=low, max=high, description=description)

    controls = {
        "depth": slider("depth", depth, "layers"),
        "width": slider("width", width, "width"),
        "activation": widgets.Dropdown(
            options=list(ACTIVATIONS), value=activation, description="activation"
        ),
        "seed": slider("seed", seed, "seed"),
    }
    # One figure for the explorer's lifetime, redrawn in place, with fixed margins
    # (wide enough for any tick label): a new figure, or constrained layout's extra
    # measuring pass, on every slider step would cost more than the gradients.
    figure, _ = new_figure(figsize=(7.0, 4.0))
    figure.set_layout_engine(None)
    figure.subplots_adjust(left=0.14, right=0.98, bottom=0.13, top=0.91)

    def draw(depth: int, width: int, activation: str, seed: int) -> tuple[Figure, dict]:
        plain, shortcut = compare_gradients(deep_layer_sizes(depth, width), seed, activation)
        title = f"{depth} layers, {width} wide, {activation}, seed {seed}"
        plot_gradient_comparison(plain, shortcut, title=title, figure=figure, steady_axes=True)
        return figure, {"plain": plain, "shortcut": shortcut}

    def moving_artists() -> list:
        # The bars, the title naming the settings and the text boxes change on every
        # step; the axes only at a few depths (steady_axes), so they are drawn once each.
        ax = figure.axes[0]
        return [*ax.patches, ax.title, *ax.texts]

    return Explorer(
        controls,
        draw,
        title="Gradient explorer: plain vs shortcut, per layer",
        render=CachedAxesRenderer(moving_artists, x_axis_apart=True),
    )
