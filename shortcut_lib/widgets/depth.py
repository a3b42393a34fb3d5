"""Lesson 04's explorer: gradient bands over many networks, for any depth and width."""

from __future__ import annotations

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from ..activations import ACTIVATIONS
from ..plots import (
    BandPlot,
)
from ..population import gradient_quantiles, population_gradient_means
from ..validation import check_choice, check_integer, check_seed
from .explorer import Explorer

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
        low, high, step = DEPTH_EXPLORER_RANGES[name]
        check_integer(value, name, minimum=low, maximum=high)
        if (value - low) % step:
            raise ValueError(
                f"{name} must be a multiple of {step} (the slider's step) from {low} to {high}, "
                f"got {value!r}"
            )
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("normalisation", normalisation, NORMALISATIONS)
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
