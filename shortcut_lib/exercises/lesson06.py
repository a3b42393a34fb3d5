"""Lesson 06's exercises: one block's parameters by hand, and post-LN's ratio at 24 blocks."""

from __future__ import annotations

import math

import torch

from ..comparison import vanishing_ratio
from ..transformer import block_gradient_means, make_stacks, stack_input
from ._shared import dtype_note, read_number

#: Lesson 06, exercise 2: the depth and the seeds of the post-LN measurement.
EXERCISE_06_DEPTH = 24
EXERCISE_06_SEEDS = range(5)


def check_06_block_parameters(parameters: int) -> None:
    """Lesson 06, exercise 1: the parameters of one block at emb 16 (``TINY_CONFIG``), by hand.

    The reference is counted from the formula (attention without qkv bias, ``out_proj``
    with bias, the 4x feed-forward with biases, two LayerNorms with scale and shift), not
    from the library's module.
    """
    n = read_number("parameters", parameters)
    e = 16
    attention = 3 * e * e + (e * e + e)
    feed_forward = (e * 4 * e + 4 * e) + (4 * e * e + e)
    norms = 2 * 2 * e
    expected = attention + feed_forward + norms
    if n == expected:
        print(
            f"Right: {expected} parameters: attention {attention}, feed-forward {feed_forward}, "
            f"LayerNorms {norms}. The feed-forward holds two thirds of them."
        )
        return
    hints = {
        expected + 3 * e: "W_query, W_key and W_value have no bias (qkv_bias is False)",
        expected - norms: "each LayerNorm has a scale and a shift of emb_dim values",
        expected - (e * e + e): "out_proj, the Linear after the heads, counts too",
        attention + norms + 2 * e * e + e + e: "the feed-forward is 4 times wider inside",
    }
    hint = hints.get(
        n,
        "count each nn.Linear as in·out, plus out for its bias (W_query, W_key and W_value have"
        " none), and each LayerNorm as 2·emb",
    )
    raise AssertionError(f"expected {expected} parameters, got {parameters!r}; check: {hint}")


def lesson_06_post_ln_ratio() -> float:
    """The reference of exercise 2: the median first/last ratio of post-LN, 24 blocks, 5 seeds."""
    ratios = []
    for seed in EXERCISE_06_SEEDS:
        stack = make_stacks(EXERCISE_06_DEPTH, seed, variants=("post-LN",))["post-LN"]
        ratios.append(vanishing_ratio(block_gradient_means(stack, *stack_input(seed))))
    return float(torch.tensor(ratios, dtype=torch.float64).median())


def check_06_post_ln_ratio(median_ratio: float) -> None:
    """Lesson 06, exercise 2: the median vanishing ratio of post-LN stacks of 24 blocks.

    Accepts the reference (``torch.median`` of the five ratios of seeds 0-4, as the lesson
    measures them) within 1 %, or equal to it at 2 significant digits.
    """
    n = read_number("median_ratio", median_ratio)
    expected = lesson_06_post_ln_ratio()
    if math.isclose(n, expected, rel_tol=0.01) or f"{n:.2g}" == f"{expected:.2g}":
        print(f"Right: the median first/last ratio of post-LN at 24 blocks is {expected:.3g}.")
        return
    hint = "vanishing_ratio(block_gradient_means(stack, x, target)) per seed, then the median"
    if math.isclose(n, 1.0 / expected, rel_tol=0.01):
        hint = "the ratio is the first block over the last, not the last over the first"
    raise AssertionError(
        f"expected a median ratio of {expected:.3g}, got {median_ratio!r}; check: {hint} "
        "(the measurement of the lesson's sweep over four variants and five seeds)" + dtype_note()
    )
