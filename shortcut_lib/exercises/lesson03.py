"""Lesson 03's exercises: a sigmoid network's drifting stream; the shortcut's gain over seeds."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..architecture import deep_layer_sizes
from ..comparison import BOOK_INPUT, compare_gradients, residual_stream, vanishing_ratio
from ..model import make_model_pair
from ._shared import dtype_note, read_count, read_number

#: Exercise 1's network: 30 layers, 3 wide, sigmoid, seed 123, the book's input.
_SIGMOID_DEPTH = 30


def _last_pre_activation(model: nn.Module, stream: list[torch.Tensor]) -> float:
    last = model.layers[-1][0]
    return (last.weight @ stream[-2] + last.bias).item()


def _sigmoid_network_streams():
    """Exercise 1's pair: (the shortcut network's stream, its z, the plain network's z)."""
    pair = make_model_pair(deep_layer_sizes(_SIGMOID_DEPTH, 3), 123, "sigmoid")
    x = BOOK_INPUT.to(pair[0].layers[0][0].weight.dtype)  # the default dtype's networks
    plain_stream, stream = (residual_stream(model, x) for model in pair)
    plain_z = _last_pre_activation(pair[0], plain_stream)
    return stream, _last_pre_activation(pair[1], stream), plain_z


def check_03_sigmoid_saturation(pre_activation: float) -> None:
    """Lesson 03, exercise 1: the last layer's pre-activation z in the 30-layer sigmoid net.

    ``pre_activation`` is :math:`z = W x + b` of the last (3 -> 1) layer of the
    shortcut network (``deep_layer_sizes(30, 3)``, seed 123, the book's input),
    the number the output sigmoid is applied to. Right within 1 %.
    """
    z = read_number("pre_activation", pre_activation)
    stream, expected, plain_z = _sigmoid_network_streams()
    slope = 1.0 / (2.0 + math.exp(expected) + math.exp(-expected))  # σ'(z) = σ(z)(1 - σ(z))
    if math.isclose(z, expected, rel_tol=0.01):
        # The factor autograd applies is float32's σ(1 - σ), whose σ is a step or two below 1.
        sigma32 = torch.sigmoid(torch.tensor(expected, dtype=torch.float32))
        slope32 = float(sigma32 * (1 - sigma32))
        print(
            f"Right: z = {expected:.4g}, so the output sigmoid is saturated: σ(z) ≈ 1 and "
            f"σ'(z) ≈ {slope:.2g} ({slope32:.2g} as float32 computes it). Every gradient "
            "passes through that factor."
        )
        return
    stream_mean = stream[-2].mean().item()
    if math.isclose(z, stream_mean, rel_tol=0.02):
        hint = (
            f"{z:.4g} is the mean of the residual stream entering the last layer; z is that "
            "layer's W x + b (model.layers[-1][0] applied to it)"
        )
    elif math.isclose(z, plain_z, rel_tol=0.01):
        hint = (
            f"{z:.4g} is the plain network's z; make_model_pair returns (plain, shortcut), "
            "so take the second: _, sigmoid_model = make_model_pair(...)"
        )
    elif 0.0 <= z <= 1.0:
        hint = "that looks like σ(z) or σ'(z); the question asks for z itself, before the sigmoid"
    elif math.isclose(z, -expected, rel_tol=0.01):
        hint = "the sign is wrong: check that you add the bias and use the shortcut network"
    else:
        hint = (
            "use the shortcut network of make_model_pair(deep_layer_sizes(30, 3), 123, "
            "'sigmoid'), residual_stream(shortcut, x)[-2] as the last layer's input, and "
            "shortcut.layers[-1][0] (its nn.Linear)"
        )
    raise AssertionError(f"expected z ≈ {expected:.4g}, got {z:.4g}: {hint}{dtype_note()}")


#: Exercise 2's settings: seeds 0-19, 10 layers, 3 wide, tanh GELU.
_SEEDS, _SEED_DEPTH = range(20), 10


def _seed_gains() -> list[float]:
    gains = []
    for seed in _SEEDS:
        plain, shortcut = compare_gradients(deep_layer_sizes(_SEED_DEPTH, 3), seed, "gelu")
        gains.append(vanishing_ratio(shortcut) / vanishing_ratio(plain))
    return gains


def check_03_seeds(count: int, smallest_gain: float) -> None:
    """Lesson 03, exercise 2: over seeds 0-19 (10 layers, width 3, GELU).

    Args:
        count: in how many seeds the shortcut network's vanishing ratio is larger
            than the plain network's.
        smallest_gain: the smallest of the 20 factors
            ``vanishing_ratio(shortcut) / vanishing_ratio(plain)``, to 4 significant
            digits; right within 1 %.
    """
    count = read_count("count", count)
    gain = read_number("smallest_gain", smallest_gain)
    gains = _seed_gains()
    expected_count = sum(g > 1 for g in gains)
    expected_gain = min(gains)
    problems = []
    if count != expected_count:
        problems.append(
            f"count: expected {expected_count} of {len(gains)} seeds, got {count}; compare "
            "vanishing_ratio(shortcut) > vanishing_ratio(plain) for each seed in range(20)"
        )
    if not math.isclose(gain, expected_gain, rel_tol=0.01):
        if math.isclose(gain, 1 / expected_gain, rel_tol=0.01):
            hint = "that is plain / shortcut; divide the shortcut ratio by the plain one"
        elif math.isclose(gain, max(gains), rel_tol=0.01):
            hint = "that is the largest factor; the question asks for the smallest"
        else:
            hint = "take min() over the seeds of vanishing_ratio(shortcut) / vanishing_ratio(plain)"
        problems.append(f"smallest_gain: expected ≈ {expected_gain:.4g}, got {gain:.4g}; {hint}")
    if problems:
        raise AssertionError("; ".join(problems) + dtype_note())
    seed = min(_SEEDS, key=lambda s: gains[s])
    print(
        f"Right: the shortcut network's ratio is larger in {expected_count} of {len(gains)} "
        f"seeds, by at least {expected_gain:.4g}× (seed {seed}). In all {len(gains)} seeds "
        "the direction is the same; the size of the effect is not."
    )
