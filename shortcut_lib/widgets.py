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

from .plotting import figure_to_png

__all__ = ["Explorer"]

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
