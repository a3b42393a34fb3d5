"""Figures to PNG, fast: one Agg draw, and a renderer that redraws only what moves."""

from __future__ import annotations

import io
import math
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

import PIL.Image
from matplotlib.artist import Artist
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from ._checks import check_is_figure
from .style import (
    figure_style,
)


def figure_to_png(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes (what an explorer displays, and what tests compare).

    ``fig`` is the figure itself: ``fig, ax = new_figure(); figure_to_png(fig)``.
    """
    check_is_figure(fig, "fig")
    # One Agg draw, then PIL at zlib level 1. savefig would draw the whole figure twice
    # whenever a layout engine is set (even a frozen one), and encode at level 6: together
    # most of an explorer's redraw time on a slow CPU.
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    with figure_style():
        canvas.draw()
    return encode_png(canvas)


def freeze_layout(figure: Figure) -> None:
    """Fix the axes where constrained layout last put them, so redraws skip the layout pass.

    An explorer redraws the same figure many times; re-solving the layout on every
    render doubled its cost, and the positions hardly change between redraws.
    """
    if isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine):
        figure.draw_without_rendering()
        figure.set_layout_engine("none")


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


# Explorer renders (lessons 03 and 04). A labelled 700x400 figure takes 60-120 ms to
# render here, almost all of it text (each label costs milliseconds to lay out and
# rasterise), while the bars or lines that a slider moves take a few ms. So the text
# is drawn once per axes state and the data on top of a copy of it.

#: Backgrounds a CachedAxesRenderer keeps (700x400 RGBA: 1.1 MB each).
_BACKGROUND_CACHE_SIZE = 16


def encode_png(canvas: FigureCanvasAgg) -> bytes:
    """The canvas's pixels as an RGB PNG (zlib level 1: several times faster than 6)."""
    width, height = canvas.get_width_height()
    image = PIL.Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw")
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def _text_state(text: Text, position: bool = True) -> tuple:
    where = tuple(text.get_position()) if position else ()
    return (text.get_text(), text.get_visible(), text.get_color(), *where)


def _axis_state(axis: Axis) -> list:
    """Limits, scale, ticks shown (positions, labels), label and visibility of one axis."""
    low, high = sorted(axis.get_view_interval())
    key: list = [(low, high), axis.get_scale(), axis.get_label_text(), axis.get_visible()]
    margin = 1e-9 * (high - low)
    for locations, formatter in (
        (axis.get_majorticklocs(), axis.get_major_formatter()),
        (axis.get_minorticklocs(), axis.get_minor_formatter()),
    ):
        # Only ticks inside the view are drawn (a FixedLocator lists all of its).
        shown = [v for v in locations if low - margin <= v <= high + margin]
        key += [tuple(shown), tuple(formatter.format_ticks(shown))]
    return key


def axes_state(figure: Figure, exclude: Sequence[Artist] = (), x_axis: bool = True) -> tuple:
    """Everything a figure's static layer shows that commonly changes, as a hashable key.

    Figure size and dpi; per axes: position, limits, scales, tick positions and
    labels, axis labels (the x axis's only if ``x_axis``), titles, legend texts,
    and every text not in ``exclude`` (text, visibility, position, colour). Other
    changes (colours, line styles, new artists) are not in it: call
    :meth:`CachedAxesRenderer.clear` after them.
    """
    skip = {id(artist) for artist in exclude}
    key: list = [tuple(figure.get_size_inches()), figure.dpi]
    key += [_text_state(t) for t in figure.texts if id(t) not in skip]
    for ax in figure.axes:
        key += [ax.get_visible(), tuple(ax.get_position().bounds)]
        key += _axis_state(ax.yaxis) + (_axis_state(ax.xaxis) if x_axis else [])
        # A render places the titles itself (above any tick labels): their text is the state.
        for title in (ax.title, ax._left_title, ax._right_title):
            if id(title) not in skip:
                key.append(_text_state(title, position=False))
        key += [_text_state(t) for t in ax.texts if id(t) not in skip]
        legend = ax.get_legend()
        if legend is not None and id(legend) not in skip:
            key.append(tuple(_text_state(t) for t in legend.get_texts()))
    return tuple(key)


class CachedAxesRenderer:
    """Render a figure to PNG over and over, redrawing only the artists that move.

    An explorer's figure changes in two ways: its data (bars, lines, bands, a
    title or a box naming the current numbers) on every slider step, and its axes
    (limits, ticks, labels) now and then. This renderer draws everything static
    once per distinct axes state into a background, keeps the last 16 of them,
    and for every call restores the matching background and draws just the
    ``dynamic`` artists on top (``full_renders`` counts the calls that had to
    draw a new background). Static artists stacked above the lowest dynamic one
    inside its axes (spines, a legend) are redrawn on top too, in z-order, so
    the picture is the one a full render gives, pixel for pixel; keep the axis
    below the data (``ax.set_axisbelow(True)``) and legends low in z-order, or
    they are redrawn every time. Only the figure's own layout is used: a layout
    engine is run once and then switched off.

    Args:
        dynamic: zero-argument callable returning the artists that change on
            every update (called each render, so new artists are picked up).
        state: zero-argument callable returning a hashable key of the static
            layer; default :func:`axes_state` of the figure without ``dynamic``.
            A render whose key is new draws everything.
        x_axis_apart: for a one-axes figure whose x axis follows a slider (the
            number of layers): the x axis (ticks, labels, label; its grid must
            be off) is cached on its own, as the strip under the axes, so a new
            x axis costs one axis draw instead of a whole figure (``axis_renders``
            counts those). Static artists must then not sit in data coordinates.

    Call it with the figure, like :func:`figure_to_png`, to get PNG bytes.
    """

    def __init__(
        self,
        dynamic: Callable[[], Sequence[Artist]],
        state: Callable[[], Hashable] | None = None,
        x_axis_apart: bool = False,
    ) -> None:
        self.dynamic = dynamic
        self.state = state
        self.x_axis_apart = x_axis_apart
        self.full_renders = 0
        self.axis_renders = 0
        self.renders = 0
        # key -> (background pixels, static artists to redraw above the data)
        self._backgrounds: OrderedDict[Hashable, tuple[object, list[Artist]]] = OrderedDict()
        self._x_strips: OrderedDict[Hashable, object] = OrderedDict()

    def clear(self) -> None:
        """Forget every cached background (after a change the state key does not see)."""
        self._backgrounds.clear()
        self._x_strips.clear()

    def __call__(self, figure: Figure) -> bytes:
        check_is_figure(figure, "figure")
        canvas = figure.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            canvas = FigureCanvasAgg(figure)
        if figure.get_layout_engine() is not None:
            with figure_style():
                figure.draw_without_rendering()  # place the axes once, then keep them
            figure.set_layout_engine("none")
        dynamic = [artist for artist in self.dynamic() if artist.figure is figure]
        apart = []
        if self.x_axis_apart:
            if len(figure.axes) != 1:
                raise ValueError(f"x_axis_apart needs a one-axes figure, got {len(figure.axes)}")
            ax = figure.axes[0]
            # A tick closer to the left edge than half a label (plus the strip's 4 px)
            # would cross the lowest y tick's corner, which the strip leaves out: then the
            # x axis is drawn with the rest (labels here are at most ~20 px wide).
            low = min(ax.get_xlim())
            ticks = [v for v in ax.xaxis.get_majorticklocs() if v >= low]
            first = ax.transData.transform((min(ticks), 1.0))[0] if ticks else math.inf
            if first >= ax.bbox.x0 + 8:
                apart = [ax.xaxis]
        if self.state is not None:
            key = self.state()
        else:
            key = axes_state(figure, dynamic, x_axis=not apart)
        with figure_style():
            if key in self._backgrounds:
                self._backgrounds.move_to_end(key)
                background, overlays = self._backgrounds[key]
                canvas.restore_region(background)
            else:
                overlays = self._draw_background(canvas, figure, dynamic, key, apart)
            if apart:
                self._restore_x_strip(canvas, figure)
            for artist in self._in_drawing_order(figure, [*dynamic, *overlays]):
                if artist.axes is not None:
                    artist.axes.draw_artist(artist)
                else:
                    figure.draw_artist(artist)
            self.renders += 1
            return encode_png(canvas)

    def _restore_x_strip(self, canvas: FigureCanvasAgg, figure: Figure) -> None:
        """Put the x axis under the axes: from the cache, or drawn now and cached."""
        ax = figure.axes[0]
        key = (tuple(_axis_state(ax.xaxis)), tuple(ax.get_position().bounds), figure.dpi)
        if key in self._x_strips:
            self._x_strips.move_to_end(key)
            for region in self._x_strips[key]:
                canvas.restore_region(region)
            return
        # The background has no x axis, so the strip under the axes is blank here. The
        # strip leaves out the lowest y tick (on the axes' bottom-left corner) and the y
        # tick labels (further left), but not the first x tick label, which can reach a
        # few pixels left of the axes.
        ax.draw_artist(ax.xaxis)
        x0, y0, right = ax.bbox.x0, ax.bbox.y0, figure.bbox.x1
        strips = [
            Bbox.from_extents(x0 + 1, y0 - 2, right, y0),
            Bbox.from_extents(x0 - 4, 0, right, y0 - 2),
        ]
        self._x_strips[key] = [canvas.copy_from_bbox(strip) for strip in strips]
        if len(self._x_strips) > 4 * _BACKGROUND_CACHE_SIZE:
            self._x_strips.popitem(last=False)
        self.axis_renders += 1

    def _draw_background(
        self,
        canvas: FigureCanvasAgg,
        figure: Figure,
        dynamic: list[Artist],
        key: Hashable,
        apart: list[Artist],
    ) -> list[Artist]:
        renderer = canvas.get_renderer()
        ids = {id(artist) for artist in [*dynamic, *apart]}
        overlays = []
        for ax in {artist.axes for artist in dynamic if artist.axes is not None}:
            lowest = min(a.get_zorder() for a in dynamic if a.axes is ax)
            for artist in ax.get_children():
                if id(artist) in ids or artist is ax.patch or not artist.get_visible():
                    continue
                if isinstance(artist, Text) and not artist.get_text():
                    continue  # an empty title draws nothing
                if artist.get_zorder() <= lowest:
                    continue  # drawn before the data in a full render: background
                # Above the data: it matters only where it can cover the data (the axes box).
                # An axis above the data draws its grid over it, wherever its labels are.
                is_axis = artist is ax.xaxis or artist is ax.yaxis
                extent = artist.get_tightbbox(renderer)
                if is_axis or extent is None or extent.overlaps(ax.bbox):
                    overlays.append(artist)
        # Animated artists are left out of canvas.draw() (not out of savefig); hiding them
        # instead would move the titles, which are placed around the visible ones.
        animated = [a for a in [*dynamic, *overlays, *apart] if not a.get_animated()]
        for artist in animated:
            artist.set_animated(True)
        try:
            canvas.draw()
        finally:
            for artist in animated:
                artist.set_animated(False)
        self._backgrounds[key] = (canvas.copy_from_bbox(figure.bbox), overlays)
        if len(self._backgrounds) > _BACKGROUND_CACHE_SIZE:
            self._backgrounds.popitem(last=False)
        self.full_renders += 1
        return overlays

    @staticmethod
    def _in_drawing_order(figure: Figure, artists: list[Artist]) -> list[Artist]:
        """``artists`` in the order a full render draws them: axes by axes, then by z-order."""
        wanted = {id(artist) for artist in artists if artist.get_visible()}
        ordered = []
        for ax in sorted(figure.axes, key=lambda a: a.get_zorder()):
            children = [a for a in ax.get_children() if id(a) in wanted]
            ordered += sorted(children, key=lambda a: a.get_zorder())
        ordered += sorted(
            (a for a in artists if a.axes is None and id(a) in wanted),
            key=lambda a: a.get_zorder(),
        )
        return ordered
