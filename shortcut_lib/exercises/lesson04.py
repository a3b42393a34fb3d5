"""Lesson 04's exercises: the plain networks' decay per layer, and the post-LN block."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..activations import GELU
from ..checks._student_code import _tensor_hint
from ..population import LAYER_NORM_EPS, first_layer_gradients_by_depth, gradient_quantiles
from ..validation import check_integer, check_positive_int, described, short_repr
from ._shared import call_learner, check_learner_function, read_number

#: The depths of lesson 04's exercise 1 (plain GELU networks, 64 per depth, float64).
EXERCISE_04_DEPTHS = (5, 10, 20, 30, 40)


def decay_per_layer(width: int, depths=EXERCISE_04_DEPTHS, activation: str = "gelu") -> float:
    """Decades the plain networks' median first-layer gradient loses per layer.

    As lesson 04 measures it: 64 networks per depth (population seed 0, float64),
    the median over the networks not dead at the output, and the least-squares
    slope of its log10 against depth, sign flipped (a loss is positive).

    ``depths`` needs two different depths at least (a line through one point has no
    slope); a median gradient of 0 (a ReLU network's dead units) has no log10 and is
    an error, not a NaN.
    """
    depths = _read_depths(depths)
    sweep = first_layer_gradients_by_depth(
        depths,
        activation=activation,
        shortcut=False,
        width=width,
        population=64,
        dtype=torch.float64,
    )
    median = gradient_quantiles(sweep.first_layer, dim=1, exclude=sweep.dead)[1]
    vanished = [depth for depth, m in zip(depths, median.tolist(), strict=True) if not m > 0]
    if vanished:
        raise ValueError(
            f"the median first-layer gradient is 0 (or undefined) at depth(s) {vanished} "
            f"(activation {activation!r}, width {width}): its log10 is -inf, so there is no "
            "slope to fit; use smaller depths, a wider network or another activation"
        )
    d = sweep.depths.to(torch.float64)
    design = torch.stack([d, torch.ones_like(d)], 1)
    slope = torch.linalg.lstsq(design, median.log10()[:, None]).solution[0, 0]
    return -slope.item()


def _read_depths(depths: object) -> list[int]:
    """At least two different positive integer depths, as a list (a tuple or array too)."""
    if isinstance(depths, (np.ndarray, torch.Tensor)) and depths.ndim == 1:
        depths = depths.tolist()
    if isinstance(depths, (str, bytes)) or not isinstance(depths, Sequence):
        raise TypeError(
            f"depths must be a list of depths such as {list(EXERCISE_04_DEPTHS)}, got "
            f"{described(depths)}"
        )
    depths = [check_positive_int(depth, f"depths[{i}]") for i, depth in enumerate(depths)]
    if len(set(depths)) < 2:
        raise ValueError(
            f"depths must hold two different depths at least (a line through one point has no "
            f"slope), such as {list(EXERCISE_04_DEPTHS)}; got {depths}"
        )
    return depths


def check_04_decay_per_layer(width: int, decades_per_layer: float) -> None:
    """Lesson 04, exercise 1: the decades lost per layer at one width (within 0.01)."""
    width = check_integer(width, "width", minimum=2)
    got = read_number("decades_per_layer", decades_per_layer)
    expected = decay_per_layer(width)
    if abs(got - expected) <= 0.01:
        print(
            f"Right: width {width} loses {expected:.2f} decades per layer "
            "(nearly the same at every width: nn.Linear's 1/sqrt(fan_in) scale keeps "
            "each layer's factor independent of the width)."
        )
        return
    hint = "fit log10(median) against depth with the lesson's code (cell 'decades lost')"
    if math.isclose(got, -expected, abs_tol=0.01):
        hint = "that is the slope itself; decades *lost* per layer is its negative"
    elif math.isclose(got, expected * math.log(10), rel_tol=0.02):
        hint = "that is the natural log's slope: take log10 of the median, not log"
    elif got > 1.5 * expected or got < expected / 1.5:
        hint = (
            "check the setup: plain networks (shortcut=False), activation='gelu', "
            f"population=64, dtype=torch.float64, depths {list(EXERCISE_04_DEPTHS)}, and "
            "the median over the networks not dead at the output (exclude=sweep.dead)"
        )
    raise AssertionError(
        f"for width {width} you gave {got:.3g} decades per layer, expected "
        f"{expected:.3f} (within 0.01): {hint}"
    )


def _reference_post_ln(x: torch.Tensor, layer: nn.Module) -> torch.Tensor:
    return F.layer_norm(x + layer(x), [x.shape[-1]], eps=LAYER_NORM_EPS)


def check_04_post_ln_block(block: Callable[[torch.Tensor, nn.Module], torch.Tensor]) -> None:
    """Lesson 04, exercise 2: ``block(x, layer)`` is the post-LN block ``LN(x + layer(x))``.

    ``layer`` is one of ``ExampleDeepNeuralNetwork``'s square layers
    (``nn.Sequential(nn.Linear(w, w), GELU())``); LayerNorm over the features,
    no learnable scale or shift, eps 1e-5.
    """
    check_learner_function(
        block,
        "block must be a function block(x, layer)",
        "def post_ln_block(x, layer): ... then check_04_post_ln_block(post_ln_block)",
    )
    generator = torch.Generator().manual_seed(4)
    for width, batch in [(3, 1), (5, 4)]:
        with torch.random.fork_rng(devices=[]):  # its init is overwritten: no global draws
            linear = nn.Linear(width, width)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(width, width, generator=generator))
            linear.bias.copy_(torch.randn(width, generator=generator))
        layer = nn.Sequential(linear, GELU())
        x = 3 * torch.randn(batch, width, generator=generator) + 2  # not already normalised
        what = f"block(x, layer) with x of shape {tuple(x.shape)}"
        got = call_learner(block, what, x.clone(), layer)
        expected = _reference_post_ln(x, layer)
        expect = f"a tensor of x's shape {tuple(x.shape)}"
        if not isinstance(got, torch.Tensor):
            raise AssertionError(_tensor_hint(got, "block(x, layer)", "return", expect))
        if got.shape != expected.shape:
            raise AssertionError(f"block(x, layer) must return {expect}, got {tuple(got.shape)}")
        if got.dtype != x.dtype or got.device != x.device:
            raise AssertionError(
                f"block(x, layer) turned a {x.dtype} x on {x.device} into {got.dtype} on "
                f"{got.device}; keep x's dtype and device (no .double(), .float() or .to())"
            )
        if not bool(torch.isfinite(got).all()):
            raise AssertionError(
                f"{what} returned NaN or infinite values: {short_repr(got.detach())}"
            )
        if torch.allclose(got, expected, rtol=1e-4, atol=1e-5):
            continue
        width_ln = [x.shape[-1]]
        mistakes = {
            "that is pre-LN, x + layer(LN(x)): post-LN normalises after the addition": (
                x + layer(F.layer_norm(x, width_ln, eps=LAYER_NORM_EPS))
            ),
            "the shortcut is missing: add x before normalising, LN(x + layer(x))": (
                F.layer_norm(layer(x), width_ln, eps=LAYER_NORM_EPS)
            ),
            "there is no LayerNorm: normalise the sum, LN(x + layer(x))": x + layer(x),
        }
        for message, value in mistakes.items():
            if torch.allclose(got, value, rtol=1e-4, atol=1e-5):
                raise AssertionError(message)
        gap = (got - expected).abs().max().item()
        raise AssertionError(
            f"block(x, layer) differs from LN(x + layer(x)) by up to {gap:.3g} (width "
            f"{width}): normalise over the last dimension (the features), without learnable "
            "scale/shift, eps 1e-5, e.g. F.layer_norm(h, [h.shape[-1]])"
        )
    print("Right: block(x, layer) = LN(x + layer(x)), the post-LN block.")
