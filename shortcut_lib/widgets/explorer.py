"""The Explorer: controls on top, a plot underneath, redrawn in place on every change.

A notebook cell is one line (``gelu_explorer()``); tests and benchmarks drive the same
object from plain Python by setting ``explorer.controls["depth"].value = 10`` and reading
``explorer.figure``, ``explorer.data`` and ``explorer.png``.
"""

from __future__ import annotations

import inspect
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..plots import (
    figure_to_png,
)
from ..validation import ERRORS_OF_THEIR_OWN, check_mapping, described, short_repr

DrawFunction = Callable[..., tuple[Figure, Any]]


class Explorer(widgets.VBox):
    """Controls plus a live figure.

    Args:
        controls: name -> value widget; each name is passed to ``draw`` as a
            keyword argument with the widget's current value.
        draw: ``draw(**values) -> (figure, data)``, called with one keyword argument
            per control (checked against its signature at once); ``data`` is whatever
            numbers the figure shows (kept on the explorer for tests and for learners).
        title: optional heading shown above the controls.
        render: ``render(figure) -> PNG bytes`` (checked on every redraw); default
            :func:`~shortcut_lib.plots.figure_to_png`. An explorer whose axes
            mostly hold still passes a :class:`~shortcut_lib.plots.CachedAxesRenderer`,
            which redraws only the data.

    Attributes:
        figure: the latest figure; ``png``: it rendered to PNG bytes (what the
        ``plot`` Image widget shows); ``data``: the latest numbers; ``renders``: how many times it
        has drawn; ``last_render_seconds``: wall time of the latest redraw, and
        ``recent_render_seconds`` those of the latest 64 (what ``make bench-browser``
        reads from the kernel, beside the latency it measures in the browser).
    """

    def __init__(
        self,
        controls: dict[str, widgets.ValueWidget],
        draw: DrawFunction,
        title: str | None = None,
        render: Callable[[Figure], bytes] = figure_to_png,
    ) -> None:
        _check_controls(controls)
        for name, value in (("draw", draw), ("render", render)):
            if not callable(value):
                raise TypeError(f"{name} must be a function, got {described(value)}")
        if title is not None and not isinstance(title, str):
            raise TypeError(f"title must be a string or None, got {title!r}")
        _check_draw_takes(draw, controls)
        self.controls = controls
        self.draw = draw
        self.render = render
        # The picture is an Image widget whose bytes are replaced: the comm sends them as a
        # binary buffer and the page swaps one <img>'s blob, where an Output widget would
        # send a base64 display message after a clear_output and rebuild its output area
        # (make bench-browser measures both).
        self.plot = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.figure: Figure | None = None
        self.png: bytes = b""
        self.data: Any = None
        self.renders = 0
        self.last_render_seconds = 0.0
        self.recent_render_seconds: deque[float] = deque(maxlen=64)
        header = [widgets.HTML(f"<b>{title}</b>")] if title else []
        box = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([*header, box, self.plot])
        for control in controls.values():
            # ipywidgets' default fixed label width cuts "activation" to "activat...".
            if hasattr(control, "style") and hasattr(control.style, "description_width"):
                control.style.description_width = "initial"
            control.observe(self._on_change, names="value")
        self.redraw()

    def values(self) -> dict[str, Any]:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def redraw(self) -> None:
        """Draw with the current values and show the result in place."""
        start = time.perf_counter()
        values = self.values()
        call = ", ".join(f"{name}={short_repr(value, 30)}" for name, value in values.items())
        self.figure, self.data = _check_drawn(_own_call(self.draw, f"draw({call})", **values))
        self.png = _check_png(_own_call(self.render, "render(figure)", self.figure))
        self.renders += 1
        self.last_render_seconds = time.perf_counter() - start
        self.recent_render_seconds.append(self.last_render_seconds)
        self.plot.value = self.png  # the old picture stays until the new one has arrived

    def _on_change(self, change: dict) -> None:
        self.redraw()


_CONTROLS_EXAMPLE = "{'depth': widgets.IntSlider(value=5, min=1, max=10)}"


def _check_controls(controls: object) -> None:
    """A dict of name -> ipywidgets control with a ``value`` (a slider, a dropdown, ...)."""
    check_mapping(controls, "controls", _CONTROLS_EXAMPLE)
    for name, control in controls.items():
        if not isinstance(name, str):
            raise TypeError(
                f"each key of controls must be a string, the keyword argument of draw it "
                f"sets, such as {_CONTROLS_EXAMPLE}, got {name!r}"
            )
        if not isinstance(control, widgets.ValueWidget):
            raise TypeError(
                f"controls[{name!r}] must be an ipywidgets control with a value (IntSlider, "
                f"Dropdown, ...), such as {_CONTROLS_EXAMPLE}, got {short_repr(control)} "
                f"({type(control).__name__})"
            )


def _check_draw_takes(draw: Callable, controls: dict) -> None:
    """``draw`` accepts one keyword argument per control, by the controls' names: else the
    first redraw fails with Python's "unexpected keyword argument", naming no control."""
    try:
        signature = inspect.signature(draw)
    except (TypeError, ValueError):  # no signature to read (some builtins): calling it will tell
        return
    try:
        signature.bind(**dict.fromkeys(controls))
    except TypeError as error:
        names = ", ".join(controls)
        call = ", ".join(f"{name}=..." for name in controls)
        raise TypeError(
            f"draw must take one keyword argument per control, named as the controls: it is "
            f"called as draw({call}), but draw{signature} cannot be ({error}); e.g. "
            f"def draw({names}): ... return figure, data"
        ) from None


def _own_call(function: Callable, what: str, *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``; an error raised inside it names the call (``what``)."""
    try:
        return function(*args, **kwargs)
    except ERRORS_OF_THEIR_OWN:
        raise
    except Exception as error:  # noqa: BLE001 - the explorer's own function failed: say where
        raise ValueError(f"{what} raised {type(error).__name__}: {error}") from error


def _check_png(png: object) -> bytes:
    """What ``render`` returned: the PNG bytes the picture shows."""
    if not isinstance(png, bytes) or not png.startswith(b"\x89PNG"):
        raise TypeError(
            f"render must return the figure as PNG bytes, e.g. figure_to_png(figure) or a "
            f"CachedAxesRenderer; got {described(png)}"
        )
    return png


def _check_drawn(result: object) -> tuple[Figure, Any]:
    """What ``draw`` returned: ``(figure, data)``, the figure a matplotlib Figure."""
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], Figure)):
        raise TypeError(
            f"draw must return (figure, data), a matplotlib Figure and the numbers it shows, "
            f"e.g. return figure, {{'max_error': 0.01}}; got {short_repr(result)}"
        )
    return result
