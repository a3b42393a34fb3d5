"""Every explorer draws at every corner of its controls: each slider at its ends, each
dropdown at each of its options, in every combination.

A learner drags sliders to their ends first. The browser tests move one control at a time from
the lesson's settings; lesson 04's depth explorer crashed (an OverflowError from its axis
limits) only at width 2, pre-LayerNorm and depth 100 together, where float64 gradients span
300 decades.
"""

from __future__ import annotations

import itertools
import warnings

import ipywidgets as widgets
import matplotlib
import pytest

matplotlib.use("Agg")

from shortcut_lib import widgets as explorers  # noqa: E402

# Controls held at one value: how many networks are sampled changes the time a draw takes,
# not which values it draws (4 networks reach the same extremes as 256, in a twentieth of it).
HELD = {"depth_explorer": {"seeds": 4}}

EXPLORERS = [
    "gelu_explorer",
    "architecture_explorer",
    "gradient_explorer",
    "depth_explorer",
    "transformer_explorer",
]


def corners(control: widgets.Widget) -> list:
    """The values a learner reaches first: a slider's ends, a dropdown's every option."""
    if isinstance(control, widgets.Dropdown):
        return (
            [value for _, value in control.options]
            if isinstance(control.options[0], tuple)
            else list(control.options)
        )
    return [control.min, control.max]


@pytest.mark.parametrize("name", EXPLORERS)
def test_every_corner_of_the_controls_draws(name):
    explorer = getattr(explorers, name)()
    held = HELD.get(name, {})
    free = {k: corners(c) for k, c in explorer.controls.items() if k not in held}
    with warnings.catch_warnings():
        # An underflow at an extreme setting is reported as a warning, and still drawn.
        warnings.simplefilter("ignore", RuntimeWarning)
        for values in itertools.product(*free.values()):
            # What a redraw does for these values, without one redraw per control moved.
            settings = {**explorer.values(), **held, **dict(zip(free, values, strict=True))}
            figure, data = explorer.draw(**settings)
            assert explorer.render(figure)[:8] == b"\x89PNG\r\n\x1a\n", settings
