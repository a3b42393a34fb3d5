"""Lesson 04's exercises: the plain networks' decay per layer, and the post-LN block."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from ..activations import GELU
from ..population import LAYER_NORM_EPS, first_layer_gradients_by_depth, gradient_quantiles

#: The depths of lesson 04's exercise 1 (plain GELU networks, 64 per depth, float64).
EXERCISE_04_DEPTHS = (5, 10, 20, 30, 40)


def decay_per_layer(width: int, depths=EXERCISE_04_DEPTHS, activation: str = "gelu") -> float:
    """Decades the plain networks' median first-layer gradient loses per layer.

    As lesson 04 measures it: 64 networks per depth (population seed 0, float64),
    the median over the networks not dead at the output, and the least-squares
    slope of its log10 against depth, sign flipped (a loss is positive).
    """
    sweep = first_layer_gradients_by_depth(
        list(depths),
        activation=activation,
        shortcut=False,
        width=width,
        population=64,
        dtype=torch.float64,
    )
    median = gradient_quantiles(sweep.first_layer, dim=1, exclude=sweep.dead)[1]
    d = sweep.depths.to(torch.float64)
    design = torch.stack([d, torch.ones_like(d)], 1)
    slope = torch.linalg.lstsq(design, median.log10()[:, None]).solution[0, 0]
    return -slope.item()


def check_04_decay_per_layer(width: int, decades_per_layer: float) -> None:
    """Lesson 04, exercise 1: the decades lost per layer at one width (within 0.01)."""
    if isinstance(width, bool) or not isinstance(width, numbers.Integral) or width < 2:
        raise TypeError(f"width must be an integer of at least 2, got {width!r}")
    if isinstance(decades_per_layer, bool) or not isinstance(decades_per_layer, numbers.Real):
        raise TypeError(
            f"decades_per_layer must be a number, got {decades_per_layer!r} "
            f"({type(decades_per_layer).__name__})"
        )
    expected = decay_per_layer(int(width))
    got = float(decades_per_layer)
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
    if not callable(block):
        raise TypeError(f"block must be a function block(x, layer), got {block!r}")
    generator = torch.Generator().manual_seed(4)
    for width, batch in [(3, 1), (5, 4)]:
        linear = nn.Linear(width, width)
        with torch.no_grad():
            linear.weight.copy_(torch.randn(width, width, generator=generator))
            linear.bias.copy_(torch.randn(width, generator=generator))
        layer = nn.Sequential(linear, GELU())
        x = 3 * torch.randn(batch, width, generator=generator) + 2  # not already normalised
        try:
            got = block(x.clone(), layer)
        except Exception as error:
            raise AssertionError(
                f"block(x, layer) raised {type(error).__name__}: {error} "
                f"(x of shape {tuple(x.shape)})"
            ) from error
        expected = _reference_post_ln(x, layer)
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise AssertionError(
                f"block(x, layer) must return a tensor of x's shape {tuple(x.shape)}, got {shape}"
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
