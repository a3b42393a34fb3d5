"""Lesson 06's explorer: depth, variant, seed -> the per-block gradient chart."""

from __future__ import annotations

import functools

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..comparison import vanishing_ratio
from ..plots.render import CachedAxesRenderer
from ..plots.style import log_decade_axis, log_limits, new_figure
from ..plots.transformer import GRADIENT_RANGE, VARIANT_COLORS, set_up_block_axes
from ..transformer import VARIANTS, block_gradient_means, make_stacks, stack_input
from ..validation import check_choice, check_integer
from .explorer import Explorer

#: Slider ranges of the transformer explorer: (min, max).
TRANSFORMER_EXPLORER_RANGES = {"depth": (1, 48), "seed": (0, 99)}


@functools.lru_cache(maxsize=256)
def _block_means(depth: int, variant: str, seed: int) -> tuple[float, ...]:
    """One measurement per setting: going back to a setting seen before costs nothing."""
    stack = make_stacks(depth, seed, variants=(variant,))[variant]
    x, target = stack_input(seed)
    return tuple(block_gradient_means(stack, x, target).values())


def transformer_explorer(depth: int = 12, variant: str = "pre-LN", seed: int = 0) -> Explorer:
    """Per-block gradients of a stack of tiny transformer blocks, for any depth, variant, seed.

    Each change builds the stack (``make_stacks(depth, seed)``, float64, the lesson's
    :data:`~shortcut_lib.transformer.TINY_CONFIG`), measures
    :func:`~shortcut_lib.transformer.block_gradient_means` on ``stack_input(seed)`` and
    redraws the bars; the axes stay put (48 blocks, 10⁻⁸ to 1, lowered by whole decades
    only when a bar would fall below), so only the bars and the title are drawn again.
    Results are cached per setting.

    Args:
        depth: number of blocks, 1-48.
        variant: a key of :data:`~shortcut_lib.transformer.VARIANTS`.
        seed: seed of the weights and of the input, 0-99.

    Returns:
        An :class:`~shortcut_lib.widgets.Explorer` with controls ``"depth"``, ``"variant"``,
        ``"seed"``; ``explorer.data`` holds ``"means"`` (one value per block) and ``"ratio"``
        (first block over last, lesson 03's vanishing ratio).
    """
    for name, value in (("depth", depth), ("seed", seed)):
        low, high = TRANSFORMER_EXPLORER_RANGES[name]
        check_integer(value, name, minimum=low, maximum=high)
    check_choice("variant", variant, VARIANTS)
    (depth_low, depth_high), (seed_low, seed_high) = TRANSFORMER_EXPLORER_RANGES.values()
    controls = {
        "depth": widgets.IntSlider(
            value=depth, min=depth_low, max=depth_high, description="blocks"
        ),
        "variant": widgets.Dropdown(options=list(VARIANTS), value=variant, description="variant"),
        "seed": widgets.IntSlider(value=seed, min=seed_low, max=seed_high, description="seed"),
    }
    figure, ax = new_figure(figsize=(8.0, 4.2))
    figure.set_layout_engine(None)
    figure.subplots_adjust(left=0.13, right=0.98, bottom=0.14, top=0.9)
    set_up_block_axes(ax, depth_high, *GRADIENT_RANGE)
    # One bar per possible block, made once: a change only sets heights, colours, visibility.
    bars = ax.bar(range(depth_high), [1.0] * depth_high, width=0.8).patches

    def draw(depth: int, variant: str, seed: int) -> tuple[Figure, dict]:
        means = _block_means(depth, variant, seed)
        low, high = ax.get_ylim()
        needed = log_limits(means)[0]  # the log-limits rule's margin under the smallest bar
        if needed < low:  # the axes only ever widen, so bars seen before still compare
            log_decade_axis(ax, needed, high)
        color = VARIANT_COLORS[variant]
        for i, bar in enumerate(bars):
            bar.set_visible(i < depth)
            if i < depth:
                bar.set_height(means[i])
                bar.set_facecolor(color)
        ratio = vanishing_ratio({f"block {i}": m for i, m in enumerate(means)})
        ax.set_title(f"{variant}, {depth} blocks, seed {seed}: first / last = {ratio:.3g}")
        return figure, {"means": list(means), "ratio": ratio}

    return Explorer(
        controls,
        draw,
        title="Transformer explorer: gradient per block",
        render=CachedAxesRenderer(lambda: [*bars, ax.title]),
    )
