"""Interactive explorers for the lessons (ipywidgets 8).

Every explorer is an :class:`Explorer`: controls on top, a plot underneath that
is redrawn in place on every change. A notebook cell is one line
(``gelu_explorer()``); tests and benchmarks drive the same object from plain
Python by setting ``explorer.controls["depth"].value = 10`` and reading
``explorer.figure``, ``explorer.data`` and ``explorer.png``.
"""

from __future__ import annotations

import functools
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from .activations import ACTIVATIONS, GELU, GELU_CUBIC_COEFFICIENT
from .approximation import max_error_vs_coefficient, x_grid
from .architecture import ArchitectureSummary, architecture_summary, deep_mlp_sizes
from .comparison import compare_gradients, deep_layer_sizes
from .plots import (
    BandPlot,
    CachedAxesRenderer,
    figure_to_png,
    new_figure,
    plot_gelu_explorer_view,
    plot_gradient_comparison,
    plot_network_diagram,
)
from .plots.render import axes_state
from .population import gradient_quantiles, population_gradient_means
from .validation import check_integer, check_real, check_seed

__all__ = [
    "Explorer",
    "gelu_explorer",
    "architecture_explorer",
    "gradient_explorer",
    "depth_explorer",
]

DrawFunction = Callable[..., tuple[Figure, Any]]


class Explorer(widgets.VBox):
    """Controls plus a live figure.

    Args:
        controls: name -> value widget; each name is passed to ``draw`` as a
            keyword argument with the widget's current value.
        draw: ``draw(**values) -> (figure, data)``; ``data`` is whatever numbers
            the figure shows (kept on the explorer for tests and for learners).
        title: optional heading shown above the controls.
        render: ``render(figure) -> PNG bytes``; default
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
        self.figure, self.data = self.draw(**self.values())
        self.png = self.render(self.figure)
        self.renders += 1
        self.last_render_seconds = time.perf_counter() - start
        self.recent_render_seconds.append(self.last_render_seconds)
        self.plot.value = self.png  # the old picture stays until the new one has arrived

    def _on_change(self, change: dict) -> None:
        self.redraw()


def _check_choice(kind: str, value: object, options) -> None:
    """An explorer's starting dropdown value: one of ``options``, or a clear error."""
    if value not in options:
        valid = ", ".join(repr(option) for option in options)
        raise ValueError(f"unknown {kind} {value!r}; expected one of {valid}")


# --- Lesson 01: GELU ------------------------------------------------------------

#: Slider ranges of the GELU explorer: (min, max, step).
GELU_EXPLORER_RANGES = {"cubic_coefficient": (0.0, 0.1, 0.000005), "x_max": (0.5, 10.0, 0.5)}
_GELU_SCAN_COEFFICIENTS = 801  # the worst-error curve is sampled at this many values of c
_GELU_EXPLORER_POINTS = 801  # points along x for the curves and the error


def _check_in_range(name: str, value: float, ranges: dict[str, tuple]) -> None:
    """A float slider's starting value: a real number within its range, or a clear error."""
    low, high = ranges[name][:2]
    value = check_real(value, name)
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value!r}")


