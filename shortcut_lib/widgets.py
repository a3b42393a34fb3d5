"""Interactive explorers for the lessons (ipywidgets 8).

Every explorer is an :class:`Explorer`: controls on top, a plot underneath that
is redrawn in place on every change. A notebook cell is one line
(``gelu_explorer()``); tests and benchmarks drive the same object from plain
Python by setting ``explorer.controls["depth"].value = 10`` and reading
``explorer.figure``, ``explorer.data`` and ``explorer.png``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
from IPython import get_ipython
from IPython.display import Image, clear_output, display
from matplotlib.figure import Figure

from .activations import ACTIVATIONS
from .comparison import compare_gradients, deep_layer_sizes
from .plotting import figure_to_png, new_figure, plot_gradient_comparison

__all__ = ["Explorer", "gradient_explorer"]

DrawFunction = Callable[..., tuple[Figure, Any]]


class Explorer(widgets.VBox):
    """Controls plus a live figure.

    Args:
        controls: name -> value widget; each name is passed to ``draw`` as a
            keyword argument with the widget's current value.
        draw: ``draw(**values) -> (figure, data)``; ``data`` is whatever numbers
            the figure shows (kept on the explorer for tests and for learners).
        title: optional heading shown above the controls.

    Attributes:
        figure: the latest figure; ``png``: it rendered to PNG bytes (what is
        displayed); ``data``: the latest numbers; ``renders``: how many times it
        has drawn; ``last_render_seconds``: wall time of the latest redraw.
    """

    def __init__(
        self,
        controls: dict[str, widgets.ValueWidget],
        draw: DrawFunction,
        title: str | None = None,
    ) -> None:
        self.controls = controls
        self.draw = draw
        self.output = widgets.Output()
        self.figure: Figure | None = None
        self.png: bytes = b""
        self.data: Any = None
        self.renders = 0
        self.last_render_seconds = 0.0
        header = [widgets.HTML(f"<b>{title}</b>")] if title else []
        box = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([*header, box, self.output])
        for control in controls.values():
            control.observe(self._on_change, names="value")
        self.redraw()

    def values(self) -> dict[str, Any]:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def redraw(self) -> None:
        """Draw with the current values and show the result in place."""
        start = time.perf_counter()
        self.figure, self.data = self.draw(**self.values())
        self.png = figure_to_png(self.figure)
        self.renders += 1
        self.last_render_seconds = time.perf_counter() - start
        # Outside a kernel (tests, benchmarks) there is nothing to display to:
        # display() would print the repr to stdout instead.
        if get_ipython() is not None:
            with self.output:
                clear_output(wait=True)  # keep the old plot until the new one is ready
                display(Image(data=self.png, format="png"))

    def _on_change(self, change: dict) -> None:
        self.redraw()


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
        depth: number of layers, 2-30 (the last maps ``width -> 1``, without shortcut).
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
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
        if not low <= value <= high:
            raise ValueError(f"{name} must be between {low} and {high}, got {value!r}")
    if activation not in ACTIVATIONS:
        valid = ", ".join(repr(name) for name in ACTIVATIONS)
        raise ValueError(f"unknown activation {activation!r}; expected one of {valid}")

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
    figure.subplots_adjust(left=0.11, right=0.98, bottom=0.13, top=0.91)

    def draw(depth: int, width: int, activation: str, seed: int) -> tuple[Figure, dict]:
        plain, shortcut = compare_gradients(deep_layer_sizes(depth, width), seed, activation)
        title = f"{depth} layers, {width} wide, {activation}, seed {seed}"
        plot_gradient_comparison(plain, shortcut, title=title, figure=figure)
        return figure, {"plain": plain, "shortcut": shortcut}

    return Explorer(controls, draw, title="Gradient explorer: plain vs shortcut, per layer")
