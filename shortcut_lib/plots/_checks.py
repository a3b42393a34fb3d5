"""Checks at the boundary of the plotting functions: data, figures, colours and sizes.

The general rules (numbers, bools, mappings, tensors without values) are in
:mod:`shortcut_lib.validation`; these add what only figures need.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import is_color_like
from matplotlib.figure import Figure

from ..validation import (
    check_has_values,
    check_mapping,
    check_real,
    described,
    short_repr,
    type_name,
)

#: Most axes one figure may have: a 10 x 10 grid takes about 3 s to make and draw here
#: (new_figure(40, 40) took 9 s just to make), and more panels than this would not be
#: legible anyway.
MAX_PANELS = 100

#: matplotlib cannot draw an image 2**16 pixels wide or tall or more.
MAX_SIDE_PIXELS = 2**16 - 1

#: Most pixels one figure may have (400 MB to draw): 100 million, e.g. 100 x 100 inches.
MAX_PIXELS = 10**8

# What numpy arrays of the wrong kind hold, for the messages.
_KIND_NAMES = {"b": "bools", "U": "strings", "S": "bytes", "c": "complex numbers"}

# dtypes numpy has; other floating dtypes (bfloat16, float8) are drawn from float32,
# which holds them exactly.
_NUMPY_FLOATS = (torch.float16, torch.float32, torch.float64)


def check_figure(figure: object) -> None:
    """``figure=`` of a redraw: ``None`` or a figure from :func:`new_figure` or an earlier call."""
    if figure is not None and (not isinstance(figure, Figure) or not figure.axes):
        raise TypeError(
            f"figure must be None or a Figure with axes (from new_figure or an earlier "
            f"call), got {described(figure)}"
        )


def check_title(title: object, name: str = "title") -> str | None:
    """A title: a string, or ``None`` for the function's default (no title, or the one its
    docstring names)."""
    if title is not None and not isinstance(title, str):
        raise TypeError(f"{name} must be a string or None, got {described(title)}")
    return title


def check_is_figure(value: object, name: str) -> Figure:
    """A matplotlib ``Figure``; the ``(figure, axes)`` pair and an ``Axes`` are told apart."""
    if isinstance(value, Figure):
        return value
    if isinstance(value, tuple) and value and isinstance(value[0], Figure):
        hint = (
            "new_figure returns (figure, axes): pass the figure: "
            "fig, ax = new_figure(); figure_to_png(fig)"
        )
    elif isinstance(value, Axes):
        hint = "pass the figure the axes are in: ax.figure"
    else:
        hint = "pass a figure, e.g. fig from fig, ax = new_figure()"
    raise TypeError(f"{name} must be a matplotlib Figure, got {type_name(value)}; {hint}")


def check_figsize(figsize: object, dpi: object = 100) -> None:
    """(width, height) in inches, positive and small enough to be drawn at ``dpi``."""
    if figsize is None:  # plt.subplots' default
        return
    pair = isinstance(figsize, (Sequence, np.ndarray)) and not isinstance(figsize, (str, bytes))
    if not pair or len(figsize) != 2:
        raise TypeError(
            f"figsize must be (width, height) in inches, such as (7.0, 4.0), got "
            f"{figsize!r} ({type(figsize).__name__})"
        )
    width = check_real(figsize[0], "figsize[0] (the width in inches)", positive=True)
    height = check_real(figsize[1], "figsize[1] (the height in inches)", positive=True)
    dpi = check_real(dpi, "dpi", positive=True)
    if max(width, height) * dpi > MAX_SIDE_PIXELS or width * height * dpi**2 > MAX_PIXELS:
        raise ValueError(
            f"figsize=({width:g}, {height:g}) at {dpi:g} dpi is {width * dpi:.0f} x "
            f"{height * dpi:.0f} pixels, too large to draw (at most {MAX_SIDE_PIXELS} pixels "
            f"a side and {MAX_PIXELS // 10**6} million in all); use a smaller figsize, "
            "such as (7.0, 4.0)"
        )


def check_panel_count(count: int, what: str, advice: str) -> None:
    """Fail at once if a figure would have more than :data:`MAX_PANELS` axes."""
    if count > MAX_PANELS:
        raise ValueError(
            f"{what} would make {count} panels, more than the {MAX_PANELS} a figure can have "
            f"and still be drawn in reasonable time (a 10 x 10 grid takes about 3 s); {advice}"
        )


def check_colors(colors: object, name: str = "colors") -> dict:
    """``None`` or a dict of label -> matplotlib colour, as a dict."""
    if colors is None:
        return {}
    check_mapping(colors, name, "{'plain': '#D55E00', 'mine': 'tab:green'}")
    for label, color in colors.items():
        if not is_color_like(color):
            raise ValueError(
                f"{name}[{label!r}] must be a matplotlib colour such as '#D55E00' or "
                f"'tab:green', got {short_repr(color)}"
            )
    return dict(colors)


def as_float_array(
    values: object,
    name: str,
    example: str,
    ndim: int = 1,
    nan_ok: bool = False,
    advice: str = "",
) -> np.ndarray:
    """``values`` (a tensor, array or (nested) list of numbers) as a non-empty float64 array.

    Args:
        name: the argument, as the messages call it (``"x"``, ``"series['plain']"``).
        example: a good value, shown in the messages.
        ndim: the number of dimensions it must have.
        nan_ok: NaN is allowed (drawn as a gap); infinities never are.
        advice: appended to the message about non-finite values.

    bfloat16 tensors (which numpy has no type for) are read through float32; meta
    tensors, bools, strings, ragged lists and empty data are rejected.
    """
    dims = "one-dimensional" if ndim == 1 else f"{ndim}-dimensional"
    expected = f"{name} must be a {dims} tensor, array or list of numbers, such as {example}"
    if isinstance(values, torch.Tensor):
        check_has_values(values, name)
        values = values.detach().cpu()
        if values.is_floating_point() and values.dtype not in _NUMPY_FLOATS:
            values = values.float()
    if values is None or isinstance(values, (str, bytes, Mapping)):
        raise TypeError(f"{expected}; got {described(values)}")
    try:
        array = np.asarray(values)
    except ValueError:  # ragged nested lists
        raise ValueError(
            f"{expected}; got rows of different lengths: {short_repr(values)}"
        ) from None
    if array.dtype.kind == "O":
        try:
            array = array.astype(float)
        except (TypeError, ValueError):
            raise TypeError(f"{expected}; got {described(values)}") from None
    if array.dtype.kind not in "iuf":
        what = _KIND_NAMES.get(array.dtype.kind, f"{array.dtype} values")
        raise TypeError(f"{expected}; got {what}: {short_repr(values)}")
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {dims}, such as {example}, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}); expected data such as {example}")
    array = np.asarray(array, dtype=float)
    bad = np.isinf(array) if nan_ok else ~np.isfinite(array)
    if bad.any():
        what = "infinite" if nan_ok else "NaN or infinite"
        raise ValueError(
            f"{name} must be finite, but {int(bad.sum())} of its {array.size} value(s) are "
            f"{what}" + (f"; {advice}" if advice else "")
        )
    return array