@functools.lru_cache(maxsize=32)
def _gelu_coefficient_scan(x_max: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Worst error against c on [-x_max, x_max]: computed once per x range, then reused."""
    low, high, _ = GELU_EXPLORER_RANGES["cubic_coefficient"]
    coefficients = torch.linspace(low, high, _GELU_SCAN_COEFFICIENTS, dtype=torch.float64)
    scan = {
        target: max_error_vs_coefficient(coefficients, (-x_max, x_max), 2001, target)
        for target in ("gelu", "cdf")
    }
    return coefficients, scan


def gelu_explorer(
    cubic_coefficient: float = GELU_CUBIC_COEFFICIENT, x_max: float = 4.0
) -> Explorer:
    """Change the tanh GELU's cubic coefficient and watch its error against the exact GELU.

    Three panels, redrawn on every change: the exact GELU ``x·Φ(x)`` with the tanh
    approximation using constant ``c`` on top; their difference along ``x`` (log
    scale); and the worst difference on the range against ``c`` (for the GELU and for
    the CDF Φ it approximates), with the current ``c`` as a dot and 0.044715 dotted.

    Args:
        cubic_coefficient: starting ``c``, 0-0.1 (0.004715 is student notebook A's typo).
        x_max: the x range is ``[-x_max, x_max]``, 0.5-10.

    Returns:
        An :class:`Explorer` with controls ``"cubic_coefficient"`` and ``"x_max"``;
        ``explorer.data`` holds ``max_error`` (worst ``|GELU_c − GELU|`` on the
        range), ``max_error_at`` (where), ``best_coefficient`` (the ``c`` of the
        scan with the smallest worst error for the GELU, and ``best_coefficient_cdf``
        for Φ), and the arrays ``x`` and ``error``.
    """
    _check_in_range("cubic_coefficient", cubic_coefficient, GELU_EXPLORER_RANGES)
    _check_in_range("x_max", x_max, GELU_EXPLORER_RANGES)

    def slider(name: str, value: float, description: str, readout: str) -> widgets.FloatSlider:
        low, high, step = GELU_EXPLORER_RANGES[name]
        # Redraw when the handle is released: a drag crosses thousands of values.
        return widgets.FloatSlider(
            value=value,
            min=low,
            max=high,
            step=step,
            description=description,
            readout_format=readout,
            continuous_update=False,
            style={"description_width": "initial"},
            layout=widgets.Layout(width="420px"),
        )

    controls = {
        "cubic_coefficient": slider("cubic_coefficient", cubic_coefficient, "cubic c", ".6f"),
        "x_max": slider("x_max", x_max, "x range ±", ".1f"),
    }
    figure = None

    def draw(cubic_coefficient: float, x_max: float) -> tuple[Figure, dict[str, Any]]:
        nonlocal figure
        x = x_grid((-x_max, x_max), _GELU_EXPLORER_POINTS)
        exact = torch.nn.functional.gelu(x)
        approximation = GELU(cubic_coefficient)(x)
        error = approximation - exact
        coefficients, scan = _gelu_coefficient_scan(float(x_max))
        figure = plot_gelu_explorer_view(
            x, exact, approximation, cubic_coefficient, coefficients, scan, figure=figure
        )
        worst = int(error.abs().argmax())
        data = {
            "cubic_coefficient": cubic_coefficient,
            "x_max": x_max,
            "max_error": float(error.abs().max()),
            "max_error_at": float(x[worst]),
            "best_coefficient": float(coefficients[scan["gelu"].argmin()]),
            "best_coefficient_cdf": float(coefficients[scan["cdf"].argmin()]),
            "x": x,
            "error": error,
        }
        return figure, data

    def moving_artists() -> list:
        # What c moves: the tanh curve, the error along x with its maximum, the dot on the
        # scan and the three legends naming c. The rest (axes, the exact curve, the scans)
        # changes only with x_max, which is part of the cache key below.
        left, middle, right = figure.axes
        return [left.lines[1], *middle.lines, right.lines[-1]] + [
            ax.get_legend() for ax in figure.axes
        ]

    def static_state() -> tuple:
        return (controls["x_max"].value, axes_state(figure, moving_artists()))

    return Explorer(
        controls,
        draw,
        title="GELU explorer: why c = 0.044715?",
        render=CachedAxesRenderer(moving_artists, state=static_state),
    )


# --- Lesson 02: the deep MLP ------------------------------------------------------

#: Slider ranges of the architecture explorer: (min, max).
ARCHITECTURE_EXPLORER_RANGES = {
    "depth": (1, 12),
    "width": (1, 16),
    "in_features": (1, 16),
    "out_features": (1, 16),
}


def architecture_explorer(
    depth: int = 5, width: int = 3, in_features: int = 3, out_features: int = 1
) -> Explorer:
    """Draw the deep MLP for any depth and width, with its parameter and shortcut counts.

    The network is ``deep_mlp_sizes(depth, width, in_features, out_features)``: the
    defaults are the book's ``[3, 3, 3, 3, 3, 1]``. The diagram (plain above, with
    shortcuts below) and its title are redrawn on every change; a layer gets a
    shortcut only where its input and output sizes match, so changing
    ``in_features`` or ``out_features`` away from ``width`` removes the first or
    last shortcut.

    Args:
        depth: number of layers (``nn.Linear`` + GELU), 1-12.
        width: features of every hidden layer, 1-16.
        in_features, out_features: sizes of the input and of the output, 1-16.

    Returns:
        An :class:`Explorer` with controls ``"depth"``, ``"width"``, ``"in_features"``,
        ``"out_features"``; ``explorer.data`` is the
        :class:`~shortcut_lib.architecture.ArchitectureSummary` drawn.
    """
    values = {
        "depth": depth,
        "width": width,
        "in_features": in_features,
        "out_features": out_features,
    }
    for name, value in values.items():
        low, high = ARCHITECTURE_EXPLORER_RANGES[name]
        check_integer(value, name, minimum=low, maximum=high)
    descriptions = {"depth": "layers", "width": "width", "in_features": "inputs"}
    descriptions["out_features"] = "outputs"
    controls = {
        name: widgets.IntSlider(
            value=value,
            min=ARCHITECTURE_EXPLORER_RANGES[name][0],
            max=ARCHITECTURE_EXPLORER_RANGES[name][1],
            description=descriptions[name],
        )
        for name, value in values.items()
    }
    # One wide figure for the explorer's lifetime, redrawn in place.
    figure, _ = new_figure(2, 1, figsize=(12.0, 4.4), squeeze=False)

    def draw(
        depth: int, width: int, in_features: int, out_features: int
    ) -> tuple[Figure, ArchitectureSummary]:
        summary = architecture_summary(deep_mlp_sizes(depth, width, in_features, out_features))
        plot_network_diagram(summary.layer_sizes, title=str(summary), figure=figure)
        return figure, summary

    return Explorer(controls, draw, title="Architecture explorer: depth, width and shortcuts")


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
    _check_choice("activation", activation, ACTIVATIONS)

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


# --- Lesson 04: depth and seeds -------------------------------------------------

#: The depth explorer's normalisation choices: label -> (pre-LayerNorm, residual scale
#: 1/sqrt(depth)). The residual scale applies to the shortcut network only (x + alpha*f(x)).
NORMALISATIONS: dict[str, tuple[bool, bool]] = {
    "none": (False, False),
    "pre-LayerNorm": (True, False),
    "residual × 1/√depth": (False, True),
    "pre-LN + residual × 1/√depth": (True, True),
}

#: Slider ranges of the depth explorer: (min, max, step).
DEPTH_EXPLORER_RANGES = {"depth": (1, 100, 1), "width": (2, 32, 1), "seeds": (4, 256, 4)}


def depth_explorer(
    depth: int = 50,
    width: int = 3,
    seeds: int = 64,
    activation: str = "gelu",
    normalisation: str = "none",
    seed: int = 0,
) -> Explorer:
    """Per-layer gradient bands over a population of networks, plain vs shortcut.

    Each change measures ``seeds`` fresh networks of each kind at once with
    :func:`~shortcut_lib.population.population_gradient_means` (float64, so
    tiny gradients do not underflow to 0) and redraws the median and the
    inter-quartile band of every layer's mean |gradient| in the same figure
    (:class:`~shortcut_lib.plots.BandPlot`). Layer sizes ``[width] * depth + [1]``,
    input ``linspace(1, -1, width)`` (the book's ``[[1., 0., -1.]]`` at width 3).

    Args:
        depth: number of layers, 1-100.
        width: features per hidden layer, 2-32.
        seeds: networks per kind, 4-256 (a multiple of 4).
        activation: a name from :data:`~shortcut_lib.activations.ACTIVATIONS`.
        normalisation: a key of :data:`NORMALISATIONS`.
        seed: seed of the population's generator (not a control: the population
            *is* many seeds).

    Returns:
        An :class:`Explorer` with controls ``"depth"``, ``"width"``, ``"seeds"``,
        ``"activation"``, ``"normalisation"``; ``explorer.data`` holds ``"layers"``,
        ``"plain"`` and ``"shortcut"`` (arrays ``(3, depth)``: quartiles per layer) and
        ``"dead_fraction"`` (share of networks dead at the output: the output unit's
        error signal is exactly 0, so nothing in them learns; they are left out of the
        bands and counted in the legend) and ``"inside_dead_fraction"`` (output alive,
        first-layer gradient exactly 0; kept in the bands, counted in the legend); see
        :class:`~shortcut_lib.population.DeadNetworks`. Past the last layer the x axis
        (kept steady while the depth slider moves) is shaded: "no layer here".
    """
    for name, value in (("depth", depth), ("width", width), ("seeds", seeds)):
        low, high, _ = DEPTH_EXPLORER_RANGES[name]
        check_integer(value, name, minimum=low, maximum=high)
    _check_choice("activation", activation, ACTIVATIONS)
    _check_choice("normalisation", normalisation, NORMALISATIONS)
    check_seed(seed)

    def slider(name: str, value: int, description: str) -> widgets.IntSlider:
        low, high, step = DEPTH_EXPLORER_RANGES[name]
        return widgets.IntSlider(value=value, min=low, max=high, step=step, description=description)

    controls = {
        "depth": slider("depth", depth, "layers"),
        "width": slider("width", width, "width"),
        "seeds": slider("seeds", seeds, "networks"),
        "activation": widgets.Dropdown(
            options=list(ACTIVATIONS), value=activation, description="activation"
        ),
        "normalisation": widgets.Dropdown(
            options=list(NORMALISATIONS), value=normalisation, description="normalise"
        ),
    }
    # One figure for the explorer's lifetime; each change only moves its artists.
    plot = BandPlot(
        ["plain", "shortcut"], xlabel="layer (0 = next to the input)", fixed_layout=True
    )

    def draw(
        depth: int, width: int, seeds: int, activation: str, normalisation: str
    ) -> tuple[Figure, dict]:
        pre_layer_norm, scaled = NORMALISATIONS[normalisation]
        options = {
            "width": width,
            "population": seeds,
            "activation": activation,
            "pre_layer_norm": pre_layer_norm,
            "seed": seed,
            "dtype": torch.float64,
        }
        alpha = depth**-0.5 if scaled else 1.0
        means, dead = {}, {}
        for kind, shortcut in (("plain", False), ("shortcut", True)):
            means[kind], dead[kind] = population_gradient_means(
                depth,
                shortcut=shortcut,
                residual_scale=alpha if shortcut else 1.0,
                return_dead=True,
                **options,
            )
        # A network dead at the output (no gradient anywhere: nothing in it can learn) is
        # counted, not summarised: with half the networks dead the median would flip to 0.
        # One dead inside still has gradients in its upper layers: it stays in the bands.
        bands = {
            kind: gradient_quantiles(m, exclude=dead[kind].output[:, None]).numpy()
            for kind, m in means.items()
        }
        dead_fraction = {kind: float(d.output.double().mean()) for kind, d in dead.items()}
        inside_fraction = {kind: float(d.inside.double().mean()) for kind, d in dead.items()}
        names = {"plain": "plain", "shortcut": "with shortcuts"}

        def legend_text(kind: str) -> str:
            parts = []
            if dead[kind].output.any():
                parts.append(f"{dead_fraction[kind]:.0%} dead at the output")
            if dead[kind].inside.any():
                parts.append(f"{inside_fraction[kind]:.0%} inside")
            return names[kind] + (f" ({', '.join(parts)})" if parts else "")

        legend = {kind: legend_text(kind) for kind in means}
        # The settings are on the controls, not in the title, the x axis only changes at a few
        # round depths and the y axis keeps its range while the data fits: while the axes
        # hold (or return to a state seen before), a render redraws just the data.
        x_end = next(end for end in _DEPTH_AXIS_ENDS if end >= depth - 1)
        title = f"Gradient per layer: median and middle half of {seeds} networks each"
        figure = plot.update(
            range(depth),
            bands,
            title=title,
            legend=legend,
            xlim=(-0.02 * x_end, 1.02 * x_end),
            keep_ylim=True,
            mark_beyond="no layer here",
        )
        data = {
            "layers": list(range(depth)),
            **bands,
            "dead_fraction": dead_fraction,
            "inside_dead_fraction": inside_fraction,
        }
        return figure, data

    return Explorer(
        controls,
        draw,
        title="Depth explorer: gradients over many networks",
        render=plot.renderer,
    )


#: Where the depth explorer's x axis ends: the first of these at or above the last layer.
_DEPTH_AXIS_ENDS = (2, 5, 10, 15, 20, 30, 45, 65, 100)
